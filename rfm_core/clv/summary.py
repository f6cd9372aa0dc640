"""The customer summary the purchase models are fitted on: repeat purchase days, age at the last one, age now.

Per customer, purchases are grouped by calendar day (invoices on one day are one purchase occasion, as in the
published CDNOW analyses); time is measured in units of ``D`` days, ``W`` weeks or ``M`` months (365.25/12 days).
The columns carry the literature's names so they never collide with RFM's recency/frequency/monetary:

- ``x``: number of repeat purchase days (distinct purchase days minus one);
- ``t_x``: age at the last purchase day (last minus first purchase day);
- ``T``: age at the end of the calibration period (its end minus the first purchase day);
- ``mean_repeat_spend``: mean revenue of the repeat purchase days (0 when there are none) -- the Gamma-Gamma
  model's m_x (Fader & Hardie 2013).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
import pandas as pd

from ..columns import AMOUNT, CUSTOMER_ID, INVOICE_DATE, IS_RETURN
from ..errors import ModelFitError

__all__ = [
    "DAYS_PER_UNIT",
    "MEAN_REPEAT_SPEND",
    "T_AGE",
    "T_X",
    "TimeUnit",
    "X",
    "model_summary",
    "purchase_days",
    "summary_from_days",
]

TimeUnit = Literal["D", "W", "M"]
DAYS_PER_UNIT: dict[str, float] = {"D": 1.0, "W": 7.0, "M": 365.25 / 12}

#: Column names of the model summary (the literature's notation).
X = "x"
T_X = "t_x"
T_AGE = "T"
MEAN_REPEAT_SPEND = "mean_repeat_spend"

DAY = "day"
REVENUE = "revenue"


def purchase_days(transactions: pd.DataFrame) -> pd.DataFrame:
    """One row per customer and purchase day: ``customer_id, day, revenue`` (the day's summed line revenue).

    Returns (``is_return``) are not purchases. Zero-value purchases are purchase occasions (they count as a day).
    """
    tx = transactions
    if IS_RETURN in tx.columns:
        tx = tx[~tx[IS_RETURN].to_numpy(dtype=bool)]
    frame = pd.DataFrame({CUSTOMER_ID: tx[CUSTOMER_ID].astype(str).to_numpy(),
                          DAY: tx[INVOICE_DATE].dt.normalize().to_numpy(),
                          REVENUE: tx[AMOUNT].to_numpy(dtype="float64")})
    return frame.groupby([CUSTOMER_ID, DAY], sort=False, as_index=False).agg(revenue=(REVENUE, "sum"))


def summary_from_days(days: pd.DataFrame, end: pd.Timestamp, unit: TimeUnit) -> pd.DataFrame:
    """:func:`model_summary` from :func:`purchase_days` output (callers that need the days too compute them once).

    Raises
    ------
    ModelFitError
        No purchase falls on or before ``end``.
    """
    days = days[days[DAY] <= end]
    if days.empty:
        raise ModelFitError("No purchases fall in the calibration period; choose a later calibration end.")
    g = days.groupby(CUSTOMER_ID, sort=True)
    first, last, n = g[DAY].min(), g[DAY].max(), g.size()
    total = g[REVENUE].sum()
    first_day_revenue = days.sort_values(DAY).groupby(CUSTOMER_ID, sort=True)[REVENUE].first()
    repeat = n - 1
    per = DAYS_PER_UNIT[unit]
    out = pd.DataFrame({
        X: repeat.astype("int64"),
        T_X: (last - first).dt.days / per,
        T_AGE: (end - first).dt.days / per,
        MEAN_REPEAT_SPEND: np.where(repeat > 0, (total - first_day_revenue) / repeat.where(repeat > 0, 1), 0.0),
    })
    out.index.name = CUSTOMER_ID
    return out.reset_index()


def model_summary(transactions: pd.DataFrame, calibration_end: dt.date | None = None,
                  unit: TimeUnit = "W") -> pd.DataFrame:
    """The purchase-model customer summary from used transactions.

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
        One row per customer, sorted by id: ``customer_id, x, t_x, T, mean_repeat_spend`` (t_x and T in ``unit``,
        spend in the currency of ``amount``).

    Raises
    ------
    ModelFitError
        No purchase on or before the calibration end.
    """
    days = purchase_days(transactions)
    if days.empty:
        raise ModelFitError("There are no purchases to model (every used row is a return).")
    end = pd.Timestamp(calibration_end) if calibration_end else days[DAY].max()
    return summary_from_days(days, end, unit)
