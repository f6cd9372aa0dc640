"""Purchase models and CLV: recovery on simulated data, closed forms against simulation and against numerical
integration (tests/engine/clv_reference.py), definitions by hand, and the refusals."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from rfm_core import ModelFitError, analyze
from rfm_core.clv import (
    MODEL_NAMES,
    BgNbd,
    GammaGamma,
    MbgNbd,
    ParetoNbd,
    PurchaseModel,
    clv_table,
    compare_models,
    default_calibration_end,
    fit_bgnbd,
    fit_gamma_gamma,
    fit_model,
    holdout_check,
    model_summary,
    simulate,
)
from rfm_core.clv.models import MODELS as MODELS_BY_NAME
from tests.conftest import SAMPLE
from tests.engine import clv_reference as ref

# Parameters in weeks of the size published for CDNOW (BG/NBD, Pareto/NBD) and BTYDplus's MBG/NBD on CDNOW.
TRUE: dict[str, PurchaseModel] = {
    "bgnbd": BgNbd(0.24, 4.4, 0.79, 2.43),
    "mbgnbd": MbgNbd(0.525, 6.18, 0.89, 1.61),
    "pareto_nbd": ParetoNbd(0.553, 10.58, 0.606, 11.67),
}
N, EXTRA = 6000, 13.0


@pytest.fixture(scope="module", params=MODEL_NAMES)
def simulated(request: pytest.FixtureRequest) -> tuple[PurchaseModel, pd.DataFrame]:
    """6,000 customers per model, first purchases spread over half a year (T from 26 to 52 weeks)."""
    model = TRUE[request.param]
    T = np.random.default_rng(11).uniform(26, 52, N).round(1)
    return model, simulate(model, N, T, seed=20240, extra=EXTRA)


def test_fit_recovers_known_parameters(simulated: tuple[PurchaseModel, pd.DataFrame]) -> None:
    """Maximum likelihood is asymptotically normal: with 6,000 customers each estimate should lie within a few
    standard errors (from the observed information) of the truth; 4 SE bounds a false alarm at ~6e-5 each."""
    truth, data = simulated
    model = fit_model(truth.name, data)
    assert type(model) is type(truth)
    for name, true in truth.params().items():
        est, se = model.params()[name], model.std_errors[name]
        assert np.isfinite(se) and se > 0
        assert abs(est - true) <= 4 * se, (truth.label, name, est, true, se)
    assert not model.no_dropout and model.dropout_lr > 100


def test_expected_purchases_of_a_new_customer_match_simulation(simulated: tuple[PurchaseModel, pd.DataFrame]
                                                               ) -> None:
    truth, data = simulated
    expected = truth.expected_purchases_new(data["T"].to_numpy())
    mean, se = data["x"].mean(), data["x"].std() / np.sqrt(N)
    assert abs(expected.mean() - mean) <= 4 * se, (truth.label, expected.mean(), mean, se)


def test_conditional_expectation_and_p_alive_match_simulation(simulated: tuple[PurchaseModel, pd.DataFrame]
                                                              ) -> None:
    """With the true parameters, the purchases predicted for the next 13 weeks match what the simulated customers
    then did, overall and by frequency; P(alive) summed over customers matches the number still active (a sum of
    independent Bernoulli(P(alive)) draws, so its SD is sqrt(sum p (1 - p)))."""
    truth, data = simulated
    x, tx, T = data["x"], data["t_x"], data["T"]
    predicted = truth.expected_purchases(EXTRA, x, tx, T)
    later = data["later"].to_numpy()
    alive = truth.p_alive(x, tx, T)
    assert ((alive > 0) & (alive <= 1)).all()
    for lo, hi in ((0, 100), (0, 0), (1, 2), (3, 100)):
        mask = x.between(lo, hi).to_numpy()
        assert abs(predicted[mask].mean() - later[mask].mean()) <= 4 * later[mask].std() / np.sqrt(mask.sum()) + 1e-9
        p = alive[mask]
        assert abs(p.sum() - data["alive"].to_numpy()[mask].sum()) <= 4 * np.sqrt((p * (1 - p)).sum()) + 1e-9, (
            truth.label, lo, hi)
    if truth.name == "bgnbd":
        assert (alive[x.to_numpy() == 0] == 1).all()
        assert truth.p_alive_by_construction(x)[x.to_numpy() == 0].all()
    else:
        assert (alive[x.to_numpy() == 0] < 1).all() and not truth.p_alive_by_construction(x).any()


def test_days_to_next_purchase_is_the_median_wait_of_active_customers(simulated: tuple[PurchaseModel, pd.DataFrame]
                                                                      ) -> None:
    """The wait W from T to the next purchase of an active customer is claimed to be Lomax:
    P(W <= w) = 1 - ((alpha+T)/(alpha+T+w))^(r+x). For the simulated customers who are active at T (with a repeat
    purchase), that CDF at their actual wait must be Uniform(0, 1) (Kolmogorov-Smirnov); the reported days are
    the point where that CDF is 1/2."""
    truth, data = simulated
    x, T = data["x"].to_numpy(), data["T"].to_numpy()
    days = truth.days_to_next_purchase(x, T)
    assert np.isnan(days[x == 0]).all()

    def cdf(w: np.ndarray) -> np.ndarray:
        return 1 - ((truth.alpha + T) / (truth.alpha + T + w)) ** (truth.r + x)

    mask = data["alive"].to_numpy() & (x > 0)
    assert stats.kstest(cdf(data["next_gap"].to_numpy())[mask], "uniform").pvalue > 1e-3
    assert cdf(days / 7)[x > 0] == pytest.approx(np.full((x > 0).sum(), 0.5), rel=1e-9)


# ------------------------------------------------------------------------ closed forms vs numerical integration

CUSTOMERS = [(0, 0.0, 39.0), (1, 2.0, 39.0), (2, 30.43, 38.86), (7, 30.0, 53.0), (40, 50.0, 53.0), (3, 0.5, 60.0),
             (5, 38.9, 39.0), (99, 0.0, 0.5)]
MODELS = [BgNbd(0.243, 4.414, 0.793, 2.426), BgNbd(1.7, 12.0, 2.5, 0.8), BgNbd(0.5, 5.0, 1.0, 2.0),
          BgNbd(1.0, 1.0, 2.0, 1.0), MbgNbd(0.525, 6.183, 0.891, 1.614), MbgNbd(2.56, 2.7, 1.0, 64.6),
          MbgNbd(0.9, 3.0, 0.4, 5.0), ParetoNbd(0.553, 10.58, 0.606, 11.67), ParetoNbd(0.8, 9.9, 0.05, 3000.0),
          ParetoNbd(2.0, 1.0, 3.0, 50.0), ParetoNbd(0.3, 200.0, 0.7, 2.0), ParetoNbd(1.0, 10.0, 1.0, 10.0)]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: f"{m.label}{tuple(m.params().values())}")
def test_closed_forms_match_numerical_integration(model: PurchaseModel) -> None:
    """Likelihood, P(alive) and the expected purchases in the next 39 units, per customer, against the individual
    story integrated over the rates numerically. Covers both Pareto/NBD branches (alpha >= beta and alpha < beta),
    its series for beta >> T, a = 1 and s = 1 exactly (0/0 in the textbook forms), and a frequent buyer (x = 40)."""
    for x, tx, T in CUSTOMERS:
        ll = model.loglik(np.array(list(model.params().values())), np.array([x]), np.array([tx]), np.array([T]))[0]
        assert ll == pytest.approx(ref.log_likelihood(model, x, tx, T), rel=1e-8, abs=1e-8), (x, tx, T)
        assert model.p_alive(x, tx, T) == pytest.approx(ref.p_alive(model, x, tx, T), rel=1e-7), (x, tx, T)
        got = model.expected_purchases(39.0, x, tx, T)
        assert got == pytest.approx(ref.expected_purchases(model, 39.0, x, tx, T), rel=1e-6), (x, tx, T)


@pytest.mark.parametrize(("b", "c", "z"), [(1.0, 101.0, 0.95), (1.0, 101.0, 0.903), (2.0, 150.0, 0.99),
                                            (152.2447035229391, 159.45177491444903, 0.9999), (1.5, 80.5, 0.97)])
def test_hyp2f1_where_scipy_fails(b: float, c: float, z: float) -> None:
    """scipy 1.17 returns inf, NaN or a value off by 1e-6 for these 2F1(1, b; c; z) (c - 1 - b an integer, or b
    large with z near 1); the models' 2F1 must not. Reference: Euler's integral (c-1) * integral over [0, 1] of
    (1-t)^(c-2) (1-zt)^(-b) dt, by numerical integration."""
    from scipy import integrate

    from rfm_core.clv.models import _hyp2f1

    def integrand(t: float) -> float:  # in logs: (1 - z t)^-b alone overflows
        return math.exp((c - 2) * math.log1p(-t) - b * math.log1p(-z * t)) if t < 1 else 0.0

    expected = (c - 1) * integrate.quad(integrand, 0, 1, epsabs=0, epsrel=1e-12, limit=500, points=[0.9, 0.99,
                                                                                                      0.999])[0]
    assert float(_hyp2f1(1.0, b, c, z)) == pytest.approx(expected, rel=1e-9)


def test_published_conditional_expectation() -> None:
    """Fader, Hardie & Lee's BG/NBD spreadsheet note ("Implementing the BG/NBD model in Excel", 2005): with
    r 0.243, alpha 4.414, a 0.793, b 2.426, a customer with x = 2, t_x = 30.43, T = 38.86 is expected to make
    1.226 purchases in the next 39 weeks."""
    assert float(BgNbd(0.243, 4.414, 0.793, 2.426).expected_purchases(39, 2, 30.43, 38.86)) == pytest.approx(
        1.226, abs=5e-4)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(MODEL_NAMES), r=st.floats(0.05, 5), alpha=st.floats(0.1, 100), c=st.floats(0.05, 5),
       d=st.floats(0.05, 500), x=st.integers(0, 200), frac=st.floats(0, 1), T=st.floats(0.5, 400),
       t1=st.floats(0.1, 100), t2=st.floats(0.1, 100))
def test_model_properties(name: str, r: float, alpha: float, c: float, d: float, x: int, frac: float, T: float,
                          t1: float, t2: float) -> None:
    """Over the parameter space a fit can reach: 0 <= P(alive) <= 1, expected purchases finite, non-negative and
    non-decreasing in the horizon, and at most what an always-active customer would buy, (r+x)/(alpha+T) t."""
    model = MODELS_BY_NAME[name](r, alpha, c, d)
    tx = frac * T if x > 0 else 0.0
    p = float(model.p_alive(x, tx, T))
    assert 0 <= p <= 1
    lo, hi = sorted((t1, t2))
    e_lo, e_hi = float(model.expected_purchases(lo, x, tx, T)), float(model.expected_purchases(hi, x, tx, T))
    assert np.isfinite(e_lo) and np.isfinite(e_hi)
    assert -1e-9 <= e_lo <= e_hi * (1 + 1e-9) + 1e-12
    assert e_hi <= (r + x) / (alpha + T) * hi * (1 + 1e-6) + 1e-9


# ---------------------------------------------------------------------------------------------- definitions

def test_model_summary_by_hand() -> None:
    """Customer A buys on days 0 (two invoices: 10 + 5), 7 (20), 14 (a free sample, 0.00) and 21 (40);
    calibration ends day 28. Repeat purchase days: 3 (the zero-value day is a purchase occasion); t_x 21 days =
    3 weeks; T 28 days = 4 weeks; mean repeat spend (20 + 0 + 40) / 3 = 20. Customer B buys once on day 14:
    x 0, t_x 0, T 2 weeks, spend 0. C starts after the end."""
    d0 = pd.Timestamp("2024-01-01")
    tx = pd.DataFrame({
        "customer_id": ["A", "A", "A", "A", "A", "B", "C"],
        "invoice_date": [d0, d0 + pd.Timedelta(hours=3), d0 + pd.Timedelta(days=7), d0 + pd.Timedelta(days=14),
                         d0 + pd.Timedelta(days=21), d0 + pd.Timedelta(days=14), d0 + pd.Timedelta(days=30)],
        "amount": [10.0, 5.0, 20.0, 0.0, 40.0, 8.0, 1.0],
    })
    s = model_summary(tx, calibration_end=dt.date(2024, 1, 29), unit="W").set_index("customer_id")
    assert list(s.index) == ["A", "B"]
    assert s.loc["A"].tolist() == [3, 3.0, 4.0, 20.0]
    assert s.loc["B"].tolist() == [0, 0.0, 2.0, 0.0]
    days = model_summary(tx, calibration_end=dt.date(2024, 1, 29), unit="D").set_index("customer_id")
    assert days.loc["A", "T"] == 28.0


def test_zero_value_purchases_are_kept_by_cleaning() -> None:
    """A $0.00 line is a purchase occasion, not a return (the CDNOW sample has eight)."""
    csv = (b"customer,date,value\nA,2024-01-01,10\nA,2024-01-05,0.00\nA,2024-01-09,-3\n")
    from rfm_core.settings import AnalysisSettings

    result = analyze(csv, AnalysisSettings(mapping=(("amount", "value"), ("customer_id", "customer"),
                                                    ("invoice_date", "date"))), name="z.csv", warn=False)
    ledger = dict(zip(result.cleaned.ledger["reason"], result.cleaned.ledger["rows"], strict=True))
    assert ledger["used"] == 2 and ledger["return (quantity or amount negative)"] == 1
    assert model_summary(result.cleaned.transactions)["x"].tolist() == [1]


def test_clv_is_the_discounted_sum_of_monthly_purchases_times_spend() -> None:
    """For one customer, recompute CLV from the fitted parameters alone: cumulative expected purchases by month by
    numerical integration (clv_reference), expected spend from Gamma-Gamma's eq. 5 written out, discounted at
    (1.12)^(i/12)."""
    result = clv_table(analyze(SAMPLE, warn=False).cleaned.transactions, unit="W", horizon_months=6,
                       annual_discount_rate=0.12, model="bgnbd")
    table = result.table
    row = table[table["x"] == 3].iloc[0]
    weeks_per_month = (365.25 / 12) / 7
    cum = [ref.expected_purchases(result.model, i * weeks_per_month, int(row["x"]), row["t_x"], row["T"]) if i else 0
           for i in range(7)]
    gg = result.gamma_gamma
    assert gg is not None
    spend = ((gg.q - 1) / (gg.p * 3 + gg.q - 1) * gg.p * gg.v / (gg.q - 1)
             + gg.p * 3 / (gg.p * 3 + gg.q - 1) * row["mean_repeat_spend"])
    by_hand = sum((cum[i] - cum[i - 1]) / 1.12 ** (i / 12) for i in range(1, 7)) * spend
    assert row["clv_6m"] == pytest.approx(by_hand, rel=1e-6)
    assert row["predicted_purchases_6m"] == pytest.approx(cum[6], rel=1e-6)
    assert (table["clv_6m"] >= 0).all()
    assert set(result.params_json()) == {"model", "customers", "time_unit", "calibration_end", "bgnbd",
                                         "gamma_gamma", "log_likelihood"}


def test_gamma_gamma_recovers_known_parameters() -> None:
    rng = np.random.default_rng(7)
    p, q, v, n = 6.25, 3.74, 15.44, 4000
    x = 1 + rng.poisson(3, n)
    nu = rng.gamma(q, 1 / v, n)
    m = np.array([rng.gamma(p, 1 / nu[i], x[i]).mean() for i in range(n)])
    model = fit_gamma_gamma(pd.DataFrame({"x": x, "mean_repeat_spend": m}))
    for name, true in (("p", p), ("q", q), ("v", v)):
        assert abs(model.params()[name] - true) <= 4 * model.std_errors[name], (name, model.params())
    # the conditional expectation shrinks a customer's mean towards the population mean p v / (q - 1)
    gg = GammaGamma(p, q, v)
    population = p * v / (q - 1)
    assert gg.expected_spend(np.array([0]), np.array([0.0]))[0] == pytest.approx(population)
    w = p * 3 / (p * 3 + q - 1)
    assert gg.expected_spend(np.array([3]), np.array([100.0]))[0] == pytest.approx((1 - w) * population + w * 100.0)


def test_no_dropout_is_explained_not_reported_as_churn() -> None:
    """At the NBD limit (a -> 0) the expectation is (r + x)/(alpha + T) t; a fit whose likelihood beats the NBD's
    by less than 2.71/2 is no measurable dropout either, one that beats it by more is not."""
    model = BgNbd(0.7, 9.0, 1e-5, 500.0)
    assert model.no_dropout and model.at_nbd_limit
    assert model.expected_purchases(4.0, 2.0, 10.0, 20.0) == pytest.approx((0.7 + 2) / (9 + 20) * 4)
    assert BgNbd(0.7, 9.0, 0.5, 5.0, log_likelihood=-100.0, nbd_log_likelihood=-101.2).no_dropout
    assert not BgNbd(0.7, 9.0, 0.5, 5.0, log_likelihood=-100.0, nbd_log_likelihood=-101.5).no_dropout
    assert not BgNbd(0.7, 9.0, 0.5, 5.0).no_dropout  # likelihoods unknown: only the parameters decide


def test_unsupported_data_gets_an_explanation() -> None:
    few = pd.DataFrame({"x": [0, 1, 2] * 5, "t_x": [0, 1, 2] * 5, "T": [5] * 15, "mean_repeat_spend": [0, 10, 20] * 5})
    for name in MODEL_NAMES:
        with pytest.raises(ModelFitError, match="at least 30"):
            fit_model(name, few)
    with pytest.raises(ModelFitError, match="too few"):
        fit_gamma_gamma(few)
    x = np.arange(1, 101)
    with pytest.raises(ModelFitError, match="correlated"):
        fit_gamma_gamma(pd.DataFrame({"x": x, "mean_repeat_spend": 10.0 * x}))
    tx = analyze(SAMPLE, warn=False).cleaned.transactions
    with pytest.raises(ModelFitError, match="No purchases after"):
        holdout_check(tx, dt.date(2012, 1, 1))
    with pytest.raises(ModelFitError, match="Unknown model"):
        clv_table(tx, model="weibull")  # type: ignore[arg-type]
    with pytest.raises(ModelFitError, match="too short"):
        default_calibration_end(dt.date(2024, 1, 1), dt.date(2024, 1, 30))


def test_default_holdout_is_the_last_quarter() -> None:
    """545 days of history: a quarter is 136 days; 30 days: too short (28 + 7 needed); 40 days: 10 held out."""
    assert default_calibration_end(dt.date(1997, 1, 1), dt.date(1998, 6, 30)) == dt.date(1998, 2, 14)
    assert default_calibration_end(dt.date(2024, 1, 1), dt.date(2024, 2, 10)) == dt.date(2024, 1, 31)
    assert default_calibration_end(dt.date(2020, 1, 1), dt.date(2024, 1, 1)) == dt.date(2023, 7, 3)


# ----------------------------------------------------------------------------------- holdout and model choice

def test_holdout_counts_and_model_choice_on_the_sample() -> None:
    """Actual holdout purchase days recounted with plain pandas; predictions of a few customers recomputed by
    numerical integration; the best model is the one with the lowest mean absolute error per customer."""
    tx = analyze(SAMPLE, warn=False).cleaned.transactions
    end = dt.date(2011, 9, 9)
    cmp = compare_models(tx, end)
    assert set(cmp.checks) | set(cmp.errors) == set(MODEL_NAMES)
    days = tx.assign(day=tx["invoice_date"].dt.normalize(), cid=tx["customer_id"].astype(str))[["cid", "day"]]
    days = days.drop_duplicates()
    cal = days[days["day"] <= pd.Timestamp(end)]
    freq = cal.groupby("cid").size() - 1
    after = days[(days["day"] > pd.Timestamp(end)) & days["cid"].isin(freq.index)].groupby("cid").size()
    actual = after.reindex(freq.index, fill_value=0)
    by = cmp.by_frequency
    assert by["customers"].sum() == len(freq)
    for label, group in actual.groupby(np.minimum(freq, 7)):
        row = by[by["frequency"].str.rstrip("+") == str(label)].iloc[0]
        assert row["customers"] == len(group) and row["actual"] == pytest.approx(group.mean())
    # each model's error recomputed outside the holdout code: |predicted - actual| per customer, with the actual
    # purchase days recounted above and x recounted above (the model's prediction is checked against numerical
    # integration below)
    summary = model_summary(tx, end)
    summary = summary.set_index(summary["customer_id"].astype(str)).loc[freq.index]
    horizon = (cmp.checks[next(iter(cmp.checks))].holdout_end - end).days / 7
    maes = {}
    for name, check in cmp.checks.items():
        pred = np.asarray(check.model.expected_purchases(horizon, freq.to_numpy(), summary["t_x"].to_numpy(),
                                                         summary["T"].to_numpy()))
        maes[name] = float(np.mean(np.abs(pred - actual.to_numpy())))
        assert check.mae == pytest.approx(maes[name], rel=1e-9)
    assert cmp.best == min(maes, key=lambda n: maes[n])
    assert cmp.table.loc[cmp.table["best"], "model"].tolist() == [cmp.best]
    for name, check in cmp.checks.items():
        assert check.total_actual == actual.sum()
        assert (by[f"predicted_{name}"] * by["customers"]).sum() == pytest.approx(check.total_predicted)
        summary = model_summary(tx, end).set_index("customer_id")
        horizon = (check.holdout_end - end).days / 7
        for cid in summary.index[:3]:
            s = summary.loc[cid]
            got = float(check.model.expected_purchases(horizon, s["x"], s["t_x"], s["T"]))
            assert got == pytest.approx(ref.expected_purchases(check.model, horizon, int(s["x"]), s["t_x"], s["T"]),
                                        rel=1e-6)


def test_auto_uses_the_best_model_and_flags_values_by_construction() -> None:
    tx = analyze(SAMPLE, warn=False).cleaned.transactions
    auto = clv_table(tx, calibration_end=dt.date(2011, 9, 9))
    assert auto.comparison is not None and auto.model.name == auto.comparison.best
    assert "best of" in auto.choice_note and set(auto.models) == set(auto.comparison.checks)
    bg = clv_table(tx, calibration_end=dt.date(2011, 9, 9), model="bgnbd")
    one_day = bg.table["x"] == 0
    assert bg.table.loc[one_day, "p_alive_by_construction"].all()
    assert not bg.table.loc[~one_day, "p_alive_by_construction"].any()
    assert bg.by_construction == int(one_day.sum()) > 0
    assert (bg.table.loc[one_day, "p_alive"] == 1).all()
    if not bg.model.no_dropout:
        lost = bg.expected_revenue_lost_to_churn
        assert lost == pytest.approx(float((bg.table["churn_risk"] * bg.table["revenue_last_12m"]).sum()))
    with_repeat = bg.table["x"] > 0
    assert bg.table.loc[with_repeat, "days_to_next_purchase"].gt(0).all()
    assert bg.table.loc[~with_repeat, "days_to_next_purchase"].isna().all()
    expected_date = pd.Timestamp("2011-09-09") + pd.to_timedelta(
        bg.table.loc[with_repeat, "days_to_next_purchase"].round(), unit="D")
    assert (bg.table.loc[with_repeat, "next_purchase_date"] == expected_date).all()


def test_horizon_longer_than_the_history_gets_a_caveat() -> None:
    """The sample spans 2010-12-01 to 2011-12-09 (373 days): 12 months (365.25 days) fit, 13 do not."""
    tx = analyze(SAMPLE, warn=False).cleaned.transactions
    assert clv_table(tx, horizon_months=12, model="bgnbd").horizon_note is None
    note = clv_table(tx, horizon_months=13, model="bgnbd").horizon_note
    assert note is not None and "longer than the history" in note and "at most 12 months" in note


def test_holdout_check_takes_any_model() -> None:
    tx = analyze(SAMPLE, warn=False).cleaned.transactions
    for name in MODEL_NAMES:
        check = holdout_check(tx, dt.date(2011, 9, 9), model=name)
        assert check.model.name == name and check.customers == check.by_frequency["customers"].sum()
    with pytest.raises(ModelFitError, match="Unknown model"):
        holdout_check(tx, dt.date(2011, 9, 9), model="nope")


def test_fit_bgnbd_on_one_cohort_is_the_classic_fit() -> None:
    """The convenience wrapper returns the BG/NBD type with its four parameters."""
    truth = TRUE["bgnbd"]
    data = simulate(truth, 3000, 39.0, seed=5)
    model = fit_bgnbd(data)
    assert isinstance(model, BgNbd) and set(model.params()) == {"r", "alpha", "a", "b"}
    assert math.isfinite(model.log_likelihood) and model.log_likelihood > model.nbd_log_likelihood
