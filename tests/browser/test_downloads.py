"""Every download button on every page delivers its file, clicked in any order and with no wait between clicks.

Issue 16: a download button used to rerun the page, and the rerun revoked the deferred files (Excel workbook, HTML
report, dropped rows) and, when a run was cut short, even static ones, which then arrived as 404 pages named
``<hash>.txt``. So every file is opened and checked, not only counted. The server log is checked for tracebacks by
the autouse fixture in conftest.py.

Expected values come from the bundled sample read independently (record count with the csv module, SHA-256 with
hashlib), from the engine called directly (a second route to the same numbers, not the app's download path), and
from the button labels and the other files (every file must agree with the rest).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import time
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Download, Page, expect

from rfm_core import DEFAULT_RULES, analyze
from rfm_core.columns import CUSTOMER_ID, F_SCORE, FREQUENCY, M_SCORE, MONETARY, R_SCORE, RECENCY_DAYS, SEGMENT
from rfm_core.sample import SAMPLE_PATH
from tests.browser.helpers import open_page, settle

CUSTOMER_COLUMNS = {CUSTOMER_ID, RECENCY_DAYS, FREQUENCY, MONETARY, R_SCORE, F_SCORE, M_SCORE, SEGMENT}
WORKBOOK_SHEETS = ["Summary", "Customers", "Rules", "Ledger", "About"]
PAGES_WITH_DOWNLOADS = ["Data", "Segment rules", "Migration", "Actions", "Export"]


@dataclass(frozen=True)
class Reference:
    records: int  # data lines in the sample CSV, counted with the csv module
    sha256: str
    customers: int
    segment_names: tuple[str, ...]  # the rules' names, then the fallback


@pytest.fixture(scope="module")
def ref() -> Reference:
    data = SAMPLE_PATH.read_bytes()
    records = sum(1 for _ in csv.reader(io.StringIO(data.decode("utf-8")))) - 1
    result = analyze(SAMPLE_PATH, warn=False)
    return Reference(records, hashlib.sha256(data).hexdigest(), len(result.segmentation.customers),
                     (*(r.name for r in DEFAULT_RULES.rules), DEFAULT_RULES.fallback))


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={CUSTOMER_ID: str}, keep_default_na=False)


def _label_count(label: str) -> int:
    found = re.search(r"Download (?:the )?([\d,]+) ", label)
    assert found, label
    return int(found.group(1).replace(",", ""))


# ---------------------------------------------------------------------------------------------- content checks
# Each check gets the saved file, every saved file of the same burst (by name) and the labels clicked.
Files = dict[str, Path]
Check = Callable[[Path, Files, list[str], Reference], None]


def check_segments(path: Path, files: Files, labels: list[str], ref: Reference) -> None:
    got = _csv(path)
    assert set(got.columns) >= CUSTOMER_COLUMNS, got.columns.tolist()
    assert len(got) == ref.customers
    assert got[CUSTOMER_ID].is_unique
    assert set(got[SEGMENT]) <= set(ref.segment_names)


def check_summary(path: Path, files: Files, labels: list[str], ref: Reference) -> None:
    got = _csv(path)
    assert {"segment", "customers", "revenue"} <= set(got.columns)
    assert got["segment"].tolist() == list(ref.segment_names)
    assert got["customers"].sum() == ref.customers


def check_segments_readable(path: Path, files: Files, labels: list[str], ref: Reference) -> None:
    got = pd.read_csv(path, dtype={"Customer": str}, keep_default_na=False)
    # Headers in words; the currency is "as the file says" and the sample states none, so "Spend" bare.
    assert {"Customer", "Recency (days)", "Orders", "Spend", "Segment"} <= set(got.columns), got.columns.tolist()
    assert len(got) == ref.customers and got["Customer"].is_unique
    machine = next((_csv(p) for name, p in files.items() if re.fullmatch(rf"{stem}-segments-[0-9a-f]{{8}}\.csv",
                                                                          name)), None)
    if machine is not None:  # the same customers and values, the readable copy rounded as the app shows money
        assert got["Customer"].tolist() == machine[CUSTOMER_ID].astype(str).tolist()
        assert got["Orders"].tolist() == machine[FREQUENCY].tolist()
        assert ((got["Spend"] - machine[MONETARY]).abs() <= 0.005 + 1e-9).all()
    spend = pd.read_csv(path, dtype=str, keep_default_na=False)["Spend"]
    assert spend.str.fullmatch(r"-?\d+\.\d{2}").all(), spend.head().tolist()  # two decimals, no separators


def check_segment_list_readable(path: Path, files: Files, labels: list[str], ref: Reference) -> None:
    got = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert {"Customer", "Recency (days)", "Orders", "Spend", "Segment"} <= set(got.columns), got.columns.tolist()
    names = set(got["Segment"])
    assert len(names) == 1, names
    name = names.pop()
    label = next(lb for lb in labels if lb.endswith(f" {name} customers, readable headers (CSV)"))
    assert len(got) == _label_count(label)
    assert got["Spend"].str.fullmatch(r"-?\d+\.\d{2}").all() and got["Orders"].str.fullmatch(r"\d+").all()


def check_summary_readable(path: Path, files: Files, labels: list[str], ref: Reference) -> None:
    got = pd.read_csv(path, keep_default_na=False)
    assert {"Segment", "Customers", "Revenue", "% of customers"} <= set(got.columns), got.columns.tolist()
    assert got["Segment"].tolist() == list(ref.segment_names)
    assert got["Customers"].sum() == ref.customers


def check_workbook(path: Path, files: Files, labels: list[str], ref: Reference) -> None:
    book = pd.read_excel(path, sheet_name=None, engine="openpyxl")
    assert list(book) == WORKBOOK_SHEETS
    assert len(book["Customers"]) == ref.customers
    assert book["Summary"]["customers"].sum() == ref.customers
    assert book["Ledger"]["rows"].sum() == ref.records


def check_report(path: Path, files: Files, labels: list[str], ref: Reference) -> None:
    text = path.read_text("utf-8")
    title = re.search(r"<title>(.*?)</title>", text)
    assert title and title.group(1) == f"RFM segments: {SAMPLE_PATH.name}"
    assert text.rstrip().endswith("</html>")


def check_settings(path: Path, files: Files, labels: list[str], ref: Reference) -> None:
    doc = tomllib.loads(path.read_text("utf-8"))
    assert {"read", "mapping", "cleaning", "scoring"} <= set(doc)


def check_rules(path: Path, files: Files, labels: list[str], ref: Reference) -> None:
    doc = tomllib.loads(path.read_text("utf-8"))
    assert [r["name"] for r in doc["rule"]] == list(ref.segment_names[:-1])
    assert doc["fallback"] == DEFAULT_RULES.fallback


def check_provenance(path: Path, files: Files, labels: list[str], ref: Reference) -> None:
    doc = json.loads(path.read_text("utf-8"))
    assert doc["input_sha256"] == ref.sha256
    assert doc["customers"] == ref.customers
    assert doc["input_rows"] == ref.records


def check_ledger(path: Path, files: Files, labels: list[str], ref: Reference) -> None:
    got = _csv(path)
    assert {"reason", "rows"} <= set(got.columns)
    assert got["rows"].sum() == ref.records  # every line of the file is used or dropped for one reason
    assert got["reason"].is_unique


def check_dropped(path: Path, files: Files, labels: list[str], ref: Reference) -> None:
    got = _csv(path)
    assert {"row", "reason"} <= set(got.columns)
    assert got["row"].is_unique
    ledger = next((_csv(p) for name, p in files.items() if name.endswith("-ledger.csv")), None)
    if ledger is not None:  # the two files of the Data page agree reason by reason
        dropped = ledger[ledger["reason"] != "used"]
        assert Counter(got["reason"]) == dict(zip(dropped["reason"], dropped["rows"], strict=True))


def check_segment_list(path: Path, files: Files, labels: list[str], ref: Reference) -> None:
    got = _csv(path)
    assert set(got.columns) >= CUSTOMER_COLUMNS
    names = set(got[SEGMENT])
    assert len(names) == 1, names
    name = names.pop()
    label = next(lb for lb in labels if lb.endswith(f" {name} customers (CSV)"))
    assert len(got) == _label_count(label)


def check_moved_down(path: Path, files: Files, labels: list[str], ref: Reference) -> None:
    got = _csv(path)
    assert {CUSTOMER_ID, SEGMENT} <= set(got.columns)
    label = next(lb for lb in labels if "moved down" in lb)
    assert len(got) == _label_count(label)
    assert got[CUSTOMER_ID].is_unique


def check_rule_file(path: Path, files: Files, labels: list[str], ref: Reference) -> None:
    check_rules(path, files, labels, ref)


stem = re.escape(SAMPLE_PATH.stem)
CHECKS: list[tuple[str, Check]] = [
    (rf"{stem}-segments-[0-9a-f]{{8}}\.csv", check_segments),
    (rf"{stem}-summary-[0-9a-f]{{8}}\.csv", check_summary),
    (rf"{stem}-segments-readable-[0-9a-f]{{8}}\.csv", check_segments_readable),
    (rf"{stem}-summary-readable-[0-9a-f]{{8}}\.csv", check_summary_readable),
    (rf"{stem}-rfm-[0-9a-f]{{8}}\.xlsx", check_workbook),
    (rf"{stem}-report-[0-9a-f]{{8}}\.html", check_report),
    (rf"{stem}-settings\.toml", check_settings),
    (rf"{stem}-rules\.toml", check_rules),
    (rf"{stem}-provenance-[0-9a-f]{{8}}\.json", check_provenance),
    (rf"{stem}-ledger\.csv", check_ledger),
    (rf"{stem}-dropped-rows\.csv", check_dropped),
    (r"segment-rules\.toml", check_rule_file),
    (r"moved-down\.csv", check_moved_down),
    (r"[^/\\]+-customers\.csv", check_segment_list),
    (r"[^/\\]+-customers-readable\.csv", check_segment_list_readable),
]


def check_file(name: str, path: Path, files: Files, labels: list[str], ref: Reference) -> None:
    for pattern, check in CHECKS:
        if re.fullmatch(pattern, name):
            check(path, files, labels, ref)
            return
    pytest.fail(f"unexpected download {name!r} (a 404 page arrives as '<hash>.txt')")


# ------------------------------------------------------------------------------------------------------ clicking
def download_labels(page: Page) -> list[str]:
    """Labels of every download button on the page, after opening every collapsed expander (no run: client-side)."""
    closed = page.locator("[data-testid=stExpander] details:not([open]) > summary")
    while closed.count():
        closed.first.click()
    buttons = page.get_by_test_id("stDownloadButton").get_by_role("button")
    expect(buttons.first).to_be_visible()
    return [b.inner_text().strip() for b in buttons.all()]


#: Between two clicks of a burst. Chromium itself drops some of many downloads started within about 0.1 s of each
#: other: Playwright clicking 22 buttons back to back (0.1 s apart) got 20 of 22 files, with no error on the page
#: or the server, and the missing ones at random places; 0.25 s apart (a fast person) got 22 of 22 in every run.
#: The burst still clicks every button while the files before it are being made.
CLICK_GAP_MS = 250


def click_burst(page: Page, labels: list[str], save_to: Path, before: Callable[[], None] | None = None,
                timeout_s: float = 90) -> Files:
    """Click every button in `labels` with no wait in between; return the saved files by their suggested name."""
    got: list[Download] = []

    def keep(download: Download) -> None:
        got.append(download)

    page.on("download", keep)
    try:
        if before is not None:
            before()
        for label in labels:
            page.get_by_test_id("stDownloadButton").get_by_role("button", name=label, exact=True).click()
            page.wait_for_timeout(CLICK_GAP_MS)
        deadline = time.monotonic() + timeout_s
        while len(got) < len(labels) and time.monotonic() < deadline:
            page.wait_for_timeout(100)  # lets Playwright deliver the download events (time.sleep would not)
        page.wait_for_timeout(500)  # a click that yielded two files would show up here
    finally:
        page.remove_listener("download", keep)
    names = [d.suggested_filename for d in got]
    assert len(got) == len(labels), f"{len(labels)} clicks gave {len(got)} files: {names}"
    assert len(set(names)) == len(names), f"a file came twice: {names}"
    save_to.mkdir(parents=True, exist_ok=True)
    files: Files = {}
    for d in got:
        assert d.failure() is None, (d.suggested_filename, d.failure())
        files[d.suggested_filename] = save_to / d.suggested_filename
        d.save_as(files[d.suggested_filename])
    return files


def check_burst(files: Files, labels: list[str], ref: Reference) -> None:
    for name, path in files.items():
        check_file(name, path, files, labels, ref)


# --------------------------------------------------------------------------------------------------------- tests
def test_every_download_in_quick_succession_both_orders(page: Page, app_url: str, ref: Reference,
                                                        tmp_path: Path) -> None:
    page.goto(app_url)
    settle(page)
    counts: dict[str, int] = {}
    for name in PAGES_WITH_DOWNLOADS:
        open_page(page, app_url, name)
        labels = download_labels(page)
        counts[name] = len(labels)
        for order, clicked in (("forward", labels), ("reverse", labels[::-1])):
            files = click_burst(page, clicked, tmp_path / name / order)
            check_burst(files, labels, ref)
        if name == "Actions":  # the per-segment lists together are every customer once
            per_segment = [_label_count(lb) for lb in labels if lb.endswith(" customers (CSV)")]
            assert len(per_segment) * 2 == len(labels)  # each list also with readable headers
            assert sum(per_segment) == ref.customers
        assert page.get_by_test_id("stException").count() == 0
    # The buttons the pages are known to have (the Actions page: one per non-empty segment).
    assert counts["Data"] == 2 and counts["Segment rules"] == 1 and counts["Migration"] == 1 and counts["Export"] == 9
    assert counts["Actions"] >= 3


def test_downloads_right_after_a_change_or_a_page_switch(page: Page, app_url: str, ref: Reference,
                                                         tmp_path: Path) -> None:
    """A deferred or static file clicked while another widget's run is under way still arrives whole."""
    page.goto(app_url)
    settle(page)
    open_page(page, app_url, "Export")
    labels = download_labels(page)
    clv_box = page.get_by_text("Add lifetime-value columns", exact=False)
    files = click_burst(page, labels, tmp_path / "during-run", before=clv_box.click)
    check_burst(files, labels, ref)
    settle(page)
    # Once the run has finished, the customer file carries the lifetime-value columns the box asked for.
    again = click_burst(page, ["Download segmented customers (CSV)"], tmp_path / "after-run")
    (path,) = again.values()
    assert "p_alive" in _csv(path).columns
    check_segments(path, again, labels, ref)

    # A deferred download clicked just before leaving the page: the page switch's run must not revoke it.
    open_page(page, app_url, "Data")
    got: list[Download] = []

    def keep(download: Download) -> None:
        got.append(download)

    page.on("download", keep)
    page.get_by_role("button", name="Download dropped rows with reasons (CSV)").click()
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Overview", exact=True).click()
    deadline = time.monotonic() + 60
    while not got and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    page.remove_listener("download", keep)
    assert len(got) == 1 and got[0].failure() is None
    saved = tmp_path / got[0].suggested_filename
    got[0].save_as(saved)
    check_file(got[0].suggested_filename, saved, {}, [], ref)
    settle(page)
    expect(page.get_by_role("heading", level=1).first).to_have_text("Overview")
