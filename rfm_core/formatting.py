"""Numbers and column names in the analyst's format: currency, money, percentages, counts, readable labels.

One set of rules for every page, chart hover, export and the report (DOCUMENTATION.md, "Number formats"):

- **Money**: two decimals in tables (``£1,234.50``), none in headline metrics (``£1,235``); thousands
  separators always; the currency symbol placed before or after the number as the :class:`Currency` setting says.
  A negative amount keeps its sign in front of the symbol (``-£12.00``).
- **Percentages**: one decimal everywhere (``14.7%``); shares are fractions (0.147) in the engine's tables.
- **Counts**: whole numbers with thousands separators (``4,372``).
- **Empty values**: a missing count or sum is ``0`` (an empty segment has 0 customers and 0 revenue); a missing
  mean, median or share of nothing is blank, never ``None`` or ``nan``.
- **Labels**: one table, :data:`LABELS`, maps the column constants of :mod:`rfm_core.columns` (and the summary and
  CLV columns) to words (``recency_days`` -> ``Recency (days)``). Machine names stay in CSV exports; a copy "with
  readable headers" is :func:`readable_headers`.

Currency detection (:func:`detect_currency`) reads a platform export's currency column (Shopify ``Currency``,
WooCommerce ``Order Currency``, Stripe ``Currency`` in lower case); files that do not say stay without a currency.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import pandas as pd

from .columns import (
    AMOUNT,
    AVG_ORDER_VALUE,
    COUNTRY,
    CUSTOMER_ID,
    DESCRIPTION,
    F_SCORE,
    FIRST_PURCHASE,
    FREQUENCY,
    INVOICE_DATE,
    INVOICE_ID,
    LAST_PURCHASE,
    M_SCORE,
    MONETARY,
    QUANTITY,
    R_SCORE,
    RECENCY_DAYS,
    RFM_SCORE,
    SEGMENT,
    STOCK_CODE,
    TENURE_DAYS,
    UNIT_PRICE,
    normalise_header,
)
from .errors import ConfigError

if TYPE_CHECKING:
    from .score import MetricBins

__all__ = [
    "CURRENCY_HEADERS",
    "KINDS",
    "LABELS",
    "NO_CURRENCY",
    "SYMBOLS",
    "Currency",
    "Kind",
    "count",
    "currency_note",
    "decimal",
    "detect_currency",
    "effective_currency",
    "format_value",
    "headline_money",
    "kind_of",
    "label",
    "money",
    "percent",
    "readable_headers",
    "score_bins_table",
]

Placement = Literal["before", "after"]
Kind = Literal["money", "percent", "count", "decimal", "score", "probability", "date", "text"]

#: Symbols of common currencies. Any other ISO 4217 code is shown as the code itself (``CHF 1,234.00``).
SYMBOLS: dict[str, str] = {
    "GBP": "£", "USD": "$", "EUR": "€", "JPY": "¥", "CNY": "¥", "INR": "₹", "KRW": "₩", "RUB": "₽", "TRY": "₺",
    "ILS": "₪", "NGN": "₦", "PHP": "₱", "VND": "₫", "UAH": "₴", "PLN": "zł", "BRL": "R$", "AUD": "A$", "CAD": "C$",
    "NZD": "NZ$", "HKD": "HK$", "SGD": "S$", "MXN": "MX$", "ZAR": "R",
}
_ISO = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class Currency:
    """How money is shown: an ISO 4217 code (or none), the symbol, and where the symbol goes.

    Parameters
    ----------
    code : str or None
        Three letters (``GBP``), upper-cased on creation; ``None`` shows amounts without a currency.
    placement : {"before", "after"}
        ``before``: ``£1,234.50``; ``after``: ``1,234.50 £`` (common for the euro in much of Europe).
    symbol : str or None
        Overrides the symbol from :data:`SYMBOLS` (or the code itself when the code has no symbol there).

    Raises
    ------
    ConfigError
        A code that is not three letters, or an unknown placement.
    """

    code: str | None = None
    placement: Placement = "before"
    symbol: str | None = None

    def __post_init__(self) -> None:
        if self.code is not None:
            code = str(self.code).strip().upper()
            if not _ISO.match(code):
                raise ConfigError(f"A currency is a three-letter ISO 4217 code such as GBP, USD or EUR, not "
                                  f"{self.code!r}.")
            object.__setattr__(self, "code", code)
        if self.placement not in ("before", "after"):
            raise ConfigError(f"The currency symbol goes 'before' or 'after' the number, not {self.placement!r}.")

    @property
    def sign(self) -> str:
        """The symbol shown with amounts ('' without a currency)."""
        if self.symbol is not None:
            return self.symbol
        if self.code is None:
            return ""
        return SYMBOLS.get(self.code, self.code)

    def wrap(self, number_text: str) -> str:
        """``number_text`` (already formatted, maybe with a leading minus) with the symbol placed."""
        sign = self.sign
        if not sign:
            return number_text
        minus = "-" if number_text.startswith("-") else ""
        body = number_text[1:] if minus else number_text
        if self.placement == "after":
            return f"{minus}{body} {sign}"
        # A letter code needs a space (CHF 12.00); a symbol sits against the number (£12.00).
        gap = " " if sign[-1].isalpha() else ""
        return f"{minus}{sign}{gap}{body}"

    def affixes(self) -> tuple[str, str]:
        """The text before and after the number (for printf-style formats such as Streamlit's column formats)."""
        sign = self.sign
        if not sign:
            return "", ""
        if self.placement == "after":
            return "", f" {sign}"
        return (f"{sign} " if sign[-1].isalpha() else sign), ""


NO_CURRENCY = Currency()


def _missing(value: object) -> bool:
    """None, NA, NaN and infinities are missing (non-finite numbers never reach the tables as numbers)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return not math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def money(value: object, currency: Currency = NO_CURRENCY, decimals: int = 2) -> str:
    """An amount with thousands separators, ``decimals`` decimals and the currency; blank when missing.

    Rounding is Python's (round half to even on the binary value), the same as ``format(x, ',.2f')``.
    """
    if _missing(value):
        return ""
    x = float(value)  # type: ignore[arg-type]
    if x == 0:
        x = 0.0  # no "-0.00"
    text = f"{x:,.{decimals}f}"
    if text.lstrip("-").strip("0.,") == "":
        text = text.lstrip("-")  # -0.004 rounds to "0.00", not "-0.00"
    return currency.wrap(text)


def headline_money(value: object, currency: Currency = NO_CURRENCY) -> str:
    """Money for a headline metric: no decimals (``£1,179,488``)."""
    return money(value, currency, 0)


def percent(share: object, decimals: int = 1) -> str:
    """A share (0.1473) as a percentage with one decimal (``14.7%``); blank when missing.

    A share that is not zero but rounds to it shows as ``<0.1%``, and one that is not whole but rounds to 100 as
    ``>99.9%``: "0.0%" beside 19 dropped rows reads as "none"."""
    if _missing(share):
        return ""
    value = float(share) * 100  # type: ignore[arg-type]
    step = 10.0 ** -decimals
    if 0 < value < step / 2:
        return f"<{step:.{decimals}f}%"
    if 100 - step / 2 <= value < 100:
        return f">{100 - step:.{decimals}f}%"
    text = f"{value:,.{decimals}f}"
    if text.lstrip("-").strip("0.,") == "":
        text = text.lstrip("-")
    return f"{text}%"


def count(value: object) -> str:
    """A whole number with thousands separators; a missing count is ``0``."""
    if _missing(value):
        return "0"
    return f"{round(float(value)):,}"  # type: ignore[arg-type]


def decimal(value: object, decimals: int = 1) -> str:
    """A mean or median (days, orders) with ``decimals`` decimals and thousands separators; blank when missing."""
    if _missing(value):
        return ""
    text = f"{float(value):,.{decimals}f}"  # type: ignore[arg-type]
    if text.lstrip("-").strip("0.,") == "":
        text = text.lstrip("-")
    return text


#: Column labels in words, keyed by the machine names (constants from :mod:`rfm_core.columns` where they exist).
LABELS: dict[str, str] = {
    # transactions
    CUSTOMER_ID: "Customer",
    INVOICE_ID: "Invoice",
    INVOICE_DATE: "Date",
    QUANTITY: "Quantity",
    UNIT_PRICE: "Unit price",
    AMOUNT: "Amount",
    COUNTRY: "Country",
    STOCK_CODE: "Stock code",
    DESCRIPTION: "Product",
    # per customer
    RECENCY_DAYS: "Recency (days)",
    FREQUENCY: "Orders",
    MONETARY: "Spend",
    FIRST_PURCHASE: "First purchase",
    LAST_PURCHASE: "Last purchase",
    TENURE_DAYS: "Customer for (days)",
    AVG_ORDER_VALUE: "Average order value",
    R_SCORE: "R score",
    F_SCORE: "F score",
    M_SCORE: "M score",
    RFM_SCORE: "RFM score",
    SEGMENT: "Segment",
    # per segment (rfm_core.insights.SUMMARY_COLUMNS)
    "customers": "Customers",
    "customer_share": "% of customers",
    "revenue": "Revenue",
    "revenue_share": "% of revenue",
    "orders": "Orders",
    "recency_mean": "Mean recency (days)",
    "recency_median": "Median recency (days)",
    "frequency_mean": "Mean orders",
    "frequency_median": "Median orders",
    "monetary_mean": "Mean spend",
    "monetary_median": "Median spend",
    # lifetime value (rfm_core.clv)
    "p_alive": "P(alive)",
    "churn_risk": "Churn risk",
    "expected_spend": "Expected spend per order",
    "revenue_last_12m": "Revenue, last 12 months",
    # products (rfm_core.insights.top_products)
    "product": "Product",
    "rank": "Rank",
    # lifetime value by segment (rfm_core.clv.clv_by_segment)
    "historical_value": "Spend so far",
    "predicted_purchases": "Predicted purchase days",
    "predicted_value": "Predicted value",
    "mean_p_alive": "Mean P(alive)",
    "likely_gone": "Likely gone",
    "p_alive_by_construction": "P(alive) = 1 by construction",
    "median_days_to_next_purchase": "Median days to next order",
    # the holdout comparison of the purchase models (rfm_core.clv.ModelComparison.by_frequency)
    "actual": "Actual",
    "predicted_bgnbd": "Predicted (BG/NBD)",
    "predicted_mbgnbd": "Predicted (MBG/NBD)",
    "predicted_pareto_nbd": "Predicted (Pareto/NBD)",
    # backtest (rfm_core.backtest)
    "bought_again": "Bought again",
    "repeat_rate": "% who bought again",
    "orders_per_customer": "Orders per customer",
    "revenue_per_customer": "Revenue per customer",
    "repeat_lift": "Lift (bought again)",
    "revenue_lift": "Lift (revenue)",
    "purchase_days_per_customer": "Purchase days per customer",
    "predicted_purchase_days_per_customer": "Predicted purchase days per customer",
    # the row ledger (rfm_core.clean) and score bins (rfm_core.score)
    "reason": "Reason",
    "rows": "Rows",
    "share": "Share of rows",
    "score": "Score",
    "range": "Values",
    "from": "From",
    "to": "To",
    # playbooks (rfm_core.playbooks)
    "goal": "Goal",
    "channel": "Channel",
    "offer": "Offer",
    "timing": "Timing",
    "control_share": "Hold-out share",
    "test": "Contacted (test)",
    "control": "Held out (control)",
}

#: How each known column is shown.
KINDS: dict[str, Kind] = {
    CUSTOMER_ID: "text", INVOICE_ID: "text", INVOICE_DATE: "date", QUANTITY: "count", UNIT_PRICE: "money",
    AMOUNT: "money", COUNTRY: "text", STOCK_CODE: "text", DESCRIPTION: "text",
    RECENCY_DAYS: "count", FREQUENCY: "count", MONETARY: "money", FIRST_PURCHASE: "date", LAST_PURCHASE: "date",
    TENURE_DAYS: "count", AVG_ORDER_VALUE: "money", R_SCORE: "score", F_SCORE: "score", M_SCORE: "score",
    RFM_SCORE: "text", SEGMENT: "text",
    "customers": "count", "customer_share": "percent", "revenue": "money", "revenue_share": "percent",
    "orders": "count", "recency_mean": "decimal", "recency_median": "decimal", "frequency_mean": "decimal",
    "frequency_median": "decimal", "monetary_mean": "money", "monetary_median": "money",
    "p_alive": "probability", "churn_risk": "probability", "expected_spend": "money", "revenue_last_12m": "money",
    "product": "text", "rank": "count",
    "historical_value": "money", "predicted_purchases": "decimal", "predicted_value": "money",
    "mean_p_alive": "probability", "likely_gone": "count", "p_alive_by_construction": "count",
    "median_days_to_next_purchase": "decimal",
    "actual": "decimal", "predicted_bgnbd": "decimal", "predicted_mbgnbd": "decimal", "predicted_pareto_nbd": "decimal",
    "bought_again": "count", "repeat_rate": "percent", "orders_per_customer": "decimal",
    "revenue_per_customer": "money", "repeat_lift": "decimal", "revenue_lift": "decimal",
    "purchase_days_per_customer": "decimal", "predicted_purchase_days_per_customer": "decimal",
    "reason": "text", "rows": "count", "share": "percent", "score": "score", "range": "text",
    "goal": "text", "channel": "text", "offer": "text", "timing": "text", "control_share": "percent",
    "test": "count", "control": "count",
}

_HORIZON = re.compile(r"^(clv|predicted_purchases)_(\d+)m$")


def label(column: str) -> str:
    """The column's label in words; unknown columns get their name with spaces, capitalised."""
    if column in LABELS:
        return LABELS[column]
    hit = _HORIZON.match(column)
    if hit:
        what = "CLV" if hit.group(1) == "clv" else "Predicted purchase days"
        return f"{what} ({hit.group(2)} months)"
    text = str(column).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def kind_of(column: str) -> Kind:
    """How a column is shown (``text`` for unknown columns)."""
    if column in KINDS:
        return KINDS[column]
    hit = _HORIZON.match(column)
    if hit:
        return "money" if hit.group(1) == "clv" else "decimal"
    return "text"


def format_value(column: str, value: object, currency: Currency = NO_CURRENCY) -> str:
    """One cell as text, by the column's kind (tables: money with two decimals)."""
    kind = kind_of(column)
    if kind == "money":
        return money(value, currency)
    if kind in ("percent", "probability"):
        return percent(value)
    if kind in ("count", "score"):
        return count(value)
    if kind == "decimal":
        return decimal(value, 2 if column.startswith("predicted_purchases") else 1)
    if _missing(value):
        return ""
    if kind == "date":
        return f"{pd.Timestamp(value):%Y-%m-%d}"  # type: ignore[arg-type]
    return str(value)


def readable_headers(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every column renamed to its label (values untouched), for "readable headers" CSVs.

    Raises
    ------
    ConfigError
        Two columns would get the same label (e.g. ``frequency`` and ``orders`` both read "Orders").
    """
    labels = [label(str(c)) for c in frame.columns]
    seen: dict[str, str] = {}
    for col, text in zip(frame.columns, labels, strict=True):
        if text in seen:
            raise ConfigError(f"Columns {seen[text]!r} and {col!r} would both be labelled {text!r}; export one of "
                              "them only, or with machine names.")
        seen[text] = str(col)
    out = frame.copy()
    out.columns = labels
    return out


#: Normalised headers (see :func:`rfm_core.columns.normalise_header`) that name an order's currency, best first.
CURRENCY_HEADERS: tuple[str, ...] = (
    "currency", "currencycode", "ordercurrency", "presentmentcurrency", "transactioncurrency", "paymentcurrency",
    "settlementcurrency", "convertedcurrency",
)
#: Symbols that name one currency unambiguously when a currency column holds them instead of a code.
_SYMBOL_CODES: Mapping[str, str] = {"£": "GBP", "€": "EUR", "₹": "INR", "₩": "KRW", "₺": "TRY", "₪": "ILS"}


def _currency_column(raw: pd.DataFrame) -> str | None:
    by_norm: dict[str, str] = {}
    for col in raw.columns:
        by_norm.setdefault(normalise_header(col), str(col))
    return next((by_norm[h] for h in CURRENCY_HEADERS if h in by_norm), None)


def _codes(raw: pd.DataFrame, column: str) -> tuple[list[str], int]:
    """Distinct currency codes in ``column`` (most frequent first) and the number of values that are not codes."""
    values = raw[column].dropna().astype(str).str.strip()
    values = values[values != ""]
    mapped = values.str.upper().map(lambda v: _SYMBOL_CODES.get(v, v))
    ok = mapped.str.fullmatch(r"[A-Z]{3}")
    return list(mapped[ok].value_counts().index), int((~ok).sum())


def detect_currency(raw: pd.DataFrame) -> str | None:
    """The currency a platform export states, or ``None`` when it does not say or says several.

    Parameters
    ----------
    raw : DataFrame
        The table as read (original headers), e.g. :attr:`rfm_core.read.RawTable.frame`.

    Returns
    -------
    str or None
        The ISO code (upper case) when the first column among :data:`CURRENCY_HEADERS` holds exactly one
        currency in every non-blank cell (codes in any letter case, or an unambiguous symbol such as ``£``).
        ``None`` without such a column, with several currencies (amounts in different currencies cannot be added;
        :func:`currency_note` says so), or with values that are not currencies.
    """
    column = _currency_column(raw)
    if column is None:
        return None
    codes, other = _codes(raw, column)
    return codes[0] if len(codes) == 1 and other == 0 else None


def effective_currency(chosen: Currency, detected: str | None) -> Currency:
    """The currency to show: the one chosen, else the one the file states (placed as chosen), else none.

    ``chosen`` without a code means "as the file says" (the default setting); a file that states no currency then
    shows plain amounts.
    """
    if chosen.code or not detected:
        return chosen
    return Currency(detected, chosen.placement)


def currency_note(raw: pd.DataFrame) -> str | None:
    """One sentence for the reading notes about the currency column, or ``None`` when the file has none."""
    column = _currency_column(raw)
    if column is None:
        return None
    codes, other = _codes(raw, column)
    if len(codes) == 1 and other == 0:
        return f"Currency {codes[0]}, from the column {column!r}."
    if len(codes) > 1:
        shown = ", ".join(codes[:5]) + (", …" if len(codes) > 5 else "")
        return (f"The column {column!r} names {len(codes)} currencies ({shown}); amounts are added as they are, "
                "without conversion. Filter the file to one currency for revenue that means something.")
    return f"The column {column!r} does not hold currency codes such as GBP; choose the currency in the settings."


#: The unit of each scored metric, for the score tables' "From"/"To" headers.
_BIN_UNITS: dict[str, str] = {"recency": "days", "frequency": "orders", "monetary": "spend"}


def score_bins_table(bins: MetricBins, currency: Currency = NO_CURRENCY) -> pd.DataFrame:
    """The score table of one metric (the Settings page), every value already in the analyst's format.

    Parameters
    ----------
    bins : rfm_core.score.MetricBins
        How the metric was scored (its ``lows``/``highs`` are the smallest and largest value per score).
    currency : Currency
        Money (monetary) is shown with it, two decimals.

    Returns
    -------
    DataFrame
        One row per score 1..n: ``score`` (int), ``range`` (the values in words, as
        :meth:`~rfm_core.score.MetricBins.range_label` words them, in the formats below), ``from`` and ``to`` (text:
        recency in whole days and frequency in whole orders with thousands separators, monetary as money with two
        decimals; blank for a score no customer has) and ``customers`` (int). Days and orders are whole numbers by
        construction (:mod:`rfm_core.aggregate`), so showing them with decimals ("3.00") only adds noise.
    """
    def shown(value: float | None) -> str:
        if value is None or _missing(value):
            return ""
        if bins.metric == "monetary":
            return money(value, currency)
        return decimal(value, 0)

    groups = bins._groups()  # the non-empty scores, smallest values first (the range words depend on the ends)

    def words(score: int) -> str:
        lo, hi = bins.lows[score - 1], bins.highs[score - 1]
        if lo is None or hi is None:
            return "(empty)"
        if lo == hi:
            return shown(lo)
        if score == groups[-1]:
            return f"{shown(lo)}+"
        if score == groups[0]:
            return f"≤ {shown(hi)}"
        return f"{shown(lo)}–{shown(hi)}"

    return pd.DataFrame({
        "score": list(range(1, bins.bins + 1)),
        "range": [words(s) for s in range(1, bins.bins + 1)],
        "from": [shown(v) for v in bins.lows],
        "to": [shown(v) for v in bins.highs],
        "customers": [int(c) for c in bins.sizes],
    })


def bins_unit(metric: str) -> str:
    """The unit of a scored metric's values (``days``, ``orders``, ``spend``)."""
    return _BIN_UNITS.get(metric, "")


def ordinal(day: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 22nd, 23rd, 31st."""
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def counted(n: int, singular: str, plural: str) -> str:
    """``1 line`` / ``2 lines``: a count with thousands separators and the noun phrase that agrees with it."""
    return f"{n:,} {singular if n == 1 else plural}"


def file_size(n_bytes: int) -> str:
    """A file's size for people: ``512 bytes``, ``3.4 KB``, ``48.0 MB``, ``1.2 GB`` (decimal units, as file browsers
    show them); a 3 KB upload no longer reads "0.0 MB"."""
    if n_bytes < 1000:
        return counted(int(n_bytes), "byte", "bytes")
    for unit, scale in (("KB", 1e3), ("MB", 1e6), ("GB", 1e9)):
        if n_bytes < scale * 999.95 or unit == "GB":
            return f"{n_bytes / scale:,.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover
