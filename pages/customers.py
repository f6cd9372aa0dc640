"""Customers: search and filter the scored customers; look one up with their purchase history."""

from __future__ import annotations

import streamlit as st

from pages import common
from rfm_core.columns import CUSTOMER_ID, FREQUENCY, MONETARY, RECENCY_DAYS, RFM_SCORE, SEGMENT
from rfm_core.formatting import count
from rfm_core.views import filter_customers, find_customer, purchase_history

st.title("Customers")
prep, seg = common.require_data()
customers = seg.customers

c1, c2 = st.columns([1, 2])
query = c1.text_input("Search customer id", key="search", placeholder="e.g. 12347")
chosen = c2.multiselect("Segments", list(seg.rules.names), key="seg_filter", placeholder="All segments")
view = filter_customers(customers, query, chosen)
st.caption(f"{count(len(view))} of {count(len(customers))} customers")
shown, config = common.readable_table(view)
st.dataframe(shown, hide_index=True, key="customer_table", column_config=config)

st.subheader("Look up one customer")
lookup = st.text_input("Customer id", key="lookup_id", value=str(view[CUSTOMER_ID].iloc[0]) if len(view) else "")
if lookup:
    row = find_customer(customers, lookup)
    if row is None:
        st.warning(f"No customer {lookup!r} among the customers used in this analysis.")
    else:
        m1, m2, m3, m4, m5 = st.columns(5)
        segment = str(row[SEGMENT])
        m1.metric("Segment", segment)
        m2.metric("RFM score", str(row[RFM_SCORE]))
        m3.metric("Recency", f"{count(row[RECENCY_DAYS])} days")
        m4.metric("Orders", count(row[FREQUENCY]))
        m5.metric("Spend", common.money(row[MONETARY]))
        st.caption(f"{seg.rules.description(segment)} — {seg.rules.action(segment)}")
        shown, config = common.readable_table(purchase_history(prep.cleaned.transactions, lookup))
        st.dataframe(shown, hide_index=True, key="history_table", column_config=config)
