"""What the app's pages show, computed here instead of in the pages: data quality, customer search and purchase
history, the cohort table and CLV joined to segments.

Pure functions of engine results (no Streamlit); each page calls one of them and renders what it returns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from .clean import CleanResult, rows_used
from .columns import COUNTRY, CUSTOMER_ID, INVOICE_DATE, MONETARY, SEGMENT
from .mapping import MappedTable
from .score import METRIC_COLUMNS, suggest_thresholds
from .segment import LintReport
from .settings import MetricScoring
from .timeline import Cohorts

__all__ = ["DataQuality", "clv_with_segments", "cohort_table", "country_choices", "data_quality", "filter_customers",
           "find_customer", "mapping_table", "purchase_history", "reading_notes", "rule_wins", "starting_edges"]


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


def country_choices(frame: pd.DataFrame) -> list[str]:
    """The distinct countries of a mapped table, as text, sorted (empty when no country column is mapped)."""
    if COUNTRY not in frame.columns:
        return []
    return sorted({str(c) for c in frame[COUNTRY].dropna().unique()})


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


def mapping_table(mapped: MappedTable) -> pd.DataFrame:
    """``column, from file column, why``: one row per mapped role (canonical name, the file's header, the reason it
    was chosen: detected from the headers or values, or given by the user)."""
    rows = [(role, col, mapped.reasons.get(role, "")) for role, col in mapped.mapping.items()]
    return pd.DataFrame(rows, columns=["column", "from file column", "why"])
