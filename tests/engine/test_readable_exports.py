"""Readable exports in the analyst's format (issue 14 leftovers, items 1 and 6): the CSV "with readable headers"
rounds as the app shows (money 2 decimals, percentages 1 decimal as numbers, whole counts, no thousands
separators), the machine CSV stays unrounded, and the Settings score tables show days and orders as whole numbers.
Every expected value below is worked by hand from the inputs written here."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from rfm_core.export import readable_csv, table_csv
from rfm_core.formatting import Currency, score_bins_table
from rfm_core.score import MetricBins

FRAME = pd.DataFrame({
    "segment": ["Champions", "=HYPERLINK()", "Other"],
    "customers": [4372, 15, 0],
    "customer_share": [0.14734, 2 / 3, np.nan],
    "revenue": [1179488.021, -12.004, 0.0],
    "monetary_mean": [23112.1, 1 / 3, np.nan],
    "recency_mean": [12.345, 7.0, np.nan],
    "p_alive": [0.83449, 1.0, np.nan],
    "predicted_purchases_12m": [1.23456, 0.0, np.nan],
})


def test_readable_csv_rounds_like_the_app_and_keeps_numbers_plain() -> None:
    text = readable_csv(FRAME, Currency("GBP")).decode()
    rows = list(pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False).itertuples(index=False))
    header = text.splitlines()[0]
    assert header == ("Segment,Customers,% of customers,Revenue (GBP),Mean spend (GBP),Mean recency (days),"
                      "P(alive) (%),Predicted purchase days (12 months)")
    # 0.14734 -> 14.7; 2/3 -> 66.7; 1179488.021 -> 1179488.02 (no thousands separator); -12.004 -> -12.00;
    # 1/3 of a pound -> 0.33; 12.345 days -> 12.3; 0.83449 -> 83.4; 1.23456 purchase days -> 1.23.
    assert tuple(rows[0]) == ("Champions", "4372", "14.7", "1179488.02", "23112.10", "12.3", "83.4", "1.23")
    assert tuple(rows[1]) == ("'=HYPERLINK()", "15", "66.7", "-12.00", "0.33", "7.0", "100.0", "0.00")
    # An empty segment: 0 customers and 0.00 revenue; a mean or share of nobody is blank.
    assert tuple(rows[2]) == ("Other", "0", "", "0.00", "", "", "", "")


def test_machine_csv_keeps_its_names_and_unrounded_values() -> None:
    text = table_csv(FRAME).decode()
    assert text.splitlines()[0] == ("segment,customers,customer_share,revenue,monetary_mean,recency_mean,p_alive,"
                                    "predicted_purchases_12m")
    assert text.splitlines()[1] == "Champions,4372,0.14734,1179488.021,23112.1,12.345,0.83449,1.23456"


def test_readable_csv_without_a_currency_names_none() -> None:
    header = readable_csv(FRAME[["revenue"]]).decode().splitlines()
    assert header == ["Revenue", "1179488.02", "-12.00", "0.00"]


def _bins(metric: str, lows: tuple[float | None, ...], highs: tuple[float | None, ...],
          sizes: tuple[int, ...]) -> MetricBins:
    return MetricBins(metric, "quantile", "quantile", len(sizes), sizes, lows, highs)


def test_score_table_shows_days_and_orders_whole_and_money_with_two_decimals() -> None:
    # Recency: lows/highs are whole days (recency is a whole number of days), score 3 empty.
    recency = score_bins_table(_bins("recency", (300.0, 31.0, None, 1.0), (1200.0, 299.0, None, 30.0),
                                     (5, 7, 0, 9)))
    assert list(recency["from"]) == ["300", "31", "", "1"]
    assert list(recency["to"]) == ["1,200", "299", "", "30"]
    assert list(recency["customers"]) == [5, 7, 0, 9] and list(recency["score"]) == [1, 2, 3, 4]
    # In words: the smallest values' score "≤ 30", the largest's "300+", between "31–299"; the empty score says so.
    assert list(recency["range"]) == ["300+", "31–299", "(empty)", "≤ 30"]
    frequency = score_bins_table(_bins("frequency", (1.0, 3.0), (2.0, 3.0), (10, 4)))
    assert list(frequency["from"]) == ["1", "3"] and list(frequency["to"]) == ["2", "3"]
    assert not any("." in v for v in [*frequency["from"], *frequency["to"]])  # never "3.00"
    monetary = score_bins_table(_bins("monetary", (0.5, 100.25), (100.0, 2345.678), (3, 3)), Currency("GBP"))
    assert list(monetary["from"]) == ["£0.50", "£100.25"] and list(monetary["to"]) == ["£100.00", "£2,345.68"]
    assert list(monetary["range"]) == ["≤ £100.00", "£100.25+"]
    assert list(frequency["range"]) == ["≤ 2", "3"]


def test_readable_csv_keeps_every_share_a_number_and_says_roles_in_words() -> None:
    """The app shows a tiny share as "<0.1%", but a CSV cell must stay a number a spreadsheet reads (0.04% -> 0.0);
    a rule's role reads in words (the acceptance run found "cant_lose" in the readable summary)."""
    import pandas as pd

    from rfm_core.export import readable_csv

    frame = pd.DataFrame({"segment": ["A", "B"], "role": ["cant_lose", "best"],
                          "customer_share": [0.0004, 0.9996], "revenue_share": [0.5, None]})
    rows = readable_csv(frame).decode().splitlines()
    assert rows[1] == "A,\"can't lose (high value, lapsing)\",0.0,50.0"
    assert rows[2] == "B,best customers,100.0,"
