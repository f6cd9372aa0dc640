"""Aggregation engines beyond pandas: the same cleaning and per-customer definitions as SQL.

- :mod:`.duckdb_engine`: out-of-core SQL on CSV and Parquet files or globs, and an :class:`Aggregator` for an
  in-memory transaction table.
- :mod:`.spark_engine`: the same plan on Apache Spark (optional extra, ``requirements-spark.txt``).

Both build their SQL with :mod:`.sqlplan`, whose reasons, order and definitions mirror :mod:`rfm_core.clean` and
:mod:`rfm_core.aggregate`; tests prove the engines equal to pandas. :func:`choose_engine` is ``--engine auto``.
"""

from __future__ import annotations

import codecs
import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass

from ..settings import CleaningPolicy
from .sqlplan import FileResult

__all__ = ["AUTO_CSV_BYTES", "SAMPLE_BYTES", "EngineChoice", "FileResult", "choose_engine", "engine_choice",
           "run_auto"]

#: A single CSV from this size on goes to DuckDB under ``auto`` (when it is plain, see :func:`engine_choice`):
#: about a million lines of an Online-Retail-like export, where DuckDB's parallel scan clearly beats pandas.
AUTO_CSV_BYTES = 100 * 2**20
#: How much of a CSV's start the pandas reader reads to judge whether the file is plain.
SAMPLE_BYTES = 256 * 2**10


@dataclass(frozen=True)
class EngineChoice:
    """What ``--engine auto`` chose and why (one line for the CLI's reading notes)."""

    engine: str
    reason: str

    def note(self) -> str:
        return f"engine: {self.engine} (auto: {self.reason})"


def engine_choice(paths: list[str], mapping: Mapping[str, str | None] | None = None,
                  dayfirst: bool | None = None, *, pandas_only: str | None = None,
                  available_bytes: int | None = None) -> EngineChoice:
    """``--engine auto``: DuckDB for large CSV or Parquet input that it reads exactly as pandas would, else pandas.

    The rule, in order:

    1. ``pandas_only`` (a pandas-only option the user asked for, e.g. ``--dropped``) -> pandas.
    2. Several files (a folder or a glob) -> DuckDB: pandas reads one file.
    3. A workbook -> pandas (DuckDB's Excel reader needs a download; the fast reader handles workbooks).
    4. One Parquet file -> DuckDB when pandas would need more than half the available memory (about 25x the
       file's size at its peak), else pandas.
    5. One CSV smaller than :data:`AUTO_CSV_BYTES` -> pandas (it is fast there and its reading notes are richest).
    6. A larger CSV -> DuckDB only when it is *plain*: no byte-order mark, and the pandas reader, run on its first
       :data:`SAMPLE_BYTES`, finds UTF-8, a comma delimiter, the header on line 1, no shop-platform export, no
       order-level columns, the same columns as DuckDB's header-only mapping, ISO 8601 dates, '.' as the decimal
       mark of every number column, no customer-id rewriting and no warnings. Anything else (per-line encoding,
       decimal commas, day-first dates, headers found by values, ...) is computed by pandas only -> pandas.

    What the sample cannot see is checked while DuckDB runs (:func:`run_auto`): bytes that are not UTF-8 later in
    the file, or dates and numbers DuckDB cannot read, send the file to pandas after all.

    Returns
    -------
    EngineChoice
        ``engine`` is ``"pandas"`` or ``"duckdb"``; ``reason`` says why, for the CLI's ``engine:`` line.
    """
    import psutil

    if pandas_only:
        return EngineChoice("pandas", f"{pandas_only} is computed by the pandas engine only")
    if len(paths) > 1:
        return EngineChoice("duckdb", f"{len(paths)} files, read together out of core")
    path = paths[0]
    lower = path.lower()
    if lower.endswith((".xlsx", ".xlsm")):
        return EngineChoice("pandas", "workbooks are read by the pandas engine")
    size = os.path.getsize(path)
    if lower.endswith((".parquet", ".pq")):
        avail = available_bytes if available_bytes is not None else psutil.virtual_memory().available
        if size * 25 > avail / 2:
            return EngineChoice("duckdb", f"a {size / 1e6:.0f} MB Parquet file needs more memory than is free")
        return EngineChoice("pandas", f"a {size / 1e6:.0f} MB Parquet file fits in memory")
    if size < AUTO_CSV_BYTES:
        return EngineChoice("pandas", f"a {size / 1e6:.0f} MB CSV (DuckDB from {AUTO_CSV_BYTES / 2**20:.0f} MiB)")
    why = _not_plain(path, mapping, dayfirst)
    if why:
        return EngineChoice("pandas", f"a {size / 1e6:.0f} MB CSV, but {why}")
    return EngineChoice("duckdb", f"a {size / 1e6:.0f} MB plain CSV (UTF-8, comma-delimited, header on line 1, "
                                  "ISO dates, '.' decimals)")


def run_auto(spec: str | list[str], choice: EngineChoice, mapping: Mapping[str, str | None] | None = None,
             policy: CleaningPolicy | None = None, as_of: dt.date | None = None) -> tuple[FileResult | None,
                                                                                        EngineChoice]:
    """Run DuckDB when ``auto`` chose it; ``(None, pandas choice)`` when the file turns out to need the pandas
    reader after all: bytes that are not UTF-8 (DuckDB stops on them), or, in a single CSV, dates or numbers
    present in a format the SQL plan cannot read (a decimal comma or currency sign past the sampled start, say),
    which pandas reads and DuckDB would file as unreadable. Either way the result is what pandas would give."""
    from .duckdb_engine import NotUtf8Error, UnreadableFormatError, duckdb_customers_from_files

    if choice.engine != "duckdb":
        return None, choice
    try:
        fres = duckdb_customers_from_files(spec, mapping, policy, as_of)
    except NotUtf8Error:
        return None, EngineChoice("pandas", "DuckDB found bytes that are not UTF-8; pandas decodes them line by line")
    except UnreadableFormatError:
        return None, EngineChoice("pandas", "every line holds a date or number in a format only the pandas reader "
                                            "reads")
    single_csv = isinstance(spec, str) and not spec.lower().endswith((".parquet", ".pq")) and os.path.isfile(spec)
    if fres.unreadable and single_csv:
        return None, EngineChoice("pandas", f"{fres.unreadable:,} line(s) hold a date or number in a format only "
                                            "the pandas reader reads")
    return fres, choice


def choose_engine(paths: list[str], available_bytes: int | None = None) -> str:
    """The engine :func:`engine_choice` picks with no mapping and no pandas-only option."""
    return engine_choice(paths, available_bytes=available_bytes).engine


def _not_plain(path: str, mapping: Mapping[str, str | None] | None, dayfirst: bool | None) -> str:
    """Why a CSV needs the pandas reader ('' when DuckDB reads it the same way)."""
    from ..columns import AMOUNT, ORDER_ROLES, QUANTITY, UNIT_PRICE
    from ..errors import RfmError
    from ..mapping import apply_mapping, resolve_mapping
    from ..read import read_table

    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    if head.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "it starts with a byte-order mark"
    cut = head.rfind(b"\n")
    if cut <= 0:
        return "its first lines could not be sampled"
    try:
        raw = read_table(head[:cut + 1], os.path.basename(path))
        mapped = apply_mapping(raw, dict(mapping or {}), dayfirst)
        by_header = resolve_mapping(list(raw.frame.columns), mapping)
    except RfmError as exc:
        return f"its first lines need the pandas reader ({str(exc)[:120]})"
    reading = mapped.reading
    numbers = reading.get("numbers") or {}
    dates = reading.get("dates") or {}
    checks = [
        (raw.delimiter != ",", f"it is {raw.delimiter!r}-delimited"),
        (raw.header_row != 0, f"its header is on line {raw.header_row + 1}"),
        (bool(raw.notes), "the reader noted: " + "; ".join(raw.notes)[:120]),
        (reading.get("platform") is not None, "it is a shop-platform export"),
        (any(r in mapped.mapping for r in ORDER_ROLES), "order-level columns are mapped"),
        (AMOUNT in mapped.mapping and not {QUANTITY, UNIT_PRICE} <= set(mapped.mapping),
         "it has an amount column without quantity and unit price"),
        (mapped.mapping != by_header, "its columns are recognised by their values, not only their names"),
        (not str(dates.get("format", "")).startswith("ISO 8601"), f"its dates are {dates.get('format')}"),
        (any(v.get("decimal_mark") != "." for v in numbers.values()), "a number column uses a decimal comma"),
        (bool(reading.get("customer_ids")), "its customer ids are rewritten by the reader"),
        (bool(mapped.warnings), "the reader warned: " + "; ".join(mapped.warnings)[:120]),
    ]
    return next((why for bad, why in checks if bad), "")
