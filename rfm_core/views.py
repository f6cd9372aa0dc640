"""What the app's pages show, computed here instead of in the pages: data quality, customer search and purchase
history, the cohort table and CLV joined to segments.

Pure functions of engine results (no Streamlit); each page calls one of them and renders what it returns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .audience import Audience, Condition, audience_size
from .clean import CleanResult, rows_used
from .columns import (
    COUNTRY,
    CUSTOMER_ID,
    F_SCORE,
    FREQUENCY,
    INVOICE_DATE,
    M_SCORE,
    MONETARY,
    R_SCORE,
    RECENCY_DAYS,
    RFM_SCORE,
    SEGMENT,
)
from .errors import RfmError
from .formatting import NO_CURRENCY, Currency, count, ordinal
from .mapping import MappedTable
from .score import METRIC_COLUMNS, suggest_thresholds
from .segment import LintReport
from .settings import MetricScoring
from .timeline import Cohorts

__all__ = [
    "WHOLE_FIELDS",
    "DataQuality",
    "audience_columns",
    "audience_layout",
    "category_options",
    "clv_with_segments",
    "cohort_table",
    "condition_default",
    "condition_input",
    "country_choices",
    "data_quality",
    "date_span",
    "field_number",
    "filter_customers",
    "find_customer",
    "first_upper",
    "lines_per_month",
    "purchase_history",
    "reading_notes",
    "remove_condition",
    "rule_wins",
    "saved_audiences_table",
    "starting_edges",
    "with_clv",
]


@dataclass(frozen=True)
class DataQuality:
    """The Data page's headline figures.

    ``rows_used`` is :func:`rfm_core.clean.rows_used` (returns netted against monetary count as used);
    ``revenue`` is the sum of the customers' monetary (in the file's currency); ``first_day`` and ``last_day`` are
    the dates of the first and last used line (None when no line is used).
    """

    rows_read: int
    rows_used: int
    customers: int
    revenue: float
    first_day: dt.date | None
    last_day: dt.date | None

    @property
    def used_share(self) -> float:
        """Rows used / rows read (0 for an empty file)."""
        return self.rows_used / self.rows_read if self.rows_read else 0.0

    @property
    def days(self) -> int | None:
        """Calendar days from the first to the last used line, both included (one day of data is 1)."""
        if self.first_day is None or self.last_day is None:
            return None
        return (self.last_day - self.first_day).days + 1


def data_quality(cleaned: CleanResult, customers: pd.DataFrame) -> DataQuality:
    """Rows read and used, customers, revenue and the date span of the used lines.

    Parameters
    ----------
    cleaned : CleanResult
        From :func:`rfm_core.clean.clean` (its ledger and used transactions).
    customers : DataFrame
        One row per customer with ``monetary`` (:func:`rfm_core.aggregate.aggregate`).
    """
    tx = cleaned.transactions
    dates = tx[INVOICE_DATE] if len(tx) else None
    return DataQuality(
        rows_read=int(cleaned.input_rows), rows_used=rows_used(cleaned.ledger), customers=len(customers),
        revenue=float(customers[MONETARY].sum()),
        first_day=None if dates is None else dates.min().date(),
        last_day=None if dates is None else dates.max().date())


def lines_per_month(transactions: pd.DataFrame) -> pd.DataFrame:
    """Used lines per calendar month, for the Data page's chart of what the file covers.

    Parameters
    ----------
    transactions : DataFrame
        The used lines (:attr:`rfm_core.clean.CleanResult.transactions`, returns included), with
        ``invoice_date``.

    Returns
    -------
    DataFrame
        One row per calendar month from the first used line's month to the last one's, oldest first (months
        without a line appear with 0): ``month`` (Timestamp, the 1st), ``lines`` (int), ``partial`` (bool) and
        ``note`` (str, empty for a whole month). ``lines`` sums to :func:`rfm_core.clean.rows_used`. The first
        month is partial when the data starts after its 1st, the last when it ends before its last day (the rule
        of :func:`rfm_core.charts.monthly_activity`), so a 9-day December does not read as a collapse. No line:
        no row.
    """
    dates = transactions[INVOICE_DATE]
    if not len(dates):
        return pd.DataFrame({"month": pd.Series(dtype="datetime64[ns]"), "lines": pd.Series(dtype="int64"),
                             "partial": pd.Series(dtype=bool), "note": pd.Series(dtype=object)})
    index = (dates.dt.year * 12 + dates.dt.month - 1).to_numpy()  # integer months count fast
    first_i, last_i = int(index.min()), int(index.max())
    counts = pd.Series(index).value_counts().reindex(range(first_i, last_i + 1), fill_value=0).sort_index()
    months = [pd.Timestamp(year=i // 12, month=i % 12 + 1, day=1) for i in counts.index]
    first, last = dates.min(), dates.max()
    notes = [""] * len(months)
    if first.day > 1:
        notes[0] = f"partial month: data from the {ordinal(first.day)}"
    if last.day < last.days_in_month:
        notes[-1] = (f"partial month: data from the {ordinal(first.day)} to the {ordinal(last.day)}"
                     if len(months) == 1 and notes[0] else f"partial month: data to the {ordinal(last.day)}")
    return pd.DataFrame({"month": months, "lines": counts.to_numpy().astype("int64"),
                         "partial": [bool(n) for n in notes], "note": notes})


def filter_customers(customers: pd.DataFrame, query: str = "", segments: Sequence[str] = ()) -> pd.DataFrame:
    """The customers whose id contains ``query`` (case-insensitive, as typed, surrounding spaces ignored) and whose
    segment is one of ``segments`` (empty: every segment). Same columns, the input's order; the input is not
    changed."""
    view = customers
    text = query.strip()
    if text:
        view = view[view[CUSTOMER_ID].astype(str).str.contains(text, case=False, regex=False)]
    if segments:
        view = view[view[SEGMENT].astype(str).isin(list(segments))]
    return view


def find_customer(customers: pd.DataFrame, customer_id: str) -> pd.Series | None:
    """The row of the customer whose id is exactly ``customer_id`` (surrounding spaces ignored), or None."""
    match = customers[customers[CUSTOMER_ID].astype(str) == customer_id.strip()]
    return None if match.empty else match.iloc[0]


def purchase_history(transactions: pd.DataFrame, customer_id: str) -> pd.DataFrame:
    """One customer's used transaction lines (returns included, flagged by ``is_return``), oldest first; lines of
    one moment keep their file order."""
    mine = transactions[transactions[CUSTOMER_ID].astype(str) == customer_id.strip()]
    return mine.sort_values(INVOICE_DATE, kind="stable")


def cohort_table(result: Cohorts) -> pd.DataFrame:
    """The cohort table: one row per cohort (month of first purchase), ``customers`` (cohort size) then
    ``month 0``, ``month 1``, ...: the share of the cohort buying in that month (0-1; NaN after the end of the
    data)."""
    table = result.retention.copy()
    table.columns = pd.Index([f"month {c}" for c in table.columns])
    table.insert(0, "customers", result.sizes.reindex(table.index).astype("int64"))
    return table


def clv_with_segments(clv: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """The per-customer CLV table with each customer's RFM ``segment`` added (left join on ``customer_id``: a
    customer the RFM analysis does not have gets a missing segment)."""
    return clv.merge(customers[[CUSTOMER_ID, SEGMENT]], on=CUSTOMER_ID, how="left")


def with_clv(customers: pd.DataFrame, clv_columns: pd.DataFrame) -> pd.DataFrame:
    """The per-customer table with the lifetime-value columns (``customer_id, p_alive, clv_<h>m``) added: a left
    join on ``customer_id``, so every customer stays, and one the model has no row for gets missing values (which
    no audience condition matches)."""
    return customers.merge(clv_columns, on=CUSTOMER_ID, how="left")


def country_choices(frame: pd.DataFrame) -> list[str]:
    """The distinct countries of a mapped table, as text, sorted (empty when no country column is mapped)."""
    if COUNTRY not in frame.columns:
        return []
    return sorted({str(c) for c in frame[COUNTRY].dropna().unique()})


def date_span(frame: pd.DataFrame) -> tuple[dt.date, dt.date] | None:
    """The first and last day with an ``invoice_date`` in a mapped table (missing dates ignored), or None when no
    line has a date: the bounds the Settings page's date window can take."""
    dates = frame[INVOICE_DATE].dropna()
    if dates.empty:
        return None
    return dates.min().date(), dates.max().date()


def starting_edges(spec: MetricScoring, bins: int, customers: pd.DataFrame, metric: str) -> tuple[float, ...]:
    """The ``bins - 1`` thresholds a custom-threshold editor starts from: the current custom edges when they fit
    ``bins``, else the automatic method's effective edges on these customers
    (:func:`rfm_core.score.suggest_thresholds`). Units: days for recency, orders for frequency, money for
    monetary."""
    if spec.method == "thresholds" and len(spec.edges) == bins - 1:
        return tuple(float(e) for e in spec.edges)
    values = customers[METRIC_COLUMNS[metric]].to_numpy()
    ids = customers[CUSTOMER_ID].astype(str).to_numpy()
    return suggest_thresholds(values, ids, bins, metric)


def rule_wins(report: LintReport) -> pd.DataFrame:
    """``segment, cells won``: how many score cells each rule wins at the report's bins, in rule order."""
    return pd.DataFrame({SEGMENT: list(report.wins), "cells won": list(report.wins.values())})


def reading_notes(mapped: MappedTable) -> list[str]:
    """How the file was read, one sentence each: the format (with the sheet, or the encoding and delimiter of a
    text file) first, then the mapping step's notes (:attr:`MappedTable.notes`)."""
    raw = mapped.source
    first = (f"Format: {raw.fmt.upper()}" + (f", sheet {raw.sheet!r}" if raw.sheet else "")
             + (f", encoding {raw.encoding}, delimiter {raw.delimiter!r}" if raw.encoding else ""))
    return [first, *mapped.notes]


#: Whole-number audience fields (days, orders, scores): their inputs step by 1 and show no decimals.
WHOLE_FIELDS = frozenset({RECENCY_DAYS, FREQUENCY, R_SCORE, F_SCORE, M_SCORE})
#: Starting values of a new audience condition where a fixed value reads naturally: lapsed for a quarter, a repeat
#: buyer, more likely active than not.
_FIXED_DEFAULTS: dict[str, float] = {RECENCY_DAYS: 90, FREQUENCY: 2, "p_alive": 0.5}
#: Money fields start at the customers' median, a value that splits them in two.
_MEDIAN_FIELDS = frozenset({MONETARY, "clv"})


def condition_default(field: str, customers: pd.DataFrame) -> int | float:
    """The value a new numeric audience condition on ``field`` starts at.

    90 days of recency, 2 orders of frequency, 0.5 P(alive); monetary and CLV (``clv`` reads the table's
    ``clv_<h>m`` column): the median over ``customers``, rounded to a whole amount (0 when there is none); a score:
    4; anything else 0. Whole-number fields (:data:`WHOLE_FIELDS`) return an int.
    """
    if field in _MEDIAN_FIELDS:
        values = customers[field] if field in customers.columns else customers.filter(regex=r"^clv_\d+m$").iloc[:, 0]
        median = pd.to_numeric(values, errors="coerce").median()
        return float(round(median)) if pd.notna(median) else 0.0
    whole = field in WHOLE_FIELDS
    value = _FIXED_DEFAULTS.get(field, 4 if whole else 0.0)
    return int(value) if whole else float(value)


def category_options(field: str, customers: pd.DataFrame, segment_order: Sequence[str]) -> list[str]:
    """The values an audience condition on a text field can pick: for ``segment`` the segments present among
    ``customers`` in rule order (``segment_order``, e.g. :attr:`RuleSet.names`), otherwise the distinct values as
    text, sorted; missing values are never offered."""
    column = customers[field]
    if field == SEGMENT:
        present = set(column.astype(str))
        return [s for s in segment_order if s in present]
    return sorted(column.dropna().astype(str).unique())


def audience_columns(members: pd.DataFrame) -> list[str]:
    """The column order of an audience's member table: who (id, segment), the RFM values, country and P(alive)
    first, then CLV columns, then the rest; the combined ``rfm_score`` text is left out (the three scores are
    there)."""
    first = [c for c in (CUSTOMER_ID, SEGMENT, RECENCY_DAYS, FREQUENCY, MONETARY, COUNTRY, "p_alive")
             if c in members.columns]
    clv = [c for c in members.columns if str(c).startswith("clv_")]
    rest = [c for c in members.columns if c not in first and c != RFM_SCORE and not str(c).startswith("clv_")]
    return first + clv + rest


def field_number(field: str, value: Any) -> int | float:
    """``value`` as the number an input for ``field`` holds: an int for :data:`WHOLE_FIELDS` (days, orders,
    scores; a saved 90.0 shows as 90), a float otherwise.

    Raises
    ------
    TypeError, ValueError
        ``value`` is not a number (as :func:`int` and :func:`float` do).
    """
    return int(value) if field in WHOLE_FIELDS else float(value)


def condition_input(field: str) -> tuple[int | float, str]:
    """``(step, printf format)`` of a numeric audience condition's input: whole fields step by 1 and show no
    decimals; P(alive), a probability 0-1, steps by 0.05; money (spend, CLV) steps by 10; both show 2 decimals."""
    if field in WHOLE_FIELDS:
        return 1, "%d"
    return (0.05 if field == "p_alive" else 10.0), "%.2f"


def first_upper(text: str) -> str:
    """``text`` with its first character upper-cased and the rest as it is (``"days since..."`` -> ``"Days
    since..."``; unlike :meth:`str.capitalize`, ``"R score"`` stays ``"R score"`` and segment names keep their case)."""
    return text[:1].upper() + text[1:]


def audience_layout(audience: Audience, first_id: int) -> tuple[list[list[int]], dict[int, Condition]]:
    """The condition form of ``audience``: condition ids per group, numbered from ``first_id`` in form order, and
    the condition of each id. An audience without groups gets one empty group (a form always shows one)."""
    groups: list[list[int]] = []
    conditions: dict[int, Condition] = {}
    nxt = first_id
    for group in audience.groups or ((),):
        ids = []
        for condition in group:
            conditions[nxt] = condition
            ids.append(nxt)
            nxt += 1
        groups.append(ids)
    return groups, conditions


def remove_condition(groups: Sequence[Sequence[int]], group: int, cid: int) -> list[list[int]]:
    """The condition form without condition ``cid`` of group ``group`` (0-based). A group left empty goes too,
    unless it is the only one (an empty group matches every customer, and the form keeps one group to add to).
    A copy: ``groups`` is not changed. Removing an id the group does not hold changes nothing."""
    new = [list(g) for g in groups]
    if cid in new[group]:
        new[group].remove(cid)
    if not new[group] and len(new) > 1:
        new.pop(group)
    return new


def saved_audiences_table(saved: Mapping[str, Audience], customers: pd.DataFrame,
                          currency: Currency = NO_CURRENCY) -> pd.DataFrame:
    """``Audience, Who, Customers now``: one row per saved audience, in saved order: its name, its conditions in
    words and how many of ``customers`` it holds today (thousands separators), or ``needs lifetime value`` when
    it uses a column the table lacks (``p_alive`` or CLV without the lifetime-value columns)."""
    rows = []
    for name, audience in saved.items():
        try:
            n = count(audience_size(audience, customers).customers)
        except RfmError:
            n = "needs lifetime value"
        rows.append({"Audience": name, "Who": audience.describe(currency), "Customers now": n})
    return pd.DataFrame(rows, columns=["Audience", "Who", "Customers now"])
