"""Load benchmark (issue 15): N analysts at once, each uploading its own file, against one `streamlit run` server.

Not part of the test suite. Run::

    python benchmarks/load.py                 # 20 sessions, 2 waves, 300 s of idle after each wave
    python benchmarks/load.py -n 4 --after 60 --waves 1 --no-write   # a quick look

What it does, per wave:

1. writes N variants of the real Online Retail CSV (../shared/data; the real file's size, 541,909 lines): variant
   ``k`` adds ``(k + 1) * 100000`` to every customer id (no two files share an id), scales prices by
   ``1 + k/100`` and drops every line of the ``10 * k`` customers with the lowest ids, so every file has its own
   customer count. The expected count of each file is computed by the independent DuckDB reference SQL
   (tests/engine/test_duckdb_reference.py), never by the app;
2. opens N browser contexts in ONE headless Chromium (Playwright, asyncio) and, in every one at the same time,
   uploads its file, waits for the Data page to show the result, reads the Customers metric and the sidebar's file
   name, opens Settings and moves the recency bins slider once (the settings-change time), then goes back to
   Data and checks the count and the name again (isolation: a session that showed another's file name or count
   would be reported);
3. closes every context at once and keeps sampling the server's RSS (psutil, the streamlit process and its
   children, every second) for ``--after`` seconds.

Before the first wave, a warm-up session loads the app once (imports, the bundled sample) and closes; the
pre-load RSS is the median over the 10 s before the wave starts. Results go to benchmarks/RESULTS.md between the
``<!-- load:begin -->`` / ``<!-- load:end -->`` markers (the rest of the file is left as it is) and the RSS curve
to benchmarks/load_rss.png (matplotlib).

Times are from the Python side (``time.monotonic``) around each browser action: they include Playwright's own
round trips (milliseconds), which are small beside what is measured here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser.helpers import _RUN_STARTED, _SETTLED  # noqa: E402  (the suite's run-aware wait, as JS)

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHARED = Path(os.environ.get("RFM_SHARED_DATA", ROOT.parent / "shared" / "data"))
REAL = SHARED / "online_retail.parquet"
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
PLOT = ROOT / "benchmarks" / "load_rss.png"
FILES = ROOT / "benchmarks" / ".data" / "load"  # the variant files, kept between runs (git-ignored)
BEGIN, END = "<!-- load:begin -->", "<!-- load:end -->"
HISTORY = "<!-- load:history -->"  # from here to END: earlier runs, kept when a new run rewrites the section
MB = 1e6


# ---- the files -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Variant:
    path: Path
    customers: int  # by the DuckDB reference SQL
    lines: int
    mb: float


def write_variants(folder: Path, first: int, n: int) -> list[Variant]:
    """Variants ``first .. first + n - 1`` of the real file as CSV, each with its count from DuckDB.

    Kept in ``folder`` with their counts (``counts.json``) for the next run: writing and counting one takes ~10 s.
    """
    import duckdb
    import pandas as pd

    from tests.engine.test_duckdb_reference import REFERENCE_SQL

    folder.mkdir(parents=True, exist_ok=True)
    known_file = folder / "counts.json"
    known: dict[str, list[float]] = json.loads(known_file.read_text()) if known_file.exists() else {}
    real = pd.read_parquet(REAL)
    ids = sorted(real["CustomerID"].dropna().unique())
    out = []
    for k in range(first, first + n):
        path = folder / f"retail_variant_{k:02d}.csv"
        if path.name in known and path.exists() and path.stat().st_size == known[path.name][2]:
            customers, lines, size = known[path.name]
            out.append(Variant(path, int(customers), int(lines), size / MB))
            continue
        frame = real[~real["CustomerID"].isin(ids[:10 * k])].copy()
        frame["CustomerID"] = frame["CustomerID"] + (k + 1) * 100_000
        frame["UnitPrice"] = (frame["UnitPrice"] * (1 + k / 100)).round(2)
        frame.to_csv(path, index=False)
        counted = duckdb.sql(f"SELECT count(*) FROM ({REFERENCE_SQL.format(path=path)})")
        assert counted is not None
        customers = int(counted.fetchall()[0][0])
        out.append(Variant(path, customers, len(frame), path.stat().st_size / MB))
        known[path.name] = [customers, len(frame), path.stat().st_size]
        known_file.write_text(json.dumps(known))
    return out


# ---- the server and its memory ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(log: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env={**os.environ, **env, "PYTHONUNBUFFERED": "1"}, stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit("the streamlit server did not become healthy within 90 s")


class RssSampler:
    """The server's RSS (its process and children), sampled every ``every`` seconds in a thread."""

    def __init__(self, pid: int, every: float = 1.0) -> None:
        self.proc = psutil.Process(pid)
        self.every = every
        self.samples: list[tuple[float, float]] = []  # (seconds since start, MB)
        self.marks: list[tuple[float, str]] = []
        self.t0 = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss_mb(self) -> float:
        total = 0
        for p in [self.proc, *self.proc.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):  # a child that just ended
                total += p.memory_info().rss
        return total / MB

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append((time.monotonic() - self.t0, self.rss_mb()))
            except psutil.Error:
                return
            self._stop.wait(self.every)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def now(self) -> float:
        return time.monotonic() - self.t0

    def mark(self, label: str) -> float:
        t = self.now()
        self.marks.append((t, label))
        return t

    def between(self, a: float, b: float) -> list[float]:
        return [mb for t, mb in self.samples if a <= t <= b]

    def at(self, t: float) -> float | None:
        after = [mb for s, mb in self.samples if s >= t]
        return after[0] if after else None


# ---- one analyst -----------------------------------------------------------------------------------------------

@dataclass
class SessionResult:
    name: str
    expected: int
    upload_s: float | None = None
    settings_open_s: float | None = None
    settings_change_s: float | None = None
    shown: int | None = None
    shown_after: int | None = None
    names_seen: list[str] = field(default_factory=list)
    evicted_note: bool = False
    error: str | None = None

    @property
    def right(self) -> bool:
        return self.error is None and self.shown == self.expected == self.shown_after

    @property
    def isolated(self) -> bool:
        return all(n == self.name for n in self.names_seen) and bool(self.names_seen)


async def settle(page: Any, timeout: float = 900_000, grace: float = 5_000) -> None:
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    try:
        await page.wait_for_function(_RUN_STARTED, timeout=grace)
        need_run = True
    except PlaywrightTimeout:
        need_run = False
    await page.wait_for_function(_SETTLED, arg=need_run, timeout=timeout)


async def metric(page: Any, label: str) -> int:
    box = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
    return int((await box.get_by_test_id("stMetricValue").inner_text()).strip().replace(",", ""))


async def sidebar_file(page: Any) -> str:
    text = await page.get_by_test_id("stSidebar").inner_text()
    for line in text.splitlines():
        if line.startswith("File:"):
            return line.removeprefix("File:").strip()
    return ""


async def open_page(page: Any, name: str) -> None:
    nav = page.get_by_test_id("stSidebarNav")
    link = nav.get_by_role("link", name=name, exact=True)
    await link.click()
    await settle(page)


async def analyst(browser: Any, url: str, variant: Variant, start: asyncio.Event, done: asyncio.Event,
                  contexts: list[Any], finished: list[str]) -> SessionResult:
    res = SessionResult(variant.path.name, variant.customers)
    context = await browser.new_context(viewport={"width": 1200, "height": 1400})
    contexts.append(context)
    page = await context.new_page()
    page.set_default_timeout(900_000)
    try:
        await page.goto(url)
        await settle(page)
        await start.wait()
        t = time.monotonic()
        await page.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(str(variant.path))
        await page.get_by_text(f"Current file: {variant.path.name}").wait_for(timeout=900_000)
        await settle(page)
        await page.get_by_test_id("stMetric").first.wait_for()
        res.upload_s = time.monotonic() - t
        res.shown = await metric(page, "Customers")
        res.names_seen.append(await sidebar_file(page))
        res.evicted_note |= await page.get_by_text("Recomputing: the server dropped").count() > 0

        t = time.monotonic()
        await open_page(page, "Settings")
        res.settings_open_s = time.monotonic() - t
        res.evicted_note |= await page.get_by_text("Recomputing: the server dropped").count() > 0
        slider = page.get_by_role("slider").first
        await slider.focus()
        t = time.monotonic()
        await slider.press("ArrowLeft")
        await settle(page)
        res.settings_change_s = time.monotonic() - t
        res.names_seen.append(await sidebar_file(page))

        await open_page(page, "Data")
        res.shown_after = await metric(page, "Customers")
        res.names_seen.append(await sidebar_file(page))
        res.evicted_note |= await page.get_by_text("Recomputing: the server dropped").count() > 0
        if await page.get_by_test_id("stException").count():
            res.error = "an exception box on the page"
    except Exception as exc:  # a benchmark reports every failure and goes on with the other sessions
        res.error = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}"
    finished.append(res.name)
    await done.wait()  # every session stays open until the last has finished: they close together
    return res


async def wave(url: str, variants: list[Variant]) -> tuple[list[SessionResult], float]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        start, done = asyncio.Event(), asyncio.Event()
        contexts: list[Any] = []
        finished: list[str] = []
        tasks = [asyncio.create_task(analyst(browser, url, v, start, done, contexts, finished)) for v in variants]
        while len(contexts) < len(variants) and not any(t.done() for t in tasks):
            await asyncio.sleep(0.2)
        await asyncio.sleep(2)  # every page has loaded the app (settle inside) before the uploads start together
        start.set()
        t0 = time.monotonic()

        while len(finished) < len(tasks):
            await asyncio.sleep(0.5)
        elapsed = time.monotonic() - t0
        done.set()
        results = [await t for t in tasks]
        for c in contexts:
            await c.close()
        await browser.close()
    return results, elapsed


async def warm_up(url: str) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = await browser.new_page()
        await page.goto(url)
        await settle(page)
        await open_page(page, "Overview")
        await browser.close()


# ---- the report ------------------------------------------------------------------------------------------------

def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def summary(label: str, results: list[SessionResult], sampler: RssSampler, t_start: float, t_closed: float,
            after: float, baseline: float, margin: float) -> dict[str, Any]:
    peak = max(sampler.between(t_start, t_closed + after) or [float("nan")])
    back = next((t - t_closed for t, mb in sampler.samples
                 if t_closed <= t <= t_closed + after and mb <= baseline + margin), None)
    at = {s: sampler.at(t_closed + s) for s in (60, 120, 180, 240, after)}
    return {
        "wave": label, "sessions": len(results), "errors": [r.error for r in results if r.error],
        "right": sum(r.right for r in results), "isolated": sum(r.isolated for r in results),
        "evicted_notes": sum(r.evicted_note for r in results),
        "upload_median_s": median([r.upload_s for r in results if r.upload_s is not None]),
        "upload_max_s": max([r.upload_s for r in results if r.upload_s is not None] or [float("nan")]),
        "settings_open_median_s": median([r.settings_open_s for r in results if r.settings_open_s is not None]),
        "settings_open_max_s": max([r.settings_open_s for r in results if r.settings_open_s is not None]
                                   or [float("nan")]),
        "settings_change_median_s": median([r.settings_change_s for r in results if r.settings_change_s is not None]),
        "settings_change_max_s": max([r.settings_change_s for r in results if r.settings_change_s is not None]
                                     or [float("nan")]),
        "peak_mb": peak, "baseline_mb": baseline, "back_within_margin_s": back, "rss_after_close_mb": at,
        "sessions_detail": [{**asdict(r), "right": r.right, "isolated": r.isolated} for r in results],
    }


def plot(sampler: RssSampler, baseline: float, margin: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.plot([t for t, _ in sampler.samples], [mb for _, mb in sampler.samples], lw=1.2, label="server RSS (MB)")
    ax.axhline(baseline, color="grey", ls="--", lw=0.8, label=f"pre-load {baseline:.0f} MB")
    ax.axhline(baseline + margin, color="grey", ls=":", lw=0.8, label=f"pre-load + {margin:.0f} MB")
    for t, label in sampler.marks:
        ax.axvline(t, color="tab:red", lw=0.6, alpha=0.6)
        ax.text(t, ax.get_ylim()[1] * 0.98, label, rotation=90, va="top", ha="right", fontsize=7)
    ax.set_xlabel("seconds since the server started")
    ax.set_ylabel("MB")
    ax.set_title("Streamlit server RSS under the load benchmark")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def fmt(x: float | None, unit: str = "", digits: int = 1) -> str:
    return "–" if x is None or x != x else f"{x:,.{digits}f}{unit}"


def markdown(args: argparse.Namespace, variants: list[Variant], waves: list[dict[str, Any]], env: dict[str, str],
             load: tuple[float, float, float], started_mb: float, n_cpu: int) -> str:
    lines = [BEGIN, "## Serving a team: concurrent sessions (issue 15)", "",
             f"Written by `python benchmarks/load.py -n {args.n} --waves {args.waves} --after {args.after:.0f}` on "
             f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC. Machine: {platform.platform()}, {n_cpu} cores, "
             f"{psutil.virtual_memory().total / 2**30:.0f} GiB, shared with other developers (1/5/15-min load "
             f"average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}). One headless Chromium, one "
             f"browser context per analyst; one `streamlit run` server with "
             + (", ".join(f"`{k}={v}`" for k, v in env.items()) or "the default cache settings") + ".",
             "",
             f"Each analyst uploads its own CSV: the real Online Retail with shifted customer ids and prices and "
             f"10·k customers dropped ({variants[0].mb:.1f}-{variants[-1].mb:.1f} MB, "
             f"{min(v.lines for v in variants):,}-{max(v.lines for v in variants):,} lines); its expected customer "
             f"count comes from the DuckDB reference SQL. Server RSS is the streamlit process tree, sampled every "
             f"second. The server at start: {started_mb:.0f} MB; the pre-load level is after a warm-up session "
             f"(imports, the bundled sample).",
             "",
             "| wave | sessions | errors | customer count right | isolation (own file name on every page) | "
             "upload to result, median / max | open Settings, median / max | settings change, median / max | "
             f"peak RSS | RSS before the wave | RSS 60 / 120 / 180 / 240 / {args.after:.0f} s after close | "
             "back within "
             f"{args.margin:.0f} MB of the first pre-load |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for w in waves:
        rss = w["rss_after_close_mb"]
        back = w["back_within_margin_s"]
        lines.append(
            f"| {w['wave']} | {w['sessions']} | {len(w['errors'])} | {w['right']} of {w['sessions']} | "
            f"{w['isolated']} of {w['sessions']} | {fmt(w['upload_median_s'], ' s')} / {fmt(w['upload_max_s'], ' s')}"
            f" | {fmt(w['settings_open_median_s'], ' s')} / {fmt(w['settings_open_max_s'], ' s')} | "
            f"{fmt(w['settings_change_median_s'], ' s', 2)} / {fmt(w['settings_change_max_s'], ' s', 2)} | "
            f"{fmt(w['peak_mb'], ' MB', 0)} | {fmt(w['wave_preload_mb'], ' MB', 0)} | "
            + " / ".join(fmt(rss[s], "", 0) for s in (60, 120, 180, 240, args.after)) + " MB | "
            + (f"yes, {back:.0f} s after the last session closed" if back is not None
               else f"**no** within {args.after:.0f} s (at the end: {fmt(rss[args.after], ' MB', 0)})") + " |")
    errors = [e for w in waves for e in w["errors"]]
    if errors:
        lines += ["", "Errors: " + "; ".join(sorted(set(errors)))]
    notes = sum(w["evicted_notes"] for w in waves)
    lines += ["", f"Sessions that saw the \"recomputing\" note: {notes}.", "",
              f"![server RSS over the run]({PLOT.name})", "", END]
    return "\n".join(lines)


def write_results(section: str) -> None:
    """Replace the load section of RESULTS.md with ``section``, keeping its earlier runs (from HISTORY to END)."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        old, tail = rest.split(END, 1)
        if HISTORY in old:
            section = section.removesuffix(END) + HISTORY + old.split(HISTORY, 1)[1] + END
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    RESULTS.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=20, help="concurrent sessions per wave (default 20)")
    ap.add_argument("--waves", type=int, default=2, help="waves of new sessions with new files (default 2)")
    ap.add_argument("--after", type=float, default=300.0, help="seconds of idle sampling after a wave (default 300)")
    ap.add_argument("--margin", type=float, default=300.0, help="MB above pre-load that counts as back (300)")
    ap.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server (e.g. RFM_CACHE_TTL_S=60)")
    ap.add_argument("--no-write", action="store_true", help="print the section instead of writing RESULTS.md")
    ap.add_argument("--json", type=Path, help="also write every figure as JSON here")
    args = ap.parse_args()
    if not REAL.exists():
        raise SystemExit(f"needs the real Online Retail at {REAL} (set RFM_SHARED_DATA)")
    env = dict(e.split("=", 1) for e in args.env)
    with tempfile.TemporaryDirectory(prefix="rfm-load-") as tmp:
        folder = Path(tmp)
        print(f"{args.n * args.waves} variant files in {FILES}…", flush=True)
        variants = write_variants(FILES, 0, args.n * args.waves)
        # The server's workspaces (every upload is saved there) go to this run's temporary folder, not the user's.
        proc, url = start_server(folder / "server.log", {"RFM_WORKSPACE_DIR": str(folder / "workspaces"), **env})
        sampler = RssSampler(proc.pid)
        sampler.start()
        started_mb = sampler.rss_mb()
        waves: list[dict[str, Any]] = []
        try:
            asyncio.run(warm_up(url))
            time.sleep(10)
            for w in range(args.waves):
                t_base = sampler.now()
                time.sleep(10)
                baseline = median(sampler.between(t_base, sampler.now()))
                first_baseline = waves[0]["baseline_mb"] if waves else baseline  # "back" is to the first pre-load
                batch = variants[w * args.n:(w + 1) * args.n]
                t_start = sampler.mark(f"wave {w + 1}: {args.n} browsers open, then upload")
                print(f"wave {w + 1}: {args.n} sessions (pre-load {baseline:.0f} MB)…", flush=True)
                results, elapsed = asyncio.run(wave(url, batch))
                t_closed = sampler.mark(f"wave {w + 1}: all closed")
                print(f"  done in {elapsed:.0f} s; sampling {args.after:.0f} s of idle…", flush=True)
                time.sleep(args.after + 2)
                waves.append(summary(f"{w + 1}", results, sampler, t_start, t_closed, args.after, first_baseline,
                                     args.margin))
                waves[-1]["wave_preload_mb"] = baseline
                if args.json:  # after every wave, so a run cut short keeps what it measured
                    args.json.write_text(json.dumps({"waves": waves, "rss": sampler.samples, "marks": sampler.marks},
                                                    indent=1, default=str))
                w_ = waves[-1]
                print(f"  right {w_['right']}/{args.n}, errors {len(w_['errors'])}, peak {w_['peak_mb']:.0f} MB, "
                      f"back {w_['back_within_margin_s']}", flush=True)
        finally:
            sampler.stop()
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
            log_text = (folder / "server.log").read_text(errors="replace")
        tracebacks = log_text.count("Traceback (most recent call last)")
        if tracebacks:
            for w_ in waves:
                w_["errors"].append(f"{tracebacks} traceback(s) in the server log")
        first_base = waves[0]["baseline_mb"] if waves else started_mb
        plot(sampler, first_base, args.margin, PLOT)
        section = markdown(args, variants, waves, env, os.getloadavg(), started_mb, psutil.cpu_count() or 0)
        if args.json:
            args.json.write_text(json.dumps({"waves": waves, "rss": sampler.samples, "marks": sampler.marks},
                                            indent=1, default=str))
        if args.no_write:
            print(section)
        else:
            write_results(section)
            print(f"wrote {RESULTS} and {PLOT}")


if __name__ == "__main__":
    main()
