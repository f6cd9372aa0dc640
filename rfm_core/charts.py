"""Plotly figures built from engine results, shared by the app and the HTML report (no Streamlit here).

One look everywhere: each segment keeps one colour (:func:`segment_colors`, from :data:`SEGMENT_PALETTE`) in
every chart where it appears; money in hovers and on axes carries the currency (:mod:`rfm_core.formatting`:
no decimals on axes and totals, two for per-customer amounts), shares one decimal; axes and titles reserve
their own room (``automargin``) so no label is clipped; a month the data covers only in part is marked as
partial. A chart that needs a column the data lacks is not drawn: the builder returns ``None`` and the caller
says so in one sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .columns import (
    AMOUNT,
    COUNTRY,
    CUSTOMER_ID,
    F_SCORE,
    FREQUENCY,
    INVOICE_DATE,
    IS_RETURN,
    MONETARY,
    R_SCORE,
    RECENCY_DAYS,
    SEGMENT,
)
from .formatting import NO_CURRENCY, Currency, label, ordinal
from .score import METRIC_COLUMNS, MetricBins

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "SEGMENT_PALETTE",
    "backtest_chart",
    "cohort_heatmap",
    "cohort_revenue",
    "country_breakdown",
    "holdout_chart",
    "lines_per_month_chart",
    "lorenz_curve",
    "metric_distribution",
    "migration_sankey",
    "model_comparison_chart",
    "monthly_activity",
    "p_alive_histogram",
    "page_figures",
    "recency_monetary_scatter",
    "report_figures",
    "rf_heatmap",
    "segment_colors",
    "segment_share_bars",
    "segment_treemap",
    "segments_over_time",
    "value_by_segment",
]

#: The segment palette, in rule order (the 11 default segments: greens for the best, reds for lapsing high value,
#: blues for new and promising, greys for the gone), then extra colours for further segments.
SEGMENT_PALETTE = ["#1b7837", "#5aae61", "#b2182b", "#d6604d", "#a6dba0", "#2166ac", "#4393c3", "#f4a582",
                   "#e08214", "#878787", "#4d4d4d", "#bababa", "#762a83", "#9970ab", "#c2a5cf", "#8c510a"]
_PALETTE = SEGMENT_PALETTE
_OTHER = "#bababa"  # the fallback segment and anything unknown


def segment_colors(names: list[str] | tuple[str, ...]) -> dict[str, str]:
    """A stable colour per segment name, in rule order (the last name, the fallback, light grey)."""
    colors = {n: _PALETTE[i % len(_PALETTE)] for i, n in enumerate(names)}
    if len(names) > 1:
        colors[names[-1]] = _OTHER
    return colors


#: Every figure's Plotly template. Set when the figure is made (:func:`_figure`, ``template=`` in plotly express):
#: a new figure otherwise gets Plotly's default template (a deep copy and validation of the whole template, 10-25 ms)
#: only for :func:`_layout` to replace it at the same cost again.
TEMPLATE = "plotly_white"


def _figure(data: Any = None) -> go.Figure:
    """A new figure with :data:`TEMPLATE` applied once."""
    import plotly.graph_objects as go

    return go.Figure(data, layout={"template": TEMPLATE})


def _layout(fig: go.Figure, title: str, height: int = 420) -> go.Figure:
    """The common look: title at the left, height (px), small margins, no legend title. The figure was made with
    :data:`TEMPLATE` (:func:`_figure`, or ``template=TEMPLATE`` for plotly express)."""
    fig.update_layout(title={"text": title, "x": 0, "xanchor": "left", "automargin": True}, height=height,
                      margin={"l": 10, "r": 10, "t": 60, "b": 10}, legend_title_text="", separators=".,")
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def _money(expr: str, currency: Currency, decimals: int = 0) -> str:
    """A hovertemplate field for money: ``£%{customdata[0]:,.0f}``."""
    before, after = currency.affixes()
    return f"{before}%{{{expr}:,.{decimals}f}}{after}"


def _money_axis(currency: Currency) -> dict[str, str]:
    before, after = currency.affixes()
    return {"tickprefix": before, "ticksuffix": after, "tickformat": ",.0f"}


def segment_treemap(summary: pd.DataFrame, colors: dict[str, str], currency: Currency = NO_CURRENCY) -> go.Figure:
    """Treemap of segments sized by customers.

    ``summary`` is :func:`rfm_core.insights.segment_summary` (one row per segment: ``segment, customers,
    customer_share, revenue, revenue_share``, ...); segments without customers are left out. ``colors`` maps segment
    name to a CSS colour (:func:`segment_colors`).
    """
    import plotly.express as px

    data = summary[summary["customers"] > 0]
    fig = px.treemap(data, path=[SEGMENT], values="customers", color=SEGMENT, color_discrete_map=colors,
                     custom_data=["revenue", "revenue_share", "customer_share"], template=TEMPLATE)
    fig.update_traces(texttemplate="%{label}<br>%{value:,} customers<br>%{customdata[2]:.1%}",
                      hovertemplate="%{label}<br>%{value:,} customers<br>revenue "
                                    + _money("customdata[0]", currency) + " (%{customdata[1]:.1%})<extra></extra>")
    return _layout(fig, "Segments by number of customers")


def segment_share_bars(summary: pd.DataFrame) -> go.Figure:
    """Horizontal bars per segment: share of customers beside share of revenue (0-1, shown as %).

    ``summary`` as for :func:`segment_treemap`; segments without customers are left out.
    """
    import plotly.graph_objects as go

    data = summary[summary["customers"] > 0]
    fig = _figure([
        go.Bar(name="Share of customers", y=data[SEGMENT], x=data["customer_share"], orientation="h",
               marker_color="#92c5de", hovertemplate="%{y}: %{x:.1%} of customers<extra></extra>"),
        go.Bar(name="Share of revenue", y=data[SEGMENT], x=data["revenue_share"], orientation="h",
               marker_color="#2166ac", hovertemplate="%{y}: %{x:.1%} of revenue<extra></extra>"),
    ])
    fig.update_layout(barmode="group", xaxis_tickformat=".0%", yaxis={"autorange": "reversed", "automargin": True})
    return _layout(fig, "Customers vs revenue share by segment", 460)


def rf_heatmap(customers: pd.DataFrame, r_bins: int, f_bins: int, currency: Currency = NO_CURRENCY) -> go.Figure:
    """Mean monetary (money) per (R score, F score) cell, ``f_bins`` rows x ``r_bins`` columns; empty cells blank.

    ``currency`` labels the money. ``customers`` is the scored per-customer table (``r_score, f_score,
    monetary``); the hover shows each cell's
    customers.
    """
    import plotly.graph_objects as go

    grid = customers.pivot_table(index=F_SCORE, columns=R_SCORE, values=MONETARY, aggfunc="mean",
                                 observed=False)
    counts = customers.pivot_table(index=F_SCORE, columns=R_SCORE, values=MONETARY, aggfunc="size",
                                   observed=False)
    grid = grid.reindex(index=range(1, f_bins + 1), columns=range(1, r_bins + 1))
    counts = counts.reindex(index=range(1, f_bins + 1), columns=range(1, r_bins + 1)).fillna(0)
    fig = _figure(go.Heatmap(
        z=grid.to_numpy(), x=[f"R{c}" for c in grid.columns], y=[f"F{i}" for i in grid.index],
        customdata=counts.to_numpy(), colorscale="Blues",
        colorbar={"title": "Mean spend", **_money_axis(currency)},
        hovertemplate="%{x} %{y}<br>mean spend " + _money("z", currency, 2)
                      + "<br>%{customdata:,} customers<extra></extra>"))
    fig.update_layout(xaxis_title="recency score", yaxis_title="frequency score")
    return _layout(fig, "Mean spend by recency and frequency score")


def metric_distribution(customers: pd.DataFrame, info: MetricBins, currency: Currency = NO_CURRENCY) -> go.Figure:
    """Histogram of one metric (days, orders or money) with its effective score edges as dashed lines.

    ``customers`` holds the metric's column (:data:`rfm_core.score.METRIC_COLUMNS`); ``info`` is that metric's
    :class:`~rfm_core.score.MetricBins`. Frequency and monetary hide the top 1% of values (the title says so) so one
    outlier does not squash the axis.
    """
    import plotly.graph_objects as go

    col = METRIC_COLUMNS[info.metric]
    values = customers[col].to_numpy(dtype="float64")
    clip = float(np.quantile(values, 0.99)) if len(values) else 0.0
    shown = values[values <= clip] if info.metric != "recency" else values
    fig = _figure(go.Histogram(x=shown, nbinsx=60, marker_color="#4393c3",
                                 hovertemplate="%{x}: %{y:,} customers<extra></extra>"))
    for edge in sorted(set(info.edges)):
        if edge <= (clip if info.metric != "recency" else np.inf):
            fig.add_vline(x=edge, line_dash="dash", line_color="#b2182b")
    note = " (top 1% not shown)" if info.metric != "recency" and len(shown) < len(values) else ""
    fig.update_layout(xaxis_title=label(col) + note, yaxis_title="customers", bargap=0.05, yaxis_tickformat=",d")
    if info.metric == "monetary":
        fig.update_xaxes(**_money_axis(currency))
    return _layout(fig, f"{info.metric.capitalize()}: score edges", 340)


def recency_monetary_scatter(customers: pd.DataFrame, colors: dict[str, str], max_points: int = 5000,
                             seed: int = 0, currency: Currency = NO_CURRENCY) -> go.Figure:
    """Recency (days) against monetary (money, log scale) per customer, coloured by segment.

    Above ``max_points`` customers a seeded random sample is drawn (the title says how many), so the browser stays
    responsive; monetary below 0.01 is drawn at 0.01 (a log axis has no 0).
    """
    import plotly.express as px

    # Only the plotted columns: plotly express reads every column of the frame it is given.
    data = customers[[CUSTOMER_ID, RECENCY_DAYS, FREQUENCY, MONETARY, SEGMENT]]
    title = "Recency vs monetary by segment"
    if len(data) > max_points:
        data = data.sample(max_points, random_state=seed)
        title += f" (random sample of {max_points:,} of {len(customers):,})"
    data = data.assign(monetary_plot=data[MONETARY].clip(lower=0.01))
    fig = px.scatter(data, x=RECENCY_DAYS, y="monetary_plot", color=SEGMENT, color_discrete_map=colors,
                     log_y=True, opacity=0.6, custom_data=[CUSTOMER_ID, FREQUENCY, MONETARY],
                     category_orders={SEGMENT: list(colors)}, template=TEMPLATE)
    fig.update_traces(hovertemplate="customer %{customdata[0]}<br>recency %{x:,} days<br>%{customdata[1]:,} orders"
                                    "<br>spend " + _money("customdata[2]", currency, 2) + "<extra></extra>")
    before, after = currency.affixes()
    fig.update_layout(yaxis={"title": "Spend (log scale)", "tickprefix": before, "ticksuffix": after},
                      xaxis_title="Recency (days)")
    return _layout(fig, title, 480)


def lorenz_curve(customers: pd.DataFrame) -> go.Figure:
    """Revenue concentration (Lorenz / Pareto curve): share of revenue (0-1) held by the top share of customers,
    best first, against the line of equal spend. Negative monetary counts as 0. At most ~2,000 plotted points.
    """
    import plotly.graph_objects as go

    m = np.sort(np.clip(customers[MONETARY].to_numpy(dtype="float64"), 0, None))[::-1]
    share_c = np.arange(1, len(m) + 1) / max(len(m), 1)
    share_r = np.cumsum(m) / m.sum() if m.sum() else np.zeros_like(m)
    step = max(1, len(m) // 2000)
    fig = _figure([
        go.Scatter(x=np.r_[0, share_c[::step], 1], y=np.r_[0, share_r[::step], 1], mode="lines",
                   name="customers, best first", line={"color": "#2166ac"},
                   hovertemplate="top %{x:.0%} of customers: %{y:.0%} of revenue<extra></extra>"),
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="equal spend", line={"dash": "dot", "color": "#878787"}),
    ])
    fig.update_layout(xaxis_tickformat=".0%", yaxis_tickformat=".0%", xaxis_title="share of customers",
                      yaxis_title="share of revenue")
    return _layout(fig, "Revenue concentration (Pareto curve)")


#: Grid steps of the monthly chart's two axes.
_STEPS = 5


def _nice_step(top: float, steps: int) -> float:
    """The least step of the form 1, 2, 2.5 or 5 x 10^k with ``steps`` steps reaching ``top`` (1 for a top of 0 or
    less), so axis labels are round."""
    if not np.isfinite(top) or top <= 0:
        return 1.0
    raw = top / steps
    power = 10.0 ** np.floor(np.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if factor * power >= raw * (1 - 1e-12):
            return float(factor * power)
    return float(10 * power)  # unreachable: 10 x power >= raw always


def monthly_activity(transactions: pd.DataFrame, currency: Currency = NO_CURRENCY) -> go.Figure:
    """Revenue (bars) and active customers (line) per calendar month; months the data covers only in part (the
    first and last, when the data starts after the 1st or ends before the month's last day) are hatched, labelled
    "partial" and say which days they hold, so a 9-day December does not read as a collapse.

    ``transactions`` are the used lines (``invoice_date, amount, customer_id``; ``is_return`` lines are left out).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    tx = transactions
    if IS_RETURN in tx.columns:
        tx = tx[~tx[IS_RETURN]]
    dates = tx[INVOICE_DATE]
    month = (dates.dt.year * 12 + dates.dt.month - 1).to_numpy()  # integer months group fast
    customers = tx[CUSTOMER_ID]
    codes = customers.cat.codes.to_numpy() if isinstance(customers.dtype, pd.CategoricalDtype) else pd.factorize(
        customers)[0]
    frame = pd.DataFrame({"month": month, AMOUNT: tx[AMOUNT].to_numpy(), CUSTOMER_ID: codes})
    g = frame.groupby("month")
    data = pd.DataFrame({"revenue": g[AMOUNT].sum(), "customers": g[CUSTOMER_ID].nunique()}).reset_index()
    data["month"] = pd.to_datetime({"year": data["month"] // 12, "month": data["month"] % 12 + 1, "day": 1})
    notes = [""] * len(data)
    if len(data) and len(dates):
        first, last = dates.min(), dates.max()
        if first.day > 1:
            notes[0] = f"partial month: data from the {ordinal(first.day)}"
        if last.day < last.days_in_month:
            notes[-1] = (f"partial month: data from the {ordinal(first.day)} to the {ordinal(last.day)}"
                         if len(data) == 1 and notes[0] else f"partial month: data to the {ordinal(last.day)}")
    partial = [bool(n) for n in notes]
    # Months as category labels: one tick per month and no padding month before or after the data.
    months = [f"{m:%b %Y}" for m in data["month"]]
    fig = make_subplots(specs=[[{"secondary_y": True}]], figure=_figure())
    fig.add_trace(go.Bar(x=months, y=data["revenue"], name="revenue",
                         marker={"color": ["#d1e5f0" if p else "#92c5de" for p in partial],
                                 "pattern": {"shape": ["/" if p else "" for p in partial]}},
                         customdata=np.array(notes, dtype=object),
                         hovertemplate="%{x}: " + _money("y", currency) + " %{customdata}<extra></extra>"))
    fig.add_trace(go.Scatter(x=months, y=data["customers"], name="active customers", mode="lines+markers",
                             line={"color": "#b2182b"}, hovertemplate="%{x}: %{y:,} active customers"
                                                                      "<extra></extra>"), secondary_y=True)
    for month, p in zip(months, partial, strict=True):
        if p:
            fig.add_annotation(x=month, y=1, yref="paper", text="partial", showarrow=False, yanchor="bottom",
                               font={"size": 11, "color": "#4d4d4d"})
    # Both axes from 0 in the same number of round steps, so the customers' ticks sit on the revenue grid lines
    # with round labels (Plotly aligned them to the revenue grid at values such as 532, 732, 932).
    rev_step = _nice_step(float(data["revenue"].max()) if len(data) else 0.0, _STEPS)
    cust_step = max(1.0, _nice_step(float(data["customers"].max()) if len(data) else 0.0, _STEPS))
    fig.update_yaxes(title_text="revenue", secondary_y=False, range=[0, rev_step * _STEPS], tick0=0, dtick=rev_step,
                     **_money_axis(currency))
    fig.update_yaxes(title_text="active customers", secondary_y=True, tickformat=",d", showgrid=False,
                     range=[0, cust_step * _STEPS], tick0=0, dtick=cust_step, tickmode="linear")
    fig.update_xaxes(type="category", tickangle=-45)
    _layout(fig, "Monthly revenue and active customers")
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.3, "xanchor": "left", "x": 0})
    return fig


def lines_per_month_chart(table: pd.DataFrame) -> go.Figure:
    """Used lines per month as bars, partial months hatched and labelled "partial" (the look of
    :func:`monthly_activity`), for the Data page: what period the file covers and where it thins out.

    ``table`` is :func:`rfm_core.views.lines_per_month` (``month, lines, partial, note``).
    """
    import plotly.graph_objects as go

    months = [f"{m:%b %Y}" for m in table["month"]]
    partial = [bool(p) for p in table["partial"]]
    fig = _figure(go.Bar(x=months, y=table["lines"], name="lines",
                         marker={"color": ["#d1e5f0" if p else "#92c5de" for p in partial],
                                 "pattern": {"shape": ["/" if p else "" for p in partial]}},
                         customdata=np.array(list(table["note"]), dtype=object),
                         hovertemplate="%{x}: %{y:,} lines used %{customdata}<extra></extra>"))
    for month, p in zip(months, partial, strict=True):
        if p:
            fig.add_annotation(x=month, y=1, yref="paper", text="partial", showarrow=False, yanchor="bottom",
                               font={"size": 11, "color": "#4d4d4d"})
    fig.update_yaxes(title_text="lines used", tickformat=",d")
    fig.update_xaxes(type="category", tickangle=-45)
    return _layout(fig, "Lines used per month", 320)


def country_breakdown(customers: pd.DataFrame, top: int = 12,
                      currency: Currency = NO_CURRENCY) -> go.Figure | None:
    """Revenue by country (the customer's latest purchase), top countries and the rest; ``None`` without a
    country column (the caller says so in a sentence)."""
    import plotly.express as px

    if COUNTRY not in customers.columns:
        return None
    g = customers.groupby(COUNTRY, observed=True)
    data = pd.DataFrame({"revenue": g[MONETARY].sum(), "customers": g.size()}).reset_index()
    data = data.sort_values("revenue", ascending=False)
    if len(data) > top:
        rest = data.iloc[top:]
        data = pd.concat([data.iloc[:top], pd.DataFrame({COUNTRY: [f"{len(rest)} others"],
                                                          "revenue": [rest["revenue"].sum()],
                                                          "customers": [rest["customers"].sum()]})])
    fig = px.bar(data, x="revenue", y=COUNTRY, orientation="h", text="customers", custom_data=["customers"],
                 color_discrete_sequence=["#2166ac"], template=TEMPLATE)
    fig.update_traces(texttemplate="%{text:,} customers", textposition="outside", cliponaxis=False,
                      hovertemplate="%{y}: " + _money("x", currency) + ", %{customdata[0]:,} customers<extra></extra>")
    # Room right of the longest bar for its "n customers" label.
    fig.update_layout(yaxis={"autorange": "reversed", "title": "", "automargin": True},
                      xaxis={"title": "revenue", "range": [0, float(data["revenue"].max()) * 1.3 or 1],
                             **_money_axis(currency)})
    return _layout(fig, "Revenue by country (customer's latest purchase)", 460)


def report_figures(segmentation: Any, transactions: pd.DataFrame | None = None,
                   currency: Currency = NO_CURRENCY) -> list[go.Figure]:
    """The figures of the HTML report, the same wherever the report is made (CLI, app)."""
    seg = segmentation
    colors = segment_colors(seg.rules.names)
    bins = seg.scored.bins
    figs = [segment_treemap(seg.summary, colors, currency), segment_share_bars(seg.summary),
            rf_heatmap(seg.customers, bins["recency"].bins, bins["frequency"].bins, currency),
            lorenz_curve(seg.customers), recency_monetary_scatter(seg.customers, colors, currency=currency)]
    if transactions is not None:
        figs.append(monthly_activity(transactions, currency))
    return figs


#: At most this many customers in the Charts page's recency-monetary scatter (a seeded random sample above it, the
#: title says so). Measured in headless Chromium on the real Online Retail, the scatter of all 4,327 customers took
#: ~380 ms to draw, as long as the other nine charts together; 1,000 points took ~130 ms. The HTML report keeps 5,000.
PAGE_SCATTER_POINTS = 2000

#: The Charts page's figures, in the page's order (:func:`page_figures`).
PAGE_FIGURES = ("treemap", "shares", "heatmap", "lorenz", "scatter", "dist_recency", "dist_frequency",
                "dist_monetary", "monthly", "country")


def page_figures(segmentation: Any, transactions: pd.DataFrame, currency: Currency = NO_CURRENCY,
                 names: tuple[str, ...] = PAGE_FIGURES) -> dict[str, go.Figure | None]:
    """The figures of the app's Charts page, built in one call so the app can cache them as one result.

    Parameters
    ----------
    segmentation : Segmentation
        Customers, summary, bins and rules of the current analysis (:func:`rfm_core.segment_customers`).
    transactions : DataFrame
        The used lines (``invoice_date, amount, customer_id``), for the monthly chart.
    currency : Currency
        How money is written in hovers and on axes.
    names : tuple of str
        Which of :data:`PAGE_FIGURES` to build (the page builds a tab's figures only when the tab is open).

    Returns
    -------
    dict
        Name to figure for ``names``, in :data:`PAGE_FIGURES` order; ``country`` is ``None`` without a country
        column (see :func:`country_breakdown`). The same figures as the single builders give, the scatter with at most
        :data:`PAGE_SCATTER_POINTS` customers.
    """
    unknown = set(names) - set(PAGE_FIGURES)
    if unknown:
        raise ValueError(f"no Charts page figure named {sorted(unknown)}; the names are {PAGE_FIGURES}")
    seg = segmentation
    colors = segment_colors(seg.rules.names)
    bins = seg.scored.bins
    customers = seg.customers
    builders: dict[str, Callable[[], go.Figure | None]] = {
        "treemap": lambda: segment_treemap(seg.summary, colors, currency),
        "shares": lambda: segment_share_bars(seg.summary),
        "heatmap": lambda: rf_heatmap(customers, bins["recency"].bins, bins["frequency"].bins, currency),
        "lorenz": lambda: lorenz_curve(customers),
        "scatter": lambda: recency_monetary_scatter(customers, colors, PAGE_SCATTER_POINTS, currency=currency),
        "dist_recency": lambda: metric_distribution(customers, bins["recency"], currency),
        "dist_frequency": lambda: metric_distribution(customers, bins["frequency"], currency),
        "dist_monetary": lambda: metric_distribution(customers, bins["monetary"], currency),
        "monthly": lambda: monthly_activity(transactions, currency),
        "country": lambda: country_breakdown(customers, currency=currency),
    }
    return {name: builders[name]() for name in PAGE_FIGURES if name in names}


def holdout_chart(by_frequency: pd.DataFrame, error: float) -> go.Figure:
    """Predicted vs actual purchase days in the holdout, per calibration frequency."""
    import plotly.graph_objects as go

    fig = _figure([
        go.Bar(name="actual", x=by_frequency["frequency"], y=by_frequency["actual"], marker_color="#2166ac",
               customdata=by_frequency["customers"],
               hovertemplate="frequency %{x}: %{y:.2f} actual (%{customdata:,} customers)<extra></extra>"),
        go.Bar(name="predicted", x=by_frequency["frequency"], y=by_frequency["predicted"], marker_color="#f4a582",
               hovertemplate="frequency %{x}: %{y:.2f} predicted<extra></extra>"),
    ])
    fig.update_layout(barmode="group", xaxis_title="repeat purchase days in the calibration period",
                      yaxis_title="mean purchase days in the holdout")
    return _layout(fig, f"Holdout check: predicted vs actual (total error {error:+.1%})")


def p_alive_histogram(table: pd.DataFrame) -> go.Figure:
    """Histogram of P(alive) (0-1) over the customers of a CLV table (:attr:`rfm_core.clv.ClvResult.table`).

    P(alive) is the probability that a customer is still active given their history (Fader, Hardie & Lee 2005,
    eq. 11 for BG/NBD; Hardie's note on computing it).
    """
    import plotly.graph_objects as go

    fig = _figure(go.Histogram(x=table["p_alive"], nbinsx=40, marker_color="#4393c3",
                                 hovertemplate="P(alive) %{x}: %{y:,} customers<extra></extra>"))
    fig.update_layout(xaxis_title="probability the customer is still active", yaxis_title="customers",
                      xaxis_tickformat=".0%")
    return _layout(fig, "Churn risk: distribution of P(alive)", 360)


def model_comparison_chart(by_frequency: pd.DataFrame, labels: dict[str, str], best: str | None) -> go.Figure:
    """Actual vs each model's predicted purchase days per customer in the holdout, per calibration frequency.

    ``by_frequency``: ``frequency, customers, actual`` and ``predicted_<model>`` per model
    (:class:`rfm_core.clv.ModelComparison`); ``labels`` maps model names to display names.
    """
    import plotly.graph_objects as go

    shades = ["#f4a582", "#92c5de", "#a6dba0"]
    bars = [go.Bar(name="actual", x=by_frequency["frequency"], y=by_frequency["actual"], marker_color="#2166ac",
                   customdata=by_frequency["customers"],
                   hovertemplate="frequency %{x}: %{y:.2f} actual (%{customdata:,} customers)<extra></extra>")]
    models = [c.removeprefix("predicted_") for c in by_frequency.columns if c.startswith("predicted_")]
    for i, name in enumerate(models):
        label = labels.get(name, name) + (" (best)" if name == best else "")
        bars.append(go.Bar(name=label, x=by_frequency["frequency"], y=by_frequency[f"predicted_{name}"],
                           marker_color=shades[i % len(shades)],
                           hovertemplate=f"frequency %{{x}}: %{{y:.2f}} predicted by {label}<extra></extra>"))
    fig = _figure(bars)
    fig.update_layout(barmode="group", xaxis_title="repeat purchase days in the calibration period",
                      yaxis_title="mean purchase days in the holdout")
    return _layout(fig, "Holdout: actual vs each model's prediction")


def backtest_chart(table: pd.DataFrame, colors: dict[str, str], currency: Currency = NO_CURRENCY) -> go.Figure:
    """Share of each segment's customers who bought again in the backtest window, with the average as a line.

    ``table``: :attr:`rfm_core.backtest.BacktestResult.table` (its last row is ``All customers``).
    """
    import plotly.graph_objects as go

    segments, overall = table.iloc[:-1], table.iloc[-1]
    fig = _figure(go.Bar(
        x=segments[SEGMENT], y=segments["repeat_rate"],
        marker_color=[colors.get(str(s), "#878787") for s in segments[SEGMENT]],
        customdata=np.column_stack([segments["customers"], segments["repeat_lift"], segments["revenue_per_customer"],
                                    segments["revenue_lift"]]),
        hovertemplate=("%{x}: %{y:.1%} bought again (%{customdata[0]:,} customers, lift %{customdata[1]:.2f}); "
                       "revenue per customer " + _money("customdata[2]", currency, 2)
                       + " (lift %{customdata[3]:.2f})<extra></extra>")))
    fig.add_hline(y=float(overall["repeat_rate"]), line_dash="dash", line_color="#4d4d4d",
                  annotation_text=f"all customers {overall['repeat_rate']:.1%}", annotation_position="top right")
    fig.update_layout(showlegend=False, xaxis_title="", yaxis_title="bought again in the window",
                      yaxis_tickformat=".0%")
    return _layout(fig, "Did the segments predict who bought again?", 400)


def value_by_segment(frame: pd.DataFrame, value: str, colors: dict[str, str], title: str,
                     currency: Currency = NO_CURRENCY) -> go.Figure:
    """A bar per segment of a per-customer money value summed (e.g. predicted CLV); ``frame`` has ``segment``."""
    import plotly.express as px

    data = frame.groupby(SEGMENT, observed=True)[value].sum().reset_index().sort_values(value, ascending=False)
    fig = px.bar(data, x=SEGMENT, y=value, color=SEGMENT, color_discrete_map=colors, template=TEMPLATE)
    fig.update_traces(hovertemplate="%{x}: " + _money("y", currency) + "<extra></extra>")
    fig.update_layout(showlegend=False, xaxis={"title": "", "tickangle": -30}, yaxis_title=label(value),
                      yaxis=_money_axis(currency))
    return _layout(fig, title, 380)


def migration_sankey(flows: pd.DataFrame, colors: dict[str, str], earlier: str, later: str,
                     currency: Currency = NO_CURRENCY) -> go.Figure:
    """Segment then (left) to segment now (right); link width = customers, revenue in the hover."""
    import plotly.graph_objects as go

    left = list(dict.fromkeys(flows["segment_then"]))
    right = list(dict.fromkeys(flows["segment_now"]))
    labels = [f"{s} ({earlier})" for s in left] + [f"{s} ({later})" for s in right]
    node_colors = [colors.get(s, "#bababa") for s in left] + [colors.get(s, "#bababa") for s in right]
    src = [left.index(s) for s in flows["segment_then"]]
    dst = [len(left) + right.index(s) for s in flows["segment_now"]]
    # Each link in its source segment's colour, translucent, so a flow can be followed across the chart.
    link_colors = [_rgba(colors.get(s, _OTHER), 0.45) for s in flows["segment_then"]]
    fig = _figure(go.Sankey(
        node={"label": labels, "color": node_colors, "pad": 14, "thickness": 16, "line": {"width": 0}},
        textfont={"size": 12, "color": "#222"},
        link={"source": src, "target": dst, "value": flows["customers"].tolist(), "color": link_colors,
              "customdata": np.c_[flows["customers"], flows["revenue"]],
              "hovertemplate": "%{source.label} → %{target.label}<br>%{customdata[0]:,} customers<br>"
                               "revenue between the dates " + _money("customdata[1]", currency)
                               + "<extra></extra>"}))
    return _layout(fig, f"Segment migration, {earlier} → {later}", 560)


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def cohort_heatmap(retention: pd.DataFrame, sizes: pd.Series) -> go.Figure:
    """Retention heatmap: one row per monthly acquisition cohort (label with its size), one column per month since
    the first purchase; cells are the share of the cohort buying that month (0-1), NaN after the end of the data.

    ``retention`` and ``sizes`` come from :func:`rfm_core.timeline.cohorts`.
    """
    import plotly.graph_objects as go

    y = [f"{c} ({int(sizes.get(c, 0)):,})" for c in retention.index]
    # Month 0 is 100% by definition: the colour scale spans the later months so their differences show; each cell
    # also prints its value, dark text on the light cells and white on the dark ones (plotly picks per cell).
    values = retention.to_numpy(dtype=float)
    later = values[:, 1:] if values.shape[1] > 1 else values
    top = float(np.nanmax(later)) if np.isfinite(later).any() else 1.0
    fig = _figure(go.Heatmap(z=values, x=[str(c) for c in retention.columns], y=y,
                               colorscale="Blues", zmin=0, zmax=top or 1.0,
                               texttemplate="%{z:.0%}", textfont={"size": 10},
                               colorbar={"title": "active", "tickformat": ".0%"},
                               hovertemplate="cohort %{y}, month %{x}: %{z:.1%} active<extra></extra>"))
    fig.update_layout(xaxis_title="months since first purchase", yaxis_title="cohort (customers)",
                      yaxis={"autorange": "reversed", "automargin": True})
    return _layout(fig, "Retention by monthly acquisition cohort", 520)


def cohort_revenue(revenue: pd.DataFrame, currency: Currency = NO_CURRENCY) -> go.Figure:
    """One line per cohort: its revenue (money) in each month since acquisition (:attr:`rfm_core.timeline.Cohorts.
    revenue`: cohorts x months)."""
    import plotly.graph_objects as go
    from plotly.colors import sample_colorscale

    # One colour per cohort along a sequential scale (earliest dark, latest light): plotly's default cycle repeats
    # after 10, so a year of cohorts would share colours.
    shades = sample_colorscale("Viridis", [i / max(len(revenue) - 1, 1) * 0.9 for i in range(len(revenue))])
    fig = _figure()
    for (cohort, row), shade in zip(revenue.iterrows(), shades, strict=True):
        fig.add_trace(go.Scatter(x=[int(c) for c in row.index], y=row.to_numpy(), mode="lines", name=str(cohort),
                                 line={"color": shade},
                                 hovertemplate=f"cohort {cohort}, month %{{x}}: " + _money("y", currency)
                                               + "<extra></extra>"))
    fig.update_layout(xaxis_title="months since first purchase", yaxis_title="revenue", yaxis=_money_axis(currency))
    return _layout(fig, "Revenue per cohort by month since acquisition", 420)


def segments_over_time(timeline: pd.DataFrame, colors: dict[str, str], *, share: bool = False) -> go.Figure:
    """Stacked areas of segment sizes at each month end (from :func:`rfm_core.timeline.segments_by_month`).

    Partial months (the data covers only part of them) are labelled "(partial)" on the axis and shaded, so a
    short last month does not read as a collapse. ``share`` plots each segment's share of the customers known at
    that date instead of counts. Empty segments are left out of the legend.
    """
    import plotly.graph_objects as go

    months = timeline.drop_duplicates("month")
    labels = {m: _month_label(m, p, f, t) for m, p, f, t in zip(months["month"], months["partial"],
                                                                 months["covered_from"], months["covered_to"],
                                                                 strict=True)}
    value = "customer_share" if share else "customers"
    fig = _figure()
    for name in timeline[SEGMENT].cat.categories if hasattr(timeline[SEGMENT], "cat") else timeline[
            SEGMENT].unique():
        part = timeline[timeline[SEGMENT] == name]
        if int(part["customers"].sum()) == 0:
            continue
        fig.add_trace(go.Scatter(
            x=[labels[m] for m in part["month"]], y=part[value], name=str(name), mode="lines", stackgroup="one",
            line={"width": 0.5, "color": colors.get(str(name), "#bababa")},
            customdata=np.c_[part["customers"], part["customer_share"] * 100],
            hovertemplate=f"{name}<br>%{{x}}<br>%{{customdata[0]:,}} customers (%{{customdata[1]:.1f}}%)"
                          "<extra></extra>"))
    for m, p in zip(months["month"], months["partial"], strict=True):
        if p:
            # A line and a note by hand: plotly's add_vline cannot place its annotation on a category axis.
            fig.add_shape(type="line", x0=labels[m], x1=labels[m], y0=0, y1=1, yref="paper",
                          line={"dash": "dot", "color": "#4d4d4d", "width": 1})
            fig.add_annotation(x=labels[m], y=1, yref="paper", text="partial month", showarrow=False,
                               yanchor="bottom", font={"size": 11, "color": "#4d4d4d"})
    fig.update_layout(xaxis={"type": "category", "automargin": True, "tickangle": -30, "title": "month end"},
                      yaxis={"automargin": True, "title": "share of customers" if share else "customers",
                             "tickformat": ".0%" if share else ",d"},
                      hovermode="closest", legend={"traceorder": "normal"})
    title = "Segment sizes at each month end" + (" (share of customers)" if share else "")
    return _layout(fig, title, 480)


def _month_label(month: str, partial: bool, covered_from: object, covered_to: object) -> str:
    ts = pd.Timestamp(f"{month}-01")
    label = f"{ts:%b %Y}"
    if not partial:
        return label
    start, end = pd.Timestamp(covered_from), pd.Timestamp(covered_to)  # type: ignore[arg-type]
    return f"{label} (partial: {start.day}–{end.day} {end:%b})"
