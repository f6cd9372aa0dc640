"""Apache Spark: the same cleaning and aggregation plan as DuckDB, for data in a lake or on a cluster.

PySpark is an optional extra (``pip install -r requirements-spark.txt``; it needs Java 17). ``master`` defaults
to ``local[*]``; pass a cluster URL to run there. Only the per-customer table comes back to the driver.

Spark's own console output (Java warnings, log lines, progress bars, stack traces) goes to a log file
(:func:`spark_log_path`), not to the terminal: the CLI's stderr keeps its one summary line, and a failure is one
:class:`RfmError` whose message names the log.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from ..aggregate import resolve_as_of
from ..columns import COUNTRY, INVOICE_DATE
from ..errors import RfmError
from ..mapping import resolve_mapping
from ..settings import CleaningPolicy
from .files import DateDecision, expand_paths, file_format, sample_date_order
from .sqlplan import (
    FileResult,
    SparkDialect,
    SqlPlan,
    counts_frame,
    finish_customers,
    ledger_frame,
    read_plan,
    refuse_order_rules,
)

__all__ = ["check_master", "java_available", "spark_customers_from_files", "spark_log_path", "spark_session"]


_CONF = (
    ("spark.ui.enabled", "false"),
    ("spark.ui.showConsoleProgress", "false"),
    ("spark.driver.bindAddress", "127.0.0.1"),
    ("spark.sql.session.timeZone", "UTC"),  # wall-clock dates exactly as in the files
    ("spark.sql.shuffle.partitions", "8"),  # small inputs; spark_customers_from_files sizes it to its input
    # a cluster's local checkpoint of the typed lines (_materialise) is written compressed
    ("spark.rdd.compress", "true"),
    # pandas writes TIMESTAMP(NANOS), which Spark refuses unless read as longs (converted in the plan)
    ("spark.sql.legacy.parquet.nanosAsLong", "true"),
)
MASTER_TIMEOUT_S = 5.0
PARTITIONS = "spark.sql.shuffle.partitions"
#: Environment variable overriding :func:`local_driver_memory` (Spark's spelling, e.g. ``4g``).
DRIVER_MEMORY_ENV = "RFM_SPARK_DRIVER_MEMORY"
#: Share of physical memory a local-mode Spark's JVM heap may take, and Spark's own default as the floor (MB).
DRIVER_MEMORY_SHARE, DRIVER_MEMORY_FLOOR_MB = 1 / 8, 1024
#: Input bytes per shuffle partition, and the bounds (see :func:`shuffle_partitions`).
BYTES_PER_PARTITION, MIN_PARTITIONS, MAX_PARTITIONS = 2 * 2**20, 8, 400


def spark_log_path() -> Path:
    """Where Spark's console output goes for this process."""
    return Path(tempfile.gettempdir()) / f"rfm_core-spark-{os.getpid()}.log"


def local_driver_memory() -> str:
    """``spark.driver.memory`` for a local master, where every task runs in the driver's JVM: an eighth of physical
    memory, no more than a quarter of the memory available now and no less than Spark's default 1 GB; or
    :data:`DRIVER_MEMORY_ENV`. At 100x, with the default 1 GB and 8 shuffle partitions, one stage spilled 10.5 GB
    to disk; with 3 GB and :func:`shuffle_partitions`, nothing (measured). A cluster's executors are sized by the
    cluster.
    """
    given = os.environ.get(DRIVER_MEMORY_ENV, "").strip()
    if given:
        return given
    import psutil

    vm = psutil.virtual_memory()
    share = min(vm.total * DRIVER_MEMORY_SHARE, vm.available / 4) / 2**20
    return f"{max(DRIVER_MEMORY_FLOOR_MB, share):.0f}m"


def shuffle_partitions(paths: list[str]) -> int:
    """``spark.sql.shuffle.partitions`` for one run: one per :data:`BYTES_PER_PARTITION` of the input files, between
    :data:`MIN_PARTITIONS` and :data:`MAX_PARTITIONS` (200, Spark's default, for paths Spark lists itself).

    Spark cannot split a shuffle into more parts than this number, and its adaptive execution merges parts that
    turn out small; 8 parts for 54 M lines (100x) gave each aggregation task 7 M keys, far past its memory.
    """
    if any("://" in p for p in paths):
        return 200
    size = sum(os.path.getsize(p) for p in paths if os.path.isfile(p))
    return max(MIN_PARTITIONS, min(MAX_PARTITIONS, -(-size // BYTES_PER_PARTITION)))


def check_master(master: str, timeout: float = MASTER_TIMEOUT_S) -> None:
    """Fail fast when a standalone master (``spark://host:port[,host2:port2]``) cannot be reached.

    Spark itself would retry for about a minute and print Java stack traces. Other masters (``local[*]``,
    ``yarn``, ``k8s://...``) are left to Spark.

    Raises
    ------
    RfmError
        The URL has no port, no host name resolves, or no master accepts a connection within ``timeout`` seconds.
    """
    if not master.startswith("spark://"):
        return
    problems = []
    for hostport in master.removeprefix("spark://").split(","):
        host, sep, port = hostport.strip().rpartition(":")
        host = host.strip("[]")  # IPv6 literals are written [::1]:7077
        if not sep or not host or not port.isdigit():
            raise RfmError(f"The Spark master {master} is not a URL like spark://HOST:7077.")
        try:
            with socket.create_connection((host, int(port)), timeout=timeout):
                return
        except socket.gaierror:
            problems.append(f"the host {host!r} is not known")
        except OSError as exc:
            problems.append(f"{host}:{port} did not answer ({exc.strerror or type(exc).__name__})")
    raise RfmError(f"Cannot reach the Spark master {master}: {'; '.join(problems)}. Check the master URL, or use "
                   "local[*] to run Spark on this machine.")


def java_available() -> bool:
    """Whether Spark can find a Java runtime: ``$JAVA_HOME/bin/java`` when JAVA_HOME is set, else ``java`` on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        return (Path(home) / "bin" / "java").is_file()
    return shutil.which("java") is not None


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    java = getattr(exc, "java_exception", None)  # Py4JJavaError: the Java exception says what went wrong
    if java is not None:
        with contextlib.suppress(Exception):
            text = str(java.toString())
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[0] if lines else type(exc).__name__)[:300]


@contextlib.contextmanager
def _spark_errors(doing: str) -> Iterator[None]:
    """Spark's and Py4J's exceptions (multi-line Java traces) as one-line :class:`RfmError` messages."""
    try:
        yield
    except RfmError:
        raise
    except Exception as exc:
        module = type(exc).__module__
        if not module.startswith(("pyspark", "py4j")):
            raise
        raise RfmError(f"Spark failed while {doing}: {_first_line(exc)} (Spark's log: {spark_log_path()}).")\
            from None


def spark_session(master: str = "local[*]") -> Any:
    """A Spark session for the analysis (reused when one is already running in this process).

    Raises
    ------
    RfmError
        PySpark is not installed, the master cannot be reached (:func:`check_master`), or Spark does not start
        (for example without Java 17); the message is one line and names Spark's log.
    """
    try:
        from pyspark import SparkConf, SparkContext
        from pyspark.java_gateway import launch_gateway
        from pyspark.sql import SparkSession
    except ImportError:
        raise RfmError("The Spark engine needs PySpark: pip install -r requirements-spark.txt (and Java 17).") from None
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    conf = SparkConf().setMaster(master).setAppName("rfm_core").setAll(list(_CONF))
    if master.startswith("local"):
        conf.set("spark.driver.memory", local_driver_memory())
    if SparkContext._active_spark_context is None:
        check_master(master)
        log = spark_log_path()
        try:
            with open(log, "ab") as sink:  # the JVM keeps its own copy of the descriptor
                gateway = launch_gateway(conf, popen_kwargs={"stdout": sink, "stderr": sink})  # type: ignore[no-untyped-call]
            SparkContext(conf=conf, gateway=gateway)
        except Exception as exc:
            java = "" if java_available() else " Java was not found (Spark needs Java 17; check JAVA_HOME and PATH)."
            raise RfmError(f"Spark did not start with master {master}: {_first_line(exc)}.{java} "
                           f"Spark's log: {log}.") from None
    with _spark_errors("starting a session"):
        return SparkSession.builder.config(conf=conf).getOrCreate()


@_spark_errors("reading and aggregating the files")
def spark_customers_from_files(
    spec: str | list[str],
    mapping: Mapping[str, str | None] | None = None,
    policy: CleaningPolicy | None = None,
    as_of: dt.date | None = None,
    *,
    master: str = "local[*]",
    session: Any = None,
) -> FileResult:
    """Clean and aggregate CSV or Parquet files on Spark; the same result as the pandas and DuckDB engines.

    The typed lines are written once to disk for the run (:func:`_materialise`; with a local master, Parquet under
    Spark's local directory) and deleted when it ends, as are its views and cached summary.
    """
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
    # Views named for this run only (a session, the app's or a test's, may run several analyses). What the run
    # leaves in the session (views, its shuffle setting, the typed lines on disk) is undone when it ends.
    parts = ("src", "coded0", "reasoned", "summary")
    views = _Views(*(f"rfm_{part}_{uuid.uuid4().hex[:12]}" for part in parts))
    undo = contextlib.ExitStack()

    def later(step: Callable[..., object], *args: object) -> None:
        undo.callback(_quietly, step, *args)

    try:
        later(spark.conf.set, PARTITIONS, spark.conf.get(PARTITIONS))
        spark.conf.set(PARTITIONS, str(shuffle_partitions(paths)))
        for view in views:
            later(spark.catalog.dropTempView, view)
        frame.createOrReplaceTempView(views.source)
        return _analyse(spark, frame, fmt, views, later, mapping, policy, as_of,
                        f"{len(paths)} {fmt} file(s) read by Spark ({master}); Spark's own log: {spark_log_path()}.")
    finally:
        undo.close()


def _quietly(step: Callable[..., object], *args: object) -> None:
    with contextlib.suppress(Exception):  # a failed Spark must not hide the error that stopped the run
        step(*args)


def _materialise(spark: Any, frame: Any, later: Callable[..., None]) -> Any:
    """``frame`` computed once and written to disk, as a relation that later queries scan instead of recomputing it.

    A local master writes Parquet to a temporary folder (under ``SPARK_LOCAL_DIRS`` or ``spark.local.dir`` when
    set), deleted at the end of the run: compressed, and each reader decodes only the columns it needs. Other
    masters keep a local checkpoint on their executors' disks (a driver's temporary folder is not theirs).
    Not cache()/persist(): a cached plan that holds CTEs is not found again under the summary query's own WITH
    clause (measured: the summary still scanned the files 115 times).
    """
    if str(spark.sparkContext.master).startswith("local"):
        dirs = os.environ.get("SPARK_LOCAL_DIRS") or spark.sparkContext.getConf().get("spark.local.dir") or ""
        folder = tempfile.mkdtemp(prefix="rfm-spark-", dir=dirs.split(",")[0] or None)
        later(shutil.rmtree, folder, True)
        target = str(Path(folder) / "lines")
        # Parquet has no column type for a column that is NULL by construction (no country mapped, say)
        columns = [frame[c].cast("string").alias(c) if kind == "void" else frame[c] for c, kind in frame.dtypes]
        frame.select(*columns).write.parquet(target)
        return spark.read.parquet(target)
    from pyspark import StorageLevel

    kept = frame.localCheckpoint(eager=True, storageLevel=StorageLevel.DISK_ONLY)
    later(_release, kept)
    return kept


def _release(df: Any) -> None:
    """Drop the blocks of a local checkpoint (else they stay on disk until the JVM's garbage collector runs Spark's
    cleaner, which can be never in a long-lived session)."""
    plan = df._jdf.queryExecution().analyzed()
    if plan.nodeName() == "LogicalRDD":
        plan.rdd().unpersist(False)


class _Views(NamedTuple):
    source: str
    coded0: str
    reasoned: str
    summary: str


def _analyse(spark: Any, frame: Any, fmt: str, views: _Views, later: Callable[..., None],
             mapping: Mapping[str, str | None] | None, policy: CleaningPolicy, as_of: dt.date | None,
             read_note: str) -> FileResult:
    columns = tuple(frame.columns)
    text_columns = frozenset(name for name, kind in frame.dtypes if kind == "string")
    resolved = resolve_mapping(list(columns), mapping)
    dialect = SparkDialect()
    date_order = DateDecision(None)
    if resolved[INVOICE_DATE] in text_columns:
        date_order = sample_date_order(lambda sql: spark.sql(sql).toPandas()["d"], views.source,
                                       dialect.quote(resolved[INVOICE_DATE]), resolved[INVOICE_DATE], policy.dayfirst)
    nanos = frozenset(name for name, kind in frame.dtypes if kind == "bigint" and fmt == "parquet"
                      and name == resolved[INVOICE_DATE])
    refuse_order_rules(columns, resolved, "spark")
    floats = frozenset(name for name, kind in frame.dtypes if kind in ("double", "float"))
    plan = SqlPlan(views.source, columns, text_columns, resolved, policy, dialect, date_order.dayfirst, nanos,
                   float_columns=floats)
    reading = read_plan(plan, lambda sql: tuple(spark.sql(sql).collect()[0]), date_order)
    plan, notes = reading.plan, reading.notes
    # The typed, flagged lines (coded0) are read by three parts of the plan (purchases and returns for the
    # cancellation matching, and the final coding). Spark never materialises a CTE: as one query it recomputed
    # them for every reader, each time re-reading, re-typing, re-hashing and re-joining every line (115 scans of
    # the files in one physical plan; at 100x the shuffle files passed 23 GB without finishing). Computed once.
    coded0 = _materialise(spark, spark.sql(plan.reasoned(coded0_only=True)), later)
    coded0.createOrReplaceTempView(views.coded0)
    # The coded lines, read twice (the ledger's counts per reason, the per-customer table): computed once too.
    reasoned = _materialise(spark, spark.sql(plan.reasoned(views.coded0)), later)
    reasoned.createOrReplaceTempView(views.reasoned)
    summary = spark.sql(plan.summary(views.reasoned)).cache()  # one row per customer: small, read twice below
    later(summary.unpersist)
    summary.createOrReplaceTempView(views.summary)
    counts, unread = counts_frame(tuple(spark.sql(plan.ledger_counts(views.reasoned)).collect()[0]))
    input_rows = int(counts["n"].sum())
    as_of = resolve_as_of(spark.sql(plan.last_purchase(views.summary)).collect()[0][0], as_of)
    customers = spark.sql(plan.customers(views.summary, as_of)).toPandas()
    return FileResult(finish_customers(customers, COUNTRY in plan.mapping), ledger_frame(counts, input_rows),
                      as_of, input_rows, "spark",
                      plan.mapping, (read_note, *notes), unreadable=unread, guesses=tuple(notes),
                      customer_ids=reading.customer_ids, warnings=reading.warnings)
