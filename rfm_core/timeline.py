"""How customers move over time: segment migration between two analysis dates, and acquisition cohorts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from .aggregate import aggregate
from .clean import IS_RETURN
from .columns import AMOUNT, CUSTOMER_ID, INVOICE_DATE
from .errors import RfmError
from .pipeline import segment_customers
from .score import MetricBins
from .segment import DEFAULT_RULES, RuleSet, lint
from .settings import MetricScoring, ScoringSettings

__all__ = ["NEW", "Cohorts", "Migration", "cohorts", "migration", "segment_health", "segments_by_month"]

NEW = "(new since then)"


@dataclass(frozen=True)
class Migration:
    """Customers scored at two dates: their segments then and now, the flows and who moved down."""

    customers: pd.DataFrame
    flows: pd.DataFrame
    matrix: pd.DataFrame
    earlier: dt.date
    later: dt.date
    thresholds: str

    @property
    def moved_down(self) -> pd.DataFrame:
        return self.customers[self.customers["moved"] == "down"]


def segment_health(rules: RuleSet, bins: tuple[int, int, int]) -> dict[str, float]:
    """A value order for segments: the mean R+F+M of the score cells each segment wins (fallback: 0)."""
    cells = lint(rules, bins).cells
    health = (cells.assign(total=cells["r"] + cells["f"] + cells["m"]).groupby("segment")["total"].mean())
    out = {name: float(health.get(name, 0.0)) for name in rules.names}
    return out


def _frozen(settings: ScoringSettings, scored: Mapping[str, MetricBins]) -> ScoringSettings:
    specs = {}
    for metric in ("recency", "frequency", "monetary"):
        info = scored[metric]
        edges = tuple(sorted(set(info.edges)))
        spec = settings.for_metric(metric)
        if len(edges) != spec.bins - 1:  # collapsed quantile edges: keep the bins that were effective
            specs[metric] = MetricScoring(len(edges) + 1, "thresholds", edges) if edges else MetricScoring(2)
        else:
            specs[metric] = MetricScoring(spec.bins, "thresholds", edges)
    return ScoringSettings(**specs)


def migration(transactions: pd.DataFrame, earlier: dt.date, later: dt.date | None = None,
              scoring: ScoringSettings | None = None, rules: RuleSet = DEFAULT_RULES,
              thresholds: Literal["frozen", "re-estimated"] = "frozen") -> Migration:
    """Score customers with the purchases up to ``earlier`` and up to ``later``, and follow each one.

    ``earlier`` and ``later`` are analysis dates (recency counts to them; purchases on or after them are not
    seen). ``frozen`` scores the later date with the earlier date's edges, so a move means the customer changed;
    ``re-estimated`` recomputes the quantiles, so a move is relative to everyone else. Customers whose first
    purchase is after ``earlier`` appear as coming from ``(new since then)``. Revenue on a flow is what those
    customers spent between the two dates.
    """
    scoring = scoring or ScoringSettings()
    tx = transactions
    later = later or (tx[INVOICE_DATE].max().normalize() + pd.Timedelta(days=1)).date()
    if earlier >= later:
        raise RfmError(f"The earlier date ({earlier}) must be before the later one ({later}).")
    before = tx[tx[INVOICE_DATE] < pd.Timestamp(earlier)]
    upto = tx[tx[INVOICE_DATE] < pd.Timestamp(later)]
    if before.empty or (~before.get(IS_RETURN, pd.Series(False, index=before.index))).sum() == 0:
        raise RfmError(f"No purchases before {earlier}; choose a later earlier date.")
    then = segment_customers(aggregate(before, earlier), scoring, rules, warn=False)
    later_scoring = _frozen(scoring, then.scored.bins) if thresholds == "frozen" else scoring
    now = segment_customers(aggregate(upto, later), later_scoring, rules, warn=False)
    a = then.customers[[CUSTOMER_ID, "segment"]].rename(columns={"segment": "segment_then"})
    b = now.customers[[CUSTOMER_ID, "segment", "monetary"]].rename(columns={"segment": "segment_now"})
    merged = b.merge(a, on=CUSTOMER_ID, how="left")
    merged["segment_then"] = merged["segment_then"].astype(object).where(merged["segment_then"].notna(), NEW)
    merged["segment_now"] = merged["segment_now"].astype(str)
    between = tx[(tx[INVOICE_DATE] >= pd.Timestamp(earlier)) & (tx[INVOICE_DATE] < pd.Timestamp(later))]
    spent = between.groupby(between[CUSTOMER_ID].astype(str), observed=True)[AMOUNT].sum()
    merged["revenue_between"] = merged[CUSTOMER_ID].map(spent).fillna(0.0).to_numpy()
    bins_then = tuple(then.scored.bins[m].bins for m in ("recency", "frequency", "monetary"))
    bins_now = tuple(now.scored.bins[m].bins for m in ("recency", "frequency", "monetary"))
    h_then = segment_health(rules, bins_then)  # type: ignore[arg-type]
    h_now = segment_health(rules, bins_now)  # type: ignore[arg-type]
    diff = merged["segment_now"].map(h_now) - merged["segment_then"].map(h_then)
    merged["moved"] = np.where(merged["segment_then"] == NEW, "new",
                               np.where(merged["segment_then"] == merged["segment_now"], "stayed",
                                        np.where(diff < 0, "down", "up")))
    flows = (merged.groupby(["segment_then", "segment_now"]).agg(customers=(CUSTOMER_ID, "size"),
                                                                  revenue=("revenue_between", "sum"))
             .reset_index())
    matrix = pd.crosstab(merged["segment_then"], merged["segment_now"])
    order_then = [s for s in (*rules.names, NEW) if s in matrix.index]
    order_now = [s for s in rules.names if s in matrix.columns]
    matrix = matrix.reindex(index=order_then, columns=order_now, fill_value=0)
    return Migration(merged, flows, matrix, earlier, later, thresholds)


@dataclass(frozen=True)
class Cohorts:
    """Monthly acquisition cohorts: size, retention by months since first purchase, revenue."""

    retention: pd.DataFrame
    revenue: pd.DataFrame
    sizes: pd.Series


def cohorts(transactions: pd.DataFrame) -> Cohorts:
    """Cohort = month of first purchase; ``retention[c][k]`` = share of cohort c buying in its k-th month after.

    ``revenue[c][k]`` is the cohort's revenue in that month. Month 0 is the month of the first purchase.
    """
    tx = transactions
    if IS_RETURN in tx.columns:
        tx = tx[~tx[IS_RETURN]]
    if tx.empty:
        raise RfmError("No purchases to build cohorts from.")
    # Months as integers (year * 12 + month - 1): grouping on them is fast; labels are made for the cohorts only.
    month = (tx[INVOICE_DATE].dt.year * 12 + tx[INVOICE_DATE].dt.month - 1).to_numpy()
    frame = pd.DataFrame({"customer": tx[CUSTOMER_ID].cat.codes.to_numpy() if hasattr(tx[CUSTOMER_ID], "cat")
                          else pd.factorize(tx[CUSTOMER_ID])[0], "month": month, AMOUNT: tx[AMOUNT].to_numpy()})
    first_month = frame.groupby("customer")["month"].min()
    frame["cohort"] = first_month.reindex(frame["customer"]).to_numpy()
    frame["age"] = frame["month"] - frame["cohort"]
    active = frame.groupby(["cohort", "age"])["customer"].nunique().unstack(fill_value=0)
    sizes = first_month.value_counts().sort_index()
    ages = range(int(frame["age"].max()) + 1)
    active = active.reindex(columns=ages, fill_value=0)
    retention = active.div(sizes.reindex(active.index), axis=0).astype("float64")
    revenue = (frame.groupby(["cohort", "age"])[AMOUNT].sum().unstack().reindex(columns=ages)
               .fillna(0.0).astype("float64"))
    # Months after the end of the data are unknown, not zero.
    last = int(frame["month"].max())
    observable = np.array([[last - int(c) >= k for k in ages] for c in retention.index])
    retention = retention.where(observable)
    revenue = revenue.where(observable)

    def label(m: int) -> str:
        return f"{m // 12:04d}-{m % 12 + 1:02d}"

    retention.index = [label(int(c)) for c in retention.index]
    revenue.index = [label(int(c)) for c in revenue.index]
    sizes.index = [label(int(c)) for c in sizes.index]
    return Cohorts(retention, revenue, sizes)


def segments_by_month(transactions: pd.DataFrame, scoring: ScoringSettings | None = None,
                      rules: RuleSet = DEFAULT_RULES, as_of: dt.date | None = None) -> pd.DataFrame:
    """Segment sizes at each month end, each scored as the Overview would have shown it on that date.

    At the end of month M the analysis date is the first day of the next month: purchases up to and including
    M's last day count, recency is measured to the next day (so a purchase on the last day has recency 1, as with
    the default analysis date), and the scores are re-estimated on the customers known then, with the same
    ``scoring`` and ``rules``. The last point is the analysis date itself (``as_of``, default the day after the
    last purchase) when that falls before its month ends.

    Parameters
    ----------
    transactions : DataFrame
        Used rows (:attr:`rfm_core.clean.CleanResult.transactions`).
    scoring, rules
        The settings of the current analysis.
    as_of : date, optional
        The current analysis date; purchases on or after it are an error, as for :func:`rfm_core.aggregate`.

    Returns
    -------
    DataFrame
        One row per month and segment (every segment of ``rules``, empty ones with 0), months in order, segments in
        rule order: ``month`` (``"YYYY-MM"``), ``as_of`` (date scored), ``partial`` (True when the data covers only
        part of the month: it starts after the month's first day, or the analysis date is before the month's
        end), ``covered_from`` and ``covered_to`` (the first and last day of the month the data covers),
        ``segment``, ``customers``, ``customer_share`` and ``revenue`` (sum of monetary to that date).

    Raises
    ------
    RfmError
        No purchases, or an analysis date before the last purchase.
    """
    # Imported here, not at the top: this function was added beside migration(), whose imports have another owner.
    from .aggregate import resolve_as_of
    from .columns import INVOICE_ID, MONETARY
    from .score import score
    from .segment import assign_segments

    scoring = scoring or ScoringSettings()
    tx = transactions
    purchase = ~tx[IS_RETURN].to_numpy(dtype=bool) if IS_RETURN in tx.columns else np.ones(len(tx), dtype=bool)
    if not purchase.any():
        raise RfmError("No purchases to follow over time. Check the ledger: every row was dropped.")
    dates = tx[INVOICE_DATE]
    end = resolve_as_of(dates.max(), as_of)
    first = pd.Timestamp(dates[purchase].min()).normalize()
    # Sorting once lets each month's data be a prefix of the table (a slice, not a filtered copy of everything);
    # only the columns the per-customer table needs are kept (the country of the last purchase is not needed).
    needed = [c for c in (CUSTOMER_ID, INVOICE_ID, INVOICE_DATE, AMOUNT, IS_RETURN) if c in tx.columns]
    order = np.argsort(dates.to_numpy(), kind="stable")
    ordered = tx[needed].iloc[order]
    sorted_dates = ordered[INVOICE_DATE].to_numpy()
    bins = (scoring.recency.bins, scoring.frequency.bins, scoring.monetary.bins)
    names = list(rules.names)
    rows = []
    month = first.to_period("M")
    last_month = (pd.Timestamp(end) - pd.Timedelta(days=1)).to_period("M")
    while month <= last_month:
        start, stop = month.start_time.normalize(), (month + 1).start_time.normalize()
        point = min(stop, pd.Timestamp(end))
        upto = ordered.iloc[: int(np.searchsorted(sorted_dates, point.to_datetime64(), side="left"))]
        # The same two steps as segment_customers (score, then the rule table), without its summary and insights.
        scored = score(aggregate(upto, point.date()), scoring, warn=False).table
        codes = assign_segments(scored, rules, bins).cat.codes.to_numpy()
        sizes = np.bincount(codes, minlength=len(names))
        revenue = np.bincount(codes, weights=scored[MONETARY].to_numpy(dtype="float64"), minlength=len(names))
        covered_from = max(start, first)
        partial = bool(covered_from > start or point < stop)
        total = int(sizes.sum())
        for name, n, spent in zip(names, sizes, revenue, strict=True):
            rows.append({"month": str(month), "as_of": point.date(), "partial": partial,
                         "covered_from": covered_from.date(), "covered_to": (point - pd.Timedelta(days=1)).date(),
                         "segment": name, "customers": int(n), "customer_share": int(n) / total if total else 0.0,
                         "revenue": float(spent)})
        month += 1
    out = pd.DataFrame(rows)
    out["segment"] = pd.Categorical(out["segment"], categories=list(rules.names))
    return out
