"""Workspaces in a real browser: a reload brings the analysis back, another browser without the link sees the sample,
"Forget this workspace" deletes the stored bytes from disk, and an expired workspace is gone.

The server under test keeps its workspaces in ``RFM_WORKSPACE_DIR``, which tests/conftest.py points at a throwaway
folder before the server starts (the server inherits the environment), so these tests can look at the files.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import urllib.parse
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from rfm_core.sample import generate
from tests.browser.helpers import bins_slider, open_page, settle, upload_file

WS_DIR = Path(os.environ["RFM_WORKSPACE_DIR"])
DB = WS_DIR / "workspaces.sqlite3"
HAS_ID = re.compile(r"[?&]w=[A-Za-z0-9_-]{32}")


def _shop_file(folder: Path, name: str, seed: int) -> Path:
    """A small Online-Retail-like export, different bytes per seed (each test stores its own file)."""
    path = folder / name
    generate(customers=300, seed=seed).to_csv(path, index=False)
    return path


def _workspace_id(page: Page) -> str:
    expect(page).to_have_url(HAS_ID, timeout=30_000)
    return urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)["w"][0]


def _on_disk() -> bytes:
    """Every byte the store has on disk: the database, its log and the stored files."""
    return b"".join(p.read_bytes() for p in sorted(WS_DIR.rglob("*")) if p.is_file())


def _current_file(page: Page) -> str:
    box = page.get_by_test_id("stMarkdown").filter(has_text=re.compile(r"^Current file:"))
    expect(box).to_have_count(1)
    text = box.inner_text()
    return text.removeprefix("Current file:").strip()


def _recency_slider(page: Page) -> str:
    return bins_slider(page).get_attribute("aria-valuetext") or ""


def test_reload_keeps_the_file_and_a_changed_slider(page: Page, app_url: str, browser: Browser,
                                                    tmp_path: Path, artifacts: Path) -> None:
    shop = _shop_file(tmp_path, "kept_shop.csv", seed=141)
    page.goto(app_url)
    settle(page)
    assert "bundled sample" in _current_file(page)
    assert not HAS_ID.search(page.url)  # looking at the sample stores nothing and puts no id in the link
    expect(page.get_by_text("RFM sorts customers by three facts")).to_be_visible()  # first visit: intro open
    page.screenshot(path=artifacts / "workspace-first-visit.png")
    upload_file(page, shop)
    ws = _workspace_id(page)
    assert (WS_DIR / "blobs" / hashlib.sha256(shop.read_bytes()).hexdigest()).exists()

    open_page(page, app_url, "Settings")
    assert _workspace_id(page) == ws  # a page switch clears the URL's parameters; the app puts the id back
    bins_slider(page).focus()
    page.keyboard.press("ArrowLeft")
    settle(page)
    assert _recency_slider(page) == "4"

    page.reload()
    settle(page)
    assert _workspace_id(page) == ws
    assert _recency_slider(page) == "4"  # the reload reopened Settings with the changed slider
    open_page(page, app_url, "Data")
    assert _current_file(page).startswith("kept_shop.csv")
    expect(page.get_by_text("RFM sorts customers by three facts")).to_be_hidden()  # a returning visit: closed
    expect(page.get_by_role("button", name="Forget this workspace")).to_be_visible()
    page.screenshot(path=artifacts / "workspace-reloaded.png")

    # The link in a fresh browser context (no cookies, no session) brings the same analysis back.
    other = browser.new_context(viewport={"width": 1400, "height": 2000})
    try:
        fresh = other.new_page()
        fresh.goto(f"{app_url}/settings?w={ws}")
        settle(fresh)
        assert _recency_slider(fresh) == "4"
        # Without the id, another browser sees the sample, with the default slider.
        stranger = other.new_page()
        stranger.goto(app_url)
        settle(stranger)
        assert "bundled sample" in _current_file(stranger)
        assert not HAS_ID.search(stranger.url)
        open_page(stranger, app_url, "Settings")
        assert _recency_slider(stranger) == "5"
    finally:
        other.close()


def test_forget_removes_the_stored_bytes_from_disk(page: Page, app_url: str, tmp_path: Path) -> None:
    shop = _shop_file(tmp_path, "forget_me_shop.csv", seed=142)
    blob = WS_DIR / "blobs" / hashlib.sha256(shop.read_bytes()).hexdigest()
    page.goto(app_url)
    settle(page)
    upload_file(page, shop)
    ws = _workspace_id(page)
    assert blob.exists() and b"forget_me_shop.csv" in _on_disk()  # so the checks below can fail

    page.get_by_role("button", name="Forget this workspace").click()
    settle(page)
    expect(page.get_by_text("The workspace was forgotten")).to_be_visible()
    assert not blob.exists()
    assert b"forget_me_shop.csv" not in _on_disk()  # not even the file's name lingers in the database or its log
    assert not HAS_ID.search(page.url)
    assert "bundled sample" in _current_file(page)
    # The uploader still shows the file; the next run must not take it in (and store it) again.
    page.get_by_role("button", name="Use the bundled sample").click()
    settle(page)
    assert not blob.exists() and not HAS_ID.search(page.url)
    assert "bundled sample" in _current_file(page)

    page.goto(f"{app_url}/?w={ws}")  # the old link
    settle(page)
    expect(page.get_by_text("This workspace link has expired or was forgotten")).to_be_visible()
    assert "bundled sample" in _current_file(page)


def test_forget_on_settings_leaves_no_stale_slider(page: Page, app_url: str, tmp_path: Path) -> None:
    """Forget pressed on Settings after a slider move: the app opens Data, and Settings then shows the default
    slider beside the default scores (the browser once kept showing the moved slider beside 5-bin results)."""
    page.goto(app_url)
    settle(page)
    upload_file(page, _shop_file(tmp_path, "forget_on_settings.csv", seed=144))
    open_page(page, app_url, "Settings")
    bins_slider(page).focus()
    page.keyboard.press("ArrowLeft")
    settle(page)
    assert _recency_slider(page) == "4"
    page.get_by_role("button", name="Forget this workspace").click()
    settle(page)
    expect(page.get_by_role("heading", name="Data", level=1)).to_be_visible()
    assert "bundled sample" in _current_file(page)
    open_page(page, app_url, "Settings")
    assert _recency_slider(page) == "5"
    expect(page.get_by_text("Recency: 5 of 5").first).to_be_visible()


def test_an_expired_workspace_is_gone(page: Page, app_url: str, tmp_path: Path) -> None:
    shop = _shop_file(tmp_path, "expiring_shop.csv", seed=143)
    blob = WS_DIR / "blobs" / hashlib.sha256(shop.read_bytes()).hexdigest()
    page.goto(app_url)
    settle(page)
    upload_file(page, shop)
    ws = _workspace_id(page)
    assert blob.exists()

    # Last opened 31 days ago: past the default 30 days. The database keeps the id's SHA-256, never the id.
    key = hashlib.sha256(ws.encode("ascii")).hexdigest()
    with sqlite3.connect(DB) as db:
        changed = db.execute("UPDATE workspace SET accessed = accessed - 31 * 86400 WHERE key = ?", (key,)).rowcount
    assert changed == 1

    page.goto(f"{app_url}/?w={ws}")
    settle(page)
    expect(page.get_by_text("This workspace link has expired or was forgotten")).to_be_visible()
    assert "bundled sample" in _current_file(page)
    assert not blob.exists()
    with sqlite3.connect(DB) as db:
        assert db.execute("SELECT COUNT(*) FROM workspace WHERE key = ?", (key,)).fetchone()[0] == 0


@pytest.fixture(autouse=True)
def _store_is_on() -> None:
    if os.environ.get("RFM_WORKSPACE", "on").lower() in ("0", "off", "false", "no"):
        pytest.fail("these tests need workspaces on (tests/conftest.py turns them on)")
