"""Column detection, overrides, and typed parsing of dates, numbers and ids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rfm_core import ConfigError, MappingError, analyze, detect_mapping, parse_dates, parse_numbers
from rfm_core.mapping import _parse_ids


@pytest.mark.parametrize(("headers", "expected"), [
    (["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"],
     {"invoice_id": "InvoiceNo", "unit_price": "UnitPrice", "customer_id": "CustomerID"}),
    (["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"],
     {"invoice_id": "Invoice", "unit_price": "Price", "customer_id": "Customer ID"}),
    (["order_id", "created_at", "email", "revenue"],
     {"invoice_id": "order_id", "invoice_date": "created_at", "customer_id": "email", "amount": "revenue"}),
    (["Order Date", "Customer", "Total"], {"invoice_date": "Order Date", "customer_id": "Customer",
                                           "amount": "Total"}),
], ids=["online-retail", "online-retail-ii", "shop", "spaces"])
def test_detect_mapping(headers: list[str], expected: dict[str, str]) -> None:
    got = detect_mapping(headers)
    assert {k: got[k] for k in expected} == expected


def test_missing_required_columns_lists_found_and_closest() -> None:
    data = b"Invoice,Clientele,Date,Qty,Price\n1,A,2011-01-01,1,2\n"
    with pytest.raises(MappingError) as err:
        analyze(data)
    msg = str(err.value)
    assert "customer_id" in msg and "Clientele" in msg and "--map" in msg


def test_explicit_mapping_overrides_detection() -> None:
    data = b"Invoice,Client Ref,Date,Qty,Price\n1,A,2011-01-01,1,2\n2,B,2011-01-03,2,2\n"
    from rfm_core.settings import AnalysisSettings

    result = analyze(data, AnalysisSettings(mapping=(("customer_id", "Client Ref"),)))
    assert result.customers["customer_id"].tolist() == ["A", "B"]
    with pytest.raises(MappingError, match="Client Ref"):
        analyze(data, AnalysisSettings(mapping=(("customer_id", "Client"),)))
    with pytest.raises(ConfigError, match="Unknown column role"):
        analyze(data, AnalysisSettings(mapping=(("shoe_size", "Qty"),)))


def test_amount_column_is_used_when_present_and_orders_come_from_timestamps() -> None:
    data = b"customer,date,revenue\nA,2011-01-01 10:00,5\nA,2011-01-01 10:00,7\nA,2011-01-02 10:00,1\nB,2011-01-02,4\n"
    result = analyze(data)
    by = result.customers.set_index("customer_id")
    assert by.loc["A", "frequency"] == 2 and by.loc["A", "monetary"] == 13
    assert any("each distinct customer and timestamp" in n for n in result.mapped.notes)


def _dates(values: list[object], dayfirst: bool | None = None) -> tuple[list[pd.Timestamp], str]:
    parsed, label = parse_dates(pd.Series(values, dtype="string" if isinstance(values[0], str) else None), dayfirst)
    return list(parsed), label


def test_month_first_is_proven_by_a_day_above_12() -> None:
    got, label = _dates(["12/1/2010 8:26", "12/13/2010 14:05"])
    assert got == [pd.Timestamp("2010-12-01 08:26"), pd.Timestamp("2010-12-13 14:05")]
    assert "month-first" in label


def test_day_first_is_proven_by_a_first_part_above_12() -> None:
    got, label = _dates(["01/02/2011", "13/02/2011"])
    assert got == [pd.Timestamp("2011-02-01"), pd.Timestamp("2011-02-13")]
    assert "day-first" in label


def test_ambiguous_dates_say_so_and_respect_the_setting() -> None:
    got, label = _dates(["01/02/2011", "03/04/2011"])
    assert got[0] == pd.Timestamp("2011-01-02") and "assumed" in label
    got, _ = _dates(["01/02/2011", "03/04/2011"], dayfirst=True)
    assert got[0] == pd.Timestamp("2011-02-01")


def test_iso_with_time_zones_keeps_the_local_clock() -> None:
    got, _ = _dates(["2011-03-01T10:00:00+01:00", "2011-03-02T11:30:00Z", "2011-03-03"])
    assert got == [pd.Timestamp("2011-03-01 10:00"), pd.Timestamp("2011-03-02 11:30"), pd.Timestamp("2011-03-03")]


def test_excel_serials_as_numbers_and_text() -> None:
    got, label = _dates(["40513.35138888889", "40514"])
    assert got == [pd.Timestamp("2010-12-01 08:26"), pd.Timestamp("2010-12-02")]
    assert "Excel" in label
    got2, _ = parse_dates(pd.Series([40513.0]))
    assert list(got2) == [pd.Timestamp("2010-12-01")]


def test_am_pm_and_two_digit_years() -> None:
    got, _ = _dates(["12/1/10 8:26 PM", "12/13/10 9:05 AM"])
    assert got == [pd.Timestamp("2010-12-01 20:26"), pd.Timestamp("2010-12-13 09:05")]


def test_unparseable_dates_become_missing_and_are_reported() -> None:
    data = b"InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n1,A,2011-01-01,1,2\n2,A,yesterday,1,2\n"
    result = analyze(data)
    problems = result.mapped.problems
    row = problems[problems["problem"] == "not a date"].iloc[0]
    assert row["rows"] == 1 and "yesterday" in row["examples"]


@pytest.mark.parametrize(("raw", "decimal_comma", "expected"), [
    (["1", "2.5", "-3"], False, [1, 2.5, -3]),
    (["£1,200.50", "$ 3", "€4", "(5.00)", "1 000", "GBP 7"], False, [1200.5, 3, 4, -5, 1000, 7]),
    (["1.234,50", "2,55", "-1"], True, [1234.5, 2.55, -1]),
    (["abc", "", None, "1e3"], False, [np.nan, np.nan, np.nan, 1000]),
], ids=["plain", "currency-thousands", "decimal-comma", "bad"])
def test_parse_numbers(raw: list[str | None], decimal_comma: bool, expected: list[float]) -> None:
    got = parse_numbers(pd.Series(raw, dtype="string"), decimal_comma).to_numpy()
    np.testing.assert_allclose(got, np.array(expected, dtype=float), equal_nan=True)


def test_ids_floats_spaces_and_leading_zeros() -> None:
    got = _parse_ids(pd.Series([" 17850.0", "00123", "17850", "", None, "nan"], dtype="string"))
    assert got.astype(object).where(got.notna(), None).tolist() == ["17850", "00123", "17850", None, None, None]
    floats = _parse_ids(pd.Series([17850.0, np.nan, 12.5]))
    assert floats.astype(object).where(floats.notna(), None).tolist() == ["17850", None, "12.5"]


def test_regression_excel_serial_beyond_2199_is_unreadable_not_a_crash() -> None:
    """Found by tests/test_fuzz.py: serial 132321 (year 2262) overflowed datetime64[ns]."""
    got, _ = parse_dates(pd.Series(["132321", "40513"], dtype="string"))
    assert pd.isna(got.iloc[0]) and got.iloc[1] == pd.Timestamp("2010-12-01")
