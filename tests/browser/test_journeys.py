"""The three analyst journeys in a real browser: upload, change a threshold, download and check the bytes."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from rfm_core import MetricScoring, ScoringSettings, analyze
from rfm_core.sample import generate
from rfm_core.settings import AnalysisSettings
from tests.browser.helpers import bins_slider, metric, open_page, settle, upload_file

PAGES = ["Data", "Settings", "Segment rules", "Overview", "Charts", "Customers", "Lifetime value", "Segment backtest",
         "Migration", "Cohorts", "Actions",
         "Export"]


@pytest.fixture(scope="module")
def retail_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An Online-Retail-like export the app has never seen (not the bundled sample)."""
    path = tmp_path_factory.mktemp("upload") / "shop_export.csv"
    generate(customers=800, seed=2024).to_csv(path, index=False)
    return path


def treemap_text(page: Page) -> str:
    chart = page.get_by_test_id("stPlotlyChart").first
    expect(chart.locator("g.slice").first).to_be_attached(timeout=30_000)
    return " ".join([t or "" for t in chart.locator("g.slice text").all_text_contents()])


def test_upload_threshold_download(page: Page, app_url: str, retail_file: Path, artifacts: Path,
                                   tmp_path: Path) -> None:
    page.goto(app_url)
    settle(page)
    upload_file(page, retail_file)
    engine = analyze(retail_file, warn=False)
    assert metric(page, "Customers") == f"{len(engine.customers):,}"
    assert metric(page, "Rows read") == f"{engine.cleaned.input_rows:,}"

    # Journey 2: change a threshold (recency bins 5 -> 3) and see the segment table and a chart change.
    open_page(page, app_url, "Charts")
    time.sleep(1)
    before_chart = treemap_text(page)
    open_page(page, app_url, "Overview")
    before_insights = page.get_by_test_id("stMarkdown").all_inner_texts()
    open_page(page, app_url, "Settings")
    slider = bins_slider(page)  # recency bins
    slider.focus()
    page.keyboard.press("ArrowLeft")
    settle(page)
    page.keyboard.press("ArrowLeft")
    settle(page)
    expect(bins_slider(page)).to_have_attribute("aria-valuetext", "3")
    open_page(page, app_url, "Overview")
    after_insights = page.get_by_test_id("stMarkdown").all_inner_texts()
    assert after_insights != before_insights
    open_page(page, app_url, "Charts")
    time.sleep(1)
    after_chart = treemap_text(page)
    assert after_chart != before_chart

    # Journey 3: download the segmented CSV and check its bytes against the engine with the same settings.
    open_page(page, app_url, "Export")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download segmented customers (CSV)").click()
    saved = tmp_path / "segments.csv"
    download.value.save_as(saved)
    got = pd.read_csv(saved, dtype={"customer_id": str})
    settings = AnalysisSettings(scoring=ScoringSettings(MetricScoring(3), MetricScoring(), MetricScoring()))
    expected = analyze(retail_file, settings, warn=False).segmentation.customers
    assert len(got) == len(expected)
    assert {"customer_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "segment"} <= set(
        got.columns)
    assert got["customer_id"].tolist() == expected["customer_id"].astype(str).tolist()
    assert got["segment"].tolist() == expected["segment"].astype(str).tolist()
    assert got["r_score"].max() == 3


def test_screenshot_every_page(page: Page, app_url: str, artifacts: Path) -> None:
    page.goto(app_url)
    settle(page)
    for name in PAGES:
        open_page(page, app_url, name)
        if name == "Charts":
            expect(page.get_by_test_id("stPlotlyChart")).to_have_count(5, timeout=30_000)  # overview + first tab
            time.sleep(1.5)  # let Plotly finish drawing before the picture
        page.screenshot(path=str(artifacts / f"{PAGES.index(name) + 1}-{name.lower()}.png"))
        if name == "Charts":  # a closed tab's charts are drawn when it is opened (a rerun)
            for tab, charts in (("Score edges", 3), ("Months and countries", 2)):
                page.get_by_test_id("stMain").get_by_role("tab", name=tab, exact=True).click()
                settle(page)
                expect(page.get_by_test_id("stPlotlyChart")).to_have_count(2 + charts, timeout=30_000)
                expect(page.locator(".js-plotly-plot .main-svg").first).to_be_visible(timeout=30_000)
                time.sleep(1.5)
                shot = f"{PAGES.index(name) + 1}-{name.lower()}-{tab.split()[0].lower()}.png"
                page.screenshot(path=str(artifacts / shot))
        assert not page.get_by_test_id("stException").count(), name
    assert len(list(artifacts.glob("*.png"))) >= len(PAGES)


def test_bad_upload_shows_error_not_traceback(page: Page, app_url: str, tmp_path: Path, artifacts: Path) -> None:
    page.goto(app_url)
    settle(page)
    bad = tmp_path / "not_really.xlsx"
    bad.write_bytes(b"PK\x03\x04" + bytes(200))
    page.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(str(bad))
    expect(page.get_by_test_id("stFileChip")).to_be_visible(timeout=30_000)
    settle(page)
    expect(page.get_by_test_id("stAlertContentError").first).to_contain_text("damaged")
    assert page.get_by_test_id("stException").count() == 0
    assert "Traceback" not in page.content()
    page.screenshot(path=str(artifacts / "error-bad-upload.png"))


def test_download_bytes_of_excel_workbook(page: Page, app_url: str, tmp_path: Path) -> None:
    page.goto(app_url)
    settle(page)
    open_page(page, app_url, "Export")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download Excel workbook").click()
    saved = tmp_path / "book.xlsx"
    download.value.save_as(saved)
    book = pd.read_excel(io.BytesIO(saved.read_bytes()), sheet_name=None, engine="openpyxl")
    assert list(book) == ["Summary", "Customers", "Rules", "Ledger", "About"]
    assert book["Summary"]["customers"].sum() == len(book["Customers"])
