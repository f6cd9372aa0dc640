"""The workbook's cells read back with their formats, and the HTML report's structure, on the hand-computed file.

Expected figures come from tests/engine/test_hand_fixture.py's docstring (worked by hand): customers A, B, C with
monetary 33, 10, 7; A's first purchase 2024-01-01 10:00 and last 2024-01-10 09:00; 11 input lines, 5 used;
revenue 50 over 4 orders (average order value 12.50).
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from html.parser import HTMLParser
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter

from rfm_core import RfmError, analyze
from rfm_core import export as export_module
from rfm_core.export import excel_workbook, html_report, provenance
from rfm_core.pipeline import result_provenance
from rfm_core.segment import RuleSet
from rfm_core.settings import AnalysisSettings, CleaningPolicy

SHEETS = ["Summary", "Customers", "Rules", "Ledger", "About"]


@pytest.fixture(scope="module")
def hand(hand_csv_bytes: bytes) -> Any:
    return analyze(hand_csv_bytes, name="hand.csv", warn=False)


@pytest.fixture(scope="module")
def hand_csv_bytes() -> bytes:
    from tests.conftest import HAND_CSV

    return HAND_CSV.encode()


@pytest.fixture(scope="module")
def book(hand: Any) -> openpyxl.Workbook:
    seg = hand.segmentation
    data = excel_workbook(seg.customers, seg.summary, hand.cleaned.ledger, result_provenance(hand), seg.rules)
    return openpyxl.load_workbook(io.BytesIO(data))


def _column(ws: Any, header: str) -> list[Any]:
    """The cells under a header."""
    headers = [c.value for c in ws[1]]
    col = headers.index(header) + 1
    return [ws.cell(row=r, column=col) for r in range(2, ws.max_row + 1)]


def _by_customer(ws: Any, header: str) -> dict[str, Any]:
    return {i.value: c for i, c in zip(_column(ws, "customer_id"), _column(ws, header), strict=True)}


def test_money_is_a_number_with_a_money_format(book: openpyxl.Workbook) -> None:
    monetary = _by_customer(book["Customers"], "monetary")
    assert {k: c.value for k, c in monetary.items()} == {"A": 33, "B": 10, "C": 7}
    assert all(c.data_type == "n" and c.number_format == "#,##0.00" for c in monetary.values())
    aov = _by_customer(book["Customers"], "avg_order_value")
    assert aov["A"].value == 16.5 and aov["A"].number_format == "#,##0.00"
    revenue = _column(book["Summary"], "revenue")
    assert sum(c.value or 0 for c in revenue) == 50 and {c.number_format for c in revenue} == {"#,##0.00"}


def test_dates_are_real_dates(book: openpyxl.Workbook) -> None:
    first = _by_customer(book["Customers"], "first_purchase")["A"]
    last = _by_customer(book["Customers"], "last_purchase")["A"]
    assert first.is_date and first.value == dt.datetime(2024, 1, 1, 10, 0)
    assert last.is_date and last.value == dt.datetime(2024, 1, 10, 9, 0)
    assert first.number_format == "yyyy-mm-dd hh:mm:ss"


def test_shares_are_percentages(book: openpyxl.Workbook) -> None:
    ledger = {r.value: s for r, s in zip(_column(book["Ledger"], "reason"), _column(book["Ledger"], "share"),
                                         strict=True)}
    assert ledger["used"].value == pytest.approx(5 / 11) and ledger["used"].number_format == "0.0%"
    shares = _column(book["Summary"], "customer_share")
    assert sum(c.value for c in shares) == pytest.approx(1.0)
    assert {c.number_format for c in shares} == {"0.0%"}
    rows = _column(book["Ledger"], "rows")
    assert sum(c.value for c in rows) == 11 and {c.number_format for c in rows} == {"#,##0"}


def test_counts_and_scores_are_whole_numbers(book: openpyxl.Workbook) -> None:
    frequency = _by_customer(book["Customers"], "frequency")
    assert {k: c.value for k, c in frequency.items()} == {"A": 2, "B": 1, "C": 1}
    assert {c.number_format for c in frequency.values()} == {"#,##0"}
    assert {c.number_format for c in _column(book["Customers"], "r_score")} == {"0"}
    assert all(isinstance(c.value, str) for c in _column(book["Customers"], "customer_id"))


@pytest.mark.parametrize("sheet", SHEETS)
def test_every_sheet_has_a_frozen_bold_header_a_filter_and_widths(book: openpyxl.Workbook, sheet: str) -> None:
    ws = book[sheet]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{get_column_letter(ws.max_column)}{max(ws.max_row, 2)}"
    assert all(c.font.bold for c in ws[1])
    widths = {}  # adjacent columns of equal width are stored as one <col min max> range
    for dim in ws.column_dimensions.values():
        for col in range(dim.min, dim.max + 1):
            widths[col] = dim.width
    for col in range(1, ws.max_column + 1):
        cells = [ws.cell(row=r, column=col).value for r in range(2, ws.max_row + 1)]
        text = max([len(v) for v in cells if isinstance(v, str)], default=0)
        header = len(ws.cell(row=1, column=col).value)
        assert min(max(header, text) + 2, 60) <= widths[col] <= 61, (sheet, get_column_letter(col), widths[col])


def test_about_sheet_has_provenance_in_words(book: openpyxl.Workbook, hand: Any) -> None:
    about = {r[0].value: r[1].value for r in book["About"].iter_rows(min_row=2)}
    assert about["Input SHA-256"] == hand.raw.sha256
    assert about["Input rows"] == 11 and about["Customers"] == 3
    assert about["Cleaning: returns"] == "exclude"
    assert book.sheetnames == SHEETS


def test_missing_numbers_are_empty_cells_and_infinity_is_not_written() -> None:
    customers = pd.DataFrame({"customer_id": ["x", "y"], "monetary": [np.nan, np.inf], "segment": ["S", "S"]})
    summary = pd.DataFrame({"segment": ["S", "Other"], "customers": [2, 0], "avg_order_value": [5.0, np.nan]})
    ledger = pd.DataFrame({"reason": ["used"], "rows": [2], "share": [1.0]})
    rules = RuleSet.from_toml('[[rule]]\nname = "S"\n')
    prov = provenance(input_name="t.csv", input_sha256="0" * 64, input_rows=2, settings=AnalysisSettings().to_dict(),
                      rules=rules, as_of=dt.date(2024, 1, 1), customers=2)
    wb = openpyxl.load_workbook(io.BytesIO(excel_workbook(customers, summary, ledger, prov, rules)))
    assert [c.value for c in _column(wb["Customers"], "monetary")] == [None, None]
    assert [c.value for c in _column(wb["Summary"], "avg_order_value")] == [5.0, None]


def test_time_zone_aware_dates_keep_their_wall_clock_time() -> None:
    when = pd.Series(pd.to_datetime(["2024-03-01 09:30:00"]).tz_localize("Pacific/Auckland"))
    customers = pd.DataFrame({"customer_id": ["x"], "first_purchase": when, "segment": ["S"]})
    rules = RuleSet.from_toml('[[rule]]\nname = "S"\n')
    prov = provenance(input_name="t.csv", input_sha256="0" * 64, input_rows=1, settings={}, rules=rules,
                      as_of=dt.date(2024, 3, 2), customers=1)
    wb = openpyxl.load_workbook(io.BytesIO(excel_workbook(
        customers, pd.DataFrame({"segment": ["S"]}), pd.DataFrame({"reason": ["used"], "rows": [1]}), prov, rules)))
    assert [c.value for c in _column(wb["Customers"], "first_purchase")] == [dt.datetime(2024, 3, 1, 9, 30)]


def test_text_is_never_a_formula_or_a_link() -> None:
    text = ("InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice,Country\n"
            "1,=1+1,2024-01-01,1,5,http://example.com\n2,plain,2024-01-02,1,5,=HYPERLINK(\"http://x\")\n")
    result = analyze(text.encode(), warn=False)
    seg = result.segmentation
    wb = openpyxl.load_workbook(io.BytesIO(excel_workbook(seg.customers, seg.summary, result.cleaned.ledger,
                                                          result_provenance(result), seg.rules)))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f" or c.hyperlink is not None]
    assert {c.value for c in _column(wb["Customers"], "country")} == {"http://example.com", "'=HYPERLINK(\"http://x\")"}
    assert "'=1+1" in {c.value for c in _column(wb["Customers"], "customer_id")}


def test_a_table_larger_than_a_sheet_is_refused(hand: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    seg = hand.segmentation
    monkeypatch.setattr(export_module, "EXCEL_MAX_ROWS", 3)  # the real limit, 1,048,576 rows, scaled down
    with pytest.raises(RfmError, match=r"Customers sheet would need 3 rows.*Export the CSV instead"):
        excel_workbook(seg.customers, seg.summary.head(2), hand.cleaned.ledger.head(2), result_provenance(hand),
                       seg.rules)


# ------------------------------------------------------------------------------------------------ HTML report

class _Report(HTMLParser):
    """Collects the provenance table rows, the <details> element's attributes and every table's headers."""

    def __init__(self) -> None:
        super().__init__()
        self.details: list[dict[str, str | None]] = []
        self.headers: list[list[str]] = []
        self.provenance: dict[str, str] = {}
        self._in_details = self._cell = False
        self._row: list[str] = []
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "details":
            self.details.append(dict(attrs))
            self._in_details = True
        elif tag == "thead":
            self.headers.append([])
        elif tag in ("th", "td"):
            self._cell, self._text = True, ""
        elif tag == "tr":
            self._row = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td"):
            self._cell = False
            self._row.append(self._text)
        elif tag == "tr" and self._in_details and len(self._row) == 2:
            self.provenance[self._row[0]] = self._row[1]
        elif tag == "thead":
            self.headers[-1] = self._row
        elif tag == "details":
            self._in_details = False

    def handle_data(self, data: str) -> None:
        if self._cell:
            self._text += data


def _report(result: Any, **kwargs: Any) -> str:
    seg = result.segmentation
    return html_report(title="Hand <report>", kpis=seg.kpis, summary=seg.summary, insights=seg.insights,
                       rules=seg.rules, ledger=result.cleaned.ledger, prov=result_provenance(result), **kwargs)


def test_report_provenance_is_a_collapsed_table_in_words(hand_csv_bytes: bytes) -> None:
    result = analyze(hand_csv_bytes, AnalysisSettings(cleaning=CleaningPolicy(returns="net")), name="hand.csv",
                     warn=False)
    parsed = _Report()
    parsed.feed(_report(result, figures=[]))
    assert len(parsed.details) == 1 and "open" not in parsed.details[0]  # collapsed by default
    prov = parsed.provenance
    assert prov["Input SHA-256"] == result.raw.sha256
    assert prov["Input rows"] == "11" and prov["Customers"] == "3" and prov["Input file"] == "hand.csv"
    assert prov["Cleaning: returns"] == "net" and prov["Scoring: recency: bins"] == "5"
    assert not [label for label in prov if "_" in label]  # headers in words, no field names
    assert RuleSet.from_toml(prov["Segment rules (TOML)"]) == result.segmentation.rules  # reproducible


def test_report_tables_and_kpis_in_words(hand: Any) -> None:
    page = _report(hand, figures=[])
    parsed = _Report()
    parsed.feed(page)
    assert parsed.headers[0] == ["Segment", "Customers", "% of customers", "Revenue", "% of revenue",
                                 "Average order value", "Rule", "Recommended action"]
    assert parsed.headers[1] == ["Segment", "Customers", "Goal", "Channel", "Offer", "Timing", "Hold-out share",
                                 "Contacted (test)", "Held out (control)"]
    assert parsed.headers[2] == ["Reason", "Rows", "Share of input rows"]
    kpis = dict(re.findall(r"<span class=\"kpi\">([^<]+)<b>([^<]+)</b>", page))
    # Headline money without decimals: 50 / 4 orders = 12.5, which Python's format rounds half to even: 12.
    assert kpis == {"Customers": "3", "Revenue": "50", "Orders": "4", "Average order value": "12"}
    assert "Hand &lt;report&gt;" in page and "Hand <report>" not in page


def test_report_includes_plotly_js_once_inline_and_nothing_remote(hand: Any) -> None:
    from plotly.offline import get_plotlyjs

    from rfm_core import charts

    seg = hand.segmentation
    figs = charts.report_figures(seg, hand.cleaned.transactions)
    page = _report(hand, figures=figs)
    assert page.count(get_plotlyjs()) == 1
    assert page.index(get_plotlyjs()) < page.index('id="chart-0"')  # loaded before the first chart draws
    assert len(re.findall(r'class="plotly-graph-div"', page)) == len(figs) >= 5
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", page)  # nothing fetched from elsewhere
    without = _report(hand, figures=figs, include_plotlyjs=False)
    assert get_plotlyjs() not in without and len(re.findall(r'class="plotly-graph-div"', without)) == len(figs)


def test_report_escapes_provenance_and_names(hand: Any) -> None:
    seg = hand.segmentation
    prov = {**result_provenance(hand), "input_name": "<script>alert(1)</script>.csv"}
    page = html_report(title="t", kpis=seg.kpis, summary=seg.summary, insights=["<img src=x onerror=alert(1)>"],
                       rules=seg.rules, ledger=hand.cleaned.ledger, prov=prov, figures=[])
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert html.escape("<script>alert(1)</script>.csv") in page


# ---- the analyst's format in the exports (issue 14 phase 2) ----------------------------------------------------

def test_workbook_money_carries_the_currency_symbol(hand: Any) -> None:
    from rfm_core.formatting import Currency

    seg = hand.segmentation
    for currency, code in ((Currency("GBP"), '"£"#,##0.00'), (Currency("EUR", "after"), '#,##0.00" €"'),
                           (Currency("CHF"), '"CHF "#,##0.00')):
        wb = openpyxl.load_workbook(io.BytesIO(excel_workbook(seg.customers, seg.summary, hand.cleaned.ledger,
                                                              result_provenance(hand), seg.rules, currency)))
        monetary = _by_customer(wb["Customers"], "monetary")
        assert {k: c.value for k, c in monetary.items()} == {"A": 33, "B": 10, "C": 7}  # still numbers
        assert {c.number_format for c in monetary.values()} == {code}
        assert {c.number_format for c in _column(wb["Summary"], "revenue")} == {code}
        # Counts and shares are not money.
        assert {c.number_format for c in _column(wb["Summary"], "customers")} == {"#,##0"}
        # The playbooks travel on the Rules sheet; the hold-out share is a percentage.
        shares = dict(zip([c.value for c in _column(wb["Rules"], "name")], _column(wb["Rules"], "control_share"),
                          strict=True))
        assert shares["Lost"].value == 0.2 and shares["Lost"].number_format == "0.0%"
        assert [c.value for c in wb["Rules"][1]][-6:] == ["goal", "channel", "offer", "timing", "control_share",
                                                          "condition"]


def test_readable_csv_has_words_and_the_currency_in_its_headers(hand: Any) -> None:
    from rfm_core.export import readable_csv, table_csv
    from rfm_core.formatting import Currency

    seg = hand.segmentation
    text = readable_csv(seg.summary[["segment", "customers", "revenue", "revenue_share"]], Currency("GBP")).decode()
    assert text.splitlines()[0] == "Segment,Customers,Revenue (GBP),% of revenue"
    machine = table_csv(seg.summary[["segment", "customers", "revenue", "revenue_share"]]).decode()
    assert machine.splitlines()[0] == "segment,customers,revenue,revenue_share"
    # Same rows, in the same order; the readable copy rounds (tests/engine/test_readable_exports.py).
    assert [r.split(",")[:2] for r in text.splitlines()[1:]] == [r.split(",")[:2] for r in machine.splitlines()[1:]]


def test_report_shows_the_currency_and_each_segments_holdout() -> None:
    from rfm_core.formatting import Currency
    from rfm_core.segment import DEFAULT_RULES

    # Sizes chosen so the hold-out rounding shows: Champions 40 x 5% = 2; Lost 7 x 20% = 1.4 -> 1;
    # Hibernating 3 x 20% = 0.6 -> 1; New Customers 1 -> cannot be split, contacted; Other: no campaign.
    sizes = {"Champions": 40, "Lost": 7, "Hibernating": 3, "New Customers": 1, "Other": 0}
    revenue = {"Champions": 12345.678, "Lost": 70.0, "Hibernating": 30.0, "New Customers": 5.0, "Other": 0.0}
    summary = pd.DataFrame({"segment": list(sizes), "customers": list(sizes.values()),
                            "customer_share": [v / 51 for v in sizes.values()], "revenue": list(revenue.values()),
                            "revenue_share": [v / 12450.678 for v in revenue.values()],
                            "avg_order_value": [123.456, 10.0, 10.0, 5.0, np.nan]})
    prov = provenance(input_name="t.csv", input_sha256="0" * 64, input_rows=60, settings={}, rules=DEFAULT_RULES,
                      as_of=dt.date(2024, 1, 1), customers=51)
    page = html_report(title="t", kpis={"customers": 51, "revenue": 12450.678, "orders": 60,
                                        "avg_order_value": 207.5113},
                       summary=summary, insights=[], rules=DEFAULT_RULES, ledger=pd.DataFrame(
                           {"reason": ["used"], "rows": [60], "share": [1.0]}), prov=prov, figures=[],
                       currency=Currency("GBP"))
    kpis = dict(re.findall(r"<span class=\"kpi\">([^<]+)<b>([^<]+)</b>", page))
    assert kpis == {"Customers": "51", "Revenue": "£12,451", "Orders": "60", "Average order value": "£208"}
    assert "Amounts in GBP (£)." in page
    rows = re.findall(r"<tr>(.*?)</tr>", page, flags=re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", r, flags=re.S) for r in rows]
    segments = {c[0]: c for c in cells if len(c) == 8}
    assert segments["Champions"][1:6] == ["40", "78.4%", "£12,345.68", "99.2%", "£123.46"]
    assert segments["Other"][1:6] == ["0", "0.0%", "£0.00", "0.0%", ""]  # empty: 0, never None
    books = {c[0]: c for c in cells if len(c) == 9}
    assert [books[s][6:] for s in sizes] == [["5.0%", "38", "2"], ["20.0%", "6", "1"], ["20.0%", "2", "1"],
                                             ["10.0%", "1", "0"], ["0.0%", "0", "0"]]
    assert html.escape("Early access to new products and a referral reward; no discount.") in page
    assert "None" not in re.sub(r"<details.*</details>", "", page, flags=re.S)
