"""Acquisition cohorts: how each month's new customers keep buying, and what they spend."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages import common
from rfm_core import RfmError, charts
from rfm_core.formatting import percent
from rfm_core.timeline import cohorts

st.title("Cohorts")
prep, _ = common.require_data()
try:
    result = cohorts(prep.cleaned.transactions)
except RfmError as exc:
    st.error(str(exc))
    st.stop()
st.caption("A cohort is the month of a customer's first purchase (in the data used). Retention in month k is the "
           "share of the cohort that bought in its k-th month; blank cells are after the end of the data.")
st.plotly_chart(charts.cohort_heatmap(result.retention, result.sizes), key="chart_cohorts")
st.plotly_chart(charts.cohort_revenue(result.revenue, common.currency()), key="chart_cohort_revenue")
shown = result.retention.map(lambda v: "" if pd.isna(v) else percent(v))  # blank: after the end of the data
shown.columns = [f"Month {c}" for c in shown.columns]
shown.insert(0, "Customers", result.sizes.reindex(shown.index).astype(int))
st.dataframe(shown, key="cohort_table", column_config={"Customers": st.column_config.NumberColumn(format="%,d")})
