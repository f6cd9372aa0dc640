"""Numbers in the analyst's format in a real browser: the currency chosen in Settings reaches the headline
metrics and the chart hovers; a platform export's currency is taken from the file."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from rfm_core import analyze
from tests.browser.helpers import metric, open_page, settle, upload_file
from tests.conftest import ROOT, SAMPLE


def _choose_currency(page: Page, app_url: str, code: str) -> None:
    open_page(page, app_url, "Settings")
    page.get_by_test_id("stSelectbox").filter(has_text="Currency").click()
    page.get_by_role("option", name=code, exact=True).click()
    settle(page)


def test_chosen_currency_in_metrics_tables_and_hovers(page: Page, app_url: str) -> None:
    page.goto(app_url)
    settle(page)
    _choose_currency(page, app_url, "GBP")
    open_page(page, app_url, "Overview")
    # By an independent route: the engine's revenue, formatted by hand with the symbol and no decimals.
    revenue = analyze(SAMPLE, warn=False).segmentation.kpis["revenue"]
    assert metric(page, "Revenue") == f"£{revenue:,.0f}"
    # Table cells are drawn on a canvas from the column formats the page sends; tests/app/test_formats.py checks
    # those formats on every page (the grid's accessible copy holds the raw values, so it cannot be read here).
    # A chart's hover template carries the symbol (plotly keeps the figure on its div).
    open_page(page, app_url, "Charts")
    # The script run ends before the browser has drawn the charts (plotly.js loads after it): wait until every
    # chart element on the page has drawn its figure, then read the hover templates.
    page.wait_for_function("""() => {
        const charts = document.querySelectorAll('[data-testid=stPlotlyChart]');
        const drawn = document.querySelectorAll('.js-plotly-plot');
        return charts.length > 0 && drawn.length === charts.length
            && Array.from(drawn).every(d => (d.data || []).length > 0);
    }""", timeout=60_000)
    templates = page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot'))
        .flatMap(d => (d.data || []).map(t => t.hovertemplate || ''))""")
    assert any("£%{" in str(t) for t in templates), templates


def test_platform_currency_comes_from_the_file(page: Page, app_url: str) -> None:
    page.goto(app_url)
    settle(page)
    open_page(page, app_url, "Data")
    upload_file(page, ROOT / "tests" / "platforms" / "woocommerce_orders.csv")
    expect(page.get_by_text("Currency EUR, from the column 'order_currency'.")).to_be_visible()
    assert metric(page, "Revenue").startswith("€")
