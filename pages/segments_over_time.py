"""Segments over time: segment sizes at each month end with the current settings, and segments by country."""

from __future__ import annotations

import streamlit as st

from pages import common
from rfm_core import RfmError, charts
from rfm_core.breakdown import segment_country_table
from rfm_core.columns import SEGMENT
from rfm_core.export import table_csv
from rfm_core.formatting import count, label

st.title("Segments over time")
prep, seg = common.require_data()
st.caption("Each month end is scored as the Overview would have shown it on that date: the purchases up to that "
           "day, recency counted to the next day, the scores re-estimated with the current settings and rules.")
measure = st.radio("Show", ["customers", "share"], key="sot_measure", horizontal=True,
                   format_func={"customers": "Customers", "share": "Share of customers"}.get)
try:
    with st.spinner("Scoring every month end…"):
        timeline = common.timeline_for(prep)
except RfmError as exc:
    common.show_error(exc)
    st.stop()

colors = charts.segment_colors(seg.rules.names)
st.plotly_chart(charts.segments_over_time(timeline, colors, share=measure == "share"), key="chart_segments_over_time")
months = timeline.drop_duplicates("month")
for rec in months[months["partial"]].to_dict("records"):
    start, end = rec["covered_from"], rec["covered_to"]
    st.caption(f"{rec['month']} is a partial month: the data covers {start.day} {start:%b} to {end.day} {end:%b %Y}, "
               "so its figures are not comparable with a whole month's.")

st.subheader("Customers per segment at each month end")
wide = timeline.pivot_table(index=SEGMENT, columns="month", values="customers", aggfunc="sum", observed=False)
wide = wide.reindex(list(seg.rules.names)).fillna(0).astype("int64")
partial = set(months.loc[months["partial"], "month"])
wide.columns = [f"{m}*" if m in partial else str(m) for m in wide.columns]
wide.index.name = label(SEGMENT)
st.dataframe(wide, key="segments_by_month_table", height=35 * (len(wide) + 1) + 3,
             column_config={c: st.column_config.NumberColumn(c, format="%,d") for c in wide.columns})
if partial:
    st.caption("\\* partial month (see above).")
st.download_button("Download segment sizes by month (CSV)", table_csv(timeline), "segments-by-month.csv",
                   "text/csv", key="dl_segments_by_month", on_click="ignore")

st.subheader("Segments by country")
value = st.radio("Count", ["customers", "revenue"], key="sot_country_value", horizontal=True,
                 format_func={"customers": "Customers", "revenue": "Revenue"}.get)
try:
    by_country = segment_country_table(seg.customers, seg.rules, value=value, top=8)  # type: ignore[arg-type]
except RfmError as exc:
    st.info(str(exc), icon=":material/public:")
else:
    cur = common.currency()
    if value == "revenue":
        before, after = cur.affixes()
        fmt = f"{before.replace('%', '%%')}%,.0f{after.replace('%', '%%')}"
    else:
        fmt = "%,d"
    by_country.index.name = label(SEGMENT)
    st.dataframe(by_country, key="segment_country_table", height=35 * (len(by_country) + 1) + 3,
                 column_config={c: st.column_config.NumberColumn(c, format=fmt) for c in by_country.columns})
    st.caption(f"Country of each customer's latest purchase; {count(len(seg.customers))} customers. Countries beyond "
               "the eight with the most customers are added up in one column.")
