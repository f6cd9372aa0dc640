"""Second, independent computations of the purchase models' quantities, for the tests.

Each quantity is an expectation over a customer's unobserved rates, computed here from the individual-level story
(given lambda and p, or lambda and mu) with numerical integration (scipy.integrate.quad). Only the Gamma mixing over
lambda is done in closed form, with plain gamma-function algebra: E[lambda^k e^(-lambda y)] under Gamma(r, alpha)
is G(r+k) alpha^r / (G(r) (alpha+y)^(r+k)). No hypergeometric function, series or Euler transformation is used, so
agreement with rfm_core.clv's closed forms checks those.
"""

from __future__ import annotations

import math

from scipy import integrate, special, stats

from rfm_core.clv import BgNbd, MbgNbd, ParetoNbd, PurchaseModel


def _lam_moment(r: float, alpha: float, k: float, y: float) -> float:
    """E[lambda^k e^(-lambda y)] for lambda ~ Gamma(shape r, rate alpha)."""
    return math.exp(special.gammaln(r + k) - special.gammaln(r) + r * math.log(alpha) - (r + k) * math.log(alpha + y))


def _quad(f, lo: float, hi: float) -> float:  # type: ignore[no-untyped-def]
    return float(integrate.quad(f, lo, hi, epsabs=0.0, epsrel=1e-11, limit=400)[0])


def parts(model: PurchaseModel, x: int, t_x: float, T: float, t: float = 0.0) -> tuple[float, float, float]:
    """(E[L_active], E[L_left], E[L_active * future purchases in (T, T+t]]) over the prior of the rates.

    L_active: likelihood of the history with the customer still active at T; L_left: having left by T.
    """
    r, alpha = model.r, model.alpha
    if isinstance(model, BgNbd | MbgNbd):
        a, b = model.a, model.b
        extra = 1 if isinstance(model, MbgNbd) else 0  # MBG/NBD: the first purchase is also a chance to leave
        prior = stats.beta(a, b).pdf

        def active(p: float) -> float:
            return (1 - p) ** (x + extra) * _lam_moment(r, alpha, x, T) * prior(p)

        def left(p: float) -> float:
            if x == 0 and not extra:
                return 0.0  # BG/NBD: no repeat purchase, no chance to have left
            return p * (1 - p) ** (x - 1 + extra) * _lam_moment(r, alpha, x, t_x) * prior(p)

        def future(p: float) -> float:
            # Active at T with rates (lambda, p): E[purchases in t] = (1 - e^(-lambda p t)) / p
            m0, mt = _lam_moment(r, alpha, x, T), _lam_moment(r, alpha, x, T + p * t)
            return (1 - p) ** (x + extra) * (m0 - mt) / p * prior(p)

        return _quad(active, 0, 1), _quad(left, 0, 1), _quad(future, 0, 1) if t > 0 else 0.0
    assert isinstance(model, ParetoNbd)
    s, beta = model.s, model.beta
    active_part = _lam_moment(r, alpha, x, T) * (beta / (beta + T)) ** s

    def left_at(tau: float) -> float:  # left at tau: E[lambda^x e^(-lambda tau)] E[mu e^(-mu tau)]
        return _lam_moment(r, alpha, x, tau) * s * beta**s / (beta + tau) ** (s + 1)

    left = _quad(left_at, t_x, T) if t_x < T else 0.0
    if t <= 0:
        return active_part, left, 0.0
    mu_prior = stats.gamma(s, scale=1 / beta).pdf

    def mu_part(mu: float) -> float:  # E over mu of e^(-mu T) (1 - e^(-mu t)) / mu
        return math.exp(-mu * T) * -math.expm1(-mu * t) / mu * mu_prior(mu)

    mu_future = _quad(mu_part, 0, math.inf)
    return active_part, left, _lam_moment(r, alpha, x + 1, T) * mu_future


def p_alive(model: PurchaseModel, x: int, t_x: float, T: float) -> float:
    act, left, _ = parts(model, x, t_x, T)
    return act / (act + left)


def expected_purchases(model: PurchaseModel, t: float, x: int, t_x: float, T: float) -> float:
    act, left, fut = parts(model, x, t_x, T, t)
    return fut / (act + left)


def log_likelihood(model: PurchaseModel, x: int, t_x: float, T: float) -> float:
    """log of the likelihood of (x, t_x, T), the timing density of the x repeat purchases included."""
    act, left, _ = parts(model, x, t_x, T)
    return math.log(act + left)
