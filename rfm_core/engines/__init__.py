"""Aggregation engines beyond pandas: the same cleaning and per-customer definitions as SQL.

- :mod:`.duckdb_engine`: out-of-core SQL on CSV and Parquet files or globs, and an :class:`Aggregator` for an
  in-memory transaction table.
- :mod:`.spark_engine`: the same plan on Apache Spark (optional extra, ``requirements-spark.txt``).

Both build their SQL with :mod:`.sqlplan`, whose reasons, order and definitions mirror :mod:`rfm_core.clean` and
:mod:`rfm_core.aggregate`; tests prove the engines equal to pandas.
"""

from __future__ import annotations

from .sqlplan import FileResult

__all__ = ["FileResult", "choose_engine"]


def choose_engine(paths: list[str], available_bytes: int | None = None) -> str:
    """``duckdb`` for inputs too large to hold comfortably in memory (or several files), else ``pandas``.

    The pandas path needs roughly 8x a CSV's size and 25x a Parquet file's size in memory at its peak
    (measured on Online Retail: 45 MB CSV -> ~320 MB, 3.6 MB Parquet -> ~290 MB including the interpreter);
    when that exceeds half the available memory, DuckDB streams the files instead.
    """
    import os

    import psutil

    if len(paths) > 1:
        return "duckdb"
    path = paths[0]
    if path.lower().endswith((".xlsx", ".xlsm")):
        return "pandas"  # DuckDB's Excel reader needs an extension download; the fast reader handles workbooks
    size = os.path.getsize(path)
    factor = 25 if path.lower().endswith(".parquet") else 8
    avail = available_bytes if available_bytes is not None else psutil.virtual_memory().available
    return "duckdb" if size * factor > avail / 2 else "pandas"
