"""Summaries and insights: per-segment figures and plain sentences computed from them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .columns import AVG_ORDER_VALUE, FREQUENCY, MONETARY, RECENCY_DAYS, SEGMENT
from .segment import AT_RISK_ROLES, RuleSet

__all__ = ["SUMMARY_COLUMNS", "insights", "kpis", "revenue_at_risk", "segment_summary", "top_products"]

SUMMARY_COLUMNS = [
    SEGMENT, "role", "customers", "customer_share", "revenue", "revenue_share", "orders", AVG_ORDER_VALUE,
    "recency_mean", "recency_median", "frequency_mean", "frequency_median", "monetary_mean", "monetary_median",
]


def segment_summary(segmented: pd.DataFrame, rules: RuleSet) -> pd.DataFrame:
    """One row per segment in rule order (fallback last), including empty segments with zero customers.

    Parameters
    ----------
    segmented : DataFrame
        One row per customer with ``segment``, ``recency_days``, ``frequency``, ``monetary``.
    rules : RuleSet
        Gives the order of the rows and each segment's ``role``.

    Returns
    -------
    DataFrame
        :data:`SUMMARY_COLUMNS`, one row per segment. Revenue is the sum of ``monetary``; orders the sum of
        ``frequency``; average order value revenue / orders (NaN for an empty segment); shares are of all customers
        and of all revenue.
    """
    g = segmented.groupby(SEGMENT, observed=False, sort=False)
    out = pd.DataFrame({
        "customers": g.size(),
        "revenue": g[MONETARY].sum(),
        "orders": g[FREQUENCY].sum(),
        "recency_mean": g[RECENCY_DAYS].mean(),
        "recency_median": g[RECENCY_DAYS].median(),
        "frequency_mean": g[FREQUENCY].mean(),
        "frequency_median": g[FREQUENCY].median(),
        "monetary_mean": g[MONETARY].mean(),
        "monetary_median": g[MONETARY].median(),
    }).reindex(list(rules.names))
    out["customers"] = out["customers"].fillna(0).astype("int64")
    out["orders"] = out["orders"].fillna(0).astype("int64")
    out["revenue"] = out["revenue"].fillna(0.0)
    total_c, total_r = out["customers"].sum(), out["revenue"].sum()
    out["customer_share"] = out["customers"] / total_c if total_c else 0.0
    out["revenue_share"] = out["revenue"] / total_r if total_r else 0.0
    out[AVG_ORDER_VALUE] = out["revenue"] / out["orders"].where(out["orders"] > 0)  # NaN for empty segments
    out["role"] = [rules.role(name) for name in out.index]
    out.index.name = SEGMENT
    return out.reset_index()[SUMMARY_COLUMNS]


def kpis(segmented: pd.DataFrame) -> dict[str, float]:
    """Headline figures: customers, revenue, orders, average order value, revenue per customer."""
    customers = len(segmented)
    revenue = float(segmented[MONETARY].sum())
    orders = int(segmented[FREQUENCY].sum())
    return {"customers": customers, "revenue": revenue, "orders": orders,
            AVG_ORDER_VALUE: revenue / orders if orders else 0.0,
            "revenue_per_customer": revenue / customers if customers else 0.0}


def revenue_at_risk(summary: pd.DataFrame) -> dict[str, Any]:
    """Overview's *revenue at risk*: the historical revenue of the customers in segments whose role is at risk or
    can't lose (:data:`rfm_core.segment.AT_RISK_ROLES`).

    It is money these customers have already spent (the sum of their ``monetary``), not a forecast; the Lifetime
    value page's *expected revenue lost to churn* is a model-based, different quantity (DOCUMENTATION.md §8).

    Returns
    -------
    dict
        ``revenue`` (float), ``share`` of all revenue, ``customers`` (int), ``segments`` (names with customers, in
        rule order).
    """
    risky = summary[summary["role"].isin(AT_RISK_ROLES) & (summary["customers"] > 0)]
    total = float(summary["revenue"].sum())
    revenue = float(risky["revenue"].sum())
    return {"revenue": revenue, "share": revenue / total if total else 0.0,
            "customers": int(risky["customers"].sum()), "segments": [str(s) for s in risky[SEGMENT]]}


def _pct(x: float) -> str:
    from .formatting import percent

    return percent(x)  # one decimal everywhere (DOCUMENTATION.md, "Number formats")


def insights(segmented: pd.DataFrame, summary: pd.DataFrame, currency: Any = None) -> list[str]:
    """Plain sentences, each computed from the data; segments that are absent are simply not mentioned.

    Money is written as a headline figure (no decimals) in ``currency`` (a :class:`rfm_core.formatting.Currency`;
    None: no currency), shares with one decimal.

    Sentences about kinds of customers follow the segments' ``role`` column, not their names: a segment renamed
    from Champions to VIP keeps the best-customers sentence, under its new name.
    """
    from .formatting import NO_CURRENCY, counted, headline_money

    def _money(x: float) -> str:
        return headline_money(x, currency or NO_CURRENCY)

    out: list[str] = []
    if segmented.empty:
        return out
    total = float(segmented[MONETARY].sum())
    best = summary[(summary["role"] == "best") & (summary["customers"] > 0)]
    if len(best):
        names = " and ".join(str(s) for s in best[SEGMENT])
        n, rev = int(best["customers"].sum()), float(best["revenue"].sum())
        verb = "are" if len(best) == 1 else "together are"
        out.append(f"{names} (your best customers) {verb} {_pct(n / len(segmented))} of customers ({n:,}) and "
                   f"bring {_pct(rev / total if total else 0)} of revenue ({_money(rev)}).")
    risk = revenue_at_risk(summary)
    if risk["customers"]:
        out.append(f"Revenue at risk: {risk['customers']:,} customers in {' and '.join(risk['segments'])} spent "
                   f"{_money(risk['revenue'])} ({_pct(risk['share'])} of revenue) and have not bought recently.")
    if total > 0 and len(segmented) >= 5:
        m = np.sort(segmented[MONETARY].to_numpy())[::-1]
        top = max(1, round(len(m) * 0.2))
        share = m[:top].sum() / m.sum() if m.sum() else 0
        out.append(f"The top 20% of customers ({top:,}) bring {_pct(share)} of revenue.")
    once = float((segmented[FREQUENCY] == 1).mean())
    out.append(f"{_pct(once)} of customers have bought only once.")
    most = int(summary["customers"].max()) if len(summary) else 0
    if most > 0:
        # every segment at the top count, in rule order: with all five segments at 1 customer, naming one of them
        # "the largest" (whichever the sort put first) was wrong
        largest = summary[summary["customers"] == most]
        share, many = _pct(largest["customer_share"].iloc[0]), counted(most, "customer", "customers")
        if len(largest) == 1:
            out.append(f"The largest segment is {largest[SEGMENT].iloc[0]} with {many} ({share}).")
        else:
            tied = [str(n) for n in largest[SEGMENT]]
            out.append(f"The largest segments, tied, are {', '.join(tied[:-1])} and {tied[-1]}, with {many} each "
                       f"({share} each).")
    by_aov = summary[summary["customers"] > 0].sort_values(AVG_ORDER_VALUE, ascending=False)
    if len(by_aov):
        b = by_aov.iloc[0]
        out.append(f"{b[SEGMENT]} have the highest average order value: {_money(b[AVG_ORDER_VALUE])}.")
    fallback = summary.iloc[-1]
    if fallback["customers"] > 0:
        out.append(f"{int(fallback['customers']):,} customers match no rule and are in {fallback[SEGMENT]}; "
                   "review the segment rules.")
    return out


def top_products(transactions: pd.DataFrame, segments: pd.Series, n: int = 5, *,
                 exclude_non_products: bool = True) -> pd.DataFrame:
    """Per segment, the ``n`` products with the most revenue and the ``n`` bought by the most customers.

    Parameters
    ----------
    transactions : DataFrame
        Used rows (returns are ignored), with ``customer_id``, ``amount`` and ``description`` or ``stock_code``.
    segments : Series
        Segment per customer, indexed by ``customer_id`` (as text).
    exclude_non_products : bool
        Leave out postage, fees, discounts, manual adjustments, gift vouchers and the other non-product lines of
        :data:`rfm_core.products.NON_PRODUCT_RULES` (default), so the ranking lists goods.

    Returns
    -------
    DataFrame
        ``segment, ranking ('revenue' or 'customers'), rank, product, revenue, customers``; empty when the file
        has no product column.
    """
    # Imported here so that this function's edit stays inside the function (the module has other owners).
    from .columns import AMOUNT, CUSTOMER_ID, DESCRIPTION, IS_RETURN, SEGMENT, STOCK_CODE
    from .products import non_product_mask

    product_col = DESCRIPTION if DESCRIPTION in transactions.columns else (
        STOCK_CODE if STOCK_CODE in transactions.columns else None)
    cols = [SEGMENT, "ranking", "rank", "product", "revenue", "customers"]
    if product_col is None or transactions.empty:
        return pd.DataFrame(columns=cols)
    tx = transactions
    keep = tx[product_col].notna().to_numpy().copy()  # a line without a product name cannot be ranked as a product
    if IS_RETURN in tx.columns:
        keep &= ~tx[IS_RETURN].to_numpy(dtype=bool)
    if exclude_non_products:
        keep &= ~non_product_mask(tx)
    tx = tx[keep]
    if tx.empty:
        return pd.DataFrame(columns=cols)
    # Work on category codes (thousands of distinct values), not on 400,000 strings.
    cust = tx[CUSTOMER_ID].astype("category")
    prod = tx[product_col].astype("category")
    seg_by_code = segments.astype(str).reindex(cust.cat.categories.astype(str)).to_numpy()
    frame = pd.DataFrame({
        SEGMENT: seg_by_code[cust.cat.codes.to_numpy()],
        "product": prod.cat.codes.to_numpy(),
        "customer": cust.cat.codes.to_numpy(),
        AMOUNT: tx[AMOUNT].to_numpy(),
    })
    g = frame.groupby([SEGMENT, "product"], sort=False)
    stats = pd.DataFrame({"revenue": g[AMOUNT].sum(), "customers": g["customer"].nunique()}).reset_index()
    stats["product"] = prod.cat.categories.astype(str).to_numpy()[stats["product"].to_numpy()]
    out = []
    for ranking in ("revenue", "customers"):
        ordered = stats.sort_values([SEGMENT, ranking, "product"], ascending=[True, False, True])
        top = ordered.groupby(SEGMENT, sort=False).head(n).copy()
        top["ranking"] = ranking
        top["rank"] = top.groupby(SEGMENT).cumcount() + 1
        out.append(top)
    return pd.concat(out, ignore_index=True)[cols]
