"""The pandas engine against an independent DuckDB SQL computation on the bundled sample.

The SQL is written from the definitions in DOCUMENTATION.md (§4, §4a, §5), not from the pandas code or the SQL
plan: DISTINCT over every column for duplicates; a line reverses a purchase when its quantity is negative or it is
on a ``C`` + digits invoice naming an invoice of the file (then its value is reversed); each reversal is matched to
its own order, else the order named after the ``C``, else, by a correlated subquery, the same customer's latest
purchase line of the same stock code at or before it (ties: greater invoice); an order with a matched reversal
whose value after them is at most 1e-6 of its purchase value is cancelled in full. Default policy: reversals are
left out, so a customer's frequency and monetary come from the purchase lines of the orders that still stand.
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
all_invoices AS (SELECT DISTINCT trim(InvoiceNo) AS inv FROM src),
lines AS (
    SELECT regexp_replace(trim(CustomerID), '\\.0+$', '') AS cid, trim(InvoiceNo) AS inv,
           regexp_replace(trim(StockCode), '\\.0+$', '') AS sku, CAST(InvoiceDate AS TIMESTAMP) AS ts,
           CAST(Quantity AS DOUBLE) AS qty, CAST(Quantity AS DOUBLE) * CAST(UnitPrice AS DOUBLE) AS gross_amount
    FROM dedup
    WHERE CustomerID IS NOT NULL AND trim(CustomerID) <> '' AND CAST(UnitPrice AS DOUBLE) > 0
),
typed AS (
    SELECT *,
           regexp_matches(inv, '^[Cc][0-9]+$') AND substr(inv, 2) IN (SELECT inv FROM all_invoices) AS names_original,
           qty < 0 OR (regexp_matches(inv, '^[Cc][0-9]+$') AND substr(inv, 2) IN (SELECT inv FROM all_invoices))
               AS reverses
    FROM lines
),
valued AS (
    SELECT *, CASE WHEN names_original AND qty >= 0 THEN -abs(gross_amount) ELSE gross_amount END AS amount
    FROM typed
),
purchases AS (SELECT * FROM valued WHERE NOT reverses),
reversals AS (SELECT * FROM valued WHERE reverses),
order_values AS (SELECT cid, inv, sum(amount) AS purchase_value FROM purchases GROUP BY cid, inv),
matched AS (
    SELECT r.cid, r.amount,
           COALESCE(
               (SELECT o.inv FROM order_values o WHERE o.cid = r.cid AND o.inv = r.inv),
               (SELECT o.inv FROM order_values o
                 WHERE o.cid = r.cid AND upper(left(r.inv, 1)) = 'C' AND o.inv = substr(r.inv, 2)),
               (SELECT p.inv FROM purchases p WHERE p.cid = r.cid AND p.sku = r.sku AND p.ts <= r.ts
                 ORDER BY p.ts DESC, p.inv DESC LIMIT 1)
           ) AS target
    FROM reversals r
),
cancelled_orders AS (
    SELECT o.cid, o.inv
    FROM order_values o JOIN (SELECT cid, target, sum(amount) AS reversed FROM matched WHERE target IS NOT NULL
                              GROUP BY cid, target) m ON m.cid = o.cid AND m.target = o.inv
    WHERE o.purchase_value + m.reversed <= 1e-6 * abs(o.purchase_value)
),
used AS (
    SELECT p.* FROM purchases p ANTI JOIN cancelled_orders c ON c.cid = p.cid AND c.inv = p.inv
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
