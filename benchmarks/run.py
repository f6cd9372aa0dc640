"""Benchmarks: `python benchmarks/run.py` writes benchmarks/RESULTS.md; `--quick` is for development.

Data: the real Online Retail (../shared/data/online_retail.parquet) when present, else the project's generator at
the same size; written as CSV, XLSX and Parquet (1x), CSV and Parquet at 10x (XLSX cannot hold 5.4 M rows: Excel's
limit is 1,048,576 per sheet), and a 100x multi-file Parquet data set for the large-data engines. The workbook is
written the way Excel stores the UCI original: all-digit invoice and stock codes and customer ids as numbers,
dates as date cells, the rest as text. Copies k > 0 get their own invoice and customer ids, so 10x has ten times
the customers.

Every measurement runs in a fresh interpreter; wall time and peak RSS are that process's own (os.wait4). The
things a target compares (this project and the naive way, pandas and `auto`) run interleaved, one of each in
turn, so that the other developers' load on this shared machine falls on both alike; medians over the repeats.
A sampler records the machine's load all along (1-minute load average, and the CPU that processes outside this
benchmark used), reported with the results.
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
import threading
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / ".data"
OUTPUTS = DATA / "outputs"
REAL = ROOT.parent / "shared" / "data" / "online_retail.parquet"
sys.path.insert(0, str(ROOT))

Result = dict[str, Any]

# Figures from before this work that some targets are stated against (benchmarks/RESULTS.md of 2026-11-29).
DUCKDB_100X_BEFORE_S = 54.0
EXCEL_10X_BEFORE_S = 7.0


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


def write_excel_like(frame, path: Path) -> None:  # type: ignore[no-untyped-def]
    """The workbook as Excel stores the UCI file: numbers where a code is all digits, date cells, text elsewhere."""
    import openpyxl
    import pandas as pd

    def cell(value: object) -> object:
        if value is None or (isinstance(value, float) and value != value):
            return None
        if isinstance(value, str) and value.isdigit():
            return int(value)
        return value

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Online Retail")
    ws.append(list(frame.columns))
    dates = pd.to_datetime(frame["InvoiceDate"]).dt.to_pydatetime()
    date_col = list(frame.columns).index("InvoiceDate")
    for row, when in zip(frame.itertuples(index=False), dates, strict=True):
        cells = [cell(v) for v in row]
        cells[date_col] = when
        ws.append(cells)
    tmp = path.with_suffix(".tmp.xlsx")
    wb.save(tmp)
    tmp.rename(path)


def prepare(want_100x: bool, want_browser: bool) -> dict[str, str]:
    DATA.mkdir(parents=True, exist_ok=True)
    frame, label = base_frame()
    files = {"label": label}
    paths = {"csv_1x": DATA / "retail_1x.csv", "xlsx_1x": DATA / "retail_1x_excel.xlsx",
             "parquet_1x": DATA / "retail_1x.parquet", "csv_10x": DATA / "retail_10x.csv",
             "parquet_10x": DATA / "retail_10x.parquet"}
    if not paths["csv_1x"].exists():
        log("writing 1x CSV and Parquet")
        frame.to_csv(paths["csv_1x"], index=False)
        frame.to_parquet(paths["parquet_1x"], index=False)
    if not paths["xlsx_1x"].exists():
        log("writing the 1x workbook with openpyxl (about a minute)")
        write_excel_like(frame, paths["xlsx_1x"])
    if not paths["csv_10x"].exists():
        log("writing 10x CSV and Parquet")
        big = scaled(frame, 10)
        big.to_csv(paths["csv_10x"], index=False)
        big.to_parquet(paths["parquet_10x"], index=False)
        del big
    if want_browser:
        # Fails inside the app's preparation (no customer column) and is big enough to get a progress bar.
        bad = DATA / "retail_3x_no_customer.csv"
        if not bad.exists():
            scaled(frame, 3).drop(columns=["CustomerID"]).to_csv(bad, index=False)
        paths["bad_csv"] = bad
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


# -------------------------------------------------------------------------------------------- machine load

class LoadSampler(threading.Thread):
    """Every few seconds: the 1-minute load average, and the cores used by processes outside this benchmark."""

    def __init__(self, every: float = 5.0) -> None:
        super().__init__(daemon=True)
        self.every = every
        self.loadavg: list[float] = []
        self.others: list[float] = []
        self.stop = threading.Event()

    def _cpu(self) -> tuple[dict[int, float], set[int]]:
        import psutil

        me = psutil.Process()
        ours = {me.pid, *(p.pid for p in me.children(recursive=True))}
        used = {}
        for proc in psutil.process_iter(["cpu_times"]):
            times = proc.info["cpu_times"]
            if times is not None:
                used[proc.pid] = times.user + times.system
        return used, ours

    def run(self) -> None:
        before, _ = self._cpu()
        t = time.monotonic()
        while not self.stop.wait(self.every):
            now, ours = self._cpu()
            elapsed = time.monotonic() - t
            t = time.monotonic()
            others = sum(v - before[pid] for pid, v in now.items() if pid in before and pid not in ours)
            self.others.append(max(others, 0.0) / elapsed)
            self.loadavg.append(os.getloadavg()[0])
            before = now

    def summary(self) -> dict[str, float]:
        def q(xs: list[float], f: float) -> float:
            return sorted(xs)[min(len(xs) - 1, int(f * len(xs)))] if xs else float("nan")

        return {"samples": len(self.loadavg), "load_min": min(self.loadavg, default=float("nan")),
                "load_median": statistics.median(self.loadavg) if self.loadavg else float("nan"),
                "load_max": max(self.loadavg, default=float("nan")),
                "others_median": statistics.median(self.others) if self.others else float("nan"),
                "others_p90": q(self.others, 0.9), "others_max": max(self.others, default=float("nan"))}


# ------------------------------------------------------------------------------------------------- measuring

def run_measured(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str, float]:
    """(wall seconds, peak RSS MB, stdout, CPU seconds) of one process, from its own rusage.

    CPU seconds (user + system, of the process and the children it waited for) show what the run cost whatever
    the load; the targets are judged on wall time.
    """
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
    return wall, usage.ru_maxrss / 1024, text, usage.ru_utime + usage.ru_stime


def side_by_side(cmds: dict[str, list[str]], n: int) -> dict[str, Result]:
    """Each command n times, interleaved (a, b, c, a, b, c, ...); median wall and peak RSS per command."""
    walls: dict[str, list[float]] = {k: [] for k in cmds}
    peaks: dict[str, list[float]] = {k: [] for k in cmds}
    cpus: dict[str, list[float]] = {k: [] for k in cmds}
    outs: dict[str, list[str]] = {k: [] for k in cmds}
    for _ in range(n):
        for key, cmd in cmds.items():
            wall, peak, text, cpu = run_measured(cmd)
            walls[key].append(wall)
            peaks[key].append(peak)
            cpus[key].append(cpu)
            outs[key].append(text)
    return {k: {"wall": statistics.median(walls[k]), "walls": walls[k], "peak": statistics.median(peaks[k]),
                "cpu": statistics.median(cpus[k]), "out": outs[k]} for k in cmds}


def cli_cmd(key: str, path: str, *extra: str) -> list[str]:
    """The CLI on one input; its outputs go to benchmarks/.data/outputs/KEY/ (compared between engines)."""
    out = OUTPUTS / key
    out.mkdir(parents=True, exist_ok=True)
    return [sys.executable, "-m", "rfm_core", "segment", path, "--out", str(out / "segments.csv"),
            "--ledger", str(out / "ledger.csv"), *extra]


def naive_cmd(path: str) -> list[str]:
    return [sys.executable, "benchmarks/_child.py", "naive", path]


def child(task: str, path: str, n: int) -> Result:
    runs = [json.loads(run_measured([sys.executable, "benchmarks/_child.py", task, path])[2]) for _ in range(n)]
    steps = {k: statistics.median(r["steps"][k] for r in runs) for k in runs[0]["steps"]}
    merged = dict(runs[0])
    merged["steps"] = steps
    merged["peak_rss_mb"] = statistics.median(r["peak_rss_mb"] for r in runs)
    return merged


def same_output(a: str, b: str) -> tuple[bool, str]:
    """Do two CLI runs give the same customers (every column) and the same ledger? (ok, what differs)"""
    import pandas as pd

    def load(key: str, name: str, by: str) -> pd.DataFrame:
        frame = pd.read_csv(OUTPUTS / key / name, dtype={"customer_id": str})
        return frame.sort_values(by).reset_index(drop=True)

    seg_a, seg_b = load(a, "segments.csv", "customer_id"), load(b, "segments.csv", "customer_id")
    led_a, led_b = load(a, "ledger.csv", "reason"), load(b, "ledger.csv", "reason")
    problems = []
    if not led_a[["reason", "rows"]].equals(led_b[["reason", "rows"]]):
        problems.append("the ledgers differ")
    if list(seg_a.columns) != list(seg_b.columns) or not seg_a["customer_id"].equals(seg_b["customer_id"]):
        problems.append(f"different customers or columns ({len(seg_a):,} vs {len(seg_b):,} rows)")
    else:
        for col in seg_a.columns:
            x, y = seg_a[col], seg_b[col]
            if pd.api.types.is_float_dtype(x) and pd.api.types.is_float_dtype(y):
                differ = ~((x - y).abs() <= 1e-9 * x.abs().clip(lower=1.0)) & ~(x.isna() & y.isna())
            else:
                differ = (x.astype(str) != y.astype(str))
            if differ.any():
                problems.append(f"{col} differs for {int(differ.sum()):,} of {len(seg_a):,} customers")
    return not problems, "; ".join(problems)


# ---------------------------------------------------------------------------------------------------- report

def fmt_s(x: float) -> str:
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def _version(pkg: str) -> str:
    try:
        return version(pkg)
    except PackageNotFoundError:
        return "absent"


def clv_section() -> str:
    """benchmarks/clv_models.py's own section (`run() -> str`, by the CLV work), when that file is present."""
    if not (ROOT / "benchmarks" / "clv_models.py").exists():
        return ("## CLV models\n\nNot measured: benchmarks/clv_models.py (`run() -> str`, from the CLV work) is not "
                "on this branch yet; run.py includes its section once it is.\n")
    code = "import sys; sys.path.insert(0, 'benchmarks'); import clv_models; print(clv_models.run())"
    try:
        return run_measured([sys.executable, "-c", code])[2].strip() + "\n"
    except RuntimeError as exc:
        return f"## CLV models\n\nbenchmarks/clv_models.py failed: {str(exc)[-600:]}\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="development run: 2 and 1 repeats, no 100x, no Spark, one browser repetition; writes "
                         "benchmarks/.data/RESULTS-quick.md unless --out is given")
    ap.add_argument("--repeats", type=int, help="runs per fast measurement (median reported; default 5, quick 2)")
    ap.add_argument("--slow-repeats", type=int, help="runs per slow measurement (default 3, quick 1)")
    ap.add_argument("--no-100x", action="store_true", help="skip the 54-million-line data set")
    ap.add_argument("--no-auto-100x", action="store_true", help="skip the extra `--engine auto` run at 100x (auto "
                                                                 "takes DuckDB for a multi-file data set)")
    ap.add_argument("--no-spark", action="store_true", help="skip the Spark engine")
    ap.add_argument("--no-naive-xlsx", action="store_true", help="skip openpyxl (40-75 s a run)")
    ap.add_argument("--no-browser", action="store_true", help="skip the app timings in Chromium")
    ap.add_argument("--no-clv", action="store_true", help="skip benchmarks/clv_models.py's section")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--from-json", type=Path, help="only write the report again from a results.json of an earlier "
                                                    "run (its outputs in benchmarks/.data/outputs are compared anew)")
    args = ap.parse_args()
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        res, load, meta = saved["res"], saved["load"], saved["meta"]
        checks = {(a, b): same_output(a, b) for a, b in _PAIRS
                  if (OUTPUTS / a / "segments.csv").exists() and (OUTPUTS / b / "segments.csv").exists()}
        out = args.out or ROOT / "benchmarks" / "RESULTS.md"
        write_report(out, meta["files"], res, checks, load, meta["clv"], meta["fast"], meta["slow"], meta["quick"],
                     meta["when"])
        log(f"wrote {out} from {args.from_json}")
        return
    quick = args.quick
    R = args.repeats or (2 if quick else 5)
    S = args.slow_repeats or (1 if quick else 3)
    no_100x, no_spark = args.no_100x or quick, args.no_spark or quick
    browser = not args.no_browser and Path("/usr/bin/chromium").exists()
    out = args.out or (DATA / "RESULTS-quick.md" if quick else ROOT / "benchmarks" / "RESULTS.md")
    files = prepare(not no_100x, browser)
    files["command"] = " ".join(["python benchmarks/run.py", *sys.argv[1:]])
    if OUTPUTS.exists():  # outputs of an earlier run must not be compared with this one's
        import shutil

        shutil.rmtree(OUTPUTS)
    sampler = LoadSampler()
    start_load = os.getloadavg()
    sampler.start()
    t_start = time.perf_counter()
    res: dict[str, Any] = {}

    log("1x CSV: CLI and naive pandas, interleaved")
    res.update(side_by_side({"cli_csv_1x": cli_cmd("pandas_csv_1x", files["csv_1x"]),
                             "naive_csv_1x": naive_cmd(files["csv_1x"])}, R))
    log("1x XLSX: CLI" + ("" if args.no_naive_xlsx else " and naive openpyxl, interleaved"))
    xl = {"cli_xlsx_1x": cli_cmd("pandas_xlsx_1x", files["xlsx_1x"])}
    if not args.no_naive_xlsx:
        xl["naive_xlsx_1x"] = naive_cmd(files["xlsx_1x"])
    res.update(side_by_side(xl, S))
    log("10x CSV: CLI default engine, CLI --engine auto, naive pandas, interleaved")
    res.update(side_by_side({"cli_csv_10x": cli_cmd("pandas_csv_10x", files["csv_10x"]),
                             "auto_csv_10x": cli_cmd("auto_csv_10x", files["csv_10x"], "--engine", "auto"),
                             "naive_csv_10x": naive_cmd(files["csv_10x"])}, S))
    log("Parquet 1x and 10x, pandas and DuckDB")
    res.update(side_by_side({"cli_parquet_1x": cli_cmd("pandas_parquet_1x", files["parquet_1x"]),
                             "duck_parquet_1x": cli_cmd("duck_parquet_1x", files["parquet_1x"], "--engine", "duckdb"),
                             "duck_csv_1x": cli_cmd("duck_csv_1x", files["csv_1x"], "--engine", "duckdb")}, R))
    res.update(side_by_side({"cli_parquet_10x": cli_cmd("pandas_parquet_10x", files["parquet_10x"]),
                             "duck_parquet_10x": cli_cmd("duck_parquet_10x", files["parquet_10x"], "--engine",
                                                         "duckdb"),
                             "duck_csv_10x": cli_cmd("duck_csv_10x", files["csv_10x"], "--engine", "duckdb")}, S))
    if not no_100x:
        log("DuckDB on the 100x data set")
        res.update(side_by_side({"duck_parquet_100x": cli_cmd("duck_parquet_100x", files["parquet_100x"],
                                                              "--engine", "duckdb")}, S))
        if not args.no_auto_100x:
            res.update(side_by_side({"auto_parquet_100x": cli_cmd("auto_parquet_100x", files["parquet_100x"],
                                                                  "--engine", "auto")}, 1))
    if not no_spark:
        try:
            import pyspark  # noqa: F401

            spark = ("--engine", "spark", "--spark-master", "local[2]")
            log("Spark local[2] on 1x and 10x Parquet")
            res.update(side_by_side({"spark_parquet_1x": cli_cmd("spark_parquet_1x", files["parquet_1x"], *spark),
                                     "spark_parquet_10x": cli_cmd("spark_parquet_10x", files["parquet_10x"], *spark)},
                                    S))
            if not no_100x:
                log("Spark local[2] on the 100x data set (one run)")
                res.update(side_by_side({"spark_parquet_100x": cli_cmd("spark_parquet_100x", files["parquet_100x"],
                                                                       *spark)}, 1))
        except ImportError:
            log("PySpark not installed: Spark skipped")
    log("steps inside one process")
    res["steps_csv_1x"] = child("pipeline", files["csv_1x"], R)
    res["steps_xlsx_1x"] = child("pipeline", files["xlsx_1x"], S)
    res["steps_parquet_1x"] = child("pipeline", files["parquet_1x"], R)
    res["steps_csv_10x"] = child("pipeline", files["csv_10x"], S)
    res["naive_steps_csv_1x"] = child("naive", files["csv_1x"], 1)
    checks = {(a, b): same_output(a, b) for a, b in _PAIRS
              if (OUTPUTS / a / "segments.csv").exists() and (OUTPUTS / b / "segments.csv").exists()}
    if browser:
        log("app timings in Chromium")
        with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
            cmd = [sys.executable, "benchmarks/app_timings.py", "--xlsx", files["xlsx_1x"], "--bad", files["bad_csv"],
                   "--repeats", str(1 if quick else 3), "--json", tmp.name]
            try:
                run_measured(cmd)
                res["app"] = json.loads(Path(tmp.name).read_text())
            except RuntimeError as exc:
                res["app_error"] = str(exc).strip().splitlines()[-1][:300]
    clv = "" if args.no_clv else clv_section()
    sampler.stop.set()
    sampler.join()
    load = sampler.summary()
    load["start"] = start_load[0]
    load["minutes"] = (time.perf_counter() - t_start) / 60
    when = f"{dt.datetime.now():%Y-%m-%d %H:%M}"
    (DATA / ("results-quick.json" if quick else "results.json")).write_text(json.dumps(
        {"res": res, "load": load, "meta": {"files": files, "clv": clv, "fast": R, "slow": S, "quick": quick,
                                            "when": when}}, indent=1, default=str))
    write_report(out, files, res, checks, load, clv, R, S, quick, when)
    log(f"wrote {out}")


_PAIRS = [("pandas_parquet_1x", "duck_parquet_1x"), ("pandas_parquet_1x", "spark_parquet_1x"),
          ("pandas_parquet_10x", "duck_parquet_10x"), ("pandas_parquet_10x", "spark_parquet_10x"),
          ("pandas_csv_1x", "pandas_xlsx_1x"), ("pandas_csv_10x", "auto_csv_10x"),
          ("duck_parquet_100x", "spark_parquet_100x")]


def write_report(out: Path, files: dict[str, str], res: dict[str, Any], checks: dict[tuple[str, str], tuple[bool, str]],
                 load: dict[str, float], clv: str, fast: int, slow: int, quick: bool, when: str) -> None:
    import psutil

    def wall(key: str) -> float:
        return float(res[key]["wall"])

    def peak(key: str) -> float:
        return float(res[key]["peak"])

    def runs(key: str) -> str:
        return ", ".join(fmt_s(w) for w in res[key]["walls"])

    lines = [
        "# Benchmark results" + (" (quick run: fewer repeats, not the record)" if quick else ""), "",
        f"Written by `{files.get('command', 'python benchmarks/run.py' + (' --quick' if quick else ''))}` on {when}. "
        f"Data: {files['label']}.",
        f"Machine: {platform.platform()}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB; "
        f"Python {platform.python_version()}; pandas {_version('pandas')}, numpy {_version('numpy')}, "
        f"pyarrow {_version('pyarrow')}, fastexcel {_version('fastexcel')}, duckdb {_version('duckdb')}"
        + (f", pyspark {_version('pyspark')}" if "spark_parquet_1x" in res else "")
        + (f", streamlit {_version('streamlit')}, Chromium {res['app']['chromium']}" if "app" in res else "") + ".",
        f"Medians of {fast} runs (fast) or {slow} runs (slow) unless a row says otherwise; every figure from this one "
        "run, in fresh interpreters. What a target compares ran interleaved (one of each in turn).",
        "",
        f"**Machine load.** The machine is shared with other developers. Over this run ({load['minutes']:.0f} min, "
        f"{load['samples']:.0f} samples every 5 s) the 1-minute load average was {load['load_min']:.1f} to "
        f"{load['load_max']:.1f} (median {load['load_median']:.1f}; {load['start']:.1f} at the start) on "
        f"{os.cpu_count()} cores, and processes outside this benchmark used a median of {load['others_median']:.2f} "
        f"cores (90th percentile {load['others_p90']:.2f}, max {load['others_max']:.2f}). Figures from a quiet "
        "machine would be lower; the ratios are the fairer comparison.", "",
        "## Targets", "",
        "| target | goal | measured | met |", "|---|---|---|---|",
    ]

    def target(name: str, goal: str, shown: str, ok: bool | None) -> None:
        verdict = "not measured" if ok is None else ("yes" if ok else "**no**")
        lines.append(f"| {name} | {goal} | {shown} | {verdict} |")

    def cpu(key: str) -> str:
        return f" (CPU {fmt_s(float(res[key]['cpu']))})" if "cpu" in res[key] else ""

    x_cli = wall("cli_xlsx_1x")
    target("CLI end to end, 1x XLSX (issue 13)", "≤ 2.8 s", fmt_s(x_cli) + cpu("cli_xlsx_1x"), x_cli <= 2.8)
    if "naive_xlsx_1x" in res:
        ratio = wall("naive_xlsx_1x") / x_cli
        target("CLI 1x XLSX vs naive openpyxl + pandas, same run (issue 13)", "≥ 10x faster",
               f"{ratio:.1f}x ({fmt_s(x_cli)} vs {fmt_s(wall('naive_xlsx_1x'))})", ratio >= 10)
    else:
        target("CLI 1x XLSX vs naive openpyxl + pandas (issue 13)", "≥ 10x faster", "naive run skipped", None)
    ratio = wall("naive_csv_1x") / wall("cli_csv_1x")
    target("CLI 1x CSV vs naive pandas, same run (issue 13)", "never slower (≥ 1.0x)",
           f"{ratio:.2f}x ({fmt_s(wall('cli_csv_1x'))} vs {fmt_s(wall('naive_csv_1x'))})", ratio >= 1.0)
    best = min(wall("cli_csv_10x"), wall("auto_csv_10x"))
    ratio = wall("naive_csv_10x") / best
    target("CLI 10x CSV vs naive pandas, default or `auto` engine (issue 13, phase 2)", "≥ 3x faster",
           f"{ratio:.2f}x (default {fmt_s(wall('cli_csv_10x'))}, auto {fmt_s(wall('auto_csv_10x'))}, naive "
           f"{fmt_s(wall('naive_csv_10x'))})", ratio >= 3)
    if "duck_parquet_100x" in res:
        d = wall("duck_parquet_100x")
        target("DuckDB, 100x Parquet data set (issue 13, phase 2)", f"≥ 3x faster than {DUCKDB_100X_BEFORE_S:.0f} s "
               f"(≤ {DUCKDB_100X_BEFORE_S / 3:.1f} s)",
               f"{fmt_s(d)} ({DUCKDB_100X_BEFORE_S / d:.2f}x){cpu('duck_parquet_100x')}", d <= DUCKDB_100X_BEFORE_S / 3)
        p = peak("duck_parquet_100x")
        target("DuckDB, 100x Parquet data set: peak RSS", "< 2 GB", f"{p:.0f} MB", p < 2048)
    else:
        target("DuckDB, 100x Parquet data set (issue 13, phase 2)", "≥ 3x faster than 54 s, < 2 GB", "skipped", None)
    spark_pairs = [(a, b) for a, b in checks if "spark" in b]
    if spark_pairs:
        ok = all(checks[p][0] for p in spark_pairs)
        shown = "; ".join(f"{b.replace('spark_', '')} vs {a.split('_')[0]}: "
                          f"{'identical' if checks[(a, b)][0] else checks[(a, b)][1]}" for a, b in spark_pairs)
        if "spark_parquet_100x" in res:
            shown += (f". 100x: Spark {fmt_s(wall('spark_parquet_100x'))} (1 run) beside DuckDB "
                      f"{fmt_s(wall('duck_parquet_100x'))}")
        target("Spark local mode: same customers and ledger as pandas (1x, 10x) and DuckDB (100x)", "identical", shown,
               ok)
    else:
        target("Spark local mode: same customers and ledger", "identical", "Spark skipped", None)
    if "app" in res:
        app = res["app"]
        ratio = app["upload_median"] / app["cli_median"]
        target("App: upload of the 1x XLSX to the first full result vs the CLI on the same file, same run",
               "≤ 1.5x", f"{ratio:.2f}x ({fmt_s(app['upload_median'])} vs {fmt_s(app['cli_median'])})", ratio <= 1.5)
        sc = app["settings_change_median"]
        target("App: a settings change to the updated page, median", "< 0.5 s",
               f"{fmt_s(sc)} (median of {len(app['settings_change'])})", sc < 0.5)
        firsts = {k: v for k, v in app["pages_median"].items() if not k.endswith("(second visit)")}
        slow_pages = {k: v for k, v in firsts.items() if v >= 2 and k != "Lifetime value"}
        worst = max((k for k in firsts if k != "Lifetime value"), key=lambda k: firsts[k])
        n_pages = sum(": tab " not in k for k in firsts) + 1
        tabs = " and the Charts page's closed tabs opened" if n_pages <= len(firsts) else ""
        target(f"App: every page's first render after upload ({n_pages} pages with Data{tabs}; Lifetime value "
               "excepted on first fit)", "< 2 s each",
               f"slowest {worst} {fmt_s(firsts[worst])}" + (
                   f"; over 2 s: {', '.join(f'{k} {fmt_s(v)}' for k, v in slow_pages.items())}" if slow_pages
                   else ""), not slow_pages)
        err = app.get("error_check")
        if err:
            bar_ok = all(app["upload_progress"]) and err["bar_shown"] and err["bar_left_after_error"] == 0
            target("App: a progress bar on a step over 1 s, never left on screen after an error", "shown; gone",
                   f"bar seen during {sum(app['upload_progress'])} of {len(app['upload_progress'])} XLSX uploads; "
                   f"failing upload: bar {'seen' if err['bar_shown'] else 'not seen'}, "
                   f"{err['bar_left_after_error']} left after the error", bar_ok)
    else:
        target("App timings in Chromium", "see issue 13", res.get("app_error", "skipped (--no-browser)")[:200], None)
    excel10 = res["steps_csv_10x"]["steps"]["export Excel workbook"]
    target("Export: Excel workbook at 10x (the `ship` branch's target)", f"< half of {EXCEL_10X_BEFORE_S:.0f} s "
           f"(< {EXCEL_10X_BEFORE_S / 2:.1f} s)", fmt_s(excel10), excel10 < EXCEL_10X_BEFORE_S / 2)
    steps1 = res["steps_csv_1x"]
    target("CLI end to end, 1x CSV, including interpreter start and imports (first release)", "≤ 1.5 s",
           fmt_s(wall("cli_csv_1x")) + cpu("cli_csv_1x"), wall("cli_csv_1x") <= 1.5)
    rescore = steps1["steps"]["re-score after a threshold change"]
    target("Re-score after a threshold change (score, segment, summary, insights)", "≤ 50 ms", fmt_s(rescore),
           rescore <= 0.05)
    target("Transaction table in memory, 1x", "≤ 40 MB", f"{steps1['tx_mb']:.1f} MB", steps1["tx_mb"] <= 40)
    target("CLI peak RSS, 1x CSV", "≤ 350 MB", f"{peak('cli_csv_1x'):.0f} MB", peak("cli_csv_1x") <= 350)
    t1 = sum(v for k, v in res["steps_csv_1x"]["steps"].items() if k in _CORE)
    t10 = sum(v for k, v in res["steps_csv_10x"]["steps"].items() if k in _CORE)
    target("Linear cost 1x → 10x (read to segments, imports excluded)", "ratio ≤ 12",
           f"{fmt_s(t1)} → {fmt_s(t10)}, ratio {t10 / t1:.1f}", t10 / t1 <= 12)

    lines += ["", "## End to end, beside the naive way (interleaved, same run)", "",
              "| input | this project (CLI) | peak RSS | CPU | naive way | naive peak RSS | naive CPU | speed-up "
              "| runs (this / naive) |",
              "|---|---|---|---|---|---|---|---|---|"]

    def vs(label: str, ours: str, naive: str, naive_label: str = "") -> None:
        if ours in res and naive in res:
            lines.append(f"| {label} | {fmt_s(wall(ours))} | {peak(ours):.0f} MB | {cpu(ours).strip(' ()CPU')} | "
                         f"{fmt_s(wall(naive))}{naive_label} | {peak(naive):.0f} MB | "
                         f"{cpu(naive).strip(' ()CPU')} | {wall(naive) / wall(ours):.1f}x | "
                         f"{runs(ours)} / {runs(naive)} |")

    vs("1x CSV", "cli_csv_1x", "naive_csv_1x")
    vs("1x XLSX", "cli_xlsx_1x", "naive_xlsx_1x", " (openpyxl)")
    vs("10x CSV", "cli_csv_10x", "naive_csv_10x")
    vs("10x CSV, `--engine auto`", "auto_csv_10x", "naive_csv_10x")
    lines.append("\nCPU is the process's own user + system time (median); pyarrow and DuckDB use both cores, so it can "
                 "exceed the wall time.")
    naive = res["naive_steps_csv_1x"]
    lines.append(f"\nThe naive way: `pd.read_excel` (openpyxl) or `pd.read_csv`, object strings, `groupby().agg` with "
                 f"lambdas (benchmarks/_child.py). Its transaction table after cleaning: {naive['tx_mb']:.1f} MB, vs "
                 f"{steps1['tx_mb']:.1f} MB here.")
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
    if "auto_csv_10x" in res:
        lines.append(f"\n`--engine auto` on the 10x CSV: {cell('auto_csv_10x')}.")
    if "auto_parquet_100x" in res:
        lines.append(f"`--engine auto` on the 100x data set: {cell('auto_parquet_100x')} (1 run).")
    lines.append("\nSpark's peak RSS is the Python driver's only; the JVM runs in its own process.")
    if checks:
        lines += ["", "Same output (customers with every column, and the ledger) between runs of this benchmark:", ""]
        for (a, b), (ok, why) in checks.items():
            lines.append(f"- {a} vs {b}: {'identical' if ok else 'different: ' + why}")
        if any(not ok and all("_score differs" in part for part in why.split("; ")) for ok, why in checks.values()):
            lines.append("\nWhere only scores differ, the monetary values agree to 1e-9 (and as exported): the engines "
                         "add the same amounts in a different order, so customers with equal spend get sums that "
                         "differ in the last bits (DuckDB: 2055.51 for some copies of a customer, 2055.5099999999993 "
                         "for others) and fall on different sides of a quantile edge. Not a benchmark artefact; "
                         "see the report to the lead.")
    if "app" in res:
        app = res["app"]
        lines += ["", "## The app in Chromium (browser clock)", "",
                  f"`benchmarks/app_timings.py`: headless Chromium {app['chromium']} against `streamlit run`, a fresh "
                  f"server and browser context for each of {app['repeats']} repetitions; times from "
                  "`performance.now()` in the page, from the user's event (file chosen, link clicked, key pressed) "
                  "to the first painted frame after the run finished with nothing stale and every chart drawn.", "",
                  "The last column is the part of the median after the (first) script run ended: the browser's "
                  "drawing, Plotly's above all.", "",
                  "| what | median | runs | after the script run |", "|---|---|---|---|",
                  f"| opening the app → Data page on the sample (Plotly's bundle loads here) | "
                  f"{fmt_s(app['open_median'])} | {', '.join(fmt_s(x) for x in app['open'])} | |",
                  f"| upload {app['file']} → first full result (Data page) | {fmt_s(app['upload_median'])} | "
                  f"{', '.join(fmt_s(x) for x in app['upload'])} | {fmt_s(app['after_script_median']['upload'])} |",
                  f"| CLI on the same file, between the repetitions | {fmt_s(app['cli_median'])} | "
                  f"{', '.join(fmt_s(x) for x in app['cli'])} | |",
                  f"| settings change (recency bins ±1) → updated Settings page | "
                  f"{fmt_s(app['settings_change_median'])} | {', '.join(fmt_s(x) for x in app['settings_change'])} "
                  "| |"]
        for name, times in app["pages"].items():
            lines.append(f"| first render: {name} | {fmt_s(app['pages_median'][name])} | "
                         f"{', '.join(fmt_s(x) for x in times)} | {fmt_s(app['after_script_median'][name])} |")
        err = app.get("error_check")
        if err:
            lines.append(f"\nA {Path(files['bad_csv']).stat().st_size / 1e6:.0f} MB CSV without a customer column "
                         f"(fails inside the preparation): error shown after {fmt_s(err['seconds'])}, progress bar "
                         f"{'seen' if err['bar_shown'] else 'not seen'} during the run, {err['bar_left_after_error']} "
                         f"left on screen after it. Error: “{err['error'].splitlines()[0][:160]}”")
    lines += ["", "## Steps inside one process", "",
              "Median wall time per step, and the process RSS after it (peak for the whole run last).", "",
              "| step | 1x CSV | 1x XLSX | 1x Parquet | 10x CSV |", "|---|---|---|---|---|"]
    keys = ["steps_csv_1x", "steps_xlsx_1x", "steps_parquet_1x", "steps_csv_10x"]
    for step in res["steps_csv_1x"]["steps"]:
        row = [step]
        for k in keys:
            v = res[k]["steps"][step]
            after = res[k]["rss_after"].get(step)
            row.append(fmt_s(v) + (f" ({after:.0f} MB)" if after else ""))
        lines.append("| " + " | ".join(row) + " |")
    lines.append("| peak RSS | " + " | ".join(f"{res[k]['peak_rss_mb']:.0f} MB" for k in keys) + " |")
    lines.append("| transaction table in memory | " + " | ".join(f"{res[k]['tx_mb']:.1f} MB" for k in keys) + " |")
    lines.append("| customers | " + " | ".join(f"{res[k]['customers']:,}" for k in keys) + " |")
    lines += ["", "XLSX at 10x is not measured: a worksheet holds at most 1,048,576 rows.", ""]
    if clv:
        lines += [clv]
    # benchmarks/load.py's section (issue 15) is its own run: keep it, from its marker to the end.
    kept = out.read_text().split(LOAD_MARKER, 1) if out.exists() else []
    if len(kept) == 2:
        lines += ["", LOAD_MARKER + kept[1].rstrip("\n")]
    out.write_text("\n".join(lines) + "\n")


#: Where benchmarks/load.py's section starts in RESULTS.md.
LOAD_MARKER = "<!-- load:begin -->"


_CORE = {"read", "map (types, validation)", "clean (ledger)", "aggregate", "score + segment + summary"}

if __name__ == "__main__":
    main()
