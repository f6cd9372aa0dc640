"""QUICKSTART.md's promises, run as written: its Python block from another folder, its commands' stderr, argument
errors in one line, and a package layout that installs every subpackage and template."""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from rfm_core.cli import main
from tests.conftest import HAND_CSV, IN_CI, ROOT, SAMPLE

QUICKSTART = (ROOT / "QUICKSTART.md").read_text(encoding="utf-8")


def _installed_elsewhere() -> bool:
    """Whether `import rfm_core` works outside the checkout (after README's `pip install -e .`)."""
    proc = subprocess.run([sys.executable, "-c", "import rfm_core"], cwd="/", capture_output=True,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    return proc.returncode == 0


def _python_block() -> str:
    blocks = re.findall(r"```python\n(.*?)```", QUICKSTART, flags=re.S)
    assert len(blocks) == 1
    return blocks[0]


def test_the_python_api_works_from_any_folder(tmp_path: Path) -> None:
    if not _installed_elsewhere():
        if IN_CI:
            pytest.fail("rfm_core is not installed: README's install (requirements-dev.txt has -e .) must install it")
        pytest.skip("rfm_core is not installed in this environment: pip install -e . (README)")
    # the files the block names, in a folder that is not the checkout
    (tmp_path / "sample_data").mkdir()
    shutil.copy(SAMPLE, tmp_path / "sample_data" / SAMPLE.name)
    hand = pd.read_csv(io.StringIO(HAND_CSV), dtype=str).rename(columns={"CustomerID": "Client"})
    hand.to_excel(tmp_path / "orders.xlsx", index=False)
    script = _python_block() + "\nassert len(seg.customers) == 3 and len(result.segmentation.customers) > 1000\n"
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert proc.returncode == 0, proc.stderr


def _command(startswith: str) -> list[str]:
    """One command of QUICKSTART's bash block (continuation lines joined), as arguments after `python -m rfm_core`."""
    text = re.search(r"```bash\n# Segment a file.*?```", QUICKSTART, flags=re.S)
    assert text is not None
    joined = text.group(0).replace("\\\n", " ")
    line = next(x for x in joined.splitlines() if x.startswith(f"python -m rfm_core {startswith}"))
    return shlex.split(line, comments=True)[3:]


# Before the summary, a successful run prints only warnings and one scoring line per metric (DOCUMENTATION.md §6).
_CLI_LINES = ("warning: ", "read: ", "recency (days): ", "frequency (orders): ", "monetary: ")


def _stderr_is_warnings_then_summary(stderr: str) -> str:
    *warnings, summary = stderr.splitlines()
    if warnings and warnings[0].startswith("mapped: "):  # the columns the CLI detected, when it detected any
        warnings = warnings[1:]
    assert all(w.startswith(_CLI_LINES) for w in warnings), stderr
    assert not summary.startswith(("warning:", "error:")), stderr
    return summary


def test_the_first_commands_as_written(tmp_path: Path) -> None:
    (tmp_path / "sample_data").mkdir()
    shutil.copy(SAMPLE, tmp_path / "sample_data" / SAMPLE.name)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # installed or not
    for args in (_command("segment sample_data"), _command("rules --out"), _command("rules --lint")):
        proc = subprocess.run([sys.executable, "-m", "rfm_core", *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr
        _stderr_is_warnings_then_summary(proc.stderr)
    for name in ("segments.csv", "rfm.xlsx", "report.html", "ledger.csv", "my_rules.toml"):
        assert (tmp_path / name).stat().st_size > 0, name


@pytest.mark.parametrize("argv", [
    ["segment"], ["segment", "x.csv", "--bins"], ["bogus"], ["segment", "x.csv", "--as-of", "tomorrow"],
    ["segment", "x.csv", "--engine", "foo"], ["sample"], ["clv", "x.csv", "--time-unit", "Y"],
], ids=["no-input", "no-value", "no-command", "bad-date", "bad-choice", "sample-no-out", "bad-unit"])
def test_argument_errors_are_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and err[0].endswith("--help lists the options."), err


def test_every_subpackage_and_data_file_is_packaged() -> None:
    """setuptools finds packages by their __init__.py and ships other files only when package-data names them."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert config["packages"]["find"]["include"] == ["rfm_core", "rfm_core.*"]
    assert "packages" not in {k for k in config if not isinstance(config[k], dict)}  # no hand-written list
    patterns = config["package-data"]["rfm_core"]
    package = ROOT / "rfm_core"
    for path in package.rglob("*"):
        if "__pycache__" in path.parts or path.is_dir():
            continue
        if path.suffix == ".py":
            assert (path.parent / "__init__.py").exists(), f"{path.parent} has no __init__.py: not installed"
        else:
            rel = path.relative_to(package)
            assert any(rel.match(p) for p in patterns), f"{rel} is not in package-data: not installed"
    assert (package / "templates" / "report.html.j2").exists()
