"""Market inputs of many trades under many scenarios, one row per (trade, scenario).

Row ``(i - a) * S + s`` holds trade ``i`` (``a <= i < b``) under scenario ``s`` of the shift
matrix ``shifts`` (shape ``(S, F)``); a factor index of -1 means "no factor". Formulas are those
of :mod:`xiphpc.inputs`, which documents them.
"""

from __future__ import annotations

import math

import numba as nb

from ._targets import serial_and_parallel

__all__ = [
    "rate_dense_parallel",
    "rate_dense_serial",
    "spot_dense_parallel",
    "spot_dense_serial",
    "vol_dense_parallel",
    "vol_dense_serial",
]


@nb.njit(inline="always")
def _shift(shifts, s, f):
    return shifts[s, f] if f >= 0 else 0.0


def _spot_dense(base, num, den, shifts, a, b, out):
    n_s = shifts.shape[0]
    for i in nb.prange(a, b):
        for s in range(n_s):
            out[(i - a) * n_s + s] = (
                base[i] * (1.0 + _shift(shifts, s, num[i])) / (1.0 + _shift(shifts, s, den[i]))
            )


def _rate_dense(base, lo, hi, w, shifts, a, b, out):
    n_s = shifts.shape[0]
    for i in nb.prange(a, b):
        for s in range(n_s):
            out[(i - a) * n_s + s] = (
                base[i] + (1.0 - w[i]) * _shift(shifts, s, lo[i]) + w[i] * _shift(shifts, s, hi[i])
            )


def _vol_dense(fixed, v_lo, v_hi, t_lo, t_hi, t, w, lo, hi, shifts, a, b, out):
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


spot_dense_serial, spot_dense_parallel = serial_and_parallel(_spot_dense)
rate_dense_serial, rate_dense_parallel = serial_and_parallel(_rate_dense)
vol_dense_serial, vol_dense_parallel = serial_and_parallel(_vol_dense)
