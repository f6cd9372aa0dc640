"""Used lines per month (the Data page's chart): hand-counted fixtures, and DuckDB's date_trunc as a second method."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pandas as pd
import plotly.io as pio
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_core.charts import lines_per_month_chart
from rfm_core.columns import INVOICE_DATE
from rfm_core.views import lines_per_month


def _lines(*stamps: str) -> pd.DataFrame:
    return pd.DataFrame({INVOICE_DATE: pd.to_datetime(list(stamps), format="ISO8601")})


def test_hand_counted_months_with_a_gap_and_partial_ends() -> None:
    # Jan: 15th x2 and 31st (3 lines, starts on the 15th); Feb: none; Mar: 1st and 20th x3 (4, ends on the 20th).
    tx = _lines("2024-01-15 09:00", "2024-01-15 10:00", "2024-01-31 23:59", "2024-03-01", "2024-03-20",
                "2024-03-20", "2024-03-20 18:00")
    got = lines_per_month(tx)
    assert list(got["month"]) == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01"), pd.Timestamp("2024-03-01")]
    assert list(got["lines"]) == [3, 0, 4]
    assert list(got["partial"]) == [True, False, True]
    assert list(got["note"]) == ["partial month: data from the 15th", "", "partial month: data to the 20th"]


def test_whole_months_are_not_partial() -> None:
    # From the 1st (any hour) to the last day of February in a leap year.
    got = lines_per_month(_lines("2024-01-01 08:26", "2024-02-10", "2024-02-29 12:00"))
    assert list(got["lines"]) == [1, 2]
    assert not got["partial"].any()
    assert list(got["note"]) == ["", ""]


def test_one_month_covered_in_the_middle_says_both_ends() -> None:
    got = lines_per_month(_lines("2023-12-02", "2023-12-22", "2023-12-03"))
    assert list(got["lines"]) == [3]
    assert list(got["note"]) == ["partial month: data from the 2nd to the 22nd"]


def test_ordinals_in_the_notes() -> None:
    for day, word in [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"), (13, "13th"),
                      (21, "21st"), (22, "22nd"), (23, "23rd"), (30, "30th")]:
        got = lines_per_month(_lines("2024-06-01", f"2024-07-{day:02d}"))  # July has 31 days
        assert got["note"].iloc[-1] == f"partial month: data to the {word}", day


def test_no_lines_no_months() -> None:
    got = lines_per_month(_lines())
    assert got.empty
    assert list(got.columns) == ["month", "lines", "partial", "note"]


def test_chart_shows_the_table() -> None:
    tx = _lines("2024-01-15", "2024-01-16", "2024-03-31")
    fig = lines_per_month_chart(lines_per_month(tx))
    assert [int(v) for v in fig.data[0].y] == [2, 0, 1]  # the JSON may pack numbers (bdata): read the figure
    spec = json.loads(pio.to_json(fig, validate=False))
    bar = spec["data"][0]
    assert bar["x"] == ["Jan 2024", "Feb 2024", "Mar 2024"]
    assert bar["marker"]["pattern"]["shape"] == ["/", "", ""]  # January starts on the 15th; March is whole
    assert [a["text"] for a in spec["layout"]["annotations"]] == ["partial"]
    assert [a["x"] for a in spec["layout"]["annotations"]] == ["Jan 2024"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.datetimes(min_value=dt.datetime(1999, 11, 1), max_value=dt.datetime(2001, 3, 31)),
                min_size=1, max_size=80))
def test_counts_match_duckdb(stamps: list[dt.datetime]) -> None:
    tx = pd.DataFrame({INVOICE_DATE: pd.to_datetime(stamps)})
    got = lines_per_month(tx)
    ref = duckdb.sql("SELECT date_trunc('month', invoice_date) AS m, count(*) AS n FROM tx GROUP BY m").df()
    expected = dict(zip(pd.to_datetime(ref["m"]), ref["n"].astype(int), strict=True))
    assert got["lines"].sum() == len(stamps)
    # Every calendar month from the first line's to the last line's, in order, 0 where DuckDB has no group.
    first, last = min(expected), max(expected)
    assert list(got["month"]) == list(pd.date_range(first, last, freq="MS"))
    assert list(got["lines"]) == [expected.get(m, 0) for m in got["month"]]
    lo, hi = min(stamps), max(stamps)
    starts_late, ends_early = lo.day > 1, hi.day < (pd.Timestamp(hi) + pd.offsets.MonthEnd(0)).day
    if len(got) == 1:
        assert bool(got["partial"].iloc[0]) == (starts_late or ends_early)
    else:
        assert bool(got["partial"].iloc[0]) == starts_late
        assert bool(got["partial"].iloc[-1]) == ends_early
        assert not got["partial"].iloc[1:-1].any()
