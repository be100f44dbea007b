"""Per-trade market inputs that know which risk factors move them.

A pricer sees the market only through a few numbers per trade (spot, rates, vol, FX to base).
Each is described here by its base value and the factors it depends on, so that the same
description evaluates the input unshifted, under one bumped factor, or under every scenario
of a scenario set — vectorized over (trade, scenario) rows, with no string work per row.

Evaluation takes ``rows`` (indices into the per-trade arrays, shape ``(m,)``) and a *shift
source*: a function mapping factor indices (shape ``(m,)``, ``-1`` for "none") to the shift of
that factor in each row's scenario (shape ``(m,)``; 0 for ``-1``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .factors import FactorSet
from .kernels import scenario_inputs as _k
from .market import Market, TermStructure, ZeroCurve

__all__ = [
    "RateInput",
    "ShiftSource",
    "SpotInput",
    "VolInput",
    "bump_shifts",
    "dense_shifts",
    "fx_to_base_input",
    "no_shift",
    "per_name",
    "rate_input",
    "vol_input",
]

ShiftSource = Callable[[np.ndarray], np.ndarray]


def no_shift(fidx: np.ndarray) -> np.ndarray:
    """The unshifted market."""
    return np.zeros(fidx.shape)


def dense_shifts(shifts: np.ndarray, scenario: np.ndarray) -> ShiftSource:
    """Row ``r`` is in scenario ``scenario[r]`` of ``shifts`` (shape ``(S, F)``)."""

    def source(fidx: np.ndarray) -> np.ndarray:
        return np.where(fidx >= 0, shifts[scenario, np.maximum(fidx, 0)], 0.0)

    return source


def bump_shifts(factor: np.ndarray, amount: np.ndarray) -> ShiftSource:
    """Row ``r`` moves factor ``factor[r]`` by ``amount[r]`` and nothing else."""

    def source(fidx: np.ndarray) -> np.ndarray:
        return np.where((fidx == factor) & (fidx >= 0), amount, 0.0)

    return source


@dataclass(frozen=True)
class SpotInput:
    """``base * (1 + s[num]) / (1 + s[den])``: a spot or FX cross under relative shifts."""

    base: np.ndarray
    num: np.ndarray
    den: np.ndarray

    def factors(self) -> list[np.ndarray]:
        return [self.num, self.den]

    def value(self, rows: np.ndarray, shift: ShiftSource) -> np.ndarray:
        return self.base[rows] * (1.0 + shift(self.num[rows])) / (1.0 + shift(self.den[rows]))

    def dense(self, a: int, b: int, shifts: np.ndarray, parallel: bool = False) -> np.ndarray:
        """Trades ``a:b`` under every scenario of ``shifts`` (``(S, F)``): shape
        ``((b - a) * S,)``, trade-major."""
        out = np.empty((b - a) * shifts.shape[0])
        kernel = _k.spot_dense_parallel if parallel else _k.spot_dense_serial
        kernel(self.base, self.num, self.den, shifts, a, b, out)
        return out


@dataclass(frozen=True)
class RateInput:
    """Zero rate to a time, linear between curve pillars ``lo`` and ``hi`` with weight ``w``;
    pillar shifts are absolute and interpolated the same way."""

    base: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    w: np.ndarray

    def factors(self) -> list[np.ndarray]:
        return [self.lo, self.hi]

    def value(self, rows: np.ndarray, shift: ShiftSource) -> np.ndarray:
        w = self.w[rows]
        return self.base[rows] + (1.0 - w) * shift(self.lo[rows]) + w * shift(self.hi[rows])

    def dense(self, a: int, b: int, shifts: np.ndarray, parallel: bool = False) -> np.ndarray:
        """As :meth:`SpotInput.dense`."""
        out = np.empty((b - a) * shifts.shape[0])
        kernel = _k.rate_dense_parallel if parallel else _k.rate_dense_serial
        kernel(self.base, self.lo, self.hi, self.w, shifts, a, b, out)
        return out


@dataclass(frozen=True)
class VolInput:
    """Vol to an expiry from two pillars (linear in total variance), or a fixed vol where
    ``lo == -1`` (a trade's own vol). Pillar shifts are absolute, floored at 1e-8."""

    fixed: np.ndarray
    v_lo: np.ndarray
    v_hi: np.ndarray
    t_lo: np.ndarray
    t_hi: np.ndarray
    t: np.ndarray
    w: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    def factors(self) -> list[np.ndarray]:
        return [self.lo, self.hi]

    def value(self, rows: np.ndarray, shift: ShiftSource) -> np.ndarray:
        lo, hi, w = self.lo[rows], self.hi[rows], self.w[rows]
        a = np.maximum(self.v_lo[rows] + shift(lo), 1e-8)
        b = np.maximum(self.v_hi[rows] + shift(hi), 1e-8)
        var = (1.0 - w) * a * a * self.t_lo[rows] + w * b * b * self.t_hi[rows]
        with np.errstate(invalid="ignore", divide="ignore"):
            interp = np.sqrt(var / self.t[rows])
        return np.where(lo >= 0, interp, self.fixed[rows])

    def dense(self, a: int, b: int, shifts: np.ndarray, parallel: bool = False) -> np.ndarray:
        """As :meth:`SpotInput.dense`."""
        out = np.empty((b - a) * shifts.shape[0])
        kernel = _k.vol_dense_parallel if parallel else _k.vol_dense_serial
        kernel(
            self.fixed,
            self.v_lo,
            self.v_hi,
            self.t_lo,
            self.t_hi,
            self.t,
            self.w,
            self.lo,
            self.hi,
            shifts,
            a,
            b,
            out,
        )
        return out


def _bracket(pillars: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower and upper pillar index and weight of ``t``, flat outside the pillars."""
    tc = np.clip(t, pillars[0], pillars[-1])
    hi = np.clip(np.searchsorted(pillars, tc, side="left"), 0, pillars.size - 1)
    lo = np.maximum(hi - 1, 0)
    span = pillars[hi] - pillars[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(span > 0, (tc - pillars[lo]) / span, 0.0)
    return lo, hi, w


def per_name(names: np.ndarray, fn, dtype=np.float64) -> np.ndarray:
    """``fn(name)`` for each element of ``names`` (shape ``(n,)``), calling ``fn`` once per
    distinct name."""
    uniq, inverse = np.unique(np.asarray(names), return_inverse=True)
    return (
        np.array([fn(str(u)) for u in uniq], dtype=dtype)[inverse.reshape(-1)]
        if uniq.size
        else np.zeros(0, dtype=dtype)
    )


def _by_name(names: np.ndarray):
    uniq, inverse = np.unique(np.asarray(names), return_inverse=True)
    for i, name in enumerate(uniq):
        yield str(name), np.flatnonzero(inverse == i)


def rate_input(market: Market, factors: FactorSet, ccy: np.ndarray, t: np.ndarray) -> RateInput:
    """Zero rates of the curves of ``ccy`` to times ``t`` (shape ``(n,)``)."""
    n = t.size
    base, w = np.full(n, np.nan), np.zeros(n)
    lo, hi = np.full(n, -1), np.full(n, -1)
    for name, rows in _by_name(ccy):
        curve: ZeroCurve | None = market.curves.get(name)
        if curve is None:
            continue
        a, b, ww = _bracket(curve.tenors, t[rows])
        z = curve.zero_rates
        base[rows] = (1.0 - ww) * z[a] + ww * z[b]
        first = factors.index("ir", name)
        lo[rows], hi[rows], w[rows] = first + a, first + b, ww
    return RateInput(base, lo, hi, w)


def vol_input(
    surfaces: dict[str, TermStructure],
    kind: str,
    factors: FactorSet,
    names: np.ndarray,
    t: np.ndarray,
    fixed: np.ndarray | None = None,
) -> VolInput:
    """Vols of ``names`` (keys of ``surfaces``) to expiries ``t``; where ``fixed`` is not NaN
    it is used instead and no factor moves it."""
    n = t.size
    fixed = np.full(n, np.nan) if fixed is None else fixed
    v_lo, v_hi, t_lo, t_hi, tc = (np.ones(n) for _ in range(5))
    w = np.zeros(n)
    lo, hi = np.full(n, -1), np.full(n, -1)
    for name, rows in _by_name(names):
        ts = surfaces.get(name)
        if ts is None:
            continue
        rows = rows[np.isnan(fixed[rows])]
        a, b, ww = _bracket(ts.expiries, t[rows])
        v_lo[rows], v_hi[rows] = ts.vols[a], ts.vols[b]
        t_lo[rows], t_hi[rows] = ts.expiries[a], ts.expiries[b]
        tc[rows] = np.clip(t[rows], ts.expiries[0], ts.expiries[-1])
        w[rows] = ww
        first = factors.index(kind, name)
        lo[rows], hi[rows] = first + a, first + b
    return VolInput(fixed, v_lo, v_hi, t_lo, t_hi, tc, w, lo, hi)


def fx_to_base_input(market: Market, factors: FactorSet, ccy: np.ndarray) -> SpotInput:
    """Value of one unit of each trade currency in the base currency."""
    n = ccy.size
    base = np.full(n, np.nan)
    num = np.full(n, -1)
    for name, rows in _by_name(ccy):
        if name in market.fx:
            base[rows] = market.fx[name]
            num[rows] = factors.index("fx", name)
    return SpotInput(base, num, np.full(n, -1))
