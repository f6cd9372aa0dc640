"""Actions: for each segment, who they are, what they are worth, what to do, what they buy, and the list."""

from __future__ import annotations

from functools import partial
from types import SimpleNamespace

import streamlit as st

from pages import common
from rfm_core.columns import SEGMENT
from rfm_core.export import readable_csv, safe_filename, segments_csv, segments_table
from rfm_core.formatting import count, decimal, percent
from rfm_core.playbooks import playbook_table, split_holdout

st.title("Recommended actions")
prep, seg = common.require_data()
customers = seg.customers
st.subheader("Playbooks and hold-out groups")
st.caption("Per segment, the campaign to run and a suggested hold-out: a random share gets nothing, so comparing the "
           "contacted (test) and held-out (control) groups measures the campaign. Edit them on the Segment "
           "rules page; they are saved with the rules.")
view, config = common.readable_table(playbook_table(seg.summary, seg.rules)[
    [SEGMENT, "customers", "control_share", "test", "control", "goal", "channel"]])
st.dataframe(view, hide_index=True, key="playbook_table", column_config=config, height=36 * (len(view) + 1) + 4)
products = common.top_products_for(prep, seg)  # cached per file and settings
money_in = common.currency()


def _readable_segment(name: str) -> bytes:
    return readable_csv(segments_table(customers, [name]), money_in)


for i, rec in enumerate(seg.summary.to_dict("records")):
    row = SimpleNamespace(**{str(k): v for k, v in rec.items()})
    if row.customers == 0:
        continue
    name = str(row.segment)
    with st.expander(f"**{name}** — {count(row.customers)} customers, {percent(row.revenue_share)} of revenue",
                     expanded=i < 3):
        st.markdown(f"*Rule:* {seg.rules.condition(name)}  \n*Who they are:* {seg.rules.description(name)}")
        st.info(f"**Recommended action:** {seg.rules.action(name)}", icon=":material/campaign:")
        book = seg.rules.playbook(name)
        if any((book.goal, book.channel, book.offer, book.timing)):
            st.markdown("\n".join(f"- **{what}:** {text}" for what, text in (
                ("Goal", book.goal), ("Channel", book.channel), ("Offer", book.offer), ("Timing", book.timing))
                if text))
        test, control = split_holdout(int(row.customers), book.control_share)
        c1, c2, c3, c4, c5 = st.columns(5)
        common.note_metric(c1, "Customers", count(row.customers), f"{percent(row.customer_share)} of all")
        common.note_metric(c2, "Revenue", common.money(row.revenue), f"{percent(row.revenue_share)} of all")
        c3.metric("Avg order value", common.money(row.avg_order_value))
        c4.metric("Median recency", f"{decimal(row.recency_median, 0)} days")
        common.note_metric(c5, "Contact / hold out", f"{count(test)} / {count(control)}",
                           f"{percent(book.control_share)} held out as control")
        mine = products[products[SEGMENT] == name]
        if len(mine):
            p1, p2 = st.columns(2)
            p1.caption("Top products by revenue")
            view, config = common.readable_table(mine[mine["ranking"] == "revenue"][["product", "revenue",
                                                                                     "customers"]])
            p1.dataframe(view, hide_index=True, column_config=config)
            p2.caption("Top products by number of customers")
            view, config = common.readable_table(mine[mine["ranking"] == "customers"][["product", "customers",
                                                                                       "revenue"]])
            p2.dataframe(view, hide_index=True, column_config=config)
        d1, d2 = st.columns(2)
        d1.download_button(f"Download {count(row.customers)} {name} customers (CSV)",
                           # Made when clicked, not on every run (11 segments' CSVs took ~150 ms a run).
                           partial(segments_csv, customers, [name]), f"{safe_filename(name)}-customers.csv",
                           "text/csv", key=f"dl_segment_{i}", on_click="ignore",
                           help="Machine column names and unrounded values, for CRM and mailing imports.")
        d2.download_button(f"Download {count(row.customers)} {name} customers, readable headers (CSV)",
                           partial(_readable_segment, name), f"{safe_filename(name)}-customers-readable.csv",
                           "text/csv", key=f"dl_segment_readable_{i}", on_click="ignore",
                           help="Headers in words and numbers as shown here (money 2 decimals, percentages 1).")
