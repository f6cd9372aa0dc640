"""Clean stage: every input row is used or dropped with a named reason; the ledger sums to the input rows.

Reasons are tested in the order of :data:`REASONS`; a row takes the first that applies, so the ledger counts each
row once. The order only decides which reason a row is filed under, never whether it is used.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .columns import AMOUNT, COUNTRY, CUSTOMER_ID, INVOICE_DATE, IS_RETURN, QUANTITY, STOCK_CODE, UNIT_PRICE
from .mapping import DUPLICATE, MappedTable
from .orders import CANCELLATION, OUTCOME, cancelled_in_full
from .settings import CleaningPolicy

__all__ = [
    "CANCELLATION_REASON",
    "CANCELLED_IN_FULL",
    "IS_RETURN",
    "OUTCOME_REASONS",
    "REASONS",
    "RETURN_REASON",
    "UNKNOWN_CUSTOMER",
    "USED",
    "USED_REASONS",
    "CleanResult",
    "clean",
    "dropped_rows",
    "rows_used",
]

MAX_ABS_NUMBER = 1e300
USED = "used"
USED_RETURN = "used: return netted against monetary"
UNKNOWN_CUSTOMER = "(unknown)"
CANCELLED_IN_FULL = "order cancelled in full"
CANCELLATION_REASON = "cancellation (C + invoice number)"
RETURN_REASON = "return (quantity or amount negative)"

#: The ledger reason for each platform outcome (rfm_core.platforms.OUTCOMES), in the same order.
OUTCOME_REASONS: tuple[str, ...] = (
    "order cancelled (shop status)",
    "order voided (shop status)",
    "order refunded in full",
    "payment failed (shop status)",
    "order not paid (shop status)",
)

#: The ledger reasons under which a row counts as used (everything else is a drop).
USED_REASONS: tuple[str, ...] = (USED, USED_RETURN)

#: Ledger reasons in the order they are tested.
REASONS: tuple[str, ...] = (
    USED,
    USED_RETURN,
    "date missing or unreadable",
    "dated after today",
    "quantity, price or amount missing or not a number",
    "no customer id",
    "exact duplicate line",
    "unit price zero or negative",
    *OUTCOME_REASONS,
    CANCELLED_IN_FULL,
    CANCELLATION_REASON,
    RETURN_REASON,
    "return from a customer with no purchase",
    "before the date window",
    "after the date window",
    "country not selected",
)


@dataclass(frozen=True)
class CleanResult:
    """Used transactions, the ledger, and each input row's reason.

    ``transactions`` keeps the input's index (the row number in the file, from 0) and adds ``is_return``.
    ``ledger`` has columns ``reason, rows, share`` with one row per reason that occurred, ``used`` first.
    ``reasons`` is a categorical with one entry per input row.
    """

    transactions: pd.DataFrame
    ledger: pd.DataFrame
    reasons: pd.Series
    input_rows: int


def clean(mapped: MappedTable, policy: CleaningPolicy | None = None) -> CleanResult:
    """Apply the cleaning policy to mapped transactions.

    Parameters
    ----------
    mapped : MappedTable
        From :func:`rfm_core.mapping.apply_mapping`.
    policy : CleaningPolicy
        Which rows to drop; see its fields.

    Returns
    -------
    CleanResult
    """
    policy = policy or CleaningPolicy()
    f = mapped.frame
    n = len(f)
    code = np.full(n, -1, dtype=np.int8)  # -1: not yet decided

    def mark(mask: np.ndarray | pd.Series, reason: str) -> None:
        m = np.asarray(mask, dtype=bool) & (code == -1)
        code[m] = REASONS.index(reason)

    mark(f[INVOICE_DATE].isna(), "date missing or unreadable")
    if policy.drop_future:
        mark(f[INVOICE_DATE] >= pd.Timestamp(future_from(policy)), "dated after today")
    numeric = [c for c in (QUANTITY, UNIT_PRICE, AMOUNT) if c in f.columns]
    # Usable numbers lie within +-1e300: this excludes missing, NaN, +-inf and overflowed products alike (the SQL
    # engines use the same test, so every engine files the same rows here).
    usable = (f[numeric].abs() <= MAX_ABS_NUMBER).all(axis=1)
    mark(~usable, "quantity, price or amount missing or not a number")
    customers = f[CUSTOMER_ID]
    if policy.drop_missing_customer:
        mark(customers.isna(), "no customer id")
    else:
        customers = customers.cat.add_categories([UNKNOWN_CUSTOMER]).fillna(UNKNOWN_CUSTOMER)
    if policy.drop_duplicates:
        mark(f[DUPLICATE], "exact duplicate line")
    if policy.drop_nonpositive_price and UNIT_PRICE in f.columns:
        mark(f[UNIT_PRICE] <= 0, "unit price zero or negative")

    if OUTCOME in f.columns:  # a platform's statuses and refunds (rfm_core.orders.prepare_orders)
        outcome = f[OUTCOME].to_numpy()
        for i, reason in enumerate(OUTCOME_REASONS):
            mark(outcome == i, reason)

    cancelled = f[CANCELLATION].to_numpy(dtype=bool) if CANCELLATION in f.columns else np.zeros(n, dtype=bool)
    returned = (f[QUANTITY] < 0).to_numpy() if QUANTITY in f.columns else (f[AMOUNT] < 0).to_numpy()
    dates = f[INVOICE_DATE]
    in_scope = np.ones(n, dtype=bool)
    if policy.start is not None:
        in_scope &= (dates >= pd.Timestamp(policy.start)).to_numpy()
    if policy.end is not None:
        in_scope &= (dates < pd.Timestamp(policy.end) + pd.Timedelta(days=1)).to_numpy()
    if policy.countries and COUNTRY in f.columns:
        in_scope &= f[COUNTRY].isin(policy.countries).to_numpy()
    # Cancellations and returns are matched to the orders they reverse among the lines that would be used: an
    # order cancelled in full is no purchase under either returns policy.
    tagged = f.assign(**{CUSTOMER_ID: customers})
    gone, _ = cancelled_in_full(tagged, (code == -1) & in_scope, cancelled | returned,
                                f[STOCK_CODE] if STOCK_CODE in f.columns else None)
    mark(gone, CANCELLED_IN_FULL)
    if policy.returns == "exclude":
        mark(cancelled, CANCELLATION_REASON)
        mark(returned, RETURN_REASON)

    if policy.start is not None:
        mark(dates < pd.Timestamp(policy.start), "before the date window")
    if policy.end is not None:
        mark(dates >= pd.Timestamp(policy.end) + pd.Timedelta(days=1), "after the date window")
    if policy.countries and COUNTRY in f.columns:
        mark(~f[COUNTRY].isin(policy.countries), "country not selected")

    if policy.returns == "net":
        # Returns inside the window and countries are netted against their customer's purchases; a customer who
        # only returned is not a customer.
        mark(cancelled | returned, USED_RETURN)
        buyers = set(customers[code == -1].dropna().unique())
        orphan = (code == REASONS.index(USED_RETURN)) & ~customers.isin(buyers).to_numpy()
        code[orphan] = REASONS.index("return from a customer with no purchase")
    code[code == -1] = REASONS.index(USED)

    used = (code == REASONS.index(USED)) | (code == REASONS.index(USED_RETURN))
    keep = [c for c in f.columns if c not in (DUPLICATE, OUTCOME, CANCELLATION)]
    tx = f.loc[used, keep].copy()
    tx[CUSTOMER_ID] = customers[used].cat.remove_unused_categories()
    tx[IS_RETURN] = code[used] == REASONS.index(USED_RETURN)
    for col in tx.select_dtypes("category").columns:
        tx[col] = tx[col].cat.remove_unused_categories()

    reasons = pd.Series(pd.Categorical.from_codes(code, categories=pd.Index(list(REASONS))), index=f.index,
                        name="reason")
    counts = np.bincount(code, minlength=len(REASONS))
    ledger = pd.DataFrame({"reason": list(REASONS), "rows": counts})
    ledger = ledger[(ledger["rows"] > 0) | (ledger["reason"] == USED)].reset_index(drop=True)
    ledger["share"] = ledger["rows"] / max(n, 1)
    return CleanResult(tx, ledger, reasons, n)


def rows_used(ledger: pd.DataFrame) -> int:
    """The number of input rows used, from a ledger (``reason, rows, ...``): the rows under :data:`USED_REASONS`.

    The one definition of "rows used" for the CLI summary, the Data page and the exports.
    """
    return int(ledger.loc[ledger["reason"].isin(USED_REASONS), "rows"].sum())


def future_from(policy: CleaningPolicy) -> dt.date:
    """The first day that counts as the future: the day after ``policy.today`` (default: today)."""
    return (policy.today or dt.date.today()) + dt.timedelta(days=1)


def dropped_rows(mapped: MappedTable, result: CleanResult) -> pd.DataFrame:
    """The input rows that were not used, as they were in the file, with their line number and reason."""
    mask = ~result.reasons.isin(USED_REASONS).to_numpy()
    raw = mapped.source.frame.loc[mask]
    out = raw.copy()
    out.insert(0, "reason", result.reasons[mask].astype(str).to_numpy())
    out.insert(0, "row", raw.index.to_numpy() + 1)
    return out.reset_index(drop=True)
