"""readable_table: what the app's tables show for text among counts and for values that could not be computed."""

from __future__ import annotations

import pandas as pd
import pytest

from pages.common import readable_table
from rfm_core.formatting import NO_CURRENCY, Currency


def test_a_pooled_frequency_row_keeps_its_label() -> None:
    # The holdout table's last row pools frequencies 7 and above as "7+"; coercing it to a count showed 0.
    frame = pd.DataFrame({"frequency": ["0", "1", "7+"], "customers": [10, 5, 66]})
    view, _ = readable_table(frame, NO_CURRENCY)
    assert view["frequency"].tolist() == ["0", "1", "7+"]
    assert view["customers"].tolist() == [10, 5, 66]


def test_missing_probabilities_read_blank_and_known_ones_as_percentages() -> None:
    frame = pd.DataFrame({"segment": ["A", "B"], "mean_p_alive": [None, 0.5]})
    view, _ = readable_table(frame, NO_CURRENCY)
    assert view["mean_p_alive"].tolist() == ["", "50.0%"]


def test_a_count_nobody_could_compute_is_blank_but_an_empty_segment_is_0() -> None:
    frame = pd.DataFrame({"segment": ["A", "B"], "likely_gone": [None, None], "customers": [3, None]})
    view, _ = readable_table(frame, NO_CURRENCY)
    assert view["likely_gone"].tolist() == ["", ""]  # churn not estimable: not "0 customers likely gone"
    assert view["customers"].tolist() == [3, 0]


def test_shares_are_scaled_for_the_percent_format() -> None:
    view, _ = readable_table(pd.DataFrame({"customer_share": [0.1473, 0.0]}), NO_CURRENCY)
    assert view["customer_share"].tolist() == [pytest.approx(14.73), 0.0]


def test_a_share_that_rounds_to_zero_reads_below_a_tenth_of_a_percent() -> None:
    # The sample's ledger: 19 of 38,479 rows are orders cancelled in full; the grid showed "0.0%".
    frame = pd.DataFrame({"reason": ["used", "order cancelled in full"], "rows": [28_004, 19],
                          "share": [28_004 / 38_479, 19 / 38_479]})
    view, _ = readable_table(frame, NO_CURRENCY)
    assert view["share"].tolist() == ["72.8%", "<0.1%"]
    whole = pd.DataFrame({"segment": ["A"], "customer_share": [0.25]})
    assert readable_table(whole, NO_CURRENCY)[0]["customer_share"].tolist() == [25.0]  # a number, formatted by the grid


def test_numbers_nobody_could_compute_read_blank_not_none() -> None:
    # The Overview's "Other" row (no customers) and a segment without repeat buyers: the grid drew grey "None"
    # in the average order value, the mean and median columns and the days to the next order.
    frame = pd.DataFrame({"segment": ["Champions", "Other"], "customers": [2, 0],
                          "avg_order_value": [1234.5, None], "recency_mean": [3.25, None],
                          "days_between": [12.0, float("nan")], "r_score": [5.0, None]})
    view, config = readable_table(frame, Currency("GBP"))
    assert view["avg_order_value"].tolist() == ["£1,234.50", ""]
    assert view["recency_mean"].tolist() == ["3.2", ""]  # one decimal, as the grid's %,.1f (3.25 -> 3.2, half even)
    assert view["days_between"].tolist() == ["12.00", ""]  # no known kind: %,.2f as column_for gives
    assert view["r_score"].tolist() == ["5", ""]
    assert view["customers"].tolist() == [2, 0]
    assert config["recency_mean"]["label"] == "Mean recency (days)"  # the label in words stays
    # aligned right, as the grid aligns the number columns beside them (a user check saw them left-aligned)
    assert {config[c]["alignment"] for c in ("avg_order_value", "recency_mean", "days_between", "r_score")} == {
        "right"}
    assert not any(v is None or v == "None" for col in view.columns for v in view[col].tolist())
    # A column with every value known stays a number the grid formats and sorts.
    full, _ = readable_table(frame.iloc[:1], Currency("GBP"))
    assert full["avg_order_value"].tolist() == [1234.5]
