"""Aggregate stage: transactions to one row per customer. The one expensive step, behind an engine seam.

:class:`Aggregator` is the contract: pandas here, the same definitions as SQL in DuckDB and Spark
(:mod:`rfm_core.engines`). Every engine returns :data:`CUSTOMER_COLUMNS`, sorted by ``customer_id``, so their
outputs can be compared row for row.

Definitions (see DOCUMENTATION.md): a *purchase* is a used line that is not a return. ``frequency`` is the
number of distinct invoices with a purchase; ``monetary`` the sum of line revenue over used lines (returns
included, negative, only when they are netted); ``recency_days`` the calendar days from the date of the last
purchase to the analysis date; ``tenure_days`` the same from the first purchase.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from .clean import IS_RETURN
from .columns import (
    AMOUNT,
    AVG_ORDER_VALUE,
    COUNTRY,
    CUSTOMER_ID,
    FIRST_PURCHASE,
    FREQUENCY,
    INVOICE_DATE,
    INVOICE_ID,
    LAST_PURCHASE,
    MONETARY,
    RECENCY_DAYS,
    TENURE_DAYS,
)
from .errors import RfmError

__all__ = [
    "CUSTOMER_COLUMNS",
    "Aggregator",
    "PandasAggregator",
    "aggregate",
    "default_as_of",
    "exact_group_sums",
    "resolve_as_of",
]

CUSTOMER_COLUMNS: tuple[str, ...] = (
    CUSTOMER_ID,
    RECENCY_DAYS,
    FREQUENCY,
    MONETARY,
    FIRST_PURCHASE,
    LAST_PURCHASE,
    TENURE_DAYS,
    AVG_ORDER_VALUE,
)


@runtime_checkable
class Aggregator(Protocol):
    """Turns transactions into the per-customer table; implementations must agree with :class:`PandasAggregator`."""

    name: str

    def customers(self, transactions: pd.DataFrame, as_of: dt.date) -> pd.DataFrame: ...


def resolve_as_of(latest: pd.Timestamp | None, as_of: dt.date | None = None) -> dt.date:
    """The analysis date for data whose latest used purchase is ``latest``: ``as_of`` when given (it must not be
    before that purchase), else the day after it, so a purchase on the last day has recency 1.

    Every engine resolves the date here, so they agree on the default and on the error.
    """
    if latest is None or pd.isna(latest):
        raise RfmError("No rows are left after cleaning, so there is nothing to analyse. Check the ledger.")
    latest = pd.Timestamp(latest)
    if as_of is None:
        return (latest.normalize() + pd.Timedelta(days=1)).date()
    if latest >= pd.Timestamp(as_of) + pd.Timedelta(days=1):
        raise RfmError(
            f"The analysis date {as_of} is before the latest purchase ({latest:%Y-%m-%d}). Choose a later "
            "analysis date, or end the date window on or before it."
        )
    return as_of


def _latest_purchase(transactions: pd.DataFrame) -> pd.Timestamp | None:
    """The latest date of a purchase line (netted returns are not purchases, as in the SQL engines)."""
    tx = transactions[~transactions[IS_RETURN]] if IS_RETURN in transactions.columns else transactions
    return tx[INVOICE_DATE].max() if len(tx) else None


def default_as_of(transactions: pd.DataFrame) -> dt.date:
    """The day after the latest purchase date in ``transactions`` (a netted return dated later does not count)."""
    return resolve_as_of(_latest_purchase(transactions))


def _days_to(as_of: dt.date, dates: np.ndarray) -> np.ndarray:
    day_ns = 86_400 * 10**9
    as_of_day = pd.Timestamp(as_of).value // day_ns
    return as_of_day - dates.astype("datetime64[ns]").view("int64") // day_ns


class PandasAggregator:
    """The reference implementation: categorical codes, one sort and ``numpy.bincount``; monetary summed exactly
    (:func:`exact_group_sums`, one :func:`math.fsum` per customer)."""

    name = "pandas"

    def customers(self, transactions: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
        tx = transactions
        cust = tx[CUSTOMER_ID]
        if not isinstance(cust.dtype, pd.CategoricalDtype):
            cust = cust.astype("category")
        names = cust.cat.categories
        codes = cust.cat.codes.to_numpy().astype(np.int64)
        n = len(names)
        purchase = ~tx[IS_RETURN].to_numpy() if IS_RETURN in tx.columns else np.ones(len(tx), dtype=bool)
        dates = tx[INVOICE_DATE].to_numpy().astype("datetime64[ns]").view("int64")

        # One sort of the lines by customer, then date, then file order serves the first and last purchase, the
        # country of the latest purchase (ties: the later line in the file) and the exact monetary sums.
        order = np.lexsort((dates, codes))
        bought = order[purchase[order]]
        first = np.full(n, np.iinfo(np.int64).max)
        last = np.full(n, np.iinfo(np.int64).min)
        _group_min_max(codes[bought], dates[bought], first, last)

        inv = tx[INVOICE_ID]
        inv_codes = (inv.cat.codes if isinstance(inv.dtype, pd.CategoricalDtype) else
                     pd.Series(pd.factorize(inv)[0])).to_numpy().astype(np.int64)[purchase]
        n_inv = int(inv_codes.max()) + 1 if len(inv_codes) else 1
        pairs = np.unique(codes[purchase] * n_inv + inv_codes)
        frequency = np.bincount(pairs // n_inv, minlength=n)
        monetary = exact_group_sums(codes[order], tx[AMOUNT].to_numpy(dtype="float64")[order], n)

        has = frequency > 0
        out = pd.DataFrame({
            CUSTOMER_ID: pd.Series(names.astype(str), dtype="str")[has].to_numpy(),
            RECENCY_DAYS: _days_to(as_of, last[has].view("datetime64[ns]")).astype("int64"),
            FREQUENCY: frequency[has].astype("int64"),
            MONETARY: monetary[has],
            FIRST_PURCHASE: first[has].view("datetime64[ns]"),
            LAST_PURCHASE: last[has].view("datetime64[ns]"),
        })
        out[TENURE_DAYS] = _days_to(as_of, first[has].view("datetime64[ns]")).astype("int64")
        out[AVG_ORDER_VALUE] = out[MONETARY] / out[FREQUENCY]
        if COUNTRY in tx.columns:
            out[COUNTRY] = _last_country(tx, codes, bought, n)[has]
        return out.sort_values(CUSTOMER_ID, kind="stable").reset_index(drop=True)


def _group_min_max(codes: np.ndarray, values: np.ndarray, first: np.ndarray, last: np.ndarray) -> None:
    """``first``/``last`` of each group from ``codes`` sorted, and ``values`` ascending within each group."""
    if not len(codes):
        return
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    ends = np.r_[starts[1:], len(codes)] - 1
    first[codes[starts]] = values[starts]
    last[codes[ends]] = values[ends]


def exact_group_sums(codes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """The sum of each group's values, exactly rounded: the same total, bit for bit, whatever the order of the lines.

    ``codes`` (ints in ``0..n-1``, sorted) group ``values`` (float64); returns an array of ``n`` sums (0.0 for an
    empty group). Each sum is Python's :func:`math.fsum` (Shewchuk's algorithm: the exact sum of the doubles,
    rounded once), as the Spark plan's sorted compensated sum and DuckDB's ``fsum`` give on such amounts. A plain
    sum in row order (``numpy.bincount``) made ten lines of 0.1 total 0.9999999999999999 but one line of 1.0 total
    1.0, and 0.1 + 0.2 + 0.3 differ from 0.3 + 0.2 + 0.1: customers with the same spend fell on both sides of a
    quantile edge, and pandas and DuckDB scored them differently.
    """
    sums = np.zeros(n)
    ends = np.cumsum(np.bincount(codes, minlength=n)).tolist()
    vals = values.tolist()
    start = 0
    for group, end in enumerate(ends):
        if end > start:
            sums[group] = math.fsum(vals[start:end])
        start = end
    return sums


def _last_country(tx: pd.DataFrame, codes: np.ndarray, bought: np.ndarray, n: int) -> np.ndarray:
    """Country of each customer's latest purchase (ties: the later line in the file); ``bought`` are the purchase
    lines' positions sorted by customer, date and position."""
    country = np.asarray(tx[COUNTRY].astype(object))
    out = np.full(n, None, dtype=object)
    out[codes[bought]] = country[bought]  # later assignments win: the last purchase per customer
    return out


def aggregate(
    transactions: pd.DataFrame,
    as_of: dt.date | None = None,
    engine: Aggregator | None = None,
) -> pd.DataFrame:
    """One row per customer with :data:`CUSTOMER_COLUMNS` (plus ``country`` when known).

    Parameters
    ----------
    transactions : DataFrame
        Used rows from :func:`rfm_core.clean.clean`.
    as_of : date, optional
        Analysis date; default :func:`default_as_of`. Purchases after it are an error, not silently negative.
    engine : Aggregator, optional
        Default :class:`PandasAggregator`.
    """
    latest = _latest_purchase(transactions)
    return (engine or PandasAggregator()).customers(transactions, resolve_as_of(latest, as_of))
