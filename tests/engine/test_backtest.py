"""Segment backtest: a hand-computed fixture, the generated sample against a second path, the CLI, real data."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rfm_core import (
    AnalysisSettings,
    CleaningPolicy,
    MetricScoring,
    RfmError,
    RuleSet,
    ScoringSettings,
    SegmentRule,
    analyze,
)
from rfm_core.backtest import backtest
from tests.conftest import ONLINE_RETAIL, ROOT, SAMPLE, SharedData

# Backtest date 2024-03-01, 30-day window [Mar 1, Mar 31). Scores: R 2 when the last purchase is at most 30 days
# before Mar 1, else 1; F 2 from two orders; M always 1. Rules: Loyal (R 2, F 2), Active (R 2), Lapsed (R 1).
#   A: orders on Jan 10 and Feb 20 (recency 10, F 2) -> Loyal; in the window two orders on Mar 5 (30 + 5).
#   B: one order on Feb 15 (recency 15, F 1) -> Active; a return (C12) on Mar 10 is not a purchase; an order on
#      Apr 10 is after the window.
#   C: one order on Jan 5 (recency 56) -> Lapsed; buys 12.00 on Mar 30 (inside).
#   D: orders on Jan 2 and Jan 3 (recency 58, F 2) -> Lapsed; buys on Mar 31 (the first day after the window).
#   E: first order on Mar 10: new in the window, in no segment.
# Expected: Loyal 1 customer, 1 bought (100%), 2 orders, 35.00; Active 1, 0, 0, 0.00; Lapsed 2, 1 (50%), 1 order,
# 12.00 (6.00 each); all 4 customers, 2 bought (50%), 3 orders (0.75 each), 47.00 (11.75 each). Lifts: Loyal 2.0
# and 35/11.75; Active 0 and 0; Lapsed 1.0 and 6/11.75.
FIXTURE = """InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice
1,A,2024-01-10 10:00,1,10.00
2,A,2024-02-20 10:00,1,20.00
3,A,2024-03-05 10:00,1,30.00
4,A,2024-03-05 16:00,1,5.00
5,B,2024-02-15 09:00,1,50.00
C12,B,2024-03-10 09:00,-1,50.00
14,B,2024-04-10 09:00,1,100.00
6,C,2024-01-05 12:00,1,8.00
7,C,2024-03-30 12:00,1,12.00
8,D,2024-01-02 12:00,1,5.00
9,D,2024-01-03 12:00,1,5.00
10,D,2024-03-31 12:00,1,7.00
13,E,2024-03-10 12:00,1,40.00
"""
SCORING = ScoringSettings(MetricScoring(2, "thresholds", (30,)), MetricScoring(2, "thresholds", (1,)),
                          MetricScoring(2, "thresholds", (1e9,)))
RULES = RuleSet((SegmentRule("Loyal", (2, 2), (2, 2), (1, 2)), SegmentRule("Active", (2, 2), (1, 2), (1, 2)),
                 SegmentRule("Lapsed", (1, 1), (1, 2), (1, 2))), fallback="Other", scale=2)


@pytest.fixture(scope="module")
def fixture_tx() -> pd.DataFrame:
    return analyze(FIXTURE.encode(), name="fixture.csv", warn=False).cleaned.transactions


def test_hand_computed_fixture(fixture_tx: pd.DataFrame) -> None:
    bt = backtest(fixture_tx, dt.date(2024, 3, 1), 30, SCORING, RULES)
    t = bt.table.set_index("segment")
    assert list(t.index) == ["Loyal", "Active", "Lapsed", "All customers"]
    assert t["customers"].tolist() == [1, 1, 2, 4]
    assert t["bought_again"].tolist() == [1, 0, 1, 2]
    assert t["repeat_rate"].tolist() == pytest.approx([1.0, 0.0, 0.5, 0.5])
    assert t["orders_per_customer"].tolist() == pytest.approx([2.0, 0.0, 0.5, 0.75])
    assert t["revenue"].tolist() == pytest.approx([35.0, 0.0, 12.0, 47.0])
    assert t["revenue_per_customer"].tolist() == pytest.approx([35.0, 0.0, 6.0, 11.75])
    assert t["repeat_lift"].tolist() == pytest.approx([2.0, 0.0, 1.0, 1.0])
    assert t["revenue_lift"].tolist() == pytest.approx([35 / 11.75, 0.0, 6 / 11.75, 1.0])
    assert bt.new_customers == 1 and bt.observed_days == 30 and bt.note is None
    assert bt.window_end == dt.date(2024, 3, 31)
    per = bt.customers.set_index("customer_id")
    assert per["segment"].astype(str).to_dict() == {"A": "Loyal", "B": "Active", "C": "Lapsed", "D": "Lapsed"}
    assert per["window_orders"].to_dict() == {"A": 2, "B": 0, "C": 1, "D": 0}


def test_window_past_the_end_of_the_data_and_bad_dates(fixture_tx: pd.DataFrame) -> None:
    """From Apr 1 the data last until Apr 10: 10 of 30 days are observed, and the result says so."""
    bt = backtest(fixture_tx, dt.date(2024, 4, 1), 30, SCORING, RULES)
    assert bt.observed_days == 10 and bt.note is not None and "10 days into the 30-day window" in bt.note
    with pytest.raises(RfmError, match="no purchases before"):
        backtest(fixture_tx, dt.date(2024, 1, 1), 30, SCORING, RULES)
    with pytest.raises(RfmError, match="before the backtest date"):
        backtest(fixture_tx, dt.date(2024, 5, 1), 30, SCORING, RULES)
    with pytest.raises(RfmError, match="1 to 3650"):
        backtest(fixture_tx, dt.date(2024, 3, 1), 0, SCORING, RULES)


@pytest.mark.parametrize("at", [dt.date(2011, 6, 1), dt.date(2011, 9, 1)])
def test_generated_sample_against_a_second_path(at: dt.date) -> None:
    """Segments as of D equal a full analysis of the same file cut at D - 1 by the cleaning date window (another
    path through the stages); the window's buyers and revenue recounted with plain pandas."""
    tx = analyze(SAMPLE, warn=False).cleaned.transactions
    bt = backtest(tx, at, 90)
    cut = analyze(SAMPLE, AnalysisSettings(cleaning=CleaningPolicy(end=at - dt.timedelta(days=1)), as_of=at),
                  warn=False)
    expected = cut.segmentation.customers.set_index("customer_id")["segment"].astype(str)
    got = bt.customers.set_index("customer_id")["segment"].astype(str)
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_names=False)

    # The window recounted with plain pandas from the cleaned rows (which rows are purchases is the clean stage's
    # business, tested there; this checks the backtest's counting).
    when = tx["invoice_date"]
    inside = tx[(when >= pd.Timestamp(at)) & (when < pd.Timestamp(at) + pd.Timedelta(days=90))
                & tx["customer_id"].astype(str).isin(set(got.index))]
    buyers = inside.loc[~inside["is_return"], "customer_id"].astype(str).nunique()
    total = bt.table.iloc[-1]
    assert total["customers"] == len(got)
    assert total["bought_again"] == buyers
    assert total["revenue"] == pytest.approx(float(inside["amount"].sum()))
    assert bt.table.iloc[:-1]["customers"].sum() == len(got)


def test_backtest_takes_a_purchase_model() -> None:
    """With a model, actual purchase days per segment are recounted by hand, and the predictions sum the model's
    expectation for the window over the segment's customers."""
    tx = analyze(SAMPLE, warn=False).cleaned.transactions
    at = dt.date(2011, 9, 1)
    bt = backtest(tx, at, 60, model="mbgnbd")
    per = bt.customers
    days = tx.assign(day=tx["invoice_date"].dt.normalize(), cid=tx["customer_id"].astype(str))
    days = days[(days["day"] >= pd.Timestamp(at)) & (days["day"] < pd.Timestamp(at) + pd.Timedelta(days=60))]
    counts = days.groupby("cid")["day"].nunique()
    assert (per.set_index("customer_id")["window_purchase_days"] == counts.reindex(per["customer_id"]).fillna(0)
            .astype(int).to_numpy()).all()
    t = bt.table.set_index("segment")
    assert t.loc["All customers", "predicted_purchase_days_per_customer"] == pytest.approx(
        per["predicted_purchase_days"].mean())
    assert (per["predicted_purchase_days"] >= 0).all() and np.isfinite(per["predicted_purchase_days"]).all()


def test_cli_backtest(tmp_path: Path) -> None:
    src = tmp_path / "fixture.csv"
    src.write_text(FIXTURE)
    out = tmp_path / "bt.csv"
    proc = subprocess.run([sys.executable, "-m", "rfm_core", "backtest", str(SAMPLE), "--at", "2011-09-01",
                           "--window", "90", "--out", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(out)
    assert table["segment"].iloc[-1] == "All customers"
    assert "90-day window" in proc.stderr.splitlines()[-1]
    bad = subprocess.run([sys.executable, "-m", "rfm_core", "backtest", str(src), "--at", "2020-01-01"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1].startswith("error: ")
    assert len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.realdata
@pytest.mark.slow
def test_online_retail_champions_repeat_more_than_lost(shared_data: SharedData) -> None:
    """On the real Online Retail, segmented on 2011-09-01 at the default settings, Champions buy again in the next
    90 days more often than Lost customers (and more often than average, Lost less often)."""
    tx = analyze(shared_data.require(ONLINE_RETAIL), warn=False).cleaned.transactions
    t = backtest(tx, dt.date(2011, 9, 1), 90).table.set_index("segment")
    assert t.loc["Champions", "repeat_rate"] > t.loc["Lost", "repeat_rate"]
    assert t.loc["Champions", "repeat_lift"] > 1 > t.loc["Lost", "repeat_lift"]
