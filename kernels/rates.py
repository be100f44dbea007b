"""Interest-rate kernels: curve lookup, swaps, FRAs, cash-flow streams, bond yields,
caps/floors and European swaptions (Black and Bachelier).

Curves come packed (:func:`xiphpc.curves.curve.pack_curves`): ``ct`` pillar times (years),
``cz`` zero rates (continuous), ``ck`` interpolation code per curve (0 linear on zero rates,
flat outside; 1 log-linear on discount factors from the node ``(0, 1)``, flat forward after the
last pillar), ``co`` pillar offsets per curve. Each trade names its discount curve ``disc[i]``
and projection curve ``proj[i]`` by index.

Ragged schedules are CSR: period ``k`` of trade ``i`` lies in ``off[i]:off[i + 1]``. All times
are years ACT/365F from the valuation date; accrual fractions come precomputed in each
period's own day count.

Every pricing kernel values each trade, per unit notional (per 1 of face for cash-flow
streams), under a table of *valuations* ``j``: ``vh[j]`` a horizon in years (every time
shortens by it; curves and vols held fixed as functions of time from today, a flow falling
due within the horizon counted at its undiscounted amount), ``vb[j]`` a parallel shift added
to the zero rates of every curve, and ``vs[j]`` the curve *state*: the row of ``cz`` (shape
``(states, pillars)``) the valuation reads, each row a set of pillar zero rates (today's, or
today's under one scenario or one bucketed bump). ``values[i, j]`` receives trade ``i``'s
value under valuation ``j``, so one call prices today's measures (:data:`STANDARD_VALUATIONS`:
PV, +-1bp for rho, one day on for theta) or every scenario of a scenario set.

Quantities besides the values (annuity, par rate, forward, vega: dPV/dvol per 1.0 of the
quoted vol, lognormal or normal) are those of valuation 0.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ._targets import KERNEL_OPTIONS, serial_and_parallel

_BP = 1e-4
_DAY = 1.0 / 365.0
_INV_SQRT2 = 0.7071067811865475244
_INV_SQRT2PI = 0.3989422804014326779
_INLINE = dict(inline="always", fastmath=False, error_model="numpy")


#: Valuations of today's measures: PV, +1bp, -1bp and one day on (see
#: :func:`measures_from_values`), as ``(vh, vb)``; all on curve state 0.
STANDARD_VALUATIONS = (
    np.array([0.0, 0.0, 0.0, _DAY]),
    np.array([0.0, _BP, -_BP, 0.0]),
)


def valuations(n_states: int = 1, standard: bool = False, pv_only: bool = False):
    """Valuation table ``(vh, vb, vs)``: the standard four on state 0 (the PV alone when
    ``pv_only``), or one unshifted valuation per curve state."""
    if standard:
        vh, vb = STANDARD_VALUATIONS
        m = 1 if pv_only else 4
        return vh[:m].copy(), vb[:m].copy(), np.zeros(m, np.int64)
    return np.zeros(n_states), np.zeros(n_states), np.arange(n_states, dtype=np.int64)


def measures_from_values(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PV, central-difference rho per bp and one-day theta from the values of the standard
    valuations (shape ``(n, 4)``; with one column, rho and theta are 0)."""
    pv = values[:, 0].copy()
    if values.shape[1] < 4:
        return pv, np.zeros_like(pv), np.zeros_like(pv)
    return pv, 0.5 * (values[:, 1] - values[:, 2]), values[:, 3] - values[:, 0]


@nb.njit(**_INLINE)
def norm_cdf(x):
    """Standard normal CDF via erfc, accurate in the lower tail."""
    return 0.5 * math.erfc(-x * _INV_SQRT2)


@nb.njit(**_INLINE)
def norm_pdf(x):
    """Standard normal density."""
    return _INV_SQRT2PI * math.exp(-0.5 * x * x)


@nb.njit(**_INLINE)
def curve_df(ct, cz, ck, co, c, t):
    """Discount factor of packed curve ``c`` to time ``t`` (1 for ``t <= 0``)."""
    if t <= 0.0:
        return 1.0
    a = co[c]
    b = co[c + 1]
    last = b - 1
    if ck[c] == 0:
        if t <= ct[a]:
            z = cz[a]
        elif t >= ct[last]:
            z = cz[last]
        else:
            lo = a
            hi = last
            while hi - lo > 1:
                mid = (lo + hi) >> 1
                if ct[mid] <= t:
                    lo = mid
                else:
                    hi = mid
            w = (t - ct[lo]) / (ct[hi] - ct[lo])
            z = cz[lo] + w * (cz[hi] - cz[lo])
        return math.exp(-z * t)
    # Log-linear on discount factors; log P(t_j) = -z_j t_j.
    if t <= ct[a]:
        return math.exp(-cz[a] * t)
    if t >= ct[last]:
        if last == a:
            return math.exp(-cz[a] * t)
        l1 = -cz[last - 1] * ct[last - 1]
        l2 = -cz[last] * ct[last]
        slope = (l2 - l1) / (ct[last] - ct[last - 1])
        return math.exp(l2 + slope * (t - ct[last]))
    lo = a
    hi = last
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if ct[mid] <= t:
            lo = mid
        else:
            hi = mid
    l1 = -cz[lo] * ct[lo]
    l2 = -cz[hi] * ct[hi]
    w = (t - ct[lo]) / (ct[hi] - ct[lo])
    return math.exp(l1 + w * (l2 - l1))


@nb.njit(**_INLINE)
def shifted_df(ct, cz, ck, co, c, t, h, b):
    """Discount factor to ``t`` seen ``h`` years later, zero rates moved by ``b``."""
    tt = t - h
    if tt <= 0.0:
        return 1.0
    return curve_df(ct, cz, ck, co, c, tt) * math.exp(-b * tt)


@nb.njit(**_INLINE)
def _legs(
    ct,
    cz,
    ck,
    co,
    dc,
    pc,
    spread,
    f0,
    f1,
    fix_pay,
    fix_acc,
    l0,
    l1,
    flt_start,
    flt_end,
    flt_tau,
    flt_acc,
    flt_pay,
    h,
    b,
):
    # Fixed-leg annuity and float-leg PV (forwards plus spread) per unit notional.
    annuity = 0.0
    for k in range(f0, f1):
        annuity += fix_acc[k] * shifted_df(ct, cz, ck, co, dc, fix_pay[k], h, b)
    flt = 0.0
    for k in range(l0, l1):
        p1 = shifted_df(ct, cz, ck, co, pc, flt_start[k], h, b)
        p2 = shifted_df(ct, cz, ck, co, pc, flt_end[k], h, b)
        fwd = (p1 / p2 - 1.0) / flt_tau[k]
        flt += (fwd + spread) * flt_acc[k] * shifted_df(ct, cz, ck, co, dc, flt_pay[k], h, b)
    return annuity, flt


def _swap_loop(
    ct,
    cz,
    ck,
    co,
    disc,
    proj,
    fixed_rate,
    spread,
    sign,
    fix_off,
    fix_pay,
    fix_acc,
    flt_off,
    flt_start,
    flt_end,
    flt_tau,
    flt_acc,
    flt_pay,
    vh,
    vb,
    vs,
    values,
    annuity,
    par_rate,
):
    for i in nb.prange(disc.shape[0]):
        for j in range(vh.shape[0]):
            a, flt = _legs(
                ct,
                cz[vs[j]],
                ck,
                co,
                disc[i],
                proj[i],
                spread[i],
                fix_off[i],
                fix_off[i + 1],
                fix_pay,
                fix_acc,
                flt_off[i],
                flt_off[i + 1],
                flt_start,
                flt_end,
                flt_tau,
                flt_acc,
                flt_pay,
                vh[j],
                vb[j],
            )
            values[i, j] = sign[i] * (flt - fixed_rate[i] * a)
            if j == 0:
                annuity[i] = a
                # The fixed rate that makes the swap worth zero (spread in the float leg).
                par_rate[i] = flt / a


def _fra_loop(
    ct, cz, ck, co, disc, proj, strike, sign, t_start, t_end, tau, vh, vb, vs, values, forward
):
    for i in nb.prange(disc.shape[0]):
        for j in range(vh.shape[0]):
            z = cz[vs[j]]
            h = vh[j]
            b = vb[j]
            p1 = shifted_df(ct, z, ck, co, proj[i], t_start[i], h, b)
            p2 = shifted_df(ct, z, ck, co, proj[i], t_end[i], h, b)
            f = (p1 / p2 - 1.0) / tau[i]
            d = shifted_df(ct, z, ck, co, disc[i], t_start[i], h, b)
            # Settled at the start date, discounted at the forward rate for the period.
            values[i, j] = sign[i] * (f - strike[i]) * tau[i] / (1.0 + f * tau[i]) * d
            if j == 0:
                forward[i] = f


def _cashflow_loop(ct, cz, ck, co, disc, off, pay, amount, vh, vb, vs, values):
    for i in nb.prange(disc.shape[0]):
        for j in range(vh.shape[0]):
            z = cz[vs[j]]
            v = 0.0
            for k in range(off[i], off[i + 1]):
                v += amount[k] * shifted_df(ct, z, ck, co, disc[i], pay[k], vh[j], vb[j])
            values[i, j] = v


@nb.njit(**_INLINE)
def _price_at_yield(off0, off1, times, amount, y, freq):
    # Price and dPrice/dy with compounding ``freq`` times a year.
    base = 1.0 + y / freq
    p = 0.0
    dp = 0.0
    for k in range(off0, off1):
        d = base ** (-freq * times[k])
        p += amount[k] * d
        dp -= amount[k] * times[k] * d / base
    return p, dp


def _bond_yield_loop(off, times, amount, dirty, freq, tol, ytm, mod_duration):
    for i in nb.prange(dirty.shape[0]):
        f = freq[i]
        lo = -0.99 * f
        hi = 10.0
        y = 0.05
        for _ in range(200):
            p, dp = _price_at_yield(off[i], off[i + 1], times, amount, y, f)
            err = p - dirty[i]
            # Price falls with the yield: keep a bracket for the Newton steps.
            if err > 0.0:
                lo = y
            else:
                hi = y
            step = err / dp if dp != 0.0 else 0.0
            y_new = y - step
            if not (lo < y_new < hi):
                y_new = 0.5 * (lo + hi)
            if abs(y_new - y) <= tol:
                y = y_new
                break
            y = y_new
        p, dp = _price_at_yield(off[i], off[i + 1], times, amount, y, f)
        ytm[i] = y
        mod_duration[i] = -dp / p


@nb.njit(**_INLINE)
def option_value(fwd, strike, sd, omega, normal):
    """Undiscounted option value and its derivative in ``sd`` (std dev of the forward).

    Black (``normal == 0``: ``sd = vol * sqrt(T)`` lognormal) or Bachelier (``normal == 1``:
    ``sd`` in rate units). ``sd <= 0`` gives the intrinsic value.
    """
    if sd <= 0.0:
        return max(omega * (fwd - strike), 0.0), 0.0
    if normal == 1:
        d = (fwd - strike) / sd
        return omega * (fwd - strike) * norm_cdf(omega * d) + sd * norm_pdf(d), norm_pdf(d)
    if fwd <= 0.0 or strike <= 0.0:
        # Black is undefined for non-positive rates; fall back to the intrinsic value.
        return max(omega * (fwd - strike), 0.0), 0.0
    d1 = math.log(fwd / strike) / sd + 0.5 * sd
    d2 = d1 - sd
    value = omega * (fwd * norm_cdf(omega * d1) - strike * norm_cdf(omega * d2))
    return value, fwd * norm_pdf(d1)


@nb.njit(**_INLINE)
def _cap_value(
    ct,
    cz,
    ck,
    co,
    dc,
    pc,
    strike,
    omega,
    vol,
    normal,
    c0,
    c1,
    fix_t,
    start_t,
    end_t,
    tau,
    acc,
    pay_t,
    h,
    b,
):
    value = 0.0
    vega = 0.0
    for k in range(c0, c1):
        p1 = shifted_df(ct, cz, ck, co, pc, start_t[k], h, b)
        p2 = shifted_df(ct, cz, ck, co, pc, end_t[k], h, b)
        fwd = (p1 / p2 - 1.0) / tau[k]
        t_fix = fix_t[k] - h
        sq = math.sqrt(t_fix) if t_fix > 0.0 else 0.0
        v, dv = option_value(fwd, strike, vol * sq, omega, normal)
        d = acc[k] * shifted_df(ct, cz, ck, co, dc, pay_t[k], h, b)
        value += d * v
        vega += d * dv * sq
    return value, vega


def _cap_loop(
    ct,
    cz,
    ck,
    co,
    disc,
    proj,
    strike,
    omega,
    vol,
    normal,
    off,
    fix_t,
    start_t,
    end_t,
    tau,
    acc,
    pay_t,
    vh,
    vb,
    vs,
    values,
    vega,
):
    for i in nb.prange(disc.shape[0]):
        for j in range(vh.shape[0]):
            v, g = _cap_value(
                ct,
                cz[vs[j]],
                ck,
                co,
                disc[i],
                proj[i],
                strike[i],
                omega[i],
                vol[i],
                normal[i],
                off[i],
                off[i + 1],
                fix_t,
                start_t,
                end_t,
                tau,
                acc,
                pay_t,
                vh[j],
                vb[j],
            )
            values[i, j] = v
            if j == 0:
                vega[i] = g


def _swaption_loop(
    ct,
    cz,
    ck,
    co,
    disc,
    proj,
    strike,
    omega,
    vol,
    normal,
    expiry,
    fix_off,
    fix_pay,
    fix_acc,
    flt_off,
    flt_start,
    flt_end,
    flt_tau,
    flt_acc,
    flt_pay,
    vh,
    vb,
    vs,
    values,
    vega,
    forward,
    annuity,
):
    for i in nb.prange(disc.shape[0]):
        for j in range(vh.shape[0]):
            h = vh[j]
            a, flt = _legs(
                ct,
                cz[vs[j]],
                ck,
                co,
                disc[i],
                proj[i],
                0.0,
                fix_off[i],
                fix_off[i + 1],
                fix_pay,
                fix_acc,
                flt_off[i],
                flt_off[i + 1],
                flt_start,
                flt_end,
                flt_tau,
                flt_acc,
                flt_pay,
                h,
                vb[j],
            )
            s = flt / a
            t_e = expiry[i] - h
            sq = math.sqrt(t_e) if t_e > 0.0 else 0.0
            v, dv = option_value(s, strike[i], vol[i] * sq, omega[i], normal[i])
            values[i, j] = a * v
            if j == 0:
                vega[i] = a * dv * sq
                forward[i] = s
                annuity[i] = a


swap_serial, swap_parallel = serial_and_parallel(_swap_loop)
fra_serial, fra_parallel = serial_and_parallel(_fra_loop)
cashflows_serial, cashflows_parallel = serial_and_parallel(_cashflow_loop)
bond_yield_serial, bond_yield_parallel = serial_and_parallel(_bond_yield_loop)
cap_serial, cap_parallel = serial_and_parallel(_cap_loop)
swaption_serial, swaption_parallel = serial_and_parallel(_swaption_loop)


@nb.njit(**KERNEL_OPTIONS)
def discount_factors(ct, cz, ck, co, curve, t, out):
    """Discount factors of packed curve ``curve[i]`` to ``t[i]`` into ``out`` (shape ``(n,)``)."""
    for i in range(t.shape[0]):
        out[i] = curve_df(ct, cz, ck, co, curve[i], t[i])
