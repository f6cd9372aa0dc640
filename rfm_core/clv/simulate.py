"""Customers simulated from each model's story, to check fits and closed forms against something independent.

The simulation follows the generative story event by event (draw a customer's rates, then purchase times and
dropout), never the closed forms, so agreement between the two is evidence for both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .models import BgNbd, MbgNbd, ParetoNbd, PurchaseModel
from .summary import T_AGE, T_X, X

__all__ = ["simulate"]


def simulate(model: PurchaseModel, n: int, T: float | np.ndarray, seed: int = 0, extra: float = 0.0) -> pd.DataFrame:
    """``n`` customers from ``model``'s story, each observed for ``T`` units after a first purchase at 0.

    Returns
    -------
    DataFrame
        ``x, t_x, T`` (the summary a fit sees); ``later``: purchases in (T, T + extra]; ``alive``: still active
        at T; ``next_gap``: time from T to the next event of the customer's purchase process (whether or not the
        customer is active by then; for an active BG/NBD or MBG/NBD customer it is the next purchase).

    Stories: lambda ~ Gamma(r, rate alpha); BG/NBD: after each repeat purchase leave with p ~ Beta(a, b);
    MBG/NBD: after every purchase, the first included; Pareto/NBD: leave at an Exp(mu) time, mu ~ Gamma(s, beta).
    """
    rng = np.random.default_rng(seed)
    Ts = np.broadcast_to(np.asarray(T, dtype="float64"), (n,))
    lam = rng.gamma(model.r, 1 / model.alpha, n)
    freq = np.zeros(n, dtype=np.int64)
    rec = np.zeros(n)
    later = np.zeros(n, dtype=np.int64)
    alive = np.ones(n, dtype=bool)
    if isinstance(model, BgNbd | MbgNbd):
        p = rng.beta(model.a, model.b, n)
        for i in range(n):
            gone_at = np.inf if (isinstance(model, BgNbd) or rng.random() >= p[i]) else 0.0
            t = 0.0
            while True:
                t += rng.exponential(1 / lam[i])
                if gone_at < np.inf or t > Ts[i] + extra:
                    break
                if t <= Ts[i]:
                    freq[i] += 1
                    rec[i] = t
                else:
                    later[i] += 1
                if rng.random() < p[i]:
                    gone_at = t  # left right after this purchase
            alive[i] = gone_at > Ts[i]
    elif isinstance(model, ParetoNbd):
        mu = rng.gamma(model.s, 1 / model.beta, n)
        lifetime = rng.exponential(1 / mu)
        for i in range(n):
            t = 0.0
            while True:
                t += rng.exponential(1 / lam[i])
                if t > min(lifetime[i], Ts[i] + extra):
                    break
                if t <= Ts[i]:
                    freq[i] += 1
                    rec[i] = t
                else:
                    later[i] += 1
        alive = lifetime > Ts
    else:  # pragma: no cover - every model is listed above
        raise TypeError(type(model).__name__)
    # Memoryless: from T, the purchase process's next event is Exp(lambda) away.
    gap = rng.exponential(1 / lam)
    return pd.DataFrame({X: freq, T_X: rec, T_AGE: Ts.copy(), "later": later, "alive": alive, "next_gap": gap})
