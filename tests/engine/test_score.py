"""Scoring: the tie policy, recency reversal, every method, effective edges and sizes, frozen re-scoring.

Every expected score below is worked out by hand in the comment next to it (numpy's default linear quantiles:
the k/n quantile of N sorted values sits at position (N − 1)·k/n, interpolated between neighbours).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rfm_core import ConfigError, MetricScoring, RfmWarning, ScoringSettings, score
from rfm_core.score import MetricBins, rescore, score_metric, stretch, suggest_thresholds


def _score(values: list[float], metric: str = "frequency", **kw: object) -> tuple[list[int], MetricBins]:
    ids = np.array([f"c{i:03d}" for i in range(len(values))])
    scores, info = score_metric(np.array(values, dtype=float), ids, MetricScoring(**kw), metric)  # type: ignore[arg-type]
    return scores.tolist(), info


def test_quantile_scores_on_distinct_values() -> None:
    # 1..10: cut points at positions 1.8, 3.6, 5.4, 7.2 -> 2.8, 4.6, 6.4, 8.2; no value sits on a cut.
    scores, info = _score(list(range(1, 11)), method="quantile")
    assert scores == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert info.cuts == pytest.approx((2.8, 4.6, 6.4, 8.2))
    assert info.edges == (2, 4, 6, 8)  # effective edges: the largest value of each lower bin
    assert info.sizes == (2, 2, 2, 2, 2) and info.warning is None and info.method_used == "quantile"


def test_recency_is_reversed() -> None:
    # Days 1..10: the most recent (fewest days) score 5; cut points in days 2.8 .. 8.2 as above.
    scores, info = _score(list(range(1, 11)), "recency")
    assert scores == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert info.cuts == pytest.approx((2.8, 4.6, 6.4, 8.2))
    assert info.describe_bins()["range"].tolist() == ["9+", "7–8", "5–6", "3–4", "≤ 2"]


def test_ties_at_the_bottom_skip_middle_scores_with_quantile() -> None:
    # Sorted [1 x6, 2, 3, 5, 8]; cuts at positions 1.8, 3.6, 5.4, 7.2 -> 1, 1, 1.4, 3.4. The six 1s lie in the worse
    # half (mid-percentile 30%): lowest score they touch, 1. 2 and 3 are above the middle and past three cuts:
    # 4. 5 and 8 are past all four: 5.
    values = [1] * 6 + [2, 3, 5, 8]
    with pytest.warns(RfmWarning, match="3 used"):
        table = score(pd.DataFrame({"customer_id": [str(i) for i in range(10)], "recency_days": range(10),
                                    "frequency": values, "monetary": range(10)}),
                      ScoringSettings(frequency=MetricScoring(5, "quantile")))
    assert table.table["f_score"].tolist() == [1] * 6 + [4, 4, 5, 5]
    info = table.bins["frequency"]
    assert info.sizes == (6, 0, 0, 2, 2) and info.effective_bins == 3
    assert "2, 3 are empty" in (info.warning or "") and "distinct" in (info.warning or "")


def test_ties_at_the_top_keep_the_top_score() -> None:
    # Case 01's frequency: [2, 3, 4, 5, 7 x6]; cuts 3.8, 6.2, 7, 7. The 7s (mid-percentile 70%) take the highest
    # score they touch, 5; 2 and 3 score 1; 4 and 5 (past 3.8 only) score 2.
    scores, info = _score([2, 3, 4, 5] + [7] * 6, method="quantile")
    assert scores == [1, 1, 2, 2] + [5] * 6
    assert info.cuts == pytest.approx((3.8, 6.2, 7, 7))


def test_value_on_a_cut_goes_toward_its_nearer_end() -> None:
    # Case 02's recency in days [176, 175, 6, 1] at 3 bins: in the better direction the cuts sit exactly on 175
    # (worse half: lowest score, 1) and on 6 (better half: highest score, 3). The middle score is empty.
    scores, info = _score([176, 175, 6, 1], "recency", bins=3)
    assert scores == [1, 1, 3, 3]
    assert info.sizes == (2, 0, 2) and info.method_used == "quantile"  # no ties: auto keeps quantiles
    assert "sit exactly on a quantile edge take the score of the nearer end" in (info.warning or "")


def test_distinct_groups_a_tied_frequency_like_a_shop() -> None:
    # 100 customers: 1 x60, 2 x15, 3 x8, 4 x5, 5 x3, 6 x3, 7 x2, 9 x2, 12 x2 (cumulative 60, 75, 83, 88, 91, 94, ...).
    # Group 1: target 100/5 = 20, nearest boundary 60 (after 1). Group 2: 60 + 40/4 = 70 -> 75 (after 2).
    # Group 3: 75 + 25/3 = 83.3 -> 83 (after 3). Group 4: 83 + 17/2 = 91.5 -> 91 (after 5). Rest: 6+.
    values = [1] * 60 + [2] * 15 + [3] * 8 + [4] * 5 + [5] * 3 + [6] * 3 + [7] * 2 + [9] * 2 + [12] * 2
    scores, info = _score(values, method="distinct")
    assert info.sizes == (60, 15, 8, 8, 9)
    assert info.describe_bins()["range"].tolist() == ["1", "2", "3", "4–5", "6+"]
    assert info.edges == (1, 2, 3, 5)
    assert info.summary_line() == ("frequency (orders): 5 bins by distinct values: 1 | 2 | 3 | 4-5 | 6+ with 60 | 15 | "
                                   "8 | 8 | 9 customers")
    # Quantile cuts are 1, 1, 1, 3 (collapsed by the 60 tied 1s), so auto switches to distinct values.
    auto_scores, auto = _score(values)
    assert auto.method == "auto" and auto.method_used == "distinct" and auto_scores == scores
    assert auto.summary_line().startswith("frequency (orders): 5 bins by distinct values (auto): ")


def test_distinct_spreads_few_values_over_the_scale() -> None:
    # Three distinct values at 5 bins: positions 1, 2, 3 stretched to 1, 3, 5.
    scores, info = _score([10, 20, 20, 30], method="distinct")
    assert scores == [1, 3, 3, 5]
    assert "only 3 distinct values" in (info.warning or "")


def test_every_customer_equal_scores_the_top() -> None:
    for method in ("auto", "quantile", "distinct", "rank"):
        scores, info = _score([3.0] * 5, method=method)
        assert scores == [5] * 5 and info.effective_bins == 1
        assert "same value" in (info.warning or "")


def test_rank_gives_exact_sizes_splits_middle_ties_and_keeps_the_ends() -> None:
    # [1, 2, 3, 3, 3, 3, 4, 5, 6, 7]: rank i -> i*5//10 + 1 = 1,1,2,2,3,3,4,4,5,5; the four 3s (ids c002..c005) are
    # split 2, 2, 3, 3 by customer id.
    scores, info = _score([1, 2, 3, 3, 3, 3, 4, 5, 6, 7], method="rank")
    assert scores == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert info.sizes == (2, 2, 2, 2, 2)
    assert "4 customers" in (info.warning or "")
    # Ties at the ends are kept whole: the six 1s all score 1, the best value 8 scores 5.
    scores, _ = _score([1] * 6 + [2, 3, 5, 8], method="rank")
    assert scores == [1] * 6 + [4, 4, 5, 5]
    top, _ = _score([2, 3, 4, 5] + [7] * 6, method="rank")
    assert top[4:] == [5] * 6 and top[0] == 1


def test_rank_ties_do_not_depend_on_row_order() -> None:
    # Values 1, 2, 2, 3 for b, a, d, c at 3 bins: order by value then id -> b(1), a(2), d(2), c(3), ranks 0..3 ->
    # 1, 1, 2, 3; the ends are kept (b = 1, c = 3). The tie a/d is split by id, whatever the row order.
    frame = pd.DataFrame({"id": ["b", "a", "d", "c"], "v": [1.0, 2, 2, 3]})
    for seed in range(4):
        shuffled = frame.sample(frac=1, random_state=seed)
        got, _ = score_metric(shuffled["v"].to_numpy(), shuffled["id"].to_numpy(), MetricScoring(3, "rank"),
                              "monetary")
        assert dict(zip(shuffled["id"], got.tolist(), strict=True)) == {"b": 1, "a": 1, "d": 2, "c": 3}


def test_thresholds() -> None:
    scores, info = _score([0, 1, 2, 5, 10, 11], bins=3, method="thresholds", edges=(1, 10))
    assert scores == [1, 1, 2, 2, 2, 3]  # v <= 1 -> 1; 1 < v <= 10 -> 2; v > 10 -> 3
    r, _ = _score([0, 30, 31, 400], "recency", bins=3, method="thresholds", edges=(30, 90))
    assert r == [3, 3, 2, 1]  # within 30 days scores 3
    assert info.describe_bins()["range"].tolist() == ["≤ 1", "2–10", "11"]  # the values customers have
    _, empty = _score([0, 1], bins=3, method="thresholds", edges=(5, 10))
    assert "score(s) 2, 3" in (empty.warning or "")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"bins": 1}, "2 to 10"), ({"bins": 11}, "2 to 10"), ({"method": "kmeans"}, "method"),
    ({"bins": 3, "method": "thresholds", "edges": (1,)}, "need 2 edges"),
    ({"bins": 3, "method": "thresholds", "edges": (5, 1)}, "increase"),
    ({"bins": 3, "method": "thresholds", "edges": (float("nan"), 2)}, "finite"),
    ({"bins": 3, "method": "thresholds", "edges": (1, float("inf"))}, "finite"),
], ids=["too-few", "too-many", "method", "edge-count", "edge-order", "edge-nan", "edge-inf"])
def test_invalid_scoring_settings(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        MetricScoring(**kwargs)  # type: ignore[arg-type]


def test_rfm_score_string_and_bins_per_metric() -> None:
    customers = pd.DataFrame({"customer_id": list("abcd"), "recency_days": [1, 2, 3, 4],
                              "frequency": [1, 2, 3, 4], "monetary": [1.0, 2, 3, 4]})
    settings = ScoringSettings(MetricScoring(2), MetricScoring(4), MetricScoring(10))
    result = score(customers, settings, warn=False)
    # recency at 2 bins: cut at the median 2.5 days -> 1 and 2 days score 2.
    assert result.table["r_score"].tolist() == [2, 2, 1, 1]
    assert result.table["rfm_score"].iloc[0] == "2-1-1"  # a 10-bin metric needs separators
    assert result.bin_counts == (2, 4, 10)


@pytest.mark.parametrize(("n_from", "expected"), [
    (1, [5]), (2, [1, 5]), (3, [1, 3, 5]), (4, [1, 2, 4, 5]), (5, [1, 2, 3, 4, 5]), (6, [1, 2, 3, 3, 4, 5]),
    (7, [1, 2, 2, 3, 4, 4, 5]), (8, [1, 2, 2, 3, 3, 4, 4, 5]), (9, [1, 1, 2, 2, 3, 4, 4, 5, 5]),
    (10, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]),
], ids=lambda x: str(x))
def test_stretch_onto_five(n_from: int, expected: list[int]) -> None:
    # t = 1 + round((s - 1) * 4 / (n - 1)). n = 4: 0, 1.33, 2.67, 4 -> 1, 2, 4, 5. n = 9: 0, .5, 1, 1.5, 2, 2.5, 3,
    # 3.5, 4; halves go toward the nearer end (.5 -> 0, 1.5 -> 1, 2.5 -> 3, 3.5 -> 4) -> 1, 1, 2, 2, 3, 4, 4, 5, 5.
    assert stretch(np.arange(1, n_from + 1), n_from, 5).tolist() == expected


def test_rescore_reproduces_and_extends_the_bins() -> None:
    values = [1] * 60 + [2] * 15 + [3] * 8 + [4] * 5 + [5] * 3 + [6] * 3 + [7] * 2 + [9] * 2 + [12] * 2
    scores, info = _score(values, method="distinct")
    assert info.rescore(np.array(values, dtype=float)).tolist() == scores
    # A later value: 0 (below everything) -> 1; 4.5 -> between 4 and 5, in 4-5 -> 4; 40 -> 5.
    assert info.rescore(np.array([0.0, 4.5, 40.0])).tolist() == [1, 4, 5]
    r_scores, r_info = _score([176, 175, 6, 1], "recency", bins=3)
    assert r_info.rescore(np.array([176.0, 175, 6, 1])).tolist() == r_scores
    assert r_info.rescore(np.array([200.0, 7, 0])).tolist() == [1, 1, 3]  # 7 days is older than the recent bin


def test_rescore_a_table() -> None:
    customers = pd.DataFrame({"customer_id": list("abcd"), "recency_days": [176, 175, 6, 1],
                              "frequency": [1, 1, 3, 3], "monetary": [5.0, 6, 300, 360]})
    first = score(customers, ScoringSettings.uniform(3), warn=False)
    again = rescore(customers, first.bins)
    pd.testing.assert_frame_equal(again.table, first.table)
    assert again.bins["frequency"].method == "frozen auto"


def test_suggested_thresholds_increase_and_reproduce_auto() -> None:
    values = np.array([1] * 60 + [2] * 15 + [3] * 8 + [4] * 5 + [5] * 3 + [6] * 3 + [7] * 2 + [9] * 2 + [12] * 2,
                      dtype=float)
    ids = np.array([str(i) for i in range(len(values))])
    assert suggest_thresholds(values, ids, 5, "frequency") == (1, 2, 3, 5)
    few = suggest_thresholds(np.array([1.0, 1, 2]), np.array(["a", "b", "c"]), 5, "frequency")
    assert len(few) == 4 and (np.diff(few) > 0).all()
    MetricScoring(5, "thresholds", few)  # valid thresholds
