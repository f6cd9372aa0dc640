"""CLV models: parameter recovery on simulated data, closed forms against simulation, definitions by hand."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rfm_core import ModelFitError, analyze
from rfm_core.clv import (
    BgNbd,
    GammaGamma,
    clv_table,
    fit_bgnbd,
    fit_gamma_gamma,
    holdout_check,
    model_summary,
    simulate_bgnbd,
)
from tests.conftest import ONLINE_RETAIL, ROOT, SAMPLE, SharedData

TRUE = {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.43}
N, T_OBS = 6000, 39.0


@pytest.fixture(scope="module")
def simulated() -> tuple[pd.DataFrame, np.ndarray]:
    return simulate_bgnbd(N, **TRUE, T=T_OBS, seed=20240, extra=13.0)


def test_bgnbd_recovers_known_parameters(simulated: tuple[pd.DataFrame, np.ndarray]) -> None:
    """Maximum likelihood is asymptotically normal: with 6,000 customers each estimate should lie within a few
    standard errors (from the observed information) of the truth; 4 SE bounds a false alarm at ~6e-5 each."""
    summary, _ = simulated
    model = fit_bgnbd(summary)
    for name, true in TRUE.items():
        est, se = model.params()[name], model.std_errors[name]
        assert np.isfinite(se) and se > 0
        assert abs(est - true) <= 4 * se, (name, est, true, se)
    assert not model.no_dropout


def test_unconditional_expectation_matches_simulation(simulated: tuple[pd.DataFrame, np.ndarray]) -> None:
    summary, _ = simulated
    expected = float(BgNbd(**TRUE).expected_purchases_new(T_OBS))
    mean, se = summary["frequency"].mean(), summary["frequency"].std() / np.sqrt(N)
    assert abs(expected - mean) <= 4 * se, (expected, mean, se)


def test_conditional_expectation_matches_simulation(simulated: tuple[pd.DataFrame, np.ndarray]) -> None:
    """Eq. 10 with the true parameters predicts the purchases each simulated customer then made in 13 more units."""
    summary, later = simulated
    model = BgNbd(**TRUE)
    predicted = model.expected_purchases(13.0, summary["frequency"], summary["recency"], summary["T"])
    assert abs(predicted.mean() - later.mean()) <= 4 * later.std() / np.sqrt(N)
    for lo, hi in ((0, 0), (1, 2), (3, 100)):  # also within groups of customers by frequency
        mask = summary["frequency"].between(lo, hi).to_numpy()
        assert abs(predicted[mask].mean() - later[mask].mean()) <= 4 * later[mask].std() / np.sqrt(mask.sum()) + 1e-9
    p_alive = model.p_alive(summary["frequency"], summary["recency"], summary["T"])
    assert ((p_alive > 0) & (p_alive <= 1)).all()
    assert (p_alive[summary["frequency"].to_numpy() == 0] == 1).all()


def test_gamma_gamma_recovers_known_parameters() -> None:
    rng = np.random.default_rng(7)
    p, q, v, n = 6.25, 3.74, 15.44, 4000
    x = 1 + rng.poisson(3, n)
    nu = rng.gamma(q, 1 / v, n)
    m = np.array([rng.gamma(p, 1 / nu[i], x[i]).mean() for i in range(n)])
    model = fit_gamma_gamma(pd.DataFrame({"frequency": x, "monetary": m}))
    for name, true in (("p", p), ("q", q), ("v", v)):
        assert abs(model.params()[name] - true) <= 4 * model.std_errors[name], (name, model.params())
    # the conditional expectation shrinks a customer's mean towards the population mean p v / (q - 1)
    gg = GammaGamma(p, q, v)
    population = p * v / (q - 1)
    assert gg.expected_spend(np.array([0]), np.array([0.0]))[0] == pytest.approx(population)
    e = gg.expected_spend(np.array([3]), np.array([100.0]))[0]
    w = p * 3 / (p * 3 + q - 1)
    assert e == pytest.approx((1 - w) * population + w * 100.0)


def test_model_summary_by_hand() -> None:
    """Customer A buys on days 0 (two invoices: 10 + 5), 7 (20) and 21 (40); calibration ends day 28.
    Repeat purchase days: 2; recency 21 days = 3 weeks; T 28 days = 4 weeks; monetary (20 + 40) / 2 = 30.
    Customer B buys once on day 14: frequency 0, recency 0, T 2 weeks, monetary 0. C starts after the end."""
    d0 = pd.Timestamp("2024-01-01")
    tx = pd.DataFrame({
        "customer_id": ["A", "A", "A", "A", "B", "C"],
        "invoice_date": [d0, d0 + pd.Timedelta(hours=3), d0 + pd.Timedelta(days=7), d0 + pd.Timedelta(days=21),
                         d0 + pd.Timedelta(days=14), d0 + pd.Timedelta(days=30)],
        "amount": [10.0, 5.0, 20.0, 40.0, 8.0, 1.0],
    })
    s = model_summary(tx, calibration_end=dt.date(2024, 1, 29), unit="W").set_index("customer_id")
    assert list(s.index) == ["A", "B"]
    assert s.loc["A"].tolist() == [2, 3.0, 4.0, 30.0]
    assert s.loc["B"].tolist() == [0, 0.0, 2.0, 0.0]
    days = model_summary(tx, calibration_end=dt.date(2024, 1, 29), unit="D").set_index("customer_id")
    assert days.loc["A", "T"] == 28.0


def test_clv_is_the_discounted_sum_of_monthly_purchases_times_spend() -> None:
    result = clv_table(analyze(SAMPLE, warn=False).cleaned.transactions, unit="W", horizon_months=6,
                       annual_discount_rate=0.12)
    row = result.table.iloc[0]
    bg = result.bgnbd
    weeks_per_month = (365.25 / 12) / 7
    cum = [float(bg.expected_purchases(i * weeks_per_month, row["frequency"], row["recency"], row["T"]))
           for i in range(7)]
    by_hand = sum((cum[i] - cum[i - 1]) / 1.12 ** (i / 12) for i in range(1, 7)) * row["expected_spend"]
    assert row["clv_6m"] == pytest.approx(by_hand, rel=1e-9)
    assert row["predicted_purchases_6m"] == pytest.approx(cum[6], rel=1e-9)
    assert (result.table["clv_6m"] >= 0).all()
    assert set(result.params_json()) == {"bgnbd", "gamma_gamma", "time_unit"}


def test_no_dropout_limit_is_explained_not_reported_as_churn() -> None:
    model = BgNbd(0.7, 9.0, 1e-4, 500.0)
    assert model.no_dropout
    got = model.expected_purchases(4.0, np.array([2.0]), np.array([10.0]), np.array([20.0]))
    assert got[0] == pytest.approx((0.7 + 2) / (9 + 20) * 4)


def test_unsupported_data_gets_an_explanation() -> None:
    few = pd.DataFrame({"frequency": [0, 1, 2] * 5, "recency": [0, 1, 2] * 5, "T": [5] * 15,
                        "monetary": [0, 10, 20] * 5})
    with pytest.raises(ModelFitError, match="at least 30"):
        fit_bgnbd(few)
    with pytest.raises(ModelFitError, match="too few"):
        fit_gamma_gamma(few)
    x = np.arange(1, 101)
    correlated = pd.DataFrame({"frequency": x, "monetary": 10.0 * x})
    with pytest.raises(ModelFitError, match="correlated"):
        fit_gamma_gamma(correlated)
    tx = analyze(SAMPLE, warn=False).cleaned.transactions
    with pytest.raises(ModelFitError, match="No purchases after"):
        holdout_check(tx, dt.date(2012, 1, 1))


def test_holdout_check_on_the_sample_is_consistent() -> None:
    tx = analyze(SAMPLE, warn=False).cleaned.transactions
    check = holdout_check(tx, dt.date(2011, 9, 9))
    by = check.by_frequency
    assert by["customers"].sum() == check.customers
    assert (by["actual"] * by["customers"]).sum() == pytest.approx(check.total_actual)
    assert (by["predicted"] * by["customers"]).sum() == pytest.approx(check.total_predicted)
    assert by["frequency"].iloc[-1].endswith("+") or len(by) <= 7


def test_cli_clv_writes_params_json(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "rfm_core", "clv", str(SAMPLE), "--time-unit", "W",
                           "--horizon-months", "6", "--out", str(tmp_path / "clv.csv"), "--params-out",
                           str(tmp_path / "p.json"), "--calibration-end", "2011-09-09"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    params = json.loads((tmp_path / "p.json").read_text())
    assert set(params["bgnbd"]) == {"r", "alpha", "a", "b"} and set(params["gamma_gamma"]) == {"p", "q", "v"}
    table = pd.read_csv(tmp_path / "clv.csv")
    assert {"p_alive", "predicted_purchases_6m", "clv_6m", "segment"} <= set(table.columns)
    assert "holdout" in proc.stderr


@pytest.mark.realdata
def test_holdout_on_online_retail(shared_data: SharedData) -> None:
    tx = analyze(shared_data.require(ONLINE_RETAIL), warn=False).cleaned.transactions
    check = holdout_check(tx, dt.date(2011, 9, 9), "W")
    assert check.customers == (model_summary(tx, dt.date(2011, 9, 9))["frequency"] >= 0).sum()
    assert check.total_actual > 0 and check.total_predicted > 0
    assert (check.by_frequency["customers"]).sum() == check.customers
