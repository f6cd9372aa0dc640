"""Fit time of each lifetime-value model: `run() -> str` returns a markdown section for benchmarks/RESULTS.md.

Data: the real Online Retail (../shared/data/online_retail.parquet, through the pipeline at the default settings:
every customer after cleaning, the whole year) and the CDNOW sample (../shared/data/cdnow_sample.csv, 2,357
customers, the published 39-week calibration); a file that is absent is left out (the section says so when both
are). Every fit is timed in this process (the data are read once); the figure is the median of ``repeats`` fits.
Also timed: the model comparison on the default holdout (three fits on the calibration period plus the holdout
predictions) and the app's whole first fit (`fit_clv` with auto: the comparison, then the best model refitted on
the whole history).

Run alone: `python benchmarks/clv_models.py [--repeats N]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))


def _chosen(cmp: Any) -> str:
    """What the comparison chose, in the app's words: a tie at the shown precision is called a tie (the app and the
    `clv` CLI say so too), not "best"."""
    from rfm_core.clv import MODEL_LABELS

    if cmp.tied:
        return f"tie: {', '.join(MODEL_LABELS[n] for n in cmp.tied)}; {MODEL_LABELS[cmp.best]} chosen"
    return f"best: {MODEL_LABELS[cmp.best]}"


def _median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def _fmt(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _datasets() -> list[tuple[str, Any, dt.date | None]]:
    from rfm_core import AnalysisSettings, CleaningPolicy, analyze

    out: list[tuple[str, Any, dt.date | None]] = []
    retail = SHARED / "online_retail.parquet"
    if retail.exists():
        tx = analyze(retail, warn=False).cleaned.transactions
        out.append(("Online Retail (real), whole year", tx, None))
    cdnow = SHARED / "cdnow_sample.csv"
    if cdnow.exists():
        settings = AnalysisSettings(mapping=(("amount", "dollar_value"),),
                                    cleaning=CleaningPolicy(drop_duplicates=False))
        tx = analyze(cdnow, settings, warn=False).cleaned.transactions
        out.append(("CDNOW sample, 39 weeks to 1997-09-30", tx, dt.date(1997, 9, 30)))
    return out


def run(repeats: int = 3) -> str:
    """The markdown section: one row per data set and model, then the comparison and the app's first fit."""
    from rfm_core.clv import (
        MODEL_LABELS,
        MODEL_NAMES,
        compare_models,
        fit_clv,
        fit_gamma_gamma,
        fit_model,
        model_summary,
    )

    lines = ["## Lifetime value models", "",
             f"Fit time per model, median of {repeats} fits in one process (data read once; time unit weeks). "
             "`2ΔlogL` is the likelihood-ratio statistic against no dropout (below 2.71: no measurable dropout).", "",
             "| data | customers | model | fit | parameters | log-likelihood | 2ΔlogL |",
             "|---|---|---|---|---|---|---|"]
    extra = ["", "| data | step | time |", "|---|---|---|"]
    data = _datasets()
    if not data:
        return "\n".join([*lines[:2], "../shared/data is absent: nothing measured.", ""])
    for label, tx, end in data:
        summary = model_summary(tx, end)
        for name in MODEL_NAMES:
            seconds, model = _median_time(partial(fit_model, name, summary), repeats)
            params = ", ".join(f"{k} {v:.4g}" for k, v in model.params().items())
            lines.append(f"| {label} | {len(summary):,} | {MODEL_LABELS[name]} | {_fmt(seconds)} | {params} | "
                         f"{model.log_likelihood:,.2f} | {model.dropout_lr:.2f} |")
        seconds, gg = _median_time(partial(fit_gamma_gamma, summary), repeats)
        lines.append(f"| {label} | {gg.customers:,} repeat | Gamma-Gamma | {_fmt(seconds)} | "
                     + ", ".join(f"{k} {v:.4g}" for k, v in gg.params().items()) + f" | {gg.log_likelihood:,.2f} | |")
        seconds, cmp = _median_time(partial(compare_models, tx, end), repeats)
        extra.append(f"| {label} | three models compared on the holdout {cmp.calibration_end} to {cmp.holdout_end} "
                     f"({_chosen(cmp)}) | {_fmt(seconds)} |")
        if end is None:
            seconds, _ = _median_time(partial(fit_clv, tx, model="auto", fit_all=False), repeats)
            extra.append(f"| {label} | the app's first fit (comparison + best refitted on the whole year) | "
                         f"{_fmt(seconds)} |")
    return "\n".join([*lines, *extra, ""])


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=3)
    print(run(ap.parse_args().repeats))
