"""Acquisition cohorts: how each month's new customers keep buying, and what they spend."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages import common
from rfm_core import RfmError, charts
from rfm_core.formatting import percent
from rfm_core.timeline import cohorts
from rfm_core.views import cohort_table

st.title("Cohorts")
prep, _ = common.require_data()
try:
    result = cohorts(prep.cleaned.transactions)
except RfmError as exc:
    common.show_error(exc)
    st.stop()
st.caption("A cohort is the month of a customer's first purchase (in the data used). Retention in month k is the "
           "share of the cohort that bought in its k-th month; blank cells are after the end of the data.")
st.plotly_chart(charts.cohort_heatmap(result.retention, result.sizes), key="chart_cohorts")
st.plotly_chart(charts.cohort_revenue(result.revenue, common.currency()), key="chart_cohort_revenue")
table = cohort_table(result)
months = [c for c in table.columns if c != "customers"]
# blank: after the end of the data
shown = table.assign(**{c: table[c].map(lambda v: "" if pd.isna(v) else percent(v)) for c in months})
shown.columns = pd.Index(["Customers", *[c.capitalize() for c in months]])
st.dataframe(shown, key="cohort_table", column_config={"Customers": st.column_config.NumberColumn(format="%,d")})
