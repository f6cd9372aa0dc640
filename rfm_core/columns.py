"""Canonical column names and the synonyms used to recognise them in real exports.

Column names are normalised exactly once, where data enters (:mod:`rfm_core.mapping`); everything downstream
refers to the constants below, never to string literals.
"""

from __future__ import annotations

import difflib
import re

__all__ = [
    "ADJUSTED_TOTAL",
    "AMOUNT",
    "AVG_ORDER_VALUE",
    "CANCELLED_AT",
    "CANONICAL",
    "COUNTRY",
    "CUSTOMER_ID",
    "CUSTOMER_TABLE_COLUMNS",
    "DESCRIPTION",
    "DISCOUNT_AMOUNT",
    "FIRST_PURCHASE",
    "FREQUENCY",
    "F_SCORE",
    "INVOICE_DATE",
    "INVOICE_ID",
    "IS_RETURN",
    "LAST_PURCHASE",
    "MONETARY",
    "M_SCORE",
    "ORDER_ROLES",
    "ORDER_STATUS",
    "ORDER_TOTAL",
    "PAYMENT_STATUS",
    "QUANTITY",
    "RECENCY_DAYS",
    "REFUNDED_AMOUNT",
    "REQUIRED_HELP",
    "RFM_SCORE",
    "R_SCORE",
    "SEGMENT",
    "STOCK_CODE",
    "SYNONYMS",
    "TENURE_DAYS",
    "UNIT_PRICE",
    "closest_names",
    "normalise_header",
]

INVOICE_ID = "invoice_id"
INVOICE_DATE = "invoice_date"
CUSTOMER_ID = "customer_id"
QUANTITY = "quantity"
UNIT_PRICE = "unit_price"
AMOUNT = "amount"
COUNTRY = "country"
STOCK_CODE = "stock_code"
DESCRIPTION = "description"

#: Per-transaction flag added by the clean stage: True for a return or cancellation line netted against monetary.
IS_RETURN = "is_return"

# Per-customer columns (the aggregate, score and segment stages). Refer to these, never to string literals.
RECENCY_DAYS = "recency_days"
FREQUENCY = "frequency"
MONETARY = "monetary"
FIRST_PURCHASE = "first_purchase"
LAST_PURCHASE = "last_purchase"
TENURE_DAYS = "tenure_days"
AVG_ORDER_VALUE = "avg_order_value"
R_SCORE = "r_score"
F_SCORE = "f_score"
M_SCORE = "m_score"
RFM_SCORE = "rfm_score"
SEGMENT = "segment"

#: The per-customer table every aggregation engine returns, in this order (``country`` follows when known).
CUSTOMER_TABLE_COLUMNS: tuple[str, ...] = (
    CUSTOMER_ID, RECENCY_DAYS, FREQUENCY, MONETARY, FIRST_PURCHASE, LAST_PURCHASE, TENURE_DAYS, AVG_ORDER_VALUE,
)

#: Every canonical column, in display order.
CANONICAL: tuple[str, ...] = (
    CUSTOMER_ID,
    INVOICE_ID,
    INVOICE_DATE,
    QUANTITY,
    UNIT_PRICE,
    AMOUNT,
    COUNTRY,
    STOCK_CODE,
    DESCRIPTION,
)

#: Known spellings per canonical column, compared after :func:`normalise_header`. Earlier entries win when a
#: file has several candidates (e.g. ``customer_id`` beats ``email``).
SYNONYMS: dict[str, tuple[str, ...]] = {
    CUSTOMER_ID: (
        "customerid", "customer", "customerno", "customernumber", "custid", "clientid", "client",
        "userid", "user", "buyerid", "memberid", "accountid", "email", "customeremail", "emailaddress",
    ),
    INVOICE_ID: (
        "invoiceno", "invoice", "invoiceid", "invoicenumber", "orderid", "order", "orderno", "ordernumber",
        "transactionid", "transaction", "receiptid", "receipt", "basketid", "salesid", "billno",
    ),
    INVOICE_DATE: (
        "invoicedate", "orderdate", "date", "transactiondate", "purchasedate", "createdat", "created",
        "timestamp", "datetime", "orderedat", "saledate", "time", "invoicedatetime", "orderdatetime",
    ),
    QUANTITY: ("quantity", "qty", "units", "count", "itemcount", "quantityordered", "amountordered"),
    UNIT_PRICE: ("unitprice", "price", "priceeach", "itemprice", "unitcost", "priceperunit", "sellingprice"),
    AMOUNT: (
        "amount", "revenue", "total", "sales", "linetotal", "totalprice", "totalamount", "ordertotal",
        "value", "net", "netsales", "grandtotal", "lineamount", "subtotal", "spend",
    ),
    COUNTRY: ("country", "countryname", "market", "region", "shipcountry", "billingcountry"),
    STOCK_CODE: ("stockcode", "sku", "productid", "productcode", "itemid", "itemcode", "articleno", "product"),
    DESCRIPTION: ("description", "productname", "itemname", "itemdescription", "productdescription", "name"),
}

# ------------------------------------------------------------------------------------------------------------
# Order-level roles (orders work, issues 9 and 10). Filled by recognised shop-platform exports (rfm_core.platforms)
# or by an explicit mapping (--map order_status=Status); never guessed from synonyms, so a generic file is read
# as before. Values may sit on the first line of an order only: rfm_core.orders spreads them over the order.
ORDER_STATUS = "order_status"  #: the order's (fulfilment or overall) status, e.g. completed / refunded / cancelled
PAYMENT_STATUS = "payment_status"  #: a separate payment status where the platform has one (Shopify, Shopware)
ORDER_TOTAL = "order_total"  #: the order's total as charged (used with ADJUSTED_TOTAL to derive a refund)
ADJUSTED_TOTAL = "adjusted_total"  #: the order's total after a later adjustment (Etsy), 0 or blank when none
REFUNDED_AMOUNT = "refunded_amount"  #: money refunded on the order, netted against its value
DISCOUNT_AMOUNT = "discount_amount"  #: an order-level discount, subtracted once per order
CANCELLED_AT = "cancelled_at"  #: when the order was cancelled; any value marks the order cancelled

#: Every order-level role, in display order. Not part of CANONICAL: detection never guesses them.
ORDER_ROLES: tuple[str, ...] = (
    ORDER_STATUS, PAYMENT_STATUS, ORDER_TOTAL, ADJUSTED_TOTAL, REFUNDED_AMOUNT, DISCOUNT_AMOUNT, CANCELLED_AT,
)
# ------------------------------------------------------------------------------------------------------------

REQUIRED_HELP = (
    "A file needs a customer id, an invoice date, and either a line amount or a quantity with a unit price."
)

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise_header(name: object) -> str:
    """Lower-case a header and drop everything but letters and digits (``"Customer ID"`` -> ``"customerid"``)."""
    return _NON_ALNUM.sub("", str(name).strip().lower())


def closest_names(wanted: str, found: list[str], n: int = 3) -> list[str]:
    """The headers in ``found`` that look most like any spelling of the canonical column ``wanted``."""
    by_norm = {normalise_header(f): f for f in found}
    hits: list[str] = []
    for spelling in (normalise_header(wanted), *SYNONYMS.get(wanted, ())):
        for match in difflib.get_close_matches(spelling, list(by_norm), n=n, cutoff=0.6):
            if by_norm[match] not in hits:
                hits.append(by_norm[match])
    return hits[:n]
