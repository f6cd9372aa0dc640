"""In a real browser: after the bundled sample, an amount-only shop export gives results with no mapping work."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.helpers import metric, settle, upload_file

# A plain order export: one row per order, an amount instead of quantity x price, e-mail ids in mixed case.
# By hand: ann 19.90 + 5.10 = 25.00 (Ann@Shop.com is ann@shop.com), bob 12.00, cy 3.00 -> 3 customers, revenue 40.
ORDERS = ("order_id,email,created_at_date,revenue\n"
          "5001,ann@shop.com,2024-05-01,19.90\n5002,bob@shop.com,2024-05-02,12.00\n"
          "5003,Ann@Shop.com,2024-05-03,5.10\n5004,cy@shop.com,2024-05-04,3.00\n")


def test_amount_only_export_after_the_sample(page: Page, app_url: str, tmp_path: Path, artifacts: Path) -> None:
    page.goto(app_url)
    settle(page)
    expect(page.get_by_text("— bundled sample")).to_be_visible()
    sample_customers = metric(page, "Customers")
    path = tmp_path / "shop_orders.csv"
    path.write_text(ORDERS)
    upload_file(page, path)
    assert page.get_by_test_id("stAlertContentError").count() == 0
    assert metric(page, "Customers") == "3" != sample_customers
    assert metric(page, "Revenue") == "40"
    assert metric(page, "Rows used") == "4"
    page.get_by_text("Column mapping").click()
    settle(page)
    expect(page.get_by_text("Detected: a known column name; 4 of 4 sampled values are numbers.")).to_be_visible()
    # What the dropdowns show is what was used: the browser must not keep showing the sample's choices.
    shown = {role: page.get_by_role("combobox", name=role, exact=True).input_value()
             for role in ("customer id", "invoice id", "invoice date", "quantity", "unit price", "amount")}
    assert shown == {"customer id": "email", "invoice id": "order_id", "invoice date": "created_at_date",
                     "quantity": "(not in file)", "unit price": "(not in file)", "amount": "revenue"}
    page.screenshot(path=str(artifacts / "reading-amount-only-export.png"))
    assert page.get_by_test_id("stException").count() == 0
