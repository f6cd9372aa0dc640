"""Settings: analysis date and cleaning, scoring per metric, and the segment rules with their coverage grid."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import numpy as np
import streamlit as st

from pages import common
from rfm_core import (
    DEFAULT_RULES,
    CleaningPolicy,
    ConfigError,
    MetricScoring,
    RuleSet,
    ScoringSettings,
    lint,
)
from rfm_core.charts import segment_colors
from rfm_core.columns import INVOICE_DATE
from rfm_core.formatting import money
from rfm_core.playbooks import MAX_CONTROL_SHARE
from rfm_core.rule_edits import add_rule, coverage_grid, delete_rule, move_rule
from rfm_core.score import METHOD_LABELS
from rfm_core.segment import ROLE_LABELS, ROLES
from rfm_core.settings import METRICS, SCORING_METHODS, help_for
from rfm_core.views import country_choices, rule_wins, starting_edges

st.title("Settings")
prep = common.prepared()
if prep is None:
    st.info("No data yet. Open **Data** to upload a file or use the bundled sample.", icon=":material/upload_file:")
    st.stop()

# ------------------------------------------------------------------------------------------------ number format
st.header("Currency")
common.currency_picker()
shown = common.currency()
st.caption(f"Amounts are shown as {money(1234.5, shown)}"
           + (" (from the file's currency column)." if shown.code and not common.chosen_currency().code else "."))

# ------------------------------------------------------------------------------------------ analysis & cleaning
st.header("Analysis date and cleaning")
policy: CleaningPolicy = st.session_state[common.CLEANING]
all_dates = prep.mapped.frame[INVOICE_DATE].dropna()
first_day, last_day = all_dates.min().date(), all_dates.max().date()

c1, c2, c3 = st.columns(3)
with c1:
    default_date = st.checkbox("Analysis date: the day after the last purchase", value=st.session_state[common.AS_OF]
                               is None, key="as_of_default", help="Recency is counted in days up to this date.")
    if default_date:
        st.session_state[common.AS_OF] = None
        st.caption(f"Currently {prep.as_of:%d %b %Y}.")
    else:
        st.session_state[common.AS_OF] = st.date_input("Analysis date", value=prep.as_of, key="as_of")
    use_window = st.checkbox("Only use a date window", value=policy.start is not None or policy.end is not None,
                             key="use_window")
    use_clock = st.checkbox("'Dated after today' measured from the clock", value=policy.today is None,
                            key="today_clock", help=help_for(CleaningPolicy, "today"))
    today = None if use_clock else st.date_input("Today (the shop's date)", value=policy.today or dt.date.today(),
                                                 key="today")
    start, end = None, None
    if use_window:
        window = st.date_input("Date window", value=(policy.start or first_day, policy.end or last_day),
                               min_value=first_day, max_value=last_day, key="window")
        if isinstance(window, tuple) and len(window) == 2:
            start, end = window
with c2:
    countries_all = country_choices(prep.mapped.frame)
    countries = st.multiselect("Countries (empty: all)", countries_all,
                               default=[c for c in policy.countries if c in countries_all], key="countries")
    returns = st.radio("Cancellations and returns", ["exclude", "net"], index=["exclude", "net"].index(policy.returns),
                       key="returns", help=help_for(CleaningPolicy, "returns"), horizontal=True,
                       format_func={"exclude": "Leave out", "net": "Net against monetary"}.get)
    order_labels = {None: "Decide from the data", True: "Day first (DD/MM)", False: "Month first (MM/DD)"}
    order_options: list[bool | None] = [None, True, False]
    dayfirst = st.selectbox("Date order", order_options, index=order_options.index(policy.dayfirst),
                            format_func=lambda v: order_labels[v], key="date_order",
                            help=help_for(CleaningPolicy, "dayfirst"))
with c3:
    drop_missing = st.checkbox("Drop rows without customer id", value=policy.drop_missing_customer,
                               key="drop_missing", help=help_for(CleaningPolicy, "drop_missing_customer"))
    drop_dupes = st.checkbox("Drop exact duplicate lines", value=policy.drop_duplicates, key="drop_dupes",
                             help=help_for(CleaningPolicy, "drop_duplicates"))
    drop_price = st.checkbox("Drop lines with price ≤ 0", value=policy.drop_nonpositive_price, key="drop_price",
                             help=help_for(CleaningPolicy, "drop_nonpositive_price"))
try:
    new_policy = CleaningPolicy(drop_missing_customer=drop_missing, drop_duplicates=drop_dupes,
                                returns="net" if returns == "net" else "exclude",
                                drop_nonpositive_price=drop_price, start=start, end=end, countries=tuple(countries),
                                dayfirst=dayfirst, drop_future=policy.drop_future, today=today)
    if new_policy != policy:
        st.session_state[common.CLEANING] = new_policy
except ConfigError as exc:
    common.show_error(exc)

prep = common.prepared()
if prep is None:
    st.stop()

# ----------------------------------------------------------------------------------------------------- scoring
st.header("Scores")
scoring: ScoringSettings = st.session_state[common.SCORING]
method_labels = {"auto": "Automatic (quantiles, or distinct values when ties collapse them)",
                 "quantile": "Quantiles", "distinct": "Distinct values (as many scores as the data allows)",
                 "rank": "Equal-size groups (rank; splits ties)", "thresholds": "Custom thresholds"}
cols = st.columns(3)
new_specs: dict[str, MetricScoring] = {}
for col, metric in zip(cols, METRICS, strict=True):
    spec = scoring.for_metric(metric)
    with col:
        st.subheader(metric.capitalize())
        bins = st.slider("Bins", 2, 10, spec.bins, key=f"bins_{metric}", help=help_for(MetricScoring, "bins"))
        method_options = list(SCORING_METHODS)
        method = st.selectbox("Method", method_options, index=method_options.index(spec.method),
                              format_func=lambda v: method_labels[v], key=f"method_{metric}",
                              help=help_for(MetricScoring, "method"))
        if method == "thresholds":
            start_edges = starting_edges(spec, bins, prep.customers, metric)
            st.caption("Upper edges, ascending" + (" (days; low recency scores high)" if metric == "recency" else ""))
            edges = []
            for i, e in enumerate(start_edges):
                edges.append(st.number_input(f"Edge {i + 1}", value=float(round(e, 2)), key=f"edge_{metric}_{i}",
                                             format="%.2f"))
            try:
                new_specs[metric] = MetricScoring(bins, "thresholds", tuple(edges))
            except ConfigError as exc:
                common.show_error(exc)
                new_specs[metric] = spec if spec.bins == bins and spec.method == "thresholds" else MetricScoring(bins)
        else:
            new_specs[metric] = MetricScoring(bins, method)  # type: ignore[arg-type]
new_scoring = ScoringSettings(**new_specs)
if new_scoring != scoring:
    st.session_state[common.SCORING] = new_scoring
    scoring = new_scoring

seg = common.segmentation(prep)
cols = st.columns(3)
for col, metric in zip(cols, METRICS, strict=True):
    info = seg.scored.bins[metric]
    with col:
        st.caption(f"{metric.capitalize()}: {info.effective_bins} of {info.bins} scores used, by "
                   f"{METHOD_LABELS[info.method_used]}" + (" (automatic)" if info.method == "auto" else ""))
        view, config = common.readable_table(info.describe_bins())
        st.dataframe(view, hide_index=True, key=f"bins_table_{metric}", column_config=config)
        if info.warning:
            st.warning(info.warning, icon=":material/warning:")

# ------------------------------------------------------------------------------------------------------- rules
st.header("Segment rules")
st.caption("Rules are checked from the top; a customer gets the first rule whose R, F and M ranges all match. "
           f"Ranges are on a 1–{st.session_state[common.RULES].scale} scale.")
rules: RuleSet = st.session_state[common.RULES]
version = st.session_state.setdefault("rules_version", 0)
editor_key = f"rules_editor_{version}"


def set_rules(new: RuleSet) -> None:
    st.session_state[common.RULES] = new
    st.session_state["rules_version"] = st.session_state.get("rules_version", 0) + 1


if editor_key not in st.session_state:
    st.session_state["rules_base"] = rules.to_frame()
scale = rules.scale


def range_col(text: str) -> Any:
    return st.column_config.NumberColumn(text, min_value=1, max_value=scale, step=1, required=True, width="small")


edited = st.data_editor(
    st.session_state["rules_base"], num_rows="dynamic", hide_index=True, key=editor_key,
    column_config={"name": st.column_config.TextColumn("Segment", required=True),
                   "role": st.column_config.SelectboxColumn(
                       "Role", options=list(ROLES), required=True, width="small",
                       help="What kind of customer the segment holds. Insights, revenue at risk and migration's "
                            "up/down follow the role, so a renamed segment keeps them. "
                            + "; ".join(f"{r}: {ROLE_LABELS[r]}" for r in ROLES) + "."),
                   **{f"{k}_{b}": range_col(f"{k.upper()} {b}") for k in "rfm" for b in ("min", "max")},
                   "description": st.column_config.TextColumn("Description", width="medium"),
                   "action": st.column_config.TextColumn("Recommended action", width="large"),
                   "goal": st.column_config.TextColumn("Goal", width="medium"),
                   "channel": st.column_config.TextColumn("Channel", width="medium"),
                   "offer": st.column_config.TextColumn("Offer", width="medium"),
                   "timing": st.column_config.TextColumn("Timing", width="medium"),
                   "control_share": st.column_config.NumberColumn(
                       "Hold-out share", min_value=0.0, max_value=MAX_CONTROL_SHARE, step=0.01, format="%.2f",
                       help="Share of the segment held out as a control group (0.10 = 10%), 0 to 0.5; the Actions "
                            "page shows how many customers that leaves in each group.")},
)
try:
    from_editor = RuleSet.from_frame(edited, rules.fallback, rules.scale)
    if from_editor != rules:
        st.session_state[common.RULES] = from_editor
        rules = from_editor
except ConfigError as exc:
    common.show_error(f"{exc} The previous rules stay in force until this is fixed.")

names = [r.name for r in rules.rules]
a1, a2, a3, a4, a5, a6 = st.columns([3, 1, 1, 1, 1, 2])
picked = a1.selectbox("Rule", names, key="rule_pick", label_visibility="collapsed") if names else None
edits = {"rule_up": (a2, "↑ Up", lambda: move_rule(rules, str(picked), -1)),
         "rule_down": (a3, "↓ Down", lambda: move_rule(rules, str(picked), +1)),
         "rule_delete": (a4, "Delete", lambda: delete_rule(rules, str(picked))),
         "rule_add": (a5, "Add rule", lambda: add_rule(rules)),
         "rule_reset": (a6, "Reset to defaults", lambda: DEFAULT_RULES)}
for key, (column, label, edit) in edits.items():
    if column.button(label, key=key, disabled=picked is None and key in ("rule_up", "rule_down", "rule_delete")):
        set_rules(edit())
        st.rerun()

t1, t2 = st.columns(2)
t1.download_button("Save rules (TOML)", rules.to_toml(), "segment-rules.toml", "application/toml", key="dl_rules",
                   on_click="ignore")
uploaded_rules = t2.file_uploader("Load rules (TOML)", type=["toml"], key="rules_upload")
if uploaded_rules is not None:
    digest = hashlib.sha256(uploaded_rules.getvalue()).hexdigest()
    if st.session_state.get("rules_upload_digest") != digest:
        st.session_state["rules_upload_digest"] = digest
        try:
            set_rules(RuleSet.from_toml(uploaded_rules.getvalue().decode("utf-8", errors="replace")))
            st.rerun()
        except ConfigError as exc:
            common.show_error(exc, uploaded_rules.name)

# Coverage grid from the linter: which rule wins each score cell (the lookup table assignment uses).
grid_bins = (scoring.recency.bins, scoring.frequency.bins, scoring.monetary.bins)
report = lint(rules, grid_bins)
st.subheader(f"Coverage of the {int(np.prod(grid_bins))} score cells")
st.caption(f"Scores from n bins are read on the rules' 1–{rules.scale} scale keeping both ends (score 1 reads as 1, "
           f"score n as {rules.scale}); each column and row shows the score and, after the arrow, how the rules read "
           "it.")
for msg in report.messages():
    st.warning(msg, icon=":material/warning:")
if report.ok:
    st.success("Every rule wins at least one cell and every cell is covered.", icon=":material/check_circle:")
m_pick = st.select_slider("M score", options=list(range(1, grid_bins[2] + 1)), value=grid_bins[2], key="grid_m")
grid = coverage_grid(report, m_pick)
colors = segment_colors(rules.names)
st.dataframe(grid.style.map(lambda v: f"background-color: {colors.get(v, '#eee')}33"), key="coverage_grid")
st.dataframe(rule_wins(report), hide_index=True, key="wins_table",
             column_config={"segment": "Segment",
                            "cells won": st.column_config.NumberColumn("Cells won", format="%,d")})
