"""Hypothesis: header spellings, column order, letter case of e-mail ids and the delimiter never change the result.

The expected per-customer figures are worked out by hand from ``ROWS``:
ann: invoices 1001 (2 x 5.00 + 1 x 2.50 = 12.50) and 1003 (3 x 1.00 = 3.00): F 2, M 15.50, last 2024-03-10;
bob: 1002 (20.00) and 1005 (7.75): F 2, M 27.75, last 2024-03-11; cy: 1004 (4 x 2.25 = 9.00): F 1, M 9.00,
last 2024-03-05. The analysis date is the day after the last purchase, 2024-03-12: R ann 2, bob 1, cy 7.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_core import analyze

ROWS = [
    ("ann@shop.com", "1001", "2024-03-01 10:00", 2, "5.00"),
    ("ann@shop.com", "1001", "2024-03-01 10:00", 1, "2.50"),
    ("bob@shop.com", "1002", "2024-03-03 12:00", 1, "20.00"),
    ("ann@shop.com", "1003", "2024-03-10 09:00", 3, "1.00"),
    ("cy@shop.com", "1004", "2024-03-05 16:30", 4, "2.25"),
    ("bob@shop.com", "1005", "2024-03-11 08:00", 1, "7.75"),
]
EXPECTED = {"ann@shop.com": (2, 2, 15.5), "bob@shop.com": (1, 2, 27.75), "cy@shop.com": (7, 1, 9.0)}

#: Spellings a user's export may carry, in English, German, French and Spanish, from plain to platform-style.
SPELLINGS = {
    "customer_id": ["CustomerID", "Customer ID", "Customer", "Email", "E-Mail", "Customer Email", "Billing Email",
                    "Customer E-mail", "customer_email", "Kundennummer", "Kunde", "Numéro de client", "Client",
                    "Cliente", "Email Address"],
    "invoice_id": ["InvoiceNo", "Invoice", "Order ID", "order_id", "Order Number", "Order No", "Rechnungsnummer",
                   "Bestellnummer", "Numéro de facture", "Número de factura", "Transaction ID", "Receipt"],
    "invoice_date": ["InvoiceDate", "Order Date", "Order Date (UTC)", "created_at", "Created at", "created_at_date",
                     "order_created_at", "Rechnungsdatum", "Datum", "Date de facture", "Fecha", "Fecha de pedido",
                     "Date", "Timestamp", "Purchase Date"],
    "quantity": ["Quantity", "Qty", "Lineitem quantity", "Menge", "Anzahl", "Quantité", "Cantidad", "Units"],
    "unit_price": ["UnitPrice", "Unit Price", "Price", "Lineitem price", "Einzelpreis", "Prix unitaire",
                   "Precio unitario", "Preis"],
    "amount": ["Amount", "revenue", "Total", "Line Total", "Betrag", "Montant", "Importe", "Sales"],
}
CASES = [str.lower, str.upper, str.title, lambda s: s, lambda s: f"  {s} ", lambda s: s.swapcase()]


@settings(max_examples=150, deadline=None)
@given(spelling=st.fixed_dictionaries({role: st.sampled_from(names) for role, names in SPELLINGS.items()}),
       money=st.sampled_from(["amount", "quantity-price", "both"]),
       case=st.lists(st.sampled_from(range(len(CASES))), min_size=len(ROWS), max_size=len(ROWS)),
       seed=st.integers(0, 2**32 - 1), delimiter=st.sampled_from([",", ";", "\t"]))
def test_spelling_order_and_case_never_change_the_customers(spelling: dict[str, str], money: str, case: list[int],
                                                            seed: int, delimiter: str) -> None:
    roles = ["customer_id", "invoice_id", "invoice_date"]
    roles += {"amount": ["amount"], "quantity-price": ["quantity", "unit_price"],
              "both": ["quantity", "unit_price", "amount"]}[money]
    values = []
    for (email, invoice, date, qty, price), c in zip(ROWS, case, strict=True):
        line_amount = f"{qty * float(price):.2f}"
        values.append({"customer_id": CASES[c](email), "invoice_id": invoice, "invoice_date": date,
                       "quantity": str(qty), "unit_price": price, "amount": line_amount})
    order = list(roles)
    random.Random(seed).shuffle(order)
    lines = [delimiter.join(spelling[r] for r in order)]
    lines += [delimiter.join(v[r] for r in order) for v in values]
    result = analyze(("\n".join(lines) + "\n").encode(), warn=False)
    assert {r: result.mapped.mapping.get(r) for r in roles} == {r: spelling[r] for r in roles}
    got = {str(k): (int(r["recency_days"]), int(r["frequency"]), round(float(r["monetary"]), 2))
           for k, r in result.customers.set_index("customer_id").iterrows()}
    assert got == EXPECTED
