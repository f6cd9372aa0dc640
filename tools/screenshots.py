"""Screenshots of every page of the app at 1400 px wide, for docs/screenshots and the README.

Usage::

    python tools/screenshots.py [--out docs/screenshots] [--file some.csv] [--currency GBP] [--pages Overview,Charts]

Starts ``streamlit run streamlit_app.py`` on a free local port, opens it in Debian's chromium through Playwright,
optionally uploads a file and chooses a currency in Settings, then visits each page from the sidebar, waits until
its script run has finished (``tests/browser/helpers.settle``, which counts the app's runs in the page) and saves
a full-page PNG named after the page. The server is stopped at the end, also on an error.
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.helpers import open_page, settle  # noqa: E402  (after the path is set)

PAGES = ["Data", "Settings", "Segment rules", "Overview", "Charts", "Customers", "Lifetime value", "Segment backtest",
         "Migration", "Segments over time", "Cohorts", "Actions", "Audiences", "Export"]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
_CONTENT_HEIGHT = """() => {
  const main = document.querySelector('[data-testid=stMain]');
  const block = document.querySelector('[data-testid=stMainBlockContainer]');
  return Math.max(main ? main.scrollHeight : 0, block ? block.scrollHeight + 100 : 0, document.body.scrollHeight);
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--file", type=Path, help="upload this file first (default: the bundled sample)")
    parser.add_argument("--currency", default="GBP", help="choose this currency in Settings ('' to leave it)")
    parser.add_argument("--pages", help="comma-separated page titles (default: all)")
    parser.add_argument("--width", type=int, default=1400)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    pages = [p.strip() for p in args.pages.split(",")] if args.pages else PAGES
    args.out.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit("error: the streamlit server did not start within 60 s") from None
                time.sleep(0.3)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox",
                                                                         "--disable-gpu"])
            page = browser.new_page(viewport={"width": args.width, "height": 1000})
            page.goto(url)
            settle(page, timeout=120_000)
            if args.file:
                page.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(str(args.file))
                page.get_by_text(f"Current file: {args.file.name}").wait_for(timeout=300_000)
                settle(page, timeout=300_000)
            if args.currency:
                open_page(page, url, "Settings")
                box = page.get_by_test_id("stSelectbox").filter(has_text="Currency")
                box.click()
                page.get_by_role("option", name=args.currency, exact=True).click()
                settle(page, timeout=120_000)
            for title in pages:
                open_page(page, url, title)
                settle(page, timeout=300_000)
                time.sleep(1.5)  # plotly draws after the run ends
                # Streamlit scrolls inside its main block, not the document: grow the window to the content's
                # height so the whole page is in the picture (capped: a PNG, not a poster).
                height = int(page.evaluate(_CONTENT_HEIGHT))
                page.set_viewport_size({"width": args.width, "height": max(800, min(height + 40, 9000))})
                time.sleep(1.5)  # plotly charts re-lay-out to the new size
                target = args.out / f"{_slug(title)}.png"
                page.screenshot(path=str(target), full_page=True)
                page.set_viewport_size({"width": args.width, "height": 1000})
                print(f"wrote {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
            browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
