"""Shop-platform exports: one small synthetic export per platform, with R, F and M worked out by hand.

Every row of tests/platforms/*.csv was written for this test from the platform's documented column names (no one's
file is copied). The comment under each fixture gives the hand computation; the analysis date is passed explicitly.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_core import CleaningPolicy, RfmError, analyze
from rfm_core.engines.duckdb_engine import duckdb_customers_from_files
from rfm_core.platforms import recognise
from rfm_core.settings import AnalysisSettings
from tests.conftest import ROOT

#: Synthetic exports, one per platform, written for these tests (tests/platforms/*.csv).
PLATFORM_FILES = ROOT / "tests" / "platforms"

SHOPIFY = (PLATFORM_FILES / "shopify_orders_export.csv").read_text()
# Shopify, analysis date 2024-06-11. Order value = sum of Lineitem quantity x price - Discount Amount - Refunded
# Amount.
# #1001 ann 06-01: 2x10 + 1x15 = 35 - 5 discount = 30 (second line's order fields are blank: spread from the first).
# #1002 bob: refunded -> not a purchase. #1003 ann 06-05: 20 + 2x6 = 32 - 8 refunded = 24 (partly refunded).
# #1004 cat: voided. #1005 cat: Cancelled at is set -> cancelled. #1006 bob 06-10 (local clock): 3x5 = 15.
# ann F 2, M 54, R 6 (06-05 -> 06-11); bob F 1, M 15, R 1; cat has no purchase.
SHOPIFY_ANSWER = {"ann@example.com": (2, 54.0, 6), "bob@example.com": (1, 15.0, 1)}
SHOPIFY_LEDGER = {"used": 5, "order refunded in full": 1, "order voided (shop status)": 1,
                  "order cancelled (shop status)": 1}

WOOCOMMERCE = (PLATFORM_FILES / "woocommerce_orders.csv").read_text()
# WooCommerce, analysis date 2024-07-10. Value = order_total - refunded_total.
# ann 501 (07-01) 42 and 508 (07-09) 25 -> F 2, M 67, R 1. bob 502 refunded; 503 (07-04) 30 - 10 = 20 -> F 1, M 20,
# R 6. cat: failed, cancelled, pending and on-hold (not paid) -> no purchase.
WOOCOMMERCE_ANSWER = {"ann@example.com": (2, 67.0, 1), "bob@example.com": (1, 20.0, 6)}
WOOCOMMERCE_LEDGER = {"used": 3, "order refunded in full": 1, "order cancelled (shop status)": 1,
                      "payment failed (shop status)": 1, "order not paid (shop status)": 2}

STRIPE = (PLATFORM_FILES / "stripe_unified_payments.csv").read_text()
# Stripe, analysis date 2024-08-07. Value = Amount - Amount Refunded.
# a: ch_001 (08-01) 100, ch_003 (08-03) 40 - 10 = 30 -> F 2, M 130, R 4. b: ch_002 refunded, ch_004 failed, ch_005
# (08-05) 60 -> F 1, M 60, R 2. c: ch_006 refunded in full by amount (30 of 30) although its status says Paid.
STRIPE_ANSWER = {"a@example.com": (2, 130.0, 4), "b@example.com": (1, 60.0, 2)}
STRIPE_LEDGER = {"used": 3, "order refunded in full": 2, "payment failed (shop status)": 1}

SQUARE = (PLATFORM_FILES / "square_transactions.csv").read_text()
# Square, analysis date 2024-09-07. Value = Net Sales - |Partial Refunds|; a Refund row (negative Net Sales) is a
# return matched to its own transaction. C1: T1 (09-01) 27, T2 (09-02) 20 - 5 = 15 -> F 2, M 42, R 5. C2: T3 12
# refunded by its -12 row the next day -> value 0, cancelled in full (2 rows); T5 (09-06) 40 -> F 1, M 40, R 1.
# T4 has no customer.
SQUARE_ANSWER = {"C1": (2, 42.0, 5), "C2": (1, 40.0, 1)}
SQUARE_LEDGER = {"used": 3, "order cancelled in full": 2, "no customer id": 1}

ETSY = (PLATFORM_FILES / "EtsySoldOrders.csv").read_text()
# Etsy, dates MM/DD/YY, analysis date 2024-10-10. Value = Order Value - Discount Amount - (Order Total - Adjusted
# Order Total when the adjusted total is above 0). buyerA: 9001 (10-01) 30 - 3 = 27; 9003 canceled; 9004 (10-08)
# 15 -> F 2, M 42, R 2. buyerB: 9002 (10-03) 50 - (55 - 35) = 30 -> F 1, M 30, R 7. buyerC: 9005 10 - (12 - 2) = 0
# after a refund -> refunded in full.
ETSY_ANSWER = {"buyerA": (2, 42.0, 2), "buyerB": (1, 30.0, 7)}
ETSY_LEDGER = {"used": 3, "order refunded in full": 1, "order cancelled (shop status)": 1}

MAGENTO = (PLATFORM_FILES / "magento_sales_order_grid.csv").read_text()
# Magento, analysis date 2024-11-08. Value = Grand Total (Purchased) - Total Refunded. ann: 101 (11-01) 60, 103
# (11-04) 25 - 5 = 20 -> F 2, M 80, R 4. bob: 102 Closed (refunded), 104 Canceled, 105 Pending Payment -> none.
# cat: 106 (11-07 21:00) 15 -> F 1, M 15, R 1.
MAGENTO_ANSWER = {"ann@example.com": (2, 80.0, 4), "cat@example.com": (1, 15.0, 1)}
MAGENTO_LEDGER = {"used": 3, "order refunded in full": 1, "order cancelled (shop status)": 1,
                  "order not paid (shop status)": 1}

SHOPWARE = (PLATFORM_FILES / "shopware_orders.csv").read_text()
# Shopware (SwagImportExport order lines), analysis date 2024-12-09. Value = price x quantity per line.
# customer 2: order 15 (12-01) 2 x 19.99 + 10 = 49.98; order 17 (12-05) 25 (its -2.00 discount line has a negative
# price: dropped by the price rule) -> F 2, M 74.98, R 4. customer 3: 16 orderStatusID 4 (cancelled), 18 -1 (checkout
# aborted), 20 (12-08) 8 -> F 1, M 8, R 1. customer 4: 19 cleared 20 (re-credited) -> refunded.
SHOPWARE_ANSWER = {"2": (2, 74.98, 4), "3": (1, 8.0, 1)}
SHOPWARE_LEDGER = {"used": 4, "unit price zero or negative": 1, "order cancelled (shop status)": 2,
                   "order refunded in full": 1}

FIXTURES = {
    "shopify": (SHOPIFY, "Shopify orders export", dt.date(2024, 6, 11), SHOPIFY_ANSWER, SHOPIFY_LEDGER),
    "woocommerce": (WOOCOMMERCE, "WooCommerce order export", dt.date(2024, 7, 10), WOOCOMMERCE_ANSWER,
                    WOOCOMMERCE_LEDGER),
    "stripe": (STRIPE, "Stripe payments export", dt.date(2024, 8, 7), STRIPE_ANSWER, STRIPE_LEDGER),
    "square": (SQUARE, "Square transactions export", dt.date(2024, 9, 7), SQUARE_ANSWER, SQUARE_LEDGER),
    "etsy": (ETSY, "Etsy sold orders export", dt.date(2024, 10, 10), ETSY_ANSWER, ETSY_LEDGER),
    "magento": (MAGENTO, "Magento orders grid export", dt.date(2024, 11, 8), MAGENTO_ANSWER, MAGENTO_LEDGER),
    "shopware": (SHOPWARE, "Shopware order lines export", dt.date(2024, 12, 9), SHOPWARE_ANSWER, SHOPWARE_LEDGER),
}


Figures = dict[str, tuple[int, float, int]]


def _rfm(text: str, as_of: dt.date, returns: str = "exclude",
         mapping: dict[str, str] | None = None) -> tuple[Figures, dict[str, int], tuple[str, ...]]:
    settings = AnalysisSettings(cleaning=CleaningPolicy(returns=returns), as_of=as_of,  # type: ignore[arg-type]
                                mapping=mapping or {})
    result = analyze(text.encode(), settings, name="export.csv", warn=False)
    got = {str(r.customer_id): (int(r.frequency), round(float(r.monetary), 2), int(r.recency_days))
           for r in result.customers.itertuples()}
    return got, result.cleaned.ledger.set_index("reason")["rows"].to_dict(), result.mapped.notes


@pytest.mark.parametrize("returns", ["exclude", "net"])
@pytest.mark.parametrize("key", FIXTURES)
def test_platform_export_gives_the_hand_computed_rfm(key: str, returns: str) -> None:
    text, name, as_of, answer, ledger = FIXTURES[key]
    got, got_ledger, notes = _rfm(text, as_of, returns)
    assert got == answer
    # the same under both policies: the only return line (Square's refund row) reverses its order in full
    assert got_ledger == ledger
    assert any(n.startswith(f"Recognised as a {name}:") for n in notes)


@pytest.mark.parametrize("key", FIXTURES)
def test_platform_is_recognised_from_its_headers(key: str) -> None:
    text, name, *_ = FIXTURES[key]
    delimiter = ";" if key == "shopware" else ","
    match = recognise(text.splitlines()[0].split(delimiter))
    assert match is not None and match.name == name
    assert match.reasons[0].startswith(f"Recognised as a {name}")


def test_generic_files_are_no_platform() -> None:
    assert recognise(["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID",
                      "Country"]) is None
    assert recognise(["Order Number", "Order Date", "Customer Email", "Item Name", "Quantity", "Item Cost",
                      "Order Total"]) is None


def test_user_overrides_win_over_the_platform_mapping() -> None:
    # Paid at instead of Created at: #1003's order date becomes 06-07 (Paid at sits on its first line only and is
    # spread over the order), so ann's recency is 4 instead of 6; the other figures are unchanged.
    got, _, _ = _rfm(SHOPIFY, dt.date(2024, 6, 11), mapping={"invoice_date": "Paid at"})
    assert got == {"ann@example.com": (2, 54.0, 4), "bob@example.com": (1, 15.0, 1)}


def test_a_hand_mapped_status_column_uses_the_generic_status_words() -> None:
    text = ("Invoice,Customer,Date,Amount,State\n1,a,2024-01-01,10,paid\n2,a,2024-01-02,20,Cancelled\n"
            "3,b,2024-01-03,5,refunded\n4,b,2024-01-04,7,shipped\n")
    got, ledger, _ = _rfm(text, dt.date(2024, 1, 5), mapping={"order_status": "State"})
    assert got == {"a": (1, 10.0, 4), "b": (1, 7.0, 1)}
    assert ledger == {"used": 2, "order refunded in full": 1, "order cancelled (shop status)": 1}


def test_file_engines_refuse_platform_exports(tmp_path: Path) -> None:
    path = tmp_path / "shopify.csv"
    path.write_text(SHOPIFY)
    with pytest.raises(RfmError, match=r"Shopify orders export.*--engine pandas"):
        duckdb_customers_from_files(str(path))


def test_each_outcome_has_its_own_ledger_reason() -> None:
    from rfm_core.clean import OUTCOME_REASONS, REASONS
    from rfm_core.platforms import OUTCOMES

    assert len(OUTCOMES) == len(OUTCOME_REASONS) == len(set(OUTCOME_REASONS))
    for outcome, reason in zip(OUTCOMES, OUTCOME_REASONS, strict=True):
        assert reason in REASONS
        assert outcome.replace("unpaid", "not paid").replace("failed", "payment failed")[:6] in reason


@settings(max_examples=15, deadline=None)
@given(key=st.sampled_from(sorted(FIXTURES)), data=st.data())
def test_row_and_column_order_never_change_a_platform_result(key: str, data: st.DataObject) -> None:
    """Shuffled lines (the order-level fields then sit on any line of the order) and shuffled columns give the
    hand-computed figures."""
    text, _, as_of, answer, ledger = FIXTURES[key]
    delimiter = ";" if key == "shopware" else ","
    frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False)
    rows = data.draw(st.permutations(list(range(len(frame)))))
    cols = data.draw(st.permutations(list(frame.columns)))
    shuffled = frame.iloc[rows][cols].to_csv(index=False, sep=delimiter)
    got, got_ledger, _ = _rfm(shuffled, as_of)
    assert got == answer
    assert got_ledger == ledger


def test_the_command_line_says_which_platform_it_recognised(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """The platform guess is a reading decision the user must see on the command line, not only in the exports."""
    from rfm_core.cli import main

    code = main(["segment", str(PLATFORM_FILES / "shopify_orders_export.csv"), "--as-of", "2024-06-11",
                 "--out", str(tmp_path / "seg.csv")])
    err = capsys.readouterr().err.splitlines()
    assert code == 0
    # The file's 'Created at' holds 8 timestamps, 7 at +0200 and 1 at -0500 (counted in the fixture).
    assert [line for line in err if line.startswith("read: ")] == [
        "read: Recognised as a Shopify orders export: the headers Name, Financial Status, Lineitem quantity, "
        "Lineitem price, Created at are its signature.",
        "read: Order value: Lineitem quantity x Lineitem price, less the order's Discount Amount and Refunded Amount.",
        "read: Dates in 'Created at' read as ISO 8601 (YYYY-MM-DD).",
        "read: 8 timestamp(s) state a time-zone offset (+02:00, -05:00): recency uses the shop's local clock as "
        "written; 'dated after today' compares them as instants.",
        # Counted by hand in the fixture: paid on #1001 (2 lines), #1005, #1006; #1003 partly refunded (2 lines,
        # 8.00); #1005 has a Cancelled at date; #1002 (50 of 50) and #1005 (12 of 12) refunded in full.
        "read: Statuses in 'Financial Status': paid (4) -> purchase; partially_refunded (2) -> purchase; refunded (1) "
        "-> refunded; voided (1) -> voided (lines).",
        "read: 1 line belongs to an order with a date in 'Cancelled at': cancelled, not a purchase.",
        "read: 1 partly refunded order: its refunded amount (8.00 in total) is netted against its value.",
        "read: Order discounts (5.00 in total) are subtracted once per order.",
        "read: 2 orders were refunded in full (refunded amount >= value): not purchases."]
    assert pd.read_csv(tmp_path / "seg.csv")["customer_id"].tolist() == sorted(SHOPIFY_ANSWER)
