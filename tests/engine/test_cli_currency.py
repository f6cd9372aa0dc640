"""``--currency`` reaches the workbook and the report (issue 14 leftovers, item 8), checked on the files' bytes:
openpyxl reads the workbook's number formats, the report is read as text.

The hand fixture (tests/conftest.py HAND_CSV) has revenue A 2x5.00 + 1x3.00 + 1x20.00 = 33.00 (the cancellation
C1003 left out), B 4x2.50 = 10.00 (the duplicate line dropped), C 1x7.00 = 7.00 (a zero price, a bad date and a
bad quantity dropped): 50.00 in all, so the report's headline revenue is 50 with the symbol and no decimals."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest

from rfm_core.cli import main
from tests.conftest import HAND_CSV


def _money_formats(path: Path) -> set[str]:
    book = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))
    sheet = book["Summary"]
    header = [c.value for c in sheet[1]]
    col = header.index("revenue") + 1
    return {sheet.cell(row, col).number_format for row in range(2, sheet.max_row + 1)}


def _run(tmp_path: Path, csv: str, *extra: str) -> tuple[set[str], str]:
    src = tmp_path / "shop.csv"
    src.write_text(csv, encoding="utf-8")
    xlsx, report = tmp_path / "out.xlsx", tmp_path / "out.html"
    assert main(["segment", str(src), "--xlsx", str(xlsx), "--report", str(report), *extra]) == 0
    return _money_formats(xlsx), report.read_text(encoding="utf-8")


def test_currency_code_reaches_workbook_formats_and_report_text(tmp_path: Path) -> None:
    formats, html = _run(tmp_path, HAND_CSV, "--currency", "GBP")
    assert formats == {'"£"#,##0.00'}
    assert "£50" in html and "Amounts in GBP (£)." in html
    assert "£33.00" in html or "£10.00" in html or "£7.00" in html  # a segment's revenue, two decimals


def test_symbol_after_the_number(tmp_path: Path) -> None:
    formats, html = _run(tmp_path, HAND_CSV, "--currency", "eur", "--currency-after")
    assert formats == {'#,##0.00" €"'}
    assert "50 €" in html and "Amounts in EUR (€)." in html


def test_without_the_option_the_files_currency_column_is_used(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    lines = HAND_CSV.strip().splitlines()
    csv = "\n".join([lines[0] + ",Currency", *(line + ",USD" for line in lines[1:])]) + "\n"
    formats, html = _run(tmp_path, csv)
    assert formats == {'"$"#,##0.00'} and "$50" in html
    assert "money: USD" in capsys.readouterr().err


def test_no_currency_anywhere_means_plain_numbers(tmp_path: Path) -> None:
    formats, html = _run(tmp_path, HAND_CSV)
    assert formats == {"#,##0.00"}
    assert "Amounts in the file&#39;s currency (no currency set)." in html and "£" not in html


def test_a_bad_code_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "shop.csv"
    src.write_text(HAND_CSV, encoding="utf-8")
    assert main(["segment", str(src), "--currency", "pounds"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "three-letter ISO 4217" in err[0]
