"""American options by the Bjerksund–Stensland (1993) approximation: the fast choice
(``model = bjerksund_stensland``); the default is :mod:`xiphpc.pricing.kernels.american_alo`.

Method: P. Bjerksund and G. Stensland, "Closed-form approximation of American options",
Scandinavian Journal of Management 9 (1993) 87-99, as given in Haug, "Option Pricing
Formulas" (1998) section 1.3.3 and implemented by QuantLib's
``BjerksundStenslandApproximationEngine``: a flat early-exercise boundary ``I`` for calls;
puts through the put-call transformation ``P(S, K, r, q) = C(K, S, q, r)``. As QuantLib
(1.44) does: where early exercise is never optimal (transformed carry yield ``<= 0`` and
``<= `` the rate) the value is the European Black–Scholes value; an out-of-reach boundary
(``log(I / F) / sqrt(var) > 12.5``) gives the European value; the result is floored by the
European and the immediate-exercise values. For ``r < q < 0`` (a call with two exercise
boundaries, where QuantLib refuses) the value is the European one floored by the exercise
value, a lower bound.

Accuracy: the approximation is a lower bound of the American value. On a random sample
(expiries up to 3 years, vols 10-50%, rates and yields 0-8%, spot 70-130 for a strike of
100) it was below an 800x800 Crank–Nicolson solution by at most 0.16 (0.16% of the
strike; median 0.03, up to 2.3% of the option value); ``tests/test_exotics.py`` holds it to
0.2% of the strike. Greeks are central finite differences (see
:mod:`xiphpc.pricing.kernels.barrier`).

Inputs and outputs (float64, shape ``(n,)``) as :mod:`xiphpc.pricing.kernels.black_scholes`:
``spot, strike, tau, rate, carry_yield, vol, cp`` in; ``pv, delta, gamma, vega`` (per 1.0),
``theta`` (per year), ``rho`` (per 1.0) out.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ._targets import serial_and_parallel
from .barrier import fd_combine, fd_point, fd_spot_step
from .rates import norm_cdf

_INLINE = dict(inline="always", fastmath=False, error_model="numpy")


@nb.njit(**_INLINE)
def _phi(s, gamma, h, i_, r_t, b_t, var):
    lam = -r_t + gamma * b_t + 0.5 * gamma * (gamma - 1.0) * var
    sd = math.sqrt(var)
    d = -(math.log(s / h) + (b_t + (gamma - 0.5) * var)) / sd
    kappa = 2.0 * b_t / var + (2.0 * gamma - 1.0)
    return (
        math.exp(lam)
        * s**gamma
        * (norm_cdf(d) - (i_ / s) ** kappa * norm_cdf(d - 2.0 * math.log(i_ / s) / sd))
    )


@nb.njit(**_INLINE)
def _european_call(s, x, df_r, df_q, var):
    sd = math.sqrt(var)
    fwd = s * df_q / df_r
    d1 = math.log(fwd / x) / sd + 0.5 * sd
    return df_r * (fwd * norm_cdf(d1) - x * norm_cdf(d1 - sd))


@nb.njit(**_INLINE)
def _call(s, x, df_r, df_q, var, european):
    # Bjerksund–Stensland 1993 call with discount factors of rate and carry yield.
    b_t = math.log(df_q / df_r)
    r_t = -math.log(df_r)
    beta = (0.5 - b_t / var) + math.sqrt((b_t / var - 0.5) ** 2 + 2.0 * r_t / var)
    b_inf = beta / (beta - 1.0) * x
    b0 = max(x, r_t / (r_t - b_t) * x)
    ht = -(b_t + 2.0 * math.sqrt(var)) * b0 / (b_inf - b0)
    i_ = b0 + (b_inf - b0) * (1.0 - math.exp(ht))
    if s >= i_:
        return s - x
    if math.log(i_ * df_r / (s * df_q)) / math.sqrt(var) > 12.5:
        # Exercise boundary out of reach (QuantLib's "run-away boundary"): European value.
        return european
    alpha = (i_ - x) * i_ ** (-beta)
    return (
        alpha * s**beta
        - alpha * _phi(s, beta, i_, i_, r_t, b_t, var)
        + _phi(s, 1.0, i_, i_, r_t, b_t, var)
        - _phi(s, 1.0, x, i_, r_t, b_t, var)
        - x * _phi(s, 0.0, i_, i_, r_t, b_t, var)
        + x * _phi(s, 0.0, x, i_, r_t, b_t, var)
    )


@nb.njit(fastmath=False, error_model="numpy")
def american_value(spot, strike, tau, rate, carry_yield, vol, cp):
    """Value of one American call (``cp = 1``) or put (``cp = -1``)."""
    if tau <= 0.0:
        return max(cp * (spot - strike), 0.0)
    var = vol * vol * tau
    df_r = math.exp(-rate * tau)
    df_q = math.exp(-carry_yield * tau)
    s, x = spot, strike
    if cp < 0.0:
        s, x = x, s
        df_r, df_q = df_q, df_r
    european = _european_call(s, x, df_r, df_q, var)
    if df_q >= 1.0 and df_q >= df_r:
        # Early exercise never pays (carry yield <= 0 and <= rate): the European value.
        value = european
    elif df_q > 1.0:
        # r < q < 0: two exercise boundaries, outside the approximation; the European value
        # (floored by the exercise value below) is a lower bound.
        value = european
    else:
        value = max(_call(s, x, df_r, df_q, var, european), european)
    return max(value, s - x)


def _american_loop(
    spot, strike, tau, rate, carry_yield, vol, cp, pv, delta, gamma, vega, theta, rho
):
    for i in nb.prange(spot.shape[0]):
        hs = fd_spot_step(spot[i], math.nan)
        v = np.empty(8)
        for j in range(8):
            s, t, r, sig = fd_point(j, spot[i], tau[i], rate[i], vol[i], hs)
            v[j] = american_value(s, strike[i], t, r, carry_yield[i], sig, cp[i])
        p, d, g, ve, th, rh = fd_combine(v, hs)
        pv[i] = p
        delta[i] = d
        gamma[i] = g
        vega[i] = ve
        theta[i] = th
        rho[i] = rh


american_serial, american_parallel = serial_and_parallel(_american_loop)
