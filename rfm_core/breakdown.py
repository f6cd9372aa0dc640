"""Segments across another dimension: a segment x country table of customer counts (or revenue)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from .columns import COUNTRY, MONETARY, SEGMENT
from .errors import RfmError
from .segment import RuleSet

__all__ = ["UNKNOWN_COUNTRY", "segment_country_table"]

#: The column for customers whose country is not known.
UNKNOWN_COUNTRY = "(unknown)"


def segment_country_table(segmented: pd.DataFrame, rules: RuleSet, *, value: Literal["customers", "revenue"] =
                          "customers", top: int | None = 10) -> pd.DataFrame:
    """Customers (or revenue) per segment and country.

    Parameters
    ----------
    segmented : DataFrame
        The segmented per-customer table (``segment``, ``country`` of the customer's latest purchase, ``monetary``).
    rules : RuleSet
        Gives the rows: every segment in rule order, fallback last, empty segments with 0.
    value : {"customers", "revenue"}
        Count customers, or sum their monetary value.
    top : int or None
        Keep the ``top`` countries with the most customers (ties by name) and add them all up in one column
        ``"<k> other countries"`` (``"1 other country"``); ``None`` keeps every country.

    Returns
    -------
    DataFrame
        Index: segments; columns: countries by customers, most first, then the other-countries column when
        needed, then ``Total``. Customers without a country are counted under :data:`UNKNOWN_COUNTRY`.

    Raises
    ------
    RfmError
        The table has no country column (the file has none, or it is not mapped).
    """
    if COUNTRY not in segmented.columns:
        raise RfmError("There is no country column, so customers cannot be split by country. Map one on the Data "
                       "page if the file has it.")
    if value not in ("customers", "revenue"):
        raise RfmError(f"value must be 'customers' or 'revenue', not {value!r}.")
    country = segmented[COUNTRY].astype(object).where(segmented[COUNTRY].notna(), UNKNOWN_COUNTRY).astype(str)
    frame = pd.DataFrame({SEGMENT: segmented[SEGMENT].astype(str).to_numpy(), COUNTRY: country.to_numpy(),
                          "v": segmented[MONETARY].to_numpy(dtype="float64") if value == "revenue"
                          else np.ones(len(segmented))})
    table = frame.pivot_table(index=SEGMENT, columns=COUNTRY, values="v", aggfunc="sum", fill_value=0.0)
    customers_by_country = frame.groupby(COUNTRY).size()
    ranked = sorted(customers_by_country.index, key=lambda c: (-int(customers_by_country[c]), c))
    table = table.reindex(index=list(rules.names), columns=ranked, fill_value=0.0).fillna(0.0)
    if top is not None and len(ranked) > top:
        rest = ranked[top:]
        others = table[rest].sum(axis=1)
        table = table[ranked[:top]].copy()
        table[f"{len(rest)} other {'country' if len(rest) == 1 else 'countries'}"] = others
    table["Total"] = table.sum(axis=1)
    if value == "customers":
        table = table.round().astype("int64")
    table.index.name = SEGMENT
    table.columns.name = None
    return table
