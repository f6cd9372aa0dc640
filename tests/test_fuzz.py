"""Fuzzing the readers and the column mapper: the only outcomes are a result or the engine's own error type.

Bounded: a fixed number of examples per property (about a minute in all), run in CI like every other test.
"""

from __future__ import annotations

import contextlib
import io

import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfm_core import RfmError, analyze, detect_mapping, read_table
from rfm_core.mapping import resolve_mapping

FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KNOWN = ["InvoiceNo", "Invoice", "CustomerID", "Customer ID", "email", "InvoiceDate", "created_at", "Quantity",
         "UnitPrice", "Price", "Amount", "revenue", "Country", "StockCode", "Description"]
cell = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "nan", "NULL", "12/13/2010 8:26", "2011-01-01", "40513.5", "-5", "1,5", "£2.00",
                     '"quoted, cell"', "line\nbreak", "=1+1", "\x00", "C536379", "17850.0", "1e308", "inf"]),
    st.integers(-10**6, 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)


def _outcome(fn, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
    # A clear refusal (RfmError) is a valid outcome; any other exception propagates and fails the test.
    with contextlib.suppress(RfmError):
        fn(*args, **kwargs)


@FUZZ
@given(st.binary(max_size=4096), st.sampled_from(["x.csv", "x.xlsx", "x.parquet", "x.txt", "upload"]))
def test_random_bytes(data: bytes, name: str) -> None:
    _outcome(analyze, data, name=name, warn=False)


@FUZZ
@given(st.binary(min_size=4, max_size=2048))
def test_random_bytes_behind_real_magic_numbers(tail: bytes) -> None:
    for magic in (b"PK\x03\x04", b"PAR1", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"\xef\xbb\xbf", b"\xff\xfe"):
        _outcome(read_table, magic + tail, "x")


@FUZZ
@given(st.lists(st.text(max_size=20), max_size=12))
def test_random_headers(headers: list[str]) -> None:
    detect_mapping(headers)  # detection never fails
    _outcome(resolve_mapping, headers)
    _outcome(resolve_mapping, headers, {"customer_id": headers[0] if headers else "x"})


@FUZZ
@given(st.lists(st.sampled_from(KNOWN), min_size=1, max_size=8, unique=True),
       st.lists(st.lists(cell, min_size=8, max_size=8), max_size=15),
       st.sampled_from([",", ";", "\t", "|"]))
def test_random_cells_through_the_whole_pipeline(headers: list[str], rows: list[list[str]], delim: str) -> None:
    def quote(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(ch in v for ch in (delim, '"', "\n", "\r")) else v

    text = "\n".join(delim.join(quote(v) for v in row[: len(headers)]) for row in [headers, *rows])
    for encoding in ("utf-8", "utf-16"):
        try:
            data = text.encode(encoding)
        except UnicodeEncodeError:
            continue
        _outcome(analyze, data, name="fuzz.csv", warn=False)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(KNOWN), min_size=1, max_size=6, unique=True),
       st.lists(st.lists(st.one_of(cell, st.integers(), st.floats(allow_nan=False), st.none()), min_size=6,
                         max_size=6), max_size=8))
def test_random_workbooks(headers: list[str], rows: list[list[object]]) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(headers)
    for row in rows:
        cleaned = [v.replace("\x00", "") if isinstance(v, str) else v for v in row[: len(headers)]]
        try:
            ws.append(cleaned)
        except (ValueError, openpyxl.utils.exceptions.IllegalCharacterError):
            continue  # openpyxl refuses some control characters: not a workbook Excel could write either
    buf = io.BytesIO()
    wb.save(buf)
    _outcome(analyze, buf.getvalue(), name="fuzz.xlsx", warn=False)
