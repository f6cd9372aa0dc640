"""Summary, revenue at risk and insights follow segment roles, not names; every figure worked by hand."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from rfm_core import DEFAULT_RULES, RuleSet
from rfm_core.insights import insights, revenue_at_risk, segment_summary

# Six customers: two Champions (revenue 500 + 300), one At Risk (200), one Can't Lose Them (400), two Lost (50 + 50).
CUSTOMERS = pd.DataFrame({
    "customer_id": list("abcdef"),
    "recency_days": [3, 5, 200, 250, 300, 320],
    "frequency": [10, 6, 4, 8, 1, 1],
    "monetary": [500.0, 300.0, 200.0, 400.0, 50.0, 50.0],
    "segment": pd.Categorical(["Champions", "Champions", "At Risk", "Can't Lose Them", "Lost", "Lost"],
                              categories=list(DEFAULT_RULES.names)),
})


def _renamed(rules: RuleSet, old: str, new: str) -> RuleSet:
    return RuleSet(tuple(dataclasses.replace(r, name=new) if r.name == old else r for r in rules.rules),
                   rules.fallback, rules.scale)


def test_summary_carries_roles_and_hand_figures() -> None:
    summary = segment_summary(CUSTOMERS, DEFAULT_RULES).set_index("segment")
    assert summary.loc["Champions", "role"] == "best" and summary.loc["Other", "role"] == "other"
    assert summary.loc["Champions", "revenue"] == 800.0 and summary.loc["Champions", "orders"] == 16
    assert summary.loc["Champions", "avg_order_value"] == pytest.approx(50.0)  # 800 / 16
    assert summary["customers"].sum() == 6 and summary.loc["New Customers", "customers"] == 0


def test_revenue_at_risk_is_historical_revenue_of_at_risk_roles() -> None:
    risk = revenue_at_risk(segment_summary(CUSTOMERS, DEFAULT_RULES))
    # At Risk 200 + Can't Lose Them 400 = 600 of 1,500 total revenue = 40%.
    assert risk == {"revenue": 600.0, "share": pytest.approx(0.4), "customers": 2,
                    "segments": ["Can't Lose Them", "At Risk"]}


def test_renaming_champions_keeps_the_insight() -> None:
    text = insights(CUSTOMERS, segment_summary(CUSTOMERS, DEFAULT_RULES))
    # 2 of 6 customers = 33.3%; 800 of 1,500 revenue = 53.3%.
    assert text[0] == "Champions (your best customers) are 33.3% of customers (2) and bring 53.3% of revenue (800)."
    assert text[1] == ("Revenue at risk: 2 customers in Can't Lose Them and At Risk spent 600 (40.0% of revenue) "
                       "and have not bought recently.")
    rules = _renamed(_renamed(DEFAULT_RULES, "Champions", "VIP"), "At Risk", "Slipping")
    renamed = CUSTOMERS.assign(segment=pd.Categorical(
        CUSTOMERS["segment"].astype(str).replace({"Champions": "VIP", "At Risk": "Slipping"}),
        categories=list(rules.names)))
    text = insights(renamed, segment_summary(renamed, rules))
    assert text[0] == "VIP (your best customers) are 33.3% of customers (2) and bring 53.3% of revenue (800)."
    assert "Can't Lose Them and Slipping spent 600" in text[1]
    # With a currency: money in headline format with its symbol.
    from rfm_core.formatting import Currency

    text = insights(CUSTOMERS, segment_summary(CUSTOMERS, DEFAULT_RULES), Currency("EUR", "after"))
    assert text[0].endswith("bring 53.3% of revenue (800 €).") and "spent 600 € (40.0% of revenue)" in text[1]


def test_largest_segment_names_every_tied_segment_and_agrees_in_number() -> None:
    """By hand: Champions and Lost both hold 2 of the 6 customers (33.3%), so neither alone is "the largest"; one
    customer is "1 customer" (the acceptance run's amount-only shop read "Loyal Customers with 1 customers" with all
    five segments at one customer)."""
    text = insights(CUSTOMERS, segment_summary(CUSTOMERS, DEFAULT_RULES))
    assert "The largest segments, tied, are Champions and Lost, with 2 customers each (33.3% each)." in text
    one = CUSTOMERS.iloc[:1]
    assert "The largest segment is Champions with 1 customer (100.0%)." in insights(one, segment_summary(one,
                                                                                                     DEFAULT_RULES))
    three = CUSTOMERS.iloc[[0, 2, 4]]  # Champions, At Risk, Lost: one each
    assert ("The largest segments, tied, are Champions, At Risk and Lost, with 1 customer each (33.3% each)."
            in insights(three, segment_summary(three, DEFAULT_RULES)))
