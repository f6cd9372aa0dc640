"""Customer lifetime value: purchase models (BG/NBD, MBG/NBD, Pareto/NBD) behind one interface, Gamma-Gamma for
spend, model choice on a holdout, and discounted CLV with its caveats. See DOCUMENTATION.md §14.

Modules: :mod:`.summary` (the x, t_x, T summary), :mod:`.models` (the purchase models and their fit),
:mod:`.gamma_gamma` (spend), :mod:`.holdout` (holdout checks and model comparison), :mod:`.value` (the CLV
table), :mod:`.simulate` (each model's story, for checks), :mod:`.mle` (maximum likelihood shared by all).
"""

from __future__ import annotations

from .gamma_gamma import GammaGamma, fit_gamma_gamma
from .holdout import (
    HoldoutCheck,
    ModelComparison,
    calibration_bounds,
    calibration_choices,
    compare_models,
    default_calibration_end,
    holdout_check,
)
from .models import (
    MODEL_LABELS,
    MODEL_NAMES,
    BgNbd,
    MbgNbd,
    ModelName,
    ParetoNbd,
    PurchaseModel,
    fit_bgnbd,
    fit_mbgnbd,
    fit_model,
    fit_pareto_nbd,
)
from .simulate import simulate
from .summary import DAYS_PER_UNIT, MEAN_REPEAT_SPEND, T_AGE, T_X, TimeUnit, X, model_summary
from .value import (
    BY_CONSTRUCTION,
    MODEL_CHOICES,
    ClvFit,
    ClvResult,
    ModelChoice,
    clv_by_segment,
    clv_table,
    fit_clv,
    predict_clv,
)

__all__ = [
    "BY_CONSTRUCTION",
    "DAYS_PER_UNIT",
    "MEAN_REPEAT_SPEND",
    "MODEL_CHOICES",
    "MODEL_LABELS",
    "MODEL_NAMES",
    "T_AGE",
    "T_X",
    "BgNbd",
    "ClvFit",
    "ClvResult",
    "GammaGamma",
    "HoldoutCheck",
    "MbgNbd",
    "ModelChoice",
    "ModelComparison",
    "ModelName",
    "ParetoNbd",
    "PurchaseModel",
    "TimeUnit",
    "X",
    "calibration_bounds",
    "calibration_choices",
    "clv_by_segment",
    "clv_table",
    "compare_models",
    "default_calibration_end",
    "fit_bgnbd",
    "fit_clv",
    "fit_gamma_gamma",
    "fit_mbgnbd",
    "fit_model",
    "fit_pareto_nbd",
    "holdout_check",
    "model_summary",
    "predict_clv",
    "simulate",
]
