"""Shared fixtures: a hand-computed transaction file, the bundled sample, and the real data when present.

The real data (``../shared/data``, beside the checkout) is found in ONE place: :func:`shared_data_dir`, used by the
``shared_data`` fixture. ``RFM_SHARED_DATA`` overrides it: a folder to use instead, or ``none`` (also ``off``,
``0``, empty) to hide it, which is how ``.ci/run`` proves that the tests with a generated fallback pass in a fresh
clone. No other test file builds a path to ``../shared`` (tests/test_data_location.py checks).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_ENV = "RFM_SHARED_DATA"
DEFAULT_SHARED_DATA = ROOT.parent / "shared" / "data"
ONLINE_RETAIL = "online_retail.parquet"
ONLINE_RETAIL_II = "online_retail_ii_2009_2010.parquet"
_HIDDEN = frozenset({"", "none", "off", "0", "false", "no"})
SAMPLE = ROOT / "sample_data" / "online_retail_sample.csv"
CACHE = ROOT / ".cache"
IN_CI = bool(os.environ.get("CI"))

# Workspaces the app under test keeps go to a throwaway folder, never the user's cache. Set before any app runs, so
# AppTest sessions and the browser tests' server (which inherits the environment) share it; tests that need a folder
# of their own set RFM_WORKSPACE_DIR with monkeypatch (the app reads it on every run).
WORKSPACE_DIR = Path(tempfile.mkdtemp(prefix="rfm-test-workspaces-"))
os.environ["RFM_WORKSPACE_DIR"] = str(WORKSPACE_DIR)
os.environ.pop("RFM_WORKSPACE", None)
atexit.register(shutil.rmtree, WORKSPACE_DIR, True)

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


def shared_data_dir(environ: Mapping[str, str] = os.environ) -> Path | None:
    """The real-data folder, or None when it is absent or hidden by ``RFM_SHARED_DATA``."""
    value = environ.get(SHARED_ENV)
    if value is None:
        path = DEFAULT_SHARED_DATA
    elif value.strip().lower() in _HIDDEN:
        return None
    else:
        path = Path(value).expanduser()
    return path if path.is_dir() else None


@dataclass(frozen=True)
class SharedData:
    """The real data files, when present. ``root`` is None when ../shared is absent or hidden."""

    root: Path | None

    def get(self, name: str) -> Path | None:
        """The file, or None when it (or the whole folder) is absent: for tests with a generated fallback."""
        if self.root is None or not (self.root / name).is_file():
            return None
        return self.root / name

    def require(self, name: str) -> Path:
        """The file, or a skip: the only allowed reason to skip a real-data test is that the data is absent."""
        path = self.get(name)
        if path is None:
            where = "hidden by RFM_SHARED_DATA" if self.root is None and SHARED_ENV in os.environ else "absent"
            pytest.skip(f"{name} is {where} (real-data tests need ../shared/data or RFM_SHARED_DATA=FOLDER)")
        return path


@pytest.fixture(scope="session")
def shared_data() -> SharedData:
    """The one way a test reaches ../shared/data (see the module docstring)."""
    return SharedData(shared_data_dir())


@pytest.fixture
def hand_csv() -> bytes:
    return HAND_CSV.encode()


@pytest.fixture(scope="session")
def cache_dir() -> Path:
    CACHE.mkdir(exist_ok=True)
    return CACHE


# Fixtures that use ../shared/data when present and generate data otherwise. Tests using them get the marker
# `shared_fallback`, and .ci/run runs those a second time with ../shared hidden, so both paths are proven.
FALLBACK_FIXTURES = frozenset({"analyst_file"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if FALLBACK_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.shared_fallback)
