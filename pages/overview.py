"""Overview: headline figures, the per-segment summary and the insights."""

from __future__ import annotations

import streamlit as st

from pages import common
from rfm_core.columns import AVG_ORDER_VALUE, SEGMENT
from rfm_core.formatting import count
from rfm_core.insights import insights, revenue_at_risk
from rfm_core.segment import ROLE_LABELS

st.title("Overview")
prep, seg = common.require_data()

k = seg.kpis
risk = revenue_at_risk(seg.summary)
c1, c2, c3, c4, c5 = st.columns(5)
c1.metric("Customers", count(k["customers"]))
c2.metric("Revenue", common.money(k["revenue"]))
c3.metric("Orders", count(k["orders"]))
c4.metric("Average order value", common.money(k[AVG_ORDER_VALUE]))
c5.metric("Revenue at risk", common.money(risk["revenue"]),
          help="What the customers in segments with the role at risk or can't lose have spent so far (their "
               "monetary value): past revenue from customers who bought often but not recently. Not a forecast; "
               "the Lifetime value page's expected revenue lost to churn is a model estimate.")

st.subheader("Insights")
st.markdown("\n".join(f"- {s}" for s in insights(seg.customers, seg.summary, common.currency())))
for w in seg.scored.warnings:
    st.warning(w, icon=":material/warning:")
for msg in seg.lint.messages():  # segments these bins make impossible, in the same words as Settings and the CLI
    st.warning(msg, icon=":material/rule:")

st.subheader("Segments")
summary = seg.summary.copy()
summary.insert(2, "rule", [seg.rules.condition(s) for s in seg.summary[SEGMENT]])
summary["role"] = summary["role"].map(lambda r: ROLE_LABELS.get(str(r), str(r)))  # words, not the role's key
view, config = common.readable_table(summary)
st.dataframe(view, hide_index=True, key="summary_table", column_config=config, height=36 * (len(view) + 1) + 4)
st.caption(f"Analysis date {prep.as_of:%d %b %Y}. Revenue is the sum of each customer's monetary value.")
