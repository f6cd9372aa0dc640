"""How the Spark engine runs the shared SQL plan: the typed lines computed once, an order-free monetary sum, nothing
left behind in the session.

The equality of Spark's customers and ledgers with pandas' is proved in test_engines.py; these tests pin down the
three things that made Spark at 100x slow or its scores differ from pandas' at 10x (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import math
import random
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfm_core import RfmError
from rfm_core.engines.duckdb_engine import duckdb_customers_from_files
from rfm_core.engines.sqlplan import SparkDialect
from tests.conftest import SAMPLE
from tests.engine.test_engines import spark  # noqa: F401  (the session fixture: skips without PySpark or Java)

pytestmark = pytest.mark.slow  # local Spark: seconds per query


def _capture_plans(spark: Any, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:  # noqa: F811
    """Every query the engine sends to ``spark.sql``, with its physical plan (as planned, before it runs)."""
    seen: list[tuple[str, str]] = []
    original = spark.sql

    def sql(query: str, *args: Any, **kwargs: Any) -> Any:
        frame = original(query, *args, **kwargs)
        seen.append((query, str(frame._jdf.queryExecution().executedPlan().toString())))
        return frame

    monkeypatch.setattr(spark, "sql", sql)
    return seen


def test_the_summary_reads_the_typed_lines_once_computed_not_the_files(
        spark: Any, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """Before: the summary query held the typed lines as a CTE, which Spark recomputes for every reader (115 scans
    of the input files in its plan at 10x). Now only the query building them scans the files."""
    from rfm_core.engines.spark_engine import spark_customers_from_files

    plans = _capture_plans(spark, monkeypatch)
    spark_customers_from_files(str(SAMPLE), session=spark)
    summaries = [plan for query, plan in plans if "max_by(" in query]  # the one per-customer aggregation
    assert len(summaries) == 1
    summary = summaries[0]
    assert "FileScan csv" not in summary, summary[:3000]
    assert "FileScan parquet" in summary and "rfm-spark-" in summary  # the typed lines, written once
    scanning = [query for query, plan in plans if "FileScan csv" in plan]
    # the date-order sample, the distinct customer ids (for the e-mail note and the ids differing only in case, as
    # pandas and DuckDB say them; one column) and the typed lines (coded0), nothing else
    assert len(scanning) == 3 and "LIMIT 20000" in scanning[0], [q[:120] for q in scanning]
    assert scanning[1].startswith("WITH i AS (SELECT DISTINCT"), scanning[1][:200]


def _session_state(spark: Any) -> tuple[set[str], int, str, set[str]]:  # noqa: F811
    views = {t.name for t in spark.catalog.listTables() if t.name.startswith("rfm_")}
    folders = {p.name for p in Path(tempfile.gettempdir()).glob("rfm-spark-*")}
    return (views, int(spark.sparkContext._jsc.getPersistentRDDs().size()),
            spark.conf.get("spark.sql.shuffle.partitions"), folders)


def test_a_run_leaves_no_views_kept_data_or_settings_in_the_session(spark: Any, tmp_path: Path) -> None:  # noqa: F811
    """The app keeps one Spark session for many analyses: each run's views, its typed lines (on disk, the size of
    the data), its cached summary and its shuffle setting go when it ends, also when it fails."""
    from rfm_core.engines.spark_engine import spark_customers_from_files

    before = _session_state(spark)
    assert before[0] == set()
    spark_customers_from_files(str(SAMPLE), session=spark)
    assert _session_state(spark) == before
    # refused after its views exist: an amount column that is an order total, with no quantity or price to use
    total = tmp_path / "order_totals.csv"
    total.write_text("InvoiceNo,StockCode,CustomerID,InvoiceDate,Total\n1,K1,A,2011-01-01,10\n1,K2,A,2011-01-01,10\n"
                     "2,K1,B,2011-01-02,7\n2,K3,B,2011-01-02,7\n")
    with pytest.raises(RfmError, match="order total"):
        spark_customers_from_files(str(total), {"amount": "Total"}, session=spark)
    assert _session_state(spark) == before


def test_a_cluster_checkpoint_is_released(spark: Any) -> None:  # noqa: F811
    """Other masters than local keep the typed lines as a local checkpoint: its blocks go when the run ends."""
    from pyspark import StorageLevel

    from rfm_core.engines.spark_engine import _release

    rdds = spark.sparkContext._jsc.getPersistentRDDs()
    before = int(rdds.size())
    kept = spark.range(1000).localCheckpoint(eager=True, storageLevel=StorageLevel.DISK_ONLY)
    assert int(spark.sparkContext._jsc.getPersistentRDDs().size()) == before + 1
    _release(kept)
    assert int(spark.sparkContext._jsc.getPersistentRDDs().size()) == before


def _sum_in_spark(spark: Any) -> Callable[[list[float]], float | None]:  # noqa: F811
    def total(values: list[float]) -> float | None:
        rows = ", ".join(f"({float(v)!r})" for v in values) or "(CAST(NULL AS DOUBLE))"
        expr = SparkDialect().exact_sum("x")
        got = spark.sql(f"SELECT {expr} AS s FROM VALUES {rows} AS t(x)").collect()[0][0]
        return None if got is None else float(got)

    return total


def test_the_monetary_sum_is_exactly_rounded_where_a_plain_sum_is_not(spark: Any) -> None:  # noqa: F811
    total = _sum_in_spark(spark)
    tenth = [0.1] * 10
    assert sum(tenth) == 0.9999999999999999  # a plain sum in row order (Spark's sum) is off by one unit
    assert total(tenth) == math.fsum(tenth) == 1.0
    lines = [1e15, 0.3, -1e15, 0.1, 0.2]  # a purchase and its cancellation around small lines
    assert sum(lines) != math.fsum(lines)
    assert total(lines) == math.fsum(lines)
    assert total([]) is None  # as sum(): no value, no total


money = st.builds(lambda qty, cents: qty * (cents / 100), st.integers(-50, 500), st.integers(1, 2_000_000))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.lists(money, min_size=1, max_size=40), st.randoms(use_true_random=False))
def test_the_monetary_sum_does_not_depend_on_row_order(spark: Any, values: list[float],  # noqa: F811
                                                       rnd: random.Random) -> None:
    """Line revenues as the plan has them (quantity x price in cents): the same total, bit for bit, in any row
    order, and equal to Python's exactly rounded math.fsum (the copies of a customer in a scaled data set, or
    two customers with the same lines, must fall on the same side of a quantile edge, as in pandas)."""
    total = _sum_in_spark(spark)
    shuffled = values[:]
    rnd.shuffle(shuffled)
    assert total(values) == total(shuffled) == math.fsum(values)


def test_spark_monetary_is_exact_and_equals_duckdb_whatever_the_row_order(spark: Any,  # noqa: F811
                                                                          tmp_path: Path) -> None:
    """Ten customers with the same ten 0.1 lines in shuffled row orders, and one with a single 1.0 line: Spark's
    monetary is math.fsum's 1.0 for all eleven (one score), bit for bit DuckDB's (compensated fsum) for every
    customer. A plain sum gives 0.9999999999999999 in row order, and in Spark's shuffle order it could give the
    copies different totals (10 m_scores differed from pandas at 10x)."""
    from rfm_core.engines.spark_engine import spark_customers_from_files

    rows = ["InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"]
    rnd = random.Random(7)
    lines = [(f"{c}{k:02d}", f"S{k}", 1, f"2011-0{1 + k % 9}-10 10:00", 0.1, c) for c in range(100, 110)
             for k in range(10)]
    rnd.shuffle(lines)
    lines += [("9001", "S0", 1, "2011-05-10 10:00", 1.0, 999)]
    lines += [(f"8{c}", "S1", 2, "2011-06-10 10:00", c / 10, 500 + c) for c in range(1, 40)]  # other spends
    rows += [f"{inv},{stock},{qty},{ts},{price},{cid},United Kingdom" for inv, stock, qty, ts, price, cid in lines]
    path = tmp_path / "tenths.csv"
    path.write_text("\n".join(rows) + "\n")
    got = spark_customers_from_files(str(path), session=spark).customers.set_index("customer_id")["monetary"]
    duck = duckdb_customers_from_files(str(path)).customers.set_index("customer_id")["monetary"]
    assert math.fsum([0.1] * 10) == 1.0
    assert all(got[str(c)] == 1.0 for c in [*range(100, 110), 999])
    assert got.to_dict() == duck.to_dict()
