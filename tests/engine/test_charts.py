"""Every chart builds from engine results and shows the engine's numbers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from rfm_core import analyze, charts
from rfm_core.clv import holdout_check
from rfm_core.insights import top_products
from rfm_core.timeline import cohorts, migration
from tests.conftest import SAMPLE


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    return analyze(SAMPLE, warn=False)


def test_segment_charts_show_the_summary(result) -> None:  # type: ignore[no-untyped-def]
    seg = result.segmentation
    colors = charts.segment_colors(seg.rules.names)
    tree = charts.segment_treemap(seg.summary, colors)
    assert sum(tree.data[0].values) == len(seg.customers)
    bars = charts.segment_share_bars(seg.summary)
    assert sum(bars.data[1].x) == pytest.approx(1.0)
    heat = charts.rf_heatmap(seg.customers, 5, 5)
    assert np.nansum(heat.data[0].customdata) == len(seg.customers)
    lorenz = charts.lorenz_curve(seg.customers)
    assert lorenz.data[0].y[-1] == pytest.approx(1.0)
    scatter = charts.recency_monetary_scatter(seg.customers, colors, max_points=500)
    assert sum(len(t.x) for t in scatter.data) == 500 and "sample of 500" in scatter.layout.title.text
    for metric in ("recency", "frequency", "monetary"):
        dist = charts.metric_distribution(seg.customers, seg.scored.bins[metric])
        assert len(dist.layout.shapes) >= 1  # the score edges are drawn
    monthly = charts.monthly_activity(result.cleaned.transactions)
    assert sum(monthly.data[0].y) == pytest.approx(result.cleaned.transactions["amount"].sum())
    country = charts.country_breakdown(seg.customers)
    assert sum(country.data[0].x) == pytest.approx(seg.customers["monetary"].sum())
    assert len(charts.report_figures(seg, result.cleaned.transactions)) == 6


def test_prediction_charts(result) -> None:  # type: ignore[no-untyped-def]
    tx = result.cleaned.transactions
    check = holdout_check(tx, dt.date(2011, 9, 9))
    assert list(charts.holdout_chart(check.by_frequency, check.total_error).data[0].y) == list(
        check.by_frequency["actual"])
    moved = migration(tx, dt.date(2011, 6, 1))
    sankey = charts.migration_sankey(moved.flows, charts.segment_colors(result.segmentation.rules.names), "a", "b")
    assert sum(sankey.data[0].link.value) == len(moved.customers)
    c = cohorts(tx)
    assert charts.cohort_heatmap(c.retention, c.sizes).data[0].z.shape == c.retention.shape
    assert len(charts.cohort_revenue(c.revenue).data) == len(c.revenue)
    table = pd.DataFrame({"p_alive": [0.1, 0.9], "segment": ["A", "B"], "v": [1.0, 2.0]})
    assert len(charts.p_alive_histogram(table).data) == 1
    by_segment = charts.value_by_segment(table, "v", {}, "t")  # one bar trace per segment
    assert sum(sum(trace.y) for trace in by_segment.data) == pytest.approx(3.0)


def test_top_products_by_hand() -> None:
    tx = pd.DataFrame({"customer_id": ["a", "a", "b", "c", "c"], "description": ["mug", "bag", "mug", "bag", "bag"],
                       "amount": [10.0, 1.0, 5.0, 2.0, 3.0], "is_return": [False, False, False, False, True]})
    segments = pd.Series({"a": "S1", "b": "S1", "c": "S2"})
    top = top_products(tx, segments, n=2)
    s1 = top[(top["segment"] == "S1") & (top["ranking"] == "revenue")]
    assert s1["product"].tolist() == ["mug", "bag"] and s1["revenue"].tolist() == [15.0, 1.0]
    assert s1["customers"].tolist() == [2, 1]
    s2 = top[(top["segment"] == "S2") & (top["ranking"] == "customers")]
    assert s2["product"].tolist() == ["bag"] and s2["revenue"].tolist() == [2.0]  # the return is not counted
    assert top_products(tx.drop(columns=["description"]), segments).empty


def test_file_engine_paths(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from rfm_core import InputFileError
    from rfm_core.engines.files import expand_paths, file_format

    with pytest.raises(InputFileError, match="No file"):
        expand_paths(str(tmp_path / "nope.csv"))
    with pytest.raises(InputFileError, match="match"):
        expand_paths(str(tmp_path / "*.parquet"))
    with pytest.raises(InputFileError, match="mixes"):
        file_format(["a.csv", "b.parquet"])
    with pytest.raises(InputFileError, match="workbooks"):
        file_format(["a.xlsx"])


# ---- issue 14 phase 2: currency, partial months, missing columns, one palette ---------------------------------

def _tx(dates: list[str], amounts: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": pd.Categorical([f"c{i % 3}" for i in range(len(dates))]),
                         "invoice_date": pd.to_datetime(dates), "amount": amounts})


def test_monthly_chart_says_ordinals_in_words() -> None:
    """Online Retail ends on 9 Dec; a file from the 2nd to the 22nd said "2th" and "22th"."""
    fig = charts.monthly_activity(_tx(["2024-01-02", "2024-02-10", "2024-03-22"], [1.0, 2.0, 3.0]))
    notes = list(fig.data[0].customdata)
    assert notes[0] == "partial month: data from the 2nd" and notes[-1] == "partial month: data to the 22nd"
    one = charts.monthly_activity(_tx(["2024-05-01", "2024-05-03"], [1.0, 2.0])).data[0].customdata
    assert list(one) == ["partial month: data to the 3rd"]


def test_monthly_chart_marks_partial_first_and_last_months() -> None:
    from rfm_core.formatting import Currency

    # Data from 15 Jan to 9 Mar: January and March are partial, February whole.
    fig = charts.monthly_activity(_tx(["2024-01-15", "2024-02-01", "2024-02-29", "2024-03-09"],
                                      [10.0, 20.0, 30.0, 5.0]), Currency("GBP"))
    bars = fig.data[0]
    assert list(bars.y) == [10.0, 50.0, 5.0]  # by hand: Feb = 20 + 30
    assert list(bars.marker.pattern.shape) == ["/", "", "/"]
    assert [bool(n) for n in bars.customdata] == [True, False, True]
    assert "data from the 15th" in bars.customdata[0] and "data to the 9th" in bars.customdata[2]
    assert sum(a.text == "partial" for a in fig.layout.annotations) == 2
    assert "£%{y:,.0f}" in bars.hovertemplate and fig.layout.yaxis.tickprefix == "£"
    # Whole months: nothing marked.
    whole = charts.monthly_activity(_tx(["2024-01-01", "2024-01-31"], [1.0, 2.0]))
    assert list(whole.data[0].marker.pattern.shape) == [""] and not whole.layout.annotations


def test_country_chart_needs_a_country_column_and_hovers_in_the_currency(result) -> None:  # type: ignore[no-untyped-def]
    from rfm_core.formatting import Currency

    seg = result.segmentation
    assert charts.country_breakdown(seg.customers.drop(columns=["country"])) is None
    fig = charts.country_breakdown(seg.customers, currency=Currency("EUR", "after"))
    assert fig is not None and "%{x:,.0f} €" in fig.data[0].hovertemplate
    assert fig.layout.xaxis.ticksuffix == " €"


def test_one_colour_per_segment_everywhere(result) -> None:  # type: ignore[no-untyped-def]
    seg = result.segmentation
    colors = charts.segment_colors(seg.rules.names)
    assert len(set(colors.values())) == len(colors)  # no two segments share a colour
    assert colors[seg.rules.fallback] == "#bababa"
    tree = charts.segment_treemap(seg.summary, colors)
    shown = dict(zip(tree.data[0].labels, tree.data[0].marker.colors, strict=True))
    assert all(shown[name] == colors[name] for name in shown)
    scatter = charts.recency_monetary_scatter(seg.customers, colors, max_points=300)
    assert all(t.marker.color == colors[t.name] for t in scatter.data)


def _figure_json(fig) -> dict:  # type: ignore[no-untyped-def]
    import json

    import plotly.io as pio

    return json.loads(pio.to_json(fig, validate=False))


def test_page_figures_are_the_single_builders_figures(result) -> None:  # type: ignore[no-untyped-def]
    """The Charts page's one cached call gives exactly the figures of the single builders (checked by their JSON,
    so every number, colour and label), in the page's order."""
    seg, tx = result.segmentation, result.cleaned.transactions
    colors = charts.segment_colors(seg.rules.names)
    bins = seg.scored.bins
    figs = charts.page_figures(seg, tx)
    assert tuple(figs) == charts.PAGE_FIGURES
    expected = {
        "treemap": charts.segment_treemap(seg.summary, colors),
        "shares": charts.segment_share_bars(seg.summary),
        "heatmap": charts.rf_heatmap(seg.customers, bins["recency"].bins, bins["frequency"].bins),
        "lorenz": charts.lorenz_curve(seg.customers),
        "scatter": charts.recency_monetary_scatter(seg.customers, colors),  # 1,498 customers: all drawn
        "monthly": charts.monthly_activity(tx),
        "country": charts.country_breakdown(seg.customers),
    } | {f"dist_{m}": charts.metric_distribution(seg.customers, bins[m]) for m in ("recency", "frequency", "monetary")}
    for name, fig in expected.items():
        assert _figure_json(figs[name]) == _figure_json(fig), name
    assert sum(len(t.x) for t in figs["scatter"].data) == len(seg.customers) == 1498


def test_page_figures_by_name_are_the_same_figures(result) -> None:  # type: ignore[no-untyped-def]
    """The page builds a tab's figures only when it is open: any subset, in any order asked, is the same figures
    (by their JSON) in the page's order; an unknown name is an error, not a silently missing chart."""
    seg, tx = result.segmentation, result.cleaned.transactions
    every = charts.page_figures(seg, tx)
    some = charts.page_figures(seg, tx, names=("country", "dist_recency", "treemap"))
    assert tuple(some) == ("treemap", "dist_recency", "country")
    for name, fig in some.items():
        assert _figure_json(fig) == _figure_json(every[name]), name
    with pytest.raises(ValueError, match="no Charts page figure named"):
        charts.page_figures(seg, tx, names=("treemap", "pie"))


def test_page_scatter_is_a_sample_of_at_most_page_scatter_points() -> None:
    """3,000 customers, one purchase each: the page's scatter draws 2,000 of them, says so, and every point is one of
    the customers with its own recency (days from the purchase to the analysis date, the day after the last one)."""
    n = 3000
    day0 = dt.date(2024, 1, 1)
    lines = ["InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice,Country"]
    lines += [f"{i},{i},{day0 + dt.timedelta(days=i % 300)} 10:00:00,1,{1 + i % 7}.00,France" for i in range(n)]
    res = analyze("\n".join(lines).encode(), name="many.csv", warn=False)
    scatter = charts.page_figures(res.segmentation, res.cleaned.transactions)["scatter"]
    assert charts.PAGE_SCATTER_POINTS == 2000
    assert sum(len(t.x) for t in scatter.data) == 2000
    assert "random sample of 2,000 of 3,000" in scatter.layout.title.text
    last = day0 + dt.timedelta(days=299)
    for trace in scatter.data:
        for recency, (cid, _freq, _money) in zip(trace.x, trace.customdata, strict=True):
            bought = day0 + dt.timedelta(days=int(cid) % 300)
            assert recency == (last - bought).days + 1


def test_every_figure_is_drawn_with_the_plotly_white_template(result) -> None:  # type: ignore[no-untyped-def]
    """The template is set when a figure is made (not replaced afterwards): every builder still ends on
    plotly_white, compared with Plotly's own template object."""
    import plotly.io as pio

    seg, tx = result.segmentation, result.cleaned.transactions
    colors = charts.segment_colors(seg.rules.names)
    figs = [f for f in charts.page_figures(seg, tx).values() if f is not None]
    figs.append(charts.value_by_segment(seg.customers, "monetary", colors, "value"))
    figs.append(charts.p_alive_histogram(pd.DataFrame({"p_alive": [0.1, 0.5, 0.9]})))
    white = pio.templates["plotly_white"]
    assert len(figs) == 12
    for fig in figs:
        assert fig.layout.template == white


@pytest.mark.parametrize(("revenues", "customers", "rev_step", "cust_step"), [
    # worked by hand: the least 1, 2, 2.5 or 5 x 10^k step with 5 steps reaching the top
    ([1_146_000.0, 300_000.0], [1_670, 600], 250_000.0, 500.0),  # 229,200 a step -> 250,000; 334 -> 500
    ([3.0, 1.0], [1, 1], 1.0, 1.0),  # 0.6 -> 1; a customer axis never steps below one customer
    ([1_000.0], [10], 200.0, 2.0),  # exactly 5 steps of 200 and of 2
])
def test_monthly_chart_axes_share_round_grid_steps(revenues: list[float], customers: list[int],
                                                   rev_step: float, cust_step: float) -> None:
    # The customers' axis labels read 532, 732, 932 (aligned to the revenue grid at odd values).
    rows = []
    for month, (revenue, n) in enumerate(zip(revenues, customers, strict=True), start=1):
        rows += [(f"c{month}-{i}", f"2024-{month:02d}-0{1 + i % 9}", revenue / n) for i in range(n)]
    tx = pd.DataFrame({"customer_id": [r[0] for r in rows], "invoice_id": [f"i{k}" for k in range(len(rows))],
                       "invoice_date": pd.to_datetime([r[1] for r in rows]), "amount": [r[2] for r in rows]})
    fig = charts.monthly_activity(tx)
    left, right = fig.layout.yaxis, fig.layout.yaxis2
    assert (left.dtick, tuple(left.range)) == (rev_step, (0, rev_step * 5))
    assert (right.dtick, tuple(right.range)) == (cust_step, (0, cust_step * 5))
    assert right.showgrid is False
