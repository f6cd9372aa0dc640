"""Charts: nine interactive views of the current segmentation."""

from __future__ import annotations

import streamlit as st

from pages import common
from rfm_core import charts

st.title("Charts")
prep, seg = common.require_data()
colors = charts.segment_colors(seg.rules.names)
customers = seg.customers
bins = seg.scored.bins
cur = common.currency()

left, right = st.columns(2)
left.plotly_chart(charts.segment_treemap(seg.summary, colors, cur), key="chart_treemap")
right.plotly_chart(charts.segment_share_bars(seg.summary), key="chart_shares")
left.plotly_chart(charts.rf_heatmap(customers, bins["recency"].bins, bins["frequency"].bins, cur),
                  key="chart_heatmap")
right.plotly_chart(charts.lorenz_curve(customers), key="chart_lorenz")
st.plotly_chart(charts.recency_monetary_scatter(customers, colors, currency=cur), key="chart_scatter")
d1, d2, d3 = st.columns(3)
for col, metric in zip((d1, d2, d3), ("recency", "frequency", "monetary"), strict=True):
    col.plotly_chart(charts.metric_distribution(customers, bins[metric], cur), key=f"chart_dist_{metric}")
st.plotly_chart(charts.monthly_activity(prep.cleaned.transactions, cur), key="chart_monthly")
country = charts.country_breakdown(customers, currency=cur)
if country is None:
    st.info("This file has no country column, so there is no revenue by country. Map one on the Data page if "
               "the file has it under another name.", icon=":material/public_off:")
else:
    st.plotly_chart(country, key="chart_country")
