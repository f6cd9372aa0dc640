"""Score stage: recency, frequency and monetary to scores 1..n, with the ranges and bin sizes that produced them.

Every method works on the metric's *better* direction: higher frequency and monetary are better, lower recency
(days since the last purchase) is better, so the most recent customers score n. The tie policy, the same for
``auto``, ``quantile`` and ``distinct`` at every bin count n = 2..10 (DOCUMENTATION.md §6 works an example):

1. equal values share a score;
2. a better value never scores lower;
3. whenever the metric has at least two distinct values, the best value scores n and the worst scores 1;
4. when every customer has the same value nobody is better than anybody else, and everyone scores n.

``auto`` (the default) is ``quantile`` unless customers tied on a quantile cut point leave a score empty that
``distinct`` would fill (typically frequency, where most customers bought once or twice); then ``distinct``.

``rank`` keeps 2-4 except that equal values strictly between the best and the worst may be split by customer id
(that is what exact-size groups need). ``thresholds`` applies the user's edges as given: 1 and 2 hold, 3 only if
the edges put customers in the end scores.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .columns import CUSTOMER_ID, F_SCORE, FREQUENCY, M_SCORE, MONETARY, R_SCORE, RECENCY_DAYS, RFM_SCORE
from .errors import ConfigError, RfmError, RfmWarning
from .settings import METRICS, MetricScoring, ScoringSettings

__all__ = [
    "METHOD_LABELS",
    "METRIC_COLUMNS",
    "SCORE_COLUMNS",
    "MetricBins",
    "ScoreResult",
    "rescore",
    "score",
    "score_metric",
    "stretch",
    "suggest_thresholds",
]

METRIC_COLUMNS = {"recency": RECENCY_DAYS, "frequency": FREQUENCY, "monetary": MONETARY}
SCORE_COLUMNS = {"recency": R_SCORE, "frequency": F_SCORE, "monetary": M_SCORE}
#: How each method is named in the CLI summary, the Settings page and the export provenance.
METHOD_LABELS = {"quantile": "quantiles", "distinct": "distinct values", "rank": "equal-size groups",
                 "thresholds": "your thresholds"}
_UNITS = {"recency": " days", "frequency": " orders", "monetary": ""}


def stretch(scores: np.ndarray, n_from: int, n_to: int) -> np.ndarray:
    """Map positions ``1..n_from`` onto ``1..n_to`` linearly, keeping both ends: 1 → 1 and ``n_from`` → ``n_to``.

    ``t = 1 + round((s − 1)·(n_to − 1)/(n_from − 1))``, computed in integers; an exact half is rounded toward the
    nearer end of the scale (so the mapping is symmetric: position ``n_from + 1 − s`` maps to ``n_to + 1 − t``; at
    the exact centre of an even scale it rounds down). Used to read scores from n bins on a rule set's scale
    (:func:`rfm_core.segment.to_rule_scale`) and to spread fewer distinct values than bins over 1..n.

    Parameters
    ----------
    scores : ndarray of int
        Positions in ``1..n_from``; any shape.
    n_from, n_to : int
        ``n_from >= 1``; with ``n_from == 1`` every position maps to ``n_to``.

    Returns
    -------
    ndarray of int64, the same shape.
    """
    s = np.asarray(scores, dtype=np.int64)
    if n_from == n_to:
        return s
    if n_from == 1:
        return np.full(s.shape, n_to, dtype=np.int64)
    num = (s - 1) * (n_to - 1)
    den = n_from - 1
    q, r = np.divmod(num, den)
    # An exact half (2r == den) goes toward the nearer end: down in the lower half, up in the upper half.
    up = (2 * r > den) | ((2 * r == den) & (2 * q + 1 > n_to - 1))
    out: np.ndarray = (1 + q + up).astype(np.int64)
    return out


@dataclass(frozen=True)
class MetricBins:
    """How one metric was scored, in the metric's own units.

    ``lows[i]``/``highs[i]`` are the smallest and largest value among the customers with score ``i + 1`` (None when
    the score is empty), ``sizes[i]`` their number. ``method`` is what was asked, ``method_used`` what scored
    (``auto`` resolves to ``quantile`` or ``distinct``); ``cuts`` are the method's own cut points (quantiles,
    thresholds; empty for ``distinct`` and ``rank``), kept for the record.
    """

    metric: str
    method: str
    method_used: str
    bins: int
    sizes: tuple[int, ...]
    lows: tuple[float | None, ...]
    highs: tuple[float | None, ...]
    cuts: tuple[float, ...] = ()
    warning: str | None = None

    @property
    def effective_bins(self) -> int:
        """The number of scores at least one customer has."""
        return sum(1 for s in self.sizes if s > 0)

    def _groups(self) -> list[int]:
        """Scores of the non-empty bins, from the smallest metric values to the largest."""
        used = [s for s in range(1, self.bins + 1) if self.sizes[s - 1] > 0]
        return sorted(used, key=lambda s: (self.lows[s - 1], self.highs[s - 1]))

    @property
    def edges(self) -> tuple[float, ...]:
        """The effective edges: ascending metric values, one between each pair of neighbouring non-empty bins.

        Each edge is the largest value of the bin below it (on the metric's own scale), so a value ``v`` lies in
        the ``k``-th non-empty bin from the bottom, ``k`` = 1 + the number of edges strictly below ``v``; with
        ``n − 1`` edges this is exactly the ``thresholds`` rule.
        """
        groups = self._groups()
        return tuple(float(self.highs[s - 1]) for s in groups[:-1])  # type: ignore[arg-type]

    def rescore(self, values: np.ndarray) -> np.ndarray:
        """Score other values with these bins (frozen edges): the bin of ``1 +`` the number of edges below ``v``.

        On the values that produced the bins this reproduces their scores (``rank`` excepted where it split a tie).
        A value beyond the observed range gets the end bin on its side.
        """
        groups = np.asarray(self._groups(), dtype=np.int64)
        k = np.searchsorted(np.asarray(self.edges, dtype="float64"), np.asarray(values, dtype="float64"),
                            side="left")
        return groups[k].astype(np.int8)

    def range_label(self, score: int, ascii_only: bool = False) -> str:
        """The values of one score in words: ``4-5``, ``6+`` (the bin with the largest values), ``≤ 17``."""
        lo, hi = self.lows[score - 1], self.highs[score - 1]
        if lo is None or hi is None:
            return "(empty)"
        groups = self._groups()
        dash = "-" if ascii_only and lo >= 0 else (" to " if ascii_only else "–")
        if lo == hi:
            return _fmt(lo)
        if score == groups[-1]:
            return f"{_fmt(lo)}+"
        if score == groups[0]:
            return f"<={_fmt(hi)}" if ascii_only else f"≤ {_fmt(hi)}"
        return f"{_fmt(lo)}{dash}{_fmt(hi)}"

    def describe_bins(self) -> pd.DataFrame:
        """One row per score 1..n: ``score``, ``range`` (its values in words), ``from``, ``to``, ``customers``."""
        return pd.DataFrame({
            "score": list(range(1, self.bins + 1)),
            "range": [self.range_label(s) for s in range(1, self.bins + 1)],
            "from": [np.nan if v is None else v for v in self.lows],
            "to": [np.nan if v is None else v for v in self.highs],
            "customers": list(self.sizes),
        })

    def summary_line(self) -> str:
        """One line for the CLI, e.g. ``frequency (orders): 5 bins by distinct values (auto): 1 | 2 | 3 | 4-5 | 6+
        with 2,901 | 826 | 391 | 311 | 243 customers`` (scores 1..n from left to right)."""
        scores = range(1, self.bins + 1)
        ranges = " | ".join(self.range_label(s, ascii_only=True) for s in scores)
        sizes = " | ".join(f"{c:,}" for c in self.sizes)
        asked = f" ({self.method})" if self.method != self.method_used else ""
        used = f", {self.effective_bins} of {self.bins} scores used" if self.effective_bins < self.bins else ""
        unit = f" ({_UNITS[self.metric].strip()})" if _UNITS[self.metric] else ""
        return (f"{self.metric}{unit}: {self.bins} bins by {METHOD_LABELS[self.method_used]}{asked}{used}: "
                f"{ranges} with {sizes} customers")

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly record for the export provenance."""
        return {
            "method": self.method, "method_used": self.method_used, "bins": self.bins,
            "effective_bins": self.effective_bins, "edges": list(self.edges), "cuts": list(self.cuts),
            "scores": [{"score": s, "from": self.lows[s - 1], "to": self.highs[s - 1],
                        "customers": self.sizes[s - 1]} for s in range(1, self.bins + 1)],
        }


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

    @property
    def bin_counts(self) -> tuple[int, int, int]:
        """Bins per metric (R, F, M), for :func:`rfm_core.segment.assign_segments` and the linter."""
        return (self.bins["recency"].bins, self.bins["frequency"].bins, self.bins["monetary"].bins)

    def provenance(self) -> dict[str, Any]:
        """Per metric: method asked and used, effective edges and customers per score (the export's ``scoring``)."""
        return {metric: info.to_dict() for metric, info in self.bins.items()}


# ---------------------------------------------------------------------------------------------- the methods
# Each takes the values oriented so that larger is better ("goodness": recency negated) and returns scores 1..n.

def _quantile(g: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Quantile scores and the cut points (the k/n quantiles of ``g``, linear interpolation).

    A run of equal values that touches cut points spans several scores; it takes the lowest of them when it lies
    in the worse half of the customers (its mid-percentile is below 50%) and the highest otherwise. A value that
    touches no cut point has one score either way. So ties at the bottom score 1, ties at the top score n.
    """
    cuts = np.quantile(g, np.arange(1, n) / n)
    lowest = 1 + np.searchsorted(cuts, g, side="left")  # 1 + cut points strictly below
    highest = 1 + np.searchsorted(cuts, g, side="right")  # 1 + cut points at or below
    ordered = np.sort(g)
    worse = np.searchsorted(ordered, g, side="left")  # customers strictly worse
    worse_or_equal = np.searchsorted(ordered, g, side="right")
    # Mid-percentile (worse + worse_or_equal) / 2N >= 1/2, in integers.
    upper_half = worse + worse_or_equal >= len(g)
    return np.where(upper_half, highest, lowest), cuts


def _distinct(g: np.ndarray, n: int) -> np.ndarray:
    """Edges on distinct values: as many scores as the data allows (``min(n, distinct values)``).

    With ``D <= n`` distinct values each gets its own score, spread over 1..n with :func:`stretch`. With more,
    consecutive distinct values are grouped into n groups, from the worst value up: each group ends at the
    distinct value whose cumulative count is nearest to an equal share of the customers not yet grouped (ties go
    to the smaller group), leaving at least one distinct value for every group still to come.
    """
    values, inverse, counts = np.unique(g, return_inverse=True, return_counts=True)
    d = len(values)
    if d <= n:
        return stretch(np.arange(1, d + 1), d, n)[inverse]
    cum = np.cumsum(counts)
    total = int(cum[-1])
    group = np.empty(d, dtype=np.int64)
    start, taken = 0, 0
    for k in range(n, 1, -1):  # k groups still to form, this one included
        target = taken + (total - taken) / k
        last_allowed = d - k  # leave k - 1 distinct values for the k - 1 groups after this one
        window = cum[start:last_allowed + 1]
        i = int(np.searchsorted(window, target))
        candidates = [j for j in (i - 1, i) if 0 <= j < len(window)]
        best = min(candidates, key=lambda j: (abs(float(window[j]) - target), j))
        end = start + best
        group[start:end + 1] = n - k + 1
        taken = int(cum[end])
        start = end + 1
    group[start:] = n
    return group[inverse]


def _rank(g: np.ndarray, ids: np.ndarray, n: int) -> np.ndarray:
    """Exact-size groups by rank (ties broken by customer id), with the best and worst values kept whole."""
    order = np.lexsort((ids, g))
    ranks = np.empty(len(g), dtype=np.int64)
    ranks[order] = np.arange(len(g))
    scores = ranks * n // len(g) + 1
    scores[g == g.min()] = 1
    scores[g == g.max()] = n
    return scores


def _tied_across(x: np.ndarray, scores: np.ndarray) -> int:
    frame = pd.DataFrame({"x": x, "s": scores})
    spread = frame.groupby("x")["s"].transform("nunique")
    return int((spread > 1).sum())


def _bins_info(x: np.ndarray, scores: np.ndarray, spec: MetricScoring, metric: str, method_used: str,
               cuts: np.ndarray | tuple[float, ...], warning: str | None) -> MetricBins:
    n = spec.bins
    lows: list[float | None] = []
    highs: list[float | None] = []
    sizes: list[int] = []
    for s in range(1, n + 1):  # n <= 10 passes over the customers
        inside = x[scores == s]
        sizes.append(len(inside))
        lows.append(float(inside.min()) if len(inside) else None)
        highs.append(float(inside.max()) if len(inside) else None)
    return MetricBins(metric, spec.method, method_used, n, tuple(sizes), tuple(lows), tuple(highs),
                      tuple(float(c) for c in cuts), warning)


def score_metric(values: np.ndarray, ids: np.ndarray, spec: MetricScoring, metric: str) -> tuple[np.ndarray,
                                                                                                  MetricBins]:
    """Scores 1..bins for one metric and the :class:`MetricBins` that explain them.

    Parameters
    ----------
    values : ndarray
        One value per customer in the metric's units (recency in days: fewer is better).
    ids : ndarray of str
        Customer ids, the same length; only ``rank`` uses them, to split ties independently of row order.
    spec : MetricScoring
        Bins and method.
    metric : {"recency", "frequency", "monetary"}

    Returns
    -------
    (ndarray of int8, MetricBins)

    Raises
    ------
    RfmError
        No customers, or missing values (a pipeline bug).
    """
    n = spec.bins
    x = np.asarray(values, dtype="float64")
    if len(x) == 0:
        raise RfmError("There are no customers to score. Check the ledger: every row was dropped.")
    if np.isnan(x).any():
        raise RfmError(f"{metric} has missing values; this is a bug in the data pipeline, please report it.")
    name = metric.capitalize()
    g = -x if metric == "recency" else x  # larger is better from here on
    distinct = len(np.unique(g))
    warning = None
    cuts: np.ndarray | tuple[float, ...] = ()
    method = spec.method
    if method == "thresholds":
        cuts = np.asarray(spec.edges, dtype="float64")
        below = np.searchsorted(cuts, x, side="left")  # edges strictly below the value, in the metric's units
        scores = (n - below) if metric == "recency" else (below + 1)
        used = "thresholds"
        empty = [str(s) for s in range(1, n + 1) if not (scores == s).any()]
        if empty:
            warning = f"{name}: no customer falls in score(s) {', '.join(empty)} with these thresholds."
    elif distinct == 1:
        scores = np.full(len(x), n, dtype=np.int64)
        used = "distinct" if method == "auto" else method
        warning = (f"{name}: every customer has the same value ({_fmt(float(x[0]))}), so it cannot tell customers "
                   f"apart; everyone scores {n}.")
    elif method == "rank":
        scores = _rank(g, ids, n)
        used = "rank"
        tied = _tied_across(x, scores)
        if tied:
            warning = (f"{name}: {tied:,} customers share a value with a customer in another score; rank scoring "
                       "split those ties by customer id (equal values, different scores).")
    else:
        q_scores, cuts = _quantile(g, n)
        ordered = np.sort(g)
        # Customers sharing a value that sits on a cut point: ties are what empties quantile scores.
        tie_at_cut = bool(((np.searchsorted(ordered, cuts, "right") - np.searchsorted(ordered, cuts, "left")) >= 2)
                          .any())
        quantile_used = len(np.unique(q_scores))
        if method == "distinct" or (method == "auto" and tie_at_cut and quantile_used < min(n, distinct)):
            scores, used = _distinct(g, n), "distinct"
            if distinct < n:
                warning = (f"{name}: only {distinct} distinct values, so {distinct} of the {n} scores are used "
                           f"({', '.join(str(s) for s in sorted(set(scores.tolist())))}).")
        else:
            scores, used = q_scores, "quantile"
            if quantile_used < n:
                empty = [str(s) for s in range(1, n + 1) if not (scores == s).any()]
                if tie_at_cut and quantile_used < min(n, distinct):
                    why = ("many customers share the values at the quantile edges; the auto or distinct method uses "
                           "every score the data allows")
                elif distinct < n:
                    why = f"there are only {distinct} distinct values for {n} scores"
                else:
                    why = (f"with {len(x):,} customers, values that sit exactly on a quantile edge take the score of "
                           "the nearer end")
                warning = f"{name}: {n} bins asked, {quantile_used} used: score(s) {', '.join(empty)} are empty; {why}."
        if metric == "recency":
            cuts = -cuts[::-1]  # back to days, ascending
    scores = np.asarray(scores, dtype=np.int64)
    info = _bins_info(x, scores, spec, metric, used, cuts, warning)
    return scores.astype(np.int8), info


def suggest_thresholds(values: np.ndarray, ids: np.ndarray, bins: int, metric: str) -> tuple[float, ...]:
    """``bins − 1`` strictly increasing edges to start custom thresholds from: the ``auto`` method's effective edges,
    padded (between the largest edge and the largest value, or above it) when the data has fewer distinct values.
    """
    _, info = score_metric(values, ids, MetricScoring(bins), metric)
    edges = list(info.edges)
    top = float(np.max(values))
    while len(edges) < bins - 1:
        last = edges[-1] if edges else float(np.min(values))
        edges.append((last + top) / 2 if top > last and (last + top) / 2 > last else last + 1.0)
    return tuple(edges)


def _with_rfm_string(table: pd.DataFrame, bins: dict[str, MetricBins]) -> None:
    sep = "" if max(b.bins for b in bins.values()) < 10 else "-"
    table[RFM_SCORE] = (table[R_SCORE].astype(str) + sep + table[F_SCORE].astype(str) + sep
                        + table[M_SCORE].astype(str))


def score(customers: pd.DataFrame, settings: ScoringSettings | None = None, *, warn: bool = True) -> ScoreResult:
    """Add ``r_score``, ``f_score``, ``m_score`` and ``rfm_score`` to the per-customer table.

    Parameters
    ----------
    customers : DataFrame
        One row per customer, from :func:`rfm_core.aggregate.aggregate` (needs ``customer_id``, ``recency_days``,
        ``frequency``, ``monetary``). Not modified.
    settings : ScoringSettings
        Bins and method per metric.
    warn : bool
        Also emit each binning warning as an :class:`RfmWarning` (they are always in the result).

    Returns
    -------
    ScoreResult
        A copy of the table with the four score columns, and a :class:`MetricBins` per metric.
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
    _with_rfm_string(table, bins)
    return ScoreResult(table, bins)


def rescore(customers: pd.DataFrame, bins: Mapping[str, MetricBins]) -> ScoreResult:
    """Score a per-customer table with bins fixed elsewhere (for example at an earlier date: *frozen edges*).

    Each metric is scored with :meth:`MetricBins.rescore`; the returned bins describe the new customers (sizes and
    ranges) under the same method, bin count and cut points.

    Raises
    ------
    ConfigError
        When a metric has no bins.
    """
    table = customers.copy()
    out: dict[str, MetricBins] = {}
    for metric in METRICS:
        if metric not in bins:
            raise ConfigError(f"No frozen bins for {metric}.")
        info = bins[metric]
        x = table[METRIC_COLUMNS[metric]].to_numpy(dtype="float64")
        scores = info.rescore(x).astype(np.int64)
        table[SCORE_COLUMNS[metric]] = scores.astype(np.int8)
        spec = MetricScoring(info.bins)
        fixed = _bins_info(x, scores, spec, metric, info.method_used, info.cuts, None)
        out[metric] = MetricBins(metric, f"frozen {info.method}", info.method_used, info.bins, fixed.sizes,
                                 fixed.lows, fixed.highs, info.cuts, None)
    _with_rfm_string(table, out)
    return ScoreResult(table, out)
