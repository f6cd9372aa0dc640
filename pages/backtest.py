"""Segment backtest: segment the customers as of a past date and see what each segment bought next."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from pages import common
from rfm_core import RfmError, charts
from rfm_core.clv import MODEL_LABELS
from rfm_core.columns import INVOICE_DATE
from rfm_core.export import safe_filename, table_csv
from rfm_core.formatting import count, percent

st.title("Segment backtest")
prep, seg = common.require_data()
st.caption("Pick a past date: customers are segmented from their purchases before it, at the current scoring "
           "settings and rules, and then we count what each segment bought in the following window. If the segments "
           "mean something, Champions buy again far more often than Lost customers.")

dates = prep.cleaned.transactions[INVOICE_DATE]
first, last = dates.min().date(), dates.max().date()
if (last - first).days < 2:
    st.info("The data cover less than three days: there is no past date to test from.")
    st.stop()
earliest = first + dt.timedelta(days=1)
c1, c2, c3 = st.columns(3)
at = c1.date_input("Segment as of", value=max(earliest, last - dt.timedelta(days=90)), min_value=earliest,
                   max_value=last, key="bt_at")
window = int(c2.number_input("Window (days)", 1, 3650, 90, step=1, key="bt_window"))
models = {"none": "No model", **MODEL_LABELS}
model = c3.selectbox("Compare with a purchase model", list(models), format_func=lambda m: models[m], key="bt_model",
                     help="Also predict each segment's purchase days in the window with a lifetime-value model "
                          "fitted on the purchases before the date.")

mapping = tuple(sorted(st.session_state[common.MAPPING].items()))
try:
    with st.spinner("Segmenting as of that date and counting what followed…"):
        bt = common.backtest_of(prep.digest, common.read_options(), st.session_state[common.CLEANING], mapping, at,
                                window,
                                st.session_state[common.SCORING], st.session_state[common.RULES],
                                None if model == "none" else model, prep.cleaned.transactions)
except RfmError as exc:
    common.show_error(exc)
    st.stop()

overall = bt.table.iloc[-1]
k1, k2, k3 = st.columns(3)
k1.metric("Customers segmented", count(overall["customers"]))
k2.metric(f"Bought again within {bt.window_days} days", percent(overall["repeat_rate"]))
k3.metric("New customers in the window", count(bt.new_customers), help="First purchase in the window: in no segment.")
if bt.note:
    st.warning(bt.note, icon=":material/warning:")
st.plotly_chart(charts.backtest_chart(bt.table, charts.segment_colors(seg.rules.names), common.currency()),
                key="chart_backtest")
view, config = common.readable_table(bt.table)
st.dataframe(view, hide_index=True, key="bt_table", column_config=config)
st.caption(f"Window {bt.at} to {bt.window_end - dt.timedelta(days=1)}. Lift = the segment's rate / the rate of all "
           "segmented customers (1.0 = average). Orders and revenue are counted as in RFM frequency and monetary.")
name = safe_filename(prep.source_name.rsplit(".", 1)[0], "rfm")
st.download_button("Download backtest (CSV)", table_csv(bt.table), f"{name}-backtest-{bt.at}.csv", "text/csv",
                   key="dl_backtest", on_click="ignore")
