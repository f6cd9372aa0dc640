"""Migration between two analysis dates and acquisition cohorts, on hand-made data."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from rfm_core import RfmError, RuleSet, ScoringSettings, SegmentRule, analyze
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


def test_migration_frozen_thresholds_by_hand() -> None:
    rows = []
    # Ten customers active early; five of them keep buying, five stop. One new customer arrives later.
    for i in range(10):
        rows += [(f"c{i}", f"i{i}a", "2024-01-10", 10.0 * (i + 1)), (f"c{i}", f"i{i}b", "2024-02-10", 10.0)]
        if i < 5:
            rows += [(f"c{i}", f"i{i}c", "2024-05-10", 10.0), (f"c{i}", f"i{i}d", "2024-06-01", 10.0)]
    rows.append(("new", "n1", "2024-05-20", 50.0))
    # Two segments on a 2-point scale. At 2024-03-01 everyone last bought on 2024-02-10 (recency 20 days, one
    # tied value, so the frozen recency edge is 20): all Active. At 2024-06-02, c0-c4 have recency 1 (Active),
    # c5-c9 recency 113 > 20 (Lapsed: down).
    rules = RuleSet((SegmentRule("Active", r=(2, 2), f=(1, 2), m=(1, 2)),
                     SegmentRule("Lapsed", r=(1, 1), f=(1, 2), m=(1, 2))), scale=2)
    m = migration(_tx(rows), dt.date(2024, 3, 1), dt.date(2024, 6, 2), ScoringSettings.uniform(2), rules)
    by = m.customers.set_index("customer_id")
    assert by.loc["new", "segment_then"] == NEW and by.loc["new", "moved"] == "new"
    assert by.loc["c0", "revenue_between"] == 20.0 and by.loc["c9", "revenue_between"] == 0.0
    assert m.flows["customers"].sum() == len(m.customers) == 11
    assert int(m.matrix.to_numpy().sum()) == 11
    assert sorted(m.moved_down["customer_id"]) == [f"c{i}" for i in range(5, 10)]
    assert (by.loc[[f"c{i}" for i in range(5)], "moved"] == "stayed").all()
    assert m.matrix.loc["Active", "Lapsed"] == 5 and m.matrix.loc["Active", "Active"] == 5


def test_migration_on_the_sample_and_errors() -> None:
    tx = analyze(SAMPLE, warn=False).cleaned.transactions
    frozen = migration(tx, dt.date(2011, 6, 1))
    moving = migration(tx, dt.date(2011, 6, 1), thresholds="re-estimated")
    assert len(frozen.customers) == len(moving.customers)
    assert frozen.flows["customers"].sum() == len(frozen.customers)
    with pytest.raises(RfmError, match="before the later"):
        migration(tx, dt.date(2012, 1, 1), dt.date(2011, 1, 1))
    with pytest.raises(RfmError, match="No purchases before"):
        migration(tx, dt.date(2000, 1, 1))
