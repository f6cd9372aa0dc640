"""Score stage: recency, frequency and monetary to scores 1..n, with the edges and bin sizes that produced them.

Tie policy (quantile method): the cut points are the ``k/n`` quantiles (linear interpolation) of the values;
a value scores ``1 +`` the number of cut points strictly below it (recency: ``n -`` that number, so recent is
high). Equal values therefore always share a score. When many customers share a value, several cut points
coincide and the scores between them are skipped (for example frequency scores 1, 3, 4, 5 when 40% of customers
bought once): the top score still means the top of the distribution, fewer bins are effective, and an
:class:`~rfm_core.errors.RfmWarning` says so.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .columns import CUSTOMER_ID
from .errors import ConfigError, RfmError, RfmWarning
from .settings import METRICS, MetricScoring, ScoringSettings

__all__ = ["METRIC_COLUMNS", "SCORE_COLUMNS", "MetricBins", "ScoreResult", "score", "score_metric"]

METRIC_COLUMNS = {"recency": "recency_days", "frequency": "frequency", "monetary": "monetary"}
SCORE_COLUMNS = {"recency": "r_score", "frequency": "f_score", "monetary": "m_score"}


@dataclass(frozen=True)
class MetricBins:
    """How one metric was scored.

    ``edges`` are the n-1 cut points (upper bounds of scores 1..n-1 on the metric's own scale; for recency the
    upper bounds of scores n..2). ``sizes[i]`` is the number of customers with score ``i + 1``.
    """

    metric: str
    method: str
    bins: int
    edges: tuple[float, ...]
    sizes: tuple[int, ...]
    warning: str | None = None

    @property
    def effective_bins(self) -> int:
        return sum(1 for s in self.sizes if s > 0)

    def describe_bins(self) -> pd.DataFrame:
        """One row per score: its range of metric values and how many customers have it."""
        rows = []
        reverse = self.metric == "recency"
        for s in range(1, self.bins + 1):
            k = (self.bins - s) if reverse else (s - 1)  # number of cut points below the values of score s
            lo = self.edges[k - 1] if k >= 1 else None
            hi = self.edges[k] if k < len(self.edges) else None
            if lo is None:
                label = f"≤ {_fmt(hi)}" if hi is not None else "all"
            elif hi is None:
                label = f"> {_fmt(lo)}"
            else:
                label = f"> {_fmt(lo)} and ≤ {_fmt(hi)}" if hi > lo else "(empty: tied edges)"
            rows.append({"score": s, "range": label, "customers": self.sizes[s - 1]})
        return pd.DataFrame(rows)


def _fmt(x: float | None) -> str:
    if x is None:
        return ""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


@dataclass(frozen=True)
class ScoreResult:
    """The customer table with ``r_score, f_score, m_score, rfm_score`` added, and how each metric was binned."""

    table: pd.DataFrame
    bins: dict[str, MetricBins]

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(b.warning for b in self.bins.values() if b.warning)


def score_metric(values: np.ndarray, ids: np.ndarray, spec: MetricScoring, metric: str) -> tuple[np.ndarray,
                                                                                                  MetricBins]:
    """Scores 1..bins for one metric and the :class:`MetricBins` that explain them."""
    n = spec.bins
    x = np.asarray(values, dtype="float64")
    if len(x) == 0:
        raise RfmError("There are no customers to score. Check the ledger: every row was dropped.")
    if np.isnan(x).any():
        raise RfmError(f"{metric} has missing values; this is a bug in the data pipeline, please report it.")
    reverse = metric == "recency"
    warning = None
    if spec.method == "rank":
        # Exact-size bins: order by value, then by customer id so the split of ties never depends on row order.
        order = np.lexsort((ids, x))
        ranks = np.empty(len(x), dtype=np.int64)
        ranks[order] = np.arange(len(x))
        ascending = ranks * n // len(x) + 1
        scores = (n + 1 - ascending) if reverse else ascending
        sorted_x = x[order]
        edges = tuple(float(sorted_x[max(k * len(x) // n - 1, 0)]) for k in range(1, n))
        if len(np.unique(x)) < len(x):
            tied = _tied_across(x, scores)
            if tied:
                warning = (f"{metric.capitalize()}: {tied:,} customers share a value with a customer in another "
                           "score; rank scoring split those ties by customer id.")
    else:
        if spec.method == "quantile":
            cuts = np.quantile(x, np.arange(1, n) / n)
        elif spec.method == "thresholds":
            cuts = np.asarray(spec.edges, dtype="float64")
        else:  # pragma: no cover - MetricScoring validates the method
            raise ConfigError(f"Unknown method {spec.method!r}.")
        below = np.searchsorted(cuts, x, side="left")  # number of cut points strictly below each value
        scores = (n - below) if reverse else (below + 1)
        edges = tuple(float(c) for c in cuts)
        if spec.method == "quantile" and len(np.unique(cuts)) < len(cuts):
            sizes_tmp = np.bincount(scores, minlength=n + 1)[1:]
            skipped = [str(i + 1) for i, s in enumerate(sizes_tmp) if s == 0]
            warning = (f"{metric.capitalize()}: {n} bins asked, {int((sizes_tmp > 0).sum())} effective. Many "
                       f"customers share the same values, so quantile edges coincide and score(s) "
                       f"{', '.join(skipped)} are unused. Use fewer bins or custom thresholds.")
    sizes = tuple(int(s) for s in np.bincount(scores, minlength=n + 1)[1:])
    if warning is None and spec.method == "thresholds" and 0 in sizes:
        empty = [str(i + 1) for i, s in enumerate(sizes) if s == 0]
        warning = f"{metric.capitalize()}: no customer falls in score(s) {', '.join(empty)} with these thresholds."
    return scores.astype(np.int8), MetricBins(metric, spec.method, n, edges, sizes, warning)


def _tied_across(x: np.ndarray, scores: np.ndarray) -> int:
    frame = pd.DataFrame({"x": x, "s": scores})
    spread = frame.groupby("x")["s"].transform("nunique")
    return int((spread > 1).sum())


def score(customers: pd.DataFrame, settings: ScoringSettings | None = None, *, warn: bool = True) -> ScoreResult:
    """Add ``r_score``, ``f_score``, ``m_score`` and ``rfm_score`` to the per-customer table.

    Parameters
    ----------
    customers : DataFrame
        From :func:`rfm_core.aggregate.aggregate` (needs ``recency_days``, ``frequency``, ``monetary``).
    settings : ScoringSettings
        Bins and method per metric.
    warn : bool
        Also emit each binning warning as an :class:`RfmWarning` (they are always in the result).
    """
    settings = settings or ScoringSettings()
    table = customers.copy()
    ids = table[CUSTOMER_ID].astype(str).to_numpy()
    bins: dict[str, MetricBins] = {}
    for metric in METRICS:
        scores, info = score_metric(table[METRIC_COLUMNS[metric]].to_numpy(), ids, settings.for_metric(metric),
                                    metric)
        table[SCORE_COLUMNS[metric]] = scores
        bins[metric] = info
        if warn and info.warning:
            warnings.warn(info.warning, RfmWarning, stacklevel=2)
    sep = "" if max(b.bins for b in bins.values()) < 10 else "-"
    table["rfm_score"] = (table["r_score"].astype(str) + sep + table["f_score"].astype(str) + sep
                          + table["m_score"].astype(str))
    return ScoreResult(table, bins)
