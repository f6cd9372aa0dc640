"""Per-customer lifetime value: the chosen purchase model x Gamma-Gamma spend, discounted, with its caveats."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..columns import CUSTOMER_ID, SEGMENT
from ..errors import ModelFitError
from .gamma_gamma import GammaGamma, fit_gamma_gamma
from .holdout import ModelComparison, compare_models
from .models import LR_CRITICAL, MODEL_LABELS, MODEL_NAMES, BgNbd, PurchaseModel, fit_model
from .summary import (
    DAY,
    DAYS_PER_UNIT,
    MEAN_REPEAT_SPEND,
    REVENUE,
    T_AGE,
    T_X,
    TimeUnit,
    X,
    purchase_days,
    summary_from_days,
)

__all__ = [
    "BY_CONSTRUCTION",
    "CHURN_RISK",
    "DAYS_TO_NEXT",
    "MODEL_CHOICES",
    "NEXT_PURCHASE_DATE",
    "P_ALIVE",
    "ClvFit",
    "ClvResult",
    "ModelChoice",
    "clv_by_segment",
    "clv_table",
    "fit_clv",
    "predict_clv",
]

ModelChoice = Literal["auto", "bgnbd", "mbgnbd", "pareto_nbd"]
MODEL_CHOICES: tuple[ModelChoice, ...] = ("auto", "bgnbd", "mbgnbd", "pareto_nbd")

P_ALIVE = "p_alive"
BY_CONSTRUCTION = "p_alive_by_construction"
CHURN_RISK = "churn_risk"
DAYS_TO_NEXT = "days_to_next_purchase"
NEXT_PURCHASE_DATE = "next_purchase_date"
HISTORICAL_VALUE = "historical_value"
REVENUE_LAST_12M = "revenue_last_12m"
EXPECTED_SPEND = "expected_spend"
MODEL = "model"
DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class ClvResult:
    """Per-customer predictions, the model behind them, every model fitted on the same period, and the caveats.

    ``table``: one row per customer with ``customer_id, x, t_x, T, mean_repeat_spend`` (the model summary),
    ``historical_value`` (revenue to the calibration end), ``revenue_last_12m`` (in the 365 days to it),
    ``p_alive``, ``p_alive_by_construction`` (True where P(alive) = 1 follows from the model, not the data:
    BG/NBD and no repeat purchase), ``churn_risk`` (1 - p_alive), ``predicted_purchases_<h>m``,
    ``days_to_next_purchase`` (median days from the calibration end to the next purchase if still active, for
    customers with a repeat purchase), ``next_purchase_date``, ``model`` (its label) and, when the spend model
    fits, ``expected_spend`` and ``clv_<h>m``.
    """

    table: pd.DataFrame
    model: PurchaseModel
    models: dict[str, PurchaseModel]
    gamma_gamma: GammaGamma | None
    horizon_months: int
    annual_discount_rate: float
    calibration_end: dt.date
    history_days: int
    choice_note: str
    comparison: ModelComparison | None = None
    spend_note: str | None = None
    churn_note: str | None = None
    horizon_note: str | None = None

    @property
    def bgnbd(self) -> BgNbd | None:
        """The BG/NBD fit, when it was fitted."""
        m = self.models.get("bgnbd")
        return m if isinstance(m, BgNbd) else None

    @property
    def by_construction(self) -> int:
        """How many customers have P(alive) = 1 by construction of the model (not measured)."""
        return int(self.table[BY_CONSTRUCTION].sum())

    @property
    def churn_estimable(self) -> bool:
        return self.churn_note is None

    @property
    def likely_gone(self) -> int | None:
        """Customers more likely gone than active (churn risk above 50%); None when churn is not estimable."""
        return int((self.table[CHURN_RISK] > 0.5).sum()) if self.churn_estimable else None

    @property
    def expected_revenue_lost_to_churn(self) -> float | None:
        """Sum over customers of churn risk x their revenue in the 365 days to the calibration end: the revenue
        of the last year that belonged to customers who have probably left, weighted by how probably."""
        if not self.churn_estimable:
            return None
        return float((self.table[CHURN_RISK] * self.table[REVENUE_LAST_12M]).sum())

    def params_json(self) -> dict[str, Any]:
        """``{"model", "customers", "time_unit", "calibration_end", <model>: params for each fitted model,
        "gamma_gamma", "log_likelihood"}``.

        ``time_unit`` (``D``, ``W`` or ``M``) is the unit of the rate and scale parameters (alpha, beta, ``t_x``,
        ``T``): the same data fitted in weeks and in days gives alpha values 7 apart, so the numbers mean nothing
        without it."""
        out: dict[str, Any] = {"model": self.model.name, "customers": len(self.table),
                               "time_unit": self.model.unit, "calibration_end": self.calibration_end.isoformat()}
        for name, m in self.models.items():
            out[name] = m.params()
        if self.gamma_gamma is not None:
            out["gamma_gamma"] = self.gamma_gamma.params()
        out["log_likelihood"] = {name: m.log_likelihood for name, m in self.models.items()}
        if self.gamma_gamma is not None:
            out["log_likelihood"]["gamma_gamma"] = self.gamma_gamma.log_likelihood
        return out


@dataclass(frozen=True)
class ClvFit:
    """The expensive part of :func:`clv_table`: the summary, the chosen purchase model, every model fitted on the
    same period, and the spend model. :func:`predict_clv` turns it into predictions for any horizon and rate."""

    summary: pd.DataFrame = field(repr=False)
    days: pd.DataFrame = field(repr=False)
    model: PurchaseModel
    models: dict[str, PurchaseModel]
    gamma_gamma: GammaGamma | None
    spend_note: str | None
    end: pd.Timestamp
    choice_note: str
    comparison: ModelComparison | None = None


def _fit_all(summary: pd.DataFrame, unit: TimeUnit, names: tuple[str, ...],
             starts: dict[str, PurchaseModel]) -> tuple[dict[str, PurchaseModel], dict[str, str]]:
    fitted: dict[str, PurchaseModel] = {}
    errors: dict[str, str] = {}
    for name in names:
        try:
            fitted[name] = fit_model(name, summary, unit, start=starts.get(name))
        except ModelFitError as exc:
            errors[name] = str(exc)
    return fitted, errors


def _choose(transactions: pd.DataFrame, summary: pd.DataFrame, end: pd.Timestamp, unit: TimeUnit, model: ModelChoice,
            calibration_end: dt.date | None, comparison: ModelComparison | None, fit_all: bool
            ) -> tuple[PurchaseModel, dict[str, PurchaseModel], str, ModelComparison | None]:
    """The model behind the predictions, the models fitted on the final period, and how the choice was made."""
    if model != "auto":
        if model not in MODEL_NAMES:
            raise ModelFitError(f"Unknown model {model!r}; choose one of {', '.join(MODEL_CHOICES)}.")
        if comparison is None and calibration_end is not None:
            comparison = compare_models(transactions, calibration_end, unit, models=(model,))  # the holdout check
        starts = comparison.models() if comparison is not None else {}
        if model in starts and pd.Timestamp(comparison.calibration_end) == end:  # type: ignore[union-attr]
            m = starts[model]
        else:
            m = fit_model(model, summary, unit, start=starts.get(model))
        return m, {model: m}, f"{m.label}, chosen by the user", comparison
    comparison_error = ""
    if comparison is None:
        try:
            # With a calibration end the holdout is what follows it; without one, the last quarter of the data.
            comparison = compare_models(transactions, calibration_end, unit)
        except ModelFitError as exc:
            comparison_error = str(exc)
    best = comparison.best if comparison is not None else None
    if comparison is not None and best is not None:
        check = comparison.checks[best]
        lead = (f"{check.model.label}, tied for the best of {len(comparison.checks)} models"
                if comparison.tied else f"{check.model.label}, the best of {len(comparison.checks)} models")
        note = (f"{lead} on the holdout {check.calibration_end} to {check.holdout_end} (mean absolute error "
                f"{check.mae:.3f} purchase days per customer)")
        if pd.Timestamp(comparison.calibration_end) == end:
            return check.model, comparison.models(), note, comparison  # fitted on exactly this period already
        # Refit on the whole period, starting from the calibration fits (they are close).
        names = MODEL_NAMES if fit_all else (best,)
        fitted, _ = _fit_all(summary, unit, names, comparison.models())
        if best in fitted:
            return fitted[best], fitted, note, comparison
    # No holdout to judge by: all candidates have four parameters, so the highest likelihood is also the best AIC.
    fitted, errors = _fit_all(summary, unit, MODEL_NAMES, {})
    if not fitted:
        raise ModelFitError(" ".join(f"{MODEL_LABELS[n]}: {e}" for n, e in errors.items()))
    best = max(fitted, key=lambda n: fitted[n].log_likelihood)
    why = f" ({comparison_error})" if comparison_error else ""
    note = (f"{fitted[best].label}, the highest likelihood of {len(fitted)} models: no holdout check was "
            f"possible{why}")
    return fitted[best], fitted, note, comparison


def fit_clv(transactions: pd.DataFrame, *, calibration_end: dt.date | None = None, unit: TimeUnit = "W",
            model: ModelChoice = "auto", comparison: ModelComparison | None = None, fit_all: bool = True) -> ClvFit:
    """Fit the purchase model (chosen on a holdout with ``auto``) and the spend model; see :func:`clv_table`.

    ``fit_all`` (default): with ``auto``, fit every candidate on the final period too (the CLI reports all their
    parameters); without it only the chosen one is refitted (the app).

    Raises
    ------
    ModelFitError
        No purchase model can be fitted (the message gives each model's reason), or an unknown model name.
    """
    days = purchase_days(transactions)
    if days.empty:
        raise ModelFitError("There are no purchases to model (every used row is a return).")
    end = pd.Timestamp(calibration_end) if calibration_end else days[DAY].max()
    summary = summary_from_days(days, end, unit)
    chosen, fitted, note, comparison = _choose(transactions, summary, end, unit, model, calibration_end, comparison,
                                               fit_all)
    gg: GammaGamma | None = None
    spend_note = None
    try:
        gg = fit_gamma_gamma(summary)
    except ModelFitError as exc:
        spend_note = str(exc)
    return ClvFit(summary, days[days[DAY] <= end], chosen, fitted, gg, spend_note, end, note, comparison)


def predict_clv(fit: ClvFit, horizon_months: int = 12, annual_discount_rate: float = 0.10) -> ClvResult:
    """Per-customer predictions of a fit over the horizon; see :func:`clv_table` for the columns.

    Raises
    ------
    ModelFitError
        Horizon or discount rate out of range.
    """
    if horizon_months < 1 or horizon_months > 120:
        raise ModelFitError("The horizon must be 1 to 120 months.")
    if not 0 <= annual_discount_rate < 1:
        raise ModelFitError("The annual discount rate must be at least 0 and below 1 (e.g. 0.10 for 10%).")
    chosen, summary, days, end = fit.model, fit.summary, fit.days, fit.end
    x, tx, T = (summary[c].to_numpy(dtype="float64") for c in (X, T_X, T_AGE))
    h = horizon_months
    months = DAYS_PER_MONTH / DAYS_PER_UNIT[chosen.unit]
    cum = np.vstack([chosen.expected_purchases(i * months, x, tx, T) for i in range(h + 1)])
    per_month = np.diff(cum, axis=0)

    table = summary.copy()
    table[HISTORICAL_VALUE] = table[CUSTOMER_ID].map(days.groupby(CUSTOMER_ID)[REVENUE].sum()).fillna(0.0).to_numpy()
    recent = days[days[DAY] > end - pd.Timedelta(days=365)]
    table[REVENUE_LAST_12M] = table[CUSTOMER_ID].map(recent.groupby(CUSTOMER_ID)[REVENUE].sum()).fillna(0.0) \
        .to_numpy()
    churn_note = None
    if chosen.no_dropout:
        test = ("" if chosen.at_nbd_limit else
                f"; likelihood ratio against no dropout {chosen.dropout_lr:.2f}, below the 5% point {LR_CRITICAL}")
        churn_note = (f"{chosen.label} finds no measurable dropout in this history ({chosen.dropout_summary()}{test}): "
                      "the data cannot tell who has left, so churn risk is not estimated. Purchases and CLV are "
                      "predicted as for active customers; use recency and the RFM segments to judge who has lapsed.")
        table[P_ALIVE] = np.nan
        table[BY_CONSTRUCTION] = False
    else:
        table[P_ALIVE] = chosen.p_alive(x, tx, T)
        table[BY_CONSTRUCTION] = chosen.p_alive_by_construction(x)
    table[CHURN_RISK] = 1 - table[P_ALIVE]
    table[f"predicted_purchases_{h}m"] = cum[-1]
    wait = chosen.days_to_next_purchase(x, T)
    table[DAYS_TO_NEXT] = wait
    table[NEXT_PURCHASE_DATE] = end + pd.to_timedelta(np.round(wait), unit="D")
    table[MODEL] = chosen.label
    gg = fit.gamma_gamma
    if gg is not None:
        spend = gg.expected_spend(x, table[MEAN_REPEAT_SPEND].to_numpy())
        discount = (1 + annual_discount_rate) ** (np.arange(1, h + 1) / 12)
        table[EXPECTED_SPEND] = spend
        table[f"clv_{h}m"] = (per_month / discount[:, None]).sum(axis=0) * spend

    first = days[DAY].min()
    history_days = int((end - first).days)
    horizon_note = None
    if h * DAYS_PER_MONTH > history_days:
        most = max(0, math.floor(history_days / DAYS_PER_MONTH))
        advice = (f"Use a horizon of at most {most} month{'s' if most != 1 else ''}, or more history." if most
                  else "Use more history.")
        horizon_note = (f"The {h}-month horizon is longer than the history the model was fitted on ({history_days} "
                        f"days, {first:%Y-%m-%d} to {end:%Y-%m-%d}): these predictions extrapolate purchase and "
                        f"dropout rates beyond anything observed. {advice}")
    return ClvResult(table, chosen, fit.models, gg, h, annual_discount_rate, end.date(), history_days, fit.choice_note,
                     fit.comparison, fit.spend_note, churn_note, horizon_note)


def clv_table(transactions: pd.DataFrame, *, calibration_end: dt.date | None = None, unit: TimeUnit = "W",
              horizon_months: int = 12, annual_discount_rate: float = 0.10, model: ModelChoice = "auto",
              comparison: ModelComparison | None = None, fit_all: bool = True) -> ClvResult:
    """Fit the purchase and spend models and predict per customer over the horizon.

    Parameters
    ----------
    transactions : DataFrame
        Used rows from :func:`rfm_core.clean.clean`.
    calibration_end : date, optional
        Fit on purchases up to this day (default: the last purchase day); predictions start after it. With
        ``auto`` the models are compared on what follows it.
    unit : model time unit (``D``, ``W``, ``M``)
    horizon_months : 1..120
    annual_discount_rate : in [0, 1)
    model : ``auto`` (default: the best on a holdout, see :func:`rfm_core.clv.compare_models`; without a
        calibration end the holdout is the last quarter of the history), or ``bgnbd``, ``mbgnbd``, ``pareto_nbd``.
    comparison : ModelComparison, optional
        A comparison already computed (the app caches it); with ``auto`` its best model is used.
    fit_all : with ``auto``, fit every candidate on the final period (default), or only the chosen one.

    Returns
    -------
    ClvResult
        ``clv_<h>m`` = sum over months i = 1..h of (E[purchases by month i] - E[purchases by month i - 1]) x
        expected spend / (1 + d)^(i/12). Without a spend model, CLV is not reported and ``spend_note`` says why.

    Raises
    ------
    ModelFitError
        Settings out of range, or no purchase model can be fitted (the message says why).
    """
    if horizon_months < 1 or horizon_months > 120:
        raise ModelFitError("The horizon must be 1 to 120 months.")
    if not 0 <= annual_discount_rate < 1:
        raise ModelFitError("The annual discount rate must be at least 0 and below 1 (e.g. 0.10 for 10%).")
    fit = fit_clv(transactions, calibration_end=calibration_end, unit=unit, model=model, comparison=comparison,
                  fit_all=fit_all)
    return predict_clv(fit, horizon_months, annual_discount_rate)


def clv_by_segment(result: ClvResult, segments: pd.DataFrame) -> pd.DataFrame:
    """Per RFM segment: ``segment, customers, historical_value, predicted_purchases, predicted_value`` (when CLV is
    reported), ``mean_p_alive``, ``likely_gone`` (churn risk above 50%), ``p_alive_by_construction`` (count) and
    ``median_days_to_next_purchase`` (over the segment's customers with a repeat purchase).

    ``segments`` has ``customer_id, segment`` (e.g. :attr:`rfm_core.Segmentation.customers`); customers the model
    did not see (first purchase after the calibration end) are left out.
    """
    h = result.horizon_months
    table = result.table.merge(segments[[CUSTOMER_ID, SEGMENT]], on=CUSTOMER_ID, how="inner")
    aggs: dict[str, tuple[str, Any]] = {
        "customers": (CUSTOMER_ID, "size"), HISTORICAL_VALUE: (HISTORICAL_VALUE, "sum"),
        "predicted_purchases": (f"predicted_purchases_{h}m", "sum"),
    }
    if f"clv_{h}m" in table.columns:
        aggs["predicted_value"] = (f"clv_{h}m", "sum")
    aggs["mean_p_alive"] = (P_ALIVE, "mean")
    aggs["likely_gone"] = (CHURN_RISK, lambda v: int((v > 0.5).sum()))
    aggs[BY_CONSTRUCTION] = (BY_CONSTRUCTION, "sum")
    aggs["median_days_to_next_purchase"] = (DAYS_TO_NEXT, "median")
    out = table.groupby(SEGMENT, observed=True).agg(**aggs).reset_index()
    out[BY_CONSTRUCTION] = out[BY_CONSTRUCTION].astype("int64")
    if not result.churn_estimable:
        out["likely_gone"] = np.nan
    return out
