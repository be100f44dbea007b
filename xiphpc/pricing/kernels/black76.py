"""Black-76 kernels for options on futures (and forwards), plus a vector normal CDF.

Conventions (all arrays float64, shape ``(n,)``):

- ``fwd``, ``strike``: futures price and strike, in the trade currency.
- ``tau``: time to expiry in years (ACT/365F), ``> 0``.
- ``rate``: continuously compounded zero rate of the trade currency to expiry (discounting
  only: the futures price does not move with it).
- ``vol``: lognormal vol of the futures price; ``cp``: ``+1`` call, ``-1`` put.

Outputs per unit of the underlying future: ``pv``; ``delta`` dV/dF; ``gamma`` d2V/dF2;
``vega`` dV/dvol per 1.0; ``theta`` dV/dt per year (F, rate and vol held fixed);
``rho`` dV/drate per 1.0 (``-tau * pv``, the futures price held fixed).
"""

from __future__ import annotations

import math

import numba as nb

from . import vmath
from ._targets import KERNEL_OPTIONS, serial_and_parallel

_INLINE = dict(inline="always", fastmath=False, error_model="numpy")


@nb.njit(**_INLINE)
def black76_one(fwd, strike, tau, rate, vol, cp):
    """One option on a future; returns ``(pv, delta, gamma, vega, theta, rho)``."""
    sqrt_t = math.sqrt(tau)
    sd = vol * sqrt_t
    d1 = vmath.log(fwd / strike) / sd + 0.5 * sd
    d2 = d1 - sd
    df = vmath.exp(-rate * tau)
    nd1, pdf1 = vmath.ncdf_npdf(cp * d1)
    nd2 = vmath.ncdf(cp * d2)
    pv = df * cp * (fwd * nd1 - strike * nd2)
    delta = df * cp * nd1
    gamma = df * pdf1 / (fwd * sd)
    vega = df * fwd * pdf1 * sqrt_t
    theta = rate * pv - df * fwd * pdf1 * vol / (2.0 * sqrt_t)
    rho = -tau * pv
    return pv, delta, gamma, vega, theta, rho


def _black76_loop(fwd, strike, tau, rate, vol, cp, pv, delta, gamma, vega, theta, rho):
    for i in nb.prange(fwd.shape[0]):
        p, d, g, v, t, r = black76_one(fwd[i], strike[i], tau[i], rate[i], vol[i], cp[i])
        pv[i] = p
        delta[i] = d
        gamma[i] = g
        vega[i] = v
        theta[i] = t
        rho[i] = r


black76_serial, black76_parallel = serial_and_parallel(_black76_loop)


@nb.njit(**KERNEL_OPTIONS)
def norm_cdf_into(x, out):
    """Standard normal CDF of ``x`` into ``out`` (both shape ``(n,)``)."""
    for i in range(x.shape[0]):
        out[i] = vmath.ncdf(x[i])
