"""European digital options in the generalized Black–Scholes–Merton model (Haug 2007,
section 4.19): cash-or-nothing and asset-or-nothing calls and puts, analytic greeks.

Inputs (float64, shape ``(n,)``), as
:class:`~xiphpc.pricing.kernels.black_scholes.OptionInputs`: ``spot``, ``strike``, ``tau``
(years ACT/365F, ``> 0``), ``rate`` (domestic zero rate), ``carry_yield`` (dividend yield,
foreign rate, or the rate itself for a future), ``vol``, ``cp`` (``+1`` call: pays when
``S_T > K``; ``-1`` put); and the :class:`DigitalPayoff`: ``cash`` (amount paid by a
cash-or-nothing option; ignored for asset-or-nothing), ``asset`` (int64: ``1``
asset-or-nothing, ``0`` cash-or-nothing).

Outputs per option (:class:`~xiphpc.pricing.kernels.black_scholes.Greeks`): ``pv``; ``delta``
dV/dS; ``gamma`` d2V/dS2; ``vega`` dV/dvol per 1.0; ``theta`` dV/dt per year (market fixed);
``rho`` dV/drate per 1.0 with the carry yield fixed.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

from . import vmath
from ._targets import serial_and_parallel

_INLINE = dict(inline="always", fastmath=False, error_model="numpy")


class DigitalPayoff(NamedTuple):
    """Per option, shape ``(n,)``: the ``cash`` amount and whether the option pays the
    ``asset`` instead (int64 1) or the cash (0)."""

    cash: np.ndarray
    asset: np.ndarray


@nb.njit(**_INLINE)
def digital_one(spot, strike, tau, rate, carry_yield, vol, cp, cash, asset):
    """One digital; returns ``(pv, delta, gamma, vega, theta, rho)``.

    Both payoffs share one formula: the paid amount ``A`` (spot discounted at the carry
    yield, or cash discounted at the rate), the exercise probability ``N(cp d)`` with
    ``d = d1`` (asset) or ``d2`` (cash), and selects instead of branches, so that the loop
    over options vectorizes.
    """
    sqrt_t = math.sqrt(tau)
    sd = vol * sqrt_t
    b = rate - carry_yield
    d1 = (vmath.log(spot / strike) + (b + 0.5 * vol * vol) * tau) / sd
    d2 = d1 - sd
    is_asset = asset == 1
    d = d1 if is_asset else d2
    d_other = d2 if is_asset else d1
    yld = carry_yield if is_asset else rate
    amount = (spot if is_asset else cash) * vmath.exp(-yld * tau)
    n, p = vmath.ncdf_npdf(cp * d)  # the density is even: p = phi(d)
    cpp = cp * p
    pv = amount * n
    delta = amount / spot * ((n if is_asset else 0.0) + cpp / sd)
    gamma = -amount * cpp * d_other / (spot * spot * vol * vol * tau)
    vega = -amount * cpp * d_other / vol
    theta = amount * (yld * n - cpp * (b / sd - d_other / (2.0 * tau)))
    rho = amount * (cpp * sqrt_t / vol - (0.0 if is_asset else tau * n))
    return pv, delta, gamma, vega, theta, rho


def _digital_loop(option, payoff, out):
    # option: OptionInputs; payoff: DigitalPayoff; out: Greeks.
    spot, strike, tau, rate, carry_yield, vol, cp = option
    cash, asset = payoff
    pv = out.pv
    delta = out.delta
    gamma = out.gamma
    vega = out.vega
    theta = out.theta
    rho = out.rho
    for i in nb.prange(spot.shape[0]):
        p, d, g, v, t, r = digital_one(
            spot[i], strike[i], tau[i], rate[i], carry_yield[i], vol[i], cp[i], cash[i], asset[i]
        )
        pv[i] = p
        delta[i] = d
        gamma[i] = g
        vega[i] = v
        theta[i] = t
        rho[i] = r


digital_serial, digital_parallel = serial_and_parallel(_digital_loop)
