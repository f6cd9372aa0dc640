"""Shop-platform exports recognised by their headers and read with the platform's meaning.

Each platform is described as data (:class:`Platform`): the headers that identify its export, which column holds
each role (order, customer, date, line quantity and price or order value, order-level fields), which roles are
filled on one line of an order only, and which status values mean that an order was refunded, voided, cancelled,
failed or never paid. :func:`recognise` matches a file's headers against every description; the mapping stage
starts from the match's mapping (explicit choices still win) and :mod:`rfm_core.orders` applies the rest.

Headers are compared after :func:`rfm_core.columns.normalise_header` (``"Created (UTC)"`` -> ``"createdutc"``).
The column lists were checked against each platform's documented or widely shared export headers:

- Shopify: Admin > Orders > Export, "CSV for Excel, Numbers, or other spreadsheet programs": one row per line item;
  ``Financial Status`` is one of pending, authorized, partially_paid, paid, partially_refunded, refunded, voided.
- WooCommerce: the order CSV export (``order_number, order_date, status, ..., order_total, refunded_total, ...,
  billing_email``; the "Order Number / Order Status / Order Total Amount / Email (Billing)" spelling of other
  export plugins is accepted too); statuses pending, processing, on-hold, completed, cancelled, refunded, failed,
  checkout-draft.
- Stripe: Payments > Export (``id, Created (UTC), Amount, Amount Refunded, Currency, Status, Customer ID,
  Customer Email, ...``).
- Square: Transactions export (``Date, Time, Time Zone, Gross Sales, Discounts, ..., Net Sales, ..., Partial
  Refunds, ..., Transaction ID, Payment ID, ..., Event Type, ..., Customer ID, Customer Name, ...``).
- Etsy: "Sold Orders" CSV (``Sale Date, Order ID, Buyer User ID, ..., Order Value, ..., Discount Amount, ...,
  Order Total, Status, ..., Adjusted Order Total, ...``); dates are written MM/DD/YY.
- Magento (Adobe Commerce): Sales > Orders grid export (``ID, Purchase Point, Purchase Date, Bill-to Name,
  Ship-to Name, Grand Total (Base), Grand Total (Purchased), Status, ..., Customer Email, ..., Total Refunded``).
- Shopware 5: the SwagImportExport "orders" profile, one row per order line (``orderId, number, customerId,
  orderStatusID, cleared, ..., invoiceAmount, ..., orderTime, ..., articleNumber, price, quantity, articleName``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .columns import (
    ADJUSTED_TOTAL,
    AMOUNT,
    CANCELLED_AT,
    COUNTRY,
    CUSTOMER_ID,
    DESCRIPTION,
    DISCOUNT_AMOUNT,
    INVOICE_DATE,
    INVOICE_ID,
    ORDER_STATUS,
    ORDER_TOTAL,
    PAYMENT_STATUS,
    QUANTITY,
    REFUNDED_AMOUNT,
    STOCK_CODE,
    UNIT_PRICE,
    normalise_header,
)

__all__ = [
    "CANCELLED",
    "FAILED",
    "GENERIC_STATUSES",
    "OUTCOMES",
    "PLATFORMS",
    "REFUNDED",
    "UNPAID",
    "VOIDED",
    "Platform",
    "PlatformMatch",
    "normalise_status",
    "recognise",
]

# What a status value can mean besides "a purchase". The clean stage files each under its own ledger reason.
REFUNDED = "refunded"
VOIDED = "voided"
CANCELLED = "cancelled"
FAILED = "failed"
UNPAID = "unpaid"
#: Outcomes in order of precedence: an order that was cancelled and refunded (Shopify refunds a paid order it
#: cancels) is filed as cancelled, the cause, not as refunded.
OUTCOMES: tuple[str, ...] = (CANCELLED, VOIDED, REFUNDED, FAILED, UNPAID)

Statuses = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Platform:
    """One platform's export, described as data.

    Attributes
    ----------
    key, name : str
        Short id and the name used in the reading notes ("Recognised as a Shopify orders export").
    signature : tuple of tuples of str
        Normalised headers; the file must have one header of every group.
    roles : tuple of (role, tuple of str)
        For each canonical or order-level role, the normalised headers that hold it, the first present wins.
    order_level : tuple of str
        Roles filled on one line of an order only; they are spread over the order's lines, and money among them
        counts once per order.
    statuses : tuple of (role, ((normalised value, outcome), ...))
        Status values that mean the order is not a purchase; every other value is a purchase.
    dayfirst : bool or None
        The platform's date order when it writes D/M or M/D dates (Etsy: month first).
    value : str
        How the order's value is made, in words, for the notes and DOCUMENTATION.md.
    """

    key: str
    name: str
    signature: tuple[tuple[str, ...], ...]
    roles: tuple[tuple[str, tuple[str, ...]], ...]
    order_level: tuple[str, ...] = ()
    statuses: tuple[tuple[str, Statuses], ...] = ()
    dayfirst: bool | None = None
    value: str = ""

    def status_table(self, role: str) -> dict[str, str]:
        """``{normalised status value: outcome}`` for one status role (empty when the platform has none)."""
        return dict(dict(self.statuses).get(role, ()))


@dataclass(frozen=True)
class PlatformMatch:
    """A recognised export: the platform, its mapping (role -> the header as written in the file) and why."""

    platform: Platform
    mapping: dict[str, str]
    reasons: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.platform.name


def normalise_status(value: object) -> str:
    """``"Partially Refunded"`` -> ``"partially_refunded"``; WooCommerce's ``wc-`` prefix is dropped."""
    import re

    raw = str(value).strip()
    if re.fullmatch(r"-?\d+", raw):  # numeric codes (Shopware: -1 is "checkout aborted") keep their sign
        return raw
    text = re.sub(r"[^0-9a-z]+", "_", raw.lower()).strip("_")
    return text[3:] if text.startswith("wc_") else text


#: Status words understood when a status column is mapped by hand on a file of no recognised platform.
GENERIC_STATUSES: Statuses = (
    ("refunded", REFUNDED), ("fully_refunded", REFUNDED), ("voided", VOIDED), ("void", VOIDED),
    ("cancelled", CANCELLED), ("canceled", CANCELLED), ("failed", FAILED), ("declined", FAILED),
    ("unpaid", UNPAID), ("pending_payment", UNPAID), ("awaiting_payment", UNPAID),
)

SHOPIFY = Platform(
    key="shopify",
    name="Shopify orders export",
    signature=(("name",), ("financialstatus",), ("lineitemquantity",), ("lineitemprice",), ("createdat",)),
    roles=(
        (INVOICE_ID, ("name",)), (CUSTOMER_ID, ("email",)), (INVOICE_DATE, ("createdat",)),
        (QUANTITY, ("lineitemquantity",)), (UNIT_PRICE, ("lineitemprice",)), (STOCK_CODE, ("lineitemsku",)),
        (DESCRIPTION, ("lineitemname",)), (COUNTRY, ("billingcountry", "shippingcountry")),
        (PAYMENT_STATUS, ("financialstatus",)), (DISCOUNT_AMOUNT, ("discountamount",)),
        (REFUNDED_AMOUNT, ("refundedamount",)), (CANCELLED_AT, ("cancelledat",)),
    ),
    order_level=(CUSTOMER_ID, INVOICE_DATE, COUNTRY, PAYMENT_STATUS, DISCOUNT_AMOUNT, REFUNDED_AMOUNT, CANCELLED_AT),
    statuses=((PAYMENT_STATUS, (("refunded", REFUNDED), ("voided", VOIDED))),),
    value="Lineitem quantity x Lineitem price, less the order's Discount Amount and Refunded Amount",
)

WOOCOMMERCE = Platform(
    key="woocommerce",
    name="WooCommerce order export",
    signature=(("ordernumber",), ("orderdate",), ("status", "orderstatus"), ("ordertotal", "ordertotalamount"),
               ("billingemail", "emailbilling")),
    roles=(
        (INVOICE_ID, ("ordernumber",)), (INVOICE_DATE, ("orderdate",)),
        (CUSTOMER_ID, ("billingemail", "emailbilling")), (AMOUNT, ("ordertotal", "ordertotalamount")),
        (REFUNDED_AMOUNT, ("refundedtotal", "orderrefund", "refundedamount")),
        (ORDER_STATUS, ("status", "orderstatus")), (COUNTRY, ("billingcountry", "countrycodebilling")),
    ),
    order_level=(REFUNDED_AMOUNT,),
    statuses=((ORDER_STATUS, (
        ("refunded", REFUNDED), ("cancelled", CANCELLED), ("failed", FAILED), ("pending", UNPAID),
        ("pending_payment", UNPAID), ("on_hold", UNPAID), ("checkout_draft", UNPAID), ("draft", UNPAID),
    )),),
    value="order_total (WooCommerce's total, shipping and tax included), less refunded_total",
)

STRIPE = Platform(
    key="stripe",
    name="Stripe payments export",
    signature=(("id",), ("createdutc", "createddateutc"), ("amount",), ("amountrefunded",), ("status",)),
    roles=(
        (INVOICE_ID, ("id",)), (INVOICE_DATE, ("createdutc", "createddateutc")),
        (CUSTOMER_ID, ("customeremail", "customerid")), (AMOUNT, ("amount",)),
        (REFUNDED_AMOUNT, ("amountrefunded",)), (ORDER_STATUS, ("status",)),
        (DESCRIPTION, ("description",)), (COUNTRY, ("cardissuecountry", "cardaddresscountry")),
    ),
    statuses=((ORDER_STATUS, (
        ("refunded", REFUNDED), ("failed", FAILED), ("blocked", FAILED), ("canceled", CANCELLED),
        ("cancelled", CANCELLED), ("uncaptured", UNPAID), ("incomplete", UNPAID),
        ("requires_payment_method", UNPAID), ("requires_action", UNPAID),
    )),),
    value="Amount, less Amount Refunded",
)

SQUARE = Platform(
    key="square",
    name="Square transactions export",
    signature=(("date",), ("time",), ("grosssales",), ("netsales",), ("transactionid",)),
    roles=(
        (INVOICE_ID, ("transactionid",)), (INVOICE_DATE, ("date",)), (CUSTOMER_ID, ("customerid",)),
        (AMOUNT, ("netsales",)), (REFUNDED_AMOUNT, ("partialrefunds",)),
        (ORDER_STATUS, ("transactionstatus",)), (DESCRIPTION, ("description",)),
    ),
    statuses=((ORDER_STATUS, (("failed", FAILED), ("canceled", CANCELLED), ("cancelled", CANCELLED))),),
    value="Net Sales (gross sales less discounts, before tax and tips), less Partial Refunds; refund rows "
          "(negative Net Sales) are returns matched to their transaction",
)

ETSY = Platform(
    key="etsy",
    name="Etsy sold orders export",
    signature=(("saledate",), ("orderid",), ("buyeruserid", "buyer"), ("ordervalue",), ("ordertotal",)),
    roles=(
        (INVOICE_ID, ("orderid",)), (INVOICE_DATE, ("saledate",)), (CUSTOMER_ID, ("buyeruserid", "buyer")),
        (AMOUNT, ("ordervalue",)), (DISCOUNT_AMOUNT, ("discountamount",)), (ORDER_TOTAL, ("ordertotal",)),
        (ADJUSTED_TOTAL, ("adjustedordertotal",)), (ORDER_STATUS, ("status",)), (COUNTRY, ("shipcountry",)),
    ),
    statuses=((ORDER_STATUS, (
        ("canceled", CANCELLED), ("cancelled", CANCELLED), ("refunded", REFUNDED), ("fully_refunded", REFUNDED),
    )),),
    dayfirst=False,
    value="Order Value less Discount Amount; an order with an Adjusted Order Total above 0 was partly refunded "
          "by Order Total - Adjusted Order Total",
)

MAGENTO = Platform(
    key="magento",
    name="Magento orders grid export",
    signature=(("id",), ("purchasedate",), ("grandtotalpurchased", "grandtotalbase"), ("status",)),
    roles=(
        (INVOICE_ID, ("id",)), (INVOICE_DATE, ("purchasedate",)), (CUSTOMER_ID, ("customeremail", "billtoname")),
        (AMOUNT, ("grandtotalpurchased", "grandtotalbase")), (REFUNDED_AMOUNT, ("totalrefunded",)),
        (ORDER_STATUS, ("status",)),
    ),
    statuses=((ORDER_STATUS, (
        ("canceled", CANCELLED), ("cancelled", CANCELLED), ("closed", REFUNDED), ("pending_payment", UNPAID),
        ("payment_review", UNPAID), ("suspected_fraud", FAILED), ("fraud", FAILED),
    )),),
    value="Grand Total (Purchased), less Total Refunded; 'Closed' (refunded by credit memo) is not a purchase",
)

SHOPWARE = Platform(
    key="shopware",
    name="Shopware order lines export",
    signature=(("orderid",), ("ordertime",), ("invoiceamount",), ("articlenumber",), ("quantity",), ("price",)),
    roles=(
        (INVOICE_ID, ("orderid",)), (INVOICE_DATE, ("ordertime",)), (CUSTOMER_ID, ("customerid",)),
        (QUANTITY, ("quantity",)), (UNIT_PRICE, ("price",)), (STOCK_CODE, ("articlenumber",)),
        (DESCRIPTION, ("articlename",)), (ORDER_STATUS, ("orderstatusid",)), (PAYMENT_STATUS, ("cleared",)),
    ),
    order_level=(CUSTOMER_ID, INVOICE_DATE, ORDER_STATUS, PAYMENT_STATUS),
    # orderStatusID -1: checkout aborted, 4: cancelled/rejected; cleared 20: re-credited (refund),
    # 30: no credit approved, 35: process cancelled (Shopware 5 s_core_states)
    statuses=((ORDER_STATUS, (("-1", CANCELLED), ("4", CANCELLED))),
              (PAYMENT_STATUS, (("20", REFUNDED), ("30", FAILED), ("35", CANCELLED)))),
    value="price x quantity per line (invoiceAmount, the order total repeated on each line, is not used)",
)

#: Every recognised platform, most specific signature first.
PLATFORMS: tuple[Platform, ...] = (SHOPIFY, SHOPWARE, WOOCOMMERCE, STRIPE, SQUARE, ETSY, MAGENTO)


def recognise(columns: Sequence[str]) -> PlatformMatch | None:
    """The platform whose export signature the headers carry, with a mapping and the reasons, or None.

    Parameters
    ----------
    columns : sequence of str
        The file's headers as written.

    Returns
    -------
    PlatformMatch or None
        ``mapping`` maps canonical and order-level roles to headers of this file (each header used once);
        ``reasons`` says which headers identified the platform. When several platforms match, the one with the
        longest signature wins (ties: the order of :data:`PLATFORMS`).
    """
    by_norm: dict[str, str] = {}
    for col in columns:
        by_norm.setdefault(normalise_header(col), str(col))
    best: tuple[int, Platform, list[str]] | None = None
    for platform in PLATFORMS:
        found = []
        for group in platform.signature:
            hit = next((by_norm[h] for h in group if h in by_norm), None)
            if hit is None:
                break
            found.append(hit)
        else:
            if best is None or len(found) > best[0]:
                best = (len(found), platform, found)
    if best is None:
        return None
    _, platform, found = best
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for role, headers in platform.roles:
        hit = next((by_norm[h] for h in headers if h in by_norm and by_norm[h] not in used), None)
        if hit is not None:
            mapping[role] = hit
            used.add(hit)
    reasons = (f"Recognised as a {platform.name}: the headers {', '.join(found)} are its signature.",
               f"Order value: {platform.value}.")
    return PlatformMatch(platform, mapping, reasons)
