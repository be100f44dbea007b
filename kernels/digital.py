"""European digital options in the generalized Black–Scholes–Merton model (Haug 2007,
section 4.19): cash-or-nothing and asset-or-nothing calls and puts, analytic greeks.

Inputs (float64, shape ``(n,)``): ``spot``, ``strike``, ``tau`` (years ACT/365F, ``> 0``),
``rate`` (domestic zero rate), ``carry_yield`` (dividend yield, foreign rate, or the rate
itself for a future), ``vol``, ``cp`` (``+1`` call: pays when ``S_T > K``; ``-1`` put),
``cash`` (amount paid by a cash-or-nothing option; ignored for asset-or-nothing), ``asset``
(``1`` asset-or-nothing, ``0`` cash-or-nothing).

Outputs per option: ``pv``; ``delta`` dV/dS; ``gamma`` d2V/dS2; ``vega`` dV/dvol per 1.0;
``theta`` dV/dt per year (market fixed); ``rho`` dV/drate per 1.0 with the carry yield fixed.
"""

from __future__ import annotations

import math

import numba as nb

from ._targets import serial_and_parallel
from .rates import norm_cdf, norm_pdf

_INLINE = dict(inline="always", fastmath=False, error_model="numpy")


@nb.njit(**_INLINE)
def digital_one(spot, strike, tau, rate, carry_yield, vol, cp, cash, asset):
    """One digital; returns ``(pv, delta, gamma, vega, theta, rho)``."""
    sqrt_t = math.sqrt(tau)
    sd = vol * sqrt_t
    b = rate - carry_yield
    d1 = (math.log(spot / strike) + (b + 0.5 * vol * vol) * tau) / sd
    d2 = d1 - sd
    if asset == 1:
        dq = math.exp(-carry_yield * tau)
        n1 = norm_cdf(cp * d1)
        p1 = norm_pdf(d1)
        pv = spot * dq * n1
        delta = dq * (n1 + cp * p1 / sd)
        gamma = -dq * cp * p1 * d2 / (spot * vol * vol * tau)
        vega = -spot * dq * cp * p1 * d2 / vol
        theta = spot * dq * (carry_yield * n1 - cp * p1 * (b / sd - d2 / (2.0 * tau)))
        rho = spot * dq * cp * p1 * sqrt_t / vol
        return pv, delta, gamma, vega, theta, rho
    dr = math.exp(-rate * tau)
    n2 = norm_cdf(cp * d2)
    p2 = norm_pdf(d2)
    pv = cash * dr * n2
    delta = cash * dr * cp * p2 / (spot * sd)
    gamma = -cash * dr * cp * p2 * d1 / (spot * spot * vol * vol * tau)
    vega = -cash * dr * cp * p2 * d1 / vol
    theta = cash * dr * (rate * n2 - cp * p2 * (b / sd - d1 / (2.0 * tau)))
    rho = cash * dr * (-tau * n2 + cp * p2 * sqrt_t / vol)
    return pv, delta, gamma, vega, theta, rho


def _digital_loop(spot, strike, tau, rate, carry_yield, vol, cp, cash, asset, pv, delta, gamma,
                  vega, theta, rho):
    for i in nb.prange(spot.shape[0]):
        p, d, g, v, t, r = digital_one(spot[i], strike[i], tau[i], rate[i], carry_yield[i],
                                       vol[i], cp[i], cash[i], asset[i])
        pv[i] = p
        delta[i] = d
        gamma[i] = g
        vega[i] = v
        theta[i] = t
        rho[i] = r


digital_serial, digital_parallel = serial_and_parallel(_digital_loop)
