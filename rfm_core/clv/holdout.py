"""Holdout checks and model choice: fit on a calibration period, compare predictions with what happened after it.

Customers are those whose first purchase is on or before the calibration end. For each, a model predicts the
purchase days in the holdout (calibration end, last day of the data] from the calibration history; the actual
count is the customer's purchase days in that window. Reported per calibration frequency (0..7+), in total, as
(predicted - actual) / actual and as the mean absolute error per customer. The model with the lowest mean
absolute error per customer is the best (ties: the smaller total error in absolute value); it judges each
customer's prediction, which is what a CRM list uses, while the total can be right for the wrong reasons.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..columns import CUSTOMER_ID
from ..errors import ModelFitError
from .models import MODEL_LABELS, MODEL_NAMES, PurchaseModel, fit_model
from .summary import DAY, DAYS_PER_UNIT, T_AGE, T_X, TimeUnit, X, purchase_days, summary_from_days

__all__ = [
    "MIN_CALIBRATION_DAYS",
    "HoldoutCheck",
    "ModelComparison",
    "calibration_bounds",
    "calibration_choices",
    "compare_models",
    "default_calibration_end",
    "holdout_check",
]

#: The shortest calibration period and holdout the app offers, in days.
MIN_CALIBRATION_DAYS = 28
MIN_HOLDOUT_DAYS = 7
MAX_HOLDOUT_DAYS = 182


@dataclass(frozen=True)
class HoldoutCheck:
    """One model's predicted vs actual repeat purchase days in the holdout, per calibration frequency and in total.

    ``by_frequency`` columns: ``frequency`` (text, ``"7+"`` pools the last), ``customers``, ``actual`` and
    ``predicted`` (mean purchase days per customer in the holdout).
    """

    by_frequency: pd.DataFrame
    total_predicted: float
    total_actual: int
    customers: int
    calibration_end: dt.date
    holdout_end: dt.date
    model: PurchaseModel
    mae: float

    @property
    def total_error(self) -> float:
        """(predicted - actual) / actual for the whole holdout."""
        return (self.total_predicted - self.total_actual) / self.total_actual if self.total_actual else float("nan")


@dataclass(frozen=True)
class ModelComparison:
    """Every candidate model fitted on the same calibration period and checked on the same holdout.

    ``table`` has one row per candidate: ``model`` (name), ``label``, ``log_likelihood`` (calibration fit),
    ``predicted``, ``actual`` (total repeat purchase days in the holdout), ``total_error``, ``mae`` (mean absolute
    error per customer), ``best`` (bool) and ``note`` (why a model could not be fitted, else empty).
    ``by_frequency`` has ``frequency, customers, actual`` and one ``predicted_<model>`` column per fitted model.
    """

    checks: dict[str, HoldoutCheck]
    errors: dict[str, str]
    calibration_end: dt.date
    holdout_end: dt.date
    table: pd.DataFrame = field(repr=False)
    by_frequency: pd.DataFrame = field(repr=False)

    @property
    def best(self) -> str | None:
        """The fitted model with the lowest mean absolute error per customer (ties: smaller |total error|)."""
        return _best(self.checks)

    @property
    def tied(self) -> tuple[str, ...]:
        """The fitted models whose error per customer equals the best's at the precision shown (:data:`MAE_DECIMALS`
        decimals), the best first; empty when the best is ahead. A tie is said as a tie ("best" alone would claim a
        difference nobody can see); the rule of :attr:`best` still chooses one model to use."""
        best = self.best
        if best is None:
            return ()
        shown = round(self.checks[best].mae, MAE_DECIMALS)
        tied = [n for n in self.checks if n != best and round(self.checks[n].mae, MAE_DECIMALS) == shown]
        return (best, *tied) if tied else ()

    def tie_note(self) -> str | None:
        """One sentence naming the models that tie on the holdout and why the first was chosen, or None."""
        tied = self.tied
        if not tied:
            return None
        labels = [self.checks[n].model.label for n in tied]
        names = ", ".join(labels[:-1]) + f" and {labels[-1]}"
        # The rule of _best, step by step: the error per customer (to 12 decimals), then |total error|, then order.
        maes = [round(self.checks[n].mae, 12) for n in tied]
        errors = [abs(self.checks[n].total_error) for n in tied]
        if all(maes[0] < m for m in maes[1:]):
            why = f"its error per customer, lower only beyond the {MAE_DECIMALS} decimals shown"
        elif all(maes[0] == m for m in maes[1:]) and all(errors[0] < e for e in errors[1:]):
            why = "the smallest total error in the holdout (" + ", ".join(f"{e:.1%}" for e in errors) + ")"
        else:
            why = "the order BG/NBD, MBG/NBD, Pareto/NBD (their total errors tie too)"
        return (f"{names} tie on the holdout (error per customer {self.checks[tied[0]].mae:.{MAE_DECIMALS}f} "
                f"purchase days each); {labels[0]} is used, chosen by {why}.")

    def models(self) -> dict[str, PurchaseModel]:
        """The calibration fits, by model name."""
        return {n: c.model for n, c in self.checks.items()}


#: Decimals of the error per customer wherever it is shown (app, CLI); equal at this precision is a tie.
MAE_DECIMALS = 3


def _best(checks: dict[str, HoldoutCheck]) -> str | None:
    if not checks:
        return None
    return min(checks, key=lambda n: (round(checks[n].mae, 12), abs(checks[n].total_error)))


def calibration_bounds(first_day: dt.date, last_day: dt.date) -> tuple[dt.date, dt.date]:
    """The earliest and latest calibration end the app offers: at least 28 days of calibration and 7 of holdout.

    Raises
    ------
    ModelFitError
        The history is shorter than 35 days, too short to hold any of it out.
    """
    lo = first_day + dt.timedelta(days=MIN_CALIBRATION_DAYS)
    hi = last_day - dt.timedelta(days=MIN_HOLDOUT_DAYS)
    if lo > hi:
        raise ModelFitError(f"The history ({(last_day - first_day).days} days) is too short to hold part of it out "
                            f"for a check: at least {MIN_CALIBRATION_DAYS + MIN_HOLDOUT_DAYS} days are needed.")
    return lo, hi


def default_calibration_end(first_day: dt.date, last_day: dt.date) -> dt.date:
    """The last quarter of the history is held out (at least 7 and at most 182 days), within
    :func:`calibration_bounds`. A quarter keeps most of the history for fitting while the holdout stays long enough
    to count repeat purchases (CDNOW: 136 of 545 days; Online Retail: 93 of 373 days).

    Raises
    ------
    ModelFitError
        The history is too short (see :func:`calibration_bounds`).
    """
    lo, hi = calibration_bounds(first_day, last_day)
    span = (last_day - first_day).days
    holdout = min(MAX_HOLDOUT_DAYS, max(MIN_HOLDOUT_DAYS, round(span / 4)))
    return min(max(last_day - dt.timedelta(days=holdout), lo), hi)


def calibration_choices(transactions: pd.DataFrame) -> tuple[dt.date, dt.date, dt.date]:
    """The earliest, latest and default calibration end for these transactions' purchase days
    (:func:`calibration_bounds`, :func:`default_calibration_end`).

    Raises
    ------
    ModelFitError
        No purchases, or a history too short to hold part of it out.
    """
    days = purchase_days(transactions)
    if days.empty:
        raise ModelFitError("There are no purchases to model (every used row is a return).")
    first, last = days[DAY].min().date(), days[DAY].max().date()
    lo, hi = calibration_bounds(first, last)
    return lo, hi, default_calibration_end(first, last)


def _check(days: pd.DataFrame, summary: pd.DataFrame, model: PurchaseModel, end: pd.Timestamp, last: pd.Timestamp,
           max_frequency: int) -> HoldoutCheck:
    hold = days[(days[DAY] > end) & days[CUSTOMER_ID].isin(summary[CUSTOMER_ID])]
    actual = summary[CUSTOMER_ID].map(hold.groupby(CUSTOMER_ID).size()).fillna(0).to_numpy()
    duration = (last - end).days / DAYS_PER_UNIT[model.unit]
    predicted = model.expected_purchases(duration, summary[X].to_numpy(), summary[T_X].to_numpy(),
                                         summary[T_AGE].to_numpy())
    freq = np.minimum(summary[X].to_numpy(), max_frequency)
    frame = pd.DataFrame({"frequency": freq, "actual": actual, "predicted": predicted})
    by = frame.groupby("frequency").agg(customers=("actual", "size"), actual=("actual", "mean"),
                                        predicted=("predicted", "mean")).reset_index()
    by["frequency"] = by["frequency"].astype(str)
    if len(by) and int(freq.max()) == max_frequency:
        by.loc[by.index[-1], "frequency"] = f"{max_frequency}+"
    return HoldoutCheck(by, float(predicted.sum()), int(actual.sum()), len(summary), end.date(), last.date(), model,
                        float(np.mean(np.abs(predicted - actual))))


def _split(transactions: pd.DataFrame, calibration_end: dt.date | None, unit: TimeUnit
           ) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp, pd.Timestamp]:
    days = purchase_days(transactions)
    if days.empty:
        raise ModelFitError("There are no purchases to model (every used row is a return).")
    first, last = days[DAY].min(), days[DAY].max()
    if calibration_end is None:
        calibration_end = default_calibration_end(first.date(), last.date())
    end = pd.Timestamp(calibration_end)
    if last <= end:
        raise ModelFitError(f"No purchases after the calibration end {calibration_end}; choose an earlier date.")
    return days, summary_from_days(days, end, unit), end, last


def holdout_check(transactions: pd.DataFrame, calibration_end: dt.date, unit: TimeUnit = "W",
                  max_frequency: int = 7, model: str = "bgnbd") -> HoldoutCheck:
    """Fit ``model`` on purchases up to ``calibration_end``; compare predicted and actual purchase days after it.

    Parameters
    ----------
    transactions : DataFrame
        Used rows from :func:`rfm_core.clean.clean`.
    calibration_end : date
        Last day of the calibration period (inclusive).
    unit : model time unit
    max_frequency : the last row of ``by_frequency`` pools this calibration frequency and above
    model : ``bgnbd``, ``mbgnbd`` or ``pareto_nbd``

    Raises
    ------
    ModelFitError
        No purchase after the calibration end, or the model cannot be fitted (see :func:`fit_model`).
    """
    days, summary, end, last = _split(transactions, calibration_end, unit)
    return _check(days, summary, fit_model(model, summary, unit), end, last, max_frequency)


def compare_models(transactions: pd.DataFrame, calibration_end: dt.date | None = None, unit: TimeUnit = "W",
                   models: Sequence[str] = MODEL_NAMES, max_frequency: int = 7) -> ModelComparison:
    """Fit every model in ``models`` on the calibration period and check each on the same holdout.

    Parameters
    ----------
    calibration_end : date, optional
        Default :func:`default_calibration_end` of the data's first and last purchase days.

    Returns
    -------
    ModelComparison
        A model that cannot be fitted is listed with the reason in ``errors`` and in the table's ``note``.

    Raises
    ------
    ModelFitError
        The history is too short for a holdout, no purchase follows the calibration end, or no model could be
        fitted (the message gives each model's reason).
    """
    days, summary, end, last = _split(transactions, calibration_end, unit)
    checks: dict[str, HoldoutCheck] = {}
    errors: dict[str, str] = {}
    for name in models:
        try:
            checks[name] = _check(days, summary, fit_model(name, summary, unit), end, last, max_frequency)
        except ModelFitError as exc:
            errors[name] = str(exc)
    if not checks:
        raise ModelFitError(" ".join(f"{MODEL_LABELS.get(n, n)}: {e}" for n, e in errors.items()))
    rows = []
    for name in models:
        c = checks.get(name)
        rows.append({"model": name, "label": MODEL_LABELS.get(name, name),
                     "log_likelihood": c.model.log_likelihood if c else np.nan,
                     "predicted": c.total_predicted if c else np.nan, "actual": c.total_actual if c else np.nan,
                     "total_error": c.total_error if c else np.nan, "mae": c.mae if c else np.nan,
                     "note": errors.get(name, "")})
    table = pd.DataFrame(rows)
    table["best"] = table["model"] == _best(checks)
    first = next(iter(checks.values())).by_frequency
    by = first[["frequency", "customers", "actual"]].copy()
    for name, c in checks.items():
        by[f"predicted_{name}"] = c.by_frequency["predicted"].to_numpy()
    return ModelComparison(checks, errors, end.date(), last.date(), table, by)
