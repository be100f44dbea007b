"""Single-barrier European options, continuously monitored, in the generalized
Black–Scholes–Merton model: the eight in/out, up/down, call/put types with a cash rebate
(Reiner & Rubinstein 1991, "Breaking down the barriers", Risk 4(8); formulas as in Haug,
"The Complete Guide to Option Pricing Formulas", 2nd ed. 2007, section 4.17.1, and QuantLib's
``AnalyticBarrierEngine``).

Rebate: an out option pays it when the barrier is hit (at the hitting time); an in option
pays it at expiry if the barrier was never hit. A barrier already reached at valuation
(spot at or beyond it) makes an out option worth its rebate (paid now) and an in option a
plain European option.

Inputs (float64, shape ``(n,)``): ``spot``, ``strike``, ``tau`` (years, ``> 0``), ``rate``,
``carry_yield`` (dividend yield or foreign rate), ``vol``, ``cp`` (``+1`` call, ``-1`` put), as
:class:`~xiphpc.pricing.kernels.black_scholes.OptionInputs`, and the :class:`BarrierTerms`
``barrier``, ``rebate`` and ``kind`` (int64: 0 down-and-in, 1 up-and-in, 2 down-and-out, 3
up-and-out). Outputs as the Black–Scholes kernels
(:class:`~xiphpc.pricing.kernels.black_scholes.Greeks`): ``pv``, ``delta``, ``gamma``, ``vega``
(per 1.0), ``theta`` (per year), ``rho`` (per 1.0, carry yield fixed); greeks are central
finite differences of the analytic value (:func:`fd_point`, :func:`fd_combine`): spot step
``1e-4 * spot`` (at most half the distance to the barrier), vol and rate steps ``1e-6``, theta
from the value one day later.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

from ._targets import serial_and_parallel
from .rates import norm_cdf

_INLINE = dict(inline="always", fastmath=False, error_model="numpy")
_DAY = 1.0 / 365.0
_H_VOL = 1e-6
_H_RATE = 1e-6
DOWN_IN, UP_IN, DOWN_OUT, UP_OUT = 0, 1, 2, 3


class BarrierTerms(NamedTuple):
    """Per option, shape ``(n,)``: ``barrier`` level and cash ``rebate`` (currency units) and
    ``kind`` (int64, :data:`KINDS`)."""

    barrier: np.ndarray
    rebate: np.ndarray
    kind: np.ndarray


@nb.njit(**_INLINE)
def _vanilla(s, k, sd, dq, dr, phi, mu):
    x1 = math.log(s / k) / sd + (1.0 + mu) * sd
    return phi * (s * dq * norm_cdf(phi * x1) - k * dr * norm_cdf(phi * (x1 - sd)))


@nb.njit(**_INLINE)
def _haug_terms(s, k, h, sd, dq, dr, mu, eta, phi, y_base):
    # C and D of Haug's table differ only in the log term: y1 = log(H^2/(S K)), y2 = log(H/S).
    hs = h / s
    p0 = hs ** (2.0 * mu)
    p1 = p0 * hs * hs
    y = y_base / sd + (1.0 + mu) * sd
    return phi * (s * dq * p1 * norm_cdf(eta * y) - k * dr * p0 * norm_cdf(eta * (y - sd)))


@nb.njit(fastmath=False, error_model="numpy")
def barrier_value(spot, strike, tau, rate, carry_yield, vol, cp, extra):
    """Value of one barrier option; ``extra = (barrier, rebate, kind)``."""
    h, rebate, kind = extra
    down = kind == DOWN_IN or kind == DOWN_OUT
    knock_in = kind == DOWN_IN or kind == UP_IN
    hit = spot <= h if down else spot >= h
    if hit:
        if not knock_in:
            return rebate
        if tau <= 0.0:
            return max(cp * (spot - strike), 0.0)
        sd = vol * math.sqrt(tau)
        mu = (rate - carry_yield) / (vol * vol) - 0.5
        return _vanilla(
            spot, strike, sd, math.exp(-carry_yield * tau), math.exp(-rate * tau), cp, mu
        )
    if tau <= 0.0:
        return rebate if knock_in else max(cp * (spot - strike), 0.0)
    s, k = spot, strike
    sd = vol * math.sqrt(tau)
    dq = math.exp(-carry_yield * tau)
    dr = math.exp(-rate * tau)
    mu = (rate - carry_yield) / (vol * vol) - 0.5
    phi = cp

    def a_(phi):
        return _vanilla(s, k, sd, dq, dr, phi, mu)

    def b_(phi):
        x2 = math.log(s / h) / sd + (1.0 + mu) * sd
        return phi * (s * dq * norm_cdf(phi * x2) - k * dr * norm_cdf(phi * (x2 - sd)))

    def c_(eta, phi):
        return _haug_terms(s, k, h, sd, dq, dr, mu, eta, phi, math.log(h * h / (s * k)))

    def d_(eta, phi):
        return _haug_terms(s, k, h, sd, dq, dr, mu, eta, phi, math.log(h / s))

    def e_(eta):
        if rebate <= 0.0:
            return 0.0
        p0 = (h / s) ** (2.0 * mu)
        x2 = math.log(s / h) / sd + (1.0 + mu) * sd
        y2 = math.log(h / s) / sd + (1.0 + mu) * sd
        return rebate * dr * (norm_cdf(eta * (x2 - sd)) - p0 * norm_cdf(eta * (y2 - sd)))

    def f_(eta):
        if rebate <= 0.0:
            return 0.0
        lam = math.sqrt(mu * mu + 2.0 * rate / (vol * vol))
        hs = h / s
        z = math.log(h / s) / sd + lam * sd
        return rebate * (
            hs ** (mu + lam) * norm_cdf(eta * z)
            + hs ** (mu - lam) * norm_cdf(eta * (z - 2.0 * lam * sd))
        )

    high_strike = k >= h
    if phi > 0.0:
        if kind == DOWN_IN:
            return (
                c_(1.0, 1.0) + e_(1.0)
                if high_strike
                else a_(1.0) - b_(1.0) + d_(1.0, 1.0) + e_(1.0)
            )
        if kind == UP_IN:
            return (
                a_(1.0) + e_(-1.0)
                if high_strike
                else b_(1.0) - c_(-1.0, 1.0) + d_(-1.0, 1.0) + e_(-1.0)
            )
        if kind == DOWN_OUT:
            return (
                a_(1.0) - c_(1.0, 1.0) + f_(1.0)
                if high_strike
                else b_(1.0) - d_(1.0, 1.0) + f_(1.0)
            )
        return (
            f_(-1.0)
            if high_strike
            else a_(1.0) - b_(1.0) + c_(-1.0, 1.0) - d_(-1.0, 1.0) + f_(-1.0)
        )
    if kind == DOWN_IN:
        return (
            b_(-1.0) - c_(1.0, -1.0) + d_(1.0, -1.0) + e_(1.0)
            if high_strike
            else a_(-1.0) + e_(1.0)
        )
    if kind == UP_IN:
        return (
            a_(-1.0) - b_(-1.0) + d_(-1.0, -1.0) + e_(-1.0)
            if high_strike
            else c_(-1.0, -1.0) + e_(-1.0)
        )
    if kind == DOWN_OUT:
        return (
            a_(-1.0) - b_(-1.0) + c_(1.0, -1.0) - d_(1.0, -1.0) + f_(1.0)
            if high_strike
            else f_(1.0)
        )
    return (
        b_(-1.0) - d_(-1.0, -1.0) + f_(-1.0)
        if high_strike
        else a_(-1.0) - c_(-1.0, -1.0) + f_(-1.0)
    )


@nb.njit(**_INLINE)
def fd_point(j, spot, tau, rate, vol, hs):
    """Inputs ``(spot, tau, rate, vol)`` of finite-difference point ``j`` (0..7):
    base, spot up, spot down, vol up, vol down, rate up, rate down, one day later."""
    if j == 1:
        return spot + hs, tau, rate, vol
    if j == 2:
        return spot - hs, tau, rate, vol
    if j == 3:
        return spot, tau, rate, vol + _H_VOL
    if j == 4:
        return spot, tau, rate, vol - _H_VOL
    if j == 5:
        return spot, tau, rate + _H_RATE, vol
    if j == 6:
        return spot, tau, rate - _H_RATE, vol
    if j == 7:
        return spot, tau - _DAY, rate, vol
    return spot, tau, rate, vol


@nb.njit(**_INLINE)
def fd_spot_step(spot, kink):
    """Spot step ``1e-4 * spot``, kept within half the distance to a ``kink`` in the value
    (a barrier; ``nan`` for none)."""
    hs = 1e-4 * spot
    if kink == kink:
        gap = abs(spot - kink)
        if gap > 0.0:
            hs = min(hs, 0.5 * gap)
    return hs


@nb.njit(**_INLINE)
def fd_combine(v, hs):
    """``(pv, delta, gamma, vega, theta, rho)`` from the eight values ``v`` of
    :func:`fd_point`: central differences, theta as the one-day change times 365."""
    delta = (v[1] - v[2]) / (2.0 * hs)
    gamma = (v[1] - 2.0 * v[0] + v[2]) / (hs * hs)
    vega = (v[3] - v[4]) / (2.0 * _H_VOL)
    rho = (v[5] - v[6]) / (2.0 * _H_RATE)
    theta = (v[7] - v[0]) / _DAY
    return v[0], delta, gamma, vega, theta, rho


def _barrier_loop(option, terms, out):
    # option: OptionInputs; terms: BarrierTerms; out: Greeks.
    spot, strike, tau, rate, carry_yield, vol, cp = option
    barrier, rebate, kind = terms
    pv = out.pv
    delta = out.delta
    gamma = out.gamma
    vega = out.vega
    theta = out.theta
    rho = out.rho
    for i in nb.prange(spot.shape[0]):
        extra = (barrier[i], rebate[i], kind[i])
        hs = fd_spot_step(spot[i], barrier[i])
        v = np.empty(8)
        for j in range(8):
            s, t, r, sig = fd_point(j, spot[i], tau[i], rate[i], vol[i], hs)
            v[j] = barrier_value(s, strike[i], t, r, carry_yield[i], sig, cp[i], extra)
        p, d, g, v, t, r = fd_combine(v, hs)
        pv[i] = p
        delta[i] = d
        gamma[i] = g
        vega[i] = v
        theta[i] = t
        rho[i] = r


barrier_serial, barrier_parallel = serial_and_parallel(_barrier_loop)

#: Codes of ``kind`` by name.
KINDS = {"down_in": DOWN_IN, "up_in": UP_IN, "down_out": DOWN_OUT, "up_out": UP_OUT}
