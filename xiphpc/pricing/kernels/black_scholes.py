"""Fused Black–Scholes / Garman–Kohlhagen kernels.

Two implementations of the same formulas, each compiled for a serial and a
parallel (``prange``) target:

- ``bs_fused_serial`` / ``bs_fused_parallel`` (production): the math comes from
  :mod:`.vmath` (exp, log and the normal CDF as inlined polynomial code), so the
  loop compiles to AVX-512 / AVX2 vector code.
- ``bs_fused_scalar_serial`` / ``bs_fused_scalar_parallel`` (reference): call
  ``math.exp``, ``math.log`` and ``math.erfc`` per element, one libm call each.

``forward_serial`` / ``forward_parallel`` (and the libm ``forward_scalar_*``)
value forwards (``gamma = vega = 0``) with the same signature.

Every output is computed in one pass over structure-of-arrays inputs into
preallocated 1-D outputs (:func:`allocate_greeks`). The kernels of options with terms beyond
these inputs (barrier, digital, Asian) take them grouped: the inputs as :class:`OptionInputs`,
the outputs as :class:`Greeks`, their own terms between the two.

Conventions (all arrays float64, shape ``(n,)``):

- ``spot``, ``strike``: price of one unit of the underlying, in the trade currency.
- ``tau``: time to expiry in years (ACT/365F), ``> 0``.
- ``rate``: continuously compounded domestic zero rate to expiry.
- ``carry_yield``: continuously compounded dividend yield (equity) or foreign
  zero rate (FX, Garman–Kohlhagen).
- ``vol``: lognormal volatility, annualised, ``> 0``.
- ``cp``: ``+1.0`` for a call, ``-1.0`` for a put.

Outputs per unit of underlying, in the trade currency: ``pv``; ``delta`` (dV/dS);
``gamma`` (d2V/dS2); ``vega`` (dV/dvol, per 1.0 = 100 vol points); ``theta``
(dV/dt, per year, rates and vol held fixed); ``rho`` (dV/drate, per 1.0 = 10,000 bp).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

from . import vmath
from ._targets import serial_and_parallel

_INV_SQRT2 = 0.7071067811865475244
_INV_SQRT2PI = 0.3989422804014326779


class OptionInputs(NamedTuple):
    """Inputs of a batch of options, as the conventions above, float64, shape ``(n,)`` each."""

    spot: np.ndarray
    strike: np.ndarray
    tau: np.ndarray
    rate: np.ndarray
    carry_yield: np.ndarray
    vol: np.ndarray
    cp: np.ndarray


class Greeks(NamedTuple):
    """Outputs per unit of underlying, as the conventions above, float64, shape ``(n,)``
    each."""

    pv: np.ndarray
    delta: np.ndarray
    gamma: np.ndarray
    vega: np.ndarray
    theta: np.ndarray
    rho: np.ndarray


@nb.njit(inline="always", fastmath=False, error_model="numpy")
def bs_one_libm(spot, strike, tau, rate, carry_yield, vol, cp):
    """Price one option with libm math; returns ``(pv, delta, gamma, vega, theta, rho)``."""
    sqrt_t = math.sqrt(tau)
    sig_sqrt_t = vol * sqrt_t
    d1 = (math.log(spot / strike) + (rate - carry_yield + 0.5 * vol * vol) * tau) / sig_sqrt_t
    d2 = d1 - sig_sqrt_t
    df_r = math.exp(-rate * tau)
    df_q = math.exp(-carry_yield * tau)
    # N(x) = erfc(-x / sqrt 2) / 2 keeps full relative precision in the lower tail.
    nd1 = 0.5 * math.erfc(-cp * d1 * _INV_SQRT2)
    nd2 = 0.5 * math.erfc(-cp * d2 * _INV_SQRT2)
    pdf1 = _INV_SQRT2PI * math.exp(-0.5 * d1 * d1)
    fwd_s = spot * df_q
    disc_k = strike * df_r
    pv = cp * (fwd_s * nd1 - disc_k * nd2)
    delta = cp * df_q * nd1
    gamma = df_q * pdf1 / (spot * sig_sqrt_t)
    vega = fwd_s * pdf1 * sqrt_t
    theta = (
        -fwd_s * pdf1 * vol / (2.0 * sqrt_t)
        - cp * rate * disc_k * nd2
        + cp * carry_yield * fwd_s * nd1
    )
    rho = cp * disc_k * tau * nd2
    return pv, delta, gamma, vega, theta, rho


@nb.njit(inline="always", fastmath=False, error_model="numpy")
def bs_one(spot, strike, tau, rate, carry_yield, vol, cp):
    """Price one option with :mod:`.vmath`; returns ``(pv, delta, gamma, vega, theta, rho)``.

    Same formulas as :func:`bs_one_libm`. Branch-free, so a loop over it vectorizes.
    """
    sqrt_t = math.sqrt(tau)
    sig_sqrt_t = vol * sqrt_t
    # One division serves both 1/(vol sqrt t) and 1/(spot vol sqrt t).
    inv_s_sst = 1.0 / (spot * sig_sqrt_t)
    inv_sst = spot * inv_s_sst
    d1 = (vmath.log(spot / strike) + (rate - carry_yield + 0.5 * vol * vol) * tau) * inv_sst
    d2 = d1 - sig_sqrt_t
    df_r = vmath.exp(-rate * tau)
    df_q = vmath.exp(-carry_yield * tau)
    # N(cp d) is evaluated on the tail side directly: full relative precision
    # for deep out-of-the-money options. phi is even, so phi(cp d1) = phi(d1).
    nd1, pdf1 = vmath.ncdf_npdf(cp * d1)
    nd2 = vmath.ncdf(cp * d2)
    fwd_s = spot * df_q
    disc_k = strike * df_r
    pv = cp * (fwd_s * nd1 - disc_k * nd2)
    delta = cp * df_q * nd1
    gamma = df_q * pdf1 * inv_s_sst
    vega = fwd_s * pdf1 * sqrt_t
    # vol / (2 sqrt t) = vol^2 / (2 vol sqrt t): no extra division.
    theta = (
        -fwd_s * pdf1 * (0.5 * vol * vol * inv_sst)
        - cp * rate * disc_k * nd2
        + cp * carry_yield * fwd_s * nd1
    )
    rho = cp * disc_k * tau * nd2
    return pv, delta, gamma, vega, theta, rho


def _bs_loop(spot, strike, tau, rate, carry_yield, vol, cp, pv, delta, gamma, vega, theta, rho):
    for i in nb.prange(spot.shape[0]):
        p, d, g, v, t, r = bs_one(
            spot[i], strike[i], tau[i], rate[i], carry_yield[i], vol[i], cp[i]
        )
        pv[i] = p
        delta[i] = d
        gamma[i] = g
        vega[i] = v
        theta[i] = t
        rho[i] = r


def _bs_scalar_loop(
    spot, strike, tau, rate, carry_yield, vol, cp, pv, delta, gamma, vega, theta, rho
):
    for i in nb.prange(spot.shape[0]):
        p, d, g, v, t, r = bs_one_libm(
            spot[i], strike[i], tau[i], rate[i], carry_yield[i], vol[i], cp[i]
        )
        pv[i] = p
        delta[i] = d
        gamma[i] = g
        vega[i] = v
        theta[i] = t
        rho[i] = r


def _forward_loop(
    spot, strike, tau, rate, carry_yield, vol, cp, pv, delta, gamma, vega, theta, rho
):
    for i in nb.prange(spot.shape[0]):
        df_r = vmath.exp(-rate[i] * tau[i])
        df_q = vmath.exp(-carry_yield[i] * tau[i])
        fwd_s = spot[i] * df_q
        disc_k = strike[i] * df_r
        pv[i] = cp[i] * (fwd_s - disc_k)
        delta[i] = cp[i] * df_q
        gamma[i] = 0.0
        vega[i] = 0.0
        theta[i] = cp[i] * (carry_yield[i] * fwd_s - rate[i] * disc_k)
        rho[i] = cp[i] * disc_k * tau[i]


def _forward_scalar_loop(
    spot, strike, tau, rate, carry_yield, vol, cp, pv, delta, gamma, vega, theta, rho
):
    for i in nb.prange(spot.shape[0]):
        df_r = math.exp(-rate[i] * tau[i])
        df_q = math.exp(-carry_yield[i] * tau[i])
        fwd_s = spot[i] * df_q
        disc_k = strike[i] * df_r
        pv[i] = cp[i] * (fwd_s - disc_k)
        delta[i] = cp[i] * df_q
        gamma[i] = 0.0
        vega[i] = 0.0
        theta[i] = cp[i] * (carry_yield[i] * fwd_s - rate[i] * disc_k)
        rho[i] = cp[i] * disc_k * tau[i]


bs_fused_serial, bs_fused_parallel = serial_and_parallel(_bs_loop)
bs_fused_scalar_serial, bs_fused_scalar_parallel = serial_and_parallel(_bs_scalar_loop)
forward_serial, forward_parallel = serial_and_parallel(_forward_loop)
forward_scalar_serial, forward_scalar_parallel = serial_and_parallel(_forward_scalar_loop)


def allocate_greeks(n: int) -> Greeks:
    """Allocate the six float64 output arrays ``(pv, delta, gamma, vega, theta, rho)``,
    shape ``(n,)`` each."""
    return Greeks(*(np.empty(n, dtype=np.float64) for _ in range(6)))
