"""Waiting for Streamlit: for the script run an action starts, not merely for an idle state that may precede it."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

# Counts the app's script runs in the page itself. Installed once per document (idempotent; a reload or `goto` gives
# a new document, which settle() re-equips). A MutationObserver delivers attribute changes in batches, so the
# states in between are read from each record's oldValue rather than from the live attribute, and a run that
# starts and ends within one batch is still counted. `mark` is the number of runs a previous settle() already
# waited for: a run counted beyond it started after that settle() returned, so it is one the action caused.
_WATCH_RUNS = """() => {
  if (window.__rfmRuns) return;
  const BUSY = new Set(['running', 'rerunRequested', 'stopRequested']);
  const runs = window.__rfmRuns = {started: 0, mark: 0, last: null};
  const note = (state) => {
    if (state === null || state === runs.last) return;
    if (runs.last === null) {
      // First sight of the app. Any state but 'initial' means a run began before we watched (the page load's).
      if (state !== 'initial') runs.started += 1;
    } else if (!BUSY.has(runs.last) && BUSY.has(state)) {
      runs.started += 1;
    }
    runs.last = state;
  };
  const app = () => document.querySelector('[data-testid=stApp]');
  runs.sync = () => { const a = app(); if (a) note(a.getAttribute('data-test-script-state')); };
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.target.getAttribute && r.target.getAttribute('data-testid') === 'stApp') note(r.oldValue);
    }
    runs.sync();
  }).observe(document, {attributes: true, subtree: true, attributeOldValue: true,
                        attributeFilter: ['data-test-script-state']});
  runs.sync();
}"""

# Both predicates first equip the document, in case a navigation replaced it while we waited.
_RUN_STARTED = f"""() => {{
  ({_WATCH_RUNS})();
  window.__rfmRuns.sync();
  return window.__rfmRuns.started > window.__rfmRuns.mark;
}}"""

# Finished: not busy, and no element left over from an earlier run (data-stale). On success the runs so far are
# marked as waited for, in the same tick as the check, so nothing can slip in between.
_SETTLED = f"""(needRun) => {{
  ({_WATCH_RUNS})();
  const runs = window.__rfmRuns;
  runs.sync();
  if (needRun && runs.started <= runs.mark) return false;
  if (runs.last !== 'notRunning' && runs.last !== 'compilationError') return false;
  if (document.querySelector('[data-testid=stElementContainer][data-stale=true]')) return false;
  runs.mark = runs.started;
  return true;
}}"""


def settle(page: Page, timeout: float = 90_000, no_run_grace: float = 3_000) -> None:
    """Wait until the script run that the last action caused has started and finished, and nothing is stale.

    A run counts if it started after the previous ``settle`` on this page returned, so call ``settle`` after every
    action whose result you read. An action that causes no run (a download with ``on_click="ignore"``) is allowed:
    if no run starts within ``no_run_grace`` milliseconds, the page only has to be idle. Timeouts are in ms.

    Raises
    ------
    playwright.sync_api.TimeoutError
        If the run does not finish (or the page does not become idle) within ``timeout``.
    """
    try:
        page.wait_for_function(_RUN_STARTED, timeout=no_run_grace)
        need_run = True
    except PlaywrightTimeout:  # no run started: the action caused none
        need_run = False
    page.wait_for_function(_SETTLED, arg=need_run, timeout=timeout)


def runs_seen(page: Page) -> int:
    """How many script runs the page has counted since its document loaded (for tests of settle itself)."""
    return int(page.evaluate("() => window.__rfmRuns ? window.__rfmRuns.started : 0"))


def open_page(page: Page, url: str, name: str) -> None:
    nav = page.get_by_test_id("stSidebarNav")
    link = nav.get_by_role("link", name=name, exact=True)
    more = nav.get_by_test_id("stSidebarNavViewButton")  # Streamlit lists 10 pages, then "View N more"
    if not link.is_visible() and more.count() and "more" in more.inner_text():
        more.click()
    link.click()
    settle(page)
    expect(page.get_by_role("heading", level=1).first).to_be_visible()


def metric(page: Page, label: str) -> str:
    box = page.get_by_test_id("stMetric").filter(has=page.get_by_test_id("stMetricLabel").get_by_text(label,
                                                                                                       exact=True))
    return box.get_by_test_id("stMetricValue").inner_text().strip()


def upload_file(page: Page, path: object, timeout: float = 180_000) -> None:
    """Upload through the real file input and wait until the run that reads it has finished."""
    page.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(str(path))
    expect(page.get_by_test_id("stFileChip")).to_be_visible(timeout=60_000)
    name = str(path).replace("\\", "/").rsplit("/", 1)[-1]
    expect(page.get_by_text(f"Current file: {name}")).to_be_visible(timeout=timeout)
    settle(page, timeout=timeout)


def bins_slider(page: Page, metric: str = "Recency") -> Locator:
    """The Settings page's Bins slider of one metric, found inside that metric's column.

    Not ``get_by_role("slider").first``: the page has one Bins slider per metric (and had the coverage grid's "M
    score" slider before the grid moved to Segment rules), and while a run replaces elements the DOM order is not
    the visual order (a test once moved the M score slider instead).
    """
    column = page.get_by_test_id("stColumn").filter(has=page.get_by_role("heading", name=metric, exact=True))
    return column.get_by_test_id("stSlider").get_by_role("slider")
