"""AppTest: a new file gets fresh detection, each detected role shows its reason, warnings and 'today' reach the UI."""

from __future__ import annotations

import datetime as dt

from streamlit.testing.v1 import AppTest

from tests.app.test_pages import go, mapping_box, upload

ORDERS = (b"order_id,email,created_at_date,revenue\n1,ann@shop.com,2024-01-02,10.00\n"
          b"2,bob@shop.com,2024-01-03,5.50\n3,Ann@Shop.com,2024-01-05,7.25\n")


def metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def test_amount_only_export_after_the_sample_needs_no_mapping(at: AppTest) -> None:
    assert mapping_box(at, "amount").value == "(not in file)"  # the sample has quantity x price
    upload(at, "orders.csv", ORDERS)
    assert not at.exception and not at.error
    assert mapping_box(at, "amount").value == "revenue"
    assert mapping_box(at, "quantity").value == "(not in file)"
    # by hand: ann 10.00 + 7.25 (two spellings of one address), bob 5.50
    assert metrics(at)["Customers"] == "2" and metrics(at)["Revenue"] == "23"
    captions = [c.value for c in at.caption]
    assert "Detected: a known column name; 3 of 3 sampled values are numbers." in captions
    assert any(c.startswith("Detected: a known column name; holds e-mail addresses that repeat across rows")
               for c in captions)


def test_a_choice_made_for_one_file_does_not_carry_over(at: AppTest) -> None:
    first = (b"InvoiceNo,CustomerID,Email,InvoiceDate,Quantity,UnitPrice\n1,A,x@example.com,2011-01-01,1,2\n"
             b"2,B,x@example.com,2011-01-02,1,2\n")
    upload(at, "first.csv", first)
    mapping_box(at, "customer_id").set_value("Email").run()
    assert metrics(at)["Customers"] == "1"
    upload(at, "orders.csv", ORDERS)
    assert not at.exception and not at.error
    assert mapping_box(at, "customer_id").value == "email"
    assert metrics(at)["Customers"] == "2"


def test_reading_warnings_are_shown(at: AppTest) -> None:
    upload(at, "dmy.csv", b"CustomerID,InvoiceNo,InvoiceDate,Amount\nA,1,01/02/2024,10\nB,2,03/04/2024,5\n")
    assert not at.exception
    assert any("fit both day-first and month-first" in w.value for w in at.warning)


def test_today_setting_reaches_the_ledger(at: AppTest) -> None:
    upload(at, "t.csv", b"CustomerID,InvoiceNo,InvoiceDate,Amount\nA,1,2024-01-01,10\nB,2,2024-01-05,5\n")
    assert metrics(at)["Customers"] == "2"
    go(at, "settings")
    at.checkbox(key="today_clock").uncheck().run()
    at.date_input(key="today").set_value(dt.date(2024, 1, 3)).run()
    assert not at.exception
    go(at, "data")
    assert metrics(at)["Customers"] == "1"  # B's order of 2024-01-05 is after the shop's 'today'
