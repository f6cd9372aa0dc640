"""Reading real bytes: CSV dialects and encodings, workbooks, Parquet, and files that are not what they say."""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# ------------------------------------------------------------------------ XLSX: one parse per sheet read


class _CountingReader:
    """Stands in for fastexcel's native reader: records the sheet of every load, then does the real load.

    Every loading method of ``fastexcel.ExcelReader`` (``load_sheet``, ``load_sheet_eager``, ``load_sheet_by_*``,
    ``load_table``) goes through the native reader's ``load_sheet`` or ``load_table``, so nothing escapes the count.
    """

    def __init__(self, inner: object, calls: list[object]) -> None:
        self._inner = inner
        self._calls = calls

    def load_sheet(self, idx_or_name: object, **kwargs: object) -> object:
        self._calls.append(idx_or_name)
        return self._inner.load_sheet(idx_or_name=idx_or_name, **kwargs)  # type: ignore[attr-defined]

    def load_table(self, *args: object, **kwargs: object) -> object:
        self._calls.append(("table", args))
        return self._inner.load_table(*args, **kwargs)  # type: ignore[attr-defined]

    def __getattr__(self, attr: str) -> object:
        return getattr(self._inner, attr)


@pytest.fixture
def sheet_loads(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    import fastexcel

    calls: list[object] = []
    real = fastexcel.read_excel

    def counting(source: object) -> fastexcel.ExcelReader:
        return fastexcel.ExcelReader(_CountingReader(real(source)._reader, calls))  # type: ignore[arg-type]

    monkeypatch.setattr(fastexcel, "read_excel", counting)
    return calls


TITLE = [["Monthly report"], ["Generated 2011-12-10"]]


@pytest.mark.parametrize(("sheets", "options", "loaded", "rows"), [
    ({"Data": XL_ROWS}, ReadOptions(), ["Data"], 3),
    ({"Data": [*TITLE, [], *XL_ROWS]}, ReadOptions(), ["Data"], 3),
    ({"Notes": [["hello"]], "Data": XL_ROWS, "Later": XL_ROWS}, ReadOptions(), ["Notes", "Data"], 3),
    ({"Notes": [["hello"]], "Y1": XL_ROWS, "Y2": [*TITLE, *XL_ROWS]}, ReadOptions(all_sheets=True),
     ["Notes", "Y1", "Y2"], 6),
    ({"Y1": XL_ROWS, "Y2": XL_ROWS}, ReadOptions(sheet="Y2"), ["Y2"], 3),
], ids=["one-sheet", "title-rows", "first-with-transactions", "all-sheets", "named-sheet"])
def test_xlsx_each_sheet_read_is_parsed_once(sheet_loads: list[object], sheets: dict[str, list[list[object]]],
                                             options: ReadOptions, loaded: list[str], rows: int) -> None:
    """fastexcel parses the whole sheet for any n_rows, so a header peek plus a load was two full parses."""
    raw = read_table(xlsx_bytes(sheets), "book.xlsx", options)
    assert sheet_loads == loaded
    assert len(raw.frame) == rows
    assert raw.frame["InvoiceNo"].tolist()[:3] == ["536365", "C536379", "536366"]


def test_xlsx_header_below_leading_empty_rows_is_the_sheet_row() -> None:
    """Regression: a blank first row made the blank row the header and the real header a data row."""
    raw = read_table(xlsx_bytes({"Data": [[], TITLE[0], [], *XL_ROWS]}), "book.xlsx")
    assert raw.header_row == 3 and raw.notes == ("Sheet 'Data': header on row 4.",)  # row 4 as Excel numbers it
    assert list(raw.frame.columns) == HEADER and len(raw.frame) == 3


def test_xlsx_cells_typed_by_excel_come_out_as_text() -> None:
    rows: list[list[object]] = [HEADER, ["000123", "00123", dt.datetime(2010, 12, 1, 8, 26), 6, 2.55, "UK"],
                                [536366, 17850.0, dt.datetime(2010, 12, 2), -1, 1e-3, None]]
    frame = read_table(xlsx_bytes({"Data": rows}), "book.xlsx").frame
    assert frame["InvoiceNo"].tolist() == ["000123", "536366"]
    assert frame["CustomerID"].tolist() == ["00123", "17850"]
    assert frame["InvoiceDate"].tolist() == ["2010-12-01 08:26:00", "2010-12-02 00:00:00"]
    assert frame["Quantity"].tolist() == ["6", "-1"]
    assert frame["UnitPrice"].tolist() == ["2.55", "0.001"]
    assert frame["Country"].tolist()[0] == "UK" and pd.isna(frame["Country"].tolist()[1])


def test_xlsx_duplicate_and_empty_headers_are_named_like_csv() -> None:
    rows: list[list[object]] = [["InvoiceNo", "CustomerID", None, "InvoiceNo", "InvoiceDate", "Amount"],
                                [1, "A", "x", 2, dt.datetime(2011, 1, 1), 5]]
    from_xlsx = read_table(xlsx_bytes({"Data": rows}), "book.xlsx").frame
    from_csv = read_table(b"InvoiceNo,CustomerID,,InvoiceNo,InvoiceDate,Amount\n1,A,x,2,2011-01-01,5\n", "b.csv").frame
    assert list(from_xlsx.columns) == list(from_csv.columns) == [
        "InvoiceNo", "CustomerID", "column_3", "InvoiceNo_2", "InvoiceDate", "Amount"]


def _break_sheet(data: bytes, member: str) -> bytes:
    """The same workbook with one worksheet's XML replaced by text that is not XML."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, b"<worksheet><sheetData><row" if info.filename == member else src.read(info))
    return out.getvalue()


def test_xlsx_unreadable_sheet_is_skipped_with_a_note_unless_chosen() -> None:
    data = _break_sheet(xlsx_bytes({"Broken": XL_ROWS, "Data": XL_ROWS}), "xl/worksheets/sheet1.xml")
    raw = read_table(data, "book.xlsx")
    assert raw.sheet == "Data" and len(raw.frame) == 3
    assert len(raw.notes) == 1 and raw.notes[0].startswith("Sheet 'Broken' of book.xlsx could not be read (")
    assert raw.notes[0].endswith("; it was skipped.")
    with pytest.raises(InputFileError, match=r"Sheet 'Broken' of book.xlsx could not be read .*export the sheet"):
        read_table(data, "book.xlsx", ReadOptions(sheet="Broken"))
    only_broken = _break_sheet(xlsx_bytes({"Broken": XL_ROWS}), "xl/worksheets/sheet1.xml")
    with pytest.raises(InputFileError, match=r"No sheet of book.xlsx \(Broken\).*Sheet 'Broken' .*could not be read"):
        read_table(only_broken, "book.xlsx")


def test_xlsx_header_only_sheet_says_no_data_rows() -> None:
    with pytest.raises(InputFileError, match="no data rows"):
        read_table(xlsx_bytes({"Data": [HEADER]}), "book.xlsx")


def test_xlsx_empty_workbook_sheet_is_skipped() -> None:
    raw = read_table(xlsx_bytes({"Empty": [], "Data": XL_ROWS}), "book.xlsx")
    assert raw.sheet == "Data" and len(raw.frame) == 3


def test_xlsx_header_is_looked_for_in_the_first_30_rows() -> None:
    titles = [[f"note {i}"] for i in range(29)]
    assert read_table(xlsx_bytes({"Data": [*titles, *XL_ROWS]}), "book.xlsx").header_row == 29
    with pytest.raises(InputFileError, match="first 30 rows"):
        read_table(xlsx_bytes({"Data": [*titles, ["one more"], *XL_ROWS]}), "book.xlsx")


_ids = st.one_of(st.integers(1, 10**9), st.from_regex(r"C?0{0,3}[1-9][0-9]{0,6}", fullmatch=True))


@settings(max_examples=40, deadline=None)
@given(blank=st.integers(0, 4), titles=st.lists(st.sampled_from(["Sales export", "Generated 2011-12-10", "Shop A"]),
                                                max_size=5),
       lines=st.lists(st.tuples(_ids, _ids, st.integers(-50, 50), st.integers(1, 99_999)), min_size=1, max_size=8))
def test_xlsx_rows_below_the_header_are_the_data_wherever_the_header_is(
        blank: int, titles: list[str], lines: list[tuple[int | str, int | str, int, int]]) -> None:
    """Blank and title rows above the header in any mix; ids typed as numbers or as text; one parse."""
    above: list[list[object]] = [[] for _ in range(blank)] + [[t] for t in titles]
    body = [[inv, cust, dt.datetime(2011, 1, 1 + i % 28), qty, cents / 100, "UK"]
            for i, (inv, cust, qty, cents) in enumerate(lines)]
    raw = read_table(xlsx_bytes({"Data": [*above, HEADER, *body]}), "book.xlsx")
    assert raw.header_row == len(above)
    assert list(raw.frame.columns) == HEADER
    assert raw.frame["InvoiceNo"].tolist() == [str(r[0]) for r in lines]
    assert raw.frame["CustomerID"].tolist() == [str(r[1]) for r in lines]
    assert raw.frame["Quantity"].tolist() == [str(r[2]) for r in lines]
    assert [float(x) for x in raw.frame["UnitPrice"]] == [r[3] / 100 for r in lines]


# ------------------------------------------------------------- XLSX: the CLI's early parse (rfm_core.workbook)


@pytest.mark.parametrize(("argv", "want"), [
    (["segment", "book.xlsx"], ("book.xlsx", None)),
    (["segment", "--engine", "auto", "book.xlsx", "--sheet", "Y2"], ("book.xlsx", "Y2")),
    (["segment", "book.xlsx", "--sheet=Y1", "--out", "out.xlsx"], ("book.xlsx", "Y1")),  # an output, not an input
    (["clv", "--out", "out.xlsx", "book.XLSM"], ("book.XLSM", None)),
    (["backtest", "book.xlsx"], ("book.xlsx", None)),
    (["segment", "data.csv", "--out", "out.xlsx"], None),  # the only workbook is the value of --out
    (["segment", "--engine", "duckdb", "book.xlsx"], None),  # the file engines do not read workbooks
    (["segment", "--engine=spark", "book.xlsx"], None),
    (["segment", "missing.xlsx"], None),  # no such file: the reader says so itself
    (["segment", "book.xlsx", "book.XLSM"], None),  # two workbooks: unsure which is the input
    (["rules", "book.xlsx"], None),
    ([], None),
])
def test_the_early_parse_guesses_the_input_workbook_or_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], want: tuple[str, str | None] | None) -> None:
    from rfm_core.workbook import early_input

    monkeypatch.chdir(tmp_path)
    for name in ("book.xlsx", "book.XLSM", "out.xlsx", "data.csv"):
        (tmp_path / name).write_bytes(b"x")
    got = early_input(argv)
    assert (None if got is None else (str(got[0]), got[1])) == want


@pytest.mark.parametrize("sheet", [None, "Y2"])
def test_a_sheet_parsed_early_is_taken_and_not_parsed_again(
        tmp_path: Path, sheet_loads: list[object], sheet: str | None) -> None:
    from rfm_core.workbook import start_early

    book = {"Y1": XL_ROWS, "Y2": [*TITLE, *XL_ROWS]}
    path = tmp_path / "book.xlsx"
    path.write_bytes(xlsx_bytes(book))
    want = read_table(xlsx_bytes(book), "book.xlsx", ReadOptions(sheet=sheet))
    sheet_loads.clear()
    assert start_early(["segment", str(path), *(["--sheet", sheet] if sheet else [])])
    got = read_table(path, options=ReadOptions(sheet=sheet))
    assert sheet_loads == [sheet or "Y1"]  # one parse in all: the thread's
    pd.testing.assert_frame_equal(got.frame, want.frame)
    assert (got.sha256, got.header_row, got.notes) == (want.sha256, want.header_row, want.notes)


def test_an_early_parse_of_other_bytes_or_another_sheet_is_not_taken(tmp_path: Path,
                                                                     sheet_loads: list[object]) -> None:
    from rfm_core.workbook import start_early, take_early

    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    first.write_bytes(xlsx_bytes({"Data": XL_ROWS}))
    second.write_bytes(xlsx_bytes({"Data": XL_ROWS[:2]}))
    assert start_early(["segment", str(first)])
    got = read_table(second)  # the command line named a.xlsx; b.xlsx is read: parsed again, from its own bytes
    assert len(got.frame) == 1 and sheet_loads == ["Data", "Data"]
    assert start_early(["segment", str(first)])
    digest = hashlib.sha256(first.read_bytes()).hexdigest()
    assert take_early(digest, "Other") is None  # the wrong sheet
    assert take_early(digest, "Data") is None  # handed out (or dropped) once


def test_an_early_parse_of_a_damaged_workbook_leaves_the_error_to_the_reader(tmp_path: Path) -> None:
    from rfm_core.workbook import start_early, take_early

    path = tmp_path / "book.xlsx"
    path.write_bytes(xlsx_bytes({"Data": XL_ROWS})[:400])  # truncated
    assert start_early(["segment", str(path)])
    with pytest.raises(InputFileError, match="damaged or truncated"):
        read_table(path)
    take_early("", "")  # the reader stopped before asking for the sheet: drop the thread's (empty) parse
