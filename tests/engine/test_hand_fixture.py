"""The whole pipeline on 11 lines computed by hand.

Rows (0-based) and their fate, in the ledger's order of reasons:
  9 'not a date' -> date missing or unreadable; 10 quantity 'abc' -> not a number; 6 no customer;
  5 duplicate of 4; 7 unit price 0; 3 C-invoice -> cancellation; 0, 1, 2, 4, 8 used.
Used rows: A has invoices 1001 (2x5 + 1x3 = 13, 2024-01-01) and 1002 (20, 2024-01-10); B 1004 (4x2.5 = 10,
2024-01-05); C 1007 (7, 2024-01-20). Analysis date = day after the last used date = 2024-01-21.
  A: recency 11, frequency 2, monetary 33, tenure 20;  B: 16, 1, 10, 16;  C: 1, 1, 7, 1.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from rfm_core import CleaningPolicy, analyze
from rfm_core.clean import dropped_rows
from rfm_core.settings import AnalysisSettings


def test_customers_match_hand_computation(hand_csv: bytes) -> None:
    result = analyze(hand_csv, name="hand.csv")
    got = result.customers[["customer_id", "recency_days", "frequency", "monetary", "tenure_days"]]
    expected = pd.DataFrame({
        "customer_id": ["A", "B", "C"],
        "recency_days": [11, 16, 1],
        "frequency": [2, 1, 1],
        "monetary": [33.0, 10.0, 7.0],
        "tenure_days": [20, 16, 1],
    })
    assert_frame_equal(got.reset_index(drop=True), expected, check_dtype=False)
    assert result.as_of == dt.date(2024, 1, 21)
    assert result.customers["avg_order_value"].tolist() == [16.5, 10.0, 7.0]
    assert result.customers["country"].tolist() == ["United Kingdom", "France", "United Kingdom"]


def test_ledger_names_every_row(hand_csv: bytes) -> None:
    ledger = analyze(hand_csv).cleaned.ledger.set_index("reason")["rows"].to_dict()
    assert ledger == {
        "used": 5,
        "date missing or unreadable": 1,
        "quantity, price or amount missing or not a number": 1,
        "no customer id": 1,
        "exact duplicate line": 1,
        "unit price zero or negative": 1,
        "cancellation (C + invoice number)": 1,
    }
    assert sum(ledger.values()) == 11


def test_dropped_rows_are_downloadable_with_reasons(hand_csv: bytes) -> None:
    result = analyze(hand_csv)
    dropped = dropped_rows(result.mapped, result.cleaned)
    assert dropped["row"].tolist() == [4, 6, 7, 8, 10, 11]  # 1-based data rows
    assert dropped.loc[dropped["row"] == 10, "reason"].item() == "date missing or unreadable"
    assert dropped.loc[dropped["row"] == 10, "InvoiceDate"].item() == "not a date"


def test_net_returns_reduce_monetary_but_not_frequency(hand_csv: bytes) -> None:
    result = analyze(hand_csv, AnalysisSettings(cleaning=CleaningPolicy(returns="net")))
    a = result.customers.set_index("customer_id").loc["A"]
    assert a["monetary"] == pytest.approx(13.0)  # 33 - 20 returned
    assert a["frequency"] == 2
    assert a["recency_days"] == 11  # a return is not a purchase: recency still from 2024-01-10
    ledger = result.cleaned.ledger.set_index("reason")["rows"]
    assert ledger["used: return netted against monetary"] == 1


def test_keep_missing_customers_groups_them_as_unknown(hand_csv: bytes) -> None:
    result = analyze(hand_csv, AnalysisSettings(cleaning=CleaningPolicy(drop_missing_customer=False)))
    assert "(unknown)" in set(result.customers["customer_id"])
    assert result.cleaned.ledger["rows"].sum() == 11


def test_date_window_and_country_filter(hand_csv: bytes) -> None:
    policy = CleaningPolicy(start=dt.date(2024, 1, 2), end=dt.date(2024, 1, 19), countries=("United Kingdom",))
    result = analyze(hand_csv, AnalysisSettings(cleaning=policy))
    ledger = result.cleaned.ledger.set_index("reason")["rows"]
    assert ledger["before the date window"] == 2  # A's 2024-01-01 lines
    assert ledger["after the date window"] == 1  # C's 2024-01-20 purchase
    assert ledger["country not selected"] == 1  # B in France
    assert result.customers["customer_id"].tolist() == ["A"]
    assert ledger.sum() == 11


def test_explicit_as_of(hand_csv: bytes) -> None:
    result = analyze(hand_csv, AnalysisSettings(as_of=dt.date(2024, 2, 1)))
    assert result.customers["recency_days"].tolist() == [22, 27, 12]


def test_settings_toml_round_trip() -> None:
    from rfm_core import MetricScoring, ScoringSettings
    from rfm_core.settings import ReadOptions, settings_from_toml, settings_to_toml

    settings = AnalysisSettings(
        read=ReadOptions(sheet="Year 2010-2011"), mapping=(("customer_id", "Client"),),
        cleaning=CleaningPolicy(returns="net", start=dt.date(2011, 1, 1), countries=("France", "EIRE"),
                                dayfirst=True),
        scoring=ScoringSettings(MetricScoring(3, "thresholds", (30, 90)), MetricScoring(4, "rank"), MetricScoring()),
        as_of=dt.date(2011, 12, 10))
    assert settings_from_toml(settings_to_toml(settings)) == settings
    with pytest.raises(Exception, match="Unknown keys"):
        settings_from_toml("[cleaning]\nshoe = 1\n")


def test_net_returns_outside_the_window_are_not_netted(hand_csv: bytes) -> None:
    policy = CleaningPolicy(returns="net", end=dt.date(2024, 1, 10))  # A's return is on 2024-01-11
    result = analyze(hand_csv, AnalysisSettings(cleaning=policy))
    assert result.customers.set_index("customer_id").loc["A", "monetary"] == pytest.approx(33.0)
    ledger = result.cleaned.ledger.set_index("reason")["rows"]
    assert "used: return netted against monetary" not in ledger.index
    assert ledger["after the date window"] == 2  # the return and C's 2024-01-20 purchase (its 01-15 line has price 0)


def test_rows_used_counts_netted_returns(tmp_path: Path, hand_csv: bytes) -> None:
    """One definition of "rows used": with returns netted, the netted return line is used too (6 = 5 + 1)."""
    from rfm_core.cli import main

    src = tmp_path / "hand.csv"
    src.write_bytes(hand_csv)
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["segment", str(src), "--returns", "net"]) == 0
    assert "(6 used)" in err.getvalue()
