"""Purchase models behind one interface: BG/NBD, MBG/NBD and Pareto/NBD.

Every model tells the same story with a different dropout process. While active, a customer buys at a constant
rate lambda ~ Gamma(r, rate alpha) across customers (purchases form a Poisson process). Then:

- **BG/NBD** (Fader, Hardie & Lee 2005, "Counting your customers the easy way", Marketing Science 24(2)): after
  each *repeat* purchase the customer leaves with probability p ~ Beta(a, b). A customer without a repeat
  purchase cannot have left, so P(alive) = 1 for x = 0 *by construction*.
- **MBG/NBD** (Batislam, Denizel & Filiztekin 2007, "Empirical validation and comparison of models for customer
  base analysis", IJRM 24(3)): as BG/NBD, but the customer may also leave right after the *first* purchase, so a
  one-time buyer from long ago is probably gone.
- **Pareto/NBD** (Schmittlein, Morrison & Colombo 1987, Management Science 33(1)): the customer leaves at an
  exponential time with rate mu ~ Gamma(s, rate beta), independent of purchases; likelihood as in Fader, Hardie
  & Lee (2005), "A note on implementing the Pareto/NBD model in MATLAB".

The interface (:class:`PurchaseModel`): ``params()``, ``p_alive(x, t_x, T)``, ``expected_purchases(t, x, t_x, T)``
(conditional on the history), ``expected_purchases_new(t)`` (a customer who just made a first purchase),
``p_alive_by_construction(x)``, ``days_to_next_purchase(x, T)``, ``no_dropout`` and ``dropout_summary()``;
:func:`fit_model` fits any of them by maximum likelihood with the same refusals (:class:`ModelFitError`).

Notation: ``x`` repeat purchases, ``t_x`` age at the last purchase, ``T`` age at the end of the calibration
period, ``t`` a length of time after ``T``; all times in the model's unit (:mod:`.summary`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import mpmath
import numpy as np
import pandas as pd
from scipy import special

from ..errors import ModelFitError
from .mle import maximise
from .summary import DAYS_PER_UNIT, T_AGE, T_X, TimeUnit, X

__all__ = [
    "MIN_REPEAT_CUSTOMERS",
    "MODEL_LABELS",
    "MODEL_NAMES",
    "BgNbd",
    "MbgNbd",
    "ModelName",
    "ParetoNbd",
    "PurchaseModel",
    "fit_bgnbd",
    "fit_mbgnbd",
    "fit_model",
    "fit_pareto_nbd",
]

ModelName = Literal["bgnbd", "mbgnbd", "pareto_nbd"]
MODEL_NAMES: tuple[ModelName, ...] = ("bgnbd", "mbgnbd", "pareto_nbd")
MODEL_LABELS: dict[str, str] = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "pareto_nbd": "Pareto/NBD"}
MIN_REPEAT_CUSTOMERS = 30
#: Below this mean chance of leaving (per purchase occasion, or within a year for Pareto/NBD) the fit has found
#: no measurable dropout: the model is at its NBD limit and P(alive) carries no information.
NO_DROPOUT = 1e-4
#: 5% critical value of the likelihood ratio against no dropout (chi-square(1) 90% point, boundary parameter).
LR_CRITICAL = 2.706

Array = np.ndarray


def _arrays(*values: object) -> tuple[Array, ...]:
    return tuple(np.asarray(v, dtype="float64") for v in values)


@dataclass(frozen=True)
class PurchaseModel(ABC):
    """A fitted purchase model: parameters in the time unit ``unit``, the fit's log-likelihood and SEs."""

    name: ClassVar[ModelName]
    label: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]]

    r: float
    alpha: float
    unit: TimeUnit = field(default="W", kw_only=True)
    log_likelihood: float = field(default=float("nan"), kw_only=True)
    std_errors: dict[str, float] = field(default_factory=dict, kw_only=True)
    #: The log-likelihood of the same customers at the model's no-dropout limit (the NBD), fitted too.
    nbd_log_likelihood: float = field(default=float("nan"), kw_only=True)

    def params(self) -> dict[str, float]:
        """The parameters by their published names, e.g. ``{"r": ..., "alpha": ..., "a": ..., "b": ...}``."""
        return {n: float(getattr(self, n)) for n in self.param_names}

    @staticmethod
    @abstractmethod
    def loglik(params: Array, x: Array, t_x: Array, T: Array) -> Array:
        """Per-customer log-likelihood at the natural parameters ``params`` (in ``param_names`` order)."""

    @abstractmethod
    def p_alive(self, x: object, t_x: object, T: object) -> Array:
        """P(the customer is still active at T | x, t_x, T), per customer."""

    @abstractmethod
    def expected_purchases(self, t: object, x: object, t_x: object, T: object) -> Array:
        """E[number of purchases in (T, T + t] | x, t_x, T], per customer."""

    @abstractmethod
    def expected_purchases_new(self, t: object) -> Array:
        """E[X(t)]: repeat purchases in (0, t] of a customer who made a first purchase at 0."""

    @property
    @abstractmethod
    def at_nbd_limit(self) -> bool:
        """The dropout parameters are at the no-dropout limit (the NBD), where the closed forms lose precision."""

    @property
    def dropout_lr(self) -> float:
        """Likelihood-ratio statistic of the fit against no dropout, 2 (log L - log L_NBD); NaN if not known."""
        return 2 * (self.log_likelihood - self.nbd_log_likelihood)

    @property
    def no_dropout(self) -> bool:
        """The fit found no measurable dropout: the parameters are at the NBD limit, or the fit is not
        significantly better than the NBD at the 5% level (likelihood ratio below 2.71, the 5% point of the 50:50
        mixture of chi-square(0) and chi-square(1) that applies to a parameter on the boundary; Self & Liang 1987).
        Then P(alive) carries no information and is not reported."""
        lr = self.dropout_lr
        return self.at_nbd_limit or (bool(np.isfinite(lr)) and lr < LR_CRITICAL)

    @abstractmethod
    def dropout_summary(self) -> str:
        """The fitted dropout in words, for the page and the CLI."""

    def p_alive_by_construction(self, x: object) -> Array:
        """True where P(alive) = 1 follows from the model's structure, not from the customer's data."""
        return np.zeros(np.shape(np.asarray(x)), dtype=bool)

    def days_to_next_purchase(self, x: object, T: object) -> Array:
        """Median days from T to the next purchase of a customer who is still active, for x >= 1 (NaN for x = 0).

        Given that the customer is active at T, in every model here the purchase rate's posterior is
        lambda ~ Gamma(r + x, rate alpha + T) (the active part of the likelihood is lambda^x e^(-lambda T)), and
        the wait for the next purchase is exponential with that rate. Mixed over the posterior the wait is Lomax:
        P(W > w) = ((alpha + T) / (alpha + T + w))^(r + x), whose median is (alpha + T)(2^(1/(r+x)) - 1). The
        median, not the mean, because the wait is heavy-tailed (its mean (alpha + T)/(r + x - 1) is dominated by
        a few very slow buyers and is infinite for r + x <= 1). Future dropout is ignored: combine with P(alive).
        """
        xa, Ta = _arrays(x, T)
        median = (self.alpha + Ta) * np.expm1(np.log(2.0) / (self.r + xa))
        return np.where(xa >= 1, median * DAYS_PER_UNIT[self.unit], np.nan)

    def _year(self) -> float:
        return 365.25 / DAYS_PER_UNIT[self.unit]


# ------------------------------------------------------------------------------------------ BG/NBD and MBG/NBD

#: Counts of 2F1 values recomputed with mpmath (for the tests and the benchmark: they should stay rare).
HYP2F1_FALLBACKS = {"calls": 0, "values": 0}


def _hyp2f1(a: object, b: object, c: object, z: object) -> Array:
    """Gauss's 2F1(a, b; c; z) for 0 <= z < 1: scipy's, with mpmath where scipy is known to fail.

    scipy 1.17's hyp2f1 returns inf, NaN or values off by up to 2% when z > 0.9 and c - a - b is an integer (its
    1 - z transformation degenerates), and NaN or values off by up to 6e-5 for 2F1(1, b; c; z) with b > 50 and z
    near 1 (measured against mpmath at 30 digits in a scan of the parameter ranges the models use). Those values,
    and any non-finite one, are recomputed with mpmath (about 0.1 ms each).
    """
    aa, bb, cc, zz = np.broadcast_arrays(*(np.asarray(v, dtype="float64") for v in (a, b, c, z)))
    out = np.array(special.hyp2f1(aa, bb, cc, zz), dtype="float64")
    cab = cc - aa - bb
    risky = ~np.isfinite(out) | ((zz > 0.9) & ((np.abs(cab - np.round(cab)) < 1e-6) | ((aa == 1) & (bb > 50))))
    if risky.any():
        HYP2F1_FALLBACKS["calls"] += 1
        for i in np.flatnonzero(risky):
            HYP2F1_FALLBACKS["values"] += 1
            out.flat[i] = float(mpmath.hyp2f1(aa.flat[i], bb.flat[i], cc.flat[i], zz.flat[i]))
    return out


def _bg_alive_expectation(k: Array, scale: Array, a: float, B: Array, t: Array) -> Array:
    """E[purchases in the next t | active now] when lambda ~ Gamma(k, rate scale) and the chance of leaving after
    each purchase p ~ Beta(a, B): E[(1 - e^(-lambda p t)) / p] =
    (a + B - 1)/(a - 1) [1 - (scale/(scale + t))^k 2F1(k, B; a + B - 1; t/(scale + t))]
    (Fader, Hardie & Lee 2005, eq. 10 with k = r + x, scale = alpha + T, B = b + x). The 2F1 term is evaluated
    after Euler's transformation, (1 - z)^(a-1) 2F1(a + B - 1 - k, a - 1; a + B - 1; z), which keeps x out of the
    exponents so it neither overflows nor loses precision for frequent buyers. At a = 1 the closed form is 0/0;
    it is evaluated at a -+ 1e-5 and averaged when |a - 1| < 1e-6 (the function is smooth in a).
    """
    if abs(a - 1.0) < 1e-6:
        below = _bg_alive_expectation(k, scale, 1.0 - 1e-5, B, t)
        mean: Array = (below + _bg_alive_expectation(k, scale, 1.0 + 1e-5, B, t)) / 2
        return mean
    z = t / (scale + t)
    c = a + B - 1
    hyp = _hyp2f1(c - k, a - 1, c, z)
    return np.asarray(c / (a - 1) * (1 - np.exp((a - 1) * np.log1p(-z)) * hyp))


@dataclass(frozen=True)
class BgNbd(PurchaseModel):
    """BG/NBD: lambda ~ Gamma(r, alpha); after each repeat purchase, leave with p ~ Beta(a, b)."""

    name: ClassVar[ModelName] = "bgnbd"
    label: ClassVar[str] = "BG/NBD"
    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")

    a: float
    b: float

    @staticmethod
    def loglik(params: Array, x: Array, t_x: Array, T: Array) -> Array:
        """Eq. 6 of Fader, Hardie & Lee (2005) in log space, the beta-function ratios as betaln differences:
        L = B(a, b+x)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+T)^(r+x))
            + [x > 0] B(a+1, b+x-1)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+t_x)^(r+x))."""
        r, alpha, a, b = params
        ln_a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        alive = special.betaln(a, b + x) - special.betaln(a, b) - (r + x) * np.log(alpha + T)
        left = (special.betaln(a + 1, np.maximum(b + x - 1, 1e-300)) - special.betaln(a, b)
                - (r + x) * np.log(alpha + t_x))
        return np.asarray(ln_a1 + np.where(x > 0, np.logaddexp(alive, left), alive))

    @property
    def at_nbd_limit(self) -> bool:
        """Mean chance of leaving after a repeat purchase, a / (a + b), below 1e-4: the NBD limit, where
        expected purchases are (r + x)/(alpha + T) per unit of time and P(alive) carries no information."""
        return self.a / (self.a + self.b) < NO_DROPOUT

    def dropout_summary(self) -> str:
        return f"mean chance of leaving after a repeat purchase a/(a+b) = {self.a / (self.a + self.b):.1%}"

    def p_alive(self, x: object, t_x: object, T: object) -> Array:
        """1 / (1 + [x > 0] a/(b + x - 1) ((alpha + T)/(alpha + t_x))^(r + x)) (Fader, Hardie & Lee 2005, eq. 13;
        Fader, Hardie & Lee 2008, "Computing P(alive) using the BG/NBD model"); 1 for x = 0 by construction."""
        xa, ta, Ta = _arrays(x, t_x, T)
        log_odds = (np.log(self.a) - np.log(np.maximum(self.b + xa - 1, 1e-300))
                    + (self.r + xa) * (np.log(self.alpha + Ta) - np.log(self.alpha + ta)))
        return np.asarray(np.where(xa > 0, special.expit(-log_odds), 1.0))

    def p_alive_by_construction(self, x: object) -> Array:
        """Customers without a repeat purchase: BG/NBD lets a customer leave only after a repeat purchase."""
        return np.asarray(np.asarray(x) == 0)

    def expected_purchases(self, t: object, x: object, t_x: object, T: object) -> Array:
        """P(alive) x the expectation for an active customer (Fader, Hardie & Lee 2005, eq. 10)."""
        ta, xa, txa, Ta = _arrays(t, x, t_x, T)
        if self.at_nbd_limit:  # the exact limit; the general formula loses precision as a -> 0
            return np.asarray((self.r + xa) / (self.alpha + Ta) * ta)
        alive = _bg_alive_expectation(self.r + xa, self.alpha + Ta, self.a, self.b + xa, ta)
        return np.asarray(self.p_alive(xa, txa, Ta) * alive)

    def expected_purchases_new(self, t: object) -> Array:
        """(a + b - 1)/(a - 1) [1 - (alpha/(alpha + t))^r 2F1(r, b; a + b - 1; t/(alpha + t))] (eq. 9)."""
        (ta,) = _arrays(t)
        return _bg_alive_expectation(np.asarray(self.r), np.asarray(self.alpha), self.a, np.asarray(self.b), ta)


@dataclass(frozen=True)
class MbgNbd(PurchaseModel):
    """MBG/NBD: as BG/NBD, but the customer may leave after every purchase, the first included."""

    name: ClassVar[ModelName] = "mbgnbd"
    label: ClassVar[str] = "MBG/NBD"
    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")

    a: float
    b: float

    @staticmethod
    def loglik(params: Array, x: Array, t_x: Array, T: Array) -> Array:
        """Batislam, Denizel & Filiztekin (2007), eq. 3: the customer survived x + 1 purchase occasions and is
        active at T, or left right after the last one at t_x:
        L = G(r+x) alpha^r / G(r) * [B(a, b+x+1)/B(a, b) (alpha+T)^-(r+x) + B(a+1, b+x)/B(a, b) (alpha+t_x)^-(r+x)].
        """
        r, alpha, a, b = params
        ln_a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        alive = special.betaln(a, b + x + 1) - special.betaln(a, b) - (r + x) * np.log(alpha + T)
        left = special.betaln(a + 1, b + x) - special.betaln(a, b) - (r + x) * np.log(alpha + t_x)
        return np.asarray(ln_a1 + np.logaddexp(alive, left))

    @property
    def at_nbd_limit(self) -> bool:
        """Mean chance of leaving after a purchase, a / (a + b), below 1e-4 (as for BG/NBD)."""
        return self.a / (self.a + self.b) < NO_DROPOUT

    def dropout_summary(self) -> str:
        share = self.a / (self.a + self.b)
        return f"mean chance of leaving after each purchase (the first included) a/(a+b) = {share:.1%}"

    def p_alive(self, x: object, t_x: object, T: object) -> Array:
        """1 / (1 + a/(b + x) ((alpha + T)/(alpha + t_x))^(r + x)) for every x, one-time buyers included."""
        xa, ta, Ta = _arrays(x, t_x, T)
        log_odds = (np.log(self.a) - np.log(self.b + xa)
                    + (self.r + xa) * (np.log(self.alpha + Ta) - np.log(self.alpha + ta)))
        return np.asarray(special.expit(-log_odds))

    def expected_purchases(self, t: object, x: object, t_x: object, T: object) -> Array:
        """P(alive) x the BG/NBD expectation for an active customer with p ~ Beta(a, b + x + 1): active now means
        x + 1 purchase occasions survived (Batislam et al. 2007, eq. 6)."""
        ta, xa, txa, Ta = _arrays(t, x, t_x, T)
        if self.at_nbd_limit:
            return np.asarray((self.r + xa) / (self.alpha + Ta) * ta)
        alive = _bg_alive_expectation(self.r + xa, self.alpha + Ta, self.a, self.b + xa + 1, ta)
        return np.asarray(self.p_alive(xa, txa, Ta) * alive)

    def expected_purchases_new(self, t: object) -> Array:
        """b/(a - 1) [1 - (alpha/(alpha + t))^r 2F1(r, b + 1; a + b; t/(alpha + t))] (Batislam et al. 2007, eq. 5):
        the chance b/(a + b) of surviving the first purchase times the BG/NBD expectation with p ~ Beta(a, b+1)."""
        (ta,) = _arrays(t)
        survive = self.b / (self.a + self.b)
        return np.asarray(survive * _bg_alive_expectation(np.asarray(self.r), np.asarray(self.alpha), self.a,
                                                          np.asarray(self.b + 1), ta))


# -------------------------------------------------------------------------------------------------- Pareto/NBD

_SERIES_TERMS = 24


def _pareto_log_integral(r: float, alpha: float, s: float, beta: float, x: Array, t_x: Array, T: Array) -> Array:
    """log I, I = integral over y in [t_x, T] of (alpha+y)^-(r+x) (beta+y)^-(s+1) dy; -inf where t_x = T.

    With d = |alpha - beta|, B = max(alpha, beta), m = r + s + x and e = s + 1 (alpha >= beta) or r + x
    (alpha < beta), the substitution u = z(y) = d/(B + y) turns I into d^-m times the integral of u^(m-1) (1-u)^-e
    over [z(T), z(t_x)]: the note's A0 = m I with its two branches.

    - Where z <= 0.9, or m is large, I = G(lo) - G(hi) with G(y) = (B+y)^-m / m * 2F1(m, e; m+1; z(y)), the 2F1
      taken after Euler's transformation, (1-z)^(1-e) 2F1(1, m+1-e; m+1; z), in logs so that a large x cannot
      overflow it.
    - Where z > 0.9 and m (1 - z) <= 2, scipy's 2F1 is up to 1000x slower (0.1 to 2 ms per value: it made a fit on
      Online Retail take minutes). That part of the range, from t_x up to where z falls to 0.9, is the binomial
      series d^-m * sum_k C(m-1, k) (-1)^k * integral of eps^(k-e) over the same range in eps = 1 - u <= 0.1,
      24 terms (the remainder is below (m eps)^24 / 24! < 3e-17 of the sum), each term in closed form with exprel
      (exact also at k = e - 1); the rest of the range, if any, takes the first way.
    Both are checked against numerical integration in the tests.
    """
    m = r + s + x
    d, big = abs(alpha - beta), max(alpha, beta)
    e = s + 1 + 0 * x if alpha >= beta else r + x
    z_tx, z_T = d / (big + t_x), d / (big + T)
    moving = t_x < T
    # Where z(y) = 0.9; the series covers [t_x, split], the closed form [split, T] (or all of [t_x, T]).
    split = np.clip(d / 0.9 - big, t_x, T)
    z_split = np.maximum(z_T, 0.9)
    series = moving & (z_tx > 0.9) & (m * (1 - z_split) <= 2)
    lo = np.where(series, split, t_x)
    closed = moving & (lo < T)
    part_closed = np.full(np.shape(x), -np.inf)
    part_series = np.full(np.shape(x), -np.inf)
    if np.any(closed):
        mc, ec = m[closed], e[closed]

        def log_g(y: Array) -> Array:
            z = d / (big + y)
            value: Array = (-mc * np.log(big + y) - np.log(mc) + (1 - ec) * np.log1p(-z)
                            + np.log(_hyp2f1(1.0, mc + 1 - ec, mc + 1, z)))
            return value

        g_lo, g_hi = log_g(lo[closed]), log_g(T[closed])
        part_closed[closed] = g_lo + np.log(-np.expm1(np.minimum(g_hi - g_lo, 0.0)))
    if np.any(series):
        ms, es = m[series], e[series]
        eps1, eps2 = 1 - z_tx[series], 1 - z_split[series]
        span = np.log(eps2 / eps1)
        log_j0 = (1 - es) * np.log(eps1) + np.log(span) + np.log(special.exprel((1 - es) * span))
        total = np.zeros_like(ms)
        coef = np.ones_like(ms)
        for k in range(_SERIES_TERMS):
            q = k + 1 - es
            log_jk = q * np.log(eps1) + np.log(span) + np.log(special.exprel(q * span))
            total += coef * np.exp(log_jk - log_j0)
            coef = coef * (k + 1 - ms) / (k + 1)  # C(m-1, k+1) (-1)^(k+1) from C(m-1, k) (-1)^k
        part_series[series] = -ms * np.log(d) + log_j0 + np.log(total)
    return np.asarray(np.logaddexp(part_closed, part_series))


@dataclass(frozen=True)
class ParetoNbd(PurchaseModel):
    """Pareto/NBD: lambda ~ Gamma(r, alpha); an exponential lifetime with rate mu ~ Gamma(s, beta)."""

    name: ClassVar[ModelName] = "pareto_nbd"
    label: ClassVar[str] = "Pareto/NBD"
    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")

    s: float
    beta: float

    @staticmethod
    def _log_parts(params: Array, x: Array, t_x: Array, T: Array) -> tuple[Array, Array, Array]:
        """log of G(r+x) alpha^r beta^s / G(r), of the active term (alpha+T)^-(r+x) (beta+T)^-s, and of the
        dropped-out term s I, I = integral over t_x..T of (alpha+y)^-(r+x) (beta+y)^-(s+1) dy (the customer left
        at y; s/(r+s+x) A0 in Fader, Hardie & Lee's MATLAB note, eq. 22 of Schmittlein et al. 1987)."""
        r, alpha, s, beta = params
        head = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        active = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        dropped = np.log(s) + _pareto_log_integral(r, alpha, s, beta, x, t_x, T)
        return np.asarray(head), np.asarray(active), np.asarray(dropped)

    @staticmethod
    def loglik(params: Array, x: Array, t_x: Array, T: Array) -> Array:
        """log L = log[G(r+x) alpha^r beta^s / G(r)] + log[(alpha+T)^-(r+x) (beta+T)^-s + s/(r+s+x) A0]."""
        head, active, dropped = ParetoNbd._log_parts(params, x, t_x, T)
        return np.asarray(head + np.logaddexp(active, dropped))

    @property
    def at_nbd_limit(self) -> bool:
        """The share of new customers who leave within a year, 1 - (beta/(beta + year))^s, below 1e-4."""
        return self._leave_within_year() < NO_DROPOUT

    def _leave_within_year(self) -> float:
        return float(-np.expm1(self.s * (np.log(self.beta) - np.log(self.beta + self._year()))))

    def dropout_summary(self) -> str:
        return f"share of new customers who leave within a year 1-(beta/(beta+1y))^s = {self._leave_within_year():.1%}"

    def p_alive(self, x: object, t_x: object, T: object) -> Array:
        """The active term over the likelihood: 1 / (1 + s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A0)."""
        xa, ta, Ta = _arrays(x, t_x, T)
        _, active, dropped = self._log_parts(np.array(list(self.params().values())), xa, ta, Ta)
        return np.asarray(special.expit(active - dropped))

    def expected_purchases(self, t: object, x: object, t_x: object, T: object) -> Array:
        """P(alive) (r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)] (Schmittlein et al. 1987,
        eq. 22). The bracket over (s - 1) is written u * exprel((1-s) u) with u = log(1 + t/(beta+T)), which is
        the same for s != 1 and its limit at s = 1."""
        ta, xa, txa, Ta = _arrays(t, x, t_x, T)
        u = np.log1p(ta / (self.beta + Ta))
        alive = (self.r + xa) / (self.alpha + Ta) * (self.beta + Ta) * u * special.exprel((1 - self.s) * u)
        if self.at_nbd_limit:
            return np.asarray(alive)
        return np.asarray(self.p_alive(xa, txa, Ta) * alive)

    def expected_purchases_new(self, t: object) -> Array:
        """r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)] (Schmittlein et al. 1987, eq. 17), via exprel."""
        (ta,) = _arrays(t)
        u = np.log1p(ta / self.beta)
        return np.asarray(self.r / self.alpha * self.beta * u * special.exprel((1 - self.s) * u))


# ---------------------------------------------------------------------------------------------------- fitting

MODELS: dict[str, type[PurchaseModel]] = {"bgnbd": BgNbd, "mbgnbd": MbgNbd, "pareto_nbd": ParetoNbd}


def fit_model(name: str, summary: pd.DataFrame, unit: TimeUnit = "W", start: PurchaseModel | None = None
              ) -> PurchaseModel:
    """Maximum-likelihood fit of the model ``name`` (``bgnbd``, ``mbgnbd`` or ``pareto_nbd``) on a summary.

    Parameters
    ----------
    summary : DataFrame
        One row per customer with ``x, t_x, T`` (:func:`rfm_core.clv.model_summary`).
    unit : time unit of ``t_x`` and ``T``; the parameters alpha (and beta) are in the same unit.
    start : a fit of the same model on similar data (same unit), used as the only starting point unless it found
        no measurable dropout.

    Returns
    -------
    PurchaseModel
        Parameters, the maximised log-likelihood and asymptotic standard errors.

    Raises
    ------
    ModelFitError
        Fewer than 30 customers with a repeat purchase, no history, no convergence, or a parameter at the edge of
        the parameter space other than the no-dropout limit; the message says what to do.
    """
    if name not in MODELS:
        raise ModelFitError(f"Unknown model {name!r}; choose one of {', '.join(MODELS)}.")
    cls = MODELS[name]
    x = summary[X].to_numpy(dtype="float64")
    T = summary[T_AGE].to_numpy(dtype="float64")
    repeaters = int((x > 0).sum())
    if repeaters < MIN_REPEAT_CUSTOMERS:
        raise ModelFitError(
            f"Only {repeaters} customers bought on more than one day (at least {MIN_REPEAT_CUSTOMERS} are needed to "
            "estimate how often customers come back). Use a longer history or more customers.")
    if len(T) == 0 or np.all(T <= 0):
        raise ModelFitError("Every customer's first purchase is on the last day; there is no history to model.")
    # Identical (x, t_x, T) rows share a likelihood term: fit on the distinct ones with weights.
    frame = summary[[X, T_X, T_AGE]].astype("float64").value_counts().reset_index(name="w")
    xs, txs, Ts, w = (frame[c].to_numpy(dtype="float64") for c in (X, T_X, T_AGE, "w"))
    scale = max(float(np.mean(T)), 1e-6)

    def negll(log_params: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            value = -float(np.sum(w * cls.loglik(np.exp(log_params), xs, txs, Ts)))
        return value if np.isfinite(value) else 1e300

    vanish: tuple[str, ...]
    grow: tuple[str, ...]
    # Starts away from integers: 2F1 degenerates where c - a - b is an integer (see _hyp2f1).
    if cls is ParetoNbd:  # no dropout is s -> 0 or beta -> infinity
        first, vanish, grow = np.log([0.9, scale, 0.9, scale]), ("s",), ("beta",)
    else:  # no dropout is a -> 0 (b then no longer matters)
        first, vanish, grow = np.log([0.9, scale, 0.9, 1.1]), ("a",), ("b",)
    # A start at the no-dropout limit sits on a flat edge where BFGS cannot move: start afresh instead.
    warm = start is not None and isinstance(start, cls) and start.unit == unit and not start.no_dropout
    if warm:
        assert start is not None
        first = np.log(np.clip(list(start.params().values()), 1e-5, 1e5))
    params, ll, se = maximise(negll, first, list(cls.param_names), cls.label, may_vanish=vanish, may_grow=grow,
                              warm=warm, scale=1 / float(w.sum()))
    values = [float(v) for v in params]
    return cls(*values, unit=unit, log_likelihood=ll, std_errors=se,
               nbd_log_likelihood=_nbd_log_likelihood(xs, Ts, w, scale))


def _nbd_log_likelihood(x: Array, T: Array, w: Array, scale: float) -> float:
    """Maximised log-likelihood of the no-dropout limit shared by the three models (the NBD for the timing of
    repeat purchases): sum of w [log G(r+x) - log G(r) + r log alpha - (r+x) log(alpha+T)]."""
    def negll(lp: np.ndarray) -> float:
        r, alpha = np.exp(lp)
        value = -float(np.sum(w * (special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
                                   - (r + x) * np.log(alpha + T))))
        return value if np.isfinite(value) else 1e300

    try:
        _, ll, _ = maximise(negll, np.log([1.0, scale]), ["r", "alpha"], "NBD", scale=1 / float(w.sum()))
    except ModelFitError:
        return float("nan")
    return ll


def fit_bgnbd(summary: pd.DataFrame, unit: TimeUnit = "W") -> BgNbd:
    """Maximum-likelihood BG/NBD on ``x, t_x, T``; see :func:`fit_model` for what is raised."""
    model = fit_model("bgnbd", summary, unit)
    assert isinstance(model, BgNbd)
    return model


def fit_mbgnbd(summary: pd.DataFrame, unit: TimeUnit = "W") -> MbgNbd:
    """Maximum-likelihood MBG/NBD on ``x, t_x, T``; see :func:`fit_model` for what is raised."""
    model = fit_model("mbgnbd", summary, unit)
    assert isinstance(model, MbgNbd)
    return model


def fit_pareto_nbd(summary: pd.DataFrame, unit: TimeUnit = "W") -> ParetoNbd:
    """Maximum-likelihood Pareto/NBD on ``x, t_x, T``; see :func:`fit_model` for what is raised."""
    model = fit_model("pareto_nbd", summary, unit)
    assert isinstance(model, ParetoNbd)
    return model
