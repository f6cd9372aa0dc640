"""One measured task in a fresh interpreter; prints a JSON line. Run by benchmarks/run.py, not by hand."""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

T0 = time.perf_counter()
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project, not benchmarks/


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 1e6


def pipeline(path: str) -> dict[str, object]:
    steps: dict[str, float] = {}
    after: dict[str, float] = {}

    def step(name: str, t: float) -> None:
        steps[name] = time.perf_counter() - t
        after[name] = rss_mb()

    t = time.perf_counter()
    import pyarrow as pa

    import rfm_core as r
    from rfm_core import export
    from rfm_core.pipeline import segment_customers
    from rfm_core.settings import MetricScoring, ScoringSettings

    pa.set_memory_pool(pa.system_memory_pool())
    step("import", t)
    t = time.perf_counter()
    raw = r.read_table(path)
    step("read", t)
    t = time.perf_counter()
    mapped = r.apply_mapping(raw)
    step("map (types, validation)", t)
    t = time.perf_counter()
    cleaned = r.clean(mapped)
    step("clean (ledger)", t)
    t = time.perf_counter()
    customers = r.aggregate(cleaned.transactions)
    step("aggregate", t)
    t = time.perf_counter()
    seg = segment_customers(customers, warn=False)
    step("score + segment + summary", t)
    rescore = []
    for i in range(21):  # a threshold change, as the Settings page does it
        edges = (30.0 + i, 90.0, 180.0, 270.0)
        scoring = ScoringSettings(MetricScoring(5, "thresholds", edges), MetricScoring(), MetricScoring())
        t = time.perf_counter()
        segment_customers(customers, scoring, warn=False)
        rescore.append(time.perf_counter() - t)
    steps["re-score after a threshold change"] = sorted(rescore)[len(rescore) // 2]
    prov = {"input": path}
    t = time.perf_counter()
    export.segments_csv(seg.customers)
    step("export segments CSV", t)
    t = time.perf_counter()
    export.excel_workbook(seg.customers, seg.summary, cleaned.ledger, prov, seg.rules)
    step("export Excel workbook", t)
    t = time.perf_counter()
    from rfm_core import charts

    colors = charts.segment_colors(seg.rules.names)
    figs = [charts.segment_treemap(seg.summary, colors), charts.lorenz_curve(seg.customers),
            charts.recency_monetary_scatter(seg.customers, colors)]
    export.html_report(title="bench", kpis=seg.kpis, summary=seg.summary, insights=seg.insights, rules=seg.rules,
                       ledger=cleaned.ledger, prov=prov, figures=figs)
    step("export HTML report", t)
    return {"steps": steps, "rss_after": after,
            "tx_mb": float(cleaned.transactions.memory_usage(deep=True).sum() / 1e6),
            "raw_mb": float(raw.frame.memory_usage(deep=True).sum() / 1e6),
            "rows": int(cleaned.input_rows), "customers": len(customers)}


def naive(path: str) -> dict[str, object]:
    """The tutorial way: openpyxl or the default CSV reader, object strings, groupby().agg with lambdas."""
    import datetime as dt

    import pandas as pd

    t = time.perf_counter()
    xlsx = path.endswith(".xlsx")
    df = pd.read_excel(path, engine="openpyxl") if xlsx else pd.read_csv(path, encoding="latin-1")
    df = df.astype({c: object for c in df.columns if df[c].dtype == "str"})
    read = time.perf_counter() - t
    t = time.perf_counter()
    df = df.dropna(subset=["CustomerID"])
    df = df.drop_duplicates()
    df = df[~df["InvoiceNo"].astype(str).str.startswith("C")]
    df = df[(df["Quantity"] > 0) & (df["UnitPrice"] > 0)]
    df["InvoiceDate"] = pd.to_datetime(df["InvoiceDate"])
    df["TotalPrice"] = df["Quantity"] * df["UnitPrice"]
    snapshot = df["InvoiceDate"].max() + dt.timedelta(days=1)
    rfm = df.groupby("CustomerID").agg({
        "InvoiceDate": lambda x: (snapshot - x.max()).days,
        "InvoiceNo": lambda x: x.nunique(),
        "TotalPrice": lambda x: x.sum(),
    })
    rfm.columns = ["Recency", "Frequency", "Monetary"]
    rfm["R"] = pd.qcut(rfm["Recency"], 5, labels=[5, 4, 3, 2, 1])
    rfm["F"] = pd.qcut(rfm["Frequency"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5])
    rfm["M"] = pd.qcut(rfm["Monetary"], 5, labels=[1, 2, 3, 4, 5])
    compute = time.perf_counter() - t
    return {"steps": {"read": read, "clean + aggregate + score": compute},
            "tx_mb": float(df.memory_usage(deep=True).sum() / 1e6), "customers": len(rfm)}


if __name__ == "__main__":
    task, arg = sys.argv[1], sys.argv[2]
    result = pipeline(arg) if task == "pipeline" else naive(arg)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))
