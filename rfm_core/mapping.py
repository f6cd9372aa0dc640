"""Map stage: original headers to canonical columns, text cells to typed values, every problem in one table.

Parsing is done on the *distinct* values of a column and mapped back through codes: Online Retail has 541,909
date cells but about 23,000 distinct timestamps, so each format is tried on 23,000 strings, not half a million.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

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
    STOCK_CODE,
    SYNONYMS,
    UNIT_PRICE,
    closest_names,
    normalise_header,
)
from .errors import ConfigError, MappingError
from .orders import DUPLICATE, prepare_orders
from .platforms import PlatformMatch, recognise
from .read import RawTable

__all__ = [
    "DUPLICATE",
    "PROBLEM_COLUMNS",
    "MappedTable",
    "apply_mapping",
    "detect_mapping",
    "parse_dates",
    "parse_numbers",
    "resolve_mapping",
]

PROBLEM_COLUMNS = ["column", "source_column", "problem", "rows", "examples", "what_to_do"]
_TEXT_COLUMNS = (CUSTOMER_ID, INVOICE_ID, COUNTRY, STOCK_CODE, DESCRIPTION)


@dataclass(frozen=True)
class MappedTable:
    """Canonical, typed transactions (one row per input row, same order) and what went wrong on the way.

    ``frame`` has the canonical columns that were mapped, plus ``amount`` (always) and ``_duplicate`` (True for
    a line identical in every original column to an earlier one). Unparseable cells are NaN/NaT; the clean
    stage turns them into ledger reasons.
    """

    frame: pd.DataFrame
    mapping: dict[str, str]
    problems: pd.DataFrame
    notes: tuple[str, ...]
    source: RawTable

    @property
    def has_invoice_id(self) -> bool:
        return INVOICE_ID in self.mapping


def detect_mapping(columns: list[str]) -> dict[str, str]:
    """Guess the canonical column for each header from names and common synonyms.

    Each canonical column takes the first header that matches its own name or a synonym (in the synonym
    order), and each header is used at most once. A recognised shop platform's export
    (:func:`rfm_core.platforms.recognise`) gets the platform's mapping instead, order-level roles included: its
    headers mean what the platform says (Shopify's order-level "Total" is not line revenue).
    """
    match = recognise(columns)
    if match is not None:
        return dict(match.mapping)
    by_norm: dict[str, str] = {}
    for col in columns:
        by_norm.setdefault(normalise_header(col), col)
    used: set[str] = set()
    mapping: dict[str, str] = {}
    for canonical in CANONICAL:
        for spelling in (normalise_header(canonical), *SYNONYMS[canonical]):
            hit = by_norm.get(spelling)
            if hit is not None and hit not in used:
                mapping[canonical] = hit
                used.add(hit)
                break
    return mapping


def resolve_mapping(columns: list[str], overrides: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """The detected mapping with explicit choices applied; ``None`` or ``""`` un-maps a column.

    Raises
    ------
    ConfigError
        An override names an unknown canonical column.
    MappingError
        An override names a header the file does not have, or required columns are missing.
    """
    mapping = detect_mapping(columns)
    for canonical, col in (overrides or {}).items():
        if canonical not in CANONICAL + ORDER_ROLES:
            raise ConfigError(f"Unknown column role {canonical!r}; use one of {', '.join(CANONICAL + ORDER_ROLES)}.")
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


_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2}|\s?[A-Z]{3,4})$")
_DMY = re.compile(r"^\s*(\d{1,2})([/.\-])(\d{1,2})\2(\d{2}|\d{4})(?:[ T](.*))?$")
_ISO = re.compile(r"^\s*\d{4}-\d{1,2}-\d{1,2}")
_NUMERIC = re.compile(r"^\s*\d+(?:\.\d+)?\s*$")
_TIME_FORMATS = ("", " %H:%M", " %H:%M:%S", " %H:%M:%S.%f", " %I:%M %p", " %I:%M:%S %p", "T%H:%M:%S", "T%H:%M")
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def _excel_serial(values: np.ndarray) -> pd.DatetimeIndex:
    days = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype="float64", copy=True)
    # 1 = 1900-01-01 .. 109,574 = 2199-12-31: beyond that no transaction date, and beyond 2262 no datetime64[ns]
    days[(days < 1) | (days > 109_574)] = np.nan
    return pd.DatetimeIndex(_EXCEL_EPOCH + pd.to_timedelta(days, unit="D")).round("s")


def parse_dates(series: pd.Series, dayfirst: bool | None = None) -> tuple[pd.Series, str]:
    """Parse a date column into naive ``datetime64[ns]`` and describe the format that was found.

    Accepts real date-times, Excel serial numbers, ISO 8601 (offsets are dropped: the shop's local clock is
    kept), and day-first or month-first ``D/M/Y`` with ``/``, ``.`` or ``-``, with or without times. When
    ``dayfirst`` is None the order is decided from the data: a first part above 12 proves day-first, a second
    part above 12 proves month-first; when nothing proves either, month-first is used and said so.
    Unparseable cells become NaT.
    """
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_localize(None).astype("datetime64[ns]"), "date-time cells (time zone dropped)"
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series.astype("datetime64[ns]"), "date-time cells"
    if pd.api.types.is_numeric_dtype(series.dtype):
        return pd.Series(_excel_serial(series.to_numpy()), index=series.index), "Excel serial numbers"

    text = _as_text(series)
    found: dict[str, str] = {}

    def parse(uniq: pd.Index) -> np.ndarray:
        strs = uniq.astype(str).str.strip()
        out = pd.Series(pd.NaT, index=range(len(strs)), dtype="datetime64[ns]")
        sample = strs[: min(len(strs), 5000)]
        serial = sample.str.match(_NUMERIC.pattern)
        if len(sample) and serial.mean() > 0.5:
            found["format"] = "Excel serial numbers"
            out[:] = _excel_serial(strs.to_numpy())
            return out.to_numpy()
        iso = strs.str.match(_ISO.pattern)
        if iso.any():
            cleaned = strs[iso].str.replace(_TZ_SUFFIX, "", regex=True).str.strip()
            parsed = pd.to_datetime(pd.Series(cleaned), format="ISO8601", errors="coerce")
            out[np.flatnonzero(iso)] = parsed.to_numpy()
            found["format"] = "ISO 8601 (YYYY-MM-DD)"
        rest = ~iso
        if rest.any():
            parts = strs[rest].str.extract(_DMY)
            first = pd.to_numeric(parts[0], errors="coerce")
            second = pd.to_numeric(parts[2], errors="coerce")
            order = dayfirst
            if order is None:
                proves_day, proves_month = bool((first > 12).any()), bool((second > 12).any())
                if proves_day and proves_month:
                    found["conflict"] = "both day-first and month-first dates occur"
                    order = False
                elif proves_day:
                    order = True
                else:
                    order = False
                    if not proves_month and parts[0].notna().any():
                        found["ambiguous"] = "yes"
            idx = np.flatnonzero(rest)
            sub = strs[rest]
            found_dates = np.full(len(sub), np.datetime64("NaT"), dtype="datetime64[ns]")
            sep_mode = parts[1].dropna()
            sep = sep_mode.iloc[0] if len(sep_mode) else "/"
            date_fmt = f"%d{sep}%m{sep}" if order else f"%m{sep}%d{sep}"
            for year in ("%Y", "%y"):
                for tf in _TIME_FORMATS:
                    todo = np.isnat(found_dates)
                    if not todo.any():
                        break
                    attempt = pd.to_datetime(pd.Series(sub.to_numpy()[todo]), format=date_fmt + year + tf,
                                             errors="coerce")
                    found_dates[todo] = attempt.to_numpy(dtype="datetime64[ns]")
            todo = np.isnat(found_dates)
            if todo.any():  # anything else (e.g. "1 Dec 2010"): the general parser, on the leftovers only
                attempt = pd.to_datetime(pd.Series(sub.to_numpy()[todo]).str.replace(_TZ_SUFFIX, "", regex=True),
                                         format="mixed", dayfirst=bool(order), errors="coerce")
                found_dates[todo] = attempt.to_numpy(dtype="datetime64[ns]")
            out[idx] = found_dates
            if parts[0].notna().any():
                found.setdefault("format", "")
                label = "day-first (DD/MM/YYYY)" if order else "month-first (MM/DD/YYYY)"
                found["format"] = (found["format"] + " and " if found["format"] else "") + label
            else:
                found.setdefault("format", "free-form dates")
        return out.to_numpy()

    codes, parsed_uniques = _via_uniques(text, parse)
    values = parsed_uniques[codes] if len(parsed_uniques) else np.full(len(codes), np.datetime64("NaT"), "M8[ns]")
    values = np.where(codes < 0, np.datetime64("NaT"), values).astype("datetime64[ns]")
    label = found.get("format", "no dates")
    if "ambiguous" in found:
        label += "; every date fits both orders, so month-first was assumed (set day-first if that is wrong)"
    if "conflict" in found:
        label += "; WARNING: " + found["conflict"]
    return pd.Series(values, index=series.index), label


_CURRENCY = re.compile(r"[£$€¥₹\s\u00a0'’]|^(?:GBP|USD|EUR)|(?:GBP|USD|EUR)$")


def parse_numbers(series: pd.Series, decimal_comma: bool = False) -> pd.Series:
    """Parse a numeric column to float64; text that is not a number becomes NaN.

    Currency symbols and codes, spaces and apostrophes are ignored; ``(5.00)`` is -5; thousands separators are
    ``,`` (or ``.`` when ``decimal_comma``, as in ``;``-delimited European exports, where ``2,55`` is 2.55).
    """
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype("float64")
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.astype("float64")

    def parse(uniq: pd.Index) -> np.ndarray:
        strs = pd.Series(uniq.astype(str)).str.strip()
        fast = pd.to_numeric(strs, errors="coerce").to_numpy(dtype="float64", copy=True)
        bad = np.isnan(fast)
        # A ';' file may still write 2.55: decimal commas only when the column actually has commas.
        comma_mode = decimal_comma and bool(strs.str.contains(",", regex=False).any())
        if comma_mode:
            bad = bad | strs.str.contains(r"[,.]", regex=True).to_numpy()
        if bad.any():
            s = strs[bad].str.replace(_CURRENCY, "", regex=True)
            neg = s.str.match(r"^\(.*\)$")
            s = s.str.strip("()")
            if comma_mode:
                s = s.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
            else:
                s = s.str.replace(",", "", regex=False)
            val = pd.to_numeric(s, errors="coerce").to_numpy(copy=True)
            val[neg.to_numpy()] = -val[neg.to_numpy()]
            fast[bad] = val
        return fast

    codes, parsed = _via_uniques(_as_text(series), parse)
    values = parsed[codes] if len(parsed) else np.full(len(codes), np.nan)
    values = np.where(codes < 0, np.nan, values)
    return pd.Series(values, index=series.index, dtype="float64")


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


# ---------------------------------------------------------------------------------------------- the stage


def apply_mapping(
    raw: RawTable,
    overrides: Mapping[str, str | None] | None = None,
    dayfirst: bool | None = None,
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

    Returns
    -------
    MappedTable
        Same rows in the same order; problems as a table with columns :data:`PROBLEM_COLUMNS`.
    """
    columns = [str(c) for c in raw.frame.columns]
    mapping = resolve_mapping(columns, overrides)
    platform: PlatformMatch | None = recognise(columns)
    src = raw.frame
    out: dict[str, pd.Series] = {}
    problems: list[dict[str, object]] = []
    notes = list(raw.notes) + list(platform.reasons if platform else ())
    if platform is not None and dayfirst is None:
        dayfirst = platform.platform.dayfirst

    for canonical in _TEXT_COLUMNS:
        if canonical in mapping:
            out[canonical] = _parse_ids(src[mapping[canonical]])

    date_src = src[mapping[INVOICE_DATE]]
    dates, fmt = parse_dates(date_src, dayfirst)
    out[INVOICE_DATE] = dates
    notes.append(f"Dates in {mapping[INVOICE_DATE]!r} read as {fmt}.")
    bad_date = dates.isna() & date_src.notna()
    if bad_date.any():
        problems.append(_problem(INVOICE_DATE, mapping, "not a date", int(bad_date.sum()), date_src[bad_date],
                                 "Check the date format; these rows are dropped."))

    for canonical in (QUANTITY, UNIT_PRICE, AMOUNT):
        if canonical not in mapping:
            continue
        col = src[mapping[canonical]]
        nums = parse_numbers(col, raw.decimal_comma)
        out[canonical] = nums
        bad = nums.isna() & col.notna()
        if bad.any():
            problems.append(_problem(canonical, mapping, "not a number", int(bad.sum()), col[bad],
                                     "Remove text from this column or map another column; these rows are dropped."))
        if col.isna().any() and not (platform and canonical in platform.platform.order_level):
            problems.append(_problem(canonical, mapping, "empty", int(col.isna().sum()), pd.Series(["(blank)"]),
                                     "These rows have no value and are dropped."))

    frame = pd.DataFrame(out, index=src.index)
    if INVOICE_ID not in mapping:
        frame[INVOICE_ID] = _orders_from_timestamps(frame)
        notes.append("No invoice column: each distinct customer and timestamp counts as one order.")
    # Order-level roles (rfm_core.orders): statuses as text, money as numbers; orders decides line revenue.
    texts = {r: src[mapping[r]].rename(mapping[r]) for r in (ORDER_STATUS, PAYMENT_STATUS, CANCELLED_AT)
             if r in mapping}
    numbers = {r: parse_numbers(src[mapping[r]], raw.decimal_comma) for r in ORDER_ROLES
               if r in mapping and r not in texts}
    frame[DUPLICATE] = _duplicated(src)
    frame, order_notes = prepare_orders(frame, numbers, texts, mapping, platform.platform if platform else None)
    notes += order_notes

    missing_date = frame[INVOICE_DATE].isna() & date_src.isna()  # after a platform's order-level dates are spread
    if missing_date.any():
        problems.append(_problem(INVOICE_DATE, mapping, "empty", int(missing_date.sum()), pd.Series(["(blank)"]),
                                 "These rows have no date and are dropped."))
    missing_ids = int(frame[CUSTOMER_ID].isna().sum())
    if missing_ids:
        problems.append(_problem(CUSTOMER_ID, mapping, "empty", missing_ids, pd.Series(["(blank)"]),
                                 "Rows without a customer id cannot be attributed; they are dropped by default."))
    table = pd.DataFrame(problems, columns=PROBLEM_COLUMNS)
    return MappedTable(frame, mapping, table, tuple(notes), raw)


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
