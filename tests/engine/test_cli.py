"""The command line, as a user runs it: a real subprocess, exit codes, files and one-line messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from tests.conftest import HAND_CSV, ROOT, SAMPLE


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rfm_core", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def test_segment_writes_every_output(tmp_path: Path) -> None:
    src = tmp_path / "hand.csv"
    src.write_text(HAND_CSV)
    out = tmp_path / "seg.csv"
    proc = run("segment", str(src), "--out", str(out), "--ledger", str(tmp_path / "ledger.csv"),
               "--xlsx", str(tmp_path / "b.xlsx"), "--report", str(tmp_path / "r.html"),
               "--summary", str(tmp_path / "s.csv"), "--dropped", str(tmp_path / "d.csv"))
    assert proc.returncode == 0, proc.stderr
    assert "3 customers" in proc.stderr and "Traceback" not in proc.stderr
    seg = pd.read_csv(out, dtype={"customer_id": str})
    assert {"customer_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "rfm_score",
            "segment"} <= set(seg.columns)
    assert seg["customer_id"].tolist() == ["A", "B", "C"]
    ledger = pd.read_csv(tmp_path / "ledger.csv")
    assert list(ledger.columns[:2]) == ["reason", "rows"] and ledger["rows"].sum() == 11
    assert ledger.loc[ledger["reason"] == "used", "rows"].item() == 5
    assert len(pd.read_csv(tmp_path / "d.csv")) == 6
    assert (tmp_path / "seg.csv.provenance.json").exists()
    assert (tmp_path / "r.html").read_text().startswith("<!doctype html>")


def test_bad_input_exits_2_with_one_error_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    for args in (["segment", str(bad)], ["segment", str(tmp_path / "missing.csv")],
                 ["segment", str(SAMPLE), "--bins", "12"], ["segment", str(SAMPLE), "--edges", "foo=1,2"],
                 ["segment", str(SAMPLE), "--map", "nonsense"]):
        proc = run(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr


def test_thresholds_and_rules_options(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    assert run("rules", "--out", str(rules)).returncode == 0
    out = tmp_path / "seg.csv"
    proc = run("segment", str(SAMPLE), "--edges", "recency=30,90,180,365", "--rules", str(rules), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    seg = pd.read_csv(out)
    expected = 5 - (seg["recency_days"].to_numpy()[:, None] > [30, 90, 180, 365]).sum(axis=1)
    assert (seg["r_score"].to_numpy() == expected).all()
    lint = run("rules", "--lint", str(rules))
    assert lint.returncode == 0 and "no problems" in lint.stderr


def test_sample_command_is_deterministic(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert run("sample", str(a), "--customers", "50").returncode == 0
    assert run("sample", str(b), "--customers", "50").returncode == 0
    assert a.read_bytes() == b.read_bytes()
