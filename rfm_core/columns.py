"""Canonical column names and the synonyms used to recognise them in real exports.

Column names are normalised exactly once, where data enters (:mod:`rfm_core.mapping`); everything downstream
refers to the constants below, never to string literals.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

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
    "ROLE_LABELS",
    "R_SCORE",
    "SEGMENT",
    "STOCK_CODE",
    "SYNONYMS",
    "TENURE_DAYS",
    "UNIT_PRICE",
    "HeaderMatch",
    "closest_names",
    "header_tokens",
    "match_header",
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
#: file has several candidates (e.g. ``customer_id`` beats ``email``). German, French and Spanish spellings
#: follow the English ones. Headers that are not spelled exactly like this are scored from their words
#: (:func:`match_header`).
SYNONYMS: dict[str, tuple[str, ...]] = {
    CUSTOMER_ID: (
        "customerid", "customer", "customerno", "customernumber", "custid", "clientid", "client",
        "userid", "user", "buyerid", "memberid", "accountid", "email", "customeremail", "emailaddress",
        "kundennummer", "kundennr", "kunde", "kundenid", "numerodeclient", "numeroclient", "idclient",
        "cliente", "numerodecliente", "idcliente",
    ),
    INVOICE_ID: (
        "invoiceno", "invoice", "invoiceid", "invoicenumber", "orderid", "order", "orderno", "ordernumber",
        "transactionid", "transaction", "receiptid", "receipt", "basketid", "salesid", "billno",
        "rechnungsnummer", "rechnungsnr", "rechnung", "belegnummer", "bestellnummer", "auftragsnummer",
        "numerodefacture", "facture", "numerodecommande", "commande", "numerodefactura", "factura",
        "numerodepedido", "pedido",
    ),
    INVOICE_DATE: (
        "invoicedate", "orderdate", "date", "transactiondate", "purchasedate", "createdat", "created",
        "timestamp", "datetime", "orderedat", "saledate", "time", "invoicedatetime", "orderdatetime",
        "rechnungsdatum", "datum", "bestelldatum", "belegdatum", "datedefacture", "datedecommande",
        "fecha", "fechadefactura", "fechadepedido",
    ),
    QUANTITY: (
        "quantity", "qty", "units", "count", "itemcount", "quantityordered", "amountordered",
        "menge", "anzahl", "quantite", "qte", "cantidad",
    ),
    UNIT_PRICE: (
        "unitprice", "price", "priceeach", "itemprice", "unitcost", "priceperunit", "sellingprice",
        "einzelpreis", "preis", "stuckpreis", "prixunitaire", "prix", "preciounitario", "precio",
    ),
    AMOUNT: (
        "amount", "revenue", "total", "sales", "linetotal", "totalprice", "totalamount", "ordertotal",
        "value", "net", "netsales", "grandtotal", "lineamount", "subtotal", "spend",
        "betrag", "umsatz", "gesamtbetrag", "summe", "montant", "montanttotal", "importe", "importetotal",
    ),
    COUNTRY: ("country", "countryname", "market", "region", "shipcountry", "billingcountry", "land", "pays",
              "pais"),
    STOCK_CODE: ("stockcode", "sku", "productid", "productcode", "itemid", "itemcode", "articleno", "product",
                 "artikelnummer", "artikelnr", "artikel", "reference", "referencia", "codigo"),
    DESCRIPTION: ("description", "productname", "itemname", "itemdescription", "productdescription", "name",
                  "bezeichnung", "beschreibung", "artikelbezeichnung", "libelle", "designation", "descripcion"),
}

#: Plain-words name of each role, for reasons and messages.
ROLE_LABELS: dict[str, str] = {
    CUSTOMER_ID: "customer id", INVOICE_ID: "invoice (order) id", INVOICE_DATE: "invoice date",
    QUANTITY: "quantity", UNIT_PRICE: "unit price", AMOUNT: "line amount", COUNTRY: "country",
    STOCK_CODE: "stock code", DESCRIPTION: "description",
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


# ------------------------------------------------------------------------------------ header words and roles
# A header is split into words (camelCase, ``_``, spaces, punctuation; accents dropped; German compounds such
# as ``Rechnungsdatum`` split into ``rechnungs|datum``). Each word may name a role; the header's *head* word
# (the last word in English, the word before ``de``/``of`` in French and Spanish) decides the role it names.

#: Words that name a role (accent-free, lower case; singular and common plural).
_ROLE_WORDS: dict[str, tuple[str, ...]] = {
    CUSTOMER_ID: (
        "customer", "customers", "cust", "client", "clients", "buyer", "shopper", "member", "user", "account",
        "contact", "email", "emails", "consumer", "purchaser", "subscriber", "patron", "kunde", "kunden",
        "kundin", "cliente", "clientes", "comprador", "acheteur", "usuario", "utilisateur", "klant",
    ),
    INVOICE_ID: (
        "invoice", "invoices", "inv", "order", "orders", "transaction", "transactions", "txn", "receipt",
        "basket", "bill", "sale", "rechnung", "rechnungs", "beleg", "bestellung", "bestell", "auftrag",
        "auftrags", "facture", "commande", "factura", "pedido", "ticket", "recibo", "bestelling",
    ),
    INVOICE_DATE: (
        "date", "dates", "datetime", "timestamp", "time", "created", "ordered", "placed", "purchased", "day",
        "datum", "zeitpunkt", "fecha", "dia", "jour",
    ),
    QUANTITY: (
        "quantity", "quantities", "qty", "units", "count", "pieces", "pcs", "menge", "anzahl", "stuck",
        "stueck", "quantite", "qte", "cantidad", "cant", "quantita", "aantal",
    ),
    UNIT_PRICE: ("price", "prices", "preis", "prix", "precio", "prezzo", "prijs", "rate"),
    AMOUNT: (
        "amount", "revenue", "total", "totals", "sales", "spend", "spent", "value", "net", "gross", "subtotal",
        "sum", "turnover", "betrag", "umsatz", "gesamt", "summe", "montant", "importe", "monto", "ingresos",
        "ventas", "valor", "bedrag",
    ),
    COUNTRY: ("country", "countries", "nation", "land", "pays", "pais", "region", "market"),
    STOCK_CODE: (
        "sku", "stock", "product", "products", "item", "items", "article", "artikel", "produkt", "produit",
        "producto", "articulo", "ean", "upc", "barcode", "variant",
    ),
    DESCRIPTION: (
        "description", "desc", "title", "bezeichnung", "beschreibung", "libelle", "designation", "descripcion",
        "titel", "omschrijving",
    ),
}
_WORD_ROLE: dict[str, str] = {w: role for role, words in _ROLE_WORDS.items() for w in words}
#: Words that say "an identifier of": the role comes from the word they qualify (``Order No``, ``Numéro de client``).
_ID_WORDS = frozenset({"id", "no", "nr", "num", "nbr", "number", "nummer", "numero", "code", "ref", "reference",
                       "key", "identifier", "codigo", "cod"})
#: Words that say "the name of": a product's name is its description, a customer's name identifies them.
_NAME_WORDS = frozenset({"name", "nom", "nombre", "naam"})
#: Words that add to one role without naming it (``Unit price``, ``Prix unitaire``, ``Einzelpreis``).
_MODIFIERS: dict[str, str] = {"unit": UNIT_PRICE, "unitaire": UNIT_PRICE, "unitario": UNIT_PRICE, "per": UNIT_PRICE,
                              "each": UNIT_PRICE, "einzel": UNIT_PRICE, "line": AMOUNT}
#: Words that carry no meaning for the role.
_NOISE = frozenset({"at", "on", "in", "the", "a", "utc", "gmt", "local", "billing", "la", "le", "el", "der", "die",
                    "das", "x", "lineitem"})
#: "X de Y": X is the head (French, Spanish, Italian, Portuguese; English "X of Y").
_CONNECTORS = frozenset({"de", "du", "des", "del", "d", "di", "da", "do", "of", "von"})
#: A header holding one of these is not a purchase amount or price (``Discount Amount``, ``Amount Refunded``).
_NOT_MONEY = frozenset({"discount", "discounts", "refund", "refunded", "refunds", "tax", "taxes", "vat", "shipping",
                        "fee", "fees", "tip", "tips", "compare", "balance", "due", "outstanding", "deposit",
                        "rabatt", "steuer", "mwst", "versand", "cost", "costs", "weight", "captured"})
#: A header holding one of these is not the purchase date (``Cancelled at``, ``Updated at``, ``Birth date``).
_NOT_PURCHASE_DATE = frozenset({"cancelled", "canceled", "updated", "modified", "shipped", "delivered", "fulfilled",
                                "due", "birth", "birthday", "dob", "refunded", "expires", "expiry", "closed",
                                "archived", "paid", "last", "signup", "registered", "storniert", "ship", "delivery",
                                "dispatch", "dispatched", "return", "returned"})
#: A header holding one of these names another kind of field altogether.
_NOT_A_ROLE = frozenset({"status", "type", "method", "gateway", "currency", "note", "notes", "tag", "tags", "phone",
                         "street", "city", "zip", "postal", "postcode", "province", "state", "company", "source",
                         "channel", "vendor", "tracking", "url", "risk", "ip", "agent", "accepts", "marketing",
                         "fulfillment", "financial", "requires", "taxable", "location", "device"})
_COMPOUND_SUFFIXES = tuple(sorted({*_WORD_ROLE, *_ID_WORDS, *_NAME_WORDS, "at"}, key=len, reverse=True))
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD_SPLIT = re.compile(r"[^0-9a-z]+")

#: Scores: an exact known spelling, a header whose head word names the role, a role named by another word.
EXACT_SCORE = 100.0
HEAD_SCORE = 10.0
MENTION_SCORE = 3.0


def _split_compound(word: str) -> list[str]:
    """``rechnungsdatum`` -> ``[rechnungs, datum]``, ``orderdatetime`` -> ``[order, datetime]``; else ``[word]``."""
    if word in _WORD_ROLE or word in _ID_WORDS or word in _NAME_WORDS or word in _NOISE or len(word) < 5:
        return [word]
    for suffix in _COMPOUND_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            prefix = word[: -len(suffix)]
            for candidate in (prefix, prefix[:-1] if prefix.endswith(("s", "n")) else prefix):
                if candidate in _WORD_ROLE or candidate in _MODIFIERS or candidate in _ID_WORDS:
                    return [prefix, suffix]
    return [word]


@lru_cache(maxsize=4096)
def header_tokens(name: object) -> tuple[str, ...]:
    """A header's words: camelCase, ``_``, spaces and punctuation split; lower case; accents dropped.

    ``"order_created_at"`` -> ``("order", "created", "at")``; ``"Customer E-mail"`` -> ``("customer", "email")``;
    ``"Numéro de client"`` -> ``("numero", "de", "client")``; ``"Rechnungsdatum"`` -> ``("rechnungs", "datum")``.
    """
    text = unicodedata.normalize("NFKD", str(name).strip().replace("ß", "ss"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    words = [w for w in _WORD_SPLIT.split(_CAMEL.sub(" ", text).lower()) if w]
    merged: list[str] = []
    for w in words:
        if w == "mail" and merged and merged[-1] == "e":  # E-mail, e mail
            merged[-1] = "email"
        else:
            merged.append(w)
    out: list[str] = []
    for w in merged:
        out.extend(_split_compound(w))
    return tuple(out)


def _role_of(word: str) -> str | None:
    if word in _WORD_ROLE:
        return _WORD_ROLE[word]
    if word.endswith("s") and word[:-1] in _WORD_ROLE:
        return _WORD_ROLE[word[:-1]]
    return None


@dataclass(frozen=True)
class HeaderMatch:
    """How well one header names each role: ``scores`` (role -> points) and the words behind each score."""

    header: str
    scores: dict[str, float]
    why: dict[str, str]

    def best(self) -> tuple[str | None, float]:
        if not self.scores:
            return None, 0.0
        role = max(self.scores, key=lambda r: self.scores[r])
        return role, self.scores[role]


@lru_cache(maxsize=4096)
def match_header(header: str) -> HeaderMatch:
    """Score one header against every role from its spelling and its words.

    An exact known spelling (:data:`SYNONYMS`, after :func:`normalise_header`) scores ``100 - position``;
    otherwise the role named by the head word scores 10 (8 for "customer name"), a role named by another word 3,
    and a modifier (``unit`` for price) 2. Words such as ``discount``, ``refunded``, ``tax`` rule out the money
    roles, ``cancelled``, ``updated``, ``paid`` rule out the purchase date, ``status``, ``currency`` all roles.
    """
    norm = normalise_header(header)
    scores: dict[str, float] = {}
    why: dict[str, str] = {}
    for role, spellings in SYNONYMS.items():
        if norm in spellings:
            scores[role] = EXACT_SCORE - spellings.index(norm)
            why[role] = "a known column name"
    words = [w for w in header_tokens(header) if w not in _NOISE]
    if not words or any(w in _NOT_A_ROLE for w in words):
        return HeaderMatch(header, scores, why)
    connector = next((i for i, w in enumerate(words) if w in _CONNECTORS and i > 0), None)
    front = words[:connector] if connector is not None else words
    back = words[connector + 1:] if connector is not None else []
    content = [w for w in front if w not in _MODIFIERS and w not in _CONNECTORS]
    head = content[-1] if content else None
    others = [w for w in words if w != head and w not in _CONNECTORS]
    head_role: str | None = None
    head_score = HEAD_SCORE
    if head is not None:
        if head in _ID_WORDS or head in _NAME_WORDS:
            qualifiers = [w for w in (*reversed(content[:-1]), *back) if _role_of(w)]
            qualified = _role_of(qualifiers[0]) if qualifiers else None
            if head in _ID_WORDS and qualified in (CUSTOMER_ID, INVOICE_ID, STOCK_CODE, COUNTRY):
                head_role = qualified
            elif head in _NAME_WORDS and qualified in (STOCK_CODE, DESCRIPTION):
                head_role = DESCRIPTION
            elif head in _NAME_WORDS and qualified == CUSTOMER_ID:
                head_role, head_score = CUSTOMER_ID, HEAD_SCORE - 2
        else:
            head_role = _role_of(head)
    token_scores: dict[str, float] = {}
    token_why: dict[str, str] = {}
    if head_role is not None and head is not None:
        token_scores[head_role] = head_score
        token_why[head_role] = f"its words say {ROLE_LABELS[head_role]} ({' '.join(words)!r})"
    for w in others:
        named = _role_of(w)
        if named is not None and named != head_role:
            token_scores[named] = max(token_scores.get(named, 0.0), MENTION_SCORE)
            token_why.setdefault(named, f"its words mention {ROLE_LABELS[named]} ({w!r})")
        if w in _MODIFIERS and _MODIFIERS[w] in token_scores:
            token_scores[_MODIFIERS[w]] += 2
    if any(w in _NOT_MONEY for w in words):
        for role in (AMOUNT, UNIT_PRICE, QUANTITY):
            token_scores.pop(role, None)
    if any(w in _NOT_PURCHASE_DATE for w in words):
        token_scores.pop(INVOICE_DATE, None)
    elif head_role == INVOICE_DATE and any(_role_of(w) == INVOICE_ID for w in others):
        token_scores[INVOICE_DATE] += 1  # "Order Date" is the purchase date more surely than a bare "Date" word

    for role, value in token_scores.items():
        if value > scores.get(role, 0.0):
            scores[role] = value
            why[role] = token_why.get(role, f"its words say {ROLE_LABELS[role]}")
    return HeaderMatch(header, scores, why)
