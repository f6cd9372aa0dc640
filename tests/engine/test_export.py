"""Exports: real bytes back through readers; formula injection neutralised; HTML inert."""

from __future__ import annotations

import io

import numpy as np
import openpyxl
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfm_core import analyze
from rfm_core.export import excel_workbook, html_report, neutralise, safe_filename, segments_csv, table_csv
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


def test_neutralise_headers_and_formulas_behind_spaces() -> None:
    frame = pd.DataFrame({"=HYPERLINK(\"x\")": [" =1+1", "\u00a0@x", "\uff1dSUM(A1)", "a=b", "ok"],
                          "+n": [1, 2, 3, 4, 5]})
    out = neutralise(frame)
    assert list(out.columns) == ["'=HYPERLINK(\"x\")", "'+n"]
    assert out.iloc[:, 0].tolist() == ["' =1+1", "'\u00a0@x", "'\uff1dSUM(A1)", "a=b", "ok"]
    assert out.iloc[:, 1].tolist() == [1, 2, 3, 4, 5]


_CELL_TEXT = st.text(alphabet=[" ", "\u00a0", "\u3000", "=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20",
                               "\t", "\r", "\n", "a", "1", ",", '"', "'", "é"], max_size=4)
_PLAIN_TEXT = st.text(alphabet=[" ", "\u00a0", "=", "-", "@", "\uff1d", "\t", "a", "1", "'", "é"], min_size=1,
                      max_size=4)
_FLOATS = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([0.1 + 0.2, -0.0, 1e-300, 123456789.123456789, 2.5, 1e16]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), rows=st.integers(0, 12))
def test_table_csv_writes_what_pandas_float_format_and_a_python_regex_write(data: st.DataObject, rows: int) -> None:
    """The fast CSV writer (floats formatted in one pass, the formula test in Arrow's RE2) gives the very bytes of
    the straightforward way: the formula prefix tested with Python's re on every text cell, then pandas' to_csv
    with ``float_format='%.10g'``. Columns of every kind a table can hold: float64 with NaN, infinities and -0,
    nullable Float64 with <NA>, float32, ints, text with formula starts behind spaces or full-width, missing text,
    categorical text."""
    import re

    # text with characters that need quotes in a CSV, or without (Arrow writes those, see export._plain_csv)
    text = _CELL_TEXT if data.draw(st.booleans(), label="quotable text") else _PLAIN_TEXT
    cells = st.lists(text | st.none(), min_size=rows, max_size=rows)
    frame = pd.DataFrame({
        "f": data.draw(st.lists(_FLOATS, min_size=rows, max_size=rows), label="f"),
        "nullable": pd.array(data.draw(st.lists(_FLOATS | st.none(), min_size=rows, max_size=rows)), dtype="Float64"),
        "f32": np.array(data.draw(st.lists(st.floats(width=32), min_size=rows, max_size=rows)), dtype="float32"),
        "n": data.draw(st.lists(st.integers(-10**12, 10**12), min_size=rows, max_size=rows), label="n"),
        "text": pd.Series(data.draw(cells, label="text"), dtype=object),
        "str": pd.Series(data.draw(cells, label="str"), dtype="str"),
        "cat": pd.Categorical(data.draw(cells, label="cat")),
    })
    frame = frame[data.draw(st.lists(st.sampled_from(list(frame.columns)), min_size=1, unique=True), label="cols")]
    leading = re.compile(r"^[ \u00a0\u3000]*[=+\-@\uff1d\uff0b\uff0d\uff20]|^[\t\r]")
    reference = frame.copy()
    for col in {"text", "str", "cat"} & set(reference.columns):
        as_text = reference[col].astype("string")
        hit = as_text.str.match(leading).fillna(False)
        if hit.any():
            reference[col] = as_text.where(~hit, "'" + as_text)
    want = reference.to_csv(index=False, float_format="%.10g").encode("utf-8")
    assert table_csv(frame) == want


def test_table_csv_takes_the_arrow_writer_for_plain_tables_only() -> None:
    """Arrow writes a table of whole numbers and text needing no quotes (the customers export); a comma in a value,
    a date column, a single column or categories go to pandas. Either way the bytes are pandas' own."""
    from rfm_core.export import _plain_csv

    plain = pd.DataFrame({"customer_id": ["a1", "'=x", None], "frequency": [1, 2, 3], "m": ["1.5", "2", "3"]})
    want = b"customer_id,frequency,m\na1,1,1.5\n'=x,2,2\n,3,3\n"
    assert _plain_csv(plain) == plain.to_csv(index=False).encode() == want
    for other in (plain.assign(customer_id=["a,1", "b", "c"]), plain.assign(when=pd.Timestamp("2011-01-01")),
                  plain[["frequency"]], plain.astype({"m": "category"}), plain.assign(flag=True)):
        assert _plain_csv(other) is None
        assert table_csv(other) == other.to_csv(index=False).encode()
