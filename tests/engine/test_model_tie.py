"""A tie in the model comparison is said as a tie (issue 14 leftovers, item 4): models whose error per customer is
equal at the 3 decimals shown tie; the one used is the smallest |total error|, else the first in the list."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pandas as pd

from rfm_core.clv.holdout import HoldoutCheck, ModelComparison

D0, D1 = dt.date(2011, 9, 6), dt.date(2011, 12, 9)


def _check(label: str, mae: float, predicted: float, actual: int = 1000) -> HoldoutCheck:
    model: Any = SimpleNamespace(label=label)
    return HoldoutCheck(pd.DataFrame(), predicted, actual, 500, D0, D1, model, mae)


def _comparison(**checks: HoldoutCheck) -> ModelComparison:
    return ModelComparison(dict(checks), {}, D0, D1, pd.DataFrame(), pd.DataFrame())


def test_equal_at_three_decimals_is_a_tie_and_the_smaller_total_error_is_used() -> None:
    # MAE 0.4124 and 0.4121 both show as 0.412: a tie. BG/NBD total error (1050-1000)/1000 = +5.0 %, MBG/NBD
    # (969-1000)/1000 = -3.1 %: MBG/NBD has the lower MAE anyway, so it is best; Pareto/NBD (0.500) is not tied.
    cmp = _comparison(bgnbd=_check("BG/NBD", 0.4124, 1050), mbgnbd=_check("MBG/NBD", 0.4121, 969),
                      pareto_nbd=_check("Pareto/NBD", 0.5, 1000))
    assert cmp.best == "mbgnbd"
    assert cmp.tied == ("mbgnbd", "bgnbd")
    assert cmp.tie_note() == ("MBG/NBD and BG/NBD tie on the holdout (error per customer 0.412 purchase days each); "
                              "MBG/NBD is used, chosen by the smallest total error in the holdout (3.1%, 5.0%).")


def test_identical_fits_tie_and_the_list_order_decides() -> None:
    # BG/NBD and MBG/NBD identical (no dropout estimated): same MAE, same total error (+2.0 %).
    cmp = _comparison(bgnbd=_check("BG/NBD", 0.3, 1020), mbgnbd=_check("MBG/NBD", 0.3, 1020),
                      pareto_nbd=_check("Pareto/NBD", 0.3004, 980))
    assert cmp.best == "bgnbd"  # equal (mae, |total error|): the first in the list
    assert cmp.tied == ("bgnbd", "mbgnbd", "pareto_nbd")
    note = cmp.tie_note()
    assert note is not None and note.startswith("BG/NBD, MBG/NBD and Pareto/NBD tie on the holdout (error per "
                                                "customer 0.300")
    assert note.endswith("BG/NBD is used, chosen by the order BG/NBD, MBG/NBD, Pareto/NBD (their total errors tie "
                         "too).")


def test_a_clear_best_is_no_tie() -> None:
    cmp = _comparison(bgnbd=_check("BG/NBD", 0.4126, 1000), mbgnbd=_check("MBG/NBD", 0.4114, 1000))
    # 0.413 vs 0.411 at three decimals: different.
    assert cmp.best == "mbgnbd" and cmp.tied == () and cmp.tie_note() is None
