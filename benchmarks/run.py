"""Benchmarks: `python benchmarks/run.py` writes benchmarks/RESULTS.md.

Data: the real Online Retail (../shared/data/online_retail.parquet) when present, else the project's generator at
the same size; written as CSV, XLSX and Parquet (1x), CSV and Parquet at 10x (XLSX cannot hold 5.4 M rows: Excel's
limit is 1,048,576 per sheet), and a 100x multi-file Parquet data set for the large-data engines. Copies k > 0
get their own invoice and customer ids, so 10x has ten times the customers. Every measurement runs in a fresh
interpreter; wall time and peak RSS are that process's own (os.wait4), medians over the repeats.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / ".data"
REAL = ROOT.parent / "shared" / "data" / "online_retail.parquet"
sys.path.insert(0, str(ROOT))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------------ data

def base_frame():  # type: ignore[no-untyped-def]
    import pandas as pd

    if REAL.exists():
        return pd.read_parquet(REAL), "real UCI Online Retail (541,909 lines)"
    from rfm_core.sample import generate

    frame = generate(customers=21_000, seed=1)
    return frame, f"generated Online-Retail-shaped data ({len(frame):,} lines; ../shared absent)"


def scaled(frame, k: int):  # type: ignore[no-untyped-def]
    import pandas as pd

    copies = []
    for i in range(k):
        part = frame.copy()
        if i:
            part["InvoiceNo"] = part["InvoiceNo"].astype(str).str.replace(r"^(C?)", rf"\g<1>{i}x", regex=True)
            part["CustomerID"] = part["CustomerID"] + i * 100_000
        copies.append(part)
    return pd.concat(copies, ignore_index=True)


def prepare(want_100x: bool) -> dict[str, str]:
    DATA.mkdir(parents=True, exist_ok=True)
    frame, label = base_frame()
    files = {"label": label}
    paths = {"csv_1x": DATA / "retail_1x.csv", "xlsx_1x": DATA / "retail_1x.xlsx",
             "parquet_1x": DATA / "retail_1x.parquet", "csv_10x": DATA / "retail_10x.csv",
             "parquet_10x": DATA / "retail_10x.parquet"}
    if not paths["csv_1x"].exists():
        log("writing 1x CSV and Parquet")
        frame.to_csv(paths["csv_1x"], index=False)
        frame.to_parquet(paths["parquet_1x"], index=False)
    if not paths["xlsx_1x"].exists():
        log("writing 1x XLSX with openpyxl (about a minute)")
        import pandas as pd

        with pd.ExcelWriter(paths["xlsx_1x"], engine="openpyxl") as xl:
            frame.to_excel(xl, index=False, sheet_name="Online Retail")
    if not paths["csv_10x"].exists():
        log("writing 10x CSV and Parquet")
        big = scaled(frame, 10)
        big.to_csv(paths["csv_10x"], index=False)
        big.to_parquet(paths["parquet_10x"], index=False)
        del big
    if want_100x:
        lake = DATA / "lake_100x"
        if not lake.exists():
            log("writing the 100x Parquet data set (10 files of 10x)")
            lake.mkdir()
            for j in range(10):
                part = scaled(frame, 10)
                offset = j * 10
                part["InvoiceNo"] = part["InvoiceNo"].astype(str).str.replace(r"^(C?)", rf"\g<1>{offset}y",
                                                                            regex=True)
                part["CustomerID"] = part["CustomerID"] + offset * 100_000
                part.to_parquet(lake / f"part-{j:02d}.parquet", index=False)
        paths["parquet_100x"] = lake / "part-*.parquet"
    files.update({k: str(v) for k, v in paths.items()})
    return files


# ------------------------------------------------------------------------------------------------- measuring

def run_measured(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB, stdout) of one process, from its own rusage."""
    t = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT, env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        out.seek(0)
        err.seek(0)
        text, errors = out.read().decode(), err.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {errors[-2000:]}")
    return wall, usage.ru_maxrss / 1024, text


def repeat(cmd: list[str], n: int, env: dict[str, str] | None = None) -> dict[str, object]:
    walls, peaks, outs = [], [], []
    for _ in range(n):
        wall, peak, text = run_measured(cmd, env)
        walls.append(wall)
        peaks.append(peak)
        outs.append(text)
    return {"wall": statistics.median(walls), "walls": walls, "peak": statistics.median(peaks), "out": outs}


def child(task: str, path: str, n: int) -> dict[str, object]:
    runs = [json.loads(run_measured([sys.executable, "benchmarks/_child.py", task, path])[2]) for _ in range(n)]
    steps = {k: statistics.median(r["steps"][k] for r in runs) for k in runs[0]["steps"]}
    merged = dict(runs[0])
    merged["steps"] = steps
    merged["peak_rss_mb"] = statistics.median(r["peak_rss_mb"] for r in runs)
    return merged


def cli(path: str, n: int, *extra: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        return repeat([sys.executable, "-m", "rfm_core", "segment", path, "--out", f"{tmp}/s.csv", *extra], n)


# ---------------------------------------------------------------------------------------------------- report

def fmt_s(x: float) -> str:
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=5, help="runs per fast measurement (median reported)")
    ap.add_argument("--slow-repeats", type=int, default=3, help="runs per slow measurement")
    ap.add_argument("--no-100x", action="store_true", help="skip the 54-million-line data set")
    ap.add_argument("--no-spark", action="store_true", help="skip the Spark engine")
    ap.add_argument("--no-naive-xlsx", action="store_true", help="skip openpyxl (about 75 s a run)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    args = ap.parse_args()
    files = prepare(not args.no_100x)
    R, S = args.repeats, args.slow_repeats
    res: dict[str, dict[str, object]] = {}

    log("pipeline steps, 1x CSV")
    res["steps_csv_1x"] = child("pipeline", files["csv_1x"], R)
    log("pipeline steps, 10x CSV")
    res["steps_csv_10x"] = child("pipeline", files["csv_10x"], S)
    log("pipeline steps, 1x XLSX")
    res["steps_xlsx_1x"] = child("pipeline", files["xlsx_1x"], S)
    log("pipeline steps, 1x Parquet")
    res["steps_parquet_1x"] = child("pipeline", files["parquet_1x"], R)
    for key in ("csv_1x", "parquet_1x"):
        log(f"CLI {key}")
        res[f"cli_{key}"] = cli(files[key], R)
    for key in ("xlsx_1x", "csv_10x", "parquet_10x"):
        log(f"CLI {key}")
        res[f"cli_{key}"] = cli(files[key], S)
    log("CLI duckdb 1x, 10x CSV and Parquet")
    res["duck_csv_1x"] = cli(files["csv_1x"], R, "--engine", "duckdb")
    res["duck_parquet_1x"] = cli(files["parquet_1x"], R, "--engine", "duckdb")
    res["duck_csv_10x"] = cli(files["csv_10x"], S, "--engine", "duckdb")
    res["duck_parquet_10x"] = cli(files["parquet_10x"], S, "--engine", "duckdb")
    if "parquet_100x" in files:
        log("CLI duckdb 100x")
        res["duck_parquet_100x"] = cli(files["parquet_100x"], S, "--engine", "duckdb")
        res["auto_parquet_100x"] = cli(files["parquet_100x"], 1, "--engine", "auto")
    if not args.no_spark:
        try:
            import pyspark  # noqa: F401

            log("CLI spark 1x and 10x Parquet")
            res["spark_parquet_1x"] = cli(files["parquet_1x"], S, "--engine", "spark", "--spark-master", "local[2]")
            res["spark_parquet_10x"] = cli(files["parquet_10x"], S, "--engine", "spark", "--spark-master",
                                           "local[2]")
            if "parquet_100x" in files:
                log("CLI spark 100x")
                res["spark_parquet_100x"] = cli(files["parquet_100x"], 1, "--engine", "spark", "--spark-master",
                                                "local[2]")
        except ImportError:
            log("PySpark not installed: Spark skipped")
    log("naive baseline, 1x CSV")
    res["naive_csv_1x"] = child("naive", files["csv_1x"], S)
    res["naive_csv_1x_wall"] = repeat([sys.executable, "benchmarks/_child.py", "naive", files["csv_1x"]], S)
    res["naive_csv_10x_wall"] = repeat([sys.executable, "benchmarks/_child.py", "naive", files["csv_10x"]], 1)
    if not args.no_naive_xlsx:
        log("naive baseline, 1x XLSX with openpyxl (one run)")
        res["naive_xlsx_1x_wall"] = repeat([sys.executable, "benchmarks/_child.py", "naive", files["xlsx_1x"]], 1)
    write_report(args.out, files, res, R, S)
    log(f"wrote {args.out}")


def write_report(out: Path, files: dict[str, str], res: dict[str, dict[str, object]], fast: int, slow: int) -> None:
    import psutil

    def wall(key: str) -> float:
        return float(res[key]["wall"])  # type: ignore[arg-type]

    def peak(key: str) -> float:
        return float(res[key]["peak"])  # type: ignore[arg-type]

    lines = [
        "# Benchmark results", "",
        f"Written by `python benchmarks/run.py` on {dt.datetime.now():%Y-%m-%d %H:%M}. Data: {files['label']}.",
        f"Machine: {platform.platform()}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB; "
        f"Python {platform.python_version()}; pandas {version('pandas')}, numpy {version('numpy')}, "
        f"pyarrow {version('pyarrow')}, fastexcel {version('fastexcel')}, duckdb {version('duckdb')}"
        + (f", pyspark {version('pyspark')}" if "spark_parquet_1x" in res else "") + ".",
        f"Medians of {fast} runs (fast) or {slow} runs (slow) unless a row says otherwise; every figure from this one "
        "run, in fresh interpreters, on a shared machine (expect about ±20% run to run).", "",
        "## Targets", "",
        "| target | measured | met |", "|---|---|---|",
    ]
    steps1 = res["steps_csv_1x"]
    targets = [
        ("CLI end to end, 1x CSV, including interpreter start and imports", "≤ 1.5 s", wall("cli_csv_1x"), 1.5,
         fmt_s(wall("cli_csv_1x"))),
        ("CLI end to end, 1x XLSX", "≤ 5 s", wall("cli_xlsx_1x"), 5.0, fmt_s(wall("cli_xlsx_1x"))),
        ("Re-score after a threshold change (score, segment, summary, insights)", "≤ 50 ms",
         steps1["steps"]["re-score after a threshold change"], 0.05,  # type: ignore[index]
         fmt_s(steps1["steps"]["re-score after a threshold change"])),  # type: ignore[index]
        ("Transaction table in memory, 1x", "≤ 40 MB", steps1["tx_mb"], 40.0,
         f"{steps1['tx_mb']:.1f} MB"),
        ("CLI peak RSS, 1x CSV", "≤ 350 MB", peak("cli_csv_1x"), 350.0, f"{peak('cli_csv_1x'):.0f} MB"),
    ]
    for name, goal, value, limit, shown in targets:
        lines.append(f"| {name} ({goal}) | {shown} | {'yes' if value <= limit else '**no**'} |")
    t1 = sum(v for k, v in res["steps_csv_1x"]["steps"].items() if k in _CORE)  # type: ignore[union-attr]
    t10 = sum(v for k, v in res["steps_csv_10x"]["steps"].items() if k in _CORE)  # type: ignore[union-attr]
    lines.append(f"| Linear cost 1x → 10x (read to segments, imports excluded) | {fmt_s(t1)} → {fmt_s(t10)}, "
                 f"ratio {t10 / t1:.1f} | {'yes' if t10 / t1 <= 12 else '**no**'} |")
    if "duck_parquet_100x" in res:
        ok = "yes" if peak("duck_parquet_100x") < 2048 else "**no**"
        lines.append(f"| DuckDB on the 100x Parquet data set: peak RSS < 2 GB | {peak('duck_parquet_100x'):.0f} MB, "
                     f"{fmt_s(wall('duck_parquet_100x'))} | {ok} |")
    lines += ["", "## End to end, beside the naive way (same run)", "",
              "| input | this project | peak RSS | naive way | naive peak RSS | speed-up |",
              "|---|---|---|---|---|---|"]
    lines.append(f"| 1x CSV | {fmt_s(wall('cli_csv_1x'))} | {peak('cli_csv_1x'):.0f} MB | "
                 f"{fmt_s(wall('naive_csv_1x_wall'))} | {peak('naive_csv_1x_wall'):.0f} MB | "
                 f"{wall('naive_csv_1x_wall') / wall('cli_csv_1x'):.1f}x |")
    lines.append(f"| 10x CSV | {fmt_s(wall('cli_csv_10x'))} | {peak('cli_csv_10x'):.0f} MB | "
                 f"{fmt_s(wall('naive_csv_10x_wall'))} (1 run) | {peak('naive_csv_10x_wall'):.0f} MB | "
                 f"{wall('naive_csv_10x_wall') / wall('cli_csv_10x'):.1f}x |")
    if "naive_xlsx_1x_wall" in res:
        lines.append(f"| 1x XLSX | {fmt_s(wall('cli_xlsx_1x'))} | {peak('cli_xlsx_1x'):.0f} MB | "
                     f"{fmt_s(wall('naive_xlsx_1x_wall'))} (openpyxl, 1 run) | {peak('naive_xlsx_1x_wall'):.0f} MB | "
                     f"{wall('naive_xlsx_1x_wall') / wall('cli_xlsx_1x'):.1f}x |")
    naive = res["naive_csv_1x"]
    lines.append(f"\nNaive transaction table after cleaning (object strings): {naive['tx_mb']:.1f} MB, "
                 f"vs {steps1['tx_mb']:.1f} MB here.")
    lines += ["", "## Engines (CLI end to end, wall time and peak RSS)", "",
              "| input | pandas | DuckDB | Spark local[2] |", "|---|---|---|---|"]

    def cell(key: str) -> str:
        return f"{fmt_s(wall(key))}, {peak(key):.0f} MB" if key in res else "–"

    lines.append(f"| 1x CSV | {cell('cli_csv_1x')} | {cell('duck_csv_1x')} | – |")
    lines.append(f"| 1x Parquet | {cell('cli_parquet_1x')} | {cell('duck_parquet_1x')} | {cell('spark_parquet_1x')} |")
    lines.append(f"| 10x CSV | {cell('cli_csv_10x')} | {cell('duck_csv_10x')} | – |")
    lines.append(f"| 10x Parquet | {cell('cli_parquet_10x')} | {cell('duck_parquet_10x')} | "
                 f"{cell('spark_parquet_10x')} |")
    lines.append(f"| 100x Parquet (10 files) | not attempted (out of core is DuckDB's job) | "
                 f"{cell('duck_parquet_100x')} | {cell('spark_parquet_100x')} (1 run) |")
    if "auto_parquet_100x" in res:
        lines.append(f"\n`--engine auto` on the 100x data set chose DuckDB: {cell('auto_parquet_100x')} (1 run).")
    lines.append("\nSpark's peak RSS is the Python driver's only; the JVM runs in its own process.")
    lines += ["", "## Steps inside one process", "",
              "Median wall time per step, and the process RSS after it (peak for the whole run last).", "",
              "| step | 1x CSV | 1x XLSX | 1x Parquet | 10x CSV |", "|---|---|---|---|---|"]
    keys = ["steps_csv_1x", "steps_xlsx_1x", "steps_parquet_1x", "steps_csv_10x"]
    for step in res["steps_csv_1x"]["steps"]:  # type: ignore[union-attr]
        row = [step]
        for k in keys:
            v = res[k]["steps"][step]  # type: ignore[index]
            after = res[k]["rss_after"].get(step)  # type: ignore[union-attr]
            row.append(fmt_s(v) + (f" ({after:.0f} MB)" if after else ""))
        lines.append("| " + " | ".join(row) + " |")
    lines.append("| peak RSS | " + " | ".join(f"{res[k]['peak_rss_mb']:.0f} MB" for k in keys) + " |")
    lines.append("| transaction table in memory | " + " | ".join(f"{res[k]['tx_mb']:.1f} MB" for k in keys) + " |")
    lines.append("| customers | " + " | ".join(f"{res[k]['customers']:,}" for k in keys) + " |")
    lines += ["", "XLSX at 10x is not measured: a worksheet holds at most 1,048,576 rows.", ""]
    out.write_text("\n".join(lines))
    (out.parent / ".data" / "results.json").write_text(json.dumps(res, indent=1, default=str))


_CORE = {"read", "map (types, validation)", "clean (ledger)", "aggregate", "score + segment + summary"}

if __name__ == "__main__":
    main()
