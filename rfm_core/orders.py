"""Orders: what an order is worth and whether it still stands, on top of the mapped lines.

Two steps, each a pure function on whole columns (see DOCUMENTATION.md, "Orders, cancellations and shop
platforms", for the definitions and a worked example):

- :func:`prepare_orders` (called by the mapping stage) decides line revenue (quantity x unit price, or an amount
  column, or an order-level total counted once per order), applies a recognised platform's meaning (order-level
  fields spread over the order, status values that mean refunded / voided / cancelled / failed / not paid,
  discounts and partial refunds netted), and marks the lines that are cancellations by their invoice number
  (``C`` followed by digits, the Online Retail convention). Every choice is said in the reading notes.
- :func:`cancelled_in_full` (called by the clean stage) matches each cancellation or return line to the order
  it reverses (its own order; the order whose number follows the ``C``; else the customer's latest earlier order
  of the same stock code) and finds the orders whose value after their cancellations is zero or less.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .columns import (
    ADJUSTED_TOTAL,
    AMOUNT,
    CANCELLED_AT,
    CUSTOMER_ID,
    DISCOUNT_AMOUNT,
    INVOICE_DATE,
    INVOICE_ID,
    ORDER_STATUS,
    ORDER_TOTAL,
    PAYMENT_STATUS,
    QUANTITY,
    REFUNDED_AMOUNT,
    UNIT_PRICE,
)
from .formatting import counted
from .platforms import CANCELLED, GENERIC_STATUSES, OUTCOMES, REFUNDED, Platform, normalise_status

#: Internal column set by the mapping stage: True for an exact duplicate of an earlier line.
DUPLICATE = "_duplicate"

__all__ = [
    "CANCELLATION",
    "C_NUMBER",
    "LINE_REVENUE_FROM",
    "LINE_REVENUE_NOTE",
    "OUTCOME",
    "TOLERANCE",
    "cancelled_in_full",
    "order_level_amount",
    "prepare_orders",
]

#: Internal column: True for a line that is a cancellation by its invoice number.
CANCELLATION = "_cancellation"
#: Internal column: the platform outcome of the line's order ("" for a purchase), one of platforms.OUTCOMES.
OUTCOME = "_outcome"
#: ``C`` followed by digits only: the Online Retail cancellation numbering (C536379). ``CA-1001`` is not one.
C_NUMBER = re.compile(r"^[Cc][0-9]+$")
#: An order whose value after cancellations is at most this share of its gross value counts as cancelled in full
#: (sums of prices such as 0.1 + 0.2 - 0.3 leave 5.6e-17, not 0).
TOLERANCE = 1e-6


#: The two notes of :func:`prepare_orders` that restate the mapping; every other note is a reading of the data
#: (an order total counted once, 'C' invoices read as cancellations, statuses), which the CLI shows as a guess.
LINE_REVENUE_NOTE = "Line revenue is quantity x unit price."
LINE_REVENUE_FROM = "Line revenue taken from "


def _order_keys(frame: pd.DataFrame) -> np.ndarray:
    """Invoice code per line (-1 without one)."""
    return frame[INVOICE_ID].cat.codes.to_numpy().astype(np.int64)


def _spread(values: pd.Series, inv: np.ndarray) -> pd.Series:
    """Fill each line's missing value with the first value present on a line of the same order."""
    key = pd.Series(np.where(inv >= 0, inv, np.nan), index=values.index)
    filled = values.groupby(key, dropna=True).transform("first")
    return values.where(values.notna(), filled)


def _per_order_first(values: pd.Series, inv: np.ndarray) -> np.ndarray:
    """Each order's first present value (counted once per order), as an array indexed by invoice code."""
    n = int(inv.max()) + 1 if len(inv) and inv.max() >= 0 else 0
    out = np.zeros(n)
    present = values.notna().to_numpy() & (inv >= 0)
    if present.any():
        firsts = pd.Series(values.to_numpy(dtype="float64")[present]).groupby(inv[present]).first()
        out[firsts.index.to_numpy()] = firsts.to_numpy()
    return out


def order_level_amount(amount: pd.Series, inv: np.ndarray, line_value: pd.Series | None = None,
                       duplicate: np.ndarray | None = None) -> int:
    """The number of multi-line orders when ``amount`` is an order-level value, else 0.

    Order-level means: the same on every line of every order with two or more lines (exact duplicate lines,
    ``duplicate``, not counted), and, when quantity x unit price is known (``line_value``), not simply equal to
    it on every line. Without line values at least two multi-line orders are needed, so that two equal-priced
    lines of one order are not taken for a total.
    """
    ok = amount.notna().to_numpy() & (inv >= 0)
    if duplicate is not None:
        ok &= ~duplicate
    if not ok.any():
        return 0
    stats = pd.DataFrame({"inv": inv[ok], "a": amount.to_numpy(dtype="float64")[ok]}).groupby("inv")["a"].agg(
        ["count", "min", "max"])
    multi = stats[stats["count"] >= 2]
    if multi.empty or not bool((multi["min"] == multi["max"]).all()):
        return 0
    if line_value is not None:
        lv = line_value.to_numpy(dtype="float64")[ok]
        if np.allclose(amount.to_numpy(dtype="float64")[ok], lv, rtol=1e-9, atol=1e-9, equal_nan=True):
            return 0
    elif len(multi) < 2:
        return 0
    return len(multi)


def _outcomes(texts: Mapping[str, pd.Series], inv: np.ndarray, platform: Platform | None,
              notes: list[str]) -> np.ndarray:
    n = len(inv)
    found = np.full(n, len(OUTCOMES), dtype=np.int64)  # len(OUTCOMES): no outcome, a purchase
    spread = set(platform.order_level) if platform else set()
    for role in (ORDER_STATUS, PAYMENT_STATUS):
        if role not in texts:
            continue
        raw = texts[role].astype("object").where(texts[role].notna(), None)
        raw = _spread(raw, inv) if role in spread else raw
        table = platform.status_table(role) if platform else dict(GENERIC_STATUSES)
        norm = raw.map(lambda v: None if v is None or str(v).strip() == "" else normalise_status(v))
        ranks = {value: OUTCOMES.index(outcome) for value, outcome in table.items()}
        rank = norm.map(ranks).fillna(len(OUTCOMES)).to_numpy(np.int64)
        found = np.minimum(found, rank)
        counts = norm.value_counts()
        if len(counts):
            parts = [f"{v} ({c}) -> {table.get(str(v), 'purchase')}" for v, c in counts.items()]
            notes.append(f"Statuses in {texts[role].name!r}: {'; '.join(parts)} (lines).")
    if CANCELLED_AT in texts:
        col = texts[CANCELLED_AT]
        raw = col.astype("object").where(col.notna() & (col.astype("string").str.strip() != ""), None)
        raw = _spread(raw, inv) if CANCELLED_AT in spread else raw
        has = raw.notna().to_numpy()
        found = np.where(has, np.minimum(found, OUTCOMES.index(CANCELLED)), found)
        if has.any():
            n = int(has.sum())
            notes.append(f"{counted(n, 'line belongs to an order', 'lines belong to orders')} with a date in "
                         f"{col.name!r}: cancelled, not {'a purchase' if n == 1 else 'purchases'}.")
    return found


def prepare_orders(
    frame: pd.DataFrame,
    numbers: Mapping[str, pd.Series],
    texts: Mapping[str, pd.Series],
    mapping: Mapping[str, str],
    platform: Platform | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Line revenue, a platform's order rules and the cancellation-by-number flag for mapped lines.

    Parameters
    ----------
    frame : DataFrame
        One row per input line with the parsed canonical columns; ``invoice_id`` categorical (present: derived
        from timestamps when the file has none); ``quantity``/``unit_price``/``amount`` as mapped.
    numbers : mapping role -> Series of float
        Parsed numeric order-level roles (discount, refunded amount, order total, adjusted total).
    texts : mapping role -> Series
        Raw order-level text roles (order status, payment status, cancelled-at); ``Series.name`` is the header.
    mapping : mapping role -> header
        The mapping used, for the notes.
    platform : Platform, optional
        The recognised platform.

    Returns
    -------
    (DataFrame, list of str)
        The frame with ``amount`` decided (currency units per line), ``_outcome`` (int8 index into
        :data:`rfm_core.platforms.OUTCOMES`, ``len(OUTCOMES)`` for a purchase) and ``_cancellation`` (bool), and
        the reading notes in the order the decisions were made.
    """
    f = frame.copy()
    notes: list[str] = []
    inv = _order_keys(f)
    if platform is not None:
        for role in platform.order_level:
            if role in f.columns and role in mapping:
                f[role] = _spread(f[role], inv)

    has_lines = QUANTITY in f.columns and UNIT_PRICE in f.columns
    line_value = f[QUANTITY] * f[UNIT_PRICE] if has_lines else None
    if AMOUNT not in f.columns:
        assert line_value is not None  # mapping requires amount or quantity and unit price
        f[AMOUNT] = line_value
        notes.append(LINE_REVENUE_NOTE)
    elif platform is None and (orders := order_level_amount(
            f[AMOUNT], inv, line_value, f[DUPLICATE].to_numpy() if DUPLICATE in f.columns else None)):
        src = mapping[AMOUNT]
        if line_value is not None:
            f[AMOUNT] = line_value
            notes.append(f"{src!r} is the same on every line of each of the {orders} orders with several lines, "
                         "so it is an order total, not line revenue: line revenue is quantity x unit price.")
        else:
            dup = f[DUPLICATE].to_numpy(dtype=bool) if DUPLICATE in f.columns else np.zeros(len(f), dtype=bool)
            counted = (inv >= 0) & ~dup  # an exact duplicate is dropped, so it takes no share of the total
            per_line = np.bincount(inv[counted], minlength=int(inv.max()) + 1)[np.maximum(inv, 0)]
            per_line = np.maximum(per_line, 1)
            f[AMOUNT] = f[AMOUNT] / np.where(inv >= 0, per_line, 1)
            notes.append(f"{src!r} is the same on every line of each of the {orders} orders with several lines, "
                         "so it is an order total: it counts once per order, divided equally among its lines.")
    else:
        notes.append(f"{LINE_REVENUE_FROM}{mapping[AMOUNT]!r}.")

    outcome = _outcomes(texts, inv, platform, notes)
    if platform is not None or any(r in numbers for r in (DISCOUNT_AMOUNT, REFUNDED_AMOUNT, ADJUSTED_TOTAL)):
        f[AMOUNT], outcome = _net_order_adjustments(f[AMOUNT], inv, numbers, outcome, notes)
    f[OUTCOME] = outcome.astype(np.int8)
    f[CANCELLATION] = _cancellation_by_number(f, notes)
    return f, notes


def _net_order_adjustments(amount: pd.Series, inv: np.ndarray, numbers: Mapping[str, pd.Series],
                           outcome: np.ndarray, notes: list[str]) -> tuple[pd.Series, np.ndarray]:
    """Subtract order-level discounts and refunds, spread over the order's lines in proportion to their value.

    An order whose refund leaves nothing is refunded in full (an outcome, not a purchase); a discount alone
    never makes an order disappear (a free order is a purchase of value zero).
    """
    n_orders = int(inv.max()) + 1 if len(inv) and inv.max() >= 0 else 0
    if n_orders == 0:
        return amount, outcome
    valid = (inv >= 0) & np.isfinite(amount.to_numpy(dtype="float64"))
    gross = np.bincount(inv[valid], weights=amount.to_numpy(dtype="float64")[valid], minlength=n_orders)
    zero = np.zeros(n_orders)
    discount = _per_order_first(numbers[DISCOUNT_AMOUNT], inv) if DISCOUNT_AMOUNT in numbers else zero
    refunded = np.abs(_per_order_first(numbers[REFUNDED_AMOUNT], inv)) if REFUNDED_AMOUNT in numbers else zero
    if ADJUSTED_TOTAL in numbers and ORDER_TOTAL in numbers:
        adjusted = _per_order_first(numbers[ADJUSTED_TOTAL], inv)
        total = _per_order_first(numbers[ORDER_TOTAL], inv)
        refunded = np.where(adjusted > 0, np.maximum(total - adjusted, 0) + refunded, refunded)
    discount = np.nan_to_num(np.abs(discount))
    refunded = np.nan_to_num(refunded)
    after_discount = np.maximum(gross - discount, 0)
    net = after_discount - refunded
    positive = gross > 0
    full_refund = positive & (refunded > 0) & (net <= TOLERANCE * gross)
    partial = positive & (refunded > 0) & ~full_refund
    factor = np.where(positive, np.maximum(net, 0) / np.where(positive, gross, 1), 1.0)
    line_factor = np.where(inv >= 0, factor[np.maximum(inv, 0)], 1.0)
    refunded_rank = OUTCOMES.index(REFUNDED)
    line_full = (inv >= 0) & full_refund[np.maximum(inv, 0)]
    outcome = np.where(line_full, np.minimum(outcome, refunded_rank), outcome)
    if partial.any():
        n = int(partial.sum())
        notes.append(f"{counted(n, 'partly refunded order', 'partly refunded orders')}: "
                     f"{'its' if n == 1 else 'their'} refunded amount ({refunded[partial].sum():,.2f} in total) is "
                     f"netted against {'its' if n == 1 else 'their'} value.")
    if (positive & (discount > 0)).any():
        notes.append(f"Order discounts ({discount[positive].sum():,.2f} in total) are subtracted once per order.")
    if full_refund.any():
        n = int(full_refund.sum())
        notes.append(f"{counted(n, 'order was', 'orders were')} refunded in full (refunded amount >= value): not "
                     f"{'a purchase' if n == 1 else 'purchases'}.")
    return amount * line_factor, outcome


def _cancellation_by_number(f: pd.DataFrame, notes: list[str]) -> np.ndarray:
    """True for lines on ``C`` + digits invoices that are cancellations: negative, or naming an invoice present.

    A ``C`` + digits invoice with positive quantities is a cancellation written with positive numbers when the
    digits name another invoice of the file (its value is then reversed, in place), and a sale otherwise.
    Invoices that merely start with C (``CA-1001``) are sales.
    """
    names = pd.Index(f[INVOICE_ID].cat.categories.astype(str))
    codes = f[INVOICE_ID].cat.codes.to_numpy()
    n = len(f)
    if not len(names):
        return np.zeros(n, dtype=bool)
    c_number = np.asarray(names.str.match(C_NUMBER.pattern), dtype=bool)
    # plain Python strings: Arrow-backed string indexes look values up one element at a time (0.3 s here)
    present = set(names.tolist())
    names_original = c_number & np.array([name[1:] in present for name in names.tolist()], dtype=bool)
    starts_c = np.asarray(names.str.upper().str.startswith("C"), dtype=bool)
    has = codes >= 0
    safe = np.maximum(codes, 0)
    row_c = has & c_number[safe]
    negative = (f[QUANTITY] < 0).to_numpy() if QUANTITY in f.columns else (f[AMOUNT] < 0).to_numpy()
    positive_c = row_c & ~negative
    reversed_lines = positive_c & names_original[safe]
    sales = positive_c & ~names_original[safe]
    if reversed_lines.any():
        amt = f[AMOUNT].to_numpy(dtype="float64")
        f[AMOUNT] = np.where(reversed_lines, -np.abs(amt), amt)
        lines = counted(int(reversed_lines.sum()), "line on a 'C' + number invoice has a positive quantity and names",
                        "lines on 'C' + number invoices have positive quantities and name")
        notes.append(f"{lines} "
                     "an invoice of the file: read as cancellations of it, their value reversed.")
    if sales.any():
        lines = counted(int(sales.sum()), "line on a 'C' + number invoice has a positive quantity and names no",
                        "lines on 'C' + number invoices have positive quantities and name no")
        notes.append(f"{lines} "
                     "invoice of the file: read as sales, not cancellations.")
    other_c = has & starts_c[safe] & ~c_number[safe] & ~negative
    if other_c.any():
        example = names[safe[other_c][0]]
        lines = counted(int(other_c.sum()), "line on an invoice that starts with C but is not 'C' + a number",
                        "lines on invoices that start with C but are not 'C' + a number")
        notes.append(f"{lines} (e.g. {example!r}) {'is a sale' if int(other_c.sum()) == 1 else 'are sales'}: only "
                     "the Online Retail numbering marks cancellations.")
    out: np.ndarray = row_c & (negative | names_original[safe])
    return out


def cancelled_in_full(
    frame: pd.DataFrame,
    candidate: np.ndarray,
    reversal: np.ndarray,
    stock: pd.Series | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Match cancellation and return lines to the orders they reverse; find the orders cancelled in full.

    Parameters
    ----------
    frame : DataFrame
        Mapped lines with ``customer_id``, ``invoice_id`` (categoricals), ``invoice_date`` and ``amount``.
    candidate : bool array
        Lines taking part: every earlier check passed, inside the date window and the chosen countries.
    reversal : bool array
        Lines that reverse a purchase (returns and cancellations); the other candidates are purchase lines.
    stock : Series, optional
        Stock codes (categorical), for matching by product.

    Returns
    -------
    (cancelled, matched) : bool arrays
        ``cancelled``: purchase lines of orders whose value after cancellations is zero or less, and the
        reversal lines matched to them; ``matched``: reversal lines matched to any order.

    Notes
    -----
    An order is (customer, invoice). A reversal line is matched, in this order of preference, to: its own order
    when that order has purchase lines; the order of the same customer whose invoice number is its own without
    the leading ``C``; the same customer's latest purchase line of the same stock code dated at or before it
    (ties: the greater invoice number). An order with at least one matched reversal is cancelled in full when
    the sum of its purchase lines' and matched lines' amounts is at most :data:`TOLERANCE` times its purchase
    value. Orders without a matched reversal are never cancelled here, so purchases of value zero stay
    purchases.
    """
    n = len(frame)
    nothing = np.zeros(n, dtype=bool)
    cust = frame[CUSTOMER_ID].cat.codes.to_numpy().astype(np.int64)
    inv = _order_keys(frame)
    ok = candidate & (cust >= 0) & (inv >= 0)
    if not (ok & reversal).any() or not (ok & ~reversal).any():
        return nothing, nothing
    names = frame[INVOICE_ID].cat.categories.astype(str)
    n_inv = max(len(names), 1)
    idx = np.flatnonzero(ok)  # only the candidate lines from here on (hash-based, no sorting of the whole file)
    key = cust[idx] * n_inv + inv[idx]
    order_id, order_keys = pd.factorize(key)
    is_rev = reversal[idx]
    n_orders = len(order_keys)
    has_purchase = np.zeros(n_orders, dtype=bool)
    has_purchase[order_id[~is_rev]] = True

    rev = np.flatnonzero(is_rev)  # positions in idx
    target = np.where(has_purchase[order_id[rev]], order_id[rev], -1)  # 1. its own order
    # 2. C540001 reverses 540001 of the same customer
    # plain Python strings: Arrow-backed string indexes look values up one element at a time
    plain = names.tolist()
    code_of = {name: i for i, name in enumerate(plain)}
    stripped = np.array([code_of.get(name[1:], -1) if name[:1] in ("C", "c") else -1 for name in plain],
                        dtype=np.int64)
    named = stripped[inv[idx[rev]]]
    lookup = pd.Index(order_keys).get_indexer(cust[idx[rev]] * n_inv + named)
    use = (target < 0) & (named >= 0) & (lookup >= 0)
    use[use] = has_purchase[lookup[use]]
    target[use] = lookup[use]
    if stock is not None:  # 3. the latest earlier purchase line of the same stock code
        sc = stock.cat.codes.to_numpy()
        todo = np.flatnonzero((target < 0) & (sc[idx[rev]] >= 0))
        if len(todo):
            target[todo] = _match_by_stock(frame, sc, idx, is_rev, order_id, rev[todo], names)

    amount = frame[AMOUNT].to_numpy(dtype="float64")[idx]
    matched_rev = target >= 0
    gross = np.bincount(order_id[~is_rev], weights=amount[~is_rev], minlength=n_orders)
    reversed_value = np.bincount(target[matched_rev], weights=amount[rev][matched_rev], minlength=n_orders)
    has_match = np.bincount(target[matched_rev], minlength=n_orders) > 0
    gone = has_match & (gross + reversed_value <= TOLERANCE * np.abs(gross))
    local = np.zeros(len(idx), dtype=bool)
    local[~is_rev] = gone[order_id[~is_rev]]
    local[rev[matched_rev]] = gone[target[matched_rev]]
    cancelled = nothing.copy()
    cancelled[idx[local]] = True
    matched = nothing.copy()
    matched[idx[rev[matched_rev]]] = True
    return cancelled, matched


def _match_by_stock(frame: pd.DataFrame, sc: np.ndarray, idx: np.ndarray, is_rev: np.ndarray,
                    order_id: np.ndarray, todo: np.ndarray, names: pd.Index) -> np.ndarray:
    """For reversal lines ``idx[todo]``: the order id of the customer's latest purchase line of the same stock code
    dated at or before the reversal (ties: the greater invoice number as text), or -1."""
    cust = frame[CUSTOMER_ID].cat.codes.to_numpy()
    inv = frame[INVOICE_ID].cat.codes.to_numpy()
    dates = frame[INVOICE_DATE].to_numpy().astype("datetime64[ns]").view("int64")
    rows = idx[todo]
    p_local = np.flatnonzero(~is_rev & (sc[idx] >= 0))
    # only the customers who returned something (a hash lookup, not a sort of every purchase line)
    p_local = p_local[pd.Series(cust[idx[p_local]]).isin(pd.unique(cust[rows])).to_numpy()]
    p = idx[p_local]
    left = pd.DataFrame({"pos": np.arange(len(rows)), "c": cust[rows], "s": sc[rows], "t": dates[rows]})
    right = pd.DataFrame({"c": cust[p], "s": sc[p], "pt": dates[p],
                          "inv": np.asarray(names, dtype=object)[inv[p]], "oid": order_id[p_local]})
    pairs = left.merge(right, on=["c", "s"], how="inner")
    pairs = pairs[pairs["pt"] <= pairs["t"]]
    out = np.full(len(rows), -1, dtype=np.int64)
    if len(pairs):
        best = pairs.sort_values(["pos", "pt", "inv"], ascending=[True, False, False], kind="stable")
        best = best.drop_duplicates("pos", keep="first")
        out[best["pos"].to_numpy()] = best["oid"].to_numpy()
    return out
