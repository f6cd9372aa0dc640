"""Actions: for each segment, who they are, what they are worth, what to do, what they buy, and the list."""

from __future__ import annotations

from types import SimpleNamespace

import streamlit as st

from pages import common
from rfm_core.columns import CUSTOMER_ID, SEGMENT
from rfm_core.export import safe_filename, segments_csv
from rfm_core.insights import top_products

st.title("Recommended actions")
prep, seg = common.require_data()
customers = seg.customers
products = top_products(prep.cleaned.transactions, customers.set_index(customers[CUSTOMER_ID].astype(str))[SEGMENT])

for i, rec in enumerate(seg.summary.to_dict("records")):
    row = SimpleNamespace(**{str(k): v for k, v in rec.items()})
    if row.customers == 0:
        continue
    name = str(row.segment)
    with st.expander(f"**{name}** — {row.customers:,} customers, {row.revenue_share:.0%} of revenue",
                     expanded=i < 3):
        st.markdown(f"*Rule:* {seg.rules.condition(name)}  \n*Who they are:* {seg.rules.description(name)}")
        st.info(f"**Recommended action:** {seg.rules.action(name)}", icon=":material/campaign:")
        c1, c2, c3, c4 = st.columns(4)
        common.note_metric(c1, "Customers", f"{row.customers:,}", f"{row.customer_share:.1%} of all")
        common.note_metric(c2, "Revenue", common.money(row.revenue), f"{row.revenue_share:.1%} of all")
        c3.metric("Avg order value", f"{row.avg_order_value:,.2f}")
        c4.metric("Median recency", f"{row.recency_median:,.0f} days")
        mine = products[products[SEGMENT] == name]
        if len(mine):
            p1, p2 = st.columns(2)
            p1.caption("Top products by revenue")
            p1.dataframe(mine[mine["ranking"] == "revenue"][["product", "revenue", "customers"]], hide_index=True,
                         column_config={"revenue": st.column_config.NumberColumn(format="localized")})
            p2.caption("Top products by number of customers")
            p2.dataframe(mine[mine["ranking"] == "customers"][["product", "customers", "revenue"]], hide_index=True,
                         column_config={"revenue": st.column_config.NumberColumn(format="localized")})
        st.download_button(f"Download {row.customers:,} {name} customers (CSV)",
                           segments_csv(customers, [name]), f"{safe_filename(name)}-customers.csv", "text/csv",
                           key=f"dl_segment_{i}", on_click="ignore")
