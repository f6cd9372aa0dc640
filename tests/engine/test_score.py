"""Scoring: quantile tie policy, recency reversal, rank and threshold methods, effective edges and sizes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rfm_core import ConfigError, MetricScoring, RfmWarning, ScoringSettings, score
from rfm_core.score import score_metric


def _score(values: list[float], metric: str = "frequency", **kw: object) -> tuple[list[int], object]:
    ids = np.array([f"c{i:03d}" for i in range(len(values))])
    scores, info = score_metric(np.array(values, dtype=float), ids, MetricScoring(**kw), metric)  # type: ignore[arg-type]
    return scores.tolist(), info


def test_quantile_scores_on_distinct_values() -> None:
    scores, info = _score(list(range(1, 11)))  # cut points at 20/40/60/80%: 2.8, 4.6, 6.4, 8.2
    assert scores == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert info.edges == pytest.approx((2.8, 4.6, 6.4, 8.2))
    assert info.sizes == (2, 2, 2, 2, 2) and info.warning is None


def test_recency_is_reversed() -> None:
    scores, _ = _score(list(range(1, 11)), "recency")
    assert scores == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_ties_share_a_score_and_skipped_scores_are_warned() -> None:
    # Sorted [1 x6, 2, 3, 5, 8]; linear quantiles at 20/40/60/80%: positions 1.8, 3.6, 5.4, 7.2 -> 1, 1, 1.4, 3.4.
    values = [1] * 6 + [2, 3, 5, 8]
    with pytest.warns(RfmWarning, match="effective"):
        table = score(pd.DataFrame({"customer_id": [str(i) for i in range(10)], "recency_days": range(10),
                                    "frequency": values, "monetary": range(10)}))
    f = table.table["f_score"].tolist()
    assert f[:6] == [1] * 6  # all the 1s share score 1
    assert f[6:] == [4, 4, 5, 5]  # 2 and 3 exceed three cut points; 5 and 8 all four
    info = table.bins["frequency"]
    assert info.sizes == (6, 0, 0, 2, 2) and info.effective_bins == 3
    assert "2, 3" in (info.warning or "")


def test_all_values_equal() -> None:
    scores, info = _score([3.0] * 5)
    assert scores == [1] * 5 and info.effective_bins == 1


def test_rank_method_gives_exact_sizes_and_splits_ties_by_customer_id() -> None:
    scores, info = _score([1] * 6 + [2, 3, 5, 8], method="rank")
    assert scores == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert info.sizes == (2, 2, 2, 2, 2)
    assert "customer id" in (info.warning or "")


def test_thresholds() -> None:
    scores, info = _score([0, 1, 2, 5, 10, 11], bins=3, method="thresholds", edges=(1, 10))
    assert scores == [1, 1, 2, 2, 2, 3]  # v <= 1 -> 1; 1 < v <= 10 -> 2; v > 10 -> 3
    r, _ = _score([0, 30, 31, 400], "recency", bins=3, method="thresholds", edges=(30, 90))
    assert r == [3, 3, 2, 1]
    assert info.describe_bins()["range"].tolist() == ["≤ 1", "> 1 and ≤ 10", "> 10"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"bins": 1}, "2 to 10"), ({"bins": 11}, "2 to 10"), ({"method": "kmeans"}, "method"),
    ({"bins": 3, "method": "thresholds", "edges": (1,)}, "need 2 edges"),
    ({"bins": 3, "method": "thresholds", "edges": (5, 1)}, "increase"),
], ids=["too-few", "too-many", "method", "edge-count", "edge-order"])
def test_invalid_scoring_settings(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        MetricScoring(**kwargs)  # type: ignore[arg-type]


def test_rfm_score_string_and_bins_per_metric() -> None:
    customers = pd.DataFrame({"customer_id": list("abcd"), "recency_days": [1, 2, 3, 4],
                              "frequency": [1, 2, 3, 4], "monetary": [1.0, 2, 3, 4]})
    settings = ScoringSettings(MetricScoring(2), MetricScoring(4), MetricScoring(10))
    result = score(customers, settings).table
    assert result["r_score"].tolist() == [2, 2, 1, 1]
    assert result["rfm_score"].iloc[0] == "2-1-1"  # a 10-bin metric needs separators
