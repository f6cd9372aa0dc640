"""Issue 14 leftovers in the pages (AppTest): score tables with whole days and orders, blank preview cells, and
per-segment downloads with readable headers on Actions."""

from __future__ import annotations

import re

import pandas as pd
from streamlit.testing.v1 import AppTest

from tests.app.test_pages import go, upload

NUMBER = r"\d{1,3}(?:,\d{3})*"
WHOLE_RANGE = re.compile(rf"^(?:≤ )?{NUMBER}(?:–{NUMBER}|\+)?$")  # "≤ 25", "26–68", "228+", "3"
MONEY = rf"{NUMBER}\.\d{{2}}"  # the sample states no currency: no symbol
MONEY_RANGE = re.compile(rf"^(?:≤ )?{MONEY}(?:–{MONEY}|\+)?$")


def _bins_tables(at: AppTest) -> list[pd.DataFrame]:
    return [df.value for df in at.dataframe if list(df.value.columns) == ["score", "range", "customers"]]


def test_score_tables_show_days_and_orders_whole_and_money_with_two_decimals(at: AppTest) -> None:
    go(at, "settings")
    recency, frequency, monetary = _bins_tables(at)  # the columns are recency, frequency, monetary
    for table in (recency, frequency):
        assert all(WHOLE_RANGE.match(v) for v in table["range"]), table["range"].tolist()  # "3", never "3.00"
    assert all(MONEY_RANGE.match(v) for v in monetary["range"]), monetary["range"].tolist()
    # Every sample customer has at least one order, so frequency's lowest score starts at 1 (it holds 1 order).
    assert frequency["range"].iloc[0] in ("1", "≤ 1")
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
