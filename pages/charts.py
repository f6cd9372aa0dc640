"""Charts: nine interactive views of the current segmentation."""

from __future__ import annotations

import streamlit as st

from pages import common

st.title("Charts")
prep, seg = common.require_data()
figs = common.chart_figures(prep, seg)  # cached per file and settings (rfm_core.charts.page_figures)

left, right = st.columns(2)
left.plotly_chart(figs["treemap"], key="chart_treemap")
right.plotly_chart(figs["shares"], key="chart_shares")
left.plotly_chart(figs["heatmap"], key="chart_heatmap")
right.plotly_chart(figs["lorenz"], key="chart_lorenz")
st.plotly_chart(figs["scatter"], key="chart_scatter")
d1, d2, d3 = st.columns(3)
for col, metric in zip((d1, d2, d3), ("recency", "frequency", "monetary"), strict=True):
    col.plotly_chart(figs[f"dist_{metric}"], key=f"chart_dist_{metric}")
st.plotly_chart(figs["monthly"], key="chart_monthly")
if figs["country"] is None:
    st.info("This file has no country column, so there is no revenue by country. Map one on the Data page if "
               "the file has it under another name.", icon=":material/public_off:")
else:
    st.plotly_chart(figs["country"], key="chart_country")
