"""Golden tests: the published CDNOW estimates through the real reading path, and case 16 (one-time buyers).

CDNOW sample (cdnow_sample.csv in the shared data, skipped only when it is absent): 2,357 customers who first
bought in the first quarter of 1997; 39-week calibration period ending 1997-09-30, time in weeks, repeat purchases
counted per day. Published maximum-likelihood estimates:

- BG/NBD r 0.243, alpha 4.414, a 0.793, b 2.426 -- Fader, Hardie & Lee (2005), "'Counting your customers' the easy
  way: an alternative to the Pareto/NBD model", Marketing Science 24(2), 275-284.
- Gamma-Gamma p 6.25, q 3.74, v 15.44 -- Fader & Hardie (2013), "The Gamma-Gamma model of monetary value"
  (www.brucehardie.com/notes/025/), fitted on the 946 customers with a repeat purchase, x = repeat purchase days
  and m_x = the mean value of those days (the first purchase left out).
- Pareto/NBD r 0.553, alpha 10.58, s 0.606, beta 11.67 -- Fader, Hardie & Lee (2005), "A note on implementing the
  Pareto/NBD model in MATLAB" (www.brucehardie.com/notes/008/); model of Schmittlein, Morrison & Colombo (1987),
  "Counting your customers: who are they and what will they do next?", Management Science 33(1), 1-24.
- MBG/NBD (Batislam, Denizel & Filiztekin 2007) has no published CDNOW table; r 0.525, alpha 6.183, a 0.891,
  b 1.614 are the estimates of an independent implementation, BTYDplus (M. Platzer), as quoted in the test suite
  of the lifetimes package -- a second method, not a paper.

The expected values are those figures; nothing is fitted to them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ONLINE_RETAIL, ROOT, SharedData

CDNOW = "cdnow_sample.csv"
CASE16 = ROOT / "tests" / "cases" / "16-one-time-buyers-in-clv" / "input.csv"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rfm_core", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory: pytest.TempPathFactory, shared_data: SharedData
          ) -> tuple[dict[str, object], pd.DataFrame, str]:
    """The published setting through the CLI: every line kept (the file has no order id, so identical lines on one
    day are separate purchases), calibration to 1997-09-30, weeks."""
    path = shared_data.require(CDNOW)
    out = tmp_path_factory.mktemp("cdnow")
    proc = _cli("clv", str(path), "--map", "amount=dollar_value", "--keep-duplicates", "--calibration-end",
                "1997-09-30", "--time-unit", "W", "--out", str(out / "clv.csv"), "--params-out",
                str(out / "params.json"))
    assert proc.returncode == 0, proc.stderr
    return (json.loads((out / "params.json").read_text()), pd.read_csv(out / "clv.csv", dtype={"customer_id": str}),
            proc.stderr)


def _close(got: dict[str, float], published: dict[str, float], rel: float) -> None:
    for name, value in published.items():
        assert got[name] == pytest.approx(value, rel=rel), (name, got[name], value)


def test_cdnow_customers_and_bgnbd(cdnow: tuple[dict[str, object], pd.DataFrame, str]) -> None:
    params, table, _ = cdnow
    assert params["customers"] == 2357 and len(table) == 2357 and table["customer_id"].nunique() == 2357
    _close(params["bgnbd"], {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, 0.002)  # type: ignore[arg-type]


def test_cdnow_gamma_gamma(cdnow: tuple[dict[str, object], pd.DataFrame, str]) -> None:
    params, table, _ = cdnow
    _close(params["gamma_gamma"], {"p": 6.25, "q": 3.74, "v": 15.44}, 0.002)  # type: ignore[arg-type]
    assert int((table["x"] > 0).sum()) == 946


def test_cdnow_pareto_nbd(cdnow: tuple[dict[str, object], pd.DataFrame, str]) -> None:
    params, _, _ = cdnow
    _close(params["pareto_nbd"], {"r": 0.553, "alpha": 10.58, "s": 0.606, "beta": 11.67}, 0.005)  # type: ignore[arg-type]


def test_cdnow_mbgnbd_matches_btydplus(cdnow: tuple[dict[str, object], pd.DataFrame, str]) -> None:
    params, _, _ = cdnow
    _close(params["mbgnbd"], {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}, 0.005)  # type: ignore[arg-type]


def test_cdnow_params_json_and_summary(cdnow: tuple[dict[str, object], pd.DataFrame, str]) -> None:
    """The JSON has the issue's keys plus the time unit and calibration end the parameters are in; the chosen model
    is one of them; the summary line counts the values that hold by construction (0 unless BG/NBD is chosen) and
    warns that 12 months exceed the 39 weeks fitted."""
    params, table, stderr = cdnow
    assert set(params) == {"model", "customers", "time_unit", "calibration_end", "bgnbd", "mbgnbd", "pareto_nbd",
                           "gamma_gamma", "log_likelihood"}
    assert (params["time_unit"], params["calibration_end"]) == ("W", "1997-09-30")  # the CLI call's --time-unit
    assert params["model"] in ("bgnbd", "mbgnbd", "pareto_nbd")
    assert set(params["log_likelihood"]) == {"bgnbd", "mbgnbd", "pareto_nbd", "gamma_gamma"}  # type: ignore[arg-type]
    flagged = int(table["p_alive_by_construction"].sum())
    assert f"P(alive) = 1 by construction for {flagged:,} customers" in stderr
    assert flagged == (int((table["x"] == 0).sum()) if params["model"] == "bgnbd" else 0)
    assert any(line.startswith("warning: The 12-month horizon is longer") for line in stderr.splitlines())


def test_cdnow_with_default_cleaning_says_why_spend_differs(shared_data: SharedData) -> None:
    """By default exact duplicate lines are dropped; without an order id the CLI says so and how to keep them."""
    path = shared_data.require(CDNOW)
    proc = _cli("clv", str(path), "--map", "amount=dollar_value", "--calibration-end", "1997-09-30",
                "--model", "bgnbd")
    assert proc.returncode == 0, proc.stderr
    assert "warning: 21 exact duplicate lines were dropped" in proc.stderr and "--keep-duplicates" in proc.stderr
    assert "2,357 customers" in proc.stderr  # zero-value purchases no longer lose 8 customers


# ------------------------------------------------------------------------------ case 16: one-time buyers

def _case16(tmp_path: Path, model: str) -> tuple[pd.DataFrame, str]:
    out = tmp_path / f"clv-{model}.csv"
    proc = _cli("clv", str(CASE16), "--model", model, "--out", str(out), "--params-out", str(tmp_path / "p.json"))
    assert proc.returncode == 0, proc.stderr
    return pd.read_csv(out).set_index("customer_id"), proc.stderr


@pytest.mark.parametrize("model", ["mbgnbd", "pareto"])
def test_case16_long_gone_one_time_buyer_is_probably_gone(tmp_path: Path, model: str) -> None:
    """CASE.md: ONE-OLD bought once, two years before the end of the data. A model in which customers can leave
    after their first purchase gives ONE-OLD a P(alive) well below 1 (below 0.5); REP-OLD (weekly for six weeks,
    then nothing) is near 0 too; nothing is flagged as holding by construction."""
    table, stderr = _case16(tmp_path, model)
    assert table.loc["ONE-OLD", "p_alive"] < 0.5
    assert table.loc["REP-OLD", "p_alive"] < 0.05
    assert not table["p_alive_by_construction"].any()
    assert "P(alive) = 1 by construction for 0 customers" in stderr


def test_case16_bgnbd_export_flags_values_that_hold_by_construction(tmp_path: Path) -> None:
    """Under BG/NBD ONE-OLD's P(alive) is 1 by construction: the export says so for every customer with one
    purchase day, and the CLI summary counts them (counted here from the input file itself)."""
    table, stderr = _case16(tmp_path, "bgnbd")
    raw = pd.read_csv(CASE16, parse_dates=["InvoiceDate"])
    days = raw.assign(day=raw["InvoiceDate"].dt.normalize()).groupby("CustomerID")["day"].nunique()
    one_day = set(days[days == 1].index)
    assert "ONE-OLD" in one_day
    assert table.loc["ONE-OLD", "p_alive"] == 1 and bool(table.loc["ONE-OLD", "p_alive_by_construction"])
    assert set(table.index[table["p_alive_by_construction"]]) == one_day
    assert f"P(alive) = 1 by construction for {len(one_day):,} customers" in stderr
    assert table.loc["ONE-OLD", "segment"] == "Lost"
    assert table.loc["REP-OLD", "p_alive"] < 0.05


def test_short_export_gets_a_horizon_warning(tmp_path: Path) -> None:
    """Issue 11: a 46-day export predicted twelve months with no caveat. The last 46 days of the bundled sample
    (calendar days, first to last purchase day) now get a `warning:` line saying the horizon is longer than that."""
    from tests.conftest import SAMPLE

    raw = pd.read_csv(SAMPLE)
    when = pd.to_datetime(raw["InvoiceDate"])
    last = when.max().normalize()
    short = raw[when >= last - pd.Timedelta(days=45)]
    src = tmp_path / "short.csv"
    short.to_csv(src, index=False)
    buys = short[short["CustomerID"].notna() & (short["Quantity"] > 0) & (short["UnitPrice"] > 0)
                 & ~short["InvoiceNo"].astype(str).str.startswith("C")]
    days = pd.to_datetime(buys["InvoiceDate"]).dt.normalize()
    span = (days.max() - days.min()).days  # first to last purchase day
    proc = _cli("clv", str(src), "--model", "bgnbd")
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning: The 12-month horizon")]
    assert len(warnings) == 1 and f"({span} days," in warnings[0] and "at most 1 month," in warnings[0]


@pytest.mark.realdata
@pytest.mark.slow
def test_online_retail_has_no_measurable_dropout(shared_data: SharedData) -> None:
    """DOCUMENTATION §14: on the real Online Retail every model fits, none beats the no-dropout NBD by the 5% point
    of the likelihood-ratio test, so churn is reported as not estimable (not "0 customers likely gone"), while
    purchases and CLV are still predicted; the holdout table adds up to the customers checked."""
    from rfm_core import analyze
    from rfm_core.clv import MODEL_NAMES, clv_table

    tx = analyze(shared_data.require(ONLINE_RETAIL), warn=False).cleaned.transactions
    result = clv_table(tx)
    cmp = result.comparison
    assert cmp is not None and set(cmp.checks) == set(MODEL_NAMES)
    assert all(check.model.dropout_lr < 2.71 for check in cmp.checks.values())
    assert cmp.by_frequency["customers"].sum() == next(iter(cmp.checks.values())).customers
    assert result.likely_gone is None and result.expected_revenue_lost_to_churn is None
    assert result.churn_note is not None and result.table["p_alive"].isna().all()
    assert (result.table["predicted_purchases_12m"] > 0).all() and result.table["clv_12m"].sum() > 0
