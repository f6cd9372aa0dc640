"""pandas vs DuckDB vs Spark: identical recency, frequency, segments and ledgers; monetary to 1e-9 relative.

Spark runs in local mode. Its tests skip only when PySpark is not installed and CI is not set; under CI a missing
PySpark is a failure (.ci/run installs requirements-spark.txt through requirements-dev.txt).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfm_core import CleaningPolicy, RfmError, analyze, segment_customers
from rfm_core.engines import choose_engine
from rfm_core.engines.duckdb_engine import DuckDBAggregator, duckdb_customers_from_files
from rfm_core.sample import generate
from rfm_core.settings import AnalysisSettings
from tests.conftest import IN_CI, ROOT, SAMPLE

POLICIES = {
    "default": CleaningPolicy(),
    "net-returns": CleaningPolicy(returns="net"),
    "keep-everything": CleaningPolicy(drop_missing_customer=False, drop_duplicates=False,
                                      drop_nonpositive_price=False),
    "window-countries": CleaningPolicy(start=dt.date(2011, 3, 1), end=dt.date(2011, 10, 31),
                                       countries=("United Kingdom", "Germany", "France")),
}


@pytest.fixture(scope="module")
def parquet_dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """Three Parquet files (a folder and a glob) and the same rows as one file for the pandas engine."""
    folder = tmp_path_factory.mktemp("lake")
    parts = []
    for i, seed in enumerate((11, 12, 13)):
        part = generate(customers=300, seed=seed)
        part["InvoiceNo"] = part["InvoiceNo"].str.replace(r"^(C?)", rf"\g<1>{i}", regex=True)  # distinct invoices
        part.to_parquet(folder / f"part-{i}.parquet", index=False)
        parts.append(part)
    whole = folder.parent / f"{folder.name}-whole.parquet"
    pd.concat(parts, ignore_index=True).to_parquet(whole, index=False)
    return str(folder / "part-*.parquet"), whole


def assert_engines_equal(ref: pd.DataFrame, other: pd.DataFrame) -> None:
    assert other["customer_id"].tolist() == ref["customer_id"].tolist()
    assert (other["recency_days"].to_numpy() == ref["recency_days"].to_numpy()).all()
    assert (other["frequency"].to_numpy() == ref["frequency"].to_numpy()).all()
    assert (other["tenure_days"].to_numpy() == ref["tenure_days"].to_numpy()).all()
    np.testing.assert_allclose(other["monetary"].to_numpy(), ref["monetary"].to_numpy(), rtol=1e-9, atol=1e-9)
    seg_a = segment_customers(ref, warn=False).customers["segment"].astype(str).tolist()
    seg_b = segment_customers(other, warn=False).customers["segment"].astype(str).tolist()
    assert seg_a == seg_b


def assert_ledgers_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert a.set_index("reason")["rows"].to_dict() == b.set_index("reason")["rows"].to_dict()


@pytest.mark.parametrize("policy", POLICIES.values(), ids=POLICIES.keys())
def test_duckdb_files_equal_pandas_on_the_sample(policy: CleaningPolicy) -> None:
    ref = analyze(SAMPLE, AnalysisSettings(cleaning=policy), warn=False)
    got = duckdb_customers_from_files(str(SAMPLE), policy=policy)
    assert got.as_of == ref.as_of
    assert_engines_equal(ref.customers, got.customers)
    assert_ledgers_equal(ref.cleaned.ledger, got.ledger)


def test_duckdb_aggregator_equals_pandas_in_memory() -> None:
    ref = analyze(SAMPLE, AnalysisSettings(cleaning=CleaningPolicy(returns="net")), warn=False)
    got = DuckDBAggregator().customers(ref.cleaned.transactions, ref.as_of)
    assert_engines_equal(ref.customers, got)


def test_duckdb_reads_a_multi_file_parquet_glob(parquet_dataset: tuple[str, Path]) -> None:
    glob, whole = parquet_dataset
    ref = analyze(whole, warn=False)
    got = duckdb_customers_from_files(glob)
    assert got.input_rows == ref.cleaned.input_rows
    assert_engines_equal(ref.customers, got.customers)
    assert_ledgers_equal(ref.cleaned.ledger, got.ledger)
    folder = duckdb_customers_from_files(str(Path(glob).parent))
    assert_engines_equal(ref.customers, folder.customers)


def test_cli_engine_duckdb_and_auto(tmp_path: Path, parquet_dataset: tuple[str, Path]) -> None:
    glob, whole = parquet_dataset
    outs = {}
    for engine, src in (("pandas", str(whole)), ("duckdb", glob), ("auto", glob)):
        out = tmp_path / f"{engine}.csv"
        proc = subprocess.run([sys.executable, "-m", "rfm_core", "segment", src, "--engine", engine, "--out",
                               str(out), "--ledger", str(tmp_path / f"{engine}-ledger.csv")],
                              capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert proc.returncode == 0, proc.stderr
        outs[engine] = pd.read_csv(out, dtype={"customer_id": str})
    for engine in ("duckdb", "auto"):
        pd.testing.assert_frame_equal(outs[engine].drop(columns=["monetary", "avg_order_value"]),
                                      outs["pandas"].drop(columns=["monetary", "avg_order_value"]))
        np.testing.assert_allclose(outs[engine]["monetary"], outs["pandas"]["monetary"], rtol=1e-9)


def test_choose_engine() -> None:
    assert choose_engine([str(SAMPLE)]) == "pandas"  # a small CSV stays with pandas whatever the memory
    assert choose_engine([str(SAMPLE)], available_bytes=10_000_000) == "pandas"
    assert choose_engine(["a.parquet", "b.parquet"]) == "duckdb"


@pytest.mark.parametrize(("change", "engine", "why"), [
    (None, "duckdb", "plain CSV"),
    ("semicolon", "pandas", "';'-delimited"),
    ("decimal-comma", "pandas", "';'-delimited"),
    ("dayfirst", "pandas", "its dates are"),
    ("title-lines", "pandas", "header is on line 3"),
    ("cp1252-late", "pandas", "not UTF-8"),
    ("comma-late", "pandas", "only the pandas reader reads"),
])
def test_auto_takes_duckdb_only_for_plain_csv_and_gives_what_pandas_gives(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str | None, engine: str, why: str) -> None:
    """``--engine auto`` on a CSV over the size threshold: DuckDB for a plain file, pandas for a file that needs the
    pandas reader (decided on the sample, or while DuckDB runs); the customers and ledger are pandas' either way."""
    import rfm_core.engines as engines
    from rfm_core.engines import engine_choice, run_auto

    monkeypatch.setattr(engines, "AUTO_CSV_BYTES", 1)  # the sample's size stands for 100 MB
    monkeypatch.setattr(engines, "SAMPLE_BYTES", 16_384)  # so that "later lines" lie beyond the sample
    frame = generate(customers=120, seed=5)
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"]).dt.strftime("%Y-%m-%d %H:%M:%S")
    path = tmp_path / "big.csv"
    if change == "semicolon":
        frame.to_csv(path, index=False, sep=";")
    elif change == "decimal-comma":
        frame.to_csv(path, index=False, sep=";", decimal=",")
    elif change == "dayfirst":
        frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"]).dt.strftime("%d/%m/%Y %H:%M")
        frame.to_csv(path, index=False)
    elif change == "title-lines":
        path.write_text("Sales export\nShop: Example\n" + frame.to_csv(index=False), encoding="utf-8")
    elif change == "cp1252-late":  # the sampled start is plain UTF-8; one line far below is Windows-1252
        text = frame.to_csv(index=False).encode("utf-8")
        path.write_bytes(text + b"X1,A1,Caf\xe9 cr\xe8me,1,2011-12-09 10:00:00,1.5,99999,France\n")
    elif change == "comma-late":  # quoted decimal commas only after the sampled start
        head = frame.to_csv(index=False)
        tail = frame.iloc[:300].copy()
        tail["InvoiceNo"] = "Z" + tail["InvoiceNo"].astype(str)
        tail["UnitPrice"] = tail["UnitPrice"].map(lambda v: f"{v:.2f}".replace(".", ","))
        path.write_text(head + tail.to_csv(index=False, header=False), encoding="utf-8")
    else:
        frame.to_csv(path, index=False)
    choice = engine_choice([str(path)])
    result, choice = run_auto(str(path), choice)
    assert choice.engine == engine, choice
    assert why in choice.reason
    ref = analyze(path, warn=False)
    if engine == "duckdb":
        assert result is not None
        assert_engines_equal(ref.customers, result.customers)
        assert_ledgers_equal(ref.cleaned.ledger, result.ledger)
    else:
        assert result is None


@pytest.mark.parametrize("entry", ["cli", "analyze"])
def test_auto_hands_a_late_decimal_comma_file_to_pandas_end_to_end(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], entry: str) -> None:
    """The command line and ``analyze(engine="auto")`` themselves fall back, not only :func:`run_auto`: 300 lines
    past the sampled start write their unit price with a decimal comma (all 300: every price has two decimals);
    DuckDB would file them as unreadable, pandas reads them. The answer is the pandas engine's, and it is said."""
    import rfm_core.engines as engines
    from rfm_core.cli import main

    monkeypatch.setattr(engines, "AUTO_CSV_BYTES", 1)
    monkeypatch.setattr(engines, "SAMPLE_BYTES", 16_384)
    frame = generate(customers=120, seed=5)
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"]).dt.strftime("%Y-%m-%d %H:%M:%S")
    tail = frame.iloc[:300].copy()
    tail["InvoiceNo"] = "Z" + tail["InvoiceNo"].astype(str)
    tail["UnitPrice"] = tail["UnitPrice"].map(lambda v: f"{v:.2f}".replace(".", ","))
    path = tmp_path / "big.csv"
    path.write_text(frame.to_csv(index=False) + tail.to_csv(index=False, header=False), encoding="utf-8")
    ref = analyze(path, engine="pandas", warn=False)
    said = ("Read with pandas, not DuckDB: 300 line(s) hold a date or number in a format only the pandas reader "
            "reads.")
    if entry == "cli":
        out = tmp_path / "seg.csv"
        assert main(["segment", str(path), "--engine", "auto", "--out", str(out)]) == 0
        err = capsys.readouterr().err.splitlines()
        assert err[0].startswith("engine: duckdb (auto: ")
        assert f"read: {said}" in err
        by_pandas = tmp_path / "seg-pandas.csv"
        assert main(["segment", str(path), "--engine", "pandas", "--out", str(by_pandas)]) == 0
        assert out.read_bytes() == by_pandas.read_bytes()
    else:
        result = analyze(str(path), engine="auto", warn=False)
        assert result.engine == "pandas" and result.notes[0] == said and result.guesses[0] == said
        assert_engines_equal(ref.customers, result.customers)
        assert_ledgers_equal(ref.cleaned.ledger, result.ledger)


# ------------------------------------------------------------------------------------------------------ spark

def _have_pyspark() -> bool:
    return importlib.util.find_spec("pyspark") is not None


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    if not _have_pyspark():
        if IN_CI:
            pytest.fail("PySpark is not installed; CI installs it from requirements-spark.txt")
        pytest.skip("PySpark is not installed: pip install -r requirements-spark.txt (needs Java 17)")
    from rfm_core.engines.spark_engine import java_available, spark_session

    if not java_available():
        if IN_CI:
            pytest.fail("Java is not installed; CI must install Java 17 (.ci/run does on Debian)")
        pytest.skip("the Spark tests need Java 17: apt-get install -y openjdk-17-jre-headless (or set JAVA_HOME)")
    session = spark_session("local[2]")
    yield session
    session.stop()


def _spark_run(spark: Any) -> Callable[..., Any]:
    from rfm_core.engines.spark_engine import spark_customers_from_files

    def run(spec: str, policy: CleaningPolicy | None = None) -> Any:
        return spark_customers_from_files(spec, policy=policy, session=spark)

    return run


@pytest.mark.slow
@pytest.mark.parametrize("policy", POLICIES.values(), ids=POLICIES.keys())
def test_spark_equals_pandas_on_the_sample(spark: Any, policy: CleaningPolicy) -> None:
    ref = analyze(SAMPLE, AnalysisSettings(cleaning=policy), warn=False)
    got = _spark_run(spark)(str(SAMPLE), policy)
    assert got.as_of == ref.as_of
    assert_engines_equal(ref.customers, got.customers)
    assert_ledgers_equal(ref.cleaned.ledger, got.ledger)


@pytest.mark.slow
def test_spark_equals_pandas_and_duckdb_on_a_parquet_lake(spark: Any, parquet_dataset: tuple[str, Path]) -> None:
    glob, whole = parquet_dataset
    ref = analyze(whole, warn=False)
    got = _spark_run(spark)(glob)
    duck = duckdb_customers_from_files(glob)
    assert_engines_equal(ref.customers, got.customers)
    assert_engines_equal(duck.customers, got.customers)
    assert_ledgers_equal(ref.cleaned.ledger, got.ledger)


@pytest.mark.slow
def test_spark_reads_uris_with_a_scheme(spark: Any, parquet_dataset: tuple[str, Path]) -> None:
    glob, whole = parquet_dataset
    got = _spark_run(spark)(Path(glob).parent.as_uri() + "/part-*.parquet")  # file:///... goes to Spark as is
    assert_engines_equal(analyze(whole, warn=False).customers, got.customers)


NON_FINITE = ("InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n1,A,2011-01-01,1,2\n2,A,2011-01-02,inf,2\n"
              "3,B,2011-01-03,1,nan\n4,B,2011-01-04,2,1e308\n5,C,2011-01-05,-inf,1\n6,C,2011-01-06,3,1.5\n")


def test_non_finite_numbers_are_not_numbers_in_every_engine(tmp_path: Path) -> None:
    path = tmp_path / "nonfinite.csv"
    path.write_text(NON_FINITE)
    ref = analyze(path, warn=False)
    ledger = ref.cleaned.ledger.set_index("reason")["rows"]
    assert ledger["quantity, price or amount missing or not a number"] == 4  # inf, nan, 2 x 1e308, -inf
    assert np.isfinite(ref.customers["monetary"]).all()
    got = duckdb_customers_from_files(str(path))
    assert_ledgers_equal(ref.cleaned.ledger, got.ledger)
    assert_engines_equal(ref.customers, got.customers)


@pytest.mark.slow
def test_non_finite_numbers_in_spark(spark: Any, tmp_path: Path) -> None:
    path = tmp_path / "nonfinite.csv"
    path.write_text(NON_FINITE)
    ref = analyze(path, warn=False)
    got = _spark_run(spark)(str(path))
    assert_ledgers_equal(ref.cleaned.ledger, got.ledger)
    assert_engines_equal(ref.customers, got.customers)


# Every generic order rule at once (DOCUMENTATION §4a): a cancellation by number (C700001 names 700001, cancelled
# in full), by stock code (C700009 -> 700003, partly), one written with positive quantities (C700004), a C + number
# sale naming nothing (C799999), store prefixes (CA-1, CA-2), a zero-value purchase (quantity 0), a return on its own
# invoice (700006), an unmatched return (C700010, stock K9), and a Line Total that is quantity x price with a discount.
ORDER_RULES = """InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
700001,K1,2,2011-03-01 10:00,5.00,1,United Kingdom
C700001,K1,-2,2011-03-02 10:00,5.00,1,United Kingdom
700002,K2,1,2011-03-03 10:00,8.00,1,United Kingdom
700003,K1,4,2011-03-04 10:00,5.00,2,Germany
700003,K3,1,2011-03-04 10:00,2.50,2,Germany
C700009,K1,-1,2011-03-05 10:00,5.00,2,Germany
700004,K4,3,2011-03-05 11:00,2.00,3,France
C700004,K4,3,2011-03-06 11:00,2.00,3,France
700005,K5,1,2011-03-06 12:00,9.00,3,France
C799999,K6,1,2011-03-07 12:00,4.00,4,United Kingdom
CA-1,K7,2,2011-03-08 12:00,3.00,4,United Kingdom
CA-2,K7,0,2011-03-09 12:00,3.00,5,United Kingdom
700006,K8,2,2011-03-10 12:00,6.00,5,United Kingdom
700006,K8,-2,2011-03-10 12:00,6.00,5,United Kingdom
C700010,K9,-1,2011-03-11 12:00,1.00,4,United Kingdom
"""


@pytest.fixture(scope="module")
def order_rules_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "order_rules.csv"
    path.write_text(ORDER_RULES)
    return path


@pytest.mark.parametrize("policy", POLICIES.values(), ids=POLICIES.keys())
def test_duckdb_equals_pandas_on_every_order_rule(order_rules_csv: Path, policy: CleaningPolicy) -> None:
    ref = analyze(order_rules_csv, AnalysisSettings(cleaning=policy), warn=False)
    got = duckdb_customers_from_files(str(order_rules_csv), policy=policy)
    assert got.as_of == ref.as_of
    assert_engines_equal(ref.customers, got.customers)
    assert_ledgers_equal(ref.cleaned.ledger, got.ledger)
    # by hand: the latest purchase is CA-2 on 03-09 (700006 on 03-10 is cancelled in full; C700010 on 03-11 is a
    # return, which never moves the analysis date, netted or not)
    assert ref.as_of == dt.date(2011, 3, 10)
    assert "order cancelled in full" in got.ledger["reason"].tolist()


@pytest.mark.slow
@pytest.mark.parametrize("policy", POLICIES.values(), ids=POLICIES.keys())
def test_spark_equals_pandas_on_every_order_rule(spark: Any, order_rules_csv: Path, policy: CleaningPolicy) -> None:
    ref = analyze(order_rules_csv, AnalysisSettings(cleaning=policy), warn=False)
    got = _spark_run(spark)(str(order_rules_csv), policy)
    assert_engines_equal(ref.customers, got.customers)
    assert_ledgers_equal(ref.cleaned.ledger, got.ledger)


@pytest.mark.slow
def test_spark_uses_line_values_over_an_order_total_and_refuses_platforms(spark: Any, tmp_path: Path) -> None:
    from rfm_core import RfmError
    from rfm_core.engines.spark_engine import spark_customers_from_files

    case06 = ROOT / "tests" / "cases" / "06-order-total-on-every-line" / "input.csv"
    mapping = {"unit_price": "Item Cost"}
    ref = analyze(case06, AnalysisSettings(mapping=mapping), warn=False)
    got = spark_customers_from_files(str(case06), mapping, session=spark)
    assert_engines_equal(ref.customers, got.customers)
    assert got.customers["monetary"].round(2).tolist() == [37.0, 15.0, 39.0]  # by hand: tests/engine/test_orders.py
    with pytest.raises(RfmError, match="order total"):
        spark_customers_from_files(str(case06), session=spark)
    shopify = tmp_path / "shopify.csv"
    shopify.write_text("Name,Email,Financial Status,Created at,Lineitem quantity,Lineitem price\n"
                       "#1,a@example.com,paid,2024-01-01 10:00:00 +0000,1,5.00\n")
    with pytest.raises(RfmError, match="Shopify orders export"):
        spark_customers_from_files(str(shopify), session=spark)


def test_every_engine_refuses_an_analysis_date_before_the_last_purchase() -> None:
    from rfm_core import RfmError

    with pytest.raises(RfmError, match="before the latest purchase"):
        analyze(SAMPLE, AnalysisSettings(as_of=dt.date(2011, 6, 1)), warn=False)
    with pytest.raises(RfmError, match="before the latest purchase"):
        duckdb_customers_from_files(str(SAMPLE), as_of=dt.date(2011, 6, 1))


@pytest.mark.slow
def test_a_spark_read_error_is_one_line(spark: Any) -> None:
    from rfm_core.engines.spark_engine import spark_log_path

    with pytest.raises(RfmError) as caught:
        _spark_run(spark)("file:///nonexistent-rfm-folder/part-*.parquet")
    message = str(caught.value)
    assert "\n" not in message and "Spark failed while reading" in message
    assert "nonexistent-rfm-folder" in message and str(spark_log_path()) in message


_DUPLICATES_CSV = """InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
1001,S1,Mug,2,2011-01-05 10:00:00,3.0,1,United Kingdom
1001,S1,Mug,2,2011-01-05 10:00:00,3.0,1,United Kingdom
1001,S1,Mug,2,2011-01-05 10:00:00,3.0,1,United Kingdom
1001,S1,Mug (red),2,2011-01-05 10:00:00,3.0,1,United Kingdom
1002,S2,Cup,1,2011-02-01 09:00:00,5.0,2,United Kingdom
1003,S3,Pen,1,2011-02-02 09:00:00,1.0,,United Kingdom
1003,S3,Pen,1,2011-02-02 09:00:00,1.0,,United Kingdom
1004,S4,,1,2011-02-03 09:00:00,2.0,2,
1004,S4,,1,2011-02-03 09:00:00,2.0,2,
"""


@pytest.mark.parametrize("drop_duplicates", [True, False])
def test_duplicates_by_row_hash_match_the_hand_count(tmp_path: Path, drop_duplicates: bool) -> None:
    """Exact duplicates are lines equal in every original column, the unmapped description included, and with
    empty cells in the same places. By hand: three copies of the mug line (two are duplicates), the red mug differs
    only in its description (used), two copies of a line without a customer (both filed under that earlier reason),
    two copies of a line with empty description and country (one duplicate). Customer 1: one order, 2 x 3.0 twice
    = 12.0 (24.0 when duplicates are kept); customer 2: two orders, 5.0 + 2.0 = 7.0 (9.0 kept)."""
    path = tmp_path / "dups.csv"
    path.write_text(_DUPLICATES_CSV, encoding="utf-8")
    policy = CleaningPolicy(drop_duplicates=drop_duplicates)
    want = ({"used": 4, "no customer id": 2, "exact duplicate line": 3} if drop_duplicates
            else {"used": 7, "no customer id": 2})
    money = {"1": 12.0, "2": 7.0} if drop_duplicates else {"1": 24.0, "2": 9.0}
    ref = analyze(path, AnalysisSettings(cleaning=policy), warn=False)
    got = duckdb_customers_from_files(str(path), policy=policy)
    for result_ledger, customers in ((ref.cleaned.ledger, ref.customers), (got.ledger, got.customers)):
        assert result_ledger.set_index("reason")["rows"].to_dict() == want
        assert dict(zip(customers["customer_id"], customers["monetary"], strict=True)) == pytest.approx(money)
        assert customers.set_index("customer_id")["frequency"].to_dict() == {"1": 1, "2": 2}


_LAYOUTS = {
    # layout: (files, the row identity the plan must use: a table's rowid, a Parquet file's index and row, none)
    "csv": ("csv", "rowid"),
    "parquet": ("parquet", "file_row_number"),
    "parquet, copies split over two files": ("parquet2", "file_row_number"),
    "csv whose stock-code column is named rowid": ("csv-rowid", None),
    "parquet with a column named file_index": ("parquet-file_index", None),
}


@pytest.mark.parametrize("layout", list(_LAYOUTS))
def test_duckdb_duplicates_by_row_identity_in_every_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           layout: str) -> None:
    """The same hand count as above (customer 1: 12.0 from one order; customer 2: 7.0 from two; 4 used, 2 without a
    customer, 3 exact duplicates) whichever way DuckDB tells a duplicate's copies apart: by the loaded CSV table's
    row id, by a Parquet line's file and row number (copies in different files included), or, when a column of
    the file hides those names, by the grouping of the duplicated lines."""
    import io

    import rfm_core.engines.duckdb_engine as engine

    kind, want_row_id = _LAYOUTS[layout]
    frame = pd.read_csv(io.StringIO(_DUPLICATES_CSV), dtype=str, keep_default_na=False).replace("", None)
    mapping: dict[str, str | None] = {}
    if kind == "csv-rowid":
        frame = frame.rename(columns={"StockCode": "rowid"})
        mapping = {"stock_code": "rowid"}
    if kind == "parquet-file_index":
        frame = frame.rename(columns={"Description": "file_index"})
    if kind.startswith("csv"):
        frame.to_csv(tmp_path / "dups.csv", index=False)
        spec = str(tmp_path / "dups.csv")
    elif kind == "parquet2":  # the three mug copies: two in the first file, one in the second
        frame.iloc[::2].to_parquet(tmp_path / "a.parquet", index=False)
        frame.iloc[1::2].to_parquet(tmp_path / "b.parquet", index=False)
        spec = str(tmp_path / "*.parquet")
    else:
        frame.to_parquet(tmp_path / "dups.parquet", index=False)
        spec = str(tmp_path / "dups.parquet")
    plans: list[Any] = []
    real = engine.SqlPlan

    def recorded(*args: Any, **kwargs: Any) -> Any:
        plans.append(real(*args, **kwargs))
        return plans[-1]

    monkeypatch.setattr(engine, "SqlPlan", recorded)
    got = duckdb_customers_from_files(spec, mapping)
    assert len(plans) == 1
    if want_row_id is None:
        assert plans[0].row_id is None
    else:
        assert want_row_id in plans[0].row_id
    assert got.ledger.set_index("reason")["rows"].to_dict() == {"used": 4, "no customer id": 2,
                                                               "exact duplicate line": 3}
    customers = got.customers.set_index("customer_id")
    assert customers["monetary"].to_dict() == pytest.approx({"1": 12.0, "2": 7.0})
    assert customers["frequency"].to_dict() == {"1": 1, "2": 2}


def test_duckdb_resources_come_from_the_machine_unless_given(monkeypatch: pytest.MonkeyPatch) -> None:
    """1/16 of physical memory (capped at a quarter of what is free, at least 256 MB) and one thread per core;
    the environment and the arguments override them."""
    import os
    from types import SimpleNamespace

    import psutil

    from rfm_core.engines.duckdb_engine import MEMORY_ENV, THREADS_ENV, duckdb_resources

    monkeypatch.delenv(MEMORY_ENV, raising=False)
    monkeypatch.delenv(THREADS_ENV, raising=False)
    gib = 2**30
    monkeypatch.setattr(psutil, "virtual_memory", lambda: SimpleNamespace(total=24 * gib, available=20 * gib))
    assert duckdb_resources() == ("1536MB", os.cpu_count() or 2)  # 24 GiB / 16
    monkeypatch.setattr(psutil, "virtual_memory", lambda: SimpleNamespace(total=24 * gib, available=2 * gib))
    assert duckdb_resources()[0] == "512MB"  # a quarter of the 2 GiB free
    monkeypatch.setattr(psutil, "virtual_memory", lambda: SimpleNamespace(total=2 * gib, available=gib // 2))
    assert duckdb_resources()[0] == "256MB"  # the floor
    monkeypatch.setenv(MEMORY_ENV, "3GB")
    monkeypatch.setenv(THREADS_ENV, "1")
    assert duckdb_resources() == ("3GB", 1)
    assert duckdb_resources("700MB", 3) == ("700MB", 3)


_DATES = ("2010-12-01 ", "12/1/2010 ", "2010-12-01T", "1.12.2010 ", "")
_TIMES = ("8:26", "08:26:00", "08:26:00.123", "08:26:00,5", "")
_ZONES = ("", "Z", "z", "UTC", "utc", "GMT", "Gmt", "+13:00", "-04:00", "-0400", "+05", "+0530", "-11", "CET", "+1")


@given(st.lists(st.one_of(
    st.builds(lambda lead, d, t, sp, z, trail: f"{lead}{d}{t}{sp}{z}{trail}", st.sampled_from(["", " "]),
              st.sampled_from(_DATES), st.sampled_from(_TIMES), st.sampled_from(["", " ", "  "]),
              st.sampled_from(_ZONES), st.sampled_from(["", " "])),
    st.text(alphabet="0123456789:-+ .,/TZUCGMztucgm", max_size=24)), min_size=1, max_size=40))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_sql_time_zone_offset_is_the_pandas_readers(values: list[str]) -> None:
    """The plan's offset (minutes east of UTC after a time; the cheap LIKE guard in front of the regular
    expression included) equals the pandas reader's own rule, :data:`rfm_core.mapping._OFFSET_RE2` read by
    :func:`rfm_core.mapping._offset_minutes`, on timestamps with and without every kind of zone and on noise."""
    import re

    import duckdb

    from rfm_core.engines.sqlplan import Dialect, SqlPlan
    from rfm_core.mapping import _OFFSET_RE2, _offset_minutes

    plan = SqlPlan("t", ("d",), frozenset({"d"}), {"invoice_date": "d"}, CleaningPolicy(), Dialect())
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE t (i INTEGER, d VARCHAR)")
        con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
        got = dict(con.sql(f"SELECT i, {plan._offset()} FROM t").fetchall())
    finally:
        con.close()
    for i, value in enumerate(values):
        found = re.search(_OFFSET_RE2, value)
        want = _offset_minutes(found["zone"]) if found else None
        assert got[i] == want, (value, got[i], want)


def _float_id_lines(ids: list[float]) -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame({
        "InvoiceNo": [str(536000 + i) for i in range(n)], "StockCode": ["85123A"] * n, "Quantity": range(1, n + 1),
        "InvoiceDate": pd.date_range("2011-01-01 10:00", periods=n, freq="D"), "UnitPrice": [1.5] * n,
        "CustomerID": ids, "Country": ["United Kingdom"] * n})


#: Ids stored as doubles, with the hand count: NaN of either sign is missing ("no customer id"); a whole id is one
#: customer, its text without ".0"; zero of either sign is the customer "0" (pandas: str(int(-0.0)) == "0"; the SQL
#: plan wrote "-0", a second customer). Monetary: unit price 1.5 x the quantity, which is the line's position.
FLOAT_ID_CASES = [
    # 12346.0 on lines 1, 3, 5 (1.5 x 9 = 13.5), 17850.0 on line 2 (3.0), NaN and -NaN on lines 4 and 6
    ([12346.0, 17850.0, 12346.0, float("nan"), 12346.0, -float("nan")], {"used": 4, "no customer id": 2},
     {"12346": (3, 13.5), "17850": (1, 3.0)}),
    # 0.0 and -0.0: one customer "0" with two orders (1.5 + 3.0); -5.0 is "-5"; 2.5 keeps its fraction
    ([0.0, -0.0, -5.0, 2.5], {"used": 4}, {"0": (2, 4.5), "-5": (1, 4.5), "2.5": (1, 6.0)}),
]


@pytest.mark.parametrize(("ids", "ledger", "want"), FLOAT_ID_CASES)
def test_float_ids_are_the_customers_pandas_makes(tmp_path: Path, ids: list[float], ledger: dict[str, int],
                                                  want: dict[str, tuple[int, float]]) -> None:
    path = tmp_path / "float_ids.parquet"
    _float_id_lines(ids).to_parquet(path, index=False)
    ref = analyze(path, warn=False)
    got = duckdb_customers_from_files(str(path))
    for rows, customers in ((ref.cleaned.ledger, ref.customers), (got.ledger, got.customers)):
        assert rows.set_index("reason")["rows"].to_dict() == ledger
        by_id = customers.set_index("customer_id")
        # sums of multiples of 1.5: exact in binary, whatever the order of addition
        assert {c: (int(by_id.loc[c, "frequency"]), float(by_id.loc[c, "monetary"])) for c in by_id.index} == want


@pytest.mark.slow
@pytest.mark.parametrize(("ids", "ledger", "want"), FLOAT_ID_CASES)
def test_spark_float_ids_are_the_customers_pandas_makes(tmp_path: Path, spark: Any, ids: list[float],
                                                        ledger: dict[str, int],
                                                        want: dict[str, tuple[int, float]]) -> None:
    from rfm_core.engines.spark_engine import spark_customers_from_files

    path = tmp_path / "float_ids.parquet"
    _float_id_lines(ids).to_parquet(path, index=False)
    got = spark_customers_from_files(str(path), session=spark)
    assert got.ledger.set_index("reason")["rows"].to_dict() == ledger
    by_id = got.customers.set_index("customer_id")
    assert {c: (int(by_id.loc[c, "frequency"]), float(by_id.loc[c, "monetary"])) for c in by_id.index} == want
