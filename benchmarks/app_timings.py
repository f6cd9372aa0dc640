"""App timings in Chromium against `streamlit run`, read from the browser's own clock (a benchmark, not a test).

Run by ``benchmarks/run.py`` (skip with ``--no-browser``), or alone::

    python benchmarks/app_timings.py --xlsx benchmarks/.data/retail_1x_excel.xlsx --json /tmp/app.json

What is measured, each repetition on a freshly started server (so nothing is cached from the last one) and a
fresh browser context:

0. the app's opening: from the start of the navigation to the first complete frame of the Data page on the bundled
   sample (as in 2.: every Plotly chart drawn, so Plotly's bundle is counted where the first chart loads it);
1. upload of the workbook to the first full result: from the file input's ``change`` event to the first frame
   in which the Data page shows the file's row count, the script has finished and nothing is stale;
2. the first render of every other page after the upload (and of each closed tab of the Charts page, opened in
   turn: its charts are built and drawn only then): from the click on its link to the first frame in
   which the script has finished, nothing is stale, no element is still loading its frontend code (a skeleton: the
   first Plotly chart of a browser visit waits for Plotly's bundle) and every Plotly chart has drawn its SVG;
3. a settings change: ArrowRight/ArrowLeft on the recency bins slider of the Settings page, from ``keydown`` to
   the first frame of the finished rerun.

Between repetitions the CLI runs once on the same file, so its median sits beside the upload's under the same
load. ``--compare DIR ...`` serves other checkouts of the app too (e.g. ``git archive main | tar -x -C /tmp/main``),
one repetition of each in turn, so a before/after comparison runs interleaved under the same machine load. Last, a
file that fails inside the preparation (no customer column, large enough to get a progress bar) is uploaded to check
that the bar was shown and is gone after the error.

The clock: ``performance.now()`` in the page; a capturing listener takes the start from the user event, a
``MutationObserver`` sees Streamlit's script state go to ``running`` and back to ``notRunning``, and the end is
taken in the ``requestAnimationFrame`` after the page is complete (so the frame is painted).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
FIRST_FIT = "Lifetime value"  # the page whose first visit fits the models (the target excepts it)

# Installed before any page script: the clock, armed by Python before each interaction.
CLOCK_JS = r"""
(() => {
  // Armed from the start of the navigation (performance.now() 0) to time the app's opening; arm() re-arms it.
  const b = window.__bench = {armed: true, t0: 0, t1: null, tScript: null, sawRun: false, sawProgress: false,
                              until: () => document.querySelector('h1') !== null, done: false};
  const app = () => document.querySelector('[data-testid="stApp"]');
  const state = () => (app() ? app().getAttribute('data-test-script-state') : null);
  const stale = () => document.querySelector('[data-testid="stElementContainer"][data-stale="true"]') !== null;
  // An element whose frontend code is still loading (Plotly's bundle on the first chart of a visit) shows a
  // skeleton and no stPlotlyChart yet: without this check a page's first charts would count as drawn before they exist.
  const plotsDrawn = () => document.querySelector('[data-testid="stSkeleton"]') === null
      && [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
        .every((c) => c.querySelector('.main-svg') !== null);
  const start = () => { if (b.armed && b.t0 === null) b.t0 = performance.now(); };
  for (const type of ['change', 'click', 'keydown']) document.addEventListener(type, start, true);
  const check = (records) => {
    if (b.t0 === null || b.done) return;
    for (const r of records) {
      if (r.type === 'attributes' && r.attributeName === 'data-test-script-state' && r.oldValue === 'running') {
        b.sawRun = true;
      }
    }
    if (state() === 'running') b.sawRun = true;
    if (document.querySelector('[data-testid="stProgress"]')) b.sawProgress = true;
    if (b.sawRun && b.tScript === null && state() === 'notRunning') b.tScript = performance.now();
    if (b.sawRun && state() === 'notRunning' && !stale() && plotsDrawn() && (!b.until || b.until())) {
      b.done = true;
      // only for this arming: a frame of an earlier one must not end a later measurement
      const gen = b.gen;
      requestAnimationFrame(() => { if (b.gen === gen) b.t1 = performance.now(); });
    }
  };
  const observe = () => new MutationObserver(check).observe(document.documentElement,
      {subtree: true, childList: true, attributes: true, attributeOldValue: true, characterData: true});
  if (document.documentElement) observe(); else document.addEventListener('DOMContentLoaded', observe);
  b.gen = 0;
  b.arm = (until) => {
    Object.assign(b, {gen: b.gen + 1, armed: true, t0: null, t1: null, tScript: null, sawRun: false,
                      sawProgress: false, done: false,
                      until: until ? new Function('return (' + until + ');') : null});
  };
})();
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(root: Path = ROOT) -> Iterator[str]:
    """A fresh `streamlit run` of the app in the checkout ``root`` (TESTING.md's recipe); yields its URL."""
    port = _free_port()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=root, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + 90
            while time.time() < deadline:
                try:
                    if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                        break
                except OSError:
                    time.sleep(0.3)
            else:
                log.seek(0)
                raise RuntimeError(f"streamlit did not start: {log.read().decode()[-2000:]}")
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def _settle(page: Any, timeout: float = 180_000) -> None:
    from playwright.sync_api import expect

    time.sleep(0.4)  # the run an interaction starts may begin a moment later
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning", timeout=timeout)
    expect(page.locator("[data-testid=stElementContainer][data-stale=true]")).to_have_count(0, timeout=timeout)


def _timed(page: Any, label: str, action: Any, until: str | None = None, timeout: float = 300_000) -> dict[str, Any]:
    """Arm the page clock, do the action, wait for the finished frame; seconds by the browser's clock."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.evaluate("(u) => window.__bench.arm(u)", until)
    action()
    retried = False
    try:  # now and then Streamlit drops a click on a page link (no run starts): the clock restarts on a second one
        page.wait_for_function("window.__bench.sawRun || window.__bench.t1 !== null", timeout=15_000, polling=50)
    except PlaywrightTimeout:
        # Checked and re-armed in one step of the page's event loop: a run that starts just after the 15 s (a
        # loaded machine) is timed from the first action, not re-armed under (the re-armed clock then took that
        # run's end with no start of its own: a benchmark failed on `t1 - tScript` with tScript None).
        if page.evaluate("(u) => { const b = window.__bench; if (b.sawRun || b.t1 !== null) return false; "
                         "b.arm(u); return true; }", until):
            print(f"{label}: no run 15 s after the action; doing it again, timed from the second time",
                  file=sys.stderr)
            action()
            retried = True
    try:
        page.wait_for_function("window.__bench.t1 !== null", timeout=timeout, polling=50)
    except PlaywrightTimeout:
        state = page.evaluate("({t0: window.__bench.t0, sawRun: window.__bench.sawRun, done: window.__bench.done, "
                              "script: document.querySelector('[data-testid=stApp]')?.getAttribute("
                              "'data-test-script-state'), stale: document.querySelectorAll("
                              "'[data-testid=stElementContainer][data-stale=true]').length})")
        raise RuntimeError(f"{label}: no finished frame within {timeout / 1000:.0f} s; page state {state}") from None
    got = page.evaluate("({t0: window.__bench.t0, t1: window.__bench.t1, ts: window.__bench.tScript, "
                        "p: window.__bench.sawProgress})")
    page.evaluate("window.__bench.armed = false")
    if page.get_by_test_id("stException").count():
        raise RuntimeError("the app showed an exception")
    return {"seconds": (got["t1"] - got["t0"]) / 1000, "after_script": (got["t1"] - got["ts"]) / 1000,
            "progress": bool(got["p"]), "retried": retried}


def _has_metric(label: str, value: str) -> str:
    return ("[...document.querySelectorAll('[data-testid=\"stMetric\"]')].some((m) => "
            f"m.innerText.includes({json.dumps(label)}) && m.innerText.includes({json.dumps(value)}))")


def _upload(page: Any, path: Path) -> None:
    page.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(str(path))


def _cli_seconds(path: Path) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rfm_core", "segment", str(path), "--out", f"{tmp}/s.csv"],
                       cwd=ROOT, check=True, capture_output=True)
        return time.perf_counter() - t


def _show_all_pages(page: Any) -> None:
    """Streamlit lists ten pages and a "View more" button; open the full list (a UI toggle, no script run)."""
    more = page.get_by_test_id("stSidebarNavViewButton")
    if more.count() and "more" in more.inner_text().lower():
        more.click()
        page.wait_for_timeout(200)


def one_repetition(browser: Any, xlsx: Path, rows: str, settings_changes: int,
                   root: Path = ROOT) -> dict[str, Any]:
    out: dict[str, Any] = {"pages": {}, "after_script": {}}
    with server(root) as url:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.add_init_script(CLOCK_JS)
        page = context.new_page()
        page.goto(url)
        page.wait_for_function("window.__bench.t1 !== null", timeout=180_000, polling=50)
        out["open"] = page.evaluate("window.__bench.t1") / 1000
        page.evaluate("window.__bench.armed = false")
        _settle(page)
        done = f"document.body.innerText.includes({json.dumps('Current file: ' + xlsx.name)}) && " + _has_metric(
            "Rows read", rows)
        up = _timed(page, "upload", lambda: _upload(page, xlsx), done)
        out["upload"], out["upload_progress"] = up["seconds"], up["progress"]
        out["after_script"]["upload"] = up["after_script"]
        _show_all_pages(page)
        nav = page.get_by_test_id("stSidebarNav").locator("[data-testid=stSidebarNavLink]")
        names = [t.strip().splitlines()[-1].strip() for t in nav.all_inner_texts()]  # after the icon's name
        for name in [n for n in names if n != "Data"]:  # every page of the navigation, in its order
            _show_all_pages(page)  # before arming the clock: this click is not the one timed
            link = page.get_by_test_id("stSidebarNav").get_by_role("link", name=name, exact=True)
            title = "document.querySelector('h1') !== null"
            got = _timed(page, f"page {name}", link.click, title)
            out["pages"][name], out["after_script"][name] = got["seconds"], got["after_script"]
            if name == "Charts":  # its closed tabs build and draw their charts when opened (a rerun): time each
                tabs = page.get_by_test_id("stMain").get_by_role("tab")
                for label in [t.strip() for t in tabs.all_inner_texts()][1:]:
                    tab = page.get_by_test_id("stMain").get_by_role("tab", name=label, exact=True)
                    got = _timed(page, f"{name} tab {label}", tab.click)
                    out["pages"][f"{name}: tab {label}"] = got["seconds"]
                    out["after_script"][f"{name}: tab {label}"] = got["after_script"]
        link = page.get_by_test_id("stSidebarNav").get_by_role("link", name=FIRST_FIT, exact=True)
        got = _timed(page, f"{FIRST_FIT} again", link.click)
        out["pages"][f"{FIRST_FIT} (second visit)"] = got["seconds"]
        out["after_script"][f"{FIRST_FIT} (second visit)"] = got["after_script"]
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Settings", exact=True).click()
        _settle(page)
        slider = page.get_by_role("slider").first  # recency bins
        changes = []
        for i in range(settings_changes):
            slider.focus()
            key = "ArrowRight" if i % 2 == 0 else "ArrowLeft"
            got = _timed(page, f"settings change {i + 1}", lambda key=key: page.keyboard.press(key))
            changes.append(got["seconds"])
        out["settings_change"] = changes
        context.close()
    return out


def _alert_text(text: str) -> str:
    """An st.error's message without its icon's name (Material icons render as the word, e.g. 'error')."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return next((ln for ln in lines if ln != "error"), "")[:200]


def error_check(browser: Any, bad: Path) -> dict[str, Any]:
    """A file that fails inside the preparation, big enough to get a bar: was the bar shown, is it gone?"""
    with server() as url:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.add_init_script(CLOCK_JS)
        page = context.new_page()
        page.goto(url)
        _settle(page)
        error = "document.querySelector('[data-testid=\"stAlertContentError\"]') !== null"
        got = _timed(page, "failing upload", lambda: _upload(page, bad), error)
        _settle(page)
        result = {"seconds": got["seconds"], "bar_shown": got["progress"],
                  "bar_left_after_error": page.locator("[data-testid=stProgress]").count(),
                  "error": _alert_text(page.get_by_test_id("stAlertContentError").first.inner_text())}
        context.close()
    return result


def measure(xlsx: Path, bad: Path | None, rows: str, repeats: int, settings_changes: int) -> dict[str, Any]:
    """Every timing of the module docstring for this checkout."""
    return compare([ROOT], xlsx, bad, rows, repeats, settings_changes)[str(ROOT)]


def compare(roots: list[Path], xlsx: Path, bad: Path | None, rows: str, repeats: int,
            settings_changes: int) -> dict[str, dict[str, Any]]:
    """:func:`measure` for each checkout in ``roots``, interleaved: repetition i of every root before i + 1."""
    from playwright.sync_api import sync_playwright

    reps: dict[Path, list[dict[str, Any]]] = {root: [] for root in roots}
    cli: list[float] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        version = browser.version
        for i in range(repeats):
            for root in roots:
                print(f"app timings: repetition {i + 1} of {repeats}, {root}", file=sys.stderr, flush=True)
                reps[root].append(one_repetition(browser, xlsx, rows, settings_changes, root))
            cli.append(_cli_seconds(xlsx))
        err = error_check(browser, bad) if bad is not None else None
        browser.close()
    return {str(root): _summary(reps[root], cli, err, version, xlsx, repeats) for root in roots}


def _summary(reps: list[dict[str, Any]], cli: list[float], err: dict[str, Any] | None, version: str, xlsx: Path,
             repeats: int) -> dict[str, Any]:
    pages = {name: [r["pages"][name] for r in reps] for name in reps[0]["pages"]}
    changes = [c for r in reps for c in r["settings_change"]]
    return {
        "chromium": version, "file": xlsx.name, "repeats": repeats,
        "open": [r["open"] for r in reps], "open_median": statistics.median(r["open"] for r in reps),
        "upload": [r["upload"] for r in reps], "upload_median": statistics.median(r["upload"] for r in reps),
        "upload_progress": [r["upload_progress"] for r in reps],
        "cli": cli, "cli_median": statistics.median(cli),
        "pages": pages, "pages_median": {k: statistics.median(v) for k, v in pages.items()},
        "after_script_median": {k: statistics.median(r["after_script"][k] for r in reps)
                                for k in reps[0]["after_script"]},
        "settings_change": changes, "settings_change_median": statistics.median(changes),
        "error_check": err,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--xlsx", type=Path, required=True, help="the workbook to upload")
    ap.add_argument("--rows", default="541,909", help="the 'Rows read' figure that marks the full result")
    ap.add_argument("--bad", type=Path, help="a file that fails inside the preparation (progress-bar check)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--settings-changes", type=int, default=6, help="slider steps per repetition")
    ap.add_argument("--json", type=Path, help="write the results here (default: stdout)")
    ap.add_argument("--compare", type=Path, nargs="+", default=[],
                    help="other checkouts of the app to time too, interleaved with this one (results by folder)")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"error: {CHROMIUM} is missing (apt-get install -y chromium)")
    bad = args.bad.resolve() if args.bad else None
    if args.compare:
        res: dict[str, Any] = compare([ROOT, *(p.resolve() for p in args.compare)], args.xlsx.resolve(), bad,
                                      args.rows, args.repeats, args.settings_changes)
    else:
        res = measure(args.xlsx.resolve(), bad, args.rows, args.repeats, args.settings_changes)
    text = json.dumps(res, indent=1)
    if args.json:
        args.json.write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
