"""Charts: ten interactive views of the current segmentation; the segment overview on top, the rest in tabs."""

from __future__ import annotations

import streamlit as st

from pages import common

#: The tabs under the segment overview and the figures each shows (rfm_core.charts.PAGE_FIGURES names). Only the
#: open tab's figures are built and sent: on the real Online Retail all ten took ~0.7 s to build and ~1 s to draw.
TABS = {
    "Recency, frequency and spend": ("heatmap", "lorenz", "scatter"),
    "Score edges": ("dist_recency", "dist_frequency", "dist_monetary"),
    "Months and countries": ("monthly", "country"),
}

st.title("Charts")
prep, seg = common.require_data()

top = common.chart_figures(prep, seg, ("treemap", "shares"))  # cached per file and settings
left, right = st.columns(2)
left.plotly_chart(top["treemap"], key="chart_treemap")
right.plotly_chart(top["shares"], key="chart_shares")

tabs = st.tabs(list(TABS), key="charts_tab", on_change="rerun")  # "rerun": a tab's charts are drawn when opened
for tab, (name, names) in zip(tabs, TABS.items(), strict=True):
    if tab.open is False:  # None (state not tracked) draws every tab
        continue
    figs = common.chart_figures(prep, seg, names)
    with tab:
        if name == "Recency, frequency and spend":
            left, right = st.columns(2)
            left.plotly_chart(figs["heatmap"], key="chart_heatmap")
            right.plotly_chart(figs["lorenz"], key="chart_lorenz")
            st.plotly_chart(figs["scatter"], key="chart_scatter")
        elif name == "Score edges":
            for col, metric in zip(st.columns(3), ("recency", "frequency", "monetary"), strict=True):
                col.plotly_chart(figs[f"dist_{metric}"], key=f"chart_dist_{metric}")
        else:
            st.plotly_chart(figs["monthly"], key="chart_monthly")
            if figs["country"] is None:
                st.info("This file has no country column, so there is no revenue by country. Map one on the Data "
                        "page if the file has it under another name.", icon=":material/public_off:")
            else:
                st.plotly_chart(figs["country"], key="chart_country")
