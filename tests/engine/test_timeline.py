"""Migration between two analysis dates and acquisition cohorts, on hand-made data."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from rfm_core import RfmError, RuleSet, ScoringSettings, SegmentRule, aggregate, analyze, segment_customers
from rfm_core.timeline import NEW, cohorts, migration
from tests.conftest import SAMPLE


def _tx(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": pd.Categorical([r[0] for r in rows]),
        "invoice_id": pd.Categorical([r[1] for r in rows]),
        "invoice_date": pd.to_datetime([r[2] for r in rows]),
        "amount": [r[3] for r in rows],
        "is_return": False,
    })


def test_cohorts_by_hand() -> None:
    # A: Jan, Feb, Apr. B: Jan. C: Feb, Mar.  Cohort Jan = {A, B}; Feb = {C}.
    tx = _tx([("A", "1", "2024-01-05", 10), ("B", "2", "2024-01-09", 5), ("A", "3", "2024-02-02", 7),
              ("C", "4", "2024-02-10", 3), ("C", "5", "2024-03-01", 4), ("A", "6", "2024-04-20", 1)])
    c = cohorts(tx)
    assert c.sizes.to_dict() == {"2024-01": 2, "2024-02": 1}
    assert c.retention.loc["2024-01"].tolist() == [1.0, 0.5, 0.0, 0.5]
    feb = c.retention.loc["2024-02"].tolist()
    assert feb[:3] == [1.0, 1.0, 0.0] and np.isnan(feb[3])  # May is after the data ends: unknown, not zero
    assert c.revenue.loc["2024-01", 0] == 15 and c.revenue.loc["2024-01", 3] == 1


def _two_dates_tx() -> pd.DataFrame:
    rows = []
    # A (a0-a4) and B (b0-b4) bought on 2024-01-10 and 2024-02-25; A buys again on 2024-05-10 and 2024-06-01, B
    # never again. Z (z0-z4) bought once, on 2024-01-05. "new" first buys on 2024-05-20.
    for i in range(5):
        for who in ("a", "b"):
            rows += [(f"{who}{i}", f"{who}{i}-1", "2024-01-10", 10.0 * (i + 1)),
                     (f"{who}{i}", f"{who}{i}-2", "2024-02-25", 10.0)]
        rows += [(f"a{i}", f"a{i}-3", "2024-05-10", 10.0), (f"a{i}", f"a{i}-4", "2024-06-01", 10.0)]
        rows.append((f"z{i}", f"z{i}-1", "2024-01-05", 5.0))
    rows.append(("new", "n1", "2024-05-20", 50.0))
    return _tx(rows)


# Two segments on a 2-point scale, by recency only.
TWO = RuleSet((SegmentRule("Active", r=(2, 2), f=(1, 2), m=(1, 2), role="loyal"),
               SegmentRule("Lapsed", r=(1, 1), f=(1, 2), m=(1, 2), role="lost")), scale=2)


def test_migration_frozen_edges_by_hand() -> None:
    # At 2024-03-01 recency is 5 days for A and B (10 customers), 56 for Z. At 2 bins the median cut sits on -5
    # (better direction); the tied 5s are in the better half and score 2, Z scores 1. Frozen recency edge: 5 days.
    # At 2024-06-02: A 1 day (<= 5: Active), B 98 and Z 149 days (Lapsed), new 13 days (> 5: Lapsed).
    m = migration(_two_dates_tx(), dt.date(2024, 3, 1), dt.date(2024, 6, 2), ScoringSettings.uniform(2), TWO,
                  "frozen")
    by = m.customers.set_index("customer_id")
    assert by.loc["new", "segment_then"] == NEW and by.loc["new", "moved"] == "new"
    assert by.loc["new", "segment_now"] == "Lapsed"
    assert by.loc["a0", "revenue_between"] == 20.0 and by.loc["b0", "revenue_between"] == 0.0
    assert m.flows["customers"].sum() == len(m.customers) == 16
    assert sorted(m.moved_down["customer_id"]) == [f"b{i}" for i in range(5)]
    assert (by.loc[[f"a{i}" for i in range(5)], "moved"] == "stayed").all()
    assert (by.loc[[f"z{i}" for i in range(5)], "moved"] == "stayed").all()
    assert m.matrix.loc["Active", "Lapsed"] == 5 and m.matrix.loc["Active", "Active"] == 5
    assert m.matrix.loc[NEW, "Lapsed"] == 1
    assert m.gap_days == 93 and m.down_without_buying == 5
    assert "93 days" in m.time_note() and "5 of the 5" in m.time_note()


def test_migration_re_estimated_by_hand_equals_the_later_date() -> None:
    # At 2024-06-02, 16 customers: recency 1 (x5 A), 13 (new), 98 (x5 B), 149 (x5 Z). The median cut (position 7.5
    # of 16 in the better direction) lies between -98 and -13 (-55.5): A and new score 2 (Active), B and Z 1.
    tx = _two_dates_tx()
    m = migration(tx, dt.date(2024, 3, 1), dt.date(2024, 6, 2), ScoringSettings.uniform(2), TWO)
    assert m.thresholds == "re-estimated"
    by = m.customers.set_index("customer_id")
    assert by.loc["new", "segment_now"] == "Active"
    assert m.matrix.sum(axis=0).to_dict() == {"Active": 6, "Lapsed": 10}
    overview = segment_customers(aggregate(tx, dt.date(2024, 6, 2)), ScoringSettings.uniform(2), TWO, warn=False)
    assert overview.summary.set_index("segment")["customers"].to_dict() == {"Active": 6, "Lapsed": 10, "Other": 0}


def test_up_and_down_follow_roles_not_names() -> None:
    renamed = RuleSet((SegmentRule("Zeta", r=(2, 2), f=(1, 2), m=(1, 2), role="loyal"),
                       SegmentRule("Alpha", r=(1, 1), f=(1, 2), m=(1, 2), role="lost")), scale=2)
    m = migration(_two_dates_tx(), dt.date(2024, 3, 1), dt.date(2024, 6, 2), ScoringSettings.uniform(2), renamed)
    assert sorted(m.moved_down["customer_id"]) == [f"b{i}" for i in range(5)]
    neutral = RuleSet((SegmentRule("Zeta", r=(2, 2), f=(1, 2), m=(1, 2)),
                       SegmentRule("Alpha", r=(1, 1), f=(1, 2), m=(1, 2))), scale=2)
    m = migration(_two_dates_tx(), dt.date(2024, 3, 1), dt.date(2024, 6, 2), ScoringSettings.uniform(2), neutral)
    assert m.moved_down.empty and (m.customers["moved"] == "sideways").sum() == 5  # roles "other": no direction


def test_migration_on_the_sample_and_errors() -> None:
    result = analyze(SAMPLE, warn=False)
    tx = result.cleaned.transactions
    frozen = migration(tx, dt.date(2011, 6, 1), thresholds="frozen")
    moving = migration(tx, dt.date(2011, 6, 1))
    assert len(frozen.customers) == len(moving.customers) == len(result.customers)
    assert frozen.flows["customers"].sum() == len(frozen.customers)
    # The re-estimated later column is Overview's segment sizes at the default analysis date.
    overview = result.segmentation.summary.set_index("segment")["customers"]
    later = moving.matrix.sum(axis=0).reindex(overview.index, fill_value=0)
    assert later.to_dict() == overview.to_dict()
    with pytest.raises(RfmError, match="before the later"):
        migration(tx, dt.date(2012, 1, 1), dt.date(2011, 1, 1))
    with pytest.raises(RfmError, match="No purchases on or before 2000-01-01"):
        migration(tx, dt.date(2000, 1, 1))
