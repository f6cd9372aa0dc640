"""One place finds ../shared/data; RFM_SHARED_DATA moves or hides it; the generated fallback stands in for it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from rfm_core import analyze
from tests.conftest import (
    DEFAULT_SHARED_DATA,
    ONLINE_RETAIL,
    ROOT,
    SHARED_ENV,
    SharedData,
    shared_data_dir,
)
from tests.data.analyst_file import REAL_CUSTOMERS, STAND_IN_CUSTOMERS, analyst_csv


@pytest.mark.parametrize("value", ["none", "None", "off", "0", "", " NONE "])
def test_the_variable_hides_shared_data(value: str) -> None:
    assert shared_data_dir({SHARED_ENV: value}) is None


def test_the_variable_points_elsewhere(tmp_path: Path) -> None:
    assert shared_data_dir({SHARED_ENV: str(tmp_path)}) == tmp_path
    assert shared_data_dir({SHARED_ENV: str(tmp_path / "missing")}) is None  # a wrong path hides it too


def test_without_the_variable_the_folder_beside_the_checkout() -> None:
    expected = DEFAULT_SHARED_DATA if DEFAULT_SHARED_DATA.is_dir() else None
    assert shared_data_dir({}) == expected


def test_absent_files_skip_real_data_tests_and_serve_none_to_fallbacks(tmp_path: Path) -> None:
    (tmp_path / "present.parquet").write_bytes(b"x")
    here = SharedData(tmp_path)
    assert here.get("present.parquet") == tmp_path / "present.parquet"
    assert here.get("absent.parquet") is None
    assert SharedData(None).get("present.parquet") is None
    with pytest.raises(pytest.skip.Exception, match="absent"):
        here.require("absent.parquet")
    with pytest.raises(pytest.skip.Exception):
        SharedData(None).require(ONLINE_RETAIL)


def _path_literals(path: Path) -> list[str]:
    """String constants (docstrings excluded) that name a ../shared folder."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
            and (node.value.strip("./") == "shared" or "/shared/" in node.value or node.value.startswith("../shared")
                 or node.value.startswith("shared/"))]


def test_only_the_fixture_knows_where_shared_data_is() -> None:
    offenders = {str(p.relative_to(ROOT)): found for p in sorted((ROOT / "tests").rglob("*.py"))
                 if p not in (ROOT / "tests" / "conftest.py", Path(__file__)) and (found := _path_literals(p))}
    assert offenders == {}
    assert "shared" in _path_literals(ROOT / "tests" / "conftest.py")  # the check does see a path where there is one


@pytest.mark.slow
def test_the_browser_fallback_is_an_online_retail_sized_stand_in(tmp_path: Path) -> None:
    """What the load and timing tests upload in a fresh clone (generate(customers=21_000) failed before)."""
    made = analyst_csv(tmp_path, SharedData(None))
    assert not made.real
    assert abs(made.lines - 541_909) / 541_909 < 0.05  # within 5% of the real file's lines
    assert 0.99 * STAND_IN_CUSTOMERS <= made.customers <= STAND_IN_CUSTOMERS
    # the app's engine agrees with the DuckDB count the browser tests expect
    assert len(analyze(made.path, warn=False).customers) == made.customers


@pytest.mark.realdata
@pytest.mark.slow
def test_with_shared_data_the_browser_file_is_the_real_one(tmp_path: Path, shared_data: SharedData) -> None:
    shared_data.require(ONLINE_RETAIL)
    made = analyst_csv(tmp_path, shared_data)
    assert made.real and made.lines == 541_909 and made.customers == REAL_CUSTOMERS
