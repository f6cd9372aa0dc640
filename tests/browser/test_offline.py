"""Nothing needs the internet: the app (its page icon included) and the HTML report work with every request to
another host blocked."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from playwright.sync_api import BrowserContext, Page, Route, expect

from rfm_core import analyze, charts
from rfm_core.export import html_report
from rfm_core.pipeline import result_provenance
from tests.browser.helpers import open_page, settle
from tests.conftest import SAMPLE


def _block_other_hosts(context: BrowserContext, allowed: set[str]) -> list[str]:
    """Abort every request to a host not in ``allowed`` (file:// and data: pass) and return their list."""
    blocked: list[str] = []

    def route(r: Route) -> None:
        url = urlparse(r.request.url)
        if url.scheme in ("file", "data", "blob") or url.hostname in allowed:
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    return blocked


def test_the_app_asks_no_other_host(page: Page, app_url: str) -> None:
    blocked = _block_other_hosts(page.context, {"127.0.0.1"})
    page.goto(app_url)
    settle(page)
    for name in ("Settings", "Charts", "Export"):
        open_page(page, app_url, name)
    icon = page.locator("link[rel~='icon']").first.get_attribute("href") or ""
    assert icon.startswith("data:image/svg+xml"), icon  # the emoji favicon, drawn by the browser
    assert blocked == []


def test_the_report_is_self_contained(page: Page, tmp_path: Path) -> None:
    result = analyze(SAMPLE, warn=False)
    seg = result.segmentation
    report = tmp_path / "report.html"
    report.write_text(html_report(title="Offline", kpis=seg.kpis, summary=seg.summary, insights=seg.insights,
                                  rules=seg.rules, ledger=result.cleaned.ledger, prov=result_provenance(result),
                                  figures=charts.report_figures(seg, result.cleaned.transactions)), encoding="utf-8")
    blocked = _block_other_hosts(page.context, set())
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    expect(page.locator(".chart .main-svg").first).to_be_attached(timeout=30_000)
    assert page.locator(".chart .js-plotly-plot").count() == 6  # every chart drew, with plotly.js from the file
    provenance = page.locator("details#provenance table")
    expect(provenance).to_be_hidden()  # collapsed by default
    page.locator("details#provenance summary").click()
    expect(provenance).to_be_visible()
    expect(provenance.get_by_role("rowheader", name="Input SHA-256")).to_be_visible()
    assert blocked == []
