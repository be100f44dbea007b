"""Market inputs of many trades under many scenarios, one row per (trade, scenario).

Row ``(i - a) * S + s`` holds trade ``i`` (``a <= i < b``) under scenario ``s`` of the shift
matrix ``shifts`` (shape ``(S, F)``); a factor index of -1 means "no factor". Each ``*_dense``
kernel takes the per-trade arrays of one input as a tuple, its fields in order (``spot``:
:class:`~xiphpc.pricing.inputs.SpotInput`, ``rate``, ``price``, ``vol``), then
``(shifts, a, b, out)``. Formulas are those of :mod:`xiphpc.pricing.inputs`, which documents
them. ``smile_vol_rows_*`` instead evaluates given
trades under given per-row shifts: the single-valuation path of
:class:`xiphpc.pricing.inputs.SmileVolInput`, sharing its arithmetic with the dense one.
"""

from __future__ import annotations

import math

import numba as nb

from ._targets import serial_and_parallel

__all__ = [
    "price_dense_parallel",
    "price_dense_serial",
    "rate_dense_parallel",
    "rate_dense_serial",
    "smile_at",
    "smile_vol_dense_parallel",
    "smile_vol_dense_serial",
    "smile_vol_rows_parallel",
    "smile_vol_rows_serial",
    "spot_dense_parallel",
    "spot_dense_serial",
    "vol_dense_parallel",
    "vol_dense_serial",
]


@nb.njit(inline="always")
def _shift(shifts, s, f):
    return shifts[s, f] if f >= 0 else 0.0


def _spot_dense(spot, shifts, a, b, out):
    base, num, den = spot
    n_s = shifts.shape[0]
    for i in nb.prange(a, b):
        for s in range(n_s):
            out[(i - a) * n_s + s] = (
                base[i] * (1.0 + _shift(shifts, s, num[i])) / (1.0 + _shift(shifts, s, den[i]))
            )


def _rate_dense(rate, shifts, a, b, out):
    base, lo, hi, w = rate
    n_s = shifts.shape[0]
    for i in nb.prange(a, b):
        for s in range(n_s):
            out[(i - a) * n_s + s] = (
                base[i] + (1.0 - w[i]) * _shift(shifts, s, lo[i]) + w[i] * _shift(shifts, s, hi[i])
            )


def _vol_dense(vol, shifts, a, b, out):
    fixed, v_lo, v_hi, t_lo, t_hi, t, w, lo, hi = vol
    n_s = shifts.shape[0]
    for i in nb.prange(a, b):
        for s in range(n_s):
            if lo[i] < 0:
                out[(i - a) * n_s + s] = fixed[i]
            else:
                x = max(v_lo[i] + _shift(shifts, s, lo[i]), 1e-8)
                y = max(v_hi[i] + _shift(shifts, s, hi[i]), 1e-8)
                var = (1.0 - w[i]) * x * x * t_lo[i] + w[i] * y * y * t_hi[i]
                out[(i - a) * n_s + s] = math.sqrt(var / t[i])


@nb.njit(inline="always")
def _price(p_lo, p_hi, w, s_lo, s_hi):
    return (1.0 - w) * p_lo * (1.0 + s_lo) + w * p_hi * (1.0 + s_hi)


def _price_dense(price, shifts, a, b, out):
    p_lo, p_hi, w, lo, hi = price
    n_s = shifts.shape[0]
    for i in nb.prange(a, b):
        for s in range(n_s):
            out[(i - a) * n_s + s] = _price(
                p_lo[i], p_hi[i], w[i], _shift(shifts, s, lo[i]), _shift(shifts, s, hi[i])
            )


@nb.njit(inline="always")
def _interp(x, axis, vals, n):
    # np.interp on the first n points; a point on the axis returns its value exactly.
    if x != x:  # the NaN price of an invalid trade stays NaN
        return math.nan
    if x <= axis[0]:
        return vals[0]
    if x >= axis[n - 1]:
        return vals[n - 1]
    j = 1
    while axis[j] <= x:
        j += 1
    u = (x - axis[j - 1]) / (axis[j] - axis[j - 1])
    return vals[j - 1] + u * (vals[j] - vals[j - 1])


@nb.njit(inline="always")
def _smile(i, m, smile):
    _, _, n_m, m_axis, m_lo, m_hi, c_lo, c_hi = smile
    x = _interp(m, m_axis[i], m_lo[i], n_m[i])
    y = _interp(m, m_axis[i], m_hi[i], n_m[i])
    return math.sqrt(c_lo[i] * x * x + c_hi[i] * y * y)


@nb.njit(cache=True)
def smile_at(m, smile, out):
    """Smile vol of each row ``i`` at moneyness ``m[i]``; rows without a smile are left
    alone. ``smile`` is the tuple ``(strike, atm, n_m, m_axis, m_lo, m_hi, c_lo, c_hi)`` of
    :class:`xiphpc.pricing.inputs.SmileVolInput`, whose formula this is."""
    n_m = smile[2]
    for i in range(m.size):
        if n_m[i] > 0:
            out[i] = _smile(i, m[i], smile)


@nb.njit(inline="always")
def _smile_vol(i, price, s_lo, s_hi, vol, smile):
    fixed, v_lo, v_hi, t_lo, t_hi, t, w, lo = vol
    strike, atm, n_m = smile[0], smile[1], smile[2]
    if lo[i] < 0:
        return fixed[i]
    off = 0.0
    if n_m[i] > 0:
        off = _smile(i, strike[i] / price, smile) - atm[i]
    x = max(v_lo[i] + off + s_lo, 1e-8)
    y = max(v_hi[i] + off + s_hi, 1e-8)
    var = (1.0 - w[i]) * x * x * t_lo[i] + w[i] * y * y * t_hi[i]
    return math.sqrt(var / t[i])


def _smile_vol_rows(rows, s_lo, s_hi, sp_lo, sp_hi, vol, price, smile, out):
    # vol: (fixed, v_lo, v_hi, t_lo, t_hi, t, w, lo); price: (p_lo, p_hi, p_w); one row per
    # rows[r], with the shifts of its vol pillars (s_*) and price pillars (sp_*).
    p_lo, p_hi, p_w = price
    for r in nb.prange(rows.size):
        i = rows[r]
        f = _price(p_lo[i], p_hi[i], p_w[i], sp_lo[r], sp_hi[r])
        out[r] = _smile_vol(i, f, s_lo[r], s_hi[r], vol, smile)


def _smile_vol_dense(vol, hi, price, p_flo, p_fhi, smile, shifts, a, b, out):
    p_lo, p_hi, p_w = price
    lo = vol[7]
    n_s = shifts.shape[0]
    for i in nb.prange(a, b):
        for s in range(n_s):
            f = _price(
                p_lo[i], p_hi[i], p_w[i], _shift(shifts, s, p_flo[i]), _shift(shifts, s, p_fhi[i])
            )
            out[(i - a) * n_s + s] = _smile_vol(
                i, f, _shift(shifts, s, lo[i]), _shift(shifts, s, hi[i]), vol, smile
            )


spot_dense_serial, spot_dense_parallel = serial_and_parallel(_spot_dense)
price_dense_serial, price_dense_parallel = serial_and_parallel(_price_dense)
smile_vol_rows_serial, smile_vol_rows_parallel = serial_and_parallel(_smile_vol_rows)
smile_vol_dense_serial, smile_vol_dense_parallel = serial_and_parallel(_smile_vol_dense)
rate_dense_serial, rate_dense_parallel = serial_and_parallel(_rate_dense)
vol_dense_serial, vol_dense_parallel = serial_and_parallel(_vol_dense)
