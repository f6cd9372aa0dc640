"""Column detection: header words in English, German, French and Spanish, values on a sample, one role per header."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_core import analyze, read_table
from rfm_core.columns import header_tokens, match_header
from rfm_core.mapping import _best_assignment, detect_columns, detect_mapping

ONLINE_RETAIL = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID",
                 "Country"]
ONLINE_RETAIL_II = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID",
                    "Country"]


@pytest.mark.parametrize(("header", "tokens"), [
    ("created_at_date", ("created", "at", "date")),
    ("order_created_at", ("order", "created", "at")),
    ("Order Date (UTC)", ("order", "date", "utc")),
    ("Lineitem quantity", ("lineitem", "quantity")),
    ("Billing Email", ("billing", "email")),
    ("Customer E-mail", ("customer", "email")),
    ("CustomerID", ("customer", "id")),
    ("Numéro de client", ("numero", "de", "client")),
    ("Rechnungsdatum", ("rechnungs", "datum")),
    ("Stückpreis", ("stuck", "preis")),
], ids=lambda v: v if isinstance(v, str) else None)
def test_header_tokens(header: str, tokens: tuple[str, ...]) -> None:
    assert header_tokens(header) == tokens


@pytest.mark.parametrize(("headers", "expected"), [
    (ONLINE_RETAIL, {"invoice_id": "InvoiceNo", "stock_code": "StockCode", "description": "Description",
                     "quantity": "Quantity", "invoice_date": "InvoiceDate", "unit_price": "UnitPrice",
                     "customer_id": "CustomerID", "country": "Country"}),
    (ONLINE_RETAIL_II, {"invoice_id": "Invoice", "stock_code": "StockCode", "description": "Description",
                        "quantity": "Quantity", "invoice_date": "InvoiceDate", "unit_price": "Price",
                        "customer_id": "Customer ID", "country": "Country"}),
    (["order_id", "email", "created_at_date", "revenue"],
     {"invoice_id": "order_id", "customer_id": "email", "invoice_date": "created_at_date", "amount": "revenue"}),
    (["Order Number", "Billing Email", "Order Date (UTC)", "Order Total", "Financial Status"],
     {"invoice_id": "Order Number", "customer_id": "Billing Email", "invoice_date": "Order Date (UTC)",
      "amount": "Order Total"}),
    (["Order", "Customer E-mail", "order_created_at", "Lineitem quantity", "Lineitem price", "Lineitem sku"],
     {"invoice_id": "Order", "customer_id": "Customer E-mail", "invoice_date": "order_created_at",
      "quantity": "Lineitem quantity", "unit_price": "Lineitem price", "stock_code": "Lineitem sku"}),
    (["Kundennummer", "Rechnungsnummer", "Rechnungsdatum", "Menge", "Einzelpreis", "Artikelnummer", "Bezeichnung",
      "Land"],
     {"customer_id": "Kundennummer", "invoice_id": "Rechnungsnummer", "invoice_date": "Rechnungsdatum",
      "quantity": "Menge", "unit_price": "Einzelpreis", "stock_code": "Artikelnummer", "description": "Bezeichnung",
      "country": "Land"}),
    (["Kunde", "Belegdatum", "Betrag"], {"customer_id": "Kunde", "invoice_date": "Belegdatum", "amount": "Betrag"}),
    (["Numéro de client", "Numéro de facture", "Date de facture", "Quantité", "Prix unitaire", "Pays"],
     {"customer_id": "Numéro de client", "invoice_id": "Numéro de facture", "invoice_date": "Date de facture",
      "quantity": "Quantité", "unit_price": "Prix unitaire", "country": "Pays"}),
    (["Client", "Date", "Montant"], {"customer_id": "Client", "invoice_date": "Date", "amount": "Montant"}),
    (["Cliente", "Número de factura", "Fecha", "Cantidad", "Precio unitario", "País"],
     {"customer_id": "Cliente", "invoice_id": "Número de factura", "invoice_date": "Fecha", "quantity": "Cantidad",
      "unit_price": "Precio unitario", "country": "País"}),
    (["Cliente", "Fecha de pedido", "Importe"], {"customer_id": "Cliente", "invoice_date": "Fecha de pedido",
                                                 "amount": "Importe"}),
    # Fields that are not the purchase, its date or its amount are left alone.
    (["Email", "Paid at", "Created at", "Cancelled at", "Discount Amount", "Total", "Refunded Amount", "Taxes"],
     {"customer_id": "Email", "invoice_date": "Created at", "amount": "Total"}),
    # A price with nothing to multiply it by is the line amount.
    (["Customer", "Date", "Price"], {"customer_id": "Customer", "invoice_date": "Date", "amount": "Price"}),
], ids=["online-retail", "online-retail-ii", "plain-order-export", "order-level", "line-items", "german",
        "german-short", "french", "french-short", "spanish", "spanish-order", "not-purchase-fields", "price-only"])
def test_detect_mapping_on_real_headers(headers: list[str], expected: dict[str, str]) -> None:
    assert detect_mapping(headers) == expected


def test_every_header_gets_at_most_one_role_and_each_role_one_header() -> None:
    got = detect_mapping(["Customer", "Customer Email", "Client", "Order Date", "Date", "Total", "Amount"])
    assert len(set(got.values())) == len(got)
    assert got["customer_id"] == "Customer" and got["invoice_date"] == "Order Date" and got["amount"] == "Amount"


def test_values_decide_between_two_date_headers() -> None:
    frame = pd.DataFrame({"Customer": ["a", "b", "a"], "Date": ["Monday", "Tuesday", "Friday"],
                          "Timestamp": ["2024-01-01 10:00", "2024-01-02 11:00", "2024-01-05 09:00"],
                          "Amount": ["1", "2", "3"]}, dtype="string")
    found = detect_columns(frame)
    assert detect_mapping(list(frame.columns))["invoice_date"] == "Date"  # the name alone prefers "Date"
    assert found.mapping["invoice_date"] == "Timestamp"
    assert found.reasons["invoice_date"] == "a known column name; 3 of 3 sampled values are dates"


def test_email_values_name_the_customer_even_under_an_unknown_header() -> None:
    frame = pd.DataFrame({"Kontaktadresse": ["x@shop.de", "Y@shop.de", "x@shop.de"], "Datum": ["2024-01-01"] * 3,
                          "Betrag": ["1,50", "2,00", "3,25"]}, dtype="string")
    found = detect_columns(frame)
    assert found.mapping == {"customer_id": "Kontaktadresse", "invoice_date": "Datum", "amount": "Betrag"}
    assert found.reasons["customer_id"] == ("its name does not say, but its values do; holds e-mail addresses that "
                                            "repeat across rows (2 distinct in 3 rows)")


def test_a_quantity_header_holding_text_is_not_a_quantity() -> None:
    frame = pd.DataFrame({"Customer": ["a", "b"], "Date": ["2024-01-01", "2024-01-02"],
                          "Quantity": ["large", "small"], "Total": ["5", "6"]}, dtype="string")
    found = detect_columns(frame)
    assert "quantity" not in found.mapping and found.mapping["amount"] == "Total"


def test_all_different_customer_ids_lose_to_repeating_ones() -> None:
    n = 60
    frame = pd.DataFrame({"Customer ID": [f"row-{i}" for i in range(n)],
                          "Customer": [f"c{i % 7}" for i in range(n)],
                          "Date": ["2024-01-01"] * n, "Total": ["1"] * n}, dtype="string")
    found = detect_columns(frame)
    assert found.mapping["customer_id"] == "Customer"
    assert "repeat across rows (7 distinct in 60 rows)" in found.reasons["customer_id"]


def test_close_calls_are_noted() -> None:
    found = detect_columns(["Customer", "Order Date", "Purchase Date", "Total"])
    assert found.mapping["invoice_date"] == "Order Date"
    assert any("'Purchase Date' could also be the invoice date" in n for n in found.notes)


def test_a_platform_prior_is_the_starting_point() -> None:
    frame = pd.DataFrame({"Name": ["#1001", "#1001", "#1002"], "Email": ["a@x.io", "a@x.io", "b@x.io"],
                          "Created at": ["2024-01-01 10:00 +0100"] * 3, "Lineitem quantity": ["1", "2", "1"],
                          "Lineitem price": ["5.00", "2.50", "9.99"]}, dtype="string")
    assert detect_columns(frame).mapping.get("description") == "Name"  # without the platform, a name
    found = detect_columns(frame, prior={"invoice_id": "Name"}, prior_reasons={"invoice_id": "Shopify: Name is the "
                                                                               "order number"})
    assert found.mapping["invoice_id"] == "Name" and "description" not in found.mapping
    assert found.reasons["invoice_id"] == "Shopify: Name is the order number"
    assert found.mapping["quantity"] == "Lineitem quantity" and found.mapping["unit_price"] == "Lineitem price"


def test_the_plain_order_export_from_the_issue_is_read_without_mapping() -> None:
    data = (b"order_id,email,created_at_date,revenue\n1,ann@shop.com,2024-01-02,10.00\n"
            b"2,bob@shop.com,2024-01-03,5.50\n3,Ann@Shop.com,2024-01-05,7.25\n")
    result = analyze(data, warn=False)
    # by hand: ann 10.00 + 7.25 = 17.25 on two orders, last 2024-01-05; bob 5.50; analysis date 2024-01-06
    by = result.customers.set_index("customer_id")
    assert by["monetary"].to_dict() == {"ann@shop.com": 17.25, "bob@shop.com": 5.5}
    assert by["frequency"].to_dict() == {"ann@shop.com": 2, "bob@shop.com": 1}
    assert by["recency_days"].to_dict() == {"ann@shop.com": 1, "bob@shop.com": 3}


def test_header_row_found_by_words_below_a_title() -> None:
    text = "Orders export\nOrder Date (UTC),Billing Email,Order Total\n2024-01-01 10:00,a@x.io,5\n"
    raw = read_table(text.encode(), "shop.csv")
    assert raw.header_row == 1 and list(raw.frame.columns) == ["Order Date (UTC)", "Billing Email", "Order Total"]


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 9), st.integers(1, 12), st.data())
def test_assignment_is_the_maximum_total_score(n_roles: int, n_headers: int, data: st.DataObject) -> None:
    """Checked against SciPy's Hungarian algorithm (an independent method) on random score matrices."""
    from scipy.optimize import linear_sum_assignment

    values = data.draw(st.lists(st.sampled_from([0.0, 0.0, 0.0, 5.5, 6.0, 10.0, 12.0, 13.0, 96.0, 100.0]),
                                min_size=n_roles * n_headers, max_size=n_roles * n_headers))
    scores = np.array(values).reshape(n_roles, n_headers)
    pairs = _best_assignment(scores)
    assert len({j for _, j in pairs}) == len(pairs) and len({i for i, _ in pairs}) == len(pairs)
    rows, cols = linear_sum_assignment(-scores)
    assert sum(scores[i, j] for i, j in pairs) == pytest.approx(scores[rows, cols].sum())


@pytest.mark.parametrize("header", ["Discount Amount", "Amount Refunded", "Shipping", "Taxes", "Financial Status",
                                    "Cancelled at", "Updated at", "Paid at", "Currency"])
def test_fields_that_are_not_purchases_name_no_role(header: str) -> None:
    assert match_header(header).best()[1] < 5


def test_a_known_price_column_with_some_text_is_still_used_and_its_rows_are_filed() -> None:
    """Found by tests/engine/test_properties.py: a price column with 1 number in 4 was dropped from the mapping,
    so the file was refused instead of filing its three unreadable rows in the ledger."""
    data = b"InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n1,a,2020-01-01,1,1.5\n2,b,2020-01-02,1,x\n" \
           b"3,c,2020-01-03,2,x\n4,d,2020-01-04,3,x\n"
    result = analyze(data, warn=False)
    assert result.mapped.mapping["unit_price"] == "UnitPrice"
    ledger = result.cleaned.ledger.set_index("reason")["rows"].to_dict()
    assert ledger == {"used": 1, "quantity, price or amount missing or not a number": 3}
