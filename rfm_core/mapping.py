"""Map stage: original headers to canonical columns, text cells to typed values, every problem in one table.

Detection (:func:`detect_columns`) scores every header against every role from its spelling and its words
(:func:`rfm_core.columns.match_header`), checks the values on a sample of rows (dates parse as dates, amounts as
numbers, customer ids repeat), and gives each header at most one role so that the total score is highest. Every
chosen role carries a reason in words.

Parsing is done on the *distinct* values of a column and mapped back through codes: Online Retail has 541,909
date cells but about 23,000 distinct timestamps, so each format is tried on 23,000 strings, not half a million.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .columns import (
    AMOUNT,
    CANCELLED_AT,
    CANONICAL,
    COUNTRY,
    CUSTOMER_ID,
    DESCRIPTION,
    INVOICE_DATE,
    INVOICE_ID,
    ORDER_ROLES,
    ORDER_STATUS,
    PAYMENT_STATUS,
    QUANTITY,
    REQUIRED_HELP,
    ROLE_LABELS,
    STOCK_CODE,
    UNIT_PRICE,
    closest_names,
    match_header,
)
from .errors import ConfigError, MappingError
from .orders import DUPLICATE, LINE_REVENUE_FROM, LINE_REVENUE_NOTE, prepare_orders
from .platforms import PlatformMatch, recognise
from .read import RawTable

__all__ = [
    "DUPLICATE",
    "PROBLEM_COLUMNS",
    "UTC_OFFSET",
    "DateReading",
    "Detection",
    "MappedTable",
    "NumberReading",
    "apply_mapping",
    "date_order_messages",
    "describe_mapping",
    "detect_columns",
    "detect_mapping",
    "parse_dates",
    "parse_numbers",
    "read_dates",
    "read_numbers",
    "resolve_mapping",
]

#: Minutes east of UTC of each row's timestamp where the file states it (``+13:00``, ``Z``); NaN where it does not.
#: Present only when at least one row states an offset. Used for "dated after today", never for recency.
UTC_OFFSET = "_utc_offset_min"
PROBLEM_COLUMNS = ["column", "source_column", "problem", "rows", "examples", "what_to_do"]
_TEXT_COLUMNS = (CUSTOMER_ID, INVOICE_ID, COUNTRY, STOCK_CODE, DESCRIPTION)
_MONEY_COLUMNS = (QUANTITY, UNIT_PRICE, AMOUNT)
_ALL_ROLES = CANONICAL + ORDER_ROLES


@dataclass(frozen=True)
class MappedTable:
    """Canonical, typed transactions (one row per input row, same order) and what went wrong on the way.

    ``frame`` has the canonical columns that were mapped, plus ``amount`` (always), ``_duplicate`` (True for
    a line identical in every original column to an earlier one) and, when any timestamp states a time-zone
    offset, ``_utc_offset_min``. Unparseable cells are NaN/NaT; the clean stage turns them into ledger reasons.
    ``reasons`` says why each role got its column, ``given`` lists the roles the user chose, ``warnings`` are
    the reading decisions the data could not prove, and ``reading`` is the whole account for export provenance.
    """

    frame: pd.DataFrame
    mapping: dict[str, str]
    problems: pd.DataFrame
    notes: tuple[str, ...]
    source: RawTable
    reasons: dict[str, str] = field(default_factory=dict)
    given: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    reading: dict[str, Any] = field(default_factory=dict)
    #: The notes that state a guess the reader made from the data (platform, encoding, date format and order,
    #: decimal mark, time zones, orders without an invoice column): the CLI prints each as a ``read:`` line.
    guesses: tuple[str, ...] = ()

    @property
    def has_invoice_id(self) -> bool:
        return INVOICE_ID in self.mapping

    @property
    def guessed(self) -> bool:
        """True when at least one role's column was detected rather than chosen by the user."""
        return any(role not in self.given for role in self.mapping)


def describe_mapping(mapping: Mapping[str, str]) -> str:
    """``customer_id<-Email, invoice_date<-Created at, ...`` in canonical order (the CLI's ``mapped:`` line)."""
    return ", ".join(f"{role}<-{mapping[role]}" for role in _ALL_ROLES if role in mapping)


# ------------------------------------------------------------------------------------------------ detection

#: A role needs at least this score to be assigned (a head word scores 10, a mere mention 3).
_MIN_SCORE = 5.0
_SAMPLE_ROWS = 1000
#: An e-mail address as a customer id (compared without letter case). Written for both Python's and the SQL
#: engines' regular expressions (RE2, Java): the whitespace characters spelled out, the dot in a class.
EMAIL_PATTERN = '^[^@ \t\n\r\f\v<>(),;:"]+@[^@ \t\n\r\f\v<>(),;:"]+[.][A-Za-z]{2,}$'
_EMAIL = re.compile(EMAIL_PATTERN)
_DATE_LIKE = re.compile(
    r"^\s*(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}(?:$|[ T])|\d{4}/\d{1,2}/\d{1,2}"
    r"|\d{1,2}\s+[A-Za-z]{3,9}\.?,?\s+\d{2,4}|[A-Za-z]{3,9}\.?\s+\d{1,2},?\s+\d{2,4})"
)


@dataclass(frozen=True)
class Detection:
    """Detected roles: ``mapping`` (role -> header), ``reasons`` (role -> why, in words) and ``notes`` (close calls)."""

    mapping: dict[str, str]
    reasons: dict[str, str]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Evidence:
    """What a sample of one column holds (counts over the sampled rows)."""

    rows: int
    filled: int = 0
    dates: int = 0
    serials: int = 0
    numbers: int = 0
    integers: int = 0
    emails: int = 0
    distinct: int = 0


def _sample_positions(n: int) -> np.ndarray:
    # Evenly spread, so a file sorted by date or customer is sampled across its whole length.
    return np.unique(np.linspace(0, n - 1, min(n, _SAMPLE_ROWS)).astype(np.int64)) if n else np.zeros(0, np.int64)


def _looks_numeric(text: str) -> float | None:
    """The value of a number as :func:`read_numbers` would accept it (decimal mark left open), else None."""
    try:
        return float(text)
    except ValueError:
        pass
    m = _NUMBER_TEXT.match(text)
    if m is None:
        return None
    kind, digits = _classify(re.sub(r"[ '’\u00a0\u202f]", "", m.group("num")))
    if kind == "bad":
        return None
    return float(digits.replace(",", "")) if kind == "ambiguous" else float(digits)


def _evidence(series: pd.Series) -> _Evidence:
    rows = len(series)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        filled = int(series.notna().sum())
        return _Evidence(rows, filled, dates=filled, distinct=int(series.nunique()))
    if pd.api.types.is_bool_dtype(series.dtype):
        return _Evidence(rows, int(series.notna().sum()))
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        ok = np.isfinite(values)
        whole = ok & (np.mod(np.where(ok, values, 0), 1) == 0)
        serial = ok & (values >= 20_000) & (values <= 80_000)  # 1954..2119 as Excel day numbers
        return _Evidence(rows, int(ok.sum()), serials=int(serial.sum()), numbers=int(ok.sum()),
                         integers=int(whole.sum()), distinct=int(series.nunique()))
    # Distinct values with their counts: a sample of 1,000 rows rarely holds 1,000 different values.
    counts = series.astype("string").str.strip().value_counts()
    filled = dates = serials = numbers = integers = emails = 0
    keys: set[str] = set()
    for value, n in zip(counts.index.tolist(), counts.tolist(), strict=True):
        if value.lower() in ("", "nan", "none", "null"):
            continue
        filled += n
        number = _looks_numeric(value)
        if number is not None and np.isfinite(number):
            numbers += n
            integers += n if number.is_integer() else 0
            serials += n if 20_000 <= number <= 80_000 else 0
        dates += n if _DATE_LIKE.match(value) else 0
        email = _EMAIL.match(value) is not None
        emails += n if email else 0
        keys.add(value.lower() if email else value)  # e-mail ids are compared without case
    return _Evidence(rows, filled, dates, serials, numbers, integers, emails, len(keys))


def _share(part: int, whole: int) -> str:
    return f"{part:,} of {whole:,} sampled values"


def _judge(role: str, base: float, ev: _Evidence | None) -> tuple[float, str]:
    """Adjust a header score by what the column holds; the second item says what the values showed."""
    if ev is None:
        return base, ""
    if ev.filled == 0:
        return base * 0.3, "empty in the sampled rows"
    f = ev.filled
    if role == INVOICE_DATE:
        dates = ev.dates + (ev.serials if base > 0 else 0)
        if dates >= 0.9 * f:
            note = f"{_share(dates, f)} are dates"
            if ev.filled < 0.5 * ev.rows:
                return base * 0.5, note + f", but {ev.rows - ev.filled:,} of {ev.rows:,} sampled rows are blank"
            return (base + 2 if base else (6.0 if ev.dates >= 0.95 * f else 0.0)), note
        return base * 0.2, f"only {_share(dates, f)} are dates"
    if role in _MONEY_COLUMNS:
        if ev.dates >= 0.5 * f:
            return base * 0.2, f"{_share(ev.dates, f)} are dates, not numbers"
        if ev.numbers == 0:  # mapped, every row would be dropped as "not a number"
            return 0.0, f"none of {f:,} sampled values is a number"
        if ev.numbers < 0.8 * f:  # still the column, if nothing better: its bad rows go to the ledger
            return base * 0.2, f"only {_share(ev.numbers, f)} are numbers"
        if role == QUANTITY and ev.integers < 0.5 * ev.numbers:
            return base * 0.5, f"{_share(ev.numbers - ev.integers, f)} are not whole numbers"
        return base + (1 if base else 0), f"{_share(ev.numbers, f)} are numbers"
    if role == CUSTOMER_ID:
        repeat = (f"repeat across rows ({ev.distinct:,} distinct in {f:,} rows)" if ev.distinct < f
                  else f"are all different ({ev.distinct:,} in {f:,} rows)")
        if ev.emails >= 0.8 * f:
            score = base + 3 if base else 6.0
            return score * (0.7 if ev.distinct == f and f >= 50 else 1.0), f"holds e-mail addresses that {repeat}"
        if ev.dates >= 0.9 * f or (ev.numbers >= 0.9 * f and ev.integers < 0.5 * ev.numbers):
            return base * 0.2, "holds dates or prices, not ids"
        if ev.distinct == f and f >= 50:
            return base * 0.6, f"values {repeat}: more like a per-row id"
        return base, f"values {repeat}"
    if role == INVOICE_ID:
        if ev.dates >= 0.9 * f or ev.emails >= 0.8 * f:
            return base * 0.2, "holds dates or e-mail addresses, not invoice numbers"
        return base, f"{ev.distinct:,} distinct in {f:,} sampled rows"
    if role in (COUNTRY, DESCRIPTION, STOCK_CODE) and (
            ev.dates >= 0.9 * f or (role != STOCK_CODE and ev.numbers >= 0.9 * f)):
        return base * 0.2, "holds dates or numbers"
    return base, ""


def detect_columns(
    table: pd.DataFrame | Sequence[str],
    prior: Mapping[str, str] | None = None,
    prior_reasons: Mapping[str, str] | None = None,
) -> Detection:
    """Detect each role's column from the headers and, when a table is given, the values in a sample of rows.

    Parameters
    ----------
    table : DataFrame or sequence of headers
        The raw table (values are checked on up to 1,000 evenly spread rows) or only its headers.
    prior : mapping, optional
        ``{role: header}`` already decided; these are kept and their headers are not offered to other roles.
        Without it, a recognised shop platform's export (:func:`rfm_core.platforms.recognise`) gets the
        platform's mapping as the whole answer, order-level roles included (Shopify's order-level ``Total`` is not
        line revenue).
    prior_reasons : mapping, optional
        The reasons for the ``prior`` roles.

    Returns
    -------
    Detection
        ``mapping`` role -> header, ``reasons`` role -> sentence, ``notes`` on close calls.

    Notes
    -----
    Each header is scored against each role by :func:`rfm_core.columns.match_header` (exact known spelling 100
    minus its position in the synonym list; a head word naming the role 10; a mention 3). The sample then adjusts
    the score: a date column whose values are not dates, an amount whose values are not numbers, or a customer
    id whose values are all different is scaled down; e-mail addresses add 3 to the customer id; a column of
    dates or e-mail addresses whose name says nothing is still a candidate (score 6). Roles and headers are then
    paired to maximise the total score (``scipy.optimize.linear_sum_assignment``), each header at most once, and
    pairs under 5 points are dropped. A file with a price but neither a quantity nor an amount uses the price as
    the line amount.
    """
    frame = table if isinstance(table, pd.DataFrame) else None
    headers = [str(c) for c in (frame.columns if frame is not None else table)]
    if prior is None:
        platform = recognise(headers)
        if platform is not None:  # the platform's mapping is the whole answer: its headers mean what it says
            said = f"the {platform.name}'s column for it"
            return Detection(dict(platform.mapping), dict.fromkeys(platform.mapping, said), platform.reasons)
    prior = {r: h for r, h in (prior or {}).items() if r in _ALL_ROLES and h in headers}
    reasons = {r: (prior_reasons or {}).get(r, "given by the recognised export format") for r in prior}
    roles = [r for r in CANONICAL if r not in prior]
    free = [h for h in dict.fromkeys(headers) if h not in prior.values()]
    sample = None
    if frame is not None:
        pos = _sample_positions(len(frame))
        sample = frame.iloc[pos]
    scores = np.zeros((len(roles), len(free)), dtype="float64")
    why: dict[tuple[int, int], str] = {}
    for j, header in enumerate(free):
        match = match_header(header)
        column = sample[header] if sample is not None and header in sample.columns else None
        ev = _evidence(column) if isinstance(column, pd.Series) else None  # a duplicated name has no one column
        for i, role in enumerate(roles):
            base = match.scores.get(role, 0.0)
            score, value_note = _judge(role, base, ev)
            if score <= 0:
                continue
            scores[i, j] = score
            head = match.why.get(role, "its name does not say, but its values do")
            why[(i, j)] = head + (f"; {value_note}" if value_note else "")
    scores[scores < _MIN_SCORE] = 0.0
    mapping = dict(prior)
    notes: list[str] = []
    if scores.size:
        for i, j in _best_assignment(scores):
            mapping[roles[i]] = free[j]
            reasons[roles[i]] = why[(i, j)]
        taken = set(mapping.values())
        for i, role in enumerate(roles):
            if role not in mapping or role not in (CUSTOMER_ID, INVOICE_ID, INVOICE_DATE, *_MONEY_COLUMNS):
                continue
            chosen = scores[i, free.index(mapping[role])]
            rivals = [free[j] for j in np.argsort(-scores[i]) if free[j] not in taken
                      and scores[i, j] >= max(_MIN_SCORE, 0.8 * chosen)]
            if rivals:
                notes.append(f"{rivals[0]!r} could also be the {ROLE_LABELS[role]}; {mapping[role]!r} was chosen "
                             "(better match). Change it under Column mapping (command line: --map) if that is wrong.")
    if UNIT_PRICE in mapping and QUANTITY not in mapping and AMOUNT not in mapping and UNIT_PRICE not in prior:
        # A price with nothing to multiply it by is what the line cost.
        mapping[AMOUNT] = mapping.pop(UNIT_PRICE)
        reasons[AMOUNT] = reasons.pop(UNIT_PRICE) + "; there is no quantity column, so it is taken as the line amount"
    ordered = {r: mapping[r] for r in _ALL_ROLES if r in mapping}
    return Detection(ordered, {r: reasons[r] for r in ordered}, tuple(notes))


def _best_assignment(scores: np.ndarray) -> list[tuple[int, int]]:
    """Pairs (role, header) with positive scores, each header at most once, maximising the total score.

    An exact branch-and-bound search (pruned by the best total still reachable). Each role needs only its best
    ``n_roles`` headers: the other roles take at most ``n_roles - 1`` of them, so an optimum never needs a worse
    one. On equal totals the earlier header wins. Used instead of
    ``scipy.optimize.linear_sum_assignment`` because importing SciPy's optimiser costs the command line about a
    second and 40 MB on every run, and here the answer is found in microseconds.
    """
    options = []
    for row in scores:
        order = [j for j in np.argsort(-row, kind="stable") if row[j] > 0][: len(scores)]
        options.append([(int(j), float(row[j])) for j in order])
    remaining = [sum(opts[0][1] for opts in options[k:] if opts) for k in range(len(options) + 1)]
    best: tuple[float, list[tuple[int, int]]] = (-1.0, [])

    def search(k: int, used: frozenset[int], total: float, chosen: list[tuple[int, int]]) -> None:
        nonlocal best
        if total + remaining[k] <= best[0]:
            return
        if k == len(options):
            best = (total, list(chosen))
            return
        for j, value in options[k]:
            if j not in used:
                search(k + 1, used | {j}, total + value, [*chosen, (k, j)])
        search(k + 1, used, total, chosen)

    search(0, frozenset(), 0.0, [])
    return best[1]


def detect_mapping(columns: Sequence[str]) -> dict[str, str]:
    """Guess the canonical column for each header from its spelling and words (no values).

    Kept for callers that only have headers; :func:`detect_columns` with the table also checks the values.
    """
    return detect_columns(list(columns)).mapping


def _apply_overrides(mapping: dict[str, str], columns: list[str],
                     overrides: Mapping[str, str | None] | None) -> tuple[dict[str, str], tuple[str, ...]]:
    mapping = dict(mapping)
    given: list[str] = []
    for canonical, col in (overrides or {}).items():
        if canonical not in _ALL_ROLES:
            raise ConfigError(f"Unknown column role {canonical!r}; use one of {', '.join(_ALL_ROLES)}.")
        if not col:
            mapping.pop(canonical, None)
            continue
        if col not in columns:
            hint = closest_names(col, columns) or columns[:8]
            raise MappingError(
                f"The mapping {canonical}={col} names a column the file does not have. "
                f"Closest headers: {', '.join(hint)}."
            )
        for other, taken in list(mapping.items()):
            if taken == col and other != canonical:
                del mapping[other]
        mapping[canonical] = col
        given.append(canonical)
    return mapping, tuple(given)


def resolve_mapping(columns: list[str], overrides: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """The detected mapping (from headers only) with explicit choices applied; ``None`` or ``""`` un-maps a column.

    Raises
    ------
    ConfigError
        An override names an unknown canonical column.
    MappingError
        An override names a header the file does not have, or required columns are missing.
    """
    mapping, _ = _apply_overrides(detect_mapping(columns), columns, overrides)
    _check_required(mapping, columns)
    return mapping


def _check_required(mapping: dict[str, str], columns: list[str]) -> None:
    missing = [c for c in (CUSTOMER_ID, INVOICE_DATE) if c not in mapping]
    if AMOUNT not in mapping and not (QUANTITY in mapping and UNIT_PRICE in mapping):
        missing += [c for c in (QUANTITY, UNIT_PRICE) if c not in mapping] + [f"(or {AMOUNT})"]
    if not missing:
        return
    parts = []
    for m in missing:
        if m.startswith("("):
            continue
        near = closest_names(m, columns)
        parts.append(f"{m} (closest: {', '.join(near)})" if near else m)
    found = ", ".join(columns[:20]) + (" ..." if len(columns) > 20 else "")
    raise MappingError(
        f"Missing required columns: {'; '.join(parts)}"
        f"{' or an amount column' if f'(or {AMOUNT})' in missing else ''}. The file has: {found}. "
        f"{REQUIRED_HELP} Choose them under Column mapping on the Data page (command line: "
        "--map customer_id=Client)."
    )


# ------------------------------------------------------------------------------------------- value parsing


def _via_uniques(series: pd.Series, fn: Callable[[pd.Index], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``fn`` to the distinct values; return (codes, parsed uniques). ``codes`` is -1 for missing."""
    if isinstance(series.dtype, pd.CategoricalDtype):  # already distinct values + codes (the readers' output)
        return series.cat.codes.to_numpy(), fn(pd.Index(series.cat.categories.astype(str)))
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return codes, fn(pd.Index(uniques))


def _as_text(series: pd.Series) -> pd.Series:
    return series if isinstance(series.dtype, pd.CategoricalDtype) else series.astype("string")


def _examples(values: pd.Series | pd.Index, n: int = 5) -> str:
    uniq = pd.unique(pd.Series(values).dropna().astype(str))[:n]
    return ", ".join(repr(v[:40]) for v in uniq)


#: A zone after a time (``Z``, ``+05:30``, ``-0400``, ``+05``, ``UTC``, ``CET``): stripped, the local clock is kept.
_TZ_SUFFIX = re.compile(r"(\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?)\s*(?:Z|[+-]\d{2}(?::?\d{2})?|[A-Za-z]{3,4})\s*$")
#: A stated offset after a time: ``Z``, ``UTC``, ``GMT``, ``+13:00``, ``-0400``, ``+05``.
_OFFSET_RE2 = r"(?i)\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?P<zone>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)\s*$"
_DMY = re.compile(r"^\s*(\d{1,2})([/.\-])(\d{1,2})\2(\d{2}|\d{4})(?:[ T](.*))?$")
_ISO = re.compile(r"^\s*\d{4}-\d{1,2}-\d{1,2}")
_NUMERIC = re.compile(r"^\s*\d+(?:\.\d+)?\s*$")
_TIME_FORMATS = ("", " %H:%M", " %H:%M:%S", " %H:%M:%S.%f", " %I:%M %p", " %I:%M:%S %p", "T%H:%M:%S", "T%H:%M")
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
DAY_FIRST, MONTH_FIRST = "day-first", "month-first"


def _excel_serial(values: np.ndarray) -> pd.DatetimeIndex:
    days = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype="float64", copy=True)
    # 1 = 1900-01-01 .. 109,574 = 2199-12-31: beyond that no transaction date, and beyond 2262 no datetime64[ns]
    days[(days < 1) | (days > 109_574)] = np.nan
    return pd.DatetimeIndex(_EXCEL_EPOCH + pd.to_timedelta(days, unit="D")).round("s")


def _iso_dates(text: pd.Series) -> pd.Series:
    """ISO 8601 text to naive datetimes; a value that still carries a zone the suffix rule missed is NaT."""
    try:
        return pd.to_datetime(text, format="ISO8601", errors="coerce")
    except ValueError:  # "Mixed timezones": parse one by one, keeping only naive results
        return pd.Series([_one_date(v, "ISO8601", False) for v in text], dtype="datetime64[ns]")


def _mixed_dates(text: pd.Series, dayfirst: bool) -> pd.Series:
    try:
        return pd.to_datetime(text, format="mixed", dayfirst=dayfirst, errors="coerce")
    except ValueError:
        return pd.Series([_one_date(v, "mixed", dayfirst) for v in text], dtype="datetime64[ns]")


def _one_date(value: str, fmt: str, dayfirst: bool) -> pd.Timestamp | None:
    """One value that the vectorised parse refused; None (NaT) unless it is a valid date without a zone."""
    try:
        ts = pd.to_datetime(value, format=fmt, dayfirst=dayfirst, errors="coerce")
    except (ValueError, OverflowError):
        return None
    return None if pd.isna(ts) or ts.tzinfo is not None else ts


def _offset_minutes(zone: str) -> float:
    zone = zone.upper()
    if zone in ("Z", "UTC", "GMT"):
        return 0.0
    sign = -1.0 if zone[0] == "-" else 1.0
    digits = zone[1:].replace(":", "")
    return sign * (int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) >= 4 else 0))


@dataclass(frozen=True)
class DateReading:
    """A date column as read.

    ``values`` naive ``datetime64[ns]`` on the shop's local clock (offsets are not applied); ``offsets`` minutes
    east of UTC per row where the text states one (NaN elsewhere), or None when no row does; ``label`` the format
    in words; ``order`` ``"day-first"``/``"month-first"`` for ``D/M/Y`` dates (None without such dates);
    ``decided_by`` ``"data"`` (a value proves it), ``"setting"``, ``"assumed"`` (nothing proves it) or ``""``;
    ``day_first`` / ``month_first`` example values that prove each order.
    """

    values: pd.Series
    offsets: pd.Series | None
    label: str
    order: str | None = None
    decided_by: str = ""
    day_first: tuple[str, ...] = ()
    month_first: tuple[str, ...] = ()
    ambiguous: tuple[str, ...] = ()

    @property
    def conflict(self) -> bool:
        """True when some values can only be day-first and others only month-first."""
        return bool(self.day_first and self.month_first)


def read_dates(series: pd.Series, dayfirst: bool | None = None) -> DateReading:
    """Parse a date column into naive ``datetime64[ns]``, with the time-zone offsets and the order's evidence.

    Accepts real date-times, Excel serial numbers, ISO 8601 (a stated offset is recorded in ``offsets`` and
    dropped from the value: the shop's local clock is kept), and day-first or month-first ``D/M/Y`` with ``/``,
    ``.`` or ``-``, with or without times. When ``dayfirst`` is None the order is decided from the data: a first
    part above 12 proves day-first, a second part above 12 proves month-first; when nothing proves either,
    month-first is assumed and said so. When both are proven, the order with more proving values is used for
    the dates that fit both, and each proving value is read in the only order it fits. Unparseable cells are NaT.
    """
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        local = series.dt.tz_localize(None).astype("datetime64[ns]")
        utc = series.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")
        offsets = ((local - utc).dt.total_seconds() / 60).astype("float64")
        return DateReading(local, offsets, "date-time cells with time zone (local clock kept)")
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return DateReading(series.astype("datetime64[ns]"), None, "date-time cells")
    if pd.api.types.is_numeric_dtype(series.dtype):
        return DateReading(pd.Series(_excel_serial(series.to_numpy()), index=series.index), None,
                           "Excel serial numbers")

    text = _as_text(series)
    found: dict[str, Any] = {}
    offsets_by_unique: list[np.ndarray] = []

    def parse(uniq: pd.Index) -> np.ndarray:
        strs = uniq.astype(str).str.strip()
        out = pd.Series(pd.NaT, index=range(len(strs)), dtype="datetime64[ns]")
        offs = np.full(len(strs), np.nan)
        offsets_by_unique.append(offs)
        sample = strs[: min(len(strs), 5000)]
        serial = sample.str.match(_NUMERIC.pattern)
        if len(sample) and serial.mean() > 0.5:
            found["format"] = "Excel serial numbers"
            out[:] = _excel_serial(strs.to_numpy())
            return out.to_numpy()
        # RE2 in Arrow: about ten times faster than Python's re over 23,000 distinct timestamps.
        zones = pc.extract_regex(pa.array(strs.to_numpy(dtype=object), type=pa.string()), _OFFSET_RE2)
        matched = zones.is_valid().to_numpy(zero_copy_only=False)
        for k in np.flatnonzero(matched).tolist():
            offs[k] = _offset_minutes(zones[k]["zone"].as_py())
        iso = strs.str.match(_ISO.pattern)
        if iso.any():
            cleaned = strs[iso].str.replace(_TZ_SUFFIX, r"\1", regex=True).str.strip()
            parsed = _iso_dates(pd.Series(cleaned))
            out[np.flatnonzero(iso)] = parsed.to_numpy()
            found["format"] = "ISO 8601 (YYYY-MM-DD)"
        rest = ~iso
        if rest.any():
            sub = strs[rest]
            parts = sub.str.extract(_DMY)
            first = pd.to_numeric(parts[0], errors="coerce")
            second = pd.to_numeric(parts[2], errors="coerce")
            day_proof = ((first > 12) & (second <= 12)).to_numpy()
            month_proof = ((second > 12) & (first <= 12)).to_numpy()
            dmy = parts[0].notna().to_numpy()
            found["day_first"] = tuple(sub[day_proof][:3])
            found["month_first"] = tuple(sub[month_proof][:3])
            found["ambiguous"] = tuple(sub[dmy & ~day_proof & ~month_proof][:3])
            if dayfirst is not None:
                order, found["decided_by"] = dayfirst, "setting"
            elif day_proof.sum() > month_proof.sum():
                order, found["decided_by"] = True, "data"
            elif month_proof.any():
                order, found["decided_by"] = False, "data"
            else:
                order, found["decided_by"] = False, "assumed"
            sep_mode = parts[1].dropna()
            sep = sep_mode.iloc[0] if len(sep_mode) else "/"
            found_dates = np.full(len(sub), np.datetime64("NaT"), dtype="datetime64[ns]")
            # The chosen order first; then, only for values that prove the other order, that order.
            other_only = (month_proof if order else day_proof) if dayfirst is None else np.zeros(len(sub), bool)
            for use_day, allowed in ((order, ~other_only), (not order, other_only)):
                date_fmt = f"%d{sep}%m{sep}" if use_day else f"%m{sep}%d{sep}"
                for year in ("%Y", "%y"):
                    for tf in _TIME_FORMATS:
                        todo = np.isnat(found_dates) & allowed
                        if not todo.any():
                            break
                        attempt = pd.to_datetime(pd.Series(sub.to_numpy()[todo]), format=date_fmt + year + tf,
                                                 errors="coerce")
                        found_dates[todo] = attempt.to_numpy(dtype="datetime64[ns]")
            todo = np.isnat(found_dates)
            if todo.any():  # anything else (e.g. "1 Dec 2010"): the general parser, on the leftovers only
                leftovers = pd.Series(sub.to_numpy()[todo]).str.replace(_TZ_SUFFIX, r"\1", regex=True)
                attempt = _mixed_dates(leftovers, bool(order))
                found_dates[todo] = attempt.to_numpy(dtype="datetime64[ns]")
            out[np.flatnonzero(rest)] = found_dates
            if dmy.any():
                found["order"] = DAY_FIRST if order else MONTH_FIRST
                found.setdefault("format", "")
                label = "day-first (DD/MM/YYYY)" if order else "month-first (MM/DD/YYYY)"
                found["format"] = (found["format"] + " and " if found["format"] else "") + label
            else:
                found.setdefault("format", "free-form dates")
        return out.to_numpy()

    codes, parsed_uniques = _via_uniques(text, parse)
    values = parsed_uniques[codes] if len(parsed_uniques) else np.full(len(codes), np.datetime64("NaT"), "M8[ns]")
    values = np.where(codes < 0, np.datetime64("NaT"), values).astype("datetime64[ns]")
    offsets = None
    if offsets_by_unique and not np.isnan(offsets_by_unique[0]).all():
        offs = offsets_by_unique[0][np.maximum(codes, 0)]
        offs[codes < 0] = np.nan
        offsets = pd.Series(offs, index=series.index, dtype="float64")
    label = found.get("format", "no dates")
    decided = found.get("decided_by", "")
    if decided == "assumed":
        label += "; every date fits both orders, so month-first was assumed (set day-first if that is wrong)"
    if found.get("day_first") and found.get("month_first") and decided != "setting":
        label += "; WARNING: both day-first and month-first dates occur"
    return DateReading(pd.Series(values, index=series.index), offsets, label, found.get("order"), decided,
                       found.get("day_first", ()), found.get("month_first", ()), found.get("ambiguous", ()))


def parse_dates(series: pd.Series, dayfirst: bool | None = None) -> tuple[pd.Series, str]:
    """Parse a date column into naive ``datetime64[ns]`` and describe the format found (see :func:`read_dates`)."""
    reading = read_dates(series, dayfirst)
    return reading.values, reading.label


# ------------------------------------------------------------------------------------------------- numbers

_CURRENCY = r"(?:R\$|US\$|kr\.?|zł|Kč|Fr\.|[A-Z]{3}|[£$€¥₹¢₩₽₺₪฿])"
_NUMBER_TEXT = re.compile(
    rf"^\(?\s*(?P<s1>[+-])?\s*(?:{_CURRENCY}\s*)?(?P<s2>[+-])?\s*(?P<num>\d[\d.,'’ \u00a0\u202f]*|[.,]\d+)"
    rf"\s*(?:{_CURRENCY})?\s*(?P<s3>-)?\s*\)?$"
)
_GROUPS = re.compile(r"^\d{1,3}(?:X\d{3})+$")
_AMBIGUOUS_DOT = re.compile(r"^[+-]?[1-9]\d{0,2}\.\d{3}$")
POINT, COMMA = ".", ","


def _classify(core: str) -> tuple[str, str]:
    """(kind, digits) for a number's core: kind ``point``/``comma`` (proves the decimal mark), ``ambiguous``
    (``1,299`` or ``1.299``: a thousands group or three decimals), ``plain`` (no separator) or ``bad``."""
    has_dot, has_comma = "." in core, "," in core
    if not has_dot and not has_comma:
        return "plain", core
    if has_dot and has_comma:
        mark = POINT if core.rfind(".") > core.rfind(",") else COMMA
        thousands = COMMA if mark == POINT else POINT
        whole, _, frac = core.rpartition(mark)
        if thousands in frac or (thousands in whole and not _GROUPS.match(whole.replace(thousands, "X"))):
            return "bad", core
        return ("point" if mark == POINT else "comma"), whole.replace(thousands, "") + "." + frac
    sep = POINT if has_dot else COMMA
    if core.count(sep) > 1:  # 1.234.567 or 1,234,567: thousands groups, so the other mark is the decimal one
        if not _GROUPS.match(core.replace(sep, "X")):
            return "bad", core
        return ("comma" if sep == POINT else "point"), core.replace(sep, "")
    whole, _, frac = core.partition(sep)
    if len(frac) == 3 and 1 <= len(whole) <= 3 and not whole.startswith("0"):
        return "ambiguous", core
    return ("point" if sep == POINT else "comma"), (whole or "0") + "." + frac


@dataclass(frozen=True)
class NumberReading:
    """A number column as read.

    ``values`` float64 (NaN where the text is not a number); ``decimal`` the decimal mark used for values that do
    not show it themselves; ``decided_by`` ``"column"`` (the column's own values prove it), ``"fallback"`` (it
    came from the caller: other columns of the file, the delimiter, or the default point) or ``""`` (no value
    needed it); ``point_examples`` / ``comma_examples`` values proving each mark; ``ambiguous`` values like
    ``1,299`` that fit both.
    """

    values: pd.Series
    decimal: str
    decided_by: str
    point_examples: tuple[str, ...] = ()
    comma_examples: tuple[str, ...] = ()
    ambiguous: tuple[str, ...] = ()

    @property
    def conflict(self) -> bool:
        return bool(self.point_examples and self.comma_examples)


def read_numbers(series: pd.Series, fallback: str = POINT) -> NumberReading:
    """Parse a number column to float64, deciding its decimal mark from its own values.

    Currency symbols and codes before or after the number, spaces and apostrophes (thousands) are ignored;
    ``(5.00)`` and ``5.00-`` are -5. The decimal mark is proven by a value: ``12,50`` and ``0,75`` (not three
    digits after the comma, or a leading zero) and ``1.299,00`` prove a decimal comma; ``2.55`` and ``1,299.00``
    a decimal point. A value that proves its own mark is read by it; values that prove nothing (``1,299``,
    ``1.299``) use the mark most of the column's proving values show, else ``fallback``. Text that is still not a
    number is NaN.
    """
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        return NumberReading(series.astype("float64"), POINT, "")
    found: dict[str, Any] = {}

    def parse(uniq: pd.Index) -> np.ndarray:
        strs = pd.Series(uniq.astype(str)).str.strip()
        fast = pd.to_numeric(strs, errors="coerce").to_numpy(dtype="float64", copy=True)
        ambiguous_dot = strs.str.match(_AMBIGUOUS_DOT).to_numpy()
        fast[ambiguous_dot] = np.nan
        point = ~np.isnan(fast) & strs.str.contains(".", regex=False).to_numpy()
        slow = np.flatnonzero(np.isnan(fast))
        texts: list[str] = strs.tolist()
        kinds: dict[int, tuple[str, str, float]] = {}
        for i in slow.tolist():
            raw = texts[i]
            m = _NUMBER_TEXT.match(raw)
            if m is None:
                continue
            core = re.sub(r"[ '’\u00a0\u202f]", "", m.group("num"))
            kind, digits = _classify(core)
            if kind == "bad":
                continue
            negative = (raw.startswith("(") and raw.endswith(")")) or "-" in (m.group("s1") or "") + (
                m.group("s2") or "") + (m.group("s3") or "")
            kinds[i] = (kind, digits, -1.0 if negative else 1.0)
        n_point = int(point.sum()) + sum(1 for k in kinds.values() if k[0] == "point")
        n_comma = sum(1 for k in kinds.values() if k[0] == "comma")
        found["point"] = tuple(strs[point][:3]) + tuple(texts[i] for i, k in kinds.items() if k[0] == "point")[:3]
        found["comma"] = tuple(texts[i] for i, k in kinds.items() if k[0] == "comma")[:3]
        ambiguous = [i for i, k in kinds.items() if k[0] == "ambiguous"]
        found["ambiguous"] = tuple(texts[i] for i in ambiguous[:3])
        if n_point or n_comma:
            mark = COMMA if n_comma > n_point else POINT
            found["decided_by"] = "column"
        else:
            mark = fallback
            found["decided_by"] = "fallback" if ambiguous else ""
        found["decimal"] = mark
        for j, (kind, digits, sign) in kinds.items():
            if kind == "ambiguous":
                whole, frac = re.split(r"[.,]", digits)
                digits = whole + frac if (mark == COMMA) == ("." in digits) else whole + "." + frac
            fast[j] = sign * float(digits)
        return fast

    codes, parsed = _via_uniques(_as_text(series), parse)
    values = parsed[codes] if len(parsed) else np.full(len(codes), np.nan)
    values = np.where(codes < 0, np.nan, values)
    return NumberReading(pd.Series(values, index=series.index, dtype="float64"), found.get("decimal", fallback),
                         found.get("decided_by", ""), found.get("point", ()), found.get("comma", ()),
                         found.get("ambiguous", ()))


def parse_numbers(series: pd.Series, decimal_comma: bool = False) -> pd.Series:
    """Parse a numeric column to float64 (see :func:`read_numbers`); ``decimal_comma`` is the mark used for
    values such as ``1.299`` that the column itself leaves open (as in ``;``-delimited European exports)."""
    return read_numbers(series, COMMA if decimal_comma else POINT).values


# --------------------------------------------------------------------------------------------------- ids

_FLOAT_ID = re.compile(r"^(-?\d+)\.0+$")


def _parse_ids(series: pd.Series) -> pd.Series:
    """Ids as categorical text: trimmed, ``17850.0`` -> ``17850``, leading zeros kept, blanks missing."""
    numeric = pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)

    def clean(uniq: pd.Index) -> np.ndarray:
        if numeric:  # distinct numbers only: 4,372 customer ids, not 541,909 cells
            values = uniq.to_numpy(dtype="float64")
            return np.array([str(int(v)) if float(v).is_integer() else repr(float(v)) for v in values], dtype=object)
        s = pd.Series(uniq.astype(str)).str.strip().str.replace(_FLOAT_ID, r"\1", regex=True)
        return s.to_numpy(dtype=object)

    codes, cleaned = _via_uniques(series if numeric else _as_text(series), clean)
    if not len(cleaned):
        return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index([], dtype="str")), index=series.index)
    blank = np.array([v == "" or v.lower() in ("nan", "none", "null") for v in cleaned])
    new_codes, categories = pd.factorize(pd.Series(cleaned).where(~blank, None), use_na_sentinel=True)
    final = np.where(codes < 0, -1, new_codes[np.maximum(codes, 0)])
    return pd.Series(
        pd.Categorical.from_codes(final, categories=pd.Index(categories, dtype="str")), index=series.index
    )


def _recode(ids: pd.Series, new_values: pd.Series) -> pd.Series:
    """``ids`` (categorical) with each category replaced by ``new_values`` (aligned with the categories)."""
    new_codes, categories = pd.factorize(new_values, use_na_sentinel=True)
    codes = ids.cat.codes.to_numpy()
    final = np.where(codes < 0, -1, new_codes[np.maximum(codes, 0)])
    return pd.Series(pd.Categorical.from_codes(final, categories=pd.Index(categories, dtype="str")), index=ids.index)


def email_merge_note(column: str, merged: int, example: list[str]) -> str:
    """The reading note for e-mail customer ids merged across letter case (every engine's wording): ``merged``
    spellings beyond the first of each address, ``example`` the spellings of one address."""
    return (f"Customer ids in {column!r} that are e-mail addresses are compared without letter case: "
            f"{merged:,} spelling(s) merged into another (e.g. {', '.join(map(repr, example[:3]))}).")


def id_variants_warning(column: str, variants: int, example: list[str]) -> str:
    """The reading warning for customer ids (not e-mail addresses) that differ from another only in letter case or
    spaces (every engine's wording): ``variants`` such spellings, ``example`` the spellings of one id."""
    return (f"{variants:,} customer ids in {column!r} differ from another only in letter case or spaces (e.g. "
            f"{', '.join(map(repr, example[:3]))}); they are kept as different customers. If they are the same "
            "customer, clean the ids in the file.")


def _customer_keys(ids: pd.Series, column: str) -> tuple[pd.Series, list[str], list[str], dict[str, Any]]:
    """E-mail addresses compared without letter case; other ids that differ only in case or spaces reported.

    Returns the ids, notes, warnings and the provenance entry.
    """
    cats = pd.Series(ids.cat.categories.astype(str))
    notes: list[str] = []
    warnings: list[str] = []
    info: dict[str, Any] = {}
    if cats.empty:
        return ids, notes, warnings, info
    email = cats.str.contains("@", regex=False) & cats.str.match(_EMAIL)
    if email.any():
        folded = cats.where(~email, cats.str.lower())
        merged = int(email.sum()) - int(folded[email].nunique())
        info["emails"] = int(email.sum())
        info["email_spellings_merged"] = merged
        if merged:
            groups = cats[email].groupby(folded[email]).agg(list)
            example = next(v for v in groups if len(v) > 1)
            notes.append(email_merge_note(column, merged, example))
        if (folded != cats).any():  # one spelling per customer, in lower case, whichever the file used
            ids = _recode(ids, folded)
            cats = pd.Series(ids.cat.categories.astype(str))
            email = cats.str.contains("@", regex=False) & cats.str.match(_EMAIL)
    other = cats[~email & cats.str.contains(r"[A-Za-z\s]", regex=True)]
    if len(other):
        key = other.str.lower().str.replace(r"\s+", "", regex=True)
        sizes = key.map(key.value_counts())
        variants = other[sizes.to_numpy() > 1]
        if len(variants):
            example = variants.groupby(key[sizes.to_numpy() > 1]).agg(list).iloc[0]
            warnings.append(id_variants_warning(column, len(variants), list(example)))
            info["ids_differing_only_in_case_or_spaces"] = len(variants)
    return ids, notes, warnings, info


# ---------------------------------------------------------------------------------------------- the stage


def date_order_messages(column: str, dates: DateReading, examples: Callable[[tuple[str, ...], int], list[str]]
                        ) -> tuple[list[str], list[str], list[str]]:
    """The reading notes, the guesses among them and the warnings about a date column read by :func:`read_dates`:
    the format, the value proving the order (or "as set"), dates that fit both orders read month-first, and
    values proving both orders. ``examples(values, n)`` shows up to ``n`` example values (the pandas reader: with
    their rows; the file engines, which read a sample: as they are). One wording for every engine."""
    notes = [f"Dates in {column!r} read as {dates.label}."]
    guesses = notes[:] if dates.decided_by != "setting" else []
    warnings: list[str] = []
    if dates.order is None:
        return notes, guesses, warnings
    day_rows, month_rows = examples(dates.day_first, 3), examples(dates.month_first, 3)
    if dates.decided_by == "data" and not dates.conflict:
        proof = day_rows if dates.order == DAY_FIRST else month_rows
        notes.append(f"Date order {dates.order}, proven by {', '.join(proof[:2])}.")
        guesses.append(notes[-1])
    elif dates.decided_by == "assumed":
        warnings.append(f"Dates in {column!r} fit both day-first and month-first (e.g. "
                        f"{', '.join(examples(dates.ambiguous, 2))}); they were read month-first. If that is wrong, "
                        "use --dayfirst (app: Settings, Date order).")
    elif dates.decided_by == "setting":
        notes.append(f"Date order {dates.order}, as set.")
    if dates.conflict and dates.decided_by != "setting":
        warnings.append(
            f"Dates in {column!r} prove both orders: day-first by {', '.join(day_rows[:2])}, month-first by "
            f"{', '.join(month_rows[:2])}. Each of these was read in the only order it fits; dates that fit "
            f"both were read {dates.order} (more of the file proves it). Check the rows named here.")
    return notes, guesses, warnings


def _first_rows(text: pd.Series, values: Sequence[str], n: int = 3) -> list[str]:
    """``'13/02/2011' (row 5)`` for example values: the first data row (1-based, as in the dropped-rows CSV)."""
    out = []
    if isinstance(text.dtype, pd.CategoricalDtype):  # compare codes, not 500,000 strings
        stripped = pd.Index(text.cat.categories.astype(str)).str.strip()
        codes = text.cat.codes.to_numpy()
    for v in list(values)[:n]:
        if isinstance(text.dtype, pd.CategoricalDtype):
            hits = np.flatnonzero(np.isin(codes, np.flatnonzero(stripped == v)))
        else:
            hits = np.flatnonzero((text.astype("string").str.strip() == v).fillna(False).to_numpy())
        out.append(f"{v!r} (row {int(hits[0]) + 1})" if len(hits) else repr(v))
    return out


def _number_label(reading: NumberReading) -> str:
    mark = "decimal comma" if reading.decimal == COMMA else "decimal point"
    if reading.decided_by == "column":
        proof = reading.comma_examples if reading.decimal == COMMA else reading.point_examples
        return f"{mark} (shown by {', '.join(map(repr, proof[:2]))})"
    return mark


def apply_mapping(
    raw: RawTable,
    overrides: Mapping[str, str | None] | None = None,
    dayfirst: bool | None = None,
    prior: Mapping[str, str] | None = None,
    prior_reasons: Mapping[str, str] | None = None,
) -> MappedTable:
    """Turn a raw table into canonical typed columns and a table of every problem found.

    Parameters
    ----------
    raw : RawTable
        From :func:`rfm_core.read.read_table`.
    overrides : mapping, optional
        ``{canonical: header}`` choices that replace the detected ones.
    dayfirst : bool, optional
        Date order; None decides from the data.
    prior, prior_reasons : mapping, optional
        Roles already decided (a recognised platform export) and why; see :func:`detect_columns`.

    Returns
    -------
    MappedTable
        Same rows in the same order; problems as a table with columns :data:`PROBLEM_COLUMNS`; ``reasons``,
        ``warnings`` and the ``reading`` account for provenance.

    Raises
    ------
    ConfigError, MappingError
        See :func:`resolve_mapping`.
    """
    columns = [str(c) for c in raw.frame.columns]
    detection = detect_columns(raw.frame, prior, prior_reasons)
    mapping, given = _apply_overrides(detection.mapping, columns, overrides)
    _check_required(mapping, columns)
    mapping = {r: mapping[r] for r in _ALL_ROLES if r in mapping}
    platform: PlatformMatch | None = recognise(columns) if prior is None else None
    if platform is not None and dayfirst is None:
        dayfirst = platform.platform.dayfirst
    reasons = {r: ("chosen by you" if r in given else detection.reasons.get(r, "")) for r in mapping}
    src = raw.frame
    out: dict[str, pd.Series] = {}
    problems: list[dict[str, object]] = []
    notes = list(raw.notes)
    warnings: list[str] = []
    reading: dict[str, Any] = {
        "format": raw.fmt, "encoding": raw.encoding, "delimiter": raw.delimiter, "sheet": raw.sheet,
        "header_line": raw.header_row + 1, "lines_decoded_as_cp1252": raw.fallback_lines,
        "platform": platform.name if platform is not None else None,
        "mapping": {r: {"column": c, "chosen_by": "user" if r in given else "detection", "reason": reasons[r]}
                    for r, c in mapping.items()},
    }
    if platform is None:
        notes += [f"{ROLE_LABELS.get(r, r.replace('_', ' ')).capitalize()} from {mapping[r]!r}: {reasons[r]}."
                  for r in mapping if r not in given]
    notes += list(detection.notes)  # a platform's: "Recognised as a Shopify orders export: ..."
    # Guesses are marked where they are made, so the CLI need not pick notes by their wording.
    guesses = list(detection.notes)  # the platform recognised, or a close call between two columns for a role
    if raw.fallback_lines:
        guesses += [n for n in raw.notes if "cp1252" in n]

    for canonical in _TEXT_COLUMNS:
        if canonical in mapping:
            out[canonical] = _parse_ids(src[mapping[canonical]])
    id_notes: list[str] = []
    id_warnings: list[str] = []
    id_info: dict[str, Any] = {}
    if CUSTOMER_ID in out:
        out[CUSTOMER_ID], id_notes, id_warnings, id_info = _customer_keys(out[CUSTOMER_ID], mapping[CUSTOMER_ID])
    notes += id_notes
    guesses += id_notes  # e-mail spellings merged: it changes who counts as one customer
    warnings += id_warnings
    reading["customer_ids"] = id_info

    date_col = mapping[INVOICE_DATE]
    date_src = src[date_col]
    dates = read_dates(date_src, dayfirst)
    out[INVOICE_DATE] = dates.values
    @functools.cache  # the evidence is shown in a note and in the provenance: its rows are looked up once
    def rows(values: tuple[str, ...], n: int) -> list[str]:
        return _first_rows(date_src, values, n)

    date_notes, date_guesses, date_warnings = date_order_messages(date_col, dates, rows)
    notes += date_notes
    guesses += date_guesses
    warnings += date_warnings
    date_info: dict[str, Any] = {"column": date_col, "format": dates.label, "order": dates.order,
                                 "decided_by": dates.decided_by}
    if dates.order is not None:
        date_info["day_first_evidence"] = rows(dates.day_first, 3)
        date_info["month_first_evidence"] = rows(dates.month_first, 3)
    if dates.offsets is not None:
        stated = dates.offsets.dropna()
        zones = sorted({_format_offset(m) for m in stated.unique()})
        date_info["time_zone_offsets"] = {"rows": len(stated), "offsets": zones}
        notes.append(f"{len(stated):,} timestamp(s) state a time-zone offset ({', '.join(zones[:5])}): recency uses "
                     "the shop's local clock as written; 'dated after today' compares them as instants.")
        guesses.append(notes[-1])
    reading["dates"] = date_info
    bad_date = dates.values.isna() & date_src.notna()
    if bad_date.any():
        problems.append(_problem(INVOICE_DATE, mapping, "not a date", int(bad_date.sum()), date_src[bad_date],
                                 "Check the date format; these rows are dropped."))

    readings = {c: read_numbers(src[mapping[c]]) for c in _MONEY_COLUMNS if c in mapping}
    proven = {r.decimal for r in readings.values() if r.decided_by == "column"}
    if len(proven) == 1:
        fallback, fallback_why = proven.pop(), "as the file's other number columns show"
    elif raw.decimal_comma:
        fallback, fallback_why = COMMA, "the European convention of ';'-delimited files"
    else:
        fallback, fallback_why = POINT, "the default"
    numbers_info: dict[str, Any] = {}
    for canonical, reading_n in readings.items():
        col = src[mapping[canonical]]
        if reading_n.decided_by == "fallback" and fallback != reading_n.decimal:
            reading_n = read_numbers(col, fallback)
        nums = reading_n.values
        out[canonical] = nums
        numbers_info[canonical] = {"column": mapping[canonical], "decimal_mark": reading_n.decimal,
                                   "decided_by": reading_n.decided_by or "no separators"}
        if reading_n.decided_by == "column" and (reading_n.decimal == COMMA or reading_n.conflict):
            notes.append(f"Numbers in {mapping[canonical]!r} read with a {_number_label(reading_n)}.")
            guesses.append(notes[-1])
        if reading_n.conflict:
            warnings.append(
                f"Numbers in {mapping[canonical]!r} use both marks: decimal point in "
                f"{', '.join(map(repr, reading_n.point_examples[:2]))}, decimal comma in "
                f"{', '.join(map(repr, reading_n.comma_examples[:2]))}. Each was read by the mark it shows; values "
                f"that show neither were read with a {_number_label(reading_n).split(' (')[0]}.")
        if reading_n.decided_by == "fallback":
            mark = "decimal comma" if reading_n.decimal == COMMA else "decimal point"
            example = reading_n.ambiguous[0]
            read_as = float(nums[(col.astype("string").str.strip() == example).fillna(False).to_numpy()].iloc[0])
            warnings.append(
                f"Numbers in {mapping[canonical]!r} such as {example!r} fit both a thousands separator and a decimal "
                f"mark; read with a {mark} ({fallback_why}), so {example!r} = {read_as:,.2f}. If that is wrong, "
                "fix the export's number format.")
            numbers_info[canonical]["ambiguous_examples"] = list(reading_n.ambiguous)
        bad = nums.isna() & col.notna()
        if bad.any():
            problems.append(_problem(canonical, mapping, "not a number", int(bad.sum()), col[bad],
                                     "Remove text from this column or map another column; these rows are dropped."))
        if col.isna().any() and not (platform and canonical in platform.platform.order_level):
            problems.append(_problem(canonical, mapping, "empty", int(col.isna().sum()), pd.Series(["(blank)"]),
                                     "These rows have no value and are dropped."))
    reading["numbers"] = numbers_info

    frame = pd.DataFrame(out, index=src.index)
    if INVOICE_ID not in mapping:
        frame[INVOICE_ID] = _orders_from_timestamps(frame)
        notes.append("No invoice column: each distinct customer and timestamp counts as one order.")
        guesses.append(notes[-1])
    # Order-level roles (rfm_core.orders): statuses as text, money as numbers; orders decides line revenue.
    texts = {r: src[mapping[r]].rename(mapping[r]) for r in (ORDER_STATUS, PAYMENT_STATUS, CANCELLED_AT)
             if r in mapping}
    order_numbers = {r: read_numbers(src[mapping[r]], fallback).values for r in ORDER_ROLES
                     if r in mapping and r not in texts}
    frame[DUPLICATE] = _duplicated(src)
    if dates.offsets is not None:
        frame[UTC_OFFSET] = dates.offsets.to_numpy()
    frame, order_notes = prepare_orders(frame, order_numbers, texts, mapping,
                                        platform.platform if platform else None)
    notes += order_notes
    guesses += [n for n in order_notes if n != LINE_REVENUE_NOTE and not n.startswith(LINE_REVENUE_FROM)]
    if UTC_OFFSET in frame.columns and platform is not None and INVOICE_DATE in platform.platform.order_level:
        # The date is written on an order's first line only and spread to the others: so is its offset.
        first = frame.groupby(INVOICE_ID, observed=True, sort=False)[UTC_OFFSET].transform("first")
        frame[UTC_OFFSET] = frame[UTC_OFFSET].fillna(first)

    missing_date = frame[INVOICE_DATE].isna() & date_src.isna()  # after a platform's order-level dates are spread
    if missing_date.any():
        problems.append(_problem(INVOICE_DATE, mapping, "empty", int(missing_date.sum()), pd.Series(["(blank)"]),
                                 "These rows have no date and are dropped."))
    missing_ids = int(frame[CUSTOMER_ID].isna().sum())
    if missing_ids:
        problems.append(_problem(CUSTOMER_ID, mapping, "empty", missing_ids, pd.Series(["(blank)"]),
                                 "Rows without a customer id cannot be attributed; they are dropped by default."))
    table = pd.DataFrame(problems, columns=PROBLEM_COLUMNS)
    reading["notes"] = notes
    reading["warnings"] = warnings
    return MappedTable(frame, mapping, table, tuple(notes), raw, reasons, given, tuple(warnings), reading,
                       tuple(guesses))


def _format_offset(minutes: float) -> str:
    sign = "-" if minutes < 0 else "+"
    m = int(abs(minutes))
    return f"{sign}{m // 60:02d}:{m % 60:02d}"


def _problem(canonical: str, mapping: dict[str, str], problem: str, rows: int, values: pd.Series,
             todo: str) -> dict[str, object]:
    return {"column": canonical, "source_column": mapping[canonical], "problem": problem, "rows": rows,
            "examples": _examples(values), "what_to_do": todo}


def _orders_from_timestamps(frame: pd.DataFrame) -> pd.Series:
    keys = pd.DataFrame({"c": frame[CUSTOMER_ID].cat.codes, "d": frame[INVOICE_DATE].to_numpy().view("int64")})
    codes = keys.groupby(["c", "d"], sort=True).ngroup().to_numpy()
    cats = pd.Index([f"order-{i + 1}" for i in range(int(codes.max()) + 1 if len(codes) else 0)], dtype="str")
    return pd.Series(pd.Categorical.from_codes(codes, categories=cats), index=frame.index)


def _duplicated(src: pd.DataFrame) -> np.ndarray:
    """True for a row equal in every original column to an earlier row (64-bit row hashes)."""
    if src.empty:
        return np.zeros(0, dtype=bool)
    hashes = pd.util.hash_pandas_object(src, index=False)
    return hashes.duplicated(keep="first").to_numpy()
