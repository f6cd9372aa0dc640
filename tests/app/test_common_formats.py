"""The column_config builders of pages/common.py: labels in words and the agreed number formats."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd

from pages import common
from rfm_core.formatting import Currency
from tests.conftest import ROOT


def _format(col: dict[str, object]) -> object:
    return col["type_config"]["format"]  # type: ignore[index]


def test_formats_by_kind_and_currency() -> None:
    gbp, eur = Currency("GBP"), Currency("EUR", "after")
    assert _format(common.column_for("monetary", gbp)) == "£%,.2f"
    assert _format(common.column_for("revenue", eur)) == "%,.2f €"
    assert _format(common.column_for("revenue", Currency("CHF"))) == "CHF %,.2f"
    assert _format(common.column_for("revenue", Currency("USD", symbol="100%"))) == "100%%%,.2f"
    assert _format(common.column_for("customer_share", gbp)) == "%.1f%%"
    assert _format(common.column_for("p_alive", gbp)) == "%.1f%%"
    assert _format(common.column_for("customers", gbp)) == "%,d"
    assert _format(common.column_for("r_score", gbp)) == "%d"
    assert _format(common.column_for("recency_mean", gbp)) == "%,.1f"
    assert common.column_for("recency_days", gbp)["label"] == "Recency (days)"
    assert common.column_for("segment", gbp)["label"] == "Segment"


def test_readable_table_scales_shares_and_fills_empty_values() -> None:
    summary = pd.DataFrame({"segment": ["Champions", "Other"], "customers": [12.0, np.nan],
                            "customer_share": [0.1473, 0.0], "monetary_mean": [10.5, np.nan],
                            "country": ["France", None]})
    view, config = common.readable_table(summary, Currency("GBP"))
    assert np.allclose(view["customer_share"], [14.73, 0.0])  # shown as 14.7% by "%.1f%%"
    assert view["customers"].tolist() == [12.0, 0.0]  # an empty segment reads 0, not None
    # A mean of nothing is blank: a NaN left in a number column was drawn by the grid as a grey "None".
    assert view["monetary_mean"].tolist() == ["£10.50", ""]
    assert view["country"].tolist() == ["France", ""]
    assert config["monetary_mean"]["label"] == "Mean spend"
    assert list(summary["customer_share"]) == [0.1473, 0.0]  # the input is not changed


def test_rfm_app_does_not_import_streamlit() -> None:
    code = "import sys, rfm_app.workspace; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"
