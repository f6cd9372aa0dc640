"""How customers move over time: segment migration between two analysis dates, and acquisition cohorts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from .aggregate import aggregate
from .clean import IS_RETURN
from .columns import AMOUNT, CUSTOMER_ID, INVOICE_DATE, MONETARY, SEGMENT
from .errors import RfmError
from .pipeline import Segmentation, segment_customers, segment_scored
from .score import rescore
from .segment import DEFAULT_RULES, RuleSet, role_rank
from .settings import ScoringSettings

__all__ = ["MODE_SENTENCES", "NEW", "Cohorts", "Migration", "cohorts", "migration", "segments_at", "segments_by_month"]

NEW = "(new since then)"
#: What each migration mode means, in one plain sentence (the Migration page shows it).
MODE_SENTENCES = {
    "re-estimated": "Re-estimated edges: each date is scored against the customers of that date, exactly as Overview "
                    "would show it, so a move means a customer changed relative to everyone else.",
    "frozen": "Frozen edges: the later date is scored with the earlier date's score ranges, so a move means a "
              "customer's own recency, frequency or spend crossed a fixed edge, and time passing alone moves "
              "customers who did not buy down in recency.",
}


@dataclass(frozen=True)
class Migration:
    """Customers segmented at two dates: their segments then and now, the flows and who moved down.

    ``customers`` has one row per customer known at the later date: ``customer_id, segment_now, monetary,
    segment_then`` (``(new since then)`` for customers first seen after ``earlier``), ``revenue_between`` (what they
    spent after ``earlier`` up to ``later``), ``bought_between`` (bool) and ``moved`` (``up``, ``down``, ``stayed``,
    ``sideways``, ``new``). ``matrix`` counts customers from each earlier segment (rows) to each later one (columns);
    its column sums are the later date's segment sizes. ``gap_days`` is the number of days between the dates.
    """

    customers: pd.DataFrame
    flows: pd.DataFrame
    matrix: pd.DataFrame
    earlier: dt.date
    later: dt.date
    thresholds: str
    then: Segmentation
    now: Segmentation

    @property
    def moved_down(self) -> pd.DataFrame:
        return self.customers[self.customers["moved"] == "down"]

    @property
    def gap_days(self) -> int:
        return (self.later - self.earlier).days

    @property
    def down_without_buying(self) -> int:
        """Customers who moved down and bought nothing between the dates: only time (and others) moved them."""
        down = self.moved_down
        return int((~down["bought_between"]).sum())

    def time_note(self) -> str:
        """One sentence on the share of downward moves that reflect only the passage of time."""
        down = len(self.moved_down)
        idle = self.down_without_buying
        if not down:
            return "Nobody moved down."
        if self.thresholds == "frozen":
            return (f"With frozen edges, the recency of every customer grew by the {self.gap_days:,} days between the "
                    f"dates: {idle:,} of the {down:,} customers who moved down bought nothing in between, so their "
                    "move reflects only the passage of time.")
        return (f"{idle:,} of the {down:,} customers who moved down bought nothing between the dates: they fell "
                "behind customers who did buy, and their recency grew with the days that passed.")


def _upto(transactions: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """The purchases dated on or before ``day`` (what an analysis dated ``day`` can see)."""
    return transactions[transactions[INVOICE_DATE] < pd.Timestamp(day) + pd.Timedelta(days=1)]


def segments_at(transactions: pd.DataFrame, day: dt.date, scoring: ScoringSettings | None = None,
                rules: RuleSet = DEFAULT_RULES) -> Segmentation:
    """The segmentation Overview shows for analysis date ``day``: purchases on or before ``day``, recency counted to
    ``day``, scored and segmented with these settings.

    Raises
    ------
    RfmError
        No purchases on or before ``day``.
    """
    seen = _upto(transactions, day)
    purchases = ~seen[IS_RETURN] if IS_RETURN in seen.columns else pd.Series(True, index=seen.index)
    if seen.empty or not purchases.any():
        raise RfmError(f"No purchases on or before {day}; choose a later date.")
    return segment_customers(aggregate(seen, day), scoring, rules, warn=False)


def migration(transactions: pd.DataFrame, earlier: dt.date, later: dt.date | None = None,
              scoring: ScoringSettings | None = None, rules: RuleSet = DEFAULT_RULES,
              thresholds: Literal["frozen", "re-estimated"] = "re-estimated") -> Migration:
    """Segment customers at ``earlier`` and at ``later`` and follow each one.

    Parameters
    ----------
    transactions : DataFrame
        Cleaned transactions (``customer_id, invoice_id, invoice_date, amount``, optional ``is_return``).
    earlier, later : date
        Analysis dates; each sees the purchases dated on or before it and counts recency to it, as Overview does
        for that analysis date. ``later`` defaults to the day after the last purchase (Overview's default).
    scoring, rules
        The same settings as Overview.
    thresholds : {"re-estimated", "frozen"}
        ``re-estimated`` (default): the later column is exactly Overview's segmentation at ``later``.
        ``frozen``: the later date is scored with the earlier date's bins (:func:`rfm_core.score.rescore`).

    Returns
    -------
    Migration
        Up/down compare the segments' roles (:func:`rfm_core.segment.role_rank`): a move to a higher-ranked role is
        ``up``; between equal or unranked (``other``) roles it is ``sideways``.

    Raises
    ------
    RfmError
        ``earlier`` not before ``later``, or no purchases by ``earlier``.
    """
    scoring = scoring or ScoringSettings()
    tx = transactions
    later = later or (tx[INVOICE_DATE].max().normalize() + pd.Timedelta(days=1)).date()
    if earlier >= later:
        raise RfmError(f"The earlier date ({earlier}) must be before the later one ({later}).")
    try:
        then = segments_at(tx, earlier, scoring, rules)
    except RfmError:
        raise RfmError(f"No purchases on or before {earlier}; choose a later earlier date.") from None
    if thresholds == "frozen":
        now = segment_scored(rescore(aggregate(_upto(tx, later), later), then.scored.bins), rules)
    else:
        now = segments_at(tx, later, scoring, rules)
    a = then.customers[[CUSTOMER_ID, SEGMENT]].rename(columns={SEGMENT: "segment_then"})
    b = now.customers[[CUSTOMER_ID, SEGMENT, MONETARY]].rename(columns={SEGMENT: "segment_now"})
    merged = b.merge(a, on=CUSTOMER_ID, how="left")
    merged["segment_then"] = merged["segment_then"].astype(object).where(merged["segment_then"].notna(), NEW)
    merged["segment_now"] = merged["segment_now"].astype(str)
    between = tx[(tx[INVOICE_DATE] >= pd.Timestamp(earlier) + pd.Timedelta(days=1))
                 & (tx[INVOICE_DATE] < pd.Timestamp(later) + pd.Timedelta(days=1))]
    spent = between.groupby(between[CUSTOMER_ID].astype(str), observed=True)[AMOUNT].sum()
    bought = between[~between[IS_RETURN]] if IS_RETURN in between.columns else between
    merged["revenue_between"] = merged[CUSTOMER_ID].map(spent).fillna(0.0).to_numpy()
    merged["bought_between"] = merged[CUSTOMER_ID].isin(set(bought[CUSTOMER_ID].astype(str))).to_numpy()
    rank_then = merged["segment_then"].map(lambda s: role_rank(rules.role(s)) if s != NEW else None)
    rank_now = merged["segment_now"].map(lambda s: role_rank(rules.role(s)))
    ranked = rank_then.notna() & rank_now.notna()
    diff = (rank_now.where(ranked, 0).astype("float64") - rank_then.where(ranked, 0).astype("float64"))
    merged["moved"] = np.select(
        [merged["segment_then"] == NEW, merged["segment_then"] == merged["segment_now"], ranked & (diff > 0),
         ranked & (diff < 0)],
        ["new", "stayed", "up", "down"], "sideways")
    flows = (merged.groupby(["segment_then", "segment_now"]).agg(customers=(CUSTOMER_ID, "size"),
                                                                  revenue=("revenue_between", "sum"))
             .reset_index())
    matrix = pd.crosstab(merged["segment_then"], merged["segment_now"])
    order_then = [s for s in (*rules.names, NEW) if s in matrix.index]
    order_now = [s for s in rules.names if s in matrix.columns]
    matrix = matrix.reindex(index=order_then, columns=order_now, fill_value=0)
    return Migration(merged, flows, matrix, earlier, later, thresholds, then, now)


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
                         SEGMENT: name, "customers": int(n), "customer_share": int(n) / total if total else 0.0,
                         "revenue": float(spent)})
        month += 1
    out = pd.DataFrame(rows)
    out[SEGMENT] = pd.Categorical(out[SEGMENT], categories=list(rules.names))
    return out
