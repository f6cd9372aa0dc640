"""The command line says how it read the file: --map with several pairs, the mapped: and warning: lines, --today,
and the reading block in every export's provenance."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from rfm_core.cli import _group_map_pairs, main
from tests.conftest import ROOT

ORDERS = ("order_id,email,created_at_date,revenue\n1,ann@shop.com,2024-01-02,10.00\n"
          "2,bob@shop.com,2024-01-03,5.50\n3,ann@shop.com,2024-01-05,7.25\n")


@pytest.fixture
def orders(tmp_path: Path) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS)
    return path


def test_plain_order_export_was_refused_and_now_reads(orders: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["segment", str(orders)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "mapped: customer_id<-email, invoice_id<-order_id, invoice_date<-created_at_date, amount<-revenue"
    assert err[-1].startswith("2 customers in 2 segments from 3 rows (3 used), as of 2024-01-06")


@pytest.mark.parametrize("args", [
    ["segment", "{input}", "--map", "customer_id=email", "amount=revenue", "invoice_date=created_at_date",
     "invoice_id=order_id"],
    ["segment", "--map", "customer_id=email", "amount=revenue", "invoice_date=created_at_date", "invoice_id=order_id",
     "{input}"],
    ["segment", "--map", "customer_id=email", "--map", "amount=revenue", "{input}", "--map",
     "invoice_date=created_at_date", "invoice_id=order_id"],
], ids=["input-first", "input-after-pairs", "repeated-and-grouped"])
def test_map_takes_several_pairs_in_any_order(args: list[str], orders: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "seg.csv"
    assert main([a.replace("{input}", str(orders)) for a in args] + ["--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "mapped:" not in err  # every role was given: nothing was guessed
    prov = json.loads((tmp_path / "seg.csv.provenance.json").read_text())
    assert prov["settings"]["mapping"] == {"amount": "revenue", "customer_id": "email",
                                           "invoice_date": "created_at_date", "invoice_id": "order_id"}
    assert {r: v["chosen_by"] for r, v in prov["reading"]["mapping"].items()} == dict.fromkeys(
        ("customer_id", "invoice_id", "invoice_date", "amount"), "user")


def test_map_pairs_stop_at_the_input_and_at_paths(tmp_path: Path) -> None:
    lake = tmp_path / "year=2024"
    lake.mkdir()
    assert _group_map_pairs(["segment", "--map", "customer_id=a", "b=c", "in.csv"]) == [
        "segment", "--map", "customer_id=a", "--map", "b=c", "in.csv"]
    assert _group_map_pairs(["segment", "--map", "customer_id=a", str(lake / "*.parquet")]) == [
        "segment", "--map", "customer_id=a", str(lake / "*.parquet")]
    assert _group_map_pairs(["segment", "--map", "customer_id=a", "--bins", "4"]) == [
        "segment", "--map", "customer_id=a", "--bins", "4"]


def test_a_partial_map_still_prints_the_mapping(orders: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["segment", "--map", "customer_id=email", str(orders)]) == 0
    assert "mapped: customer_id<-email, invoice_id<-order_id," in capsys.readouterr().err


def test_unproven_date_order_is_one_warning_line(tmp_path: Path) -> None:
    path = tmp_path / "dmy.csv"
    path.write_text("CustomerID,InvoiceNo,InvoiceDate,Amount\nA,1,01/02/2024,10\nB,2,03/04/2024,5\n")
    proc = subprocess.run([sys.executable, "-m", "rfm_core", "segment", str(path), "--bins", "2"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    warnings = [ln for ln in proc.stderr.splitlines() if ln.startswith("warning: Dates")]
    assert warnings == ["warning: Dates in 'InvoiceDate' fit both day-first and month-first (e.g. '01/02/2024' "
                        "(row 1), '03/04/2024' (row 2)); they were read month-first. If that is wrong, use --dayfirst "
                        "(app: Settings, Date order)."]
    forced = subprocess.run([sys.executable, "-m", "rfm_core", "segment", str(path), "--dayfirst", "--bins", "2"],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert "warning: Dates" not in forced.stderr


def test_every_export_carries_the_reading(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "eu.tsv"
    path.write_text("Kundennummer\tRechnungsnummer\tRechnungsdatum\tMenge\tEinzelpreis\n"
                    "K1\t1\t13.02.2024\t2\t12,50\nK2\t2\t01.03.2024\t1\t1.299,00\n")
    out, book = tmp_path / "seg.csv", tmp_path / "book.xlsx"
    assert main(["segment", str(path), "--out", str(out), "--xlsx", str(book)]) == 0
    reading = json.loads((tmp_path / "seg.csv.provenance.json").read_text())["reading"]
    assert reading["delimiter"] == "\t" and reading["encoding"] == "utf8"
    assert reading["numbers"]["unit_price"] == {"column": "Einzelpreis", "decimal_mark": ",", "decided_by": "column"}
    assert reading["dates"]["order"] == "day-first"
    assert reading["dates"]["day_first_evidence"] == ["'13.02.2024' (row 1)"]
    assert reading["mapping"]["customer_id"]["column"] == "Kundennummer"
    assert reading["mapping"]["customer_id"]["reason"].startswith("a known column name")
    about = {r[0].value: r[1].value for r in openpyxl.load_workbook(io.BytesIO(book.read_bytes()))["About"]
             .iter_rows(min_row=2)}
    assert about["How the file was read: numbers: unit price: decimal mark"] == ","
    assert about["How the file was read: dates: day first evidence"] == "'13.02.2024' (row 1)"
    assert about["How the file was read: column mapping: customer id: column"] == "Kundennummer"
    # by hand: K1 2 x 12.50 = 25.00, K2 1 x 1299.00
    assert pd.read_csv(out).set_index("customer_id")["monetary"].to_dict() == {"K1": 25.0, "K2": 1299.0}


def test_today_is_a_setting_of_both_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.csv"
    path.write_text("CustomerID,InvoiceNo,InvoiceDate,Amount\nA,1,2024-01-01,10\nB,2,2024-01-05,5\n")
    assert main(["segment", str(path), "--today", "2024-01-03", "--ledger", str(tmp_path / "l.csv")]) == 0
    ledger = pd.read_csv(tmp_path / "l.csv").set_index("reason")["rows"].to_dict()
    assert ledger == {"used": 1, "dated after today": 1}
    with pytest.raises(SystemExit) as refused:  # argparse refuses a date it cannot read, with exit code 2
        main(["segment", str(path), "--today", "yesterday"])
    assert refused.value.code == 2
    assert "'yesterday' is not a date; use YYYY-MM-DD" in capsys.readouterr().err


def test_every_guess_from_the_data_is_a_read_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Date order and decimal mark are guesses the terminal must show, not only the exports: '15.02.2024' can only
    be day-first and '1.234,56' only a decimal comma (worked by hand); a date order set by the user is no guess."""
    path = tmp_path / "kunden.csv"
    path.write_text("Kunde;Rechnung;Datum;Betrag\nA;1;03.01.2024;12,50\nB;2;15.02.2024;1.234,56\n"
                    "A;3;20.03.2024;7,00\n")
    assert main(["segment", str(path)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if line.startswith("read: ")] == [
        "read: Dates in 'Datum' read as day-first (DD/MM/YYYY).",
        "read: Date order day-first, proven by '15.02.2024' (row 2), '20.03.2024' (row 3).",
        "read: Numbers in 'Betrag' read with a decimal comma (shown by '12,50', '1.234,56').",
    ]
    assert err[-1].startswith("2 customers in 2 segments from 3 rows (3 used)")
    assert main(["segment", str(path), "--dayfirst"]) == 0
    read = [line for line in capsys.readouterr().err.splitlines() if line.startswith("read: ")]
    assert read == ["read: Numbers in 'Betrag' read with a decimal comma (shown by '12,50', '1.234,56')."]


def test_an_order_total_counted_once_is_a_read_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Case 06: 'Order Total' repeats on every line of orders 1001 (2 lines) and 1004 (3 lines), so 2 orders with
    several lines; reading it as an order total is a guess the terminal must show (the app's notes showed it)."""
    case = ROOT / "tests" / "cases" / "06-order-total-on-every-line" / "input.csv"
    assert main(["segment", str(case), "--out", str(tmp_path / "seg.csv")]) == 0
    read = [line for line in capsys.readouterr().err.splitlines() if line.startswith("read: ")]
    assert "read: 'Order Total' is the same on every line of each of the 2 orders with several lines, so it is an " \
           "order total: it counts once per order, divided equally among its lines." in read
    # A plain restatement of the mapping is no guess.
    assert not any(line.startswith("read: Line revenue") for line in read)
