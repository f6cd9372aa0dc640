"""Pages answer at once on a second visit: what a page computes from the analysis is cached per file and settings
(issue 13, "every page's first render after upload under 2 s"). Counted calls, not timings."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from pages import common
from rfm_core import charts
from rfm_core.settings import MetricScoring, ScoringSettings


def _counting(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[int]:
    calls: list[int] = []
    real: Callable[..., Any] = getattr(module, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def go(at: AppTest, page: str) -> None:
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception


def test_charts_are_built_once_per_file_and_settings(at: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    built = _counting(monkeypatch, charts, "page_figures")
    go(at, "charts")
    assert len(at.get("plotly_chart")) == 5  # the segment overview (2) and the first tab (3)
    assert len(built) == 2  # one cached group each
    go(at, "overview")
    go(at, "charts")
    assert len(built) == 2  # the second visit reuses the figures
    at.session_state[common.SCORING] = ScoringSettings(recency=MetricScoring(3))
    go(at, "charts")
    assert len(built) == 4  # other scores: other figures
    at.session_state[common.SCORING] = ScoringSettings()
    go(at, "charts")
    assert len(built) == 4  # back to the first settings: the first figures again


def test_a_closed_tab_is_built_when_opened(at: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    built = _counting(monkeypatch, charts, "page_figures")
    go(at, "charts")
    assert len(built) == 2
    at.session_state["charts_tab"] = "Months and countries"
    at.run()
    assert not at.exception
    assert len(built) == 3  # the opened tab's figures only (the overview is cached)
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert titles == ["Segments by number of customers", "Customers vs revenue share by segment",
                      "Monthly revenue and active customers", "Revenue by country (customer's latest purchase)"]


def test_top_products_are_ranked_once_per_file_and_settings(at: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    # rfm_core.insights is also the name of a function the package exports: take the module itself.
    ranked = _counting(monkeypatch, importlib.import_module("rfm_core.insights"), "top_products")
    go(at, "actions")
    go(at, "overview")
    go(at, "actions")
    assert len(ranked) == 1
    at.session_state[common.SCORING] = ScoringSettings(recency=MetricScoring(3))
    go(at, "actions")
    assert len(ranked) == 2


def test_segment_downloads_are_made_when_clicked(at: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Actions page offers a CSV per segment without writing any of them in the run."""
    from rfm_core import export

    written = _counting(monkeypatch, export, "segments_csv")
    go(at, "actions")
    buttons = [b for b in at.get("download_button") if "customers (CSV)" in b.proto.label]
    assert len(buttons) >= 5
    assert written == []
