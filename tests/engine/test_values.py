"""Values read for what they are: number formats per column, encodings per line, e-mail ids, date order, time zones."""

from __future__ import annotations

import codecs
import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rfm_core import CleaningPolicy, analyze, read_table
from rfm_core.clean import future_rule
from rfm_core.engines.duckdb_engine import duckdb_customers_from_files
from rfm_core.mapping import apply_mapping, read_dates, read_numbers
from rfm_core.settings import AnalysisSettings

CLEAN_MODULE = sys.modules["rfm_core.clean"]


# ------------------------------------------------------------------------------------------------ numbers

@pytest.mark.parametrize(("raw", "fallback", "expected", "mark", "decided_by"), [
    (["12,50", "3,99", "1.299,00", "0,75"], ".", [12.5, 3.99, 1299.0, 0.75], ",", "column"),
    (["1,299.00", "2.55", "(5.00)", "5.00-"], ",", [1299.0, 2.55, -5.0, -5.0], ".", "column"),
    (["€ 1.299,00", "1.299,00 EUR", "R$ 12,50", "-£3,10", "£-3,10"], ".", [1299.0, 1299.0, 12.5, -3.1, -3.1], ",",
     "column"),
    (["1'299.50", "1 299,50", "1\u00a0299,50"], ".", [1299.5, 1299.5, 1299.5], ",", "column"),
    (["1.234.567", "12,5"], ".", [1234567.0, 12.5], ",", "column"),
    (["1,234,567", "12.5"], ",", [1234567.0, 12.5], ".", "column"),
    (["1,299", "2,500"], ".", [1299.0, 2500.0], ".", "fallback"),  # nothing proves it: the caller's fallback
    (["1,299", "2,500"], ",", [1.299, 2.5], ",", "fallback"),
    (["1.299", "12"], ",", [1299.0, 12.0], ",", "fallback"),
    (["1.299", "12"], ".", [1.299, 12.0], ".", "fallback"),
    (["12", "7", "-3"], ".", [12.0, 7.0, -3.0], ".", ""),
    (["abc", "1,2,3", "12,34.5", "1.2.3"], ".", [np.nan] * 4, ".", ""),
], ids=["decimal-comma", "decimal-point", "currencies-and-signs", "spaces-and-apostrophes", "dot-groups",
        "comma-groups", "ambiguous-point", "ambiguous-comma", "ambiguous-dot-comma", "ambiguous-dot-point",
        "integers", "not-numbers"])
def test_read_numbers(raw: list[str], fallback: str, expected: list[float], mark: str, decided_by: str) -> None:
    reading = read_numbers(pd.Series(raw, dtype="string"), fallback)
    np.testing.assert_allclose(reading.values.to_numpy(), np.array(expected, dtype=float), equal_nan=True)
    assert (reading.decimal, reading.decided_by) == (mark, decided_by)


def test_each_value_that_shows_its_mark_is_read_by_it_and_the_mix_is_reported() -> None:
    data = b"Customer,Date,Amount\nA,2024-01-01,\"12,50\"\nA,2024-01-02,13.75\nB,2024-01-03,\"1,299\"\n"
    result = analyze(data, warn=False)
    # 12,50 (comma) and 13.75 (point) prove both; 1,299 fits both and follows the point (one each, tie -> point)
    assert result.customers.set_index("customer_id")["monetary"].to_dict() == {"A": 26.25, "B": 1299.0}
    assert any("use both marks" in w for w in result.mapped.warnings)


@pytest.mark.parametrize(("text", "expected_amounts", "why"), [
    ("Customer,Date,Amount\nA,2024-01-01,\"1,299\"\nB,2024-01-02,\"2,500\"\n", {"A": 1299.0, "B": 2500.0},
     "the default"),
    ("Customer;Date;Amount\nA;2024-01-01;1.299\nB;2024-01-02;2.500\n", {"A": 1299.0, "B": 2500.0},
     "the European convention"),
    ("Customer\tDate\tQty\tPrice\nA\t2024-01-01\t1.000\t2,50\nB\t2024-01-02\t2\t1,25\n", {"A": 2500.0, "B": 2.5},
     "as the file's other number columns show"),
], ids=["comma-file", "semicolon-file", "other-column"])
def test_an_ambiguous_column_is_reported_with_its_fallback(text: str, expected_amounts: dict[str, float],
                                                          why: str) -> None:
    result = analyze(text.encode(), warn=False)
    assert result.customers.set_index("customer_id")["monetary"].to_dict() == expected_amounts
    assert len(result.mapped.warnings) == 1 and why in result.mapped.warnings[0]
    assert "fit both a thousands separator and a decimal mark" in result.mapped.warnings[0]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 10**9), min_size=1, max_size=30), st.sampled_from([".", ","]),
       st.sampled_from(["", "sep", " ", "'"]), st.sampled_from(["", "€", "$ ", " EUR", "£"]),
       st.sampled_from([",", ";", "\t"]))
def test_any_two_decimal_format_reads_back_exactly(cents: list[int], mark: str, group: str, currency: str,
                                                   delimiter: str) -> None:
    """Amounts with two decimals in any convention, in any delimiter, read back to the cent."""
    thousands = ("," if mark == "." else ".") if group == "sep" else group

    def fmt(c: int) -> str:
        whole = f"{c // 100:,}".replace(",", thousands)
        number = f"{whole}{mark}{c % 100:02d}"
        return f"{currency}{number}" if not currency.startswith(" ") else f"{number}{currency}"

    rows = "\n".join(f'C{i % 3}{delimiter}2024-01-0{1 + i % 9}{delimiter}"{fmt(c)}"' for i, c in enumerate(cents))
    mapped = apply_mapping(read_table(f"Customer{delimiter}Date{delimiter}Amount\n{rows}\n".encode(), "x.csv"))
    got = mapped.frame["amount"].to_numpy()
    np.testing.assert_allclose(got, np.array(cents) / 100, rtol=0, atol=1e-6)


# ---------------------------------------------------------------------------------------------- encodings

def test_pure_cp1252_file_counts_its_lines() -> None:
    text = "Customer,Date,Amount,Note\nA,2024-01-01,5,Müller\nB,2024-01-02,6,plain\nC,2024-01-03,7,£ off\n"
    raw = read_table(text.encode("cp1252"), "x.csv")
    assert raw.encoding == "cp1252" and raw.fallback_lines == 2
    assert raw.frame["Note"].tolist() == ["Müller", "plain", "£ off"]


def test_utf8_bom_with_one_cp1252_line() -> None:
    data = codecs.BOM_UTF8 + "Customer,Date,Amount\nJürgen,2024-01-01,5\n".encode() + "Jürgen,2024-01-02,6\n".encode(
        "cp1252")
    raw = read_table(data, "x.csv")
    assert list(raw.frame.columns) == ["Customer", "Date", "Amount"]
    assert raw.frame["Customer"].tolist() == ["Jürgen", "Jürgen"] and raw.fallback_lines == 1


def test_bytes_cp1252_leaves_undefined_fall_back_to_latin1() -> None:
    raw = read_table(b"Customer,Date,Amount\nA\x81,2024-01-01,5\nB,2024-01-02,6\n", "x.csv")
    assert raw.frame["Customer"].tolist() == ["A\x81", "B"] and raw.fallback_lines == 1


def test_large_mixed_file_on_disk(tmp_path: Path) -> None:
    """Over 64 KB: the path that streams the file for its hash and UTF-8 check."""
    body = "".join(f"jürgen@example.de,{i},2024-01-02,1.00\n" for i in range(3000))
    path = tmp_path / "big.csv"
    path.write_bytes(b"Email,Order ID,Created at,Total\n" + body.encode() + "jürgen@example.de,x,2024-01-03,2.00\n"
                     .encode("cp1252"))
    result = analyze(path, warn=False)
    assert result.raw.fallback_lines == 1 and result.customers["customer_id"].tolist() == ["jürgen@example.de"]
    assert result.customers["frequency"].item() == 3001


line_text = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n,\"\x00"), max_size=12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(line_text, st.booleans()), min_size=1, max_size=20))
def test_each_line_decodes_to_what_was_written(lines: list[tuple[str, bool]]) -> None:
    """A file whose lines are UTF-8 or cp1252 reads exactly like the same text written all in UTF-8 (the fast
    path, decoded by Arrow): valid UTF-8 never becomes mojibake, and cp1252 lines keep their characters."""
    mixed, utf8 = [], []
    for text, as_cp1252 in lines:
        b = text.encode("utf-8")
        if as_cp1252:
            try:
                b = text.encode("cp1252")
            except UnicodeEncodeError:
                pass  # not writable in cp1252: this line stays UTF-8
            else:
                assume(b.isascii() or not _valid_utf8(b))  # cp1252 bytes that happen to be valid UTF-8: ambiguous
        mixed.append(b"A," + b + b",2024-01-01,1")
        utf8.append(b"A," + text.encode("utf-8") + b",2024-01-01,1")
    header = b"Customer,Note,Date,Amount\n"
    got = read_table(header + b"\n".join(mixed) + b"\n", "x.csv")
    reference = read_table(header + b"\n".join(utf8) + b"\n", "x.csv")
    assert reference.fallback_lines == 0
    pd.testing.assert_series_equal(got.frame["Note"].astype(object), reference.frame["Note"].astype(object))


def _valid_utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


# ------------------------------------------------------------------------------------------------------ ids

def test_other_ids_differing_only_in_case_or_spaces_are_reported_not_merged() -> None:
    data = b"Customer,Date,Amount\nAB 12,2024-01-01,5\nab12,2024-01-02,6\nCD,2024-01-03,7\n"
    result = analyze(data, warn=False)
    assert sorted(result.customers["customer_id"]) == ["AB 12", "CD", "ab12"]
    assert len(result.mapped.warnings) == 1
    assert "2 customer ids in 'Customer' differ from another only in letter case or spaces" in (
        result.mapped.warnings[0])


# ---------------------------------------------------------------------------------------------------- dates

def test_date_order_evidence_names_rows() -> None:
    data = b"Customer,Date,Amount\nA,02/03/2024,1\nB,13/03/2024,2\nC,04/05/2024,3\n"
    result = analyze(data, warn=False)
    assert result.mapped.reading["dates"]["order"] == "day-first"
    assert result.mapped.reading["dates"]["day_first_evidence"] == ["'13/03/2024' (row 2)"]
    assert "Date order day-first, proven by '13/03/2024' (row 2)." in result.mapped.notes
    assert not result.mapped.warnings
    assert result.customers.set_index("customer_id")["last_purchase"]["A"] == pd.Timestamp("2024-03-02")


def test_unproven_date_order_is_a_warning() -> None:
    result = analyze(b"Customer,Date,Amount\nA,02/03/2024,1\nB,04/05/2024,2\n", warn=False)
    assert result.mapped.reading["dates"]["decided_by"] == "assumed"
    assert result.mapped.warnings == (
        "Dates in 'Date' fit both day-first and month-first (e.g. '02/03/2024' (row 1), '04/05/2024' (row 2)); they "
        "were read month-first. If that is wrong, use --dayfirst (app: Settings, Date order).",)
    forced = analyze(b"Customer,Date,Amount\nA,02/03/2024,1\nB,04/05/2024,2\n",
                     AnalysisSettings(cleaning=CleaningPolicy(dayfirst=True)), warn=False)
    assert not forced.mapped.warnings
    assert forced.customers.set_index("customer_id")["last_purchase"]["A"] == pd.Timestamp("2024-03-02")


def test_a_file_proving_both_orders_reads_each_proven_date_its_only_way() -> None:
    data = b"Customer,Date,Amount\nA,13/02/2024,1\nB,25/12/2023,2\nC,05/14/2024,3\nD,01/02/2024,4\n"
    result = analyze(data, warn=False)
    last = result.customers.set_index("customer_id")["last_purchase"]
    # two values prove day-first, one month-first: 01/02/2024 (fits both) follows the majority, day-first
    assert last.to_dict() == {"A": pd.Timestamp("2024-02-13"), "B": pd.Timestamp("2023-12-25"),
                              "C": pd.Timestamp("2024-05-14"), "D": pd.Timestamp("2024-02-01")}
    assert len(result.mapped.warnings) == 1
    assert ("day-first by '13/02/2024' (row 1), '25/12/2023' (row 2), month-first by '05/14/2024' (row 3)"
            in result.mapped.warnings[0])


def test_offsets_are_read_per_row() -> None:
    reading = read_dates(pd.Series(["2024-07-01T00:30:00+02:00", "2024-06-30T22:30:00Z", "2024-06-30 23:59 -0400",
                                    "2024-06-29T12:00:00.000+05:30", "2024-06-30 10:00:00 utc", "2024-06-30",
                                    "2024-06-30 10:00 +05", "2024-06-30 10:00 CET"], dtype="string"))
    assert reading.offsets is not None
    np.testing.assert_array_equal(reading.offsets.to_numpy(), [120, 0, -240, 330, 0, np.nan, 300, np.nan])
    assert reading.values.dt.strftime("%d %H:%M").tolist() == ["01 00:30", "30 22:30", "30 23:59", "29 12:00",
                                                               "30 10:00", "30 00:00", "30 10:00", "30 10:00"]


# ----------------------------------------------------------------------------------------- dated after today

offsets = st.sampled_from([-720, -600, -300, -240, 0, 60, 330, 345, 540, 600, 780, 840, None])


def _stamp(local: dt.datetime, offset: int | None) -> str:
    if offset is None:
        return local.strftime("%Y-%m-%d %H:%M")
    sign = "+" if offset >= 0 else "-"
    return local.strftime("%Y-%m-%dT%H:%M") + f"{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"


def _expected_future(local: dt.datetime, offset: int | None, now: dt.datetime) -> bool:
    """Independently, with aware datetimes: is the row's date later than today's date where it was written?"""
    zone = dt.timezone(dt.timedelta(minutes=offset if offset is not None else 14 * 60))
    return local.date() > now.astimezone(zone).date()


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(-60, 60), offsets), min_size=1, max_size=12),
       half_hours=st.integers(0, 47))
def test_future_rule_pandas_and_duckdb_agree_with_aware_datetimes(
        rows: list[tuple[int, int | None]], half_hours: int, tmp_path_factory: pytest.TempPathFactory) -> None:
    now = dt.datetime(2026, 11, 30, tzinfo=dt.UTC) + dt.timedelta(minutes=30 * half_hours)
    base = dt.datetime(2026, 11, 30, 12, 0)
    lines = [(base + dt.timedelta(hours=h), off) for h, off in rows]
    text = "Customer,Invoice,Date,Amount\n" + "".join(
        f"C{i},{i},{_stamp(local, off)},1\n" for i, (local, off) in enumerate(lines))
    expected = sum(_expected_future(local, off, now) for local, off in lines)
    old = CLEAN_MODULE._utc_now
    CLEAN_MODULE._utc_now = lambda: now
    try:
        rule = future_rule(CleaningPolicy())
        mapped_dates = read_dates(pd.Series([_stamp(x, o) for x, o in lines], dtype="string"))
        assert int(rule.mask(mapped_dates.values, mapped_dates.offsets).sum()) == expected
        path = tmp_path_factory.mktemp("future") / "f.csv"
        path.write_text(text)
        if expected == len(lines):
            return  # nothing left to aggregate; the mask above is the check
        ledger = analyze(path, warn=False).cleaned.ledger.set_index("reason")["rows"]
        sql = duckdb_customers_from_files(str(path)).ledger.set_index("reason")["rows"]
        assert int(ledger.get("dated after today", 0)) == expected == int(sql.get("dated after today", 0))
    finally:
        CLEAN_MODULE._utc_now = old


def test_without_an_offset_a_row_may_be_up_to_14_hours_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    # 2026-11-30 09:59 UTC is 23:59 in UTC+14; 10:00 UTC is already 1 December there.
    for clock, future_rows in ((dt.datetime(2026, 11, 30, 9, 59, tzinfo=dt.UTC), 1),
                               (dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC), 0)):
        monkeypatch.setattr(CLEAN_MODULE, "_utc_now", lambda clock=clock: clock)
        result = analyze(b"Customer,Date,Amount\nA,2026-11-29 10:00,1\nB,2026-12-01 00:30,1\n", warn=False)
        assert int(result.cleaned.ledger.set_index("reason")["rows"].get("dated after today", 0)) == future_rows
