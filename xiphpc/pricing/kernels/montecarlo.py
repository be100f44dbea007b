"""Monte Carlo pricing kernels with in-kernel Philox draws.

Every kernel prices a batch of trades, one path set per trade, and writes the
discounted price and its standard error per trade into preallocated arrays:

- ``gbm_european_*``: European payoff under geometric Brownian motion;
- ``gbm_asian_*``: arithmetic-average Asian (average of the spots at the
  ``n_steps`` step dates, not at inception) with the geometric-average Asian as
  control variate (its closed form is :func:`geometric_asian_price`);
- ``gbm_barrier_*``: knock-in / knock-out barrier monitored at the step dates
  (discrete monitoring, no rebate);
- ``heston_european_*``: European payoff under Heston, full-truncation Euler.

Common parameters, per trade (1-D arrays of shape ``(n_trades,)``): ``spot``,
``strike`` (currency units), ``tau`` (years), ``rate`` and ``carry_yield``
(continuously compounded), ``vol`` (GBM lognormal vol), ``cp`` (+1.0 call,
-1.0 put), ``n_steps`` (int64, time steps of length ``tau / n_steps``) and
``trade_key`` (uint64, a stable identifier of the trade); ``seed`` (uint64) and
``n_paths`` (>= 2) are shared. Outputs ``price`` and ``stderr`` (float64,
shape ``(n_trades,)``) are per unit of underlying, in currency units.

Reproducibility: the normal used at (trade, path, step) is
``philox.normal(seed, trade_key, path, index)`` with ``index = step`` (GBM) or
``2 step`` and ``2 step + 1`` (Heston). Paths are processed in fixed blocks of
:data:`PATH_BLOCK`; each (trade, block) is one work item of the ``prange`` loop
and the per-block moments are merged in a fixed order afterwards. A trade's
result therefore depends only on its own inputs, ``seed`` and ``n_paths``: it
is bitwise the same whatever the other trades in the batch, their order, the
target (serial or parallel) and the number of threads.

Within a block the path loop is innermost, so the arithmetic, the Philox rounds
and Box–Muller run as vector code across paths.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from . import philox, vmath
from ._targets import serial_and_parallel

PATH_BLOCK = 256
"""Paths per work item (a few KiB of state per block stays in L1)."""

DOWN_AND_OUT = 0
UP_AND_OUT = 1
DOWN_AND_IN = 2
UP_AND_IN = 3

_JIT = dict(inline="always", error_model="numpy", fastmath=False, nogil=True, cache=True)


# ---------------------------------------------------------------------------
# Moments per block and their merge (Chan, Golub and LeVeque's pairwise update)
# ---------------------------------------------------------------------------


@nb.njit(**_JIT)
def _block_moments(y, m):
    # Two passes: mean, then the centred sum of squares.
    s = 0.0
    for j in range(m):
        s += y[j]
    mean = s / m
    m2 = 0.0
    for j in range(m):
        d = y[j] - mean
        m2 += d * d
    return mean, m2


@nb.njit(**_JIT)
def _finish_plain(partial, first, n_blocks, discount, price, stderr, t):
    # Merge (count, mean, M2) of the blocks of one trade in block order.
    n = partial[first, 0]
    mean = partial[first, 1]
    m2 = partial[first, 2]
    for b in range(first + 1, first + n_blocks):
        nb_ = partial[b, 0]
        tot = n + nb_
        d = partial[b, 1] - mean
        mean += d * (nb_ / tot)
        m2 += partial[b, 2] + d * d * (n * nb_ / tot)
        n = tot
    price[t] = discount * mean
    stderr[t] = discount * math.sqrt(m2 / ((n - 1.0) * n))


@nb.njit(**_JIT)
def _block_layout(w, n_blocks, n_paths):
    t = w // n_blocks
    first_path = (w - t * n_blocks) * PATH_BLOCK
    return t, first_path, min(PATH_BLOCK, n_paths - first_path)


@nb.njit(**_JIT)
def _gbm_step(tau, rate, carry_yield, vol, n_steps):
    dt = tau / n_steps
    return (rate - carry_yield - 0.5 * vol * vol) * dt, vol * math.sqrt(dt)


# ---------------------------------------------------------------------------
# GBM European
# ---------------------------------------------------------------------------


def _gbm_european(
    spot, strike, tau, rate, carry_yield, vol, cp, n_steps, seed, trade_key, n_paths, price, stderr
):
    n_trades = spot.shape[0]
    n_blocks = (n_paths + PATH_BLOCK - 1) // PATH_BLOCK
    partial = np.empty((n_trades * n_blocks, 3))
    for w in nb.prange(n_trades * n_blocks):
        t, p0, m = _block_layout(w, n_blocks, n_paths)
        ns = n_steps[t]
        drift, sd = _gbm_step(tau[t], rate[t], carry_yield[t], vol[t], ns)
        key = trade_key[t]
        x = np.zeros(m)  # log(S / S0)
        for b in range(ns >> 1):
            for j in range(m):
                z0, z1 = philox.normal_pair(seed, key, p0 + j, b)
                x[j] = (x[j] + (drift + sd * z0)) + (drift + sd * z1)
        if ns & 1:
            for j in range(m):
                z0, _ = philox.normal_pair(seed, key, p0 + j, ns >> 1)
                x[j] = x[j] + (drift + sd * z0)
        s0, k, w_ = spot[t], strike[t], cp[t]
        for j in range(m):
            x[j] = max(w_ * (s0 * vmath.exp(x[j]) - k), 0.0)
        mean, m2 = _block_moments(x, m)
        partial[w, 0] = m
        partial[w, 1] = mean
        partial[w, 2] = m2
    for t in range(n_trades):
        _finish_plain(
            partial, t * n_blocks, n_blocks, vmath.exp(-rate[t] * tau[t]), price, stderr, t
        )


# ---------------------------------------------------------------------------
# GBM barrier, discretely monitored
# ---------------------------------------------------------------------------


def _gbm_barrier(
    spot,
    strike,
    tau,
    rate,
    carry_yield,
    vol,
    cp,
    barrier,
    barrier_kind,
    n_steps,
    seed,
    trade_key,
    n_paths,
    price,
    stderr,
):
    n_trades = spot.shape[0]
    n_blocks = (n_paths + PATH_BLOCK - 1) // PATH_BLOCK
    partial = np.empty((n_trades * n_blocks, 3))
    for w in nb.prange(n_trades * n_blocks):
        t, p0, m = _block_layout(w, n_blocks, n_paths)
        ns = n_steps[t]
        drift, sd = _gbm_step(tau[t], rate[t], carry_yield[t], vol[t], ns)
        key = trade_key[t]
        kind = barrier_kind[t]
        # Track max(sign * log(S/S0)) so that "up" and "down" are one comparison.
        sign = 1.0 if kind & 1 else -1.0
        level = sign * math.log(barrier[t] / spot[t])
        knock_in = (kind & 2) != 0
        x = np.zeros(m)
        ext = np.full(m, -np.inf)
        for b in range(ns >> 1):
            for j in range(m):
                z0, z1 = philox.normal_pair(seed, key, p0 + j, b)
                x0 = x[j] + (drift + sd * z0)
                x1 = x0 + (drift + sd * z1)
                ext[j] = max(ext[j], max(sign * x0, sign * x1))
                x[j] = x1
        if ns & 1:
            for j in range(m):
                z0, _ = philox.normal_pair(seed, key, p0 + j, ns >> 1)
                x0 = x[j] + (drift + sd * z0)
                ext[j] = max(ext[j], sign * x0)
                x[j] = x0
        s0, k, w_ = spot[t], strike[t], cp[t]
        for j in range(m):
            vanilla = max(w_ * (s0 * vmath.exp(x[j]) - k), 0.0)
            hit = ext[j] >= level
            x[j] = vanilla if hit == knock_in else 0.0
        mean, m2 = _block_moments(x, m)
        partial[w, 0] = m
        partial[w, 1] = mean
        partial[w, 2] = m2
    for t in range(n_trades):
        _finish_plain(
            partial, t * n_blocks, n_blocks, vmath.exp(-rate[t] * tau[t]), price, stderr, t
        )


# ---------------------------------------------------------------------------
# GBM arithmetic Asian with the geometric Asian as control variate
# ---------------------------------------------------------------------------


@nb.njit(cache=True, error_model="numpy")
def geometric_asian_price(spot, strike, tau, rate, carry_yield, vol, cp, n_steps):
    """Closed form of the discrete geometric-average Asian option.

    The average is over the spots at ``t_k = k tau / n_steps``, ``k = 1..n_steps``;
    its log is normal with mean ``log S + (r - q - vol^2/2) tau (n+1) / (2n)`` and
    variance ``vol^2 tau (n+1)(2n+1) / (6 n^2)``.

    Parameters
    ----------
    spot, strike, tau, rate, carry_yield, vol, cp : float
        As in the module conventions (scalars).
    n_steps : int
        Number of averaging dates.

    Returns
    -------
    float
        Discounted price per unit of underlying, in currency units.
    """
    n = float(n_steps)
    mean = (rate - carry_yield - 0.5 * vol * vol) * tau * (n + 1.0) / (2.0 * n)
    var = vol * vol * tau * (n + 1.0) * (2.0 * n + 1.0) / (6.0 * n * n)
    sd = math.sqrt(var)
    d1 = (math.log(spot / strike) + mean + var) / sd
    d2 = d1 - sd
    fwd = spot * vmath.exp(mean + 0.5 * var)
    undiscounted = cp * (fwd * vmath.ncdf(cp * d1) - strike * vmath.ncdf(cp * d2))
    return vmath.exp(-rate * tau) * undiscounted


def _gbm_asian(
    spot, strike, tau, rate, carry_yield, vol, cp, n_steps, seed, trade_key, n_paths, price, stderr
):
    n_trades = spot.shape[0]
    n_blocks = (n_paths + PATH_BLOCK - 1) // PATH_BLOCK
    # Per block: count, mean Y, mean X, and the centred sums Cyy, Cxx, Cxy
    # (Y arithmetic payoff, X geometric payoff).
    partial = np.empty((n_trades * n_blocks, 6))
    for w in nb.prange(n_trades * n_blocks):
        t, p0, m = _block_layout(w, n_blocks, n_paths)
        ns = n_steps[t]
        drift, sd = _gbm_step(tau[t], rate[t], carry_yield[t], vol[t], ns)
        key = trade_key[t]
        x = np.zeros(m)
        sum_s = np.zeros(m)  # sum of S_k / S0
        sum_x = np.zeros(m)  # sum of log(S_k / S0)
        for b in range(ns >> 1):
            for j in range(m):
                z0, z1 = philox.normal_pair(seed, key, p0 + j, b)
                x0 = x[j] + (drift + sd * z0)
                x1 = x0 + (drift + sd * z1)
                sum_s[j] += vmath.exp(x0) + vmath.exp(x1)
                sum_x[j] += x0 + x1
                x[j] = x1
        if ns & 1:
            for j in range(m):
                z0, _ = philox.normal_pair(seed, key, p0 + j, ns >> 1)
                x0 = x[j] + (drift + sd * z0)
                sum_s[j] += vmath.exp(x0)
                sum_x[j] += x0
                x[j] = x0
        s0, k, w_ = spot[t], strike[t], cp[t]
        inv_n = 1.0 / ns
        for j in range(m):
            sum_s[j] = max(w_ * (s0 * (sum_s[j] * inv_n) - k), 0.0)
            sum_x[j] = max(w_ * (s0 * vmath.exp(sum_x[j] * inv_n) - k), 0.0)
        my, cyy = _block_moments(sum_s, m)
        mx, cxx = _block_moments(sum_x, m)
        cxy = 0.0
        for j in range(m):
            cxy += (sum_s[j] - my) * (sum_x[j] - mx)
        partial[w, 0] = m
        partial[w, 1] = my
        partial[w, 2] = mx
        partial[w, 3] = cyy
        partial[w, 4] = cxx
        partial[w, 5] = cxy
    for t in range(n_trades):
        first = t * n_blocks
        n, my, mx = partial[first, 0], partial[first, 1], partial[first, 2]
        cyy, cxx, cxy = partial[first, 3], partial[first, 4], partial[first, 5]
        for b in range(first + 1, first + n_blocks):
            nb_ = partial[b, 0]
            tot = n + nb_
            f = n * nb_ / tot
            dy = partial[b, 1] - my
            dx = partial[b, 2] - mx
            my += dy * (nb_ / tot)
            mx += dx * (nb_ / tot)
            cyy += partial[b, 3] + dy * dy * f
            cxx += partial[b, 4] + dx * dx * f
            cxy += partial[b, 5] + dx * dy * f
            n = tot
        discount = vmath.exp(-rate[t] * tau[t])
        expected_x = (
            geometric_asian_price(
                spot[t], strike[t], tau[t], rate[t], carry_yield[t], vol[t], cp[t], n_steps[t]
            )
            / discount
        )
        beta = cxy / cxx if cxx > 0.0 else 0.0
        var = max(cyy - 2.0 * beta * cxy + beta * beta * cxx, 0.0) / (n - 1.0)
        price[t] = discount * (my - beta * (mx - expected_x))
        stderr[t] = discount * math.sqrt(var / n)


# ---------------------------------------------------------------------------
# Heston European, full-truncation Euler
# ---------------------------------------------------------------------------


def _heston_european(
    spot,
    strike,
    tau,
    rate,
    carry_yield,
    var0,
    kappa,
    long_var,
    vol_of_var,
    corr,
    cp,
    n_steps,
    seed,
    trade_key,
    n_paths,
    price,
    stderr,
):
    n_trades = spot.shape[0]
    n_blocks = (n_paths + PATH_BLOCK - 1) // PATH_BLOCK
    partial = np.empty((n_trades * n_blocks, 3))
    for w in nb.prange(n_trades * n_blocks):
        t, p0, m = _block_layout(w, n_blocks, n_paths)
        ns = n_steps[t]
        dt = tau[t] / ns
        sqrt_dt = math.sqrt(dt)
        mu_dt = (rate[t] - carry_yield[t]) * dt
        k_dt = kappa[t] * dt
        kt_dt = kappa[t] * long_var[t] * dt
        xi_sqrt_dt = vol_of_var[t] * sqrt_dt
        rho = corr[t]
        rho_perp = math.sqrt(1.0 - rho * rho)
        key = trade_key[t]
        x = np.zeros(m)
        v = np.full(m, var0[t])
        for step in range(ns):
            for j in range(m):
                zv, zp = philox.normal_pair(seed, key, p0 + j, step)
                vp = max(v[j], 0.0)
                sq = math.sqrt(vp)
                x[j] += (mu_dt - 0.5 * vp * dt) + sq * sqrt_dt * (rho * zv + rho_perp * zp)
                v[j] += (kt_dt - k_dt * vp) + xi_sqrt_dt * sq * zv
        s0, k, w_ = spot[t], strike[t], cp[t]
        for j in range(m):
            x[j] = max(w_ * (s0 * vmath.exp(x[j]) - k), 0.0)
        mean, m2 = _block_moments(x, m)
        partial[w, 0] = m
        partial[w, 1] = mean
        partial[w, 2] = m2
    for t in range(n_trades):
        _finish_plain(
            partial, t * n_blocks, n_blocks, vmath.exp(-rate[t] * tau[t]), price, stderr, t
        )


gbm_european_serial, gbm_european_parallel = serial_and_parallel(_gbm_european)
gbm_barrier_serial, gbm_barrier_parallel = serial_and_parallel(_gbm_barrier)
gbm_asian_serial, gbm_asian_parallel = serial_and_parallel(_gbm_asian)
heston_european_serial, heston_european_parallel = serial_and_parallel(_heston_european)


def allocate_results(n_trades: int) -> tuple[np.ndarray, np.ndarray]:
    """Allocate ``(price, stderr)``, float64 arrays of shape ``(n_trades,)``."""
    return np.empty(n_trades), np.empty(n_trades)
