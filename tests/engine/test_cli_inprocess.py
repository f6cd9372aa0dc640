"""The CLI's main() in-process (the subprocess tests prove exit codes and stderr; these reach every branch)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rfm_core.cli import main
from tests.conftest import HAND_CSV, SAMPLE


def test_segment_all_outputs_and_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["segment", str(SAMPLE), "--bins", "4", "--method", "rank", "--returns", "net", "--start", "2011-01-01",
            "--end", "2011-11-30", "--country", "United Kingdom", "--country", "Germany", "--dayfirst",
            "--as-of", "2011-12-01", "--out", str(tmp_path / "s.csv"), "--summary", str(tmp_path / "sum.csv"),
            "--xlsx", str(tmp_path / "b.xlsx"), "--report", str(tmp_path / "r.html"), "--ledger",
            str(tmp_path / "l.csv"), "--dropped", str(tmp_path / "d.csv")]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "as of 2011-12-01" in err
    seg = pd.read_csv(tmp_path / "s.csv")
    assert seg["r_score"].max() == 4 and set(seg["country"]) <= {"United Kingdom", "Germany"}
    ledger = pd.read_csv(tmp_path / "l.csv")
    assert ledger["rows"].sum() == len(pd.read_csv(SAMPLE))
    assert len(pd.read_csv(tmp_path / "d.csv")) == ledger.loc[~ledger["reason"].str.startswith("used"), "rows"].sum()
    assert json.loads((tmp_path / "s.csv.provenance.json").read_text())["as_of"] == "2011-12-01"


def test_keep_options_and_mapping(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "hand.csv"
    src.write_text(HAND_CSV.replace("CustomerID", "Client"))
    assert main(["segment", str(src), "--map", "customer_id=Client", "--keep-missing-customers",
                 "--keep-duplicates", "--keep-nonpositive-prices", "--monthfirst", "--out",
                 str(tmp_path / "o.csv")]) == 0
    assert "(unknown)" in set(pd.read_csv(tmp_path / "o.csv")["customer_id"])


@pytest.mark.parametrize("args", [
    ["segment", "nope.csv"],
    ["segment", str(SAMPLE), "--method", "thresholds"],
    ["segment", str(SAMPLE), "--edges", "recency=a,b"],
    ["segment", str(SAMPLE), "--map", "=x"],
    ["segment", str(SAMPLE), "--rules", "missing.toml"],
    ["segment", str(SAMPLE), "--engine", "duckdb", "--dropped", "d.csv"],
    ["segment", str(SAMPLE), "--engine", "duckdb", "--sheet", "x"],
    ["clv", str(SAMPLE), "--horizon-months", "0"],
], ids=["missing", "thresholds-without-edges", "bad-edges", "bad-map", "missing-rules", "duckdb-dropped",
        "duckdb-sheet", "clv-horizon"])
def test_errors_return_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")


def test_duckdb_engine_writes_report_and_workbook(tmp_path: Path) -> None:
    assert main(["segment", str(SAMPLE), "--engine", "duckdb", "--report", str(tmp_path / "r.html"), "--xlsx",
                 str(tmp_path / "b.xlsx"), "--summary", str(tmp_path / "s.csv")]) == 0
    assert "Plotly.newPlot" in (tmp_path / "r.html").read_text()


def test_rules_and_sample_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    assert "[[rule]]" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nname = "Everyone"\n[[rule]]\nname = "Never"\nr = [5, 5]\n')
    assert main(["rules", "--lint", str(bad)]) == 0
    out = capsys.readouterr()
    assert "never wins" in out.out and "1 problem" in out.err
    assert main(["sample", str(tmp_path / "s.csv"), "--customers", "20", "--seed", "3"]) == 0
    assert len(pd.read_csv(tmp_path / "s.csv")) > 20


def test_clv_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["clv", str(SAMPLE), "--calibration-end", "2011-09-09", "--holdout-out", str(tmp_path / "h.csv"),
                 "--time-unit", "D", "--out", str(tmp_path / "c.csv")]) == 0
    assert "per day" in capsys.readouterr().err
    assert set(pd.read_csv(tmp_path / "h.csv").columns) == {
        "frequency", "customers", "actual", "predicted_bgnbd", "predicted_mbgnbd", "predicted_pareto_nbd"}
    assert main(["clv", str(SAMPLE), "--calibration-end", "2011-09-09", "--model", "pareto", "--holdout-out",
                 str(tmp_path / "h1.csv")]) == 0
    err = capsys.readouterr().err
    assert "Pareto/NBD, chosen by the user" in err and "Pareto/NBD" in err.split("holdout")[1]
    assert set(pd.read_csv(tmp_path / "h1.csv").columns) == {"frequency", "customers", "actual",
                                                              "predicted_pareto_nbd"}


def test_backtest_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "rules.toml"
    assert main(["rules", "--out", str(rules)]) == 0
    assert main(["backtest", str(SAMPLE), "--at", "2011-11-20", "--window", "30", "--bins", "4", "--edges",
                 "recency=30,90,180", "--rules", str(rules), "--model", "bgnbd", "--out", str(tmp_path / "b.csv")]) == 0
    err = capsys.readouterr().err
    from rfm_core import analyze

    last = analyze(SAMPLE, warn=False).cleaned.transactions["invoice_date"].max().normalize()
    observed = (last - pd.Timestamp("2011-11-20")).days + 1  # Nov 20 to the last day with a used row, both included
    assert f"warning: The data end {observed} days into the 30-day window" in err
    assert "predicted_purchase_days_per_customer" in pd.read_csv(tmp_path / "b.csv").columns
    assert main(["backtest", str(SAMPLE), "--at", "2011-09-01", "--rules", str(tmp_path / "missing.toml")]) == 2


def test_unexpected_errors_are_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import rfm_core.cli as cli

    def boom(args: object) -> str:
        raise ZeroDivisionError("synthetic")

    monkeypatch.setattr(cli, "_rules", boom)
    assert main(["rules"]) == 3
    assert capsys.readouterr().err.startswith("error: internal error (ZeroDivisionError: synthetic)")


@pytest.mark.parametrize(("command", "name", "advice"), [
    ("segment", "y.xlsx", "Name it y.csv, or use --xlsx y.xlsx for the Excel workbook."),
    ("segment", "Y.XLSM", "Name it Y.csv, or use --xlsx Y.xlsx for the Excel workbook."),
    ("segment", "y.parquet", "Name it y.csv."),  # no workbook advice for a Parquet name
    ("clv", "c.xlsx", "Name it c.csv."),
    ("backtest", "b.xls", "Name it b.csv."),
])
def test_an_out_named_like_a_workbook_is_refused_before_any_work(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, name: str, advice: str) -> None:
    # An acceptance run: `segment book.xlsx --out y.xlsx` wrote CSV text under a name Excel cannot open, silently.
    out = tmp_path / name
    extra = ["--at", "2011-11-20"] if command == "backtest" else []
    assert main([command, str(SAMPLE), *extra, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --out writes a CSV file") and advice in err[0]
    assert not out.exists()
    assert main(["segment", str(SAMPLE), "--out", str(tmp_path / "fine.csv")]) == 0  # a .csv (or any other) is written


def test_backtest_offers_the_scoring_methods_and_default_of_segment() -> None:
    # backtest offered quantile/rank/thresholds (default quantile) under a help text describing auto and distinct
    from rfm_core.cli import _build_parser
    from rfm_core.settings import SCORING_METHODS

    parser = _build_parser()
    seg = parser.parse_args(["segment", "x.csv"])
    back = parser.parse_args(["backtest", "x.csv", "--at", "2011-11-20"])
    assert seg.method == back.method == "auto"
    for method in SCORING_METHODS:
        assert parser.parse_args(["backtest", "x.csv", "--at", "2011-11-20", "--method", method]).method == method
