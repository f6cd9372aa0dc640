"""settle() waits for the run an action causes, even when that run starts late (a loaded machine, issue 15).

The browser's messages to the server are held back in the page (WebSocket.send wrapped with a delay), so after a
slider move the app stays 'notRunning' for over a second before the run starts: the state the old helper (sleep
0.4 s, then wait for 'notRunning') mistook for the end of the run. The control below shows that mistake happening
here; settle() must then still return only after the new run has drawn its result.
"""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect

from tests.browser.helpers import bins_slider, open_page, runs_seen, settle

DELAY_MS = 1_500

# Wrapped before the app's code loads; the delay is off until the test sets it. setTimeout with one delay keeps the
# messages in order.
_DELAY_SENDS = """(() => {
  const send = WebSocket.prototype.send;
  window.__sendDelay = 0;
  WebSocket.prototype.send = function (data) {
    const d = window.__sendDelay;
    if (!d) return send.call(this, data);
    setTimeout(() => send.call(this, data), d);
  };
})();"""


def _recency_bins_caption(page: Page) -> str:
    """``Recency: 5 of 5`` from the Settings caption ``Recency: 5 of 5 scores used, by quantiles (automatic)``."""
    text = page.get_by_text(re.compile(r"^Recency: \d+ of \d+ scores used")).first.inner_text().strip()
    return text.split(" scores used")[0]


def test_settle_waits_for_a_run_that_starts_late(page: Page, app_url: str) -> None:
    page.add_init_script(_DELAY_SENDS)
    page.goto(app_url)
    settle(page)
    open_page(page, app_url, "Settings")
    assert _recency_bins_caption(page) == "Recency: 5 of 5"
    page.evaluate(f"window.__sendDelay = {DELAY_MS}")

    # Control: the old wait returns while the slider's run has not even started.
    before = runs_seen(page)
    bins_slider(page).focus()
    page.keyboard.press("ArrowLeft")
    time.sleep(0.4)
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning", timeout=1_000)
    assert _recency_bins_caption(page) == "Recency: 5 of 5"  # what the old helper let a test read

    # The slider certainly causes a run here; on a loaded CI machine it can start well after the 1.5 s delay, so the
    # grace for "no run coming" is long (the default 3 s once mistook a late run for none).
    settle(page, no_run_grace=DELAY_MS + 20_000)
    assert _recency_bins_caption(page) == "Recency: 4 of 4"  # read once, no retry: settle alone made it so
    assert runs_seen(page) > before

    # Twice more, each settle waiting for its own run (the counter must move on, not reuse the run above).
    for bins in (3, 2):
        before = runs_seen(page)
        bins_slider(page).focus()
        page.keyboard.press("ArrowLeft")
        settle(page, no_run_grace=DELAY_MS + 20_000)
        assert _recency_bins_caption(page) == f"Recency: {bins} of {bins}"
        assert runs_seen(page) > before


def test_settle_is_bounded_when_nothing_reruns(page: Page, app_url: str) -> None:
    page.goto(app_url)
    settle(page)
    before = runs_seen(page)
    t0 = time.perf_counter()
    settle(page, no_run_grace=2_000)  # no action: no run will come
    waited = time.perf_counter() - t0
    assert runs_seen(page) == before
    assert 2.0 <= waited < 10.0, waited
