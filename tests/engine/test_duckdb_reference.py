"""The pandas engine against an independent DuckDB SQL computation on the bundled sample.

The SQL is written from the definitions in DOCUMENTATION.md, not from the pandas code: DISTINCT over every
column for duplicates, the same exclusions, date_diff for recency.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from rfm_core import analyze
from tests.conftest import SAMPLE

REFERENCE_SQL = """
WITH src AS (SELECT * FROM read_csv('{path}', all_varchar=true)),
dedup AS (SELECT DISTINCT * FROM src),
used AS (
    SELECT regexp_replace(trim(CustomerID), '\\.0+$', '') AS cid, InvoiceNo AS inv,
           CAST(InvoiceDate AS TIMESTAMP) AS ts,
           CAST(Quantity AS DOUBLE) * CAST(UnitPrice AS DOUBLE) AS amount
    FROM dedup
    WHERE CustomerID IS NOT NULL AND trim(CustomerID) <> ''
      AND CAST(UnitPrice AS DOUBLE) > 0
      AND NOT upper(InvoiceNo) LIKE 'C%'
      AND CAST(Quantity AS DOUBLE) > 0
),
as_of_day AS (SELECT CAST(max(ts) AS DATE) + 1 AS d FROM used)
SELECT cid AS customer_id,
       date_diff('day', CAST(max(ts) AS DATE), (SELECT d FROM as_of_day)) AS recency_days,
       count(DISTINCT inv) AS frequency,
       sum(amount) AS monetary
FROM used GROUP BY cid ORDER BY cid
"""


def reference(path: str) -> pd.DataFrame:
    return duckdb.sql(REFERENCE_SQL.format(path=path)).df()


def assert_same_customers(ours: pd.DataFrame, ref: pd.DataFrame) -> None:
    ours = ours.sort_values("customer_id").reset_index(drop=True)
    ref = ref.sort_values("customer_id").reset_index(drop=True)
    assert ours["customer_id"].astype(str).tolist() == ref["customer_id"].astype(str).tolist()
    assert (ours["recency_days"].to_numpy() == ref["recency_days"].to_numpy()).all()
    assert (ours["frequency"].to_numpy() == ref["frequency"].to_numpy()).all()
    np.testing.assert_allclose(ours["monetary"].to_numpy(), ref["monetary"].to_numpy(), rtol=1e-9)


def test_sample_matches_duckdb_sql() -> None:
    result = analyze(SAMPLE)
    assert_same_customers(result.customers, reference(str(SAMPLE)))
    assert result.cleaned.ledger["rows"].sum() == len(pd.read_csv(SAMPLE))
    assert result.segmentation.customers["segment"].notna().all()
