"""Segment backtest: do the segments predict what customers do next?

Choose a past date D. The customers are segmented as of D from the purchases before D only, at the current
scoring settings and rules (:func:`rfm_core.aggregate.aggregate` with analysis date D, then
:func:`rfm_core.pipeline.segment_customers`). Then, in the window [D, D + window days), each customer's orders
(distinct invoices with a purchase, as in RFM frequency) and revenue (line revenue of the used rows, as in RFM
monetary) are counted. Per segment: the share of customers who bought again, revenue per customer, and lift over
the average of all segmented customers (segment value / overall value). Customers whose first purchase is in the
window are new, not part of any segment, and only counted.

Optionally a purchase model (:mod:`rfm_core.clv`) fitted on the purchases before D predicts each customer's
purchase days in the window, set beside the actual purchase days per segment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .aggregate import aggregate
from .columns import AMOUNT, CUSTOMER_ID, INVOICE_DATE, INVOICE_ID, IS_RETURN, SEGMENT
from .errors import RfmError
from .pipeline import segment_customers
from .segment import DEFAULT_RULES, RuleSet
from .settings import ScoringSettings

__all__ = ["BacktestResult", "backtest"]

BOUGHT_AGAIN = "bought_again"
WINDOW_ORDERS = "window_orders"
WINDOW_REVENUE = "window_revenue"
WINDOW_PURCHASE_DAYS = "window_purchase_days"
PREDICTED_PURCHASE_DAYS = "predicted_purchase_days"


@dataclass(frozen=True)
class BacktestResult:
    """The per-segment outcome table, the per-customer outcomes, and what the window covered.

    ``table`` (one row per segment with customers, in rule order, then a ``All customers`` row): ``segment,
    customers, bought_again`` (customers with an order in the window), ``repeat_rate`` (bought_again /
    customers), ``orders_per_customer``, ``revenue, revenue_per_customer``, ``repeat_lift`` and ``revenue_lift``
    (the segment's rate / the overall rate), and with a model ``purchase_days_per_customer`` and
    ``predicted_purchase_days_per_customer``.
    ``customers``: ``customer_id, segment, window_orders, window_revenue, bought_again`` (+ the model columns).
    """

    table: pd.DataFrame
    customers: pd.DataFrame
    at: dt.date
    window_days: int
    observed_days: int
    new_customers: int
    model: str | None = None

    @property
    def window_end(self) -> dt.date:
        """The first day after the window."""
        return self.at + dt.timedelta(days=self.window_days)

    @property
    def note(self) -> str | None:
        """Why the numbers may understate what a full window would show, when they may."""
        if self.observed_days < self.window_days:
            return (f"The data end {self.observed_days} days into the {self.window_days}-day window: repeat rates "
                    "and revenue are for that shorter span. Choose an earlier date for a full window.")
        return None


def backtest(transactions: pd.DataFrame, at: dt.date, window_days: int = 90, scoring: ScoringSettings | None = None,
             rules: RuleSet = DEFAULT_RULES, *, model: str | None = None, unit: str = "W") -> BacktestResult:
    """Segment the customers as of ``at`` and measure each segment's purchases in the following window.

    Parameters
    ----------
    transactions : DataFrame
        Used rows from :func:`rfm_core.clean.clean` (``customer_id, invoice_id, invoice_date, amount``, optional
        ``is_return``).
    at : date
        The backtest date D: segments use purchases strictly before it; the window starts on it.
    window_days : int
        Length of the window in days (1 to 3650).
    scoring, rules : the current scoring settings and segment rules.
    model : optional ``bgnbd``, ``mbgnbd`` or ``pareto_nbd``: also predict purchase days in the window.
    unit : the model's time unit.

    Returns
    -------
    BacktestResult

    Raises
    ------
    RfmError
        No purchase before ``at``, no data on or after it, or a window length out of range.
    ModelFitError
        The model cannot be fitted on the purchases before ``at``.
    """
    if not 1 <= int(window_days) <= 3650:
        raise RfmError("The backtest window must be 1 to 3650 days.")
    dates = transactions[INVOICE_DATE]
    start = pd.Timestamp(at)
    end = start + pd.Timedelta(days=int(window_days))
    before = transactions[(dates < start).to_numpy()]
    if before.empty or not _purchases(before).any():
        raise RfmError(f"There are no purchases before {at}; choose a later backtest date.")
    last = dates.max()
    if last < start:
        raise RfmError(f"The data end on {last:%Y-%m-%d}, before the backtest date {at}; choose an earlier date so "
                       "that there is something to measure.")
    observed = min(int(window_days), int((last.normalize() - start).days) + 1)

    customers = aggregate(before, at)
    seg = segment_customers(customers, scoring, rules, warn=False)
    table = seg.customers[[CUSTOMER_ID, SEGMENT]].copy()

    window = transactions[((dates >= start) & (dates < end)).to_numpy()]
    ids = window[CUSTOMER_ID].astype(str)
    buys = _purchases(window)
    orders = window.loc[buys, INVOICE_ID].astype(str).groupby(ids[buys].to_numpy()).nunique()
    revenue = window[AMOUNT].groupby(ids.to_numpy()).sum()
    key = table[CUSTOMER_ID].astype(str)
    table[WINDOW_ORDERS] = key.map(orders).fillna(0).astype("int64").to_numpy()
    table[WINDOW_REVENUE] = key.map(revenue).fillna(0.0).to_numpy(dtype="float64")
    table[BOUGHT_AGAIN] = table[WINDOW_ORDERS] > 0
    known = set(key)
    new_customers = len(set(ids[buys].unique()) - known)

    if model is not None:
        table = _with_model(table, before, window, model, unit, start, observed)

    summary = _by_segment(table, rules, model is not None)
    return BacktestResult(summary, table.reset_index(drop=True), start.date(), int(window_days), observed,
                          new_customers, model)


def _purchases(rows: pd.DataFrame) -> np.ndarray:
    if IS_RETURN in rows.columns:
        return ~rows[IS_RETURN].to_numpy(dtype=bool)
    return np.ones(len(rows), dtype=bool)


def _with_model(table: pd.DataFrame, before: pd.DataFrame, window: pd.DataFrame, model: str, unit: str,
                start: pd.Timestamp, observed: int) -> pd.DataFrame:
    from .clv import DAYS_PER_UNIT, T_AGE, T_X, X, fit_model, model_summary
    from .clv.summary import purchase_days

    summary = model_summary(before, (start - pd.Timedelta(days=1)).date(), unit)  # type: ignore[arg-type]
    fitted = fit_model(model, summary, unit)  # type: ignore[arg-type]
    # The model's time runs from the end of the calibration day before D: the window's `observed` days.
    predicted = fitted.expected_purchases(observed / DAYS_PER_UNIT[unit], summary[X], summary[T_X], summary[T_AGE])
    by_id = pd.Series(predicted, index=summary[CUSTOMER_ID].astype(str).to_numpy())
    days = purchase_days(window).groupby(CUSTOMER_ID).size()
    out = table.copy()
    key = out[CUSTOMER_ID].astype(str)
    out[WINDOW_PURCHASE_DAYS] = key.map(days).fillna(0).astype("int64").to_numpy()
    out[PREDICTED_PURCHASE_DAYS] = key.map(by_id).fillna(0.0).to_numpy(dtype="float64")
    return out


def _by_segment(table: pd.DataFrame, rules: RuleSet, with_model: bool) -> pd.DataFrame:
    aggs: dict[str, tuple[str, str]] = {
        "customers": (CUSTOMER_ID, "size"), "bought_again": (BOUGHT_AGAIN, "sum"),
        "orders": (WINDOW_ORDERS, "sum"), "revenue": (WINDOW_REVENUE, "sum"),
    }
    if with_model:
        aggs["purchase_days"] = (WINDOW_PURCHASE_DAYS, "sum")
        aggs["predicted_purchase_days"] = (PREDICTED_PURCHASE_DAYS, "sum")
    seg = table.assign(**{SEGMENT: table[SEGMENT].astype(str)}).groupby(SEGMENT).agg(**aggs)
    order = [n for n in rules.names if n in seg.index] + [n for n in seg.index if n not in rules.names]
    seg = seg.loc[order].reset_index()
    total = pd.DataFrame([{SEGMENT: "All customers", **{c: seg[c].sum() for c in seg.columns if c != SEGMENT}}])
    out = pd.concat([seg, total], ignore_index=True)
    out["customers"] = out["customers"].astype("int64")
    out["bought_again"] = out["bought_again"].astype("int64")
    out["repeat_rate"] = out["bought_again"] / out["customers"]
    out["orders_per_customer"] = out["orders"] / out["customers"]
    out["revenue_per_customer"] = out["revenue"] / out["customers"]
    overall = out.iloc[-1]
    out["repeat_lift"] = out["repeat_rate"] / overall["repeat_rate"] if overall["repeat_rate"] > 0 else np.nan
    out["revenue_lift"] = (out["revenue_per_customer"] / overall["revenue_per_customer"]
                           if overall["revenue_per_customer"] > 0 else np.nan)
    columns = [SEGMENT, "customers", "bought_again", "repeat_rate", "orders_per_customer", "revenue",
               "revenue_per_customer", "repeat_lift", "revenue_lift"]
    if with_model:
        out["purchase_days_per_customer"] = out["purchase_days"] / out["customers"]
        out["predicted_purchase_days_per_customer"] = out["predicted_purchase_days"] / out["customers"]
        columns += ["purchase_days_per_customer", "predicted_purchase_days_per_customer"]
    return out[columns]
