"""Export stage: segmented customers and summaries as CSV, an Excel workbook, and a self-contained HTML report.

Safety: text that came from the input and starts with ``= + - @``, tab or carriage return is prefixed with
``'`` in CSV and Excel (OWASP CSV injection), so a spreadsheet never evaluates it; the workbook writer is also
told never to turn text into formulas or links. The HTML report is rendered by Jinja2 with autoescaping, and
its charts by :func:`plotly.io.to_html`, which writes ``<``, ``>`` and ``/`` inside chart JSON as ``\\u003c``
etc., so no value can close a script.

Libraries: the workbook is written by xlsxwriter (real number formats and dates), the report from the template
``rfm_core/templates/report.html.j2``.

Provenance: the Excel workbook (sheet *About*) and the HTML report record the tool version, the input's name,
size and SHA-256, the settings and the rules. CSV files stay plain tables (header on the first line) so they
import into CRM and mailing tools; their provenance travels in :func:`provenance_json`, which the CLI writes
beside them and the app offers on the Export page.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import __version__
from .columns import (
    AVG_ORDER_VALUE,
    COUNTRY,
    CUSTOMER_ID,
    F_SCORE,
    FIRST_PURCHASE,
    FREQUENCY,
    LAST_PURCHASE,
    M_SCORE,
    MONETARY,
    R_SCORE,
    RECENCY_DAYS,
    RFM_SCORE,
    SEGMENT,
    TENURE_DAYS,
)
from .errors import RfmError
from .formatting import NO_CURRENCY, Currency, format_value, headline_money, label, readable_headers
from .playbooks import playbook_table
from .segment import ROLE_LABELS, RuleSet

__all__ = [
    "CUSTOMER_EXPORT_COLUMNS",
    "excel_money_format",
    "excel_workbook",
    "html_report",
    "neutralise",
    "neutralise_text",
    "provenance",
    "provenance_json",
    "readable_csv",
    "safe_filename",
    "segments_csv",
    "segments_table",
    "table_csv",
]

CUSTOMER_EXPORT_COLUMNS = [
    CUSTOMER_ID, RECENCY_DAYS, FREQUENCY, MONETARY, R_SCORE, F_SCORE, M_SCORE, RFM_SCORE,
    SEGMENT, FIRST_PURCHASE, LAST_PURCHASE, TENURE_DAYS, AVG_ORDER_VALUE, COUNTRY,
]
# Spreadsheets skip leading spaces (and some full-width forms) before deciding that a cell is a formula.
# The characters themselves, not escapes, so that Arrow's RE2 (Series.str.match on Arrow strings) reads it as re does.
_LEADING_PATTERN = "^[ \u00a0\u3000]*[=+\\-@\uff1d\uff0b\uff0d\uff20]|^[\t\r]"
_LEADING = re.compile(_LEADING_PATTERN)
# What makes Python's csv writer (pandas' to_csv) quote a value
_CSV_QUOTED = re.compile('[,"\r\n]')
#: How a float is written in CSV: 10 significant digits, enough for money, without binary noise (0.1 + 0.2).
FLOAT_FORMAT = "%.10g"


def neutralise_text(value: object) -> object:
    """One string as :func:`neutralise` writes it: ``'`` in front when a spreadsheet would run it as a formula."""
    if isinstance(value, str) and _LEADING.match(value):
        return "'" + value
    return value


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy in which every text cell and every header that a spreadsheet would run as a formula starts with ``'``.

    The one neutraliser for everything that reaches a CSV or a workbook (OWASP CSV injection): cells that start
    with ``= + - @`` (also after spaces, and their full-width forms), tab or carriage return. Numbers are untouched.
    """
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(s.dtype) or s.dtype == object:
            # Tested on Arrow strings: RE2 in C++, a tenth of the time of a Python regex per cell (0.45 of 2.2 s of
            # writing 432,700 customers)
            mask = s.astype("string[pyarrow]").str.match(_LEADING_PATTERN).fillna(False).astype(bool)
            if mask.any():
                text = s.astype("string")
                out[col] = text.where(~mask, "'" + text)
    out.columns = [neutralise_text(c) for c in out.columns]
    return out


def safe_filename(name: str, default: str = "export") -> str:
    """A file name without paths, control characters or shell-special characters."""
    base = re.split(r"[\\/]", str(name))[-1]
    base = re.sub(r"[^A-Za-z0-9._ -]+", "_", base).strip(" ._")
    return base[:100] or default


def provenance(*, input_name: str, input_sha256: str, input_rows: int, settings: dict[str, Any],
               rules: RuleSet, as_of: dt.date, customers: int,
               scoring: dict[str, Any] | None = None, reading: dict[str, Any] | None = None,
               engine: str = "pandas") -> dict[str, Any]:
    """What an analysis needs to be reproduced, and how the file was read: the one provenance builder.

    Every export's provenance comes from here: :meth:`rfm_core.pipeline.AnalysisResult.provenance` (the CLI and
    notebooks, every engine) and the app's Export page. ``engine`` is the engine that cleaned and aggregated
    (``pandas``, ``duckdb`` or ``spark``). Returns a JSON-friendly dict (dates as ISO text).

    ``scoring`` (from :meth:`rfm_core.score.ScoreResult.provenance`) records, per metric, the method asked and
    used, the effective edges and the customers per score; it is included when given.
    ``reading`` (:attr:`rfm_core.mapping.MappedTable.reading`) records the format, encoding, delimiter, lines
    decoded as cp1252, the decimal mark per number column, the date format and order with its evidence, time-zone
    offsets, and the mapping with the reason for each column.
    """
    out = {
        "tool": f"rfm_core {__version__}",
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "input_name": input_name,
        "input_sha256": input_sha256,
        "input_rows": input_rows,
        "as_of": as_of.isoformat(),
        "engine": engine,
        "customers": customers,
        "settings": settings,
        "rules_toml": rules.to_toml(),
    }
    if scoring is not None:
        out["scoring"] = scoring
    if reading is not None:
        out["reading"] = reading
    return out


def provenance_json(prov: dict[str, Any]) -> str:
    """The provenance (:func:`provenance`) as indented UTF-8 JSON text; values JSON cannot hold become text."""
    return json.dumps(prov, indent=2, ensure_ascii=False, default=str)


def _customer_columns(customers: pd.DataFrame) -> pd.DataFrame:
    """The export's column order (known columns first, then any extra such as CLV), segment as text."""
    cols = [c for c in CUSTOMER_EXPORT_COLUMNS if c in customers.columns]
    extra = [c for c in customers.columns if c not in cols]
    out = customers[cols + extra].copy()
    out[SEGMENT] = out[SEGMENT].astype(str)
    return out


def _customer_table(customers: pd.DataFrame) -> pd.DataFrame:
    out = _customer_columns(customers)
    for c in (FIRST_PURCHASE, LAST_PURCHASE):
        if c in out.columns:
            out[c] = out[c].dt.strftime("%Y-%m-%d %H:%M:%S")
    return out


def segments_table(customers: pd.DataFrame, segments: list[str] | None = None) -> pd.DataFrame:
    """The table :func:`segments_csv` writes: export column order, segment as text, dates as text."""
    data = customers if not segments else customers[customers["segment"].astype(str).isin(segments)]
    return _customer_table(data)


def segments_csv(customers: pd.DataFrame, segments: list[str] | None = None) -> bytes:
    """Segmented customers as UTF-8 CSV (optionally only some segments)."""
    return table_csv(segments_table(customers, segments))


def table_csv(frame: pd.DataFrame) -> bytes:
    """Any table as UTF-8 CSV with injection-neutralised text and floats written :data:`FLOAT_FORMAT`."""
    text = _floats_as_text(neutralise(frame))
    return _plain_csv(text) or text.to_csv(index=False).encode("utf-8")


def _plain_csv(frame: pd.DataFrame) -> bytes | None:
    """``frame.to_csv(index=False)``'s bytes written by Arrow's CSV writer (0.1 s instead of 1.0 s for 432,700
    customers), or None where the two could differ, for pandas to write: a column that is not whole numbers or
    text (dates, bools, categories), a value or header that would need quotes (a comma, a quote, a line break),
    fewer than two columns (a row's lone empty value is quoted), repeated headers. Tested byte for byte against
    pandas (tests/engine/test_export.py)."""
    import os

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    headers = [str(c) for c in frame.columns]
    if len(headers) < 2 or len(set(headers)) < len(headers) or any(_CSV_QUOTED.search(h) for h in headers):
        return None
    arrays = []
    for i in range(len(headers)):
        values = frame.iloc[:, i]
        if pd.api.types.is_integer_dtype(values.dtype) and not isinstance(values.dtype, pd.CategoricalDtype):
            arrays.append(pa.array(values, from_pandas=True))
            continue
        if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)) or isinstance(
                values.dtype, pd.CategoricalDtype):
            return None
        try:
            text = pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # numbers or other objects among the text: pandas' str()
            return None
        if pc.any(pc.match_substring_regex(text, _CSV_QUOTED.pattern)).as_py():
            return None
        arrays.append(text)
    out = io.BytesIO()
    out.write((",".join(headers) + os.linesep).encode("utf-8"))
    pacsv.write_csv(pa.table(arrays, names=headers), out,
                    pacsv.WriteOptions(include_header=False, quoting_style="none", eol=os.linesep))
    return out.getvalue()


def _floats_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """The float columns as the text ``to_csv(float_format=FLOAT_FORMAT)`` writes (a missing value empty), formatted
    in one pass over plain floats: pandas' own float_format path cost 1.4 s for 432,700 customers, this 0.2 s."""
    out = frame.copy(deep=False)
    for i in range(frame.shape[1]):
        values = frame.iloc[:, i]
        if pd.api.types.is_float_dtype(values.dtype) and not isinstance(values.dtype, pd.CategoricalDtype):
            numbers = values.to_numpy(dtype="float64", na_value=np.nan)
            text = np.full(len(numbers), "", dtype=object)
            present = ~np.isnan(numbers)
            text[present] = [FLOAT_FORMAT % v for v in numbers[present].tolist()]
            out.isetitem(i, text)
    return out


def readable_csv(frame: pd.DataFrame, currency: Currency = NO_CURRENCY) -> bytes:
    """:func:`table_csv` for people: headers in words and numbers in the analyst's format.

    Headers: :func:`rfm_core.formatting.readable_headers`; money headers name the currency when one is set
    (``Spend (GBP)``), percentage headers say ``%`` (``P(alive) (%)``) unless the label already does.
    Values (DOCUMENTATION.md, "Number formats"), as plain numbers a spreadsheet reads, without thousands separators
    or symbols: money with two decimals (``1234.57``); shares and probabilities as percentages with one decimal
    (0.14734 -> ``14.7``); counts and scores whole (a missing count is ``0``); means and medians with one decimal
    (predicted purchase days two); a missing value blank. Text, dates and columns of no known kind are written as
    :func:`table_csv` writes them. The machine-name CSV (:func:`table_csv`, :func:`segments_csv`) stays unrounded:
    it is the one for CRM and mailing imports.

    Raises
    ------
    ConfigError
        Two columns would get the same header.
    """
    from .formatting import count, decimal, kind_of, money

    headers = list(readable_headers(frame).columns)
    out = neutralise(frame)  # text cells; the numbers formatted below are not formulas
    for i, col in enumerate(frame.columns):
        name, values = str(col), frame[col]
        kind = kind_of(name)
        numeric = pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)
        if kind == "money":
            headers[i] += f" ({currency.code})" if currency.code else ""
        elif kind in ("percent", "probability") and "%" not in headers[i]:
            headers[i] += " (%)"
        if not numeric:
            if name == "role":  # a rule's role in words ("can't lose (high value, lapsing)", not "cant_lose")
                out[col] = values.map(lambda r: ROLE_LABELS.get(r, r) if isinstance(r, str) else r)
            continue
        if kind == "money":
            out[col] = values.map(lambda v: money(v).replace(",", ""))
        elif kind in ("percent", "probability"):
            # A number, not percent()'s "<0.1%": a spreadsheet must read every cell of the column.
            out[col] = values.map(lambda v: "" if pd.isna(v) else f"{float(v) * 100:.1f}".replace("-0.0", "0.0"))
        elif kind in ("count", "score"):
            out[col] = values.map(lambda v: count(v).replace(",", ""))
        elif kind == "decimal":
            places = 2 if name.startswith("predicted") else 1
            out[col] = values.map(lambda v, d=places: decimal(v, d).replace(",", ""))
    out.columns = [neutralise_text(h) for h in headers]
    return out.to_csv(index=False, float_format=FLOAT_FORMAT).encode("utf-8")


# Number formats of the workbook (Excel format codes). Money takes the currency's symbol: excel_money_format.
MONEY_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.0%"  # one decimal, as everywhere (DOCUMENTATION.md, "Number formats")
COUNT_FORMAT = "#,##0"
DECIMAL_FORMAT = "#,##0.00"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
EXCEL_MAX_ROWS = 1_048_576  # rows per worksheet, the header included
_MONEY_COLUMNS = frozenset({MONETARY, AVG_ORDER_VALUE, "revenue", "monetary_mean", "monetary_median"})
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")  # Excel's day 0 in the 1900 date system (its 1900 leap-year bug included)


def _excel_format(column: str, dtype: Any, money_format: str = MONEY_FORMAT) -> str | None:
    """The number format of a column, from its name and type; None for text."""
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return DATETIME_FORMAT
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return None
    if column == "share" or column.endswith("_share") or column == "p_alive":
        return PERCENT_FORMAT
    if column in _MONEY_COLUMNS or column.startswith("clv_") or column.endswith(("_revenue", "_at_risk")):
        return money_format
    return COUNT_FORMAT if pd.api.types.is_integer_dtype(dtype) else DECIMAL_FORMAT


def excel_money_format(currency: Currency = NO_CURRENCY) -> str:
    """The Excel number format of money: ``#,##0.00`` with the currency's symbol in quotes where it goes.

    ``"£"#,##0.00`` shows -12 as ``-£12.00`` (Excel puts the minus in front of a literal prefix), the same as
    :func:`rfm_core.formatting.money`; ``#,##0.00" €"`` for a symbol after the number.
    """
    before, after = currency.affixes()

    def quote(text: str) -> str:  # a literal in an Excel number format; a symbol never holds '"'
        return '"' + text.replace('"', "") + '"' if text else ""

    return f"{quote(before)}{MONEY_FORMAT}{quote(after)}"


class _Styles:
    """One xlsxwriter format per number-format code, made on first use."""

    def __init__(self, book: Any) -> None:
        self.book = book
        self.header = book.add_format({"bold": True, "bg_color": "#F3F5F8", "bottom": 1})
        self._made: dict[str, Any] = {}

    def __call__(self, code: str | None) -> Any:
        if code is None:
            return None
        if code not in self._made:
            self._made[code] = self.book.add_format({"num_format": code})
        return self._made[code]


def _write_sheet(book: Any, name: str, frame: pd.DataFrame, styles: _Styles,
                 formats: dict[str, str] | None = None, money_format: str = MONEY_FORMAT) -> None:
    """One table on its own sheet: bold frozen header, autofilter, widths, a number format per column.

    Cells are written column by column with the typed ``write_number``/``write_string`` calls (no type sniffing);
    missing values stay empty cells. In a text column of mixed values (About), numbers are written as numbers.
    """
    if len(frame) + 1 > EXCEL_MAX_ROWS:
        raise RfmError(f"The {name} sheet would need {len(frame):,} rows; an Excel sheet holds "
                       f"{EXCEL_MAX_ROWS - 1:,}. Export the CSV instead.")
    sheet = book.add_worksheet(name)
    sheet.write_row(0, 0, [str(c) for c in frame.columns], styles.header)
    for j, column in enumerate(frame.columns):
        series = frame[column]
        code = (formats or {}).get(str(column), _excel_format(str(column), series.dtype, money_format))
        style = styles(code)
        width = len(str(column))
        if code is not None and pd.api.types.is_datetime64_any_dtype(series.dtype):
            if getattr(series.dt, "tz", None) is not None:
                series = series.dt.tz_localize(None)  # Excel has no time zones: the wall-clock time as recorded
            serial = ((series - _EXCEL_EPOCH) / pd.Timedelta(days=1)).to_numpy(dtype=float, na_value=np.nan)
            for i, day in enumerate(serial.tolist(), start=1):
                if day == day:  # not NaT
                    sheet.write_number(i, j, day, style)
            width = max(width, len(code))
        elif code is not None:
            numbers = series.to_numpy(dtype=float, na_value=np.nan) if series.isna().any() else series.to_numpy()
            write_number = sheet.write_number
            for i, number in enumerate(numbers.tolist(), start=1):
                if number == number and number not in (np.inf, -np.inf):
                    write_number(i, j, number, style)
            biggest = pd.Series(numbers, dtype=float).replace([np.inf, -np.inf], np.nan).abs().max()
            if biggest == biggest:
                width = max(width, len(format(biggest, ",.2f")) + 1)
        else:
            write_string = sheet.write_string
            for i, value in enumerate(series.tolist(), start=1):
                if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
                    if value == value:
                        sheet.write_number(i, j, value, styles(COUNT_FORMAT if float(value).is_integer()
                                                               else DECIMAL_FORMAT))
                elif value is not None and value is not pd.NA and value is not pd.NaT:
                    write_string(i, j, str(value))
            lengths = series.astype("string").str.len()
            width = max(width, int(lengths.max()) if lengths.notna().any() else 0)
        sheet.set_column(j, j, min(max(width + 2, 8), 60))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(frame), 1), max(len(frame.columns) - 1, 0))


def excel_workbook(customers: pd.DataFrame, summary: pd.DataFrame, ledger: pd.DataFrame,
                   prov: dict[str, Any], rules: RuleSet, currency: Currency = NO_CURRENCY) -> bytes:
    """An .xlsx with sheets Summary, Customers, Rules, Ledger and About (provenance), written by xlsxwriter.

    Every sheet is a table with a bold, frozen header row, an autofilter and column widths from its content.
    Numbers are real numbers with formats: money ``#,##0.00`` with the currency's symbol
    (:func:`excel_money_format`, none without a currency), shares and P(alive) as percentages ``0.0%``, counts
    ``#,##0``; first and last purchase are real Excel date-times. The Rules sheet carries each segment's playbook
    (goal, channel, offer, timing, control share). Text from the input is neutralised (:func:`neutralise`) and
    never written as a formula or a link.

    Parameters
    ----------
    customers
        One row per customer (the segmentation's customer table, optionally with CLV columns).
    summary, ledger
        The per-segment summary and the row ledger (``reason, rows, share``).
    prov, rules
        :func:`provenance` of the analysis and the segment rules used.

    Raises
    ------
    RfmError
        A table has more rows than an Excel sheet holds (1,048,575 below the header).
    """
    import xlsxwriter

    buf = io.BytesIO()
    rules_frame = rules.to_frame()
    rules_frame["condition"] = [r.describe(rules.scale) for r in rules.rules]
    about = pd.DataFrame([(row["label"], row["raw"]) for row in _provenance_rows(prov)
                          if row["label"] != _words("rules_toml")], columns=["Provenance", "Value"], dtype=object)
    # Input text is data, never a formula or a link, whatever neutralise leaves.
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                     "strings_to_numbers": False})
    styles = _Styles(book)
    money_format = excel_money_format(currency)
    _write_sheet(book, "Summary", neutralise(summary), styles, money_format=money_format)
    _write_sheet(book, "Customers", neutralise(_customer_columns(customers)), styles,
                 {"r_score": "0", "f_score": "0", "m_score": "0"}, money_format)
    _write_sheet(book, "Rules", neutralise(rules_frame), styles, {"control_share": PERCENT_FORMAT})
    _write_sheet(book, "Ledger", neutralise(ledger), styles)
    _write_sheet(book, "About", neutralise(about), styles)
    book.close()
    return buf.getvalue()


@dataclass(frozen=True)
class _Table:
    """A table for the report template: headers in words, cells already formatted as text."""

    headers: list[str]
    rows: list[list[str]]
    numeric: frozenset[str]


_PROVENANCE_LABELS = {
    "tool": "Made by", "created": "Created (UTC)", "input_name": "Input file", "input_sha256": "Input SHA-256",
    "input_rows": "Input rows", "as_of": "Analysis date", "customers": "Customers", "settings": "Settings",
    "rules_toml": "Segment rules (TOML)", "engine": "Engine", "read": "Reading", "mapping": "Column mapping",
    "cleaning": "Cleaning", "scoring": "Scoring", "as_of_setting": "Analysis date setting",
    "reading": "How the file was read",
}


def _words(key: str) -> str:
    return _PROVENANCE_LABELS.get(key, key.replace("_", " ").capitalize())


def _provenance_value(value: Any) -> str:
    if value is None:
        return "(not set: default)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_provenance_value(v) for v in value) if value else "(none)"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _provenance_rows(prov: dict[str, Any]) -> list[dict[str, Any]]:
    """Provenance as (label, value) rows with labels in words; nested settings flattened to "Cleaning: returns"."""
    rows: list[dict[str, Any]] = []

    def add(label: str, value: Any) -> None:
        if isinstance(value, dict) and value:
            for k, v in value.items():
                add(f"{label}: {_words(k).lower()}", v)
            return
        if isinstance(value, dict):
            text = "(none)"
        elif value is None and label.startswith(_words("mapping")):
            text = "(not mapped)"  # an explicit override that un-maps a detected column
        else:
            text = _provenance_value(value)
        raw = value if isinstance(value, int | float) and not isinstance(value, bool) else text
        rows.append({"label": label, "value": text, "block": "\n" in text, "raw": raw})

    for key, value in prov.items():
        if key == "settings" and isinstance(value, dict):
            for k, v in value.items():
                add(_words("as_of_setting") if k == "as_of" else _words(k), v)
        else:
            add(_words(key), value)
    return rows


@functools.cache
def _templates() -> Any:
    import jinja2

    # Autoescaping always on: every value from the input (names, countries, descriptions) is escaped.
    return jinja2.Environment(loader=jinja2.PackageLoader("rfm_core", "templates"), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=False, lstrip_blocks=False)


def html_report(*, title: str, kpis: dict[str, float], summary: pd.DataFrame, insights: list[str] | tuple[str, ...],
                rules: RuleSet, ledger: pd.DataFrame, prov: dict[str, Any], figures: list[Any] | None = None,
                include_plotlyjs: bool = True, currency: Currency = NO_CURRENCY) -> str:
    """A single self-contained HTML page to email: KPIs, insights, segments, playbooks, charts, ledger, provenance.

    Rendered from the Jinja2 template ``rfm_core/templates/report.html.j2`` with autoescaping. Headers are in
    words (:func:`rfm_core.formatting.label`) and numbers in the analyst's format (:mod:`rfm_core.formatting`):
    money with the currency, two decimals in tables and none in the headline figures; shares with one decimal;
    counts with thousands separators. Each segment's playbook (goal, channel, offer, timing) comes with its
    suggested hold-out share and the customers it leaves in the test and control groups
    (:func:`rfm_core.playbooks.split_holdout`). Charts are written by :func:`plotly.io.to_html`; plotly.js is
    included once, inline, before the first chart (none when ``include_plotlyjs`` is False), so the file opens
    offline. The provenance is a table at the end with labels in words, collapsed in a ``<details>`` element.

    Parameters
    ----------
    kpis
        ``customers``, ``revenue``, ``orders``, ``avg_order_value`` (as :func:`rfm_core.kpis` returns them).
    summary
        One row per segment (:func:`rfm_core.segment_summary`): ``segment, customers, customer_share, revenue,
        revenue_share, avg_order_value``; shares are fractions of 1, money in the input's currency.
    ledger
        The row ledger: ``reason, rows, share``.
    prov
        :func:`provenance` of the analysis.
    figures
        Plotly figures, shown in order.
    currency
        The currency money is shown in (none: plain numbers).
    """
    import plotly.io as pio

    kpi_rows = [{"label": "Customers", "value": format_value("customers", kpis.get("customers", 0))},
                {"label": "Revenue", "value": headline_money(kpis.get("revenue", 0), currency)},
                {"label": "Orders", "value": format_value("orders", kpis.get("orders", 0))},
                {"label": "Average order value", "value": headline_money(kpis.get("avg_order_value", 0), currency)}]
    table = summary.assign(rule=[rules.condition(s) for s in summary["segment"]],
                           action=[rules.action(s) for s in summary["segment"]])
    segments = _formatted_table(table, ["segment", "customers", "customer_share", "revenue", "revenue_share",
                                        AVG_ORDER_VALUE, "rule", "action"], currency,
                                {"rule": "Rule", "action": "Recommended action"})
    playbooks = _formatted_table(
        playbook_table(summary, rules), None, currency,
        {"control_share": "Hold-out share", "test": "Contacted (test)", "control": "Held out (control)"})
    ledger_table = _formatted_table(ledger, ["reason", "rows", "share"], currency,
                                    {"reason": "Reason", "rows": "Rows", "share": "Share of input rows"},
                                    {"rows": "count", "share": "percent"})
    charts = [pio.to_html(fig, full_html=False, include_plotlyjs=include_plotlyjs and i == 0, div_id=f"chart-{i}",
                          default_height=f"{fig.layout.height or 450}px", config={"responsive": True})
              for i, fig in enumerate(figures or [])]
    money_note = (f"Amounts in {currency.code} ({currency.sign})." if currency.code and currency.sign != currency.code
                  else f"Amounts in {currency.code}." if currency.code
                  else "Amounts in the file's currency (no currency set).")
    return str(_templates().get_template("report.html.j2").render(
        title=title, input_name=prov.get("input_name"), as_of=prov.get("as_of"), created=prov.get("created"),
        tool=prov.get("tool"), money_note=money_note, kpis=kpi_rows, insights=list(insights), segments=segments,
        playbooks=playbooks, figures=charts, ledger=ledger_table, provenance=_provenance_rows(prov)))


def _formatted_table(frame: pd.DataFrame, columns: list[str] | None, currency: Currency,
                     headers: dict[str, str] | None = None, kinds: dict[str, str] | None = None) -> _Table:
    """Cells as text by :func:`rfm_core.formatting.format_value` (or the kind given in ``kinds``), headers in words.

    Numeric columns (money, shares, counts) are right-aligned; text columns left-aligned.
    """
    from .formatting import count, kind_of, percent

    present = [c for c in (columns or list(frame.columns)) if c in frame.columns]
    names = {c: (headers or {}).get(c, label(c)) for c in present}

    def cell(column: str, value: Any) -> str:
        kind = (kinds or {}).get(column)
        if kind == "percent":
            return percent(value)
        if kind == "count":
            return count(value)
        return format_value(column, value, currency)

    rows = [[cell(c, v) for c, v in zip(present, rec, strict=True)] for rec in frame[present].itertuples(index=False)]
    numeric = frozenset(names[c] for c in present
                        if ((kinds or {}).get(c) or kind_of(c)) in ("money", "percent", "probability", "count",
                                                                    "decimal", "score"))
    return _Table([names[c] for c in present], rows, numeric)
