"""Scoring and segmenting properties over generated customer tables (hypothesis), at every bin count and method.

Tables have heavy ties at the top, the bottom or the middle, two-valued metrics, continuous metrics and small
integer metrics. The properties are the documented tie policy (DOCUMENTATION.md §6):

- equal values share a score (rank: except ties strictly between the best and the worst value);
- a better value never scores lower (recency: fewer days is better);
- with at least two distinct values the best scores n and the worst 1; with one value everyone scores n;
- distinct values use min(n, distinct values) scores; frozen re-scoring reproduces the scores;

and for segments with the default rules: the customer best on all three metrics is in the best-role segment, the
worst on all three in Lost or Hibernating, every customer in exactly one segment. Migration's later column equals
Overview's counts for that date.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfm_core import AnalysisSettings, MetricScoring, RawTable, ScoringSettings, analyze, segment_customers
from rfm_core.score import METRIC_COLUMNS, score_metric
from rfm_core.segment import DEFAULT_RULES
from rfm_core.timeline import migration

METHODS = ["auto", "quantile", "distinct", "rank"]


@st.composite
def metric_values(draw: st.DrawFn, n: int, integer: bool) -> list[float]:
    """One metric for n customers, in one of the shapes real shops produce."""
    shape = draw(st.sampled_from(["ties_top", "ties_bottom", "ties_middle", "two_values", "continuous", "small"]))
    lo, hi = (1, 400) if integer else (0, 5000)
    if shape == "continuous":
        if integer:
            return [float(v) for v in draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n))]
        return draw(st.lists(st.floats(0, 5000, allow_nan=False, allow_infinity=False), min_size=n, max_size=n))
    if shape == "two_values":
        a, b = draw(st.integers(lo, hi)), draw(st.integers(lo, hi))
        return [float(v) for v in draw(st.lists(st.sampled_from([a, b]), min_size=n, max_size=n))]
    if shape == "small":
        return [float(v) for v in draw(st.lists(st.integers(1, 6), min_size=n, max_size=n))]
    share = draw(st.floats(0.3, 0.95))
    tied = max(1, round(share * n))
    others = draw(st.lists(st.integers(lo, hi), min_size=n - tied, max_size=n - tied))
    if shape == "ties_top":
        value = max([hi, *others])
    elif shape == "ties_bottom":
        value = min([lo, *others])
    else:
        value = (lo + hi) // 2
    values = [float(value)] * tied + [float(v) for v in others]
    return draw(st.permutations(values))


@st.composite
def customer_tables(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(2, 60))
    return pd.DataFrame({
        "customer_id": [f"c{i:03d}" for i in range(n)],
        "recency_days": draw(metric_values(n, True)),
        "frequency": draw(metric_values(n, True)),
        "monetary": draw(metric_values(n, False)),
    })


def _check_scores(x: np.ndarray, s: np.ndarray, n: int, metric: str, method: str) -> None:
    better = -x if metric == "recency" else x
    assert s.min() >= 1 and s.max() <= n
    order = np.argsort(better, kind="stable")
    assert (np.diff(s[order]) >= 0).all(), "a better value scored lower"
    distinct = np.unique(better)
    if len(distinct) == 1:
        assert (s == n).all()
        return
    assert (s[better == distinct[-1]] == n).all(), "the best value does not score n"
    assert (s[better == distinct[0]] == 1).all(), "the worst value does not score 1"
    per_value = pd.Series(s).groupby(better).nunique()
    if method == "rank":  # equal values may be split, but only strictly between the best and the worst value
        assert (per_value.loc[[distinct[0], distinct[-1]]] == 1).all()
    else:
        assert (per_value == 1).all(), "equal values got different scores"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(customer_tables(), st.integers(2, 10), st.sampled_from(METHODS))
def test_scoring_properties(table: pd.DataFrame, bins: int, method: str) -> None:
    ids = table["customer_id"].to_numpy()
    for metric, col in METRIC_COLUMNS.items():
        x = table[col].to_numpy(dtype="float64")
        s, info = score_metric(x, ids, MetricScoring(bins, method), metric)  # type: ignore[arg-type]
        s = s.astype(np.int64)
        _check_scores(x, s, bins, metric, method)
        assert sum(info.sizes) == len(x) and info.effective_bins == len(np.unique(s))
        for score_value in np.unique(s):  # every customer's value lies in its score's range
            inside = x[s == score_value]
            assert info.lows[score_value - 1] == inside.min() and info.highs[score_value - 1] == inside.max()
        if info.method_used == "distinct":
            assert info.effective_bins == min(bins, len(np.unique(x)))
        if method != "rank":
            assert (np.diff(info.edges) > 0).all()
            assert (info.rescore(x) == s).all(), "frozen re-scoring does not reproduce the scores"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(customer_tables(), st.tuples(st.integers(2, 10), st.integers(2, 10), st.integers(2, 10)),
       st.tuples(*[st.sampled_from(METHODS)] * 3))
def test_segment_properties(table: pd.DataFrame, bins: tuple[int, int, int], methods: tuple[str, str, str]) -> None:
    # Add the customer best on all three metrics and the one worst on all three.
    best = {"customer_id": "best", "recency_days": table["recency_days"].min() - 1,
            "frequency": table["frequency"].max() + 1, "monetary": table["monetary"].max() + 1}
    worst = {"customer_id": "worst", "recency_days": table["recency_days"].max() + 1,
             "frequency": max(table["frequency"].min() - 1, 0.5), "monetary": table["monetary"].min() - 1}
    customers = pd.concat([table, pd.DataFrame([best, worst])], ignore_index=True)
    scoring = ScoringSettings(*(MetricScoring(b, m) for b, m in zip(bins, methods, strict=True)))  # type: ignore[arg-type]
    seg = segment_customers(customers, scoring, DEFAULT_RULES, warn=False)
    out = seg.customers.set_index("customer_id")
    assert DEFAULT_RULES.role(str(out.loc["best", "segment"])) == "best"
    assert DEFAULT_RULES.role(str(out.loc["worst", "segment"])) in ("lost", "hibernating")
    # every customer in exactly one segment, the summary adds up
    assert out.index.is_unique and len(out) == len(customers)
    assert out["segment"].notna().all() and set(out["segment"].astype(str)) <= set(DEFAULT_RULES.names)
    assert seg.summary["customers"].sum() == len(customers)
    assert (seg.summary.set_index("segment")["customers"] == out["segment"].astype(str).value_counts()
            .reindex(DEFAULT_RULES.names, fill_value=0)).all()


line = st.tuples(
    st.sampled_from([f"{i}" for i in range(1, 25)]),  # invoice
    st.sampled_from(["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]),  # customer
    st.integers(0, 200),  # day
    st.integers(1, 5),  # quantity
    st.sampled_from(["1.5", "2", "10", "35"]),  # price
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(line, min_size=3, max_size=80), st.integers(2, 10), st.sampled_from(METHODS), st.integers(1, 150))
def test_migration_later_column_equals_overview(lines, bins, method, earlier_day) -> None:  # type: ignore[no-untyped-def]
    frame = pd.DataFrame({
        "InvoiceNo": [f"{x[1]}-{x[0]}" for x in lines],
        "CustomerID": [x[1] for x in lines],
        "InvoiceDate": [(pd.Timestamp("2020-01-01") + pd.Timedelta(days=x[2])).strftime("%Y-%m-%d") for x in lines],
        "Quantity": [str(x[3]) for x in lines],
        "UnitPrice": [x[4] for x in lines],
    }, dtype="string")
    scoring = ScoringSettings.uniform(bins, method)  # type: ignore[arg-type]
    overview = analyze(RawTable(frame, "gen.csv", "csv", "0" * 64), AnalysisSettings(scoring=scoring), warn=False)
    tx = overview.cleaned.transactions
    earlier = dt.date(2020, 1, 1) + dt.timedelta(days=earlier_day)
    if earlier >= overview.as_of or tx["invoice_date"].min() >= pd.Timestamp(earlier) + pd.Timedelta(days=1):
        return  # no purchases by the earlier date, or no gap: nothing to compare
    moved = migration(tx, earlier, overview.as_of, scoring, DEFAULT_RULES)
    later = moved.matrix.sum(axis=0).reindex(list(DEFAULT_RULES.names), fill_value=0)
    shown = overview.segmentation.summary.set_index("segment")["customers"]
    assert later.to_dict() == shown.to_dict()
    # and customer by customer
    now = moved.customers.set_index("customer_id")["segment_now"].sort_index()
    expected = overview.segmentation.customers.set_index("customer_id")["segment"].astype(str).sort_index()
    assert now.to_dict() == expected.to_dict()
