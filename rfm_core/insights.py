"""Summaries and insights: per-segment figures and plain sentences computed from them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .segment import RuleSet

__all__ = ["SUMMARY_COLUMNS", "insights", "kpis", "segment_summary", "top_products"]

SUMMARY_COLUMNS = [
    "segment", "customers", "customer_share", "revenue", "revenue_share", "orders", "avg_order_value",
    "recency_mean", "recency_median", "frequency_mean", "frequency_median", "monetary_mean", "monetary_median",
]


def segment_summary(segmented: pd.DataFrame, rules: RuleSet) -> pd.DataFrame:
    """One row per segment in rule order (fallback last), including empty segments with zero customers.

    Revenue is the sum of ``monetary``; orders the sum of ``frequency``; average order value revenue / orders.
    """
    g = segmented.groupby("segment", observed=False, sort=False)
    out = pd.DataFrame({
        "customers": g.size(),
        "revenue": g["monetary"].sum(),
        "orders": g["frequency"].sum(),
        "recency_mean": g["recency_days"].mean(),
        "recency_median": g["recency_days"].median(),
        "frequency_mean": g["frequency"].mean(),
        "frequency_median": g["frequency"].median(),
        "monetary_mean": g["monetary"].mean(),
        "monetary_median": g["monetary"].median(),
    }).reindex(list(rules.names))
    out["customers"] = out["customers"].fillna(0).astype("int64")
    out["orders"] = out["orders"].fillna(0).astype("int64")
    out["revenue"] = out["revenue"].fillna(0.0)
    total_c, total_r = out["customers"].sum(), out["revenue"].sum()
    out["customer_share"] = out["customers"] / total_c if total_c else 0.0
    out["revenue_share"] = out["revenue"] / total_r if total_r else 0.0
    out["avg_order_value"] = out["revenue"] / out["orders"].where(out["orders"] > 0)  # NaN for empty segments
    out.index.name = "segment"
    return out.reset_index()[SUMMARY_COLUMNS]


def kpis(segmented: pd.DataFrame) -> dict[str, float]:
    """Headline figures: customers, revenue, orders, average order value, revenue per customer."""
    customers = len(segmented)
    revenue = float(segmented["monetary"].sum())
    orders = int(segmented["frequency"].sum())
    return {"customers": customers, "revenue": revenue, "orders": orders,
            "avg_order_value": revenue / orders if orders else 0.0,
            "revenue_per_customer": revenue / customers if customers else 0.0}


def _pct(x: float) -> str:
    return f"{x:.0%}" if x >= 0.1 or x == 0 else f"{x:.1%}"


def _money(x: float) -> str:
    return f"{x:,.0f}"


def insights(segmented: pd.DataFrame, summary: pd.DataFrame) -> list[str]:
    """Plain sentences, each computed from the data; segments that are absent are simply not mentioned."""
    out: list[str] = []
    if segmented.empty:
        return out
    total = float(segmented["monetary"].sum())
    by: dict[str, dict[str, Any]] = {
        str(r["segment"]): {str(k): v for k, v in r.items()} for r in summary.to_dict("records")}
    if "Champions" in by and by["Champions"]["customers"] > 0:
        c = by["Champions"]
        out.append(f"Champions are {_pct(c['customer_share'])} of customers ({int(c['customers']):,}) and bring "
                   f"{_pct(c['revenue_share'])} of revenue ({_money(c['revenue'])}).")
    risk = [s for s in ("At Risk", "Can't Lose Them") if s in by and by[s]["customers"] > 0]
    if risk:
        rev = float(sum(by[s]["revenue"] for s in risk))
        n = int(sum(by[s]["customers"] for s in risk))
        out.append(f"Revenue at risk: {n:,} customers in {' and '.join(risk)} spent {_money(rev)} "
                   f"({_pct(rev / total if total else 0)} of revenue) and have not bought recently.")
    if total > 0 and len(segmented) >= 5:
        m = np.sort(segmented["monetary"].to_numpy())[::-1]
        top = max(1, round(len(m) * 0.2))
        share = m[:top].sum() / m.sum() if m.sum() else 0
        out.append(f"The top 20% of customers ({top:,}) bring {_pct(share)} of revenue.")
    once = float((segmented["frequency"] == 1).mean())
    out.append(f"{_pct(once)} of customers have bought only once.")
    biggest = summary.sort_values("customers", ascending=False).iloc[0]
    if biggest["customers"] > 0:
        out.append(f"The largest segment is {biggest['segment']} with {int(biggest['customers']):,} customers "
                   f"({_pct(biggest['customer_share'])}).")
    best = summary[summary["customers"] > 0].sort_values("avg_order_value", ascending=False)
    if len(best):
        b = best.iloc[0]
        out.append(f"{b['segment']} have the highest average order value: {_money(b['avg_order_value'])}.")
    fallback = summary.iloc[-1]
    if fallback["customers"] > 0:
        out.append(f"{int(fallback['customers']):,} customers match no rule and are in {fallback['segment']}; "
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
