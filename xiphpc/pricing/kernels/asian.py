"""Discretely monitored arithmetic-average-price Asian options by Monte Carlo, with the
geometric-average option as control variate.

Model: generalized Black–Scholes–Merton, exact log-normal steps between fixing times.
Fixings (:class:`Fixings`): ``n_fix`` equally spaced times from ``t_first`` to ``t_last``
(both included; one fixing at ``t_last`` when ``n_fix == 1``); payoff ``max(cp * (A - K), 0)``
paid at ``expiry`` (the ``tau`` of the
:class:`~xiphpc.pricing.kernels.black_scholes.OptionInputs`) where ``A`` is the arithmetic
mean of the fixings.

Estimator per path: ``X = payoff(A) - payoff(G) + E[payoff(G)]`` (control coefficient 1),
``G`` the geometric mean of the same fixings, whose expectation is exact (Kemna and Vorst,
"A pricing method for options based on average asset values", J. Banking Finance 14 (1990);
the discrete version as QuantLib's ``AnalyticDiscreteGeometricAveragePriceAsianEngine``).
``stderr`` is the standard error of the discounted mean of ``X``.

Random numbers (:class:`Draws`): ``philox.normal(seed, trade_key, path, k)`` drives fixing
``k`` of ``path``, so a trade's price depends only on the seed, its key and its inputs, never
on the rank, partition or thread that prices it.

Greeks (``greeks = 1``; with ``0`` only ``pv`` is computed and the greeks are 0): central
differences with common random numbers (the same normals for every bumped input): spot
step 1% of spot, vol and rate steps 1e-6, theta from one day later (all fixing times and
the expiry shortened by 1/365). Units as :mod:`xiphpc.pricing.kernels.black_scholes`.

Scenarios (:func:`asian_scenarios_serial`): the PV of each trade under many sets of inputs
``(spot, rate, carry, vol)`` at once, each path's normals drawn once and used for every
scenario, the scenarios side by side in a vectorized inner loop; the values are those of
the pricing kernel with the same inputs (same draws), up to the last bits of ``exp``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

from . import vmath
from ._targets import serial_and_parallel
from .barrier import fd_combine, fd_point
from .philox import normal_pair
from .rates import norm_cdf

_INLINE = dict(inline="always", fastmath=False, error_model="numpy")
_SPOT_STEP = 1e-2


class Fixings(NamedTuple):
    """Per option, shape ``(n,)``: first and last fixing time (years) and the number of
    fixings (int64)."""

    t_first: np.ndarray
    t_last: np.ndarray
    n_fix: np.ndarray


class Draws(NamedTuple):
    """Monte Carlo draws: paths per option (int64, shape ``(n,)``), the job ``seed``
    (uint64) and each option's ``trade_key`` (uint64, shape ``(n,)``)."""

    n_paths: np.ndarray
    seed: np.uint64
    trade_key: np.ndarray


@nb.njit(**_INLINE)
def fixing_time(t_first, t_last, n_fix, k):
    """Time (years) of fixing ``k`` of ``n_fix``."""
    if n_fix == 1:
        return t_last
    return t_first + k * (t_last - t_first) / (n_fix - 1)


@nb.njit(fastmath=False, error_model="numpy")
def geometric_asian_value(spot, strike, rate, carry_yield, vol, cp, t_first, t_last, n_fix, expiry):
    """Exact value of the discrete geometric-average-price option (same fixings)."""
    b = rate - carry_yield
    mean_t = 0.0
    cov = 0.0
    for k in range(n_fix):
        t = max(fixing_time(t_first, t_last, n_fix, k), 0.0)
        mean_t += t
        # sum over j, l of min(t_j, t_l) for increasing times
        cov += t * (2.0 * (n_fix - k) - 1.0)
    mean_t /= n_fix
    var = vol * vol * cov / (n_fix * n_fix)
    m = math.log(spot) + (b - 0.5 * vol * vol) * mean_t
    df = math.exp(-rate * max(expiry, 0.0))
    if var <= 0.0:
        return df * max(cp * (math.exp(m) - strike), 0.0)
    sd = math.sqrt(var)
    d1 = (m - math.log(strike) + var) / sd
    d2 = d1 - sd
    return df * cp * (math.exp(m + 0.5 * var) * norm_cdf(cp * d1) - strike * norm_cdf(cp * d2))


def _asian_loop(option, fixings, draws, greeks, out, stderr):
    # option: OptionInputs (tau the expiry); fixings: Fixings; draws: Draws; out: Greeks;
    # stderr shape (n,).
    spot, strike, expiry, rate, carry_yield, vol, cp = option
    t_first, t_last, n_fix = fixings
    n_paths, seed, trade_key = draws
    n_points = 8 if greeks else 1
    pv = out.pv
    delta = out.delta
    gamma = out.gamma
    vega = out.vega
    theta = out.theta
    rho = out.rho
    for i in nb.prange(spot.shape[0]):
        nf = n_fix[i]
        hs = _SPOT_STEP * spot[i]
        # Scenario inputs (fd_point order) and their control-variate means.
        s_ = np.empty(8)
        t_ = np.empty(8)
        r_ = np.empty(8)
        v_ = np.empty(8)
        mean_g = np.empty(8)
        for j in range(8):
            s_[j], t_[j], r_[j], v_[j] = fd_point(j, spot[i], expiry[i], rate[i], vol[i], hs)
            shift = expiry[i] - t_[j]
            mean_g[j] = geometric_asian_value(
                s_[j],
                strike[i],
                r_[j],
                carry_yield[i],
                v_[j],
                cp[i],
                t_first[i] - shift,
                t_last[i] - shift,
                nf,
                t_[j],
            )
        z = np.empty(nf + 1)
        acc = np.zeros(8)
        acc2 = 0.0
        for p in range(n_paths[i]):
            for blk in range((nf + 1) // 2):
                z[2 * blk], z[2 * blk + 1] = normal_pair(seed, trade_key[i], p, blk)
            for j in range(n_points):
                shift = expiry[i] - t_[j]
                b = r_[j] - carry_yield[i]
                sig = v_[j]
                log_s = math.log(s_[j])
                t_prev = 0.0
                total = 0.0
                total_log = 0.0
                for k in range(nf):
                    t = max(fixing_time(t_first[i], t_last[i], nf, k) - shift, 0.0)
                    dt = t - t_prev
                    log_s += (b - 0.5 * sig * sig) * dt + sig * math.sqrt(dt) * z[k]
                    t_prev = t
                    total += math.exp(log_s)
                    total_log += log_s
                a = total / nf
                g = math.exp(total_log / nf)
                x = max(cp[i] * (a - strike[i]), 0.0) - max(cp[i] * (g - strike[i]), 0.0)
                acc[j] += x
                if j == 0:
                    acc2 += x * x
        n = n_paths[i]
        v = np.zeros(8)
        for j in range(n_points):
            v[j] = math.exp(-r_[j] * max(t_[j], 0.0)) * acc[j] / n + mean_g[j]
        if greeks:
            p0, d, g, ve, th, rh = fd_combine(v, hs)
        else:
            p0, d, g, ve, th, rh = v[0], 0.0, 0.0, 0.0, 0.0, 0.0
        pv[i] = p0
        delta[i] = d
        gamma[i] = g
        vega[i] = ve
        theta[i] = th
        rho[i] = rh
        mean = acc[0] / n
        var = max(acc2 / n - mean * mean, 0.0) * n / max(n - 1, 1)
        stderr[i] = math.exp(-r_[0] * t_[0]) * math.sqrt(var / n)


asian_serial, asian_parallel = serial_and_parallel(_asian_loop)


def _asian_scenarios_loop(option, fixings, draws, pv):
    # option: OptionInputs whose spot, rate, carry_yield and vol, like pv, have shape (n, S),
    # one column per scenario (tau the expiry, shape (n,)); fixings: Fixings; draws: Draws.
    spot, strike, expiry, rate, carry_yield, vol, cp = option
    t_first, t_last, n_fix = fixings
    n_paths, seed, trade_key = draws
    n_s = spot.shape[1]
    for i in nb.prange(spot.shape[0]):
        nf = n_fix[i]
        drift = np.empty(n_s)
        sig = np.empty(n_s)
        log_s0 = np.empty(n_s)
        mean_g = np.empty(n_s)
        for s in range(n_s):
            sig[s] = vol[i, s]
            drift[s] = rate[i, s] - carry_yield[i, s] - 0.5 * sig[s] * sig[s]
            log_s0[s] = math.log(spot[i, s])
            mean_g[s] = geometric_asian_value(
                spot[i, s],
                strike[i],
                rate[i, s],
                carry_yield[i, s],
                sig[s],
                cp[i],
                t_first[i],
                t_last[i],
                nf,
                expiry[i],
            )
        dts = np.empty(nf)
        sqs = np.empty(nf)
        t_prev = 0.0
        for k in range(nf):
            t = max(fixing_time(t_first[i], t_last[i], nf, k), 0.0)
            dts[k] = t - t_prev
            sqs[k] = math.sqrt(t - t_prev)
            t_prev = t
        z = np.empty(nf + 1)
        acc = np.zeros(n_s)
        log_s = np.empty(n_s)
        total = np.empty(n_s)
        total_log = np.empty(n_s)
        for p in range(n_paths[i]):
            for blk in range((nf + 1) // 2):
                z[2 * blk], z[2 * blk + 1] = normal_pair(seed, trade_key[i], p, blk)
            for s in range(n_s):
                log_s[s] = log_s0[s]
                total[s] = 0.0
                total_log[s] = 0.0
            for k in range(nf):
                dt = dts[k]
                shock = sqs[k] * z[k]
                for s in range(n_s):
                    log_s[s] += drift[s] * dt + sig[s] * shock
                    total[s] += vmath.exp(log_s[s])
                    total_log[s] += log_s[s]
            for s in range(n_s):
                a = total[s] / nf
                g = vmath.exp(total_log[s] / nf)
                acc[s] += max(cp[i] * (a - strike[i]), 0.0) - max(cp[i] * (g - strike[i]), 0.0)
        n = n_paths[i]
        for s in range(n_s):
            pv[i, s] = math.exp(-rate[i, s] * max(expiry[i], 0.0)) * acc[s] / n + mean_g[s]


asian_scenarios_serial, asian_scenarios_parallel = serial_and_parallel(_asian_scenarios_loop)
