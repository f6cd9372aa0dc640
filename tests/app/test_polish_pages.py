"""Issue 14 leftovers in the pages (AppTest): score tables with whole days and orders, blank preview cells, and
per-segment downloads with readable headers on Actions."""

from __future__ import annotations

import re
from typing import Any

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


def test_column_width_fits_the_header_or_the_widest_value() -> None:
    from pages.common import column_width

    # 7 px a character plus 20 px of padding; the header counts one character more (semi-bold).
    assert column_width("Customers", 3) == (9 + 1) * 7 + 20 == 90
    assert column_width("Segment", len("Potential Loyalists")) == 19 * 7 + 20 == 153
    assert column_width("", 0) == 50 and column_width("x", 500) == 420  # the floor and the cap


def test_every_readable_table_on_actions_and_lifetime_value_sizes_its_columns(at: AppTest) -> None:
    import json

    for page in ("actions", "clv", "settings", "data"):
        go(at, page)
        sized = 0
        for frame in at.dataframe:
            config = json.loads(frame.proto.columns or "{}")
            for name, column in config.items():
                if not isinstance(column, dict) or "width" not in column:
                    continue
                sized += 1
                label = column.get("label") or name
                # The header fits: at least its characters at 7 px (Source Sans at 14 px) plus the cell padding.
                assert column["width"] >= len(label) * 7 + 16, (page, label, column["width"])
                values = frame.value.get(name)
                if values is not None and len(values) and pd.api.types.is_string_dtype(values):
                    widest = int(values.astype(str).str.len().max())  # text: the longest value fits (up to the cap)
                    assert column["width"] >= min(widest * 7 + 16, 420), (page, name, widest)
        assert sized >= 3, page


def test_lifetime_value_says_a_tie_is_a_tie(at: AppTest, monkeypatch: Any) -> None:
    """The sample's errors per customer (0.772-0.783) shown with no decimals all read 1: the page must call that a
    tie, name the models and mark no single "best"."""
    import rfm_core.clv.holdout as holdout

    monkeypatch.setattr(holdout, "MAE_DECIMALS", 0)
    go(at, "clv")
    comparison = next(df.value for df in at.dataframe if {"label", "mae", "best"} <= set(df.value.columns))
    assert sorted(comparison["best"]) == ["best (tie)", "tie", "tie"]
    notes = [i.value for i in at.info if " tie on the holdout " in i.value]
    assert len(notes) == 1 and all(m in notes[0] for m in ("BG/NBD", "MBG/NBD", "Pareto/NBD"))
    assert any("tied for the best of 3 models" in c.value for c in at.caption)


def test_validation_problems_read_in_full(at: AppTest) -> None:
    """A static table with labels in words, so "What to do" is read whole (the grid cut it to "Rows witho…"); the
    count is the sample's blank CustomerID cells, counted here by pandas on the file itself."""
    from tests.conftest import SAMPLE

    blank_ids = int(pd.read_csv(SAMPLE, dtype=str)["CustomerID"].isna().sum())
    (table,) = [t.value for t in at.table if "What to do" in t.value.columns]
    assert list(table.columns) == ["Column", "Source column", "Problem", "Rows", "Examples", "What to do"]
    row = table[table["Source column"] == "CustomerID"].iloc[0]
    assert row["Problem"] == "empty" and row["Rows"] == f"{blank_ids:,}"
    assert row["What to do"].endswith("they are dropped by default.")
