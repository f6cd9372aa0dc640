"""Finding the files behind a path, folder or glob, and what the file engines share."""

from __future__ import annotations

import glob
import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from ..errors import InputFileError
from ..mapping import DAY_FIRST, date_order_messages, read_dates

__all__ = ["DATE_SAMPLE", "DateDecision", "decide_dayfirst", "expand_paths", "file_format", "sample_date_order"]

_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".txt", ".tsv")


def expand_paths(spec: str | list[str]) -> list[str]:
    """Sorted files for a path, a folder (its CSV/Parquet files) or a glob; a clear error when none match."""
    specs = [spec] if isinstance(spec, str) else list(spec)
    found: list[str] = []
    for item in specs:
        if os.path.isdir(item):
            found += [str(p) for p in sorted(Path(item).rglob("*")) if p.suffix.lower() in _PARQUET + _CSV]
        elif any(ch in item for ch in "*?["):
            found += sorted(glob.glob(item, recursive=True))
        elif os.path.exists(item):
            found.append(item)
        else:
            raise InputFileError(f"No file at {item}. Check the path or the glob pattern.")
    if not found:
        raise InputFileError(f"No CSV or Parquet files match {spec!r}.")
    return found


def file_format(paths: list[str]) -> str:
    """``parquet`` or ``csv``; mixing them, or other kinds, is an error with advice."""
    kinds = {("parquet" if p.lower().endswith(_PARQUET) else "csv" if p.lower().endswith(_CSV) else "other")
             for p in paths}
    if kinds == {"parquet"} or kinds == {"csv"}:
        return kinds.pop()
    if "other" in kinds:
        raise InputFileError("The DuckDB and Spark engines read CSV and Parquet files; convert workbooks to CSV or "
                             "use the pandas engine for them.")
    raise InputFileError("The input mixes CSV and Parquet files; point at one kind at a time.")


#: How many of the date column's values the file engines read to decide the date order (``LIMIT``, not the first
#: ones: the engines read in parallel).
DATE_SAMPLE = 20_000


class DateDecision(NamedTuple):
    """The file engines' date order (None: no D/M/Y dates in the sample) and what to say about it."""

    dayfirst: bool | None
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def decide_dayfirst(sample: pd.Series, forced: bool | None, column: str = "") -> DateDecision:
    """Day or month first for text dates, decided on a sample with the pandas reader's rules
    (:func:`rfm_core.mapping.read_dates`; ``forced`` wins), with the reader's notes and warnings
    (:func:`rfm_core.mapping.date_order_messages`: the format, the values proving the order, dates that fit both
    orders read month-first, values proving both orders), the example values shown as they are (a sample has no
    file rows) and the first note saying how much of the column was judged. Nothing is said when the order was
    set."""
    if forced is not None:
        return DateDecision(forced)
    reading = read_dates(sample.astype("string"))
    notes, _, warnings = date_order_messages(column, reading, lambda values, n: [repr(v) for v in list(values)[:n]])
    judged = (f"all {len(sample):,} of its dates" if len(sample) < DATE_SAMPLE
              else f"a sample of {DATE_SAMPLE:,} of its dates")
    notes[0] = f"{notes[0].removesuffix('.')} (judged on {judged})."
    # From the order read, not from the label's words: the label of dates fitting both orders ends "set day-first
    # if that is wrong", and a test for "day-first" in it read such files day-first while saying month-first.
    dayfirst = None if reading.order is None else reading.order == DAY_FIRST
    return DateDecision(dayfirst, tuple(notes), tuple(warnings))


def sample_date_order(fetch_dates: Callable[[str], pd.Series], source: str, quoted: str, column: str,
                      forced: bool | None) -> DateDecision:
    """:func:`decide_dayfirst` for the text date column ``column`` (``quoted`` in the engine's SQL) of ``source``,
    on :data:`DATE_SAMPLE` of its values fetched by ``fetch_dates`` (an engine's "this SQL's one column"); no
    query when the order was set. The one date sample of DuckDB and Spark."""
    if forced is not None:
        return DateDecision(forced)
    return decide_dayfirst(fetch_dates(f"SELECT {quoted} AS d FROM {source} WHERE {quoted} IS NOT NULL "
                                       f"LIMIT {DATE_SAMPLE}"), None, column)
