"""Looking keeps nothing (issue 14 leftovers, item 3): a visitor who opens every page on the bundled sample and
changes nothing gets no workspace id in the link and no workspace in the store.

In a real browser because the workspace is saved by the entry script when each run ends, which AppTest's
switch_page does not run (it runs the page alone). The Lifetime value page used to create a workspace: its holdout
date widget sent back the default date, which was stored as a choice.
"""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

from playwright.sync_api import Page

from tests.browser.helpers import open_page, settle

DB = Path(os.environ["RFM_WORKSPACE_DIR"]) / "workspaces.sqlite3"
HAS_ID = re.compile(r"[?&]w=")
PAGES = ("Data", "Settings", "Segment rules", "Overview", "Charts", "Customers", "Lifetime value",
         "Segment backtest", "Migration", "Segments over time", "Cohorts", "Actions", "Audiences", "Export")


def _workspaces() -> int:
    if not DB.exists():
        return 0
    with sqlite3.connect(DB) as con:
        return int(con.execute("SELECT COUNT(*) FROM workspace").fetchone()[0])


def test_opening_every_page_on_the_sample_stores_nothing(page: Page, app_url: str) -> None:
    before = _workspaces()
    page.goto(app_url)
    settle(page)
    for name in PAGES:
        open_page(page, app_url, name)
        settle(page)
        assert not HAS_ID.search(page.url), f"{name} put a workspace id in the link: {page.url}"
        assert _workspaces() == before, f"{name} created a workspace"
    page.reload()  # and a reload on the last page
    settle(page)
    assert not HAS_ID.search(page.url) and _workspaces() == before
