"""Customers: search and filter the scored customers; look one up with their purchase history."""

from __future__ import annotations

import streamlit as st

from pages import common
from rfm_core.formatting import count

st.title("Customers")
prep, seg = common.require_data()
customers = seg.customers

c1, c2 = st.columns([1, 2])
query = c1.text_input("Search customer id", key="search", placeholder="e.g. 12347")
chosen = c2.multiselect("Segments", list(seg.rules.names), key="seg_filter", placeholder="All segments")
view = customers
if query:
    view = view[view["customer_id"].astype(str).str.contains(query.strip(), case=False, regex=False)]
if chosen:
    view = view[view["segment"].astype(str).isin(chosen)]
st.caption(f"{count(len(view))} of {count(len(customers))} customers")
shown, config = common.readable_table(view)
st.dataframe(shown, hide_index=True, key="customer_table", column_config=config)

st.subheader("Look up one customer")
lookup = st.text_input("Customer id", key="lookup_id", value=str(view["customer_id"].iloc[0]) if len(view) else "")
if lookup:
    match = customers[customers["customer_id"].astype(str) == lookup.strip()]
    if match.empty:
        st.warning(f"No customer {lookup!r} among the customers used in this analysis.")
    else:
        row = match.iloc[0]
        m1, m2, m3, m4, m5 = st.columns(5)
        m1.metric("Segment", str(row["segment"]))
        m2.metric("RFM score", str(row["rfm_score"]))
        m3.metric("Recency", f"{count(row['recency_days'])} days")
        m4.metric("Orders", count(row["frequency"]))
        m5.metric("Spend", common.money(row["monetary"]))
        st.caption(f"{seg.rules.description(str(row['segment']))} — {seg.rules.action(str(row['segment']))}")
        tx = prep.cleaned.transactions
        history = tx[tx["customer_id"].astype(str) == lookup.strip()].sort_values("invoice_date")
        shown, config = common.readable_table(history)
        st.dataframe(shown, hide_index=True, key="history_table", column_config=config)
