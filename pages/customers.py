"""Customers: search and filter the scored customers; look one up with their purchase history."""

from __future__ import annotations

import streamlit as st

from pages import common

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
st.caption(f"{len(view):,} of {len(customers):,} customers")
st.dataframe(view, hide_index=True, key="customer_table",
             column_config={"monetary": st.column_config.NumberColumn(format="%.2f"),
                            "avg_order_value": st.column_config.NumberColumn(format="%.2f")})

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
        m3.metric("Recency", f"{row['recency_days']:,} days")
        m4.metric("Orders", f"{row['frequency']:,}")
        m5.metric("Monetary", f"{row['monetary']:,.2f}")
        st.caption(f"{seg.rules.description(str(row['segment']))} — {seg.rules.action(str(row['segment']))}")
        tx = prep.cleaned.transactions
        history = tx[tx["customer_id"].astype(str) == lookup.strip()].sort_values("invoice_date")
        st.dataframe(history, hide_index=True, key="history_table")
