"""Lifetime value: predicted purchases and value, churn risk, which model fits, and what the numbers cannot know."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages import common
from rfm_core import ModelFitError, charts
from rfm_core.clv import MODEL_CHOICES, MODEL_LABELS, clv_by_segment
from rfm_core.clv.holdout import MAE_DECIMALS
from rfm_core.formatting import count, decimal
from rfm_core.settings import MIN_HORIZON_MONTHS, ClvSettings, help_for
from rfm_core.views import clv_with_segments

st.title("Lifetime value and churn risk")
prep, seg = common.require_data()
st.caption("A purchase model (BG/NBD, MBG/NBD or Pareto/NBD, the one that predicts a held-out period best) says "
           "how often each customer will buy and whether they are still active; Gamma-Gamma says how much they spend "
           "per purchase. DOCUMENTATION.md §14 has the definitions.")

unit, horizon, rate, model, holdout = common.clv_settings()
ss_holdout = holdout  # None: the default holdout, which moves with the data
units = {"D": "days", "W": "weeks", "M": "months"}
models = {"auto": "Automatic (best on the holdout)", **MODEL_LABELS}
choices = None
try:
    choices = common.calibration_choices_for(prep)
except ModelFitError as exc:
    st.info(f"No holdout check for this data: {exc}")
c1, c2, c3, c4, c5 = st.columns(5)
unit = c1.selectbox("Model time unit", list(units), index=list(units).index(unit), format_func=lambda u: units[u],
                    key="clv_unit", help=help_for(ClvSettings, "unit"))
horizon = c2.slider("Horizon (months)", MIN_HORIZON_MONTHS, 36, horizon, key="clv_horizon",
                    help=help_for(ClvSettings, "horizon_months"))
rate = c3.number_input("Annual discount rate", 0.0, 0.99, rate, step=0.01, format="%.2f", key="clv_rate",
                       help=help_for(ClvSettings, "annual_discount_rate"))
model = c4.selectbox("Model", MODEL_CHOICES, index=MODEL_CHOICES.index(model), format_func=lambda m: models[m],
                     key="clv_model", help=help_for(ClvSettings, "model"))
if choices is not None:
    earliest, latest, default_end = choices
    value = ClvSettings(calibration_end=holdout).calibration_end_within(earliest, latest, default_end)
    holdout = c5.date_input("Holdout starts after", value=value, min_value=earliest, max_value=latest,
                            key="clv_calibration", help=help_for(ClvSettings, "calibration_end"))
    if holdout == default_end and ss_holdout is None:
        holdout = None  # the default date is not a choice: keeping it would store a workspace for a mere visit
chosen = ClvSettings(unit, horizon, rate, model, holdout)  # checks the ranges (ConfigError)
ss = st.session_state
ss[common.CLV_UNIT], ss[common.CLV_HORIZON], ss[common.CLV_RATE] = chosen.unit, chosen.horizon_months, rate
ss[common.CLV_MODEL], ss[common.CLV_HOLDOUT] = chosen.model, chosen.calibration_end

try:
    with st.spinner("Fitting and comparing the models…"):
        result = common.clv_for(prep)
except ModelFitError as exc:
    common.show_error(f"**No lifetime value for this data.** {exc}")
    st.stop()

clv_col, purchases_col = f"clv_{horizon}m", f"predicted_purchases_{horizon}m"
k1, k2, k3, k4 = st.columns(4)
k1.metric(f"Expected purchases, next {horizon} months", decimal(result.table[purchases_col].sum(), 0))
if clv_col in result.table.columns:
    k2.metric(f"Predicted value, next {horizon} months", common.money(float(result.table[clv_col].sum())))
lost = result.expected_revenue_lost_to_churn
k3.metric("Expected revenue lost to churn", common.money(lost) if lost is not None else "not estimable",
          help="Sum over customers of churn risk × their revenue in the 12 months before the end of the data: last "
               "year's revenue from customers who have probably left, weighted by how probably.")
k4.metric("Customers modelled", count(len(result.table)))
st.caption(f"Model: {result.choice_note}.")
for note in (result.horizon_note, result.churn_note, result.spend_note):
    if note:
        st.warning(note, icon=":material/warning:")

gone = result.likely_gone
flagged = result.by_construction
if gone is not None:
    st.info(f"Under {result.model.label}, {gone:,} of {len(result.table):,} customers are more likely gone than "
            f"active (churn risk above 50%); {result.model.dropout_summary()}.", icon=":material/trending_down:")
st.caption(f"P(alive) = 1 by construction (not measured) for {flagged:,} customers"
           + (": in BG/NBD a customer without a repeat purchase cannot have left. Choose MBG/NBD or Pareto/NBD to "
              "estimate their churn, or judge them by recency." if flagged else "."))

colors = charts.segment_colors(seg.rules.names)
table = clv_with_segments(result.table, seg.customers)
left, right = st.columns(2)
if clv_col in table.columns:
    left.plotly_chart(charts.value_by_segment(table, clv_col, colors, f"Predicted value by segment, next {horizon} "
                                              "months", common.currency()), key="chart_clv_segment")
if gone is not None:
    right.plotly_chart(charts.p_alive_histogram(table), key="chart_p_alive")
# churn not estimable: its columns hold nothing in any row; the warning above says why, so they are left out
view, config = common.readable_table(clv_by_segment(result, seg.customers).dropna(axis=1, how="all"))
st.dataframe(view, hide_index=True, key="clv_segments", column_config=config)
st.caption("Days to next purchase: the median wait for a customer who is still active (customers with a repeat "
           "purchase); read it with P(alive). Fitted parameters (per " + units[unit][:-1] + "): "
           + "; ".join(f"{m.label} " + ", ".join(f"{k} = {v:.4g}" for k, v in m.params().items())
                       for m in result.models.values())
           + ("; Gamma-Gamma " + ", ".join(f"{k} = {v:.4g}" for k, v in result.gamma_gamma.params().items())
              if result.gamma_gamma else ""))

st.header("Which model fits your data?")
cmp = result.comparison
if cmp is None:
    st.info("No holdout comparison: the history is too short to hold part of it out.")
    st.stop()
tied = cmp.tied
view = cmp.table.assign(best=[("best (tie)" if name in tied else "best") if best else ("tie" if name in tied else "")
                              for name, best in zip(cmp.table["model"], cmp.table["best"], strict=True)],
                        total_error=cmp.table["total_error"] * 100)  # a printf format cannot scale a fraction
tie_note = cmp.tie_note()
if tie_note:
    st.info(tie_note, icon=":material/balance:")
# "Note" says why a model was not fitted: left out when every model was
unused = ["model"] + ([] if view["note"].astype(bool).any() else ["note"])
st.dataframe(view.drop(columns=unused), hide_index=True, key="clv_comparison",
             column_config={"label": "Model", "best": "Best", "note": "Note",
                            "actual": st.column_config.NumberColumn("Actual", format="%,.0f"),
                            "predicted": st.column_config.NumberColumn("Predicted", format="%,.0f"),
                            "total_error": st.column_config.NumberColumn("Total error", format="%.1f%%"),
                            "mae": st.column_config.NumberColumn("Error per customer", format=f"%.{MAE_DECIMALS}f"),
                            "log_likelihood": st.column_config.NumberColumn("Log-likelihood", format="%,.1f")})
# On a tie no bar is labelled "(best)": the note above says which models tie and which one is used.
st.plotly_chart(charts.model_comparison_chart(cmp.by_frequency, MODEL_LABELS, None if tied else cmp.best),
                key="chart_holdout")
st.caption(f"Holdout {cmp.calibration_end} to {cmp.holdout_end}. Each model is fitted on the purchases up to the "
           "first date and predicts each customer's purchase days after it; the best has the lowest mean absolute "
           "error per customer (a tie at the precision shown: the smaller total error, then the order listed). A model "
           "without seasonality under-predicts a holdout that holds the peak season.")
view, config = common.readable_table(pd.DataFrame(cmp.by_frequency))
st.dataframe(view, hide_index=True, key="holdout_table", column_config=config)
