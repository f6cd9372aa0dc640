"""Segment sizes month by month (checked by hand and against Overview-style analyses at month ends) and the
segment x country table."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfm_core import (
    DEFAULT_RULES,
    CleaningPolicy,
    RawTable,
    RfmError,
    RuleSet,
    ScoringSettings,
    SegmentRule,
    analyze,
    charts,
)
from rfm_core.breakdown import UNKNOWN_COUNTRY, segment_country_table
from rfm_core.settings import AnalysisSettings, MetricScoring
from rfm_core.timeline import segments_by_month
from tests.conftest import ONLINE_RETAIL, SAMPLE, SharedData

TWO = RuleSet((SegmentRule("Active", r=(2, 2), f=(1, 2), m=(1, 2)),
               SegmentRule("Lapsed", r=(1, 1), f=(1, 2), m=(1, 2))), scale=2)


def _tx(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": pd.Categorical([r[0] for r in rows]),
        "invoice_id": pd.Categorical([r[1] for r in rows]),
        "invoice_date": pd.to_datetime([r[2] for r in rows]),
        "amount": [r[3] for r in rows],
        "is_return": False,
    })


HAND = _tx([("A", "1", "2024-01-10 09:00", 10.0), ("B", "2", "2024-01-12 10:00", 5.0),
            ("C", "3", "2024-02-05 11:00", 7.0), ("A", "4", "2024-02-20 12:00", 20.0),
            ("A", "5", "2024-03-15 13:00", 30.0)])


def test_months_by_hand() -> None:
    # Two recency bins: the cut is the median recency; recency <= cut scores 2 (Active), above it 1 (Lapsed).
    # Jan (as of 1 Feb): A 22 days, B 20; median 21 -> B Active, A Lapsed. Revenue: B 5, A 10.
    # Feb (as of 1 Mar, 2024 is a leap year): A 10, B 49, C 25; median 25 -> A, C Active; B Lapsed. 30 + 7; 5.
    # Mar (as of 16 Mar, the day after the last purchase): A 1, B 64, C 40; median 40 -> A, C Active; B Lapsed.
    out = segments_by_month(HAND, ScoringSettings.uniform(2), TWO)
    wide = out.pivot(index="month", columns="segment", values="customers")
    assert wide.to_dict("index") == {"2024-01": {"Active": 1, "Lapsed": 1, "Other": 0},
                                     "2024-02": {"Active": 2, "Lapsed": 1, "Other": 0},
                                     "2024-03": {"Active": 2, "Lapsed": 1, "Other": 0}}
    revenue = out.pivot(index="month", columns="segment", values="revenue")
    assert revenue.to_dict("index") == {"2024-01": {"Active": 5.0, "Lapsed": 10.0, "Other": 0.0},
                                        "2024-02": {"Active": 37.0, "Lapsed": 5.0, "Other": 0.0},
                                        "2024-03": {"Active": 67.0, "Lapsed": 5.0, "Other": 0.0}}
    months = out.drop_duplicates("month").set_index("month")
    assert months["partial"].to_dict() == {"2024-01": True, "2024-02": False, "2024-03": True}
    assert months["as_of"].tolist() == [dt.date(2024, 2, 1), dt.date(2024, 3, 1), dt.date(2024, 3, 16)]
    assert months["covered_from"].tolist() == [dt.date(2024, 1, 10), dt.date(2024, 2, 1), dt.date(2024, 3, 1)]
    assert months["covered_to"].tolist() == [dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(2024, 3, 15)]
    assert out["customer_share"].tolist() == [0.5, 0.5, 0.0, 2 / 3, 1 / 3, 0.0, 2 / 3, 1 / 3, 0.0]
    assert list(out["segment"].cat.categories) == ["Active", "Lapsed", "Other"]


def test_every_segment_every_month_and_a_later_analysis_date() -> None:
    out = segments_by_month(HAND, ScoringSettings.uniform(2), TWO, as_of=dt.date(2024, 4, 1))
    assert out["month"].unique().tolist() == ["2024-01", "2024-02", "2024-03"]
    assert len(out) == 3 * len(TWO.names)  # the fallback "Other" is listed with 0 customers
    assert (out.loc[out["segment"] == "Other", "customers"] == 0).all()
    march = out[out["month"] == "2024-03"].iloc[0]
    assert not march["partial"] and march["as_of"] == dt.date(2024, 4, 1)  # the whole of March is observed
    with pytest.raises(RfmError, match="before the latest purchase"):
        segments_by_month(HAND, as_of=dt.date(2024, 3, 1))
    with pytest.raises(RfmError, match="No purchases"):
        segments_by_month(HAND.assign(is_return=True))


@pytest.mark.parametrize(("returns", "scoring"), [
    ("exclude", ScoringSettings()),
    ("net", ScoringSettings(recency=MetricScoring(3, "rank"), frequency=MetricScoring(4), monetary=MetricScoring(
        3, "thresholds", (100.0, 1000.0)))),
], ids=["default", "net-returns-mixed-scoring"])
def test_month_ends_equal_overview_analyses_at_those_dates(returns: str, scoring: ScoringSettings) -> None:
    """Independent: the whole pipeline with the date window ending on the month's last day and that analysis date."""
    policy = CleaningPolicy(returns=returns)  # type: ignore[arg-type]
    full = analyze(SAMPLE, AnalysisSettings(cleaning=policy, scoring=scoring), warn=False)
    out = segments_by_month(full.cleaned.transactions, scoring, DEFAULT_RULES)
    months = out["month"].unique().tolist()
    assert len(months) >= 12
    for month in (months[0], months[len(months) // 2], months[-2], months[-1]):
        row = out[out["month"] == month]
        as_of = row["as_of"].iloc[0]
        at = analyze(SAMPLE, AnalysisSettings(cleaning=CleaningPolicy(returns=returns,  # type: ignore[arg-type]
                                                                      end=as_of - dt.timedelta(days=1)),
                                              scoring=scoring, as_of=as_of), warn=False)
        expected = at.segmentation.summary.set_index("segment")
        got = row.set_index("segment")
        assert got["customers"].to_dict() == expected["customers"].to_dict(), month
        assert np.allclose(got["revenue"].to_numpy(), expected["revenue"].reindex(got.index).to_numpy()), month
    last = out[out["month"] == months[-1]].set_index("segment")["customers"]
    assert last.to_dict() == full.segmentation.summary.set_index("segment")["customers"].to_dict()


SEGMENTED = pd.DataFrame({
    "segment": pd.Categorical(["Champions", "Champions", "Lost", "Lost", "Lost", "At Risk"]),
    "country": ["United Kingdom", "France", "United Kingdom", None, "Spain", "United Kingdom"],
    "monetary": [100.0, 50.0, 5.0, 2.0, 1.0, 30.0],
})


def test_segment_by_country_by_hand() -> None:
    table = segment_country_table(SEGMENTED, DEFAULT_RULES)
    # Countries by customers: United Kingdom 3, then France, Spain, (unknown) with 1 each, by name.
    assert list(table.columns) == ["United Kingdom", "(unknown)", "France", "Spain", "Total"]
    assert list(table.index) == list(DEFAULT_RULES.names)
    assert table.loc["Champions"].tolist() == [1, 0, 1, 0, 2]
    assert table.loc["Lost"].tolist() == [1, 1, 0, 1, 3]
    assert table.loc["Loyal Customers"].tolist() == [0, 0, 0, 0, 0]
    assert int(table["Total"].sum()) == len(SEGMENTED)
    top2 = segment_country_table(SEGMENTED, DEFAULT_RULES, top=2)
    assert list(top2.columns) == ["United Kingdom", UNKNOWN_COUNTRY, "2 other countries", "Total"]
    assert top2.loc["Lost"].tolist() == [1, 1, 1, 3]
    revenue = segment_country_table(SEGMENTED, DEFAULT_RULES, value="revenue")
    assert revenue.loc["Champions", "United Kingdom"] == 100.0 and revenue.loc["Lost", "Total"] == 8.0
    with pytest.raises(RfmError, match="no country column"):
        segment_country_table(SEGMENTED.drop(columns=["country"]), DEFAULT_RULES)


# ---- every setting a user can reach: random small files, bins, methods and return policies ----------------------

LINE = st.tuples(
    st.sampled_from(["1", "2", "3", "4", "5", "C6", "7", "8", "9", "10", "11", "12"]),  # invoice
    st.sampled_from(["a", "b", "c", "d", "e", "f", "g"]),  # customer
    st.integers(0, 100),  # day after 2020-01-20: four calendar months, partial at both ends
    st.integers(-3, 8),  # quantity
    st.sampled_from(["1.5", "2", "10", "0"]),  # price
)


def _raw(lines: list[tuple[str, str, int, int, str]]) -> RawTable:
    frame = pd.DataFrame({
        "InvoiceNo": [x[0] for x in lines], "CustomerID": [x[1] for x in lines],
        "InvoiceDate": [(pd.Timestamp("2020-01-20 10:00") + pd.Timedelta(days=x[2])).strftime("%Y-%m-%d %H:%M")
                        for x in lines],
        "Quantity": [str(x[3]) for x in lines], "UnitPrice": [x[4] for x in lines],
    }, dtype="string")
    return RawTable(frame, "gen.csv", "csv", "0" * 64)


def _buys(lines: list[tuple[str, str, int, int, str]]) -> bool:
    return any(not inv.startswith("C") and q > 0 and p != "0" for inv, _, _, q, p in lines)


def _survives(raw: RawTable, settings: AnalysisSettings) -> bool:
    """Whether any line is used: read from the ledger of the cleaning stage alone (no analysis date needed)."""
    from rfm_core.clean import clean
    from rfm_core.mapping import apply_mapping

    return bool(len(clean(apply_mapping(raw, {}), settings.cleaning).transactions))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LINE, min_size=1, max_size=40).filter(_buys),
       st.builds(ScoringSettings.uniform, st.integers(2, 6), st.sampled_from(["quantile", "rank"])),
       st.sampled_from(["exclude", "net"]))
def test_every_month_equals_an_overview_at_that_date(lines, scoring, returns) -> None:  # type: ignore[no-untyped-def]
    # An invoice has one date, as in every real export: an invoice whose lines straddle a month end is the one case
    # where the months (cancellation matching over the whole file) and an Overview cut at that date (matching over
    # the lines up to it) differ, by design (DOCUMENTATION.md §21).
    day_of = {}
    for inv, _, day, _, _ in lines:
        day_of.setdefault(inv, day)
    raw = _raw([(inv, cust, day_of[inv], q, p) for inv, cust, _, q, p in lines])
    settings = AnalysisSettings(cleaning=CleaningPolicy(returns=returns), scoring=scoring)
    if not _survives(raw, settings):  # every purchase cancelled in full (a sale and its return on one invoice)
        with pytest.raises(RfmError, match="No rows are left after cleaning"):
            analyze(raw, settings, warn=False)
        return
    full = analyze(raw, settings, warn=False)
    out = segments_by_month(full.cleaned.transactions, scoring, DEFAULT_RULES)
    for month, rows in out.groupby("month", sort=True):
        as_of = rows["as_of"].iloc[0]
        at = analyze(raw, AnalysisSettings(cleaning=CleaningPolicy(returns=returns, end=as_of - dt.timedelta(days=1)),
                                           scoring=scoring, as_of=as_of), warn=False)
        expected = at.segmentation.summary.set_index("segment")
        got = rows.set_index("segment")
        assert got["customers"].to_dict() == expected["customers"].to_dict(), month
        assert np.allclose(got["revenue"].to_numpy(), expected["revenue"].reindex(got.index).to_numpy()), month
    # The last month is observed to its end exactly when the analysis date is the first of the next month; a month
    # is partial when the observed days do not cover it from its first to its last day.
    last = out.drop_duplicates("month").iloc[-1]
    start = pd.Timestamp(f"{last['month']}-01")
    end = (start + pd.offsets.MonthEnd(0)).date()
    assert (last["covered_to"] == end) == (full.as_of.day == 1)
    assert last["partial"] == (last["covered_from"] > start.date() or last["covered_to"] < end)


def test_chart_marks_partial_months_and_stacks_every_segment() -> None:
    out = segments_by_month(HAND, ScoringSettings.uniform(2), TWO)
    colors = charts.segment_colors(TWO.names)
    fig = charts.segments_over_time(out, colors)
    assert [t.name for t in fig.data] == ["Active", "Lapsed"]  # "Other" is empty: not drawn
    assert list(fig.data[0].x) == ["Jan 2024 (partial: 10–31 Jan)", "Feb 2024", "Mar 2024 (partial: 1–15 Mar)"]
    assert list(fig.data[0].y) == [1, 2, 2] and list(fig.data[1].y) == [1, 1, 1]
    assert [a.text for a in fig.layout.annotations] == ["partial month", "partial month"]
    share = charts.segments_over_time(out, colors, share=True)
    totals = np.sum([np.array(t.y, dtype=float) for t in share.data], axis=0)
    assert np.allclose(totals, 1.0)
    assert fig.data[0].line.color == colors["Active"]


@pytest.mark.realdata
@pytest.mark.slow
def test_online_retail_months(shared_data: SharedData) -> None:
    full = analyze(shared_data.require(ONLINE_RETAIL), warn=False)
    out = segments_by_month(full.cleaned.transactions)
    months = out.drop_duplicates("month")
    # DATA.md: 2010-12-01 08:26 to 2011-12-09 12:50. December 2010 starts on its first day (whole); December 2011
    # ends on the 9th (partial), scored at the analysis date 10 Dec 2011.
    assert months["month"].tolist() == ["2010-12", *(f"2011-{m:02d}" for m in range(1, 13))]
    assert months["partial"].tolist() == [False] * 12 + [True]
    assert months["as_of"].iloc[-1] == dt.date(2011, 12, 10) == full.as_of
    last = out[out["month"] == "2011-12"].set_index("segment")["customers"]
    assert last.to_dict() == full.segmentation.summary.set_index("segment")["customers"].to_dict()
    # 4,327: the customer count of the independent reference SQL (tests/engine/test_real_data.py, DOCUMENTATION §4a)
    assert int(last.sum()) == 4327
