"""The large file the browser's load and timing tests upload: the real Online Retail, or a generated stand-in.

With ../shared/data present it is the real 541,909-line export written as the analyst's CSV. Without it (a fresh
clone, or ``RFM_SHARED_DATA=none``) it is the project's generator at a size close to the real file's, so the same
tests run and check the same things. The expected customer count never comes from the app: it is counted by the
independent DuckDB reference SQL (tests/engine/test_duckdb_reference.py); for the real file that is 4,327 (with
cancellations matched to their orders, DOCUMENTATION §4a), the figure tests/engine/test_real_data.py also
holds the CLI to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from rfm_core.sample import generate
from tests.conftest import ONLINE_RETAIL, SharedData
from tests.engine.test_duckdb_reference import REFERENCE_SQL

# 21,000 customers give about 549,000 lines, the size of the real file (541,909 lines, 4,372 customer ids).
STAND_IN_CUSTOMERS = 21_000
STAND_IN_SEED = 1
REAL_CUSTOMERS = 4_327


@dataclass(frozen=True)
class AnalystFile:
    """A CSV to upload, whether it is the real file, its line count, and its customer count after cleaning."""

    path: Path
    real: bool
    lines: int
    customers: int


def analyst_csv(folder: Path, shared: SharedData) -> AnalystFile:
    """Write ``folder/online_retail.csv`` from the real data when ``shared`` has it, else generate a stand-in."""
    path = folder / "online_retail.csv"
    source = shared.get(ONLINE_RETAIL)
    frame = pd.read_parquet(source) if source is not None else generate(STAND_IN_CUSTOMERS, seed=STAND_IN_SEED)
    frame.to_csv(path, index=False)
    customers = len(duckdb.sql(REFERENCE_SQL.format(path=path)).df())
    return AnalystFile(path, source is not None, len(frame), customers)
