"""Spark failures the analyst can cause reach them as one `error:` line with exit code 2, never a Java trace.

QUICKSTART's Spark example has a placeholder master (spark://host:7077): run as written it must fail fast, in one
line. Reachability is checked before Spark starts (Spark itself retries for a minute and prints stack traces).
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from rfm_core import RfmError
from rfm_core.engines.spark_engine import check_master, java_available
from tests.conftest import IN_CI, ROOT, SAMPLE

HAVE_PYSPARK = importlib.util.find_spec("pyspark") is not None


def _cli(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rfm_core", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=600, env={**os.environ, **(env or {})})


def _quickstart_spark_example() -> list[str]:
    lines = [line for line in (ROOT / "QUICKSTART.md").read_text(encoding="utf-8").splitlines()
             if "--engine spark" in line and "--spark-master spark://" in line]
    assert len(lines) == 1, lines
    words = shlex.split(lines[0], comments=True)
    assert words[:3] == ["python", "-m", "rfm_core"]
    return words[3:]


def test_quickstart_spark_example_fails_in_one_line() -> None:
    t0 = time.perf_counter()
    proc = _cli(_quickstart_spark_example())
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    if HAVE_PYSPARK:
        assert lines[0].startswith("error: Cannot reach the Spark master spark://host:7077: the host 'host' is not "
                                   "known. Check the master URL")
        assert elapsed < 60  # Spark's own retries took over a minute
    assert proc.stdout == ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_check_master_reports_what_is_wrong() -> None:
    with pytest.raises(RfmError, match=r"127\.0\.0\.1:\d+ did not answer"):
        check_master(f"spark://127.0.0.1:{_free_port()}", timeout=2)
    with pytest.raises(RfmError, match="not a URL like spark://HOST:7077"):
        check_master("spark://nohost")
    with pytest.raises(RfmError, match=r"'nowhere\.invalid' is not known; .*did not answer"):
        check_master(f"spark://nowhere.invalid:7077,127.0.0.1:{_free_port()}", timeout=2)
    check_master("local[*]")  # left to Spark
    check_master("yarn")


def test_check_master_accepts_a_master_that_answers() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        check_master(f"spark://127.0.0.1:{port}")
        check_master(f"spark://nowhere.invalid:7077,127.0.0.1:{port}")  # one reachable master of two is enough


def test_ipv6_brackets_are_parsed() -> None:
    with pytest.raises(RfmError, match=r"::1:\d+ did not answer"):
        check_master(f"spark://[::1]:{_free_port()}", timeout=2)


@pytest.mark.skipif(not HAVE_PYSPARK, reason="PySpark is not installed: pip install -r requirements-spark.txt")
def test_without_java_spark_fails_in_one_line(tmp_path: Path) -> None:
    proc = _cli(["segment", str(SAMPLE), "--engine", "spark"], env={"JAVA_HOME": str(tmp_path)})  # no bin/java
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Spark did not start with master local[*]"), proc.stderr
    assert "Java was not found (Spark needs Java 17" in lines[0]


@pytest.mark.slow
def test_a_successful_spark_run_keeps_stderr_to_warnings_and_the_summary(tmp_path: Path) -> None:
    if not (HAVE_PYSPARK and java_available()):
        if IN_CI:
            pytest.fail("CI has PySpark and Java 17")
        pytest.skip("needs PySpark and Java 17")
    proc = _cli(["segment", str(SAMPLE), "--engine", "spark", "--spark-master", "local[2]", "--out",
                 str(tmp_path / "seg.csv")])
    assert proc.returncode == 0, proc.stderr
    mapped, *warnings, summary = proc.stderr.splitlines()
    assert mapped.startswith("mapped: customer_id<-CustomerID, "), proc.stderr  # detected from the headers
    # no Java banner, log lines, progress bars: only what was read (the date format its sample showed), warnings and
    # the scoring line of each metric (DOCUMENTATION §6)
    assert all(w.startswith(("read: ", "warning: ", "recency (days): ", "frequency (orders): ", "monetary: "))
               for w in warnings), proc.stderr
    assert [w for w in warnings if w.startswith("read: ")] == [
        "read: Dates in 'InvoiceDate' read as ISO 8601 (YYYY-MM-DD) (judged on a sample of 20,000 of its "
        "dates)."]
    customers = len(pd.read_csv(tmp_path / "seg.csv"))
    assert summary.startswith(f"{customers:,} customers in ") and summary.endswith(f"wrote {tmp_path / 'seg.csv'}")
