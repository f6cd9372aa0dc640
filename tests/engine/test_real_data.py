"""Done-when checks on the real Online Retail files: CSV and XLSX through the CLI against DuckDB SQL.

These tests skip only when ../shared/data is absent. The XLSX is written once into .cache/ (openpyxl takes
about a minute for 541,909 rows) and reused while the source is unchanged.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ONLINE_RETAIL, ONLINE_RETAIL_II, ROOT, SharedData
from tests.engine.test_duckdb_reference import REFERENCE_SQL, assert_same_customers

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def _cached(src: Path, cache: Path, suffix: str) -> Path:
    key = hashlib.sha256(src.read_bytes()).hexdigest()[:12]
    out = cache / f"{src.stem}-{key}{suffix}"
    if not out.exists():
        frame = pd.read_parquet(src)
        tmp = out.with_suffix(".tmp" + suffix)
        if suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
                frame.to_excel(xl, index=False, sheet_name="Online Retail")
        tmp.rename(out)
    return out


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rfm_core", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)


@pytest.fixture(scope="module")
def online_retail_csv(cache_dir: Path, shared_data: SharedData) -> Path:
    return _cached(shared_data.require(ONLINE_RETAIL), cache_dir, ".csv")


@pytest.fixture(scope="module")
def reference_customers(online_retail_csv: Path) -> pd.DataFrame:
    import duckdb

    return duckdb.sql(REFERENCE_SQL.format(path=online_retail_csv)).df()


def _check_cli_output(tmp_path: Path, proc: subprocess.CompletedProcess[str], reference: pd.DataFrame) -> None:
    assert proc.returncode == 0, proc.stderr
    seg = pd.read_csv(tmp_path / "seg.csv", dtype={"customer_id": str})
    # 4,327 customers by the independent reference SQL (DOCUMENTATION §4a): 11 of the 4,338 customers with a purchase
    # line bought only orders that were later cancelled in full (2,059 lines filed "order cancelled in full")
    assert len(seg) == 4327 == len(reference)
    assert_same_customers(seg, reference)
    assert seg["customer_id"].is_unique and seg["segment"].notna().all()
    ledger = pd.read_csv(tmp_path / "ledger.csv")
    assert ledger["rows"].sum() == 541_909
    assert ledger.set_index("reason")["rows"]["order cancelled in full"] == 2059


def test_online_retail_csv_cli_equals_duckdb(tmp_path: Path, online_retail_csv: Path,
                                             reference_customers: pd.DataFrame) -> None:
    proc = _cli("segment", str(online_retail_csv), "--out", str(tmp_path / "seg.csv"),
                "--ledger", str(tmp_path / "ledger.csv"))
    _check_cli_output(tmp_path, proc, reference_customers)
    assert "4,327 customers" in proc.stderr


def test_online_retail_xlsx_cli_equals_duckdb(tmp_path: Path, cache_dir: Path, shared_data: SharedData,
                                              reference_customers: pd.DataFrame) -> None:
    xlsx = _cached(shared_data.require(ONLINE_RETAIL), cache_dir, ".xlsx")
    proc = _cli("segment", str(xlsx), "--out", str(tmp_path / "seg.csv"), "--ledger", str(tmp_path / "ledger.csv"))
    _check_cli_output(tmp_path, proc, reference_customers)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_online_retail_ii_without_map(tmp_path: Path, cache_dir: Path, shared_data: SharedData, suffix: str) -> None:
    import duckdb

    parquet = shared_data.require(ONLINE_RETAIL_II)
    csv = _cached(parquet, cache_dir, ".csv")
    source = csv if suffix == ".csv" else _cached(parquet, cache_dir, ".xlsx")
    proc = _cli("segment", str(source), "--out", str(tmp_path / "seg.csv"), "--ledger", str(tmp_path / "ledger.csv"))
    assert proc.returncode == 0, proc.stderr
    sql = (REFERENCE_SQL.replace("CustomerID", '"Customer ID"').replace("InvoiceNo", "Invoice")
           .replace("UnitPrice", "Price"))
    ref = duckdb.sql(sql.format(path=csv)).df()
    seg = pd.read_csv(tmp_path / "seg.csv", dtype={"customer_id": str})
    assert len(seg) == len(ref) == 4298  # 14 of 4,312 buyers only had orders cancelled in full
    assert_same_customers(seg, ref)
    assert pd.read_csv(tmp_path / "ledger.csv")["rows"].sum() == 525_461


def _excel_typed(src: Path, cache: Path) -> Path:
    """The workbook as Excel stores the UCI original (all-digit codes and ids as numbers, date cells), cached."""
    import openpyxl

    key = hashlib.sha256(src.read_bytes()).hexdigest()[:12]
    out = cache / f"{src.stem}-{key}-excel-typed.xlsx"
    if not out.exists():
        frame = pd.read_parquet(src)
        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet("Online Retail")
        ws.append(list(frame.columns))
        dates = pd.to_datetime(frame["InvoiceDate"]).dt.to_pydatetime()
        at = list(frame.columns).index("InvoiceDate")
        for row, when in zip(frame.itertuples(index=False), dates, strict=True):
            cells: list[object] = [int(v) if isinstance(v, str) and v.isdigit() else None if pd.isna(v) else v
                                   for v in row]
            cells[at] = when
            ws.append(cells)
        tmp = out.with_suffix(".tmp.xlsx")
        wb.save(tmp)
        tmp.rename(out)
    return out


def test_online_retail_excel_typed_xlsx_cli_equals_duckdb(tmp_path: Path, cache_dir: Path, shared_data: SharedData,
                                                          reference_customers: pd.DataFrame) -> None:
    """Number and date cells (as in the UCI original) read as text in one parse give the CSV's customers."""
    xlsx = _excel_typed(shared_data.require(ONLINE_RETAIL), cache_dir)
    proc = _cli("segment", str(xlsx), "--out", str(tmp_path / "seg.csv"), "--ledger", str(tmp_path / "ledger.csv"))
    _check_cli_output(tmp_path, proc, reference_customers)
