"""Monetary is the exactly rounded sum of a customer's line revenue, so equal spend is equal whatever the line order.

A plain sum in row order made ten lines of 0.1 total 0.9999999999999999 while one line of 1.0 totals 1.0, and
0.1 + 0.2 + 0.3 (0.6000000000000001) differ from 0.3 + 0.2 + 0.1 (0.6): customers with the same spend, shown as
the same money, fell on both sides of a quantile edge (measured: 2 bins, m_score 2 and 1), and pandas and DuckDB
scored them differently. The expected totals are worked out by hand or as exact fractions rounded once
(:class:`fractions.Fraction`), not by the code under test.
"""

from __future__ import annotations

import random
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfm_core import analyze
from rfm_core.aggregate import exact_group_sums
from rfm_core.settings import AnalysisSettings, ScoringSettings

HEADER = "InvoiceNo,InvoiceDate,Quantity,UnitPrice,CustomerID"


def _csv(lines: list[tuple[str, str, int, float, str]]) -> bytes:
    return ("\n".join([HEADER, *(f"{i},{d},{q},{p!r},{c}" for i, d, q, p, c in lines)]) + "\n").encode()


def _equal_spend_lines() -> list[tuple[str, str, int, float, str]]:
    """A and B buy 0.1, 0.2 and 0.3 in opposite line orders (0.6 each); T1..T3 buy ten lines of 0.1 and O one line
    of 1.0 (1.0 each); others spend 0.05 to 3.0 so that quantile edges fall among them."""
    lines = [("1", "2024-01-05", 1, 0.1, "A"), ("1", "2024-01-05", 1, 0.2, "A"), ("1", "2024-01-05", 1, 0.3, "A"),
             ("2", "2024-01-05", 1, 0.3, "B"), ("2", "2024-01-05", 1, 0.2, "B"), ("2", "2024-01-05", 1, 0.1, "B")]
    lines += [(f"3{t}{k:02d}", "2024-01-06", 1, 0.1, f"T{t}") for t in (1, 2, 3) for k in range(10)]  # not copies
    lines += [("40", "2024-01-07", 1, 1.0, "O")]
    lines += [(f"5{k}", "2024-01-08", 1, price, f"X{k}") for k, price in enumerate((0.05, 0.2, 0.4, 0.9, 1.5, 3.0))]
    return lines


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
@pytest.mark.parametrize("bins", range(2, 11))
def test_equal_spend_in_any_line_order_is_one_total_and_one_score(engine: str, bins: int) -> None:
    result = analyze(_csv(_equal_spend_lines()), AnalysisSettings(scoring=ScoringSettings.uniform(bins, "quantile")),
                     name="equal.csv", engine=engine, warn=False)
    table = result.segmentation.customers.set_index("customer_id")
    assert table.loc[["A", "B"], "monetary"].tolist() == [0.6, 0.6]  # by hand: 0.1 + 0.2 + 0.3
    assert table.loc[["T1", "T2", "T3", "O"], "monetary"].tolist() == [1.0] * 4  # ten tenths, and one 1.0
    assert table.loc["A", "m_score"] == table.loc["B", "m_score"]
    assert table.loc[["T1", "T2", "T3", "O"], "m_score"].nunique() == 1


def test_pandas_and_duckdb_give_the_same_customers_on_equal_spend() -> None:
    data = _csv(_equal_spend_lines())
    pandas_table = analyze(data, name="equal.csv", warn=False).segmentation.customers
    duck_table = analyze(data, name="equal.csv", engine="duckdb", warn=False).segmentation.customers
    columns = ["customer_id", "monetary", "r_score", "f_score", "m_score", "segment"]
    pd.testing.assert_frame_equal(pandas_table[columns].reset_index(drop=True),
                                  duck_table[columns].reset_index(drop=True))


def _exactly_rounded(values: list[float]) -> float:
    return float(sum((Fraction(v) for v in values), Fraction(0)))


def test_exact_group_sums_by_hand() -> None:
    codes = np.array([0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2])
    values = np.array([0.3, 0.2, 0.1, *[0.1] * 10])
    assert (0.3 + 0.2) + 0.1 == 0.6 and sum([0.1] * 10) == 0.9999999999999999  # what a plain sum gives
    assert exact_group_sums(codes, values, 4).tolist() == [0.6, 0.0, 1.0, 0.0]  # groups 1 and 3 are empty
    # a purchase and its cancellation around small lines: the small lines survive
    assert exact_group_sums(np.zeros(5, dtype=np.int64), np.array([1e15, 0.3, -1e15, 0.1, 0.2]), 1).tolist() == [0.6]


money = st.builds(lambda qty, cents: qty * (cents / 100), st.integers(-50, 500), st.integers(1, 2_000_000))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 5), money), min_size=1, max_size=60), st.randoms(use_true_random=False))
def test_exact_group_sums_are_exactly_rounded_in_any_order(lines: list[tuple[int, float]],
                                                           rnd: random.Random) -> None:
    shuffled = lines[:]
    rnd.shuffle(shuffled)
    for rows in (lines, shuffled):
        rows = sorted(rows, key=lambda r: r[0])  # the function takes the lines grouped; any order within a group
        codes = np.array([c for c, _ in rows], dtype=np.int64)
        got = exact_group_sums(codes, np.array([v for _, v in rows], dtype=np.float64), 6)
        want = [_exactly_rounded([v for c, v in rows if c == g]) for g in range(6)]
        assert got.tolist() == want


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from("ABCDEFG"), st.integers(1, 20), st.integers(1, 99_999)), min_size=8,
                max_size=40),
       st.randoms(use_true_random=False), st.integers(2, 10))
def test_the_customer_table_does_not_depend_on_the_order_of_the_lines(lines: list[tuple[str, int, int]],
                                                                      rnd: random.Random, bins: int) -> None:
    """Quantity x price in cents on one order per line; the lines shuffled: the same customers, monetary bit for
    bit and the same scores, at every number of bins; monetary is the exact sum of the customer's lines."""
    rows = [(f"{k}", f"2024-02-{1 + k % 27:02d}", qty, cents / 100, c) for k, (c, qty, cents) in enumerate(lines)]
    shuffled = rows[:]
    rnd.shuffle(shuffled)
    setup = AnalysisSettings(scoring=ScoringSettings.uniform(bins, "quantile"))
    first, second = (analyze(_csv(r), setup, name="lines.csv", warn=False).segmentation.customers
                     .set_index("customer_id") for r in (rows, shuffled))
    columns = ["recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "segment"]
    pd.testing.assert_frame_equal(first[columns], second.loc[first.index, columns])
    for customer in first.index:
        revenue = [q * p for _, _, q, p, c in rows if c == customer]
        assert first.loc[customer, "monetary"] == _exactly_rounded(revenue)


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_a_spend_exactly_on_a_custom_edge_scores_below_it(engine: str) -> None:
    """Acceptance run on the bundled sample: customer 17752 spends 681.41 (the exact sum of their lines, rounded
    once: below, with fractions); with an edge at 681.41 the rule "1 + the number of edges below v" gives 4. pandas
    summed the lines to 681.4100000000001 and scored 5; DuckDB scored 4."""
    from rfm_core.settings import MetricScoring
    from tests.conftest import SAMPLE

    lines = pd.read_csv(SAMPLE, dtype={"CustomerID": str})
    mine = lines[(lines["CustomerID"].str.removesuffix(".0") == "17752")]
    assert len(mine) and not mine["InvoiceNo"].astype(str).str.startswith("C").any()
    assert not mine.duplicated().any() and (mine["UnitPrice"] > 0).all()
    assert _exactly_rounded((mine["Quantity"] * mine["UnitPrice"]).tolist()) == 681.41
    edges = MetricScoring(bins=5, method="thresholds", edges=(78.84, 300.0, 332.85, 681.41))
    scoring = ScoringSettings(monetary=edges)
    table = analyze(SAMPLE, AnalysisSettings(scoring=scoring), engine=engine, warn=False).segmentation.customers
    row = table.set_index("customer_id").loc["17752"]
    assert row["monetary"] == 681.41 and row["m_score"] == 4
