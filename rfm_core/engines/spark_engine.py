"""Apache Spark: the same cleaning and aggregation plan as DuckDB, for data in a lake or on a cluster.

PySpark is an optional extra (``pip install -r requirements-spark.txt``; it needs Java 17). ``master`` defaults
to ``local[*]``; pass a cluster URL to run there. Only the per-customer table comes back to the driver.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from typing import Any

from ..aggregate import resolve_as_of
from ..columns import INVOICE_DATE
from ..errors import RfmError
from ..mapping import resolve_mapping
from ..settings import CleaningPolicy
from .files import decide_dayfirst, expand_paths, file_format
from .sqlplan import (
    FileResult,
    SparkDialect,
    SqlPlan,
    apply_order_level_check,
    finish_customers,
    ledger_frame,
    refuse_order_rules,
)

__all__ = ["spark_customers_from_files", "spark_session"]


def spark_session(master: str = "local[*]") -> Any:
    """A Spark session for the analysis (reused when one is already running in this process)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise RfmError("The Spark engine needs PySpark: pip install -r requirements-spark.txt (and Java 17).") from None
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    return (SparkSession.builder.master(master).appName("rfm_core")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.sql.session.timeZone", "UTC")  # wall-clock dates exactly as in the files
            .config("spark.sql.shuffle.partitions", "8")
            # pandas writes TIMESTAMP(NANOS), which Spark refuses unless read as longs (converted in the plan)
            .config("spark.sql.legacy.parquet.nanosAsLong", "true")
            .getOrCreate())


def spark_customers_from_files(
    spec: str | list[str],
    mapping: Mapping[str, str | None] | None = None,
    policy: CleaningPolicy | None = None,
    as_of: dt.date | None = None,
    *,
    master: str = "local[*]",
    session: Any = None,
) -> FileResult:
    """Clean and aggregate CSV or Parquet files on Spark; the same result as the pandas and DuckDB engines."""
    policy = policy or CleaningPolicy()
    specs = [spec] if isinstance(spec, str) else list(spec)
    if all("://" in s for s in specs):  # s3a://, hdfs://, abfss://...: Spark lists and reads them itself
        paths, fmt = specs, file_format([s.rstrip("/*") if s.endswith("/*") else s for s in specs])
    else:
        paths = expand_paths(spec)
        fmt = file_format(paths)
    spark = session or spark_session(master)
    reader = spark.read
    frame = reader.parquet(*paths) if fmt == "parquet" else reader.option("header", True).csv(paths)
    frame.createOrReplaceTempView("rfm_src")
    columns = tuple(frame.columns)
    text_columns = frozenset(name for name, kind in frame.dtypes if kind == "string")
    resolved = resolve_mapping(list(columns), mapping)
    dialect = SparkDialect()
    dayfirst = None
    if resolved[INVOICE_DATE] in text_columns:
        q = dialect.quote(resolved[INVOICE_DATE])
        sample = spark.sql(f"SELECT {q} AS d FROM rfm_src WHERE {q} IS NOT NULL LIMIT 20000").toPandas()
        dayfirst = decide_dayfirst(sample["d"], policy.dayfirst)
    nanos = frozenset(name for name, kind in frame.dtypes if kind == "bigint" and fmt == "parquet"
                      and name == resolved[INVOICE_DATE])
    refuse_order_rules(columns, resolved, "spark")
    plan = SqlPlan("rfm_src", columns, text_columns, resolved, policy, dialect, dayfirst, nanos)
    plan, notes = apply_order_level_check(plan, tuple(spark.sql(plan.order_level_check()).collect()[0]))
    reasoned = spark.sql(plan.reasoned()).cache()
    try:
        reasoned.createOrReplaceTempView("rfm_reasoned")
        counts = spark.sql(plan.ledger("rfm_reasoned")).toPandas()
        counts = counts.dropna().astype({"code": "int64", "n": "int64"})
        input_rows = int(counts["n"].sum())
        as_of = resolve_as_of(spark.sql(plan.last_purchase("rfm_reasoned")).collect()[0][0], as_of)
        customers = spark.sql(plan.customers("rfm_reasoned", as_of)).toPandas()
    finally:
        reasoned.unpersist()
    return FileResult(finish_customers(customers), ledger_frame(counts, input_rows), as_of, input_rows, "spark",
                      plan.mapping, (f"{len(paths)} {fmt} file(s) read by Spark ({master}).", *notes))
