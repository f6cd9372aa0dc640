"""Exports: real bytes back through readers; formula injection neutralised; HTML inert."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd

from rfm_core import analyze
from rfm_core.export import excel_workbook, html_report, neutralise, safe_filename, segments_csv
from rfm_core.pipeline import result_provenance

HOSTILE = ("InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice,Country,Description\n"
           '1,=HYPERLINK("http://x"),2011-01-01,1,5,@SUM(A1),<img src=x onerror=alert(1)>\n'
           "2,+41,2011-01-02,2,5,-cmd,</script><script>alert(2)</script>\n"
           "3,plain,2011-01-03,1,1,UK,ok\n")


def test_neutralise_prefixes_formula_text_only() -> None:
    frame = pd.DataFrame({"a": ["=1+1", "+2", "-3", "@x", "\tt", "\rr", "ok"], "n": [-1, 2, 3, 4, 5, 6, 7]})
    out = neutralise(frame)
    assert out["a"].tolist() == ["'=1+1", "'+2", "'-3", "'@x", "'\tt", "'\rr", "ok"]
    assert out["n"].tolist() == frame["n"].tolist()  # numbers are not text from the input


def test_csv_and_excel_neutralise_input_text() -> None:
    result = analyze(HOSTILE.encode())
    seg = result.segmentation
    csv = pd.read_csv(io.BytesIO(segments_csv(seg.customers)), dtype=str)
    assert set(csv["customer_id"]) == {"'=HYPERLINK(\"http://x\")", "'+41", "plain"}
    assert set(csv["country"]) == {"'@SUM(A1)", "'-cmd", "UK"}
    book = excel_workbook(seg.customers, seg.summary, result.cleaned.ledger, result_provenance(result), seg.rules)
    wb = openpyxl.load_workbook(io.BytesIO(book))
    assert wb.sheetnames == ["Summary", "Customers", "Rules", "Ledger", "About"]
    values = [c.value for row in wb["Customers"].iter_rows() for c in row]
    assert not any(isinstance(v, str) and v.startswith(("=", "+", "@")) for v in values)
    about = {r[0].value: r[1].value for r in wb["About"].iter_rows(min_row=2)}
    assert about["Input SHA-256"] == result.raw.sha256 and about["Input rows"] == 3


def test_html_report_escapes_input_text() -> None:
    from rfm_core import charts

    result = analyze(HOSTILE.encode())
    seg = result.segmentation
    figs = [charts.recency_monetary_scatter(seg.customers, charts.segment_colors(seg.rules.names))]
    page = html_report(title="<b>x</b>", kpis=seg.kpis, summary=seg.summary, insights=seg.insights, rules=seg.rules,
                       ledger=result.cleaned.ledger, prov=result_provenance(result), figures=figs,
                       include_plotlyjs=False)
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert "<img src=x" not in page and "</script><script>alert" not in page
    assert "HYPERLINK" in page  # still there, as inert data


def test_safe_filename() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("a<b>|c?.csv") == "a_b_c_.csv"
    assert safe_filename("...") == "export"


def test_neutralise_categorical_text_keeps_missing_values() -> None:
    frame = pd.DataFrame({"c": pd.Categorical(["=x", None, "ok", "'=x"])})
    assert neutralise(frame)["c"].tolist() == ["'=x", pd.NA, "ok", "'=x"]
