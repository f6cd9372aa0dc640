"""Number formats, labels and currency detection: hand-written expectations and an independent Decimal check."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rfm_core import ConfigError
from rfm_core.columns import CUSTOMER_TABLE_COLUMNS, FREQUENCY, MONETARY, RECENCY_DAYS, SEGMENT
from rfm_core.formatting import (
    NO_CURRENCY,
    Currency,
    count,
    currency_note,
    decimal,
    detect_currency,
    format_value,
    headline_money,
    label,
    money,
    percent,
    readable_headers,
)
from rfm_core.insights import SUMMARY_COLUMNS

GBP = Currency("GBP")


@pytest.mark.parametrize(("value", "currency", "decimals", "expected"), [
    (1179488.021, NO_CURRENCY, 2, "1,179,488.02"),
    (23112.1, NO_CURRENCY, 2, "23,112.10"),
    (1179488.021, GBP, 0, "£1,179,488"),
    (1234.5, GBP, 2, "£1,234.50"),
    (-12, GBP, 2, "-£12.00"),
    (-0.004, GBP, 2, "£0.00"),
    (0, GBP, 2, "£0.00"),
    (1234.5, Currency("eur", placement="after"), 2, "1,234.50 €"),
    (1234.5, Currency("CHF"), 2, "CHF 1,234.50"),
    (1234.5, Currency("CHF", placement="after"), 2, "1,234.50 CHF"),
    (1234.5, Currency("USD", symbol="US$"), 0, "US$1,234"),  # half to even
    (999.995, NO_CURRENCY, 2, "1,000.00"),  # 999.995 is stored as 999.99500000000000454...: rounds up
    (None, GBP, 2, ""),
    (float("nan"), GBP, 2, ""),
    (float("inf"), GBP, 2, ""),
], ids=["plain", "one-decimal-in", "headline", "gbp", "negative", "minus-zero", "zero", "euro-after", "code",
        "code-after", "symbol-override", "binary-half", "none", "nan", "inf"])
def test_money(value: object, currency: Currency, decimals: int, expected: str) -> None:
    assert money(value, currency, decimals) == expected


def test_headline_money_has_no_decimals() -> None:
    assert headline_money(23112.5, GBP) == "£23,112"  # half to even on the exact binary value 23112.5
    assert headline_money(23113.5, GBP) == "£23,114"


@pytest.mark.parametrize(("share", "expected"), [
    (0.21, "21.0%"), (0.1473, "14.7%"), (0.14749, "14.7%"), (0.0, "0.0%"), (1.0, "100.0%"), (0.0004, "<0.1%"),
    (0.0005, "0.1%"), (0.9996, ">99.9%"), (0.9994, "99.9%"), (-0.0004, "0.0%"), (None, ""), (float("nan"), ""),
], ids=["21", "14.73", "just-below-half", "zero", "all", "tiny", "half-step", "almost-all", "below-almost-all",
        "tiny-negative", "none", "nan"])
def test_percent_one_decimal_everywhere(share: object, expected: str) -> None:
    assert percent(share) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (4372, "4,372"), (0, "0"), (None, "0"), (float("nan"), "0"), (np.int64(1234567), "1,234,567"), (2.0, "2"),
])
def test_count(value: object, expected: str) -> None:
    assert count(value) == expected


def test_decimal_blank_when_missing() -> None:
    assert decimal(12.345) == "12.3" and decimal(1234.56, 2) == "1,234.56" and decimal(None) == ""


def _reference_money(x: float, decimals: int) -> str:
    """Independent: exact decimal of the binary value, half-even, separators inserted by a regex."""
    q = Decimal(x).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)
    if q == 0:
        q = abs(q)
    sign, digits = ("-", str(-q)) if q < 0 else ("", str(q))
    whole, _, frac = digits.partition(".")
    whole = re.sub(r"(?<=\d)(?=(\d{3})+$)", ",", whole)
    return sign + whole + ("." + frac if frac else "")


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False), st.sampled_from([0, 2]))
def test_money_matches_an_independent_decimal_rounding(x: float, decimals: int) -> None:
    assert money(x, NO_CURRENCY, decimals) == _reference_money(x, decimals)
    shown = money(x, GBP, decimals)
    assert shown.replace("£", "") == _reference_money(x, decimals)
    assert shown.count("£") == 1 and not shown.startswith("£-")


def test_currency_validation() -> None:
    assert Currency("gbp").code == "GBP"
    with pytest.raises(ConfigError, match="three-letter"):
        Currency("pounds")
    with pytest.raises(ConfigError, match="before"):
        Currency("GBP", placement="middle")  # type: ignore[arg-type]
    assert Currency("GBP").affixes() == ("£", "") and Currency("CHF").affixes() == ("CHF ", "")
    assert Currency("EUR", "after").affixes() == ("", " €") and NO_CURRENCY.affixes() == ("", "")


def test_labels_cover_every_customer_and_summary_column() -> None:
    for col in (*CUSTOMER_TABLE_COLUMNS, *SUMMARY_COLUMNS, "r_score", "f_score", "m_score", "rfm_score", SEGMENT):
        text = label(col)
        assert "_" not in text and not text[0].islower(), col
    assert label(RECENCY_DAYS) == "Recency (days)" and label(FREQUENCY) == "Orders" and label(MONETARY) == "Spend"
    assert label("clv_12m") == "CLV (12 months)"
    assert label("predicted_purchases_6m") == "Predicted purchase days (6 months)"
    assert label("some_new_col") == "Some new col"


def test_format_value_by_kind() -> None:
    assert format_value("monetary", 1234.5, GBP) == "£1,234.50"
    assert format_value("revenue_share", 0.1473) == "14.7%"
    assert format_value("customers", None) == "0"
    assert format_value("monetary_mean", float("nan")) == ""
    assert format_value("p_alive", 0.5) == "50.0%"
    assert format_value("last_purchase", pd.Timestamp("2011-12-09 12:50")) == "2011-12-09"
    assert format_value("segment", None) == ""
    assert format_value("clv_12m", 10, GBP) == "£10.00"


def test_readable_headers_renames_and_keeps_values() -> None:
    frame = pd.DataFrame({"customer_id": ["a"], "recency_days": [3], "monetary": [1.5]})
    out = readable_headers(frame)
    assert list(out.columns) == ["Customer", "Recency (days)", "Spend"]
    assert out.iloc[0].tolist() == ["a", 3, 1.5] and list(frame.columns) == ["customer_id", "recency_days",
                                                                              "monetary"]
    with pytest.raises(ConfigError, match="both be labelled"):
        readable_headers(pd.DataFrame({"frequency": [1], "orders": [1]}))


@pytest.mark.parametrize(("frame", "expected"), [
    (pd.DataFrame({"Name": ["#1", "#2"], "Currency": ["EUR", "EUR"]}), "EUR"),  # Shopify
    (pd.DataFrame({"id": ["ch_1", "ch_2"], "Currency": ["usd", "usd"]}), "USD"),  # Stripe, lower case
    (pd.DataFrame({"Order Number": [1, 2], "Order Currency": ["GBP", None]}), "GBP"),  # WooCommerce, blanks
    (pd.DataFrame({"x": [1], "currency_code": [" £ "]}), "GBP"),
    (pd.DataFrame({"Currency": ["EUR", "USD"]}), None),  # mixed
    (pd.DataFrame({"Currency": ["pounds"]}), None),
    (pd.DataFrame({"Currency": [None, ""]}), None),
    (pd.DataFrame({"InvoiceNo": [1], "UnitPrice": [2.0]}), None),  # Online Retail: does not say
], ids=["shopify", "stripe-lower", "woocommerce", "symbol", "mixed", "not-codes", "blank", "absent"])
def test_detect_currency(frame: pd.DataFrame, expected: str | None) -> None:
    assert detect_currency(frame) == expected


def test_currency_notes() -> None:
    assert currency_note(pd.DataFrame({"a": [1]})) is None
    assert currency_note(pd.DataFrame({"Currency": ["EUR"]})) == "Currency EUR, from the column 'Currency'."
    mixed = currency_note(pd.DataFrame({"Currency": ["EUR", "USD", "USD"]}))
    assert mixed is not None and "2 currencies (USD, EUR)" in mixed and "without conversion" in mixed
    odd = currency_note(pd.DataFrame({"Currency": ["pounds"]}))
    assert odd is not None and "choose the currency" in odd


def test_the_chosen_currency_wins_and_the_files_is_the_default() -> None:
    from rfm_core.formatting import effective_currency

    assert effective_currency(Currency("GBP"), "EUR") == Currency("GBP")  # chosen beats the file
    assert effective_currency(Currency(None, "after"), "EUR") == Currency("EUR", "after")  # as the file says
    assert effective_currency(Currency(), None) == Currency()  # neither: plain amounts
    assert effective_currency(Currency(), None).sign == ""


@pytest.mark.parametrize(("n", "expected"), [
    (1, "1 byte"), (999, "999 bytes"), (1000, "1.0 KB"), (3_412, "3.4 KB"), (999_949, "999.9 KB"),
    (999_950, "1.0 MB"), (2_900_000, "2.9 MB"), (48_039_790, "48.0 MB"), (1_234_000_000, "1.2 GB"),
])
def test_file_size_in_words(n: int, expected: str) -> None:
    from rfm_core.formatting import file_size

    assert file_size(n) == expected
