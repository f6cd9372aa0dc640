"""Every corpus case through the engine, the CLI (exit codes, one error line) and the app (st.error, last good kept)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from rfm_core import analyze
from tests.conftest import ROOT
from tests.data.corpus import CASES, Case

ids = [c.name for c in CASES]


def _params(cases: list[Case]) -> list[object]:
    return [pytest.param(c, marks=[pytest.mark.slow] if c.slow else [], id=c.name) for c in cases]


@pytest.mark.parametrize("case", _params(CASES))
def test_engine(case: Case) -> None:
    data = case.make()
    if case.error:
        with pytest.raises(case.error, match=case.message):
            analyze(data, name=case.file_name, warn=False)
    else:
        result = analyze(data, name=case.file_name, warn=False)
        assert result.cleaned.ledger["rows"].sum() == result.cleaned.input_rows
        assert result.segmentation.customers["segment"].notna().all()
        assert case.check is not None
        case.check(result)


@pytest.mark.parametrize("case", _params([c for c in CASES if c.name != "a million distinct customers"]))
def test_cli(case: Case, tmp_path: Path) -> None:
    path = tmp_path / case.file_name
    path.write_bytes(case.make())
    proc = subprocess.run([sys.executable, "-m", "rfm_core", "segment", str(path), "--out", str(tmp_path / "o.csv")],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert "Traceback" not in proc.stderr
    if case.error:
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and case.message.lower() in lines[0].lower()
    else:
        assert proc.returncode == 0, proc.stderr
        assert (tmp_path / "o.csv").exists()


APP_ERRORS = [c for c in CASES if c.error and not c.slow]


@pytest.mark.parametrize("case", _params(APP_ERRORS))
def test_app_shows_error_and_keeps_last_good(case: Case) -> None:
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
    customers_before = {m.label: m.value for m in at.metric}["Customers"]
    at.file_uploader(key="upload").upload(case.file_name, case.make(), "application/octet-stream")
    at.run()
    assert not at.exception
    assert any(case.message.lower() in e.value.lower() for e in at.error), [e.value for e in at.error]
    if case.name != "required columns missing":  # the mapping panel stays open to fix that one
        assert any("last good result" in i.value for i in at.info)
        assert {m.label: m.value for m in at.metric}["Customers"] == customers_before
