"""Non-product lines: postage, manual adjustments, fees, discounts, bank charges, gift vouchers, samples, commission.

Shops bill these on invoice lines like any product, so a "top products" list ranks POSTAGE and Manual first.
They stay in the customer's monetary value (the customer paid them; the row ledger does not drop them); only
product rankings leave them out, and the reading notes say how many lines were recognised.

A line is a non-product line when its stock code or its description matches a rule in :data:`NON_PRODUCT_RULES`
(DOCUMENTATION.md, "Non-product lines", lists them). Stock codes are compared whole and case-insensitively;
descriptions are lower-cased, with runs of spaces made one, and must match a rule's pattern *whole*
(``re.fullmatch``), so "POSTAGE" is postage but "VINTAGE POST OFFICE CABINET" and "FRENCH CARRIAGE LANTERN" are
products. The codes come from the UCI Online Retail data (checked on the real file: POST, DOT, M/m, C2, D, S,
BANK CHARGES, AMAZONFEE, CRUK, B, PADS, gift_0001_*), the descriptions also from common shop exports (Shopify and
WooCommerce bill shipping, tips and gift cards as lines).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .columns import AMOUNT, DESCRIPTION, STOCK_CODE
from .formatting import count

__all__ = ["NON_PRODUCT_RULES", "NonProductRule", "non_product_kinds", "non_product_mask", "non_product_notes",
           "non_product_summary"]


@dataclass(frozen=True)
class NonProductRule:
    """One kind of non-product line: the stock codes and description patterns that identify it.

    ``stock_codes`` are exact codes (any letter case); ``code_pattern`` and ``descriptions`` are regular
    expressions that must match the whole (lower-cased, space-normalised) value.
    """

    kind: str
    stock_codes: tuple[str, ...] = ()
    code_pattern: str | None = None
    descriptions: tuple[str, ...] = ()
    source: str = ""


NON_PRODUCT_RULES: tuple[NonProductRule, ...] = (
    NonProductRule("postage", ("POST", "DOT", "C2"), None, (
        r"(dotcom )?postage", r"carriage", r"next day carriage", r"postage (and|&) packing", r"p ?& ?p",
        r"(standard |express |next day )?(shipping|delivery)( fee| cost| charge)?", r"freight",
    ), "Online Retail POST (POSTAGE), DOT (DOTCOM POSTAGE), C2 (CARRIAGE), 23444 (Next Day Carriage); shop "
       "exports' shipping lines"),
    NonProductRule("packing", (), None, (r"packing charge", r"packaging( fee)?", r"gift wrap(ping)?"),
                   "Online Retail 23574 (PACKING CHARGE)"),
    NonProductRule("manual adjustment", ("M",), None, (r"manual",), "Online Retail M and m (Manual)"),
    NonProductRule("adjustment", ("B", "PADS"), None, (
        r"adjust bad debt", r".*\badjust(ment)?\b.*",
    ), "Online Retail B (Adjust bad debt), PADS (price-adjustment lines at 0.001) and stock-count adjustments"),
    NonProductRule("discount", ("D",), None, (r"discounts?", r"(discount|coupon|promo) code.*", r"coupon"),
                   "Online Retail D (Discount)"),
    NonProductRule("bank charges", ("BANK CHARGES",), None, (r"bank charges?",), "Online Retail BANK CHARGES"),
    NonProductRule("fee", ("AMAZONFEE",), None, (
        r"amazon fee", r"(service|handling|transaction|payment|processing|marketplace|card) fees?", r"tips?",
    ), "Online Retail AMAZONFEE (AMAZON FEE); service fees and tips in shop exports"),
    NonProductRule("gift voucher", (), r"gift_\d+_\d+", (
        r".*\bgift ?(voucher|certificate)s?\b.*", r"(e-?)?gift ?cards?( [£$€]?\d+([.,]\d+)?)?",
        r"[£$€]?\d+([.,]\d+)? (e-?)?gift ?cards?",
    ), "Online Retail gift_0001_10..50 and 22016 (Dotcomgiftshop Gift Voucher); Shopify gift cards"),
    NonProductRule("sample", ("S",), None, (r"samples?", r"show samples", r"(damages ?/ ?samples|samples ?/ ?damages)"),
                   "Online Retail S (SAMPLES)"),
    NonProductRule("commission", ("CRUK",), None, (r"(cruk )?commission",),
                   "Online Retail CRUK (CRUK Commission, a charity's commission)"),
)

_SPACES = re.compile(r"\s+")


def _normalise(text: str) -> str:
    return _SPACES.sub(" ", str(text)).strip().lower()


def _compiled() -> list[tuple[str, set[str], re.Pattern[str] | None, re.Pattern[str] | None]]:
    out = []
    for rule in NON_PRODUCT_RULES:
        codes = {c.strip().lower() for c in rule.stock_codes}
        code_re = re.compile(rule.code_pattern, re.IGNORECASE) if rule.code_pattern else None
        desc_re = re.compile("|".join(f"(?:{p})" for p in rule.descriptions)) if rule.descriptions else None
        out.append((rule.kind, codes, code_re, desc_re))
    return out


_RULES = _compiled()


def _kind_of_code(code: str) -> str | None:
    value = str(code).strip().lower()
    for kind, codes, code_re, _ in _RULES:
        if value in codes or (code_re is not None and code_re.fullmatch(value)):
            return kind
    return None


def _kind_of_description(text: str) -> str | None:
    value = _normalise(text)
    for kind, _, _, desc_re in _RULES:
        if desc_re is not None and desc_re.fullmatch(value):
            return kind
    return None


def _kinds_by_value(column: pd.Series, classify: Callable[[str], str | None]) -> np.ndarray:
    """Classify each distinct value once (thousands of values, not 500,000 rows); ``None`` for products."""
    cat = column if isinstance(column.dtype, pd.CategoricalDtype) else column.astype("category")
    per_value = np.array([classify(str(v)) for v in cat.cat.categories] + [None], dtype=object)
    codes = cat.cat.codes.to_numpy()
    return per_value[np.where(codes < 0, len(per_value) - 1, codes)]


def non_product_kinds(frame: pd.DataFrame) -> pd.Series:
    """The kind of non-product line for each row (``None`` for a product), same index as ``frame``.

    Parameters
    ----------
    frame : DataFrame
        Canonical columns (mapped or used transactions); uses ``stock_code`` and/or ``description`` when present.
        The stock code decides first; the description is looked at when the code says nothing.

    Returns
    -------
    Series of object
        Kinds from :data:`NON_PRODUCT_RULES` (``"postage"``, ``"fee"``, ...) or ``None``. All ``None`` when the
        frame has neither column.
    """
    kinds = np.full(len(frame), None, dtype=object)
    if STOCK_CODE in frame.columns:
        kinds = _kinds_by_value(frame[STOCK_CODE], _kind_of_code)
    if DESCRIPTION in frame.columns:
        by_desc = _kinds_by_value(frame[DESCRIPTION], _kind_of_description)
        kinds = np.where(pd.isna(kinds), by_desc, kinds)
    return pd.Series(kinds, index=frame.index, dtype=object, name="non_product")


def non_product_mask(frame: pd.DataFrame) -> np.ndarray:
    """True for the rows of ``frame`` that are non-product lines (see :func:`non_product_kinds`)."""
    return non_product_kinds(frame).notna().to_numpy()


def non_product_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts for the reading notes: one row per kind found, most lines first.

    Returns
    -------
    DataFrame
        ``kind, lines, amount, examples``: ``lines`` rows of ``frame``; ``amount`` the sum of ``amount`` over
        them (0 when the frame has no amount); ``examples`` up to three distinct stock codes or descriptions.
    """
    kinds = non_product_kinds(frame)
    hit = kinds.notna().to_numpy()
    cols = ["kind", "lines", "amount", "examples"]
    if not hit.any():
        return pd.DataFrame(columns=cols)
    sub = frame.loc[hit]
    label = sub[STOCK_CODE].astype(str) if STOCK_CODE in sub.columns else sub[DESCRIPTION].astype(str)
    amount = sub[AMOUNT].to_numpy(dtype="float64") if AMOUNT in sub.columns else np.zeros(len(sub))
    data = pd.DataFrame({"kind": kinds[hit].to_numpy(), "label": label.to_numpy(), "amount": np.nan_to_num(amount)})
    rows = []
    for kind, part in data.groupby("kind", sort=False):
        examples = ", ".join(part["label"].value_counts().index[:3])
        rows.append({"kind": kind, "lines": len(part), "amount": float(part["amount"].sum()), "examples": examples})
    return pd.DataFrame(rows, columns=cols).sort_values(["lines", "kind"], ascending=[False, True],
                                                        ignore_index=True)


def non_product_notes(frame: pd.DataFrame) -> list[str]:
    """Sentences for the reading notes, e.g. ``"2,843 lines are postage, fees ... : left out of top products."``."""
    summary = non_product_summary(frame)
    if summary.empty:
        return []
    parts = ", ".join(f"{r['kind']} {count(r['lines'])} ({r['examples']})" for r in summary.to_dict("records"))
    total = int(summary["lines"].sum())
    return [f"{count(total)} lines are not products ({parts}). They count in what customers spent, but are left "
            "out of top products."]
