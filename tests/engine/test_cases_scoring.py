"""Cases 01 and 02 from ../shared/cases (inputs copied to tests/cases/; the suite never reads ../shared/cases).

Case 01, ties at the top (hand-worked in its CASE.md): ten customers all last seen 2024-01-20; A..D have 2, 3, 4, 5
orders of 10; E..J (60%) share the highest frequency (7) and spend (70). E..J hold the best frequency and spend, so
they score F = n and M = n and are Champions; A holds the worst and scores F = 1, M = 1. Recency is one value for
everyone, so everyone scores n on it.

Case 02, rules at other bin counts: B1, B2 bought three times for 100-120 in June 2024; W1, W2 once for 5-6 in
January (analysis date 2024-06-26). At every bin count 2..10, B1/B2 are Champions and W1/W2 are Lost or
Hibernating.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pandas as pd
import pytest

from rfm_core import AnalysisSettings, ScoringSettings, analyze
from rfm_core.cli import main
from tests.conftest import ROOT

CASES = ROOT / "tests" / "cases"
CASE_01 = CASES / "01-ties-at-the-top" / "input.csv"
CASE_02 = CASES / "02-rules-at-other-bin-counts" / "input.csv"


def _cli(tmp_path: Path, *args: str) -> tuple[pd.DataFrame, str]:
    out = tmp_path / "seg.csv"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["segment", *args, "--out", str(out)]) == 0
    return pd.read_csv(out, dtype={"customer_id": str}).set_index("customer_id"), err.getvalue()


def test_case_01_as_run_in_the_case(tmp_path: Path) -> None:
    seg, err = _cli(tmp_path, str(CASE_01))
    top = seg.loc[list("EFGHIJ")]
    assert (top["f_score"] == 5).all() and (top["m_score"] == 5).all()
    assert (top["segment"] == "Champions").all()
    assert seg.loc["A", "f_score"] == 1 and seg.loc["A", "m_score"] == 1
    assert "frequency (orders): 5 bins by distinct values (auto): 2 | 3 | 4 | 5 | 7 with 1 | 1 | 1 | 1 | 6" in err


@pytest.mark.parametrize("method", ["auto", "quantile", "distinct", "rank"])
@pytest.mark.parametrize("bins", range(2, 11))
def test_case_01_at_every_setting(bins: int, method: str) -> None:
    result = analyze(CASE_01, AnalysisSettings(scoring=ScoringSettings.uniform(bins, method)), warn=False)  # type: ignore[arg-type]
    seg = result.segmentation.customers.set_index("customer_id")
    top = seg.loc[list("EFGHIJ")]
    assert (top["r_score"] == bins).all()  # one recency value: nobody is worse, everyone scores n
    assert (top["f_score"] == bins).all() and (top["m_score"] == bins).all()
    assert (top["segment"] == "Champions").all()
    assert seg.loc["A", "f_score"] == 1 and seg.loc["A", "m_score"] == 1


@pytest.mark.parametrize("bins", range(2, 11))
def test_case_02_at_every_bin_count(tmp_path: Path, bins: int) -> None:
    seg, err = _cli(tmp_path, str(CASE_02), "--bins", str(bins))
    assert seg.loc["B1", "segment"] == "Champions" and seg.loc["B2", "segment"] == "Champions"
    assert seg.loc["W1", "segment"] in ("Lost", "Hibernating")
    assert seg.loc["W2", "segment"] in ("Lost", "Hibernating")
    assert seg.loc["W1", "r_score"] == seg.loc["W1", "f_score"] == seg.loc["W1", "m_score"] == 1
    # The rules that these bins make impossible are named where the user works: one warning line each.
    if bins in (2, 3, 4):
        assert "can never be assigned" in err
    else:
        assert "can never be assigned" not in err


def test_case_02_quantile_matches_auto() -> None:
    for bins in range(2, 11):
        a = analyze(CASE_02, AnalysisSettings(scoring=ScoringSettings.uniform(bins)), warn=False)
        q = analyze(CASE_02, AnalysisSettings(scoring=ScoringSettings.uniform(bins, "quantile")), warn=False)
        pd.testing.assert_frame_equal(a.segmentation.customers, q.segmentation.customers)
