"""Segment rules: the ordered rule table (first match wins) with its edits, the rules as a TOML file, and the
coverage grid: which rule wins each score cell at the bins chosen on Settings."""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from pages import _widgets, common
from rfm_core import DEFAULT_RULES, ConfigError, RuleSet, ScoringSettings, lint
from rfm_core.charts import segment_colors
from rfm_core.rule_edits import add_rule, coverage_grid, delete_rule, move_rule
from rfm_core.views import rule_wins

VERSION, BASE = "rules_version", "rules_base"  # the editor's generation (a new key resets it) and its start table


def set_rules(new: RuleSet) -> None:
    """Put ``new`` in force and start a fresh editor on it (the old editor's edits were relative to the old table)."""
    st.session_state[common.RULES] = new
    st.session_state[VERSION] = st.session_state.get(VERSION, 0) + 1


st.title("Segment rules")
if common.prepared() is None:
    st.info("No data yet. Open **Data** to upload a file or use the bundled sample.", icon=":material/upload_file:")
    st.stop()
rules: RuleSet = st.session_state[common.RULES]
scoring: ScoringSettings = st.session_state[common.SCORING]
st.caption("Rules are checked from the top; a customer gets the first rule whose R, F and M ranges all match. "
           f"Ranges are on a 1–{rules.scale} scale.")

# ---- the rule table
editor_key = f"rules_editor_{st.session_state.setdefault(VERSION, 0)}"
if editor_key not in st.session_state:
    st.session_state[BASE] = rules.to_frame()
edited = st.data_editor(st.session_state[BASE], num_rows="dynamic", hide_index=True, key=editor_key,
                        column_config=_widgets.rule_editor_columns(rules.scale))
try:
    from_editor = RuleSet.from_frame(edited, rules.fallback, rules.scale)
    if from_editor != rules:
        st.session_state[common.RULES] = rules = from_editor
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
uploaded = t2.file_uploader("Load rules (TOML)", type=["toml"], key="rules_upload")
if uploaded is not None:
    digest = hashlib.sha256(uploaded.getvalue()).hexdigest()
    if st.session_state.get("rules_upload_digest") != digest:  # a file is taken in once, not on every run
        st.session_state["rules_upload_digest"] = digest
        try:
            set_rules(RuleSet.from_toml(uploaded.getvalue().decode("utf-8", errors="replace")))
            st.rerun()
        except ConfigError as exc:
            common.show_error(exc, uploaded.name)

# ---- the engine call: the linter's lookup table, the one segment assignment uses
grid_bins = (scoring.recency.bins, scoring.frequency.bins, scoring.monetary.bins)
report = lint(rules, grid_bins)

# ---- render the coverage grid
st.subheader(f"Coverage of the {int(np.prod(grid_bins))} score cells")
st.caption(f"Scores from n bins are read on the rules' 1–{rules.scale} scale keeping both ends (score 1 reads as 1, "
           f"score n as {rules.scale}); each column and row shows the score and, after the arrow, how the rules read "
           "it. The bins are set on **Settings**.")
for msg in report.messages():
    st.warning(msg, icon=":material/warning:")
if report.ok:
    st.success("Every rule wins at least one cell and every cell is covered.", icon=":material/check_circle:")
m_pick = st.select_slider("M score", options=list(range(1, grid_bins[2] + 1)), value=grid_bins[2], key="grid_m")
colors = segment_colors(rules.names)
st.dataframe(coverage_grid(report, m_pick).style.map(lambda v: f"background-color: {colors.get(v, '#eee')}33"),
             key="coverage_grid")
st.dataframe(rule_wins(report), hide_index=True, key="wins_table",
             column_config={"segment": "Segment",
                            "cells won": st.column_config.NumberColumn("Cells won", format="%,d")})
