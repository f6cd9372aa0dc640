"""Settings: the currency, the analysis date and which rows count, and how each metric is scored. The segment rules
have their own page (pages/segment_rules.py)."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from pages import _widgets, common
from rfm_core import CleaningPolicy, ConfigError, ScoringSettings
from rfm_core.formatting import bins_unit, money, score_bins_table
from rfm_core.score import METHOD_LABELS
from rfm_core.settings import METRICS, help_for
from rfm_core.views import country_choices, date_span

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
first_day, last_day = date_span(prep.mapped.frame) or (prep.as_of, prep.as_of)
c1, c2, c3 = st.columns(3)
with c1:
    default_date = st.checkbox("Analysis date: day after last purchase", value=st.session_state[common.AS_OF]
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
    order_labels: dict[bool | None, str] = {None: "Decide from the data", True: "Day first (DD/MM)",
                                            False: "Month first (MM/DD)"}
    dayfirst = st.selectbox("Date order", list(order_labels), index=list(order_labels).index(policy.dayfirst),
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

prep = common.prepared()  # again: the cleaning just chosen may change the customers the scores are cut from
if prep is None:
    st.stop()

# ----------------------------------------------------------------------------------------------------- scoring
st.header("Scores")
scoring: ScoringSettings = st.session_state[common.SCORING]
new_specs = {}
for col, metric in zip(st.columns(3), METRICS, strict=True):
    with col:
        new_specs[metric] = _widgets.metric_scoring_input(metric, scoring.for_metric(metric), prep.customers)
if ScoringSettings(**new_specs) != scoring:
    st.session_state[common.SCORING] = ScoringSettings(**new_specs)

seg = common.segmentation(prep)
for col, metric in zip(st.columns(3), METRICS, strict=True):
    info = seg.scored.bins[metric]
    with col:
        st.caption(f"{metric.capitalize()}: {info.effective_bins} of {info.bins} scores used, by "
                   f"{METHOD_LABELS[info.method_used]}" + (" (automatic)" if info.method == "auto" else ""))
        # Score, its values in words (whole days and orders, money with the currency) and customers: three columns
        # fit a third of the page at 1400 px; "from" and "to" would only repeat the words (and were cut off there).
        view, config = common.readable_table(score_bins_table(info, shown)[["score", "range", "customers"]])
        unit = bins_unit(metric)
        config["range"]["label"] = words = unit.capitalize()  # Days, Orders, Spend: the values of each score
        config["range"]["width"] = max(config["range"]["width"], common.column_width(words, 0))
        st.dataframe(view, hide_index=True, key=f"bins_table_{metric}", column_config=config)
        if info.warning:
            st.warning(info.warning, icon=":material/warning:")
for msg in seg.lint.messages():  # segments these bins make impossible, in the same words as Overview and the CLI
    st.warning(msg, icon=":material/rule:")
st.page_link("pages/segment_rules.py", label="Segment rules: which rule wins each score cell at these bins",
             icon=":material/rule:")
