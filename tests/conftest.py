"""Shared fixtures: a hand-computed transaction file, the bundled sample, and the real data when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
ONLINE_RETAIL = SHARED_DATA / "online_retail.parquet"
ONLINE_RETAIL_II = SHARED_DATA / "online_retail_ii_2009_2010.parquet"
SAMPLE = ROOT / "sample_data" / "online_retail_sample.csv"
CACHE = ROOT / ".cache"
IN_CI = bool(os.environ.get("CI"))

# Every figure below is worked out by hand in tests/engine/test_hand_fixture.py's docstring.
HAND_CSV = """InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice,Country
1001,A,2024-01-01 10:00:00,2,5.00,United Kingdom
1001,A,2024-01-01 10:00:00,1,3.00,United Kingdom
1002,A,2024-01-10 09:00:00,1,20.00,United Kingdom
C1003,A,2024-01-11 09:00:00,-1,20.00,United Kingdom
1004,B,2024-01-05 12:00:00,4,2.50,France
1004,B,2024-01-05 12:00:00,4,2.50,France
1005,,2024-01-06 12:00:00,1,1.00,United Kingdom
1006,C,2024-01-15 08:00:00,3,0.00,United Kingdom
1007,C,2024-01-20 08:00:00,1,7.00,United Kingdom
1008,C,not a date,1,1.00,United Kingdom
1009,C,2024-01-20 09:00:00,abc,1.00,United Kingdom
"""


def real_data(path: Path) -> Path:
    """The path, or a skip when ../shared is absent (the only allowed reason to skip a real-data test)."""
    if not path.exists():
        pytest.skip(f"{path} is absent (real-data tests need ../shared/data)")
    return path


@pytest.fixture
def hand_csv() -> bytes:
    return HAND_CSV.encode()


@pytest.fixture(scope="session")
def cache_dir() -> Path:
    CACHE.mkdir(exist_ok=True)
    return CACHE
