"""DuckDB: the aggregation as SQL, in memory for a loaded table or out of core straight from CSV/Parquet files.

Out of core: the data is scanned from the files by DuckDB, intermediate results live in a temporary database
file under a memory limit (:func:`duckdb_resources`: taken from the machine, overridable), and only the
per-customer table comes back to pandas.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from ..aggregate import resolve_as_of
from ..clean import IS_RETURN
from ..columns import AMOUNT, COUNTRY, CUSTOMER_ID, INVOICE_DATE, INVOICE_ID
from ..errors import InputFileError, RfmError
from ..mapping import resolve_mapping
from ..settings import CleaningPolicy
from .files import DateDecision, expand_paths, file_format, sample_date_order
from .sqlplan import (
    CODE,
    Dialect,
    FileResult,
    SqlPlan,
    counts_frame,
    customers_sql,
    finish_customers,
    ledger_frame,
    read_columns,
    read_plan,
    refuse_order_rules,
)

__all__ = ["DuckDBAggregator", "NotUtf8Error", "UnreadableFormatError", "duckdb_customers_from_files",
           "duckdb_resources"]


class NotUtf8Error(InputFileError):
    """A CSV with bytes that are not UTF-8: DuckDB stops; the pandas reader decodes such files line by line."""


class UnreadableFormatError(InputFileError):
    """Every line's date or numbers are in a format only the pandas reader reads (decimal commas, say): nothing is
    left for DuckDB to analyse."""


#: Environment variables that override :func:`duckdb_resources` (e.g. ``RFM_DUCKDB_MEMORY_LIMIT=4GB``).
MEMORY_ENV, THREADS_ENV = "RFM_DUCKDB_MEMORY_LIMIT", "RFM_DUCKDB_THREADS"
#: Share of the machine's physical memory DuckDB may hold before it spills to disk, and the least it gets.
MEMORY_SHARE, MEMORY_FLOOR = 1 / 16, 256 * 2**20


def duckdb_resources(memory_limit: str | None = None, threads: int | None = None) -> tuple[str, int]:
    """DuckDB's ``memory_limit`` and ``threads`` for an out-of-core run: given, else from the environment
    (:data:`MEMORY_ENV`, :data:`THREADS_ENV`), else from the machine.

    The machine's default is 1/16 of physical memory (1.5 GB on 24 GB), but no more than a quarter of the memory
    available now and no less than 256 MB, and one thread per core. Above the limit DuckDB spills to its
    temporary directory, so the limit bounds the process size (the CLI's peak RSS stays near limit + 0.4 GB), not
    what it can process; a small share keeps room for the other users of a shared machine. Raise it for speed
    on a machine of your own.
    """
    import psutil

    memory = memory_limit or os.environ.get(MEMORY_ENV)
    if not memory:
        vm = psutil.virtual_memory()
        memory = f"{max(MEMORY_FLOOR, min(vm.total * MEMORY_SHARE, vm.available / 4)) / 2**20:.0f}MB"
    env_threads = os.environ.get(THREADS_ENV, "")
    count = threads or (int(env_threads) if env_threads.strip().isdigit() else 0) or os.cpu_count() or 2
    return memory, count


class DuckDBAggregator:
    """:class:`rfm_core.aggregate.Aggregator` for an in-memory transaction table, in DuckDB SQL."""

    name = "duckdb"

    def customers(self, transactions: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
        import duckdb

        tx = transactions
        frame = pd.DataFrame({
            "cid": tx[CUSTOMER_ID].astype(str).to_numpy(),
            "inv": tx[INVOICE_ID].astype(str).to_numpy(),
            "ts": tx[INVOICE_DATE].to_numpy(),
            "amount": tx[AMOUNT].to_numpy(dtype="float64"),
            "country": tx[COUNTRY].astype(object).to_numpy() if COUNTRY in tx.columns else None,
            "code": (tx[IS_RETURN].to_numpy() if IS_RETURN in tx.columns else False)
            * CODE["used: return netted against monetary"],
        })
        con = duckdb.connect()
        try:
            con.register("tx", frame)
            out = con.sql(customers_sql(Dialect(), "tx", as_of)).df()
        finally:
            con.close()
        return finish_customers(out, COUNTRY in tx.columns)


def _source(paths: list[str], fmt: str) -> str:
    listed = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"
    if fmt == "parquet":
        return f"read_parquet({listed}, union_by_name = true)"
    return f"read_csv({listed}, all_varchar = true, header = true, union_by_name = true)"


def duckdb_customers_from_files(
    spec: str | list[str],
    mapping: Mapping[str, str | None] | None = None,
    policy: CleaningPolicy | None = None,
    as_of: dt.date | None = None,
    *,
    memory_limit: str | None = None,
    threads: int | None = None,
) -> FileResult:
    """Clean and aggregate CSV or Parquet files (a path, folder or glob) without loading them into pandas.

    Returns the same per-customer table and ledger as the pandas engine on the same rows. ``memory_limit``
    (DuckDB's spelling, e.g. ``"2GB"``) and ``threads`` default to :func:`duckdb_resources`.
    """
    import duckdb

    policy = policy or CleaningPolicy()
    paths = expand_paths(spec)
    fmt = file_format(paths)
    source = _source(paths, fmt)
    memory_limit, threads = duckdb_resources(memory_limit, threads)
    with tempfile.TemporaryDirectory(prefix="rfm-duckdb-") as tmp:
        con = duckdb.connect(str(Path(tmp) / "work.duckdb"), config={
            "memory_limit": memory_limit, "temp_directory": str(Path(tmp) / "spill"),
            "threads": threads, "preserve_insertion_order": False})
        try:
            con.execute("SET enable_progress_bar = false")  # the CLI's stderr keeps its own lines
            described = con.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()
            columns = tuple(str(r[0]) for r in described)
            resolved = resolve_mapping(list(columns), mapping)
            row_hash, row_id = None, None
            if fmt == "csv":
                # The plan reads its source several times (duplicate hashes, lines, cancellation pairs): parse the
                # text once into DuckDB's own compressed columns (spilled to the work file past the memory limit)
                # rather than once per read. Only the mapped columns are stored, with the hash of every column that
                # tells duplicates apart: the rest (a product's description, say: a third of the bytes) was
                # written and read again for that hash alone.
                q = Dialect().quote
                keep = read_columns(columns, resolved)
                row_hash = "rfm_row_hash"
                # Stored compressed, not as an in-memory TEMP table: that loads faster (1.0 s instead of 1.7 s for
                # a 0.5 GB CSV) but the plan's reads of it got as much slower: DuckDB hands a dictionary-compressed
                # column on as dictionary vectors, and the text typing then runs once per distinct value.
                con.execute(f"CREATE TABLE rfm_source AS SELECT {', '.join(q(c) for c in keep)}, "
                            f"{Dialect().row_hash([q(c) for c in columns])} AS {row_hash} FROM {source}")
                source = "rfm_source"
                # the table's row number, unless a kept column of that name hides it
                row_id = None if "rowid" in {c.lower() for c in keep} else "rowid"
                described = con.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()
            elif not {"file_index", "file_row_number"} & {c.lower() for c in columns}:
                # DuckDB's virtual columns of a Parquet scan: which file, which row in it
                row_id = f"(CAST(file_index AS BIGINT) * {2**40} + file_row_number)"
            text_columns = frozenset(str(r[0]) for r in described if str(r[1]).upper() == "VARCHAR")
            date_order = DateDecision(None)
            date_col = resolved[INVOICE_DATE]
            if date_col in text_columns:
                date_order = sample_date_order(lambda sql: con.sql(sql).df()["d"], source, Dialect().quote(date_col),
                                               date_col, policy.dayfirst)
            refuse_order_rules(columns, resolved, "duckdb")
            floats = frozenset(str(r[0]) for r in described if str(r[1]).upper() in ("DOUBLE", "FLOAT", "REAL"))
            plan = SqlPlan(source, columns, text_columns, resolved, policy, Dialect(), date_order.dayfirst,
                           float_columns=floats, row_id=row_id, row_hash=row_hash)
            reading = read_plan(plan, lambda sql: tuple(con.sql(sql).fetchall()[0]), date_order)
            plan, notes = reading.plan, reading.notes
            # The plan's steps are stored as tables rather than run as one query: the typed, flagged lines (coded0)
            # are read three times by the rest of the plan (purchases, returns, and the final coding); as a CTE they
            # were materialized and spilled (11 GB written at 100x under the 1.5 GB limit). The lines grouped on
            # their raw values (stage1, about a twelfth as many) are stored too: the invoice numbers are read from
            # them instead of two more scans of the source. The coded lines (reasoned) are read twice, for the
            # ledger's counts per reason and the per-customer table.
            # TEMP tables: held by DuckDB's buffer manager in memory under the same limit (spilled past it), not
            # compressed and written to the work file: at 100x 16.9 s instead of 20.2 s end to end, CPU 29 s
            # instead of 35 s, peak RSS 1.74 GB instead of 1.66 GB (the CSV source stays a compressed table: see
            # above). Each is dropped once the next is built.
            con.execute(f"CREATE TEMP TABLE stage1 AS {plan.reasoned(stage1_only=True)}")
            con.execute(f"CREATE TEMP TABLE coded0 AS {plan.reasoned(coded0_only=True, stage1_table='stage1')}")
            con.execute("DROP TABLE stage1")
            con.execute(f"CREATE TEMP TABLE reasoned AS {plan.reasoned('coded0')}")
            con.execute("DROP TABLE coded0")
            con.execute(f"CREATE TEMP TABLE summary AS {plan.summary('reasoned')}")
            counts, unread = counts_frame(con.sql(plan.ledger_counts("reasoned")).fetchall()[0])
            input_rows = int(counts["n"].sum())
            last = con.sql(plan.last_purchase("summary")).fetchall()[0][0]
            if unread:
                # Dates or numbers the plan cannot read (a decimal comma, a currency sign...): said, with the way out,
                # rather than a bare "nothing left" or silently filed lines.
                cannot = (f"{unread:,} line(s) hold a date or number in a format DuckDB does not read (a decimal "
                          "comma or a currency sign, say); they are filed as unreadable. Run with --engine pandas "
                          "or auto: the pandas reader reads such formats.")
                if last is None:
                    raise UnreadableFormatError(f"Nothing is left to analyse: {cannot}")
                notes = (*notes, cannot)
            as_of = resolve_as_of(last, as_of)
            customers = con.sql(plan.customers("summary", as_of)).df()
        except duckdb.Error as exc:
            if "Invalid unicode" in str(exc):
                raise NotUtf8Error(f"{spec} is not UTF-8 throughout, and DuckDB reads UTF-8 only. Run it with "
                                   "--engine pandas or auto: pandas decodes such files line by line.") from None
            raise RfmError(f"DuckDB could not process the input: {str(exc).splitlines()[0]}") from None
        finally:
            con.close()
    return FileResult(finish_customers(customers, COUNTRY in plan.mapping), ledger_frame(counts, input_rows),
                      as_of, input_rows, "duckdb", plan.mapping,
                      (f"{len(paths)} {fmt} file(s) read by DuckDB out of core.", *notes), unreadable=unread,
                      guesses=notes, customer_ids=reading.customer_ids, warnings=reading.warnings)
