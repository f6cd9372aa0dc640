"""Waiting for Streamlit the way TESTING.md found reliable."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect


def settle(page: Page, timeout: float = 90_000) -> None:
    """Wait until the script run has finished and nothing on the page is stale."""
    time.sleep(0.4)  # the run an interaction starts may begin a moment later
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning", timeout=timeout)
    expect(page.locator("[data-testid=stElementContainer][data-stale=true]")).to_have_count(0, timeout=timeout)


def open_page(page: Page, url: str, name: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=name, exact=True).click()
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
