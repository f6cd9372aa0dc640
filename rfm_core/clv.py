"""Customer lifetime value: BG/NBD for purchase counts and P(alive), Gamma-Gamma for spend, discounted CLV.

Definitions (the *model* summary, not RFM's; see DOCUMENTATION.md §14). Per customer, purchases are grouped by
calendar day; with time measured in units of ``D`` days, ``W`` weeks or ``M`` months (365.25/12 days):

- ``frequency``: number of repeat purchase days (distinct purchase days minus one);
- ``recency``: age at the last purchase day (last minus first purchase day);
- ``T``: age at the end of the calibration period (its end minus the first purchase day);
- ``monetary``: mean revenue of the repeat purchase days (0 when there are none).

BG/NBD: Fader, Hardie & Lee (2005), "Counting your customers the easy way". Gamma-Gamma: Fader & Hardie (2013),
"The Gamma-Gamma model of monetary value". Both are fitted by maximum likelihood on their closed-form
log-likelihoods, in log space and on log-parameters (so they stay positive), with scipy's L-BFGS-B.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, special

from .clean import IS_RETURN
from .columns import AMOUNT, CUSTOMER_ID, INVOICE_DATE
from .errors import ModelFitError

__all__ = [
    "BgNbd",
    "ClvResult",
    "GammaGamma",
    "HoldoutCheck",
    "TimeUnit",
    "clv_table",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "holdout_check",
    "model_summary",
    "simulate_bgnbd",
]

TimeUnit = Literal["D", "W", "M"]
DAYS_PER_UNIT = {"D": 1.0, "W": 7.0, "M": 365.25 / 12}
MIN_REPEAT_CUSTOMERS = 30
MAX_SPEND_FREQUENCY_CORR = 0.3


# ----------------------------------------------------------------------------------------------- the summary

def model_summary(transactions: pd.DataFrame, calibration_end: dt.date | None = None,
                  unit: TimeUnit = "W") -> pd.DataFrame:
    """The BG/NBD and Gamma-Gamma customer summary from used transactions.

    Parameters
    ----------
    transactions : DataFrame
        Used rows from :func:`rfm_core.clean.clean` (``customer_id, invoice_date, amount``; returns ignored).
    calibration_end : date, optional
        Last day of the calibration period (inclusive); default the last purchase day. Later purchases are
        ignored, and so are customers whose first purchase is after it.
    unit : ``D``, ``W`` or ``M``

    Returns
    -------
    DataFrame
        One row per customer: ``customer_id, frequency, recency, T, monetary`` (recency and T in ``unit``).
    """
    days = _purchase_days(transactions)
    return _summary(days, pd.Timestamp(calibration_end) if calibration_end else days["day"].max(), unit)


def _summary(days: pd.DataFrame, end: pd.Timestamp, unit: TimeUnit) -> pd.DataFrame:
    """:func:`model_summary` from the per-day purchases (callers that need those too compute them once)."""
    days = days[days["day"] <= end]
    if days.empty:
        raise ModelFitError("No purchases fall in the calibration period; choose a later calibration end.")
    g = days.groupby(CUSTOMER_ID, sort=True)
    first, last, n = g["day"].min(), g["day"].max(), g.size()
    total = g["revenue"].sum()
    first_day_revenue = days.sort_values("day").groupby(CUSTOMER_ID, sort=True)["revenue"].first()
    repeat = n - 1
    per = DAYS_PER_UNIT[unit]
    out = pd.DataFrame({
        "frequency": repeat.astype("int64"),
        "recency": (last - first).dt.days / per,
        "T": (end - first).dt.days / per,
        "monetary": np.where(repeat > 0, (total - first_day_revenue) / repeat.where(repeat > 0, 1), 0.0),
    })
    out.index.name = CUSTOMER_ID
    return out.reset_index()


def _purchase_days(transactions: pd.DataFrame) -> pd.DataFrame:
    tx = transactions
    if IS_RETURN in tx.columns:
        tx = tx[~tx[IS_RETURN]]
    frame = pd.DataFrame({CUSTOMER_ID: tx[CUSTOMER_ID].astype(str).to_numpy(),
                          "day": tx[INVOICE_DATE].dt.normalize().to_numpy(),
                          "revenue": tx[AMOUNT].to_numpy(dtype="float64")})
    return frame.groupby([CUSTOMER_ID, "day"], sort=False, as_index=False).agg(revenue=("revenue", "sum"))


# ---------------------------------------------------------------------------------------------------- BG/NBD

@dataclass(frozen=True)
class BgNbd:
    """Fitted BG/NBD parameters (in the time unit of the summary), their standard errors and the fit's log-lik."""

    r: float
    alpha: float
    a: float
    b: float
    unit: TimeUnit = "W"
    log_likelihood: float = float("nan")
    std_errors: dict[str, float] = field(default_factory=dict)

    def params(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}

    @property
    def no_dropout(self) -> bool:
        """The fit found no measurable dropout: mean P(leave after a purchase) = a / (a + b) below 1e-4.

        The model is then at its NBD limit: everyone stays active, expected purchases are (r + x) / (alpha + T)
        per unit of time, and P(alive) carries no information.
        """
        return self.a / (self.a + self.b) < 1e-4

    def p_alive(self, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray) -> np.ndarray:
        """P(the customer is still active at T | x, t_x, T)."""
        x, tx, T = (np.asarray(v, dtype="float64") for v in (frequency, recency, T))
        log_ratio = (np.log(self.a) - np.log(np.maximum(self.b + x - 1, 1e-300))
                     + (self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + tx)))
        return np.where(x > 0, 1.0 / (1.0 + np.exp(log_ratio)), 1.0)

    def expected_purchases(self, t: float | np.ndarray, frequency: np.ndarray, recency: np.ndarray,
                           T: np.ndarray) -> np.ndarray:
        """E[number of purchases in (T, T + t] | x, t_x, T] (Fader, Hardie & Lee 2005, eq. 10)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        x, tx, T = (np.asarray(v, dtype="float64") for v in (frequency, recency, T))
        t = np.asarray(t, dtype="float64")
        if self.no_dropout:  # the exact limit; the general formula loses precision as a -> 0
            return np.asarray((r + x) / (alpha + T) * t)
        z = t / (alpha + T + t)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        first = (a + b + x - 1) / (a - 1)
        second = 1 - np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t))) * hyp
        log_ratio = (np.log(a) - np.log(np.maximum(b + x - 1, 1e-300))
                     + (r + x) * (np.log(alpha + T) - np.log(alpha + tx)))
        denom = 1 + np.where(x > 0, np.exp(log_ratio), 0.0)
        return np.asarray(first * second / denom)

    def expected_purchases_new(self, t: float | np.ndarray) -> np.ndarray:
        """E[X(t)]: purchases of a new customer in (0, t] (eq. 9), the closed form checked against simulation."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        t = np.asarray(t, dtype="float64")
        hyp = special.hyp2f1(r, b, a + b - 1, t / (alpha + t))
        return np.asarray((a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp))


def _bgnbd_loglik(log_params: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray,
                  weights: np.ndarray) -> float:
    """Eq. 6 of Fader, Hardie & Lee (2005) in log space, with the beta-function ratios as betaln differences."""
    r, alpha, a, b = np.exp(log_params)
    ln_a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    alive = special.betaln(a, b + x) - special.betaln(a, b) - (r + x) * np.log(alpha + T)
    left = (special.betaln(a + 1, np.maximum(b + x - 1, 1e-300)) - special.betaln(a, b)
            - (r + x) * np.log(alpha + tx))
    ll = ln_a1 + np.where(x > 0, np.logaddexp(alive, left), alive)
    return float(np.sum(weights * ll))


def _fit(negll, start: np.ndarray, names: list[str], what: str,  # type: ignore[no-untyped-def]
         may_vanish: tuple[str, ...] = ()) -> tuple[np.ndarray, float, dict[str, float]]:
    """Minimise on log-parameters within [e^-12, e^12]; a parameter in ``may_vanish`` may end at the lower bound
    (a legitimate limit of the model), any other parameter at a bound means the data do not identify the model."""
    best = None
    for shift in (0.0, 1.0, -1.0):  # a few starts: the likelihoods are not always unimodal in log space
        res = optimize.minimize(negll, start + shift, method="L-BFGS-B", bounds=[(-12, 12)] * len(start))
        if res.success and np.isfinite(res.fun) and (best is None or res.fun < best.fun):
            best = res
    if best is None:
        raise ModelFitError(f"The {what} fit did not converge on this data. Use a longer history or a coarser time "
                            "unit, or check that repeat purchases are recorded under the same customer id.")
    lower_ok = np.array([n in may_vanish for n in names])
    at_edge = (best.x > 11.5) | ((best.x < -11.5) & ~lower_ok)
    if np.any(at_edge):
        found = dict(zip(names, np.exp(best.x).round(4), strict=True))
        raise ModelFitError(f"The {what} fit ran to the edge of the parameter space ({found}); the data do not "
                            "identify the model. Use more customers or a longer history.")
    params = np.exp(best.x)
    se = _std_errors(lambda p: negll(np.log(p)), params)
    return params, -float(best.fun), dict(zip(names, se, strict=True))


def _std_errors(negll_natural, params: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Asymptotic standard errors from a central-difference Hessian of the negative log-likelihood."""
    k = len(params)
    h = np.maximum(np.abs(params) * 1e-4, 1e-7)
    hess = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            ei, ej = np.eye(k)[i] * h[i], np.eye(k)[j] * h[j]
            val = (negll_natural(params + ei + ej) - negll_natural(params + ei - ej)
                   - negll_natural(params - ei + ej) + negll_natural(params - ei - ej)) / (4 * h[i] * h[j])
            hess[i, j] = hess[j, i] = val
    try:
        cov = np.linalg.inv(hess)
        return np.sqrt(np.abs(np.diag(cov)))
    except np.linalg.LinAlgError:
        return np.full(k, np.nan)


def fit_bgnbd(summary: pd.DataFrame, unit: TimeUnit = "W") -> BgNbd:
    """Maximum-likelihood BG/NBD on ``frequency, recency, T``.

    Raises
    ------
    ModelFitError
        Too few repeat customers, or no convergence; the message says what to do.
    """
    x = summary["frequency"].to_numpy(dtype="float64")
    tx = summary["recency"].to_numpy(dtype="float64")
    T = summary["T"].to_numpy(dtype="float64")
    repeaters = int((x > 0).sum())
    if repeaters < MIN_REPEAT_CUSTOMERS:
        raise ModelFitError(
            f"Only {repeaters} customers bought on more than one day (at least {MIN_REPEAT_CUSTOMERS} are needed to "
            "estimate how often customers come back). Use a longer history or more customers.")
    if np.any(T <= 0) and np.all(T <= 0):
        raise ModelFitError("Every customer's first purchase is on the last day; there is no history to model.")
    # Identical (x, t_x, T) rows share a likelihood term: fit on the distinct ones with weights.
    frame = pd.DataFrame({"x": x, "tx": tx, "T": T}).value_counts().reset_index(name="w")
    args = tuple(frame[c].to_numpy(dtype="float64") for c in ("x", "tx", "T", "w"))
    scale = max(float(np.mean(T)), 1e-6)

    def negll(lp: np.ndarray) -> float:
        return -_bgnbd_loglik(lp, *args)

    params, ll, se = _fit(negll, np.log([1.0, scale, 1.0, 1.0]), ["r", "alpha", "a", "b"], "BG/NBD",
                          may_vanish=("a",))
    r, alpha, a, b = (float(v) for v in params)
    return BgNbd(r, alpha, a, b, unit=unit, log_likelihood=ll, std_errors=se)


# ----------------------------------------------------------------------------------------------- Gamma-Gamma

@dataclass(frozen=True)
class GammaGamma:
    """Fitted Gamma-Gamma parameters for mean spend per repeat purchase day."""

    p: float
    q: float
    v: float
    log_likelihood: float = float("nan")
    std_errors: dict[str, float] = field(default_factory=dict)

    def params(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "v": self.v}

    def expected_spend(self, frequency: np.ndarray, monetary: np.ndarray) -> np.ndarray:
        """E[spend per purchase | x, m] (Fader & Hardie 2013, eq. 5); the population mean for x = 0."""
        x = np.asarray(frequency, dtype="float64")
        m = np.asarray(monetary, dtype="float64")
        population = self.p * self.v / (self.q - 1)
        weight = self.p * x / (self.p * x + self.q - 1)
        return np.asarray((1 - weight) * population + weight * np.where(x > 0, m, 0.0))


def fit_gamma_gamma(summary: pd.DataFrame) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma on the repeat customers' ``frequency, monetary``.

    Raises
    ------
    ModelFitError
        Too few repeat customers, non-positive spend, spend correlated with frequency (|r| > 0.3, which breaks the
        model's independence assumption), no convergence, or q <= 1 (no finite mean spend).
    """
    rep = summary[(summary["frequency"] > 0)]
    if len(rep) < MIN_REPEAT_CUSTOMERS:
        raise ModelFitError(f"Only {len(rep)} repeat customers: too few to estimate spend per purchase "
                            f"(at least {MIN_REPEAT_CUSTOMERS}).")
    if (rep["monetary"] <= 0).any():
        bad = int((rep["monetary"] <= 0).sum())
        rep = rep[rep["monetary"] > 0]
        if len(rep) < MIN_REPEAT_CUSTOMERS:
            raise ModelFitError(f"{bad} repeat customers have zero or negative mean spend (net returns?); too few "
                                "remain to estimate spend. Exclude returns instead of netting them.")
    corr = float(np.corrcoef(rep["frequency"], rep["monetary"])[0, 1]) if len(rep) > 2 else 0.0
    if abs(corr) > MAX_SPEND_FREQUENCY_CORR:
        raise ModelFitError(
            f"Spend per purchase is correlated with purchase frequency (r = {corr:.2f}); the Gamma-Gamma model "
            "assumes they are independent, so its spend predictions would be biased. Historical value is shown "
            "instead; segment the customers first or use a different spend model.")
    x = rep["frequency"].to_numpy(dtype="float64")
    m = rep["monetary"].to_numpy(dtype="float64")

    def negll(lp: np.ndarray) -> float:
        p, q, v = np.exp(lp)
        ll = (special.gammaln(p * x + q) - special.gammaln(p * x) - special.gammaln(q) + q * np.log(v)
              + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(x * m + v))
        return -float(np.sum(ll))

    params, ll, se = _fit(negll, np.log([1.0, 2.0, float(np.mean(m))]), ["p", "q", "v"], "Gamma-Gamma")
    p, q, v = (float(val) for val in params)
    gg = GammaGamma(p, q, v, log_likelihood=ll, std_errors=se)
    if gg.q <= 1:
        raise ModelFitError(f"The spend model has q = {gg.q:.2f} <= 1, so mean spend is not finite: a few very large "
                            "orders dominate. Remove outliers or wholesale accounts and try again.")
    return gg


# ------------------------------------------------------------------------------------------------------- CLV

@dataclass(frozen=True)
class ClvResult:
    """Per-customer predictions and the fitted models."""

    table: pd.DataFrame
    bgnbd: BgNbd
    gamma_gamma: GammaGamma | None
    horizon_months: int
    annual_discount_rate: float
    calibration_end: dt.date
    spend_note: str | None = None
    churn_note: str | None = None

    @property
    def revenue_at_risk(self) -> float | None:
        """Sum over customers of churn risk x their revenue in the 12 months before the calibration end."""
        if self.churn_note is not None:
            return None
        return float((self.table["churn_risk"] * self.table["revenue_last_12m"]).sum())

    def params_json(self) -> dict[str, dict[str, float] | str]:
        out: dict[str, dict[str, float] | str] = {"bgnbd": self.bgnbd.params(), "time_unit": self.bgnbd.unit}
        if self.gamma_gamma is not None:
            out["gamma_gamma"] = self.gamma_gamma.params()
        return out


def clv_table(transactions: pd.DataFrame, *, calibration_end: dt.date | None = None, unit: TimeUnit = "W",
              horizon_months: int = 12, annual_discount_rate: float = 0.10) -> ClvResult:
    """Fit both models and predict per customer: P(alive), purchases and discounted CLV over the horizon.

    Columns: ``customer_id, frequency, recency, T, monetary`` (model summary), ``historical_value`` (revenue to
    date), ``p_alive``, ``churn_risk`` (1 - p_alive), ``predicted_purchases_<h>m``, ``expected_spend``,
    ``clv_<h>m`` (sum over months i = 1..h of the purchases expected in month i x expected spend, discounted by
    (1 + d)^(i/12)). When the spend model cannot be fitted, CLV is not reported and ``spend_note`` says why.
    """
    if horizon_months < 1 or horizon_months > 120:
        raise ModelFitError("The horizon must be 1 to 120 months.")
    if not 0 <= annual_discount_rate < 1:
        raise ModelFitError("The annual discount rate must be at least 0 and below 1 (e.g. 0.10 for 10%).")
    days = _purchase_days(transactions)
    end = calibration_end or pd.Timestamp(days["day"].max()).date()
    summary = _summary(days, pd.Timestamp(end), unit)
    bg = fit_bgnbd(summary, unit)
    x, tx, T = (summary[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T"))
    h = horizon_months
    months = DAYS_PER_UNIT["M"] / DAYS_PER_UNIT[unit]
    cum = np.vstack([bg.expected_purchases(i * months, x, tx, T) for i in range(h + 1)])
    per_month = np.diff(cum, axis=0)
    table = summary.copy()
    days = days[days["day"] <= pd.Timestamp(end)]
    table["historical_value"] = table[CUSTOMER_ID].map(days.groupby(CUSTOMER_ID)["revenue"].sum()).fillna(0.0) \
        .to_numpy()
    recent = days[days["day"] > pd.Timestamp(end) - pd.Timedelta(days=365)]
    table["revenue_last_12m"] = table[CUSTOMER_ID].map(recent.groupby(CUSTOMER_ID)["revenue"].sum()).fillna(0.0) \
        .to_numpy()
    churn_note = None
    if bg.no_dropout:
        churn_note = (f"The model finds no measurable dropout in this history (a = {bg.a:.2g}, mean chance of leaving "
                      f"after a purchase {bg.a / (bg.a + bg.b):.1e}): every customer is treated as still active, so "
                      "churn risk cannot be estimated. Purchases and CLV are predicted as for active customers.")
        table["p_alive"] = np.nan
    else:
        table["p_alive"] = bg.p_alive(x, tx, T)
    table["churn_risk"] = 1 - table["p_alive"]
    table[f"predicted_purchases_{h}m"] = cum[-1]
    gg: GammaGamma | None = None
    note = None
    try:
        gg = fit_gamma_gamma(summary)
    except ModelFitError as exc:
        note = str(exc)
    if gg is not None:
        spend = gg.expected_spend(x, table["monetary"].to_numpy())
        discount = (1 + annual_discount_rate) ** (np.arange(1, h + 1) / 12)
        table["expected_spend"] = spend
        table[f"clv_{h}m"] = (per_month / discount[:, None]).sum(axis=0) * spend
    return ClvResult(table, bg, gg, h, annual_discount_rate, end, note, churn_note)


# ---------------------------------------------------------------------------------------------- holdout check

@dataclass(frozen=True)
class HoldoutCheck:
    """Predicted vs actual repeat purchase days in the holdout, per calibration frequency and in total."""

    by_frequency: pd.DataFrame
    total_predicted: float
    total_actual: int
    customers: int
    calibration_end: dt.date
    holdout_end: dt.date
    model: BgNbd

    @property
    def total_error(self) -> float:
        """(predicted - actual) / actual for the whole holdout."""
        return (self.total_predicted - self.total_actual) / self.total_actual if self.total_actual else float("nan")

    @property
    def mae(self) -> float:
        """Mean absolute error per customer."""
        return float(self.by_frequency.attrs.get("mae", float("nan")))


def holdout_check(transactions: pd.DataFrame, calibration_end: dt.date, unit: TimeUnit = "W",
                  max_frequency: int = 7) -> HoldoutCheck:
    """Fit on purchases up to ``calibration_end``; compare the predicted and actual purchase days after it.

    Customers are those whose first purchase is in the calibration period. Rows of ``by_frequency``: calibration
    frequency 0..``max_frequency`` (the last row pools ``max_frequency`` and more), customers, mean actual and
    mean predicted purchase days in the holdout.
    """
    days = _purchase_days(transactions)
    end = pd.Timestamp(calibration_end)
    last = days["day"].max()
    if last <= end:
        raise ModelFitError(f"No purchases after the calibration end {calibration_end}; choose an earlier date.")
    summary = _summary(days, end, unit)
    model = fit_bgnbd(summary, unit)
    hold = days[(days["day"] > end) & days[CUSTOMER_ID].isin(summary[CUSTOMER_ID])]
    actual = summary[CUSTOMER_ID].map(hold.groupby(CUSTOMER_ID).size()).fillna(0).to_numpy()
    duration = (last - end).days / DAYS_PER_UNIT[unit]
    predicted = model.expected_purchases(duration, summary["frequency"].to_numpy(), summary["recency"].to_numpy(),
                                         summary["T"].to_numpy())
    freq = np.minimum(summary["frequency"].to_numpy(), max_frequency)
    frame = pd.DataFrame({"frequency": freq, "actual": actual, "predicted": predicted})
    by = frame.groupby("frequency").agg(customers=("actual", "size"), actual=("actual", "mean"),
                                        predicted=("predicted", "mean")).reset_index()
    by["frequency"] = by["frequency"].astype(str)
    if len(by) and int(freq.max()) == max_frequency:
        by.loc[by.index[-1], "frequency"] = f"{max_frequency}+"
    by.attrs["mae"] = float(np.mean(np.abs(predicted - actual)))
    return HoldoutCheck(by, float(predicted.sum()), int(actual.sum()), len(summary), calibration_end,
                        last.date(), model)


# ------------------------------------------------------------------------------------------------ simulation

def simulate_bgnbd(n: int, r: float, alpha: float, a: float, b: float, T: float, seed: int = 0,
                   extra: float = 0.0) -> tuple[pd.DataFrame, np.ndarray]:
    """Customers from the BG/NBD story observed for ``T`` units after their first purchase.

    Returns the summary (``frequency, recency, T``) and, for ``extra`` > 0, the number of purchases each made in
    (T, T + extra]. Each customer buys at rate lambda ~ Gamma(r, rate alpha) and, after each repeat purchase,
    leaves with probability p ~ Beta(a, b) (so every customer is alive just after the first purchase, as in the
    model's likelihood).
    """
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    freq = np.zeros(n, dtype=np.int64)
    rec = np.zeros(n)
    later = np.zeros(n, dtype=np.int64)
    for i in range(n):
        t = 0.0
        while True:  # the first purchase is at 0; a customer can leave only after a repeat purchase
            t += rng.exponential(1 / lam[i]) if lam[i] > 0 else np.inf
            if t > T + extra:
                break
            if t <= T:
                freq[i] += 1
                rec[i] = t
            else:
                later[i] += 1
            if rng.random() < p[i]:
                break  # left after this purchase
    return pd.DataFrame({"frequency": freq, "recency": rec, "T": np.full(n, float(T))}), later
