"""Customer lifetime value: predicted purchases and value, churn risk, and whether to trust them (holdout)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from pages import common
from rfm_core import ModelFitError, charts

st.title("Lifetime value and churn risk")
prep, seg = common.require_data()
st.caption("BG/NBD predicts how often each customer will buy and whether they are still active; Gamma-Gamma "
           "predicts how much they spend per purchase. See DOCUMENTATION.md §14 for the definitions.")

unit, horizon, rate = common.clv_settings()
units = {"D": "days", "W": "weeks", "M": "months"}
c1, c2, c3 = st.columns(3)
unit = c1.selectbox("Model time unit", list(units), index=list(units).index(unit), format_func=lambda u: units[u],
                    key="clv_unit")
horizon = c2.slider("Horizon (months)", 1, 36, horizon, key="clv_horizon")
rate = c3.number_input("Annual discount rate", 0.0, 0.99, rate, step=0.01, format="%.2f", key="clv_rate")
st.session_state[common.CLV_UNIT], st.session_state[common.CLV_HORIZON] = unit, horizon
st.session_state[common.CLV_RATE] = rate

try:
    with st.spinner("Fitting the models…"):
        result = common.clv_for(prep)
except ModelFitError as exc:
    st.error(f"**No lifetime value for this data.** {exc}", icon=":material/error:")
    st.stop()

table = result.table.merge(seg.customers[["customer_id", "segment"]], on="customer_id", how="left")
clv_col, purchases_col = f"clv_{horizon}m", f"predicted_purchases_{horizon}m"
k1, k2, k3, k4 = st.columns(4)
k1.metric(f"Expected purchases, next {horizon} months", f"{table[purchases_col].sum():,.0f}")
if clv_col in table.columns:
    k2.metric(f"Predicted value, next {horizon} months", common.money(float(table[clv_col].sum())))
at_risk = result.revenue_at_risk
k3.metric("Revenue at risk", common.money(at_risk) if at_risk is not None else "not estimable",
          help="Sum over customers of churn risk × their revenue in the last 12 months.")
k4.metric("Customers modelled", f"{len(table):,}")
if result.churn_note:
    st.warning(result.churn_note, icon=":material/warning:")
if result.spend_note:
    st.warning(result.spend_note, icon=":material/warning:")
one_timers = int((table["frequency"] == 0).sum())
dropout = result.bgnbd.a / (result.bgnbd.a + result.bgnbd.b)
st.caption(f"How to read churn risk here: the model's mean chance that a customer leaves after a repeat purchase is "
           f"{dropout:.2%}. In BG/NBD a customer who has bought on only one day cannot have left yet, so the "
           f"{one_timers:,} such customers ({one_timers / max(len(table), 1):.0%}) count as active; use recency and "
           "the RFM segments for them.")
if at_risk is not None:
    risky = table[table["churn_risk"] > 0.5]
    st.info(f"{len(risky):,} customers are more likely gone than active (churn risk above 50%); they spent "
            f"{common.money(float(risky['revenue_last_12m'].sum()))} in the last 12 months. Expected loss of "
            f"revenue across all customers: {common.money(at_risk)}.", icon=":material/trending_down:")

colors = charts.segment_colors(seg.rules.names)
by_segment = table.groupby("segment", observed=True).agg(
    customers=("customer_id", "size"), historical_value=("historical_value", "sum"),
    predicted_purchases=(purchases_col, "sum"), **({"predicted_value": (clv_col, "sum")}
                                                   if clv_col in table.columns else {}),
    mean_p_alive=("p_alive", "mean")).reset_index()
left, right = st.columns(2)
if clv_col in table.columns:
    left.plotly_chart(charts.value_by_segment(table, clv_col, colors, f"Predicted value by segment, next {horizon} "
                                              "months"), key="chart_clv_segment")
if at_risk is not None:
    right.plotly_chart(charts.p_alive_histogram(table), key="chart_p_alive")
st.dataframe(by_segment, hide_index=True, key="clv_segments",
             column_config={"historical_value": st.column_config.NumberColumn(format="%.0f"),
                            "predicted_value": st.column_config.NumberColumn(format="%.0f"),
                            "predicted_purchases": st.column_config.NumberColumn(format="%.1f"),
                            "mean_p_alive": st.column_config.NumberColumn(format="percent")})

params = {**{f"BG/NBD {k}": v for k, v in result.bgnbd.params().items()},
          **({f"Gamma-Gamma {k}": v for k, v in result.gamma_gamma.params().items()} if result.gamma_gamma else {})}
st.caption("Fitted parameters (time unit: " + units[unit] + "): "
           + ", ".join(f"{k} = {v:.4g}" for k, v in params.items()))

st.header("Can I trust it on my data?")
tx_dates = prep.cleaned.transactions["invoice_date"]
last_day = tx_dates.max().date()
default_cal = max(tx_dates.min().date() + dt.timedelta(days=90), last_day - dt.timedelta(days=91))
cal_end = st.date_input("Calibration ends (the model is fitted before, checked after)", value=default_cal,
                        min_value=tx_dates.min().date() + dt.timedelta(days=30),
                        max_value=last_day - dt.timedelta(days=7), key="clv_calibration")
try:
    mapping = tuple(sorted(st.session_state[common.MAPPING].items()))
    check = common.holdout_of(prep.digest, st.session_state[common.CLEANING], mapping, unit, cal_end,
                              prep.cleaned.transactions)
except ModelFitError as exc:
    st.error(str(exc))
    st.stop()
h1, h2, h3 = st.columns(3)
h1.metric("Predicted repeat purchase days", f"{check.total_predicted:,.0f}")
h2.metric("Actual", f"{check.total_actual:,}")
h3.metric("Error", f"{check.total_error:+.1%}", help="(predicted − actual) / actual over the holdout.")
st.plotly_chart(charts.holdout_chart(check.by_frequency, check.total_error), key="chart_holdout")
st.caption(f"Holdout {check.calibration_end} to {check.holdout_end}; {check.customers:,} customers who had bought by "
           f"the calibration end; mean absolute error per customer {check.mae:.2f}. A model without seasonality "
           "under-predicts a holdout that contains the peak season.")
st.dataframe(pd.DataFrame(check.by_frequency), hide_index=True, key="holdout_table")
