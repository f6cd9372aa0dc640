"""Segment migration: the same customers segmented at two analysis dates."""

from __future__ import annotations

import streamlit as st

from pages import common
from rfm_core import RfmError, charts
from rfm_core.columns import INVOICE_DATE, SEGMENT
from rfm_core.export import table_csv
from rfm_core.formatting import count
from rfm_core.settings import MIGRATION_MODES, MigrationSettings, help_for, migration_dates
from rfm_core.timeline import MODE_SENTENCES, migration

st.title("Segment migration")
prep, seg = common.require_data()
try:
    earliest, latest, default = migration_dates(prep.cleaned.transactions[INVOICE_DATE].min().date(), prep.as_of)
except RfmError as exc:
    st.info(str(exc), icon=":material/info:")
    st.stop()
c1, c2 = st.columns(2)
earlier = c1.date_input("Compare with the segments at", value=default, min_value=earliest, max_value=latest,
                        key="mig_earlier", help=help_for(MigrationSettings, "earlier"))
mode = c2.radio("Score edges at the later date", list(MIGRATION_MODES), key="mig_thresholds", horizontal=True,
                format_func={"re-estimated": "Re-estimated (as Overview shows each date)",
                             "frozen": "Frozen at the earlier date"}.get,
                help=help_for(MigrationSettings, "thresholds"))
st.caption(MODE_SENTENCES[mode])
try:
    chosen = MigrationSettings(earlier, mode)
    moved = migration(prep.cleaned.transactions, earlier, prep.as_of, st.session_state[common.SCORING],
                      seg.rules, "frozen" if chosen.thresholds == "frozen" else "re-estimated")
except RfmError as exc:
    common.show_error(exc)
    st.stop()
counts = moved.customers["moved"].value_counts()
shown = [("up", "Moved up"), ("stayed", "Stayed"), ("down", "Moved down"), ("new", "New since then")]
if counts.get("sideways", 0):
    shown.insert(3, ("sideways", "Moved sideways"))
for col, (key, label) in zip(st.columns(len(shown)), shown, strict=True):
    col.metric(label, count(counts.get(key, 0)))
st.info(moved.time_note(), icon=":material/schedule:")
colors = charts.segment_colors(seg.rules.names)
st.plotly_chart(charts.migration_sankey(moved.flows, colors, f"{earlier:%d %b %Y}", f"{prep.as_of:%d %b %Y}",
                                        common.currency()), key="chart_sankey")
st.subheader("Transition matrix (customers)")
st.dataframe(moved.matrix.rename_axis(index="Then ↓ / now →", columns=None), key="migration_matrix")
down = moved.moved_down
st.download_button(f"Download the {count(len(down))} customers who moved down (CSV)",
                   table_csv(down.rename(columns={"segment_now": SEGMENT})), "moved-down.csv", "text/csv",
                   key="dl_moved_down", on_click="ignore")
st.caption("Each date sees the purchases on or before it. Up and down follow the segments' roles (best, loyal, ... "
           "lost; see Segment rules), not their names; moves between segments of equal or no rank are sideways. "
           "Revenue on a flow is what those customers spent between the two dates.")
