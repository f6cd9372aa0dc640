"""One pipeline for every engine: ``analyze(source, engine=...)`` returns one result type, the CLI calls it once,
"rows used" has one definition and provenance one builder.

Hand computation (the 11-line file in tests/conftest.py, ``HAND_CSV``): with ``returns="net"`` the C-invoice line
C1003 (A, -1 x 20.00) is used and netted, so 5 + 1 = 6 rows are used (the default counts 5) and A's monetary is
2x5 + 1x3 + 20 - 20 = 13.00; B 10.00, C 7.00. The analysis date stays the day after the last *purchase*,
2024-01-21.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from rfm_core import CleaningPolicy, ConfigError, analyze
from rfm_core.cli import main
from rfm_core.pipeline import ENGINES, AnalysisResult, resolve_engine
from rfm_core.settings import AnalysisSettings
from tests.engine.test_engines import spark  # noqa: F401  (the session fixture: skips without PySpark or Java)

NET = AnalysisSettings(cleaning=CleaningPolicy(returns="net"))
RFM = ["customer_id", "recency_days", "frequency", "monetary"]


@pytest.fixture
def hand_file(tmp_path: Path, hand_csv: bytes) -> Path:
    path = tmp_path / "hand.csv"
    path.write_bytes(hand_csv)
    return path


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_every_engine_returns_one_result_type_with_the_hand_figures(hand_file: Path, engine: str) -> None:
    result = analyze(str(hand_file), NET, engine=engine, warn=False)
    assert isinstance(result, AnalysisResult)
    assert result.engine == engine
    assert result.input_rows == 11 and result.rows_used == 6
    assert result.as_of == dt.date(2024, 1, 21)
    got = result.customers[RFM].sort_values("customer_id").reset_index(drop=True)
    expected = pd.DataFrame({"customer_id": ["A", "B", "C"], "recency_days": [11, 16, 1], "frequency": [2, 1, 1],
                             "monetary": [13.0, 10.0, 7.0]})
    assert_frame_equal(got, expected, check_dtype=False)
    assert result.mapping["customer_id"] == "CustomerID" and result.mapping["invoice_id"] == "InvoiceNo"
    prov = result.provenance()
    assert prov["engine"] == engine and prov["input_rows"] == 11 and prov["customers"] == 3
    assert prov["input_name"].endswith("hand.csv")
    import hashlib

    assert prov["input_sha256"] == hashlib.sha256(hand_file.read_bytes()).hexdigest()


def test_only_pandas_fills_the_in_memory_stages(hand_file: Path) -> None:
    pandas = analyze(str(hand_file), warn=False)
    duck = analyze(str(hand_file), engine="duckdb", warn=False)
    assert pandas.raw is not None and pandas.mapped is not None and pandas.cleaned is not None
    assert len(pandas.dropped_rows()) == 11 - 5
    assert duck.raw is None and duck.mapped is None and duck.cleaned is None and duck.transactions is None
    with pytest.raises(ConfigError, match="duckdb engine"):
        duck.dropped_rows()
    with pytest.raises(ConfigError, match="only the pandas engine loads"):
        duck.require_transactions("Lifetime value")
    assert duck.reading["engine"] == "duckdb"
    assert duck.reading["mapping"]["customer_id"] == {"column": "CustomerID", "chosen_by": "detection (headers only)"}


def test_bytes_go_to_the_file_engines_through_a_temporary_file(hand_csv: bytes) -> None:
    result = analyze(hand_csv, name="shop.csv", engine="duckdb", warn=False)
    assert result.input_name == "shop.csv" and result.engine == "duckdb"
    assert result.customers["frequency"].tolist() == [2, 1, 1]  # A, B, C as by hand


def test_auto_resolves_before_running(hand_file: Path, hand_csv: bytes) -> None:
    assert resolve_engine("auto", hand_csv) == "pandas"  # already in memory
    assert resolve_engine("auto", str(hand_file)) == "pandas"  # 1 KB: far below half of any machine's memory
    assert resolve_engine("duckdb", hand_csv) == "duckdb"
    assert set(ENGINES) == {"pandas", "duckdb", "spark", "auto"}
    with pytest.raises(ConfigError, match="Unknown engine 'polars'"):
        resolve_engine("polars", str(hand_file))


def test_pandas_refuses_a_glob_of_several_files_and_file_engines_refuse_sheets(tmp_path: Path,
                                                                              hand_csv: bytes) -> None:
    for i in range(2):
        (tmp_path / f"part{i}.csv").write_bytes(hand_csv)
    with pytest.raises(ConfigError, match="matches 2 files"):
        analyze(str(tmp_path / "part*.csv"))
    one = analyze(str(tmp_path / "part0*.csv"), warn=False)  # a glob of one file is that file
    assert one.input_rows == 11
    with pytest.raises(ConfigError, match="only the pandas engine reads"):
        analyze(str(tmp_path / "part0.csv"), AnalysisSettings(read=NET.read.__class__(sheet="x")), engine="duckdb")


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_cli_summary_counts_netted_returns_as_used(hand_file: Path, engine: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's bug: the CLI counted only ``== "used"`` and said 5 used with --returns net."""
    assert main(["segment", str(hand_file), "--returns", "net", "--engine", engine]) == 0
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "3 customers" in last and "from 11 rows (6 used)" in last and "as of 2024-01-21" in last


@pytest.mark.slow
def test_spark_through_analyze_and_the_cli(spark: object, hand_file: Path,  # noqa: F811
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """The same hand figures from Spark (local mode), through the one pipeline and the CLI."""
    result = analyze(str(hand_file), NET, engine="spark", spark_master="local[2]", warn=False)
    assert result.engine == "spark" and result.cleaned is None
    assert (result.input_rows, result.rows_used, result.as_of) == (11, 6, dt.date(2024, 1, 21))
    got = result.customers[RFM].sort_values("customer_id").reset_index(drop=True)
    assert got["monetary"].tolist() == [13.0, 10.0, 7.0] and got["frequency"].tolist() == [2, 1, 1]
    assert result.provenance()["engine"] == "spark"
    assert main(["segment", str(hand_file), "--returns", "net", "--engine", "spark", "--spark-master",
                 "local[2]"]) == 0
    assert "from 11 rows (6 used)" in capsys.readouterr().err.strip().splitlines()[-1]


def test_the_app_path_and_the_pipeline_record_the_same_provenance(hand_csv: bytes) -> None:
    """The Export page composes the stages itself (read, map, clean, aggregate, segment: what pages/common.py
    caches) and calls analysis_provenance; the CLI calls analyze().provenance(). Same input, same settings: the
    same record, apart from the creation time."""
    import rfm_core as rfm
    from rfm_core.pipeline import analysis_provenance

    settings = AnalysisSettings(cleaning=CleaningPolicy(returns="net"))
    raw = rfm.read_table(hand_csv, "hand.csv", settings.read)
    mapped = rfm.apply_mapping(raw, dict(settings.mapping), settings.cleaning.dayfirst)
    cleaned = rfm.clean(mapped, settings.cleaning)
    customers = rfm.aggregate(cleaned.transactions)
    seg = rfm.segment_customers(customers, settings.scoring, warn=False)
    as_of = dt.date(2024, 1, 21)  # the day after the last used purchase, by hand (module docstring)
    app = analysis_provenance(input_name="hand.csv", input_sha256=raw.sha256, input_rows=cleaned.input_rows,
                              settings=settings, segmentation=seg, as_of=as_of, reading=mapped.reading)
    cli = analyze(hand_csv, settings, name="hand.csv", warn=False).provenance()
    app.pop("created")
    cli.pop("created")
    assert app == cli
    assert cli["engine"] == "pandas" and cli["input_rows"] == 11 and cli["as_of"] == "2024-01-21"
