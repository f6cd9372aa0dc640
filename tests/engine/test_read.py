"""Reading real bytes: CSV dialects and encodings, workbooks, Parquet, and files that are not what they say."""

from __future__ import annotations

import codecs
import datetime as dt
import io
import zipfile

import pandas as pd
import pytest

from rfm_core import InputFileError, ReadOptions, analyze, list_sheets, read_table
from rfm_core.read import detect_format
from tests.data.corpus import xlsx_bytes

ROWS = [["536365", "17850", "2010-12-01 08:26:00", "6", "2.55", "United Kingdom"],
        ["536366", "00123", "2010-12-02 09:00:00", "2", "£1,200.50", "Germany"]]
HEADER = ["InvoiceNo", "CustomerID", "InvoiceDate", "Quantity", "UnitPrice", "Country"]


def _csv(delim: str = ",", rows: list[list[str]] | None = None) -> str:
    rows = rows or ROWS
    return "\n".join(delim.join(f'"{c}"' if delim in c else c for c in r) for r in [HEADER, *rows]) + "\n"


@pytest.mark.parametrize("delim", [",", ";", "\t", "|"], ids=["comma", "semicolon", "tab", "pipe"])
def test_delimiters_are_sniffed(delim: str) -> None:
    raw = read_table(_csv(delim).encode(), "x.csv")
    assert raw.delimiter == delim
    assert list(raw.frame.columns) == HEADER
    assert raw.frame["CustomerID"].tolist() == ["17850", "00123"]


@pytest.mark.parametrize(("encoding", "prefix"), [("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("utf-16", b""),
                                                  ("cp1252", b"")], ids=["utf8", "utf8-bom", "utf16", "cp1252"])
def test_encodings(encoding: str, prefix: bytes) -> None:
    data = prefix + _csv().encode(encoding)
    raw = read_table(data, "x.csv")
    assert list(raw.frame.columns) == HEADER
    assert raw.frame["UnitPrice"].tolist()[1] == "£1,200.50"


def test_semicolon_file_reads_decimal_commas() -> None:
    text = "InvoiceNo;CustomerID;InvoiceDate;Quantity;UnitPrice\n1;A;01.02.2011;2;1.234,50\n2;B;13.02.2011;1;2,55\n"
    result = analyze(text.encode(), name="eu.csv")
    assert result.customers.set_index("customer_id")["monetary"].to_dict() == {"A": 2469.0, "B": 2.55}
    assert result.customers.set_index("customer_id")["last_purchase"]["A"] == pd.Timestamp("2011-02-01")


def test_quoted_fields_with_newlines_and_delimiters() -> None:
    text = 'InvoiceNo,CustomerID,InvoiceDate,Amount,Description\n1,A,2011-01-01,5,"a, b\nc"\n2,B,2011-01-02,3,x\n'
    raw = read_table(text.encode())
    assert raw.frame["Description"].tolist() == ["a, b\nc", "x"]


def test_header_below_title_lines_is_found() -> None:
    text = "Sales export\nGenerated 2011-12-10\n" + _csv()
    raw = read_table(text.encode())
    assert raw.header_row == 2
    assert list(raw.frame.columns) == HEADER and len(raw.frame) == 2


XL_ROWS: list[list[object]] = [HEADER, [536365, 17850.0, dt.datetime(2010, 12, 1, 8, 26), 6, 2.55, "UK"],
                               ["C536379", 17850.0, dt.datetime(2010, 12, 1, 9, 41), -1, 27.5, "UK"],
                               [536366, 13047.0, dt.datetime(2010, 12, 2, 9, 0), 2, 1.0, "UK"]]


def test_xlsx_ids_read_as_text() -> None:
    raw = read_table(xlsx_bytes({"Data": XL_ROWS}), "book.xlsx")
    assert raw.fmt == "xlsx" and raw.sheet == "Data"
    assert raw.frame["InvoiceNo"].tolist() == ["536365", "C536379", "536366"]
    result = analyze(raw)
    assert result.customers["customer_id"].tolist() == ["13047", "17850"]


def test_xlsx_default_sheet_skips_sheets_without_transactions_and_finds_header() -> None:
    data = xlsx_bytes({"Notes": [["hello"]], "Data": [["Monthly report"], [], *XL_ROWS]})
    raw = read_table(data)
    assert raw.sheet == "Data" and raw.header_row == 2
    assert list_sheets(data) == ("Notes", "Data")


def test_xlsx_all_sheets_are_stacked() -> None:
    data = xlsx_bytes({"Year 1": XL_ROWS, "Year 2": [HEADER, *XL_ROWS[1:]]})
    raw = read_table(data, options=ReadOptions(all_sheets=True))
    assert len(raw.frame) == 6
    one = read_table(data, options=ReadOptions(sheet="Year 2"))
    assert len(one.frame) == 3 and one.sheet == "Year 2"


def test_missing_sheet_lists_the_sheets() -> None:
    with pytest.raises(InputFileError, match="Data"):
        read_table(xlsx_bytes({"Data": XL_ROWS}), options=ReadOptions(sheet="Nope"))


def test_parquet(tmp_path) -> None:
    frame = pd.DataFrame({"Invoice": ["1", "2"], "Customer ID": [12346.0, 12347.0],
                          "InvoiceDate": pd.to_datetime(["2010-01-01", "2010-01-02"]), "Quantity": [1, 2],
                          "Price": [1.5, 2.0]})
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    result = analyze(path)
    assert result.customers["customer_id"].tolist() == ["12346", "12347"]
    assert result.customers["monetary"].tolist() == [1.5, 4.0]


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"),
    (b"   \n\n", "empty"),
    (b"\x00\x01\x02garbage\x00" * 100, "binary"),
    (b"PK\x03\x04" + b"\x00" * 50, "damaged"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "password"),
], ids=["empty", "blank", "binary", "truncated-zip", "ole"])
def test_unreadable_files_raise_clear_errors(data: bytes, message: str) -> None:
    with pytest.raises(InputFileError, match=message):
        read_table(data, "x.csv")


def test_zip_that_is_not_a_workbook() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("data.csv", "a,b\n1,2\n")
    with pytest.raises(InputFileError, match="not an Excel workbook"):
        read_table(buf.getvalue())


def test_zip_bomb_is_refused_before_expanding() -> None:
    data = xlsx_bytes({"Data": XL_ROWS})
    with pytest.raises(InputFileError, match="expand"):
        read_table(data, options=ReadOptions(max_uncompressed_bytes=1000))


def test_missing_path() -> None:
    with pytest.raises(InputFileError, match="No file"):
        read_table("/nonexistent/file.csv")


def test_format_detection() -> None:
    assert detect_format(b"PAR1xxxx") == "parquet"
    assert detect_format(b"a,b\n") == "csv"


def test_regression_lone_carriage_return_is_not_a_crash() -> None:
    """Found by tests/test_fuzz.py: csv.Error escaped from header sniffing."""
    data = b"InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n1,A\r,2011-01-01,1,2\n"
    with pytest.raises(InputFileError, match="same number of columns"):  # the bare CR ends a line
        read_table(data, "cr.csv")


def test_csv_paths_hash_and_encoding_in_one_pass(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import hashlib

    from rfm_core.read import file_sha256

    utf8 = tmp_path / "u.csv"
    utf8.write_bytes((_csv() * 2000).encode("utf-8"))  # over 64 KB: the streamed path
    cp = tmp_path / "c.csv"
    cp.write_bytes((_csv() * 2000).encode("cp1252"))
    assert read_table(utf8).sha256 == hashlib.sha256(utf8.read_bytes()).hexdigest()
    assert read_table(utf8).encoding == "utf8" and read_table(cp).encoding == "cp1252"
    assert file_sha256(utf8, cp) == hashlib.sha256(utf8.read_bytes() + cp.read_bytes()).hexdigest()
