"""Issue 14 leftovers in the pages (AppTest): score tables with whole days and orders, blank preview cells, and
per-segment downloads with readable headers on Actions."""

from __future__ import annotations

import re

import pandas as pd
from streamlit.testing.v1 import AppTest

from tests.app.test_pages import go, upload

WHOLE = re.compile(r"^\d{1,3}(,\d{3})*$")
MONEY = re.compile(r"^-?\d{1,3}(,\d{3})*\.\d{2}$")  # the sample states no currency: no symbol


def _bins_tables(at: AppTest) -> list[pd.DataFrame]:
    return [df.value for df in at.dataframe if {"score", "range", "from", "to", "customers"} <= set(df.value.columns)]


def test_score_tables_show_days_and_orders_whole_and_money_with_two_decimals(at: AppTest) -> None:
    go(at, "settings")
    recency, frequency, monetary = _bins_tables(at)  # the columns are recency, frequency, monetary
    for table in (recency, frequency):
        values = [v for v in [*table["from"], *table["to"]] if v != ""]
        assert values and all(WHOLE.match(v) for v in values), values  # "3", never "3.00"
    values = [v for v in [*monetary["from"], *monetary["to"]] if v != ""]
    assert values and all(MONEY.match(v) for v in values), values
    # The sample's frequency scores start at 1 order (every customer has one), by hand from the file's definition.
    assert frequency["from"].iloc[0] == "1"
    # Every customer is in one score of each metric.
    customers = {m.label: m.value for m in at.metric}.get("Customers")
    assert customers is None or int(customers.replace(",", "")) == int(recency["customers"].sum())
    assert int(recency["customers"].sum()) == int(frequency["customers"].sum()) == int(monetary["customers"].sum())


def test_the_preview_shows_blank_cells_blank(at: AppTest) -> None:
    csv = ("InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice,Country\n"
           "1,A,2024-01-01,2,5.00,\n"
           "2,B,2024-01-02,1,,France\n"
           "3,C,2024-01-03,1,3.00,France\n")
    upload(at, "blanks.csv", csv.encode())
    assert not at.exception
    preview = next(df.value for df in at.dataframe if "InvoiceNo" in df.value.columns)
    assert preview.loc[0, "Country"] == "" and preview.loc[1, "UnitPrice"] == ""
    assert preview.loc[1, "Country"] == "France" and preview.loc[0, "UnitPrice"] == "5.00"
    cells = preview.astype(str).to_numpy().ravel().tolist()
    assert not {"None", "nan", "NaN", "<NA>"} & set(cells)


def test_actions_offers_each_segment_list_also_with_readable_headers(at: AppTest) -> None:
    go(at, "actions")
    labels = [b.proto.label for b in at.get("download_button")]
    machine = [lb for lb in labels if lb.endswith(" customers (CSV)")]
    readable = [lb for lb in labels if lb.endswith(" customers, readable headers (CSV)")]
    assert machine and len(readable) == len(machine)
    assert [lb.replace(", readable headers", "") for lb in readable] == machine
