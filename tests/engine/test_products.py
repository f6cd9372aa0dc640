"""Non-product lines: the documented list on hand-made lines, top products without them, and the real file's counts."""

from __future__ import annotations

import pandas as pd
import pytest

from rfm_core import CleaningPolicy, analyze
from rfm_core.insights import top_products
from rfm_core.products import (
    NON_PRODUCT_RULES,
    non_product_kinds,
    non_product_mask,
    non_product_notes,
    non_product_summary,
)
from rfm_core.settings import AnalysisSettings
from tests.conftest import ONLINE_RETAIL, SharedData

# (stock code, description, expected kind or None), each checked by reading the rule list in DOCUMENTATION.md.
LINES = [
    ("POST", "POSTAGE", "postage"),
    ("POST", None, "postage"),  # the code alone decides
    ("DOT", "DOTCOM POSTAGE", "postage"),
    ("C2", "CARRIAGE", "postage"),
    ("23444", "Next Day Carriage", "postage"),  # a product-like code: the description decides
    ("23574", "PACKING CHARGE", "packing"),
    ("M", "Manual", "manual adjustment"),
    ("m", "Manual", "manual adjustment"),
    ("B", "Adjust bad debt", "adjustment"),
    ("PADS", "PADS TO MATCH ALL CUSHIONS", "adjustment"),
    ("21830", "OOPS ! adjustment", "adjustment"),
    ("D", "Discount", "discount"),
    ("BANK CHARGES", "Bank Charges", "bank charges"),
    ("AMAZONFEE", "AMAZON FEE", "fee"),
    ("gift_0001_20", "Dotcomgiftshop Gift Voucher Â£20.00", "gift voucher"),
    ("22016", "Dotcomgiftshop Gift Voucher Â£100.00", "gift voucher"),
    ("S", "SAMPLES", "sample"),
    ("CRUK", "CRUK Commission", "commission"),
    ("SHIP", "Shipping", "postage"),
    ("X1", "  Express   shipping fee ", "postage"),
    ("X2", "$50 Gift Card", "gift voucher"),
    ("X4", "Gift Card £25", "gift voucher"),
    ("X5", "GIFT CARD HOLDER", None),
    ("X3", "Tip", "fee"),
    # products that merely contain a word from the list
    ("22423", "REGENCY CAKESTAND 3 TIER", None),
    ("85123A", "WHITE HANGING HEART T-LIGHT HOLDER", None),
    ("22492", "VINTAGE POST OFFICE CABINET", None),
    ("21080", "SET/20 RED RETROSPOT PAPER NAPKINS", None),
    ("22734", "FRENCH CARRIAGE LANTERN", None),
    ("22303", "COFFEE MUG APPLES DESIGN", None),
    ("21508", "BANK ACCOUNT  GREETING  CARD ", None),
    ("21509", "BIRTHDAY GIFT CARD HOLDER WITH RIBBON TAG", None),
    ("DCGSSBOY", "BOYS PARTY BAG", None),  # Online Retail's DCGS codes are real goods sold on ebay/amazon
    ("DOTS", "POLKA DOTS APRON", None),
    ("MUG", None, None),
]


def _frame(lines: list[tuple[str, str | None, str | None]]) -> pd.DataFrame:
    return pd.DataFrame({"stock_code": [c for c, _, _ in lines], "description": [d for _, d, _ in lines],
                         "amount": [1.0] * len(lines)})


def test_each_line_is_classified_as_documented() -> None:
    got = non_product_kinds(_frame(LINES)).tolist()
    expected = [k for _, _, k in LINES]
    wrong = [(line, g) for line, g in zip(LINES, got, strict=True) if g != line[2]]
    assert got == expected, wrong


def test_categorical_columns_and_missing_columns() -> None:
    frame = _frame(LINES).astype({"stock_code": "category", "description": "category"})
    assert non_product_kinds(frame).tolist() == [k for _, _, k in LINES]
    only_desc = _frame(LINES).drop(columns=["stock_code"])
    assert non_product_kinds(only_desc).loc[0] == "postage" and non_product_kinds(only_desc).loc[1] is None
    assert not non_product_mask(pd.DataFrame({"amount": [1.0, 2.0]})).any()


def test_summary_and_notes_count_lines_and_amounts() -> None:
    frame = pd.DataFrame({"stock_code": ["POST", "POST", "M", "22423"], "description": ["POSTAGE", None, "Manual",
                                                                                       "CAKESTAND"],
                          "amount": [18.0, 40.0, -5.0, 12.75]})
    summary = non_product_summary(frame)
    assert summary.to_dict("records") == [
        {"kind": "postage", "lines": 2, "amount": 58.0, "examples": "POST"},
        {"kind": "manual adjustment", "lines": 1, "amount": -5.0, "examples": "M"},
    ]
    assert non_product_notes(frame) == [
        "3 lines are not products (postage 2 (POST), manual adjustment 1 (M)). They count in what customers spent, "
        "but are left out of top products."]
    assert non_product_notes(frame.iloc[3:]) == [] and non_product_summary(frame.iloc[3:]).empty


def test_every_rule_is_documented() -> None:
    doc = (__import__("tests.conftest", fromlist=["ROOT"]).ROOT / "DOCUMENTATION.md").read_text()
    for rule in NON_PRODUCT_RULES:
        assert f"| {rule.kind} |" in doc, rule.kind


def test_top_products_leave_out_postage_and_manual() -> None:
    tx = pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "b", "b"],
        "stock_code": ["POST", "M", "22423", "POST", "22423", "85123A"],
        "description": ["POSTAGE", "Manual", "CAKESTAND", "POSTAGE", "CAKESTAND", None],
        "amount": [40.0, 100.0, 12.0, 40.0, 12.0, 3.0],
    })
    segments = pd.Series({"a": "S1", "b": "S1"})
    top = top_products(tx, segments, n=5)
    by_revenue = top[top["ranking"] == "revenue"]
    # Hand: POSTAGE (80) and Manual (100) are left out; the line without a description is not a product name.
    assert by_revenue["product"].tolist() == ["CAKESTAND"] and by_revenue["revenue"].tolist() == [24.0]
    assert by_revenue["customers"].tolist() == [2]
    everything = top_products(tx, segments, n=5, exclude_non_products=False)
    assert everything[everything["ranking"] == "revenue"]["product"].tolist() == ["Manual", "POSTAGE", "CAKESTAND"]
    only_postage = tx[tx["stock_code"] == "POST"]
    assert top_products(only_postage, segments).empty


@pytest.mark.realdata
def test_online_retail_non_product_lines(shared_data: SharedData) -> None:
    raw = pd.read_parquet(shared_data.require(ONLINE_RETAIL))
    kinds = non_product_kinds(raw.rename(columns={"StockCode": "stock_code", "Description": "description"}))
    # Independent: plain pandas on the codes and descriptions seen in this file (DATA.md; the rule list in
    # DOCUMENTATION.md), each kind written out separately. The stock code decides before the description.
    code = raw["StockCode"].astype(str)
    desc = raw["Description"].astype(str).str.strip().str.lower()
    by_code = {"postage": code.isin(["POST", "DOT", "C2"]), "manual adjustment": code.isin(["M", "m"]),
               "adjustment": code.isin(["B", "PADS"]), "discount": code == "D",
               "bank charges": code == "BANK CHARGES", "fee": code == "AMAZONFEE",
               "gift voucher": code.str.startswith("gift_0001_"), "sample": code == "S", "commission": code == "CRUK"}
    any_code = pd.concat(by_code, axis=1).any(axis=1)
    by_desc = {"postage": desc == "next day carriage", "packing": desc == "packing charge",
               "adjustment": desc.str.contains(r"\badjust(?:ment)?\b"),
               "gift voucher": desc.str.contains("gift voucher"),
               "sample": desc.isin(["samples", "show samples", "damages/samples", "samples/damages"])}
    expected = {k: int(v.sum()) for k, v in by_code.items()}
    for k, v in by_desc.items():
        expected[k] = expected.get(k, 0) + int((v & ~any_code).sum())
    assert kinds.value_counts().to_dict() == expected
    assert expected["postage"] == 1256 + 710 + 144 + 80 and expected["manual adjustment"] == 572
    assert sum(expected.values()) == 3082


@pytest.mark.realdata
@pytest.mark.slow
def test_online_retail_top_products_are_goods(shared_data: SharedData) -> None:
    result = analyze(shared_data.require(ONLINE_RETAIL), AnalysisSettings(cleaning=CleaningPolicy(today=None)),
                     warn=False)
    customers = result.segmentation.customers
    top = top_products(result.cleaned.transactions, customers.set_index(customers["customer_id"].astype(str))[
        "segment"], n=10)
    listed = set(top["product"])
    assert not listed & {"POSTAGE", "DOTCOM POSTAGE", "Manual", "CARRIAGE", "Discount", "AMAZON FEE", "Bank Charges"}
    before = top_products(result.cleaned.transactions, customers.set_index(customers["customer_id"].astype(str))[
        "segment"], n=10, exclude_non_products=False)
    assert {"POSTAGE", "Manual"} <= set(before["product"])  # the fault the issue reports, without the exclusion
