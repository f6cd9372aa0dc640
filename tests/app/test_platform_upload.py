"""AppTest: a shop-platform export uploaded on the Data page is read with the platform's meaning."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app.test_pages import mapping_box, segment_counts, upload
from tests.conftest import ROOT


def test_shopify_export_is_recognised_and_its_mapping_shown(at: AppTest) -> None:
    data = (ROOT / "tests" / "platforms" / "shopify_orders_export.csv").read_bytes()
    upload(at, "orders_export.csv", data)
    assert not at.exception and not at.error
    assert any("Recognised as a Shopify orders export" in m.value for m in at.markdown)
    # by hand in tests/engine/test_platforms.py: ann and bob buy, cat's orders are voided or cancelled
    assert {m.label: m.value for m in at.metric}["Customers"] == "2"
    # the mapping panel pre-selects the platform's columns, not the synonym guess (Total is not line revenue)
    assert mapping_box(at, "amount").value == "(not in file)"
    assert mapping_box(at, "unit_price").value == "Lineitem price"
    assert mapping_box(at, "customer_id").value == "Email"
    assert sum(segment_counts(at).values()) == 2
