"""Black–Scholes / Garman–Kohlhagen options and forwards revalued under many scenarios in one
fused pass: market inputs are shifted, the trade priced and converted to the base currency
inside the loop, so no (trade × scenario) intermediate array is ever stored.

Per-trade parameters come packed (the inner loop runs over scenarios, so per-trade values are
loop invariants and their layout does not matter for vectorization):

``params[i]`` (float64, 17 columns): strike, tau, cp, quantity, spot, rate, rate weight,
carry, carry weight, fixed vol (NaN if none), vol at lower pillar, vol at upper pillar, lower
expiry, upper expiry, clipped expiry, vol weight, FX to base.

``factors[i]`` (int64, 9 columns): spot numerator, spot denominator, rate lower, rate upper,
carry lower, carry upper, vol lower, vol upper, FX-to-base factor; "no factor" is ``F``, the
index of an all-zero row appended to the transposed shift matrix ``shifts_t`` (``(F + 1, S)``).

The formulas are those of :mod:`xiphpc.pricing.inputs` and :func:`.black_scholes.bs_one`.
"""

from __future__ import annotations

import math

import numba as nb

from . import vmath
from ._targets import serial_and_parallel
from .black_scholes import bs_one

__all__ = ["N_FACTORS", "N_PARAMS", "bs_scenarios_parallel", "bs_scenarios_serial"]

N_PARAMS = 17
N_FACTORS = 9


def _bs_scenarios(params, factors, is_option, shifts_t, out):
    n_s = shifts_t.shape[1]
    for i in nb.prange(params.shape[0]):
        p = params[i]
        f = factors[i]
        strike, tau, cp, qty, spot0, fx0 = p[0], p[1], p[2], p[3], p[4], p[16]
        r0, rw, q0, qw = p[5], p[6], p[7], p[8]
        sh_num, sh_den = shifts_t[f[0]], shifts_t[f[1]]
        sh_rlo, sh_rhi = shifts_t[f[2]], shifts_t[f[3]]
        sh_qlo, sh_qhi = shifts_t[f[4]], shifts_t[f[5]]
        sh_vlo, sh_vhi = shifts_t[f[6]], shifts_t[f[7]]
        sh_fx = shifts_t[f[8]]
        row = out[i]
        if is_option[i]:
            fixed = p[9]
            use_fixed = fixed == fixed
            v_lo, v_hi, t_lo, t_hi, t_c, vw = p[10], p[11], p[12], p[13], p[14], p[15]
            for s in range(n_s):
                spot = spot0 * (1.0 + sh_num[s]) / (1.0 + sh_den[s])
                rate = r0 + (1.0 - rw) * sh_rlo[s] + rw * sh_rhi[s]
                carry = q0 + (1.0 - qw) * sh_qlo[s] + qw * sh_qhi[s]
                a = max(v_lo + sh_vlo[s], 1e-8)
                b = max(v_hi + sh_vhi[s], 1e-8)
                interp = math.sqrt(((1.0 - vw) * a * a * t_lo + vw * b * b * t_hi) / t_c)
                vol = fixed if use_fixed else interp
                pv = bs_one(spot, strike, tau, rate, carry, vol, cp)[0]
                row[s] = pv * qty * fx0 * (1.0 + sh_fx[s])
        else:
            for s in range(n_s):
                spot = spot0 * (1.0 + sh_num[s]) / (1.0 + sh_den[s])
                rate = r0 + (1.0 - rw) * sh_rlo[s] + rw * sh_rhi[s]
                carry = q0 + (1.0 - qw) * sh_qlo[s] + qw * sh_qhi[s]
                pv = spot * vmath.exp(-carry * tau) - strike * vmath.exp(-rate * tau)
                row[s] = pv * qty * fx0 * (1.0 + sh_fx[s])


bs_scenarios_serial, bs_scenarios_parallel = serial_and_parallel(_bs_scenarios)
