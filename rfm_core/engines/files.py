"""Finding the files behind a path, folder or glob, and what the file engines share."""

from __future__ import annotations

import glob
import os
from pathlib import Path

import pandas as pd

from ..errors import InputFileError
from ..mapping import parse_dates

__all__ = ["DATE_SAMPLE", "decide_dayfirst", "expand_paths", "file_format"]

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


def decide_dayfirst(sample: pd.Series, forced: bool | None, column: str = "") -> tuple[bool | None, tuple[str, ...]]:
    """Day or month first for text dates, decided on a sample with the pandas rules (``forced`` wins), and the
    reading note that says what the sample showed (none when the order was set): the pandas reader's words
    ("Dates in 'X' read as ..."), with the sample's size, as the file engines look at no other values."""
    if forced is not None:
        return forced, ()
    _, label = parse_dates(sample.astype("string"))
    judged = (f"all {len(sample):,} of its dates" if len(sample) < DATE_SAMPLE
              else f"a sample of {DATE_SAMPLE:,} of its dates")
    note = f"Dates in {column!r} read as {label} (judged on {judged})."
    return "day-first" in label, (note,)
