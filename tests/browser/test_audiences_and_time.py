"""The Audiences and Segments over time pages in a real browser: the audience CSV's bytes, and screenshots."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from rfm_core import analyze
from tests.browser.helpers import metric, open_page, settle
from tests.conftest import SAMPLE


def test_audience_download_has_exactly_the_members(page: Page, app_url: str, artifacts: Path,
                                                   tmp_path: Path) -> None:
    page.goto(app_url)
    settle(page)
    open_page(page, app_url, "Audiences")
    customers = analyze(SAMPLE, warn=False).segmentation.customers
    # Independent: the example audience written as a pandas filter.
    expected = customers[(customers["frequency"] >= 2) & (customers["recency_days"] > 90)]
    assert metric(page, "Customers") == f"{len(expected):,}"
    expect(page.get_by_text("2 or more orders and no order in the last 90 days")).to_be_visible()
    page.screenshot(path=str(artifacts / "audiences.png"))
    with page.expect_download() as download:
        page.get_by_role("button", name=f"Download the {len(expected):,} customers (CSV)").click()
    path = tmp_path / "audience.csv"
    download.value.save_as(path)
    got = pd.read_csv(path, dtype={"customer_id": str})
    assert sorted(got["customer_id"]) == sorted(expected["customer_id"].astype(str))
    assert got["monetary"].sum() == pytest.approx(expected["monetary"].sum())
    settle(page)


def test_segments_over_time_renders_without_clipping(page: Page, app_url: str, artifacts: Path) -> None:
    page.goto(app_url)
    settle(page)
    open_page(page, app_url, "Segments over time")
    chart = page.get_by_test_id("stPlotlyChart").first
    expect(chart.locator("g.xtick text").first).to_be_attached(timeout=30_000)
    ticks = chart.locator("g.xtick text").all_text_contents()
    assert ticks[-1].startswith("Dec 2011 (partial") and ticks[0] == "Dec 2010"
    # No tick label is cut off at the plot's edge: each lies inside the chart's box.
    box = chart.bounding_box()
    assert box is not None
    for tick in chart.locator("g.xtick text").all():
        t = tick.bounding_box()
        assert t is not None and t["x"] >= box["x"] - 1 and t["x"] + t["width"] <= box["x"] + box["width"] + 1
    expect(page.get_by_text("is a partial month")).to_be_visible()
    page.screenshot(path=str(artifacts / "segments-over-time.png"))
