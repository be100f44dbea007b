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
from dataclasses import dataclass, fields

import numpy as np

from xiphpc.io.text import rows_by_value, unique_inverse
from xiphpc.market.data import Market, TermStructure, ZeroCurve
from xiphpc.market.factors import FactorSet

from .kernels import scenario_inputs as _k

__all__ = [
    "PriceInput",
    "RateInput",
    "ShiftSource",
    "SmileVolInput",
    "SpotInput",
    "VolInput",
    "bump_shifts",
    "dense_shifts",
    "fx_to_base_input",
    "no_shift",
    "per_name",
    "per_pair",
    "price_input",
    "rate_input",
    "smile_vol_input",
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
        return _dense(self, _k.spot_dense_serial, _k.spot_dense_parallel, a, b, shifts, parallel)


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
        return _dense(self, _k.rate_dense_serial, _k.rate_dense_parallel, a, b, shifts, parallel)


@dataclass(frozen=True)
class PriceInput:
    """Price at a time on a curve of pillar prices, linear between pillars ``lo`` and ``hi``
    with weight ``w``, flat outside; pillar shifts are relative:
    ``(1 - w) * p_lo * (1 + s[lo]) + w * p_hi * (1 + s[hi])``.

    With ``w == 0`` the value is ``p_lo * (1 + s[lo])`` exactly (a spot is a one-pillar curve
    with ``hi == -1``), and a time on a pillar gives that pillar's price exactly.
    """

    p_lo: np.ndarray
    p_hi: np.ndarray
    w: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    def factors(self) -> list[np.ndarray]:
        return [self.lo, self.hi]

    def value(self, rows: np.ndarray, shift: ShiftSource) -> np.ndarray:
        w = self.w[rows]
        s_lo, s_hi = shift(self.lo[rows]), shift(self.hi[rows])
        return (1.0 - w) * self.p_lo[rows] * (1.0 + s_lo) + w * self.p_hi[rows] * (1.0 + s_hi)

    def dense(self, a: int, b: int, shifts: np.ndarray, parallel: bool = False) -> np.ndarray:
        """As :meth:`SpotInput.dense`."""
        return _dense(self, _k.price_dense_serial, _k.price_dense_parallel, a, b, shifts, parallel)


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
        return _dense(self, _k.vol_dense_serial, _k.vol_dense_parallel, a, b, shifts, parallel)


@dataclass(frozen=True)
class SmileVolInput:
    """A :class:`VolInput` whose rows may carry a smile read at the moneyness
    ``strike / price`` of a moving price (a :class:`PriceInput` under the same shifts).

    On a row with a smile (``n_m > 0``) the offset ``smile(strike / price) - atm`` is added
    to both term-structure pillars before they are shifted and interpolated as in
    :class:`VolInput`; ``atm`` is the smile at moneyness 1, so an at-the-money strike gets
    the term structure's vol. The smile at moneyness ``m`` is
    ``sqrt(c_lo * a(m)**2 + c_hi * b(m)**2)``, ``a`` and ``b`` the smile rows of the two
    surface expiries around the option expiry (linear in ``m``, flat outside), ``c_lo`` and
    ``c_hi`` their total-variance weights. Because the price moves with its factors, the
    smile is sticky in moneyness: a price shift moves the vol along the smile.

    Attributes
    ----------
    fixed, v_lo, v_hi, t_lo, t_hi, t, w, lo, hi : ndarray, shape ``(n,)``
        As :class:`VolInput` (years for the times, ``lo``/``hi`` factor indices).
    p_lo, p_hi, p_w, p_flo, p_fhi : ndarray, shape ``(n,)``
        The price, as :class:`PriceInput` (``p_flo == p_fhi == -1`` where no smile).
    strike, atm : ndarray, shape ``(n,)``
        Strike (price units) and the smile vol at moneyness 1.
    n_m : ndarray of int64, shape ``(n,)``
        Number of moneyness points of the row's smile; 0: no smile.
    m_axis, m_lo, m_hi : ndarray, shape ``(n, M)``
        Moneyness pillars and the vols of the lower and upper surface expiry, the first
        ``n_m`` of each row used.
    c_lo, c_hi : ndarray, shape ``(n,)``
        Total-variance weights ``(1 - u) * T_lo / t`` and ``u * T_hi / t``.
    """

    fixed: np.ndarray
    v_lo: np.ndarray
    v_hi: np.ndarray
    t_lo: np.ndarray
    t_hi: np.ndarray
    t: np.ndarray
    w: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    p_lo: np.ndarray
    p_hi: np.ndarray
    p_w: np.ndarray
    p_flo: np.ndarray
    p_fhi: np.ndarray
    strike: np.ndarray
    atm: np.ndarray
    n_m: np.ndarray
    m_axis: np.ndarray
    m_lo: np.ndarray
    m_hi: np.ndarray
    c_lo: np.ndarray
    c_hi: np.ndarray

    def factors(self) -> list[np.ndarray]:
        return [self.lo, self.hi, self.p_flo, self.p_fhi]

    def _vol(self) -> tuple[np.ndarray, ...]:
        return (self.fixed, self.v_lo, self.v_hi, self.t_lo, self.t_hi, self.t, self.w,
                self.lo)  # fmt: skip

    def _smile(self) -> tuple[np.ndarray, ...]:
        return (self.strike, self.atm, self.n_m, self.m_axis, self.m_lo, self.m_hi, self.c_lo,
                self.c_hi)  # fmt: skip

    def value(self, rows: np.ndarray, shift: ShiftSource) -> np.ndarray:
        out = np.empty(rows.size)
        # Shifts are looked up here and the arithmetic is the kernel's, the code of
        # :meth:`dense`, so that both paths give the same vol to the last bit.
        _k.smile_vol_rows_serial(
            np.asarray(rows, dtype=np.int64),
            shift(self.lo[rows]),
            shift(self.hi[rows]),
            shift(self.p_flo[rows]),
            shift(self.p_fhi[rows]),
            self._vol(),
            (self.p_lo, self.p_hi, self.p_w),
            self._smile(),
            out,
        )
        return out

    def dense(self, a: int, b: int, shifts: np.ndarray, parallel: bool = False) -> np.ndarray:
        """As :meth:`SpotInput.dense`."""
        out = np.empty((b - a) * shifts.shape[0])
        kernel = _k.smile_vol_dense_parallel if parallel else _k.smile_vol_dense_serial
        kernel(
            self._vol(),
            self.hi,
            (self.p_lo, self.p_hi, self.p_w),
            self.p_flo,
            self.p_fhi,
            self._smile(),
            shifts,
            a,
            b,
            out,
        )
        return out


def _dense(inp, serial, parallel, a: int, b: int, shifts: np.ndarray, par: bool) -> np.ndarray:
    """``inp.dense``: the kernel of :mod:`~xiphpc.pricing.kernels.scenario_inputs` on the
    tuple of the input's arrays, its fields in order."""
    out = np.empty((b - a) * shifts.shape[0])
    kernel = parallel if par else serial
    kernel(tuple(getattr(inp, f.name) for f in fields(inp)), shifts, a, b, out)
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
    uniq, inverse = unique_inverse(names)
    return (
        np.array([fn(str(u)) for u in uniq], dtype=dtype)[inverse.reshape(-1)]
        if uniq.size
        else np.zeros(0, dtype=dtype)
    )


def per_pair(a: np.ndarray, b: np.ndarray, fn: Callable[[str, str], bool]) -> np.ndarray:
    """``fn(a[i], b[i])`` for each pair of elements of ``a`` and ``b`` (shape ``(n,)`` each;
    bool, shape ``(n,)``), calling ``fn`` once per distinct pair."""
    ua, ca = unique_inverse(np.asarray(a))
    ub, cb = unique_inverse(np.asarray(b))
    pairs, code = np.unique(ca * ub.size + cb, return_inverse=True)
    known = [fn(str(ua[p // ub.size]), str(ub[p % ub.size])) for p in pairs]
    return np.array(known, dtype=bool)[code.reshape(-1)]


def rate_input(market: Market, factors: FactorSet, ccy: np.ndarray, t: np.ndarray) -> RateInput:
    """Zero rates of the curves of ``ccy`` to times ``t`` (shape ``(n,)``)."""
    n = t.size
    base, w = np.full(n, np.nan), np.zeros(n)
    lo, hi = np.full(n, -1), np.full(n, -1)
    for name, rows in rows_by_value(ccy):
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
    for name, rows in rows_by_value(names):
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


def price_input(
    curves: dict, kind: str, factors: FactorSet, names: np.ndarray, t: np.ndarray
) -> PriceInput:
    """Prices of ``names`` to times ``t`` (years, shape ``(n,)``) on curves with pillar
    ``expiries`` (years) and ``prices`` (the keys of ``curves``: commodity futures curves),
    each pillar a factor of ``kind`` shifted relatively. Names without a curve give NaN and
    no factor; a curve without factors in ``factors`` gives its prices, held fixed."""
    n = t.size
    p_lo, p_hi, w = np.full(n, np.nan), np.full(n, np.nan), np.zeros(n)
    lo, hi = np.full(n, -1), np.full(n, -1)
    for name, rows in rows_by_value(names):
        curve = curves.get(name)
        if curve is None:
            continue
        a, b, ww = _bracket(curve.expiries, t[rows])
        p_lo[rows], p_hi[rows], w[rows] = curve.prices[a], curve.prices[b], ww
        first = factors.index(kind, name)
        if first >= 0:
            lo[rows], hi[rows] = first + a, first + b
    return PriceInput(p_lo, p_hi, w, lo, hi)


def smile_vol_input(
    vol: VolInput,
    price: PriceInput,
    strike: np.ndarray,
    surfaces: dict,
    names: np.ndarray,
    t: np.ndarray,
) -> VolInput | SmileVolInput:
    """``vol`` with, on the rows whose name (``names``, ``""`` for none) has a surface and
    whose vol is not fixed, the smile of that surface read at ``strike / price``
    (:class:`SmileVolInput`); ``vol`` itself when no row has one.

    Parameters
    ----------
    surfaces : dict
        Moneyness surfaces by name, with ``expiries`` (years, ``(k,)``), ``moneyness``
        (``(M,)``) and ``vols`` (``(k, M)``), interpolated as
        :mod:`xiphpc.market.curves.surfaces` states.
    strike, t : ndarray, shape ``(n,)``
        Strikes (price units) and option expiries (years).
    """
    n = t.size
    with_smile = [
        (s, rows[vol.lo[rows] >= 0])
        for name, rows in rows_by_value(names)
        if (s := surfaces.get(name)) is not None
    ]
    with_smile = [(s, rows) for s, rows in with_smile if rows.size]
    if not with_smile:
        return vol
    width = max(s.moneyness.size for s, _ in with_smile)
    n_m = np.zeros(n, dtype=np.int64)
    m_axis, m_lo, m_hi = (np.zeros((n, width)) for _ in range(3))
    c_lo, c_hi = np.ones(n), np.zeros(n)
    for s, rows in with_smile:
        e, k = s.expiries, s.moneyness.size
        if e.size == 1:
            a = b = np.zeros(rows.size, dtype=np.int64)
            c_lo[rows], c_hi[rows] = 1.0, 0.0
        else:
            # The bracketing of :func:`xiphpc.market.curves.surfaces.grid_vol`.
            tc = np.clip(t[rows], e[0], e[-1])
            b = np.clip(np.searchsorted(e, tc, side="left"), 1, e.size - 1)
            a = b - 1
            u = (tc - e[a]) / (e[b] - e[a])
            c_lo[rows], c_hi[rows] = (1.0 - u) * e[a] / tc, u * e[b] / tc
        n_m[rows] = k
        m_axis[rows, :k] = s.moneyness
        m_lo[rows, :k], m_hi[rows, :k] = s.vols[a], s.vols[b]
    atm = np.zeros(n)
    strike = np.asarray(strike, dtype=np.float64)
    _k.smile_at(np.ones(n), (strike, atm, n_m, m_axis, m_lo, m_hi, c_lo, c_hi), atm)
    smiled = n_m > 0
    return SmileVolInput(
        *(getattr(vol, f) for f in ("fixed", "v_lo", "v_hi", "t_lo", "t_hi", "t", "w", "lo", "hi")),
        p_lo=price.p_lo,
        p_hi=price.p_hi,
        p_w=price.w,
        p_flo=np.where(smiled, price.lo, -1),
        p_fhi=np.where(smiled, price.hi, -1),
        strike=strike,
        atm=atm,
        n_m=n_m,
        m_axis=m_axis,
        m_lo=m_lo,
        m_hi=m_hi,
        c_lo=c_lo,
        c_hi=c_hi,
    )


def fx_to_base_input(market: Market, factors: FactorSet, ccy: np.ndarray) -> SpotInput:
    """Value of one unit of each trade currency in the base currency."""
    n = ccy.size
    base = np.full(n, np.nan)
    num = np.full(n, -1)
    for name, rows in rows_by_value(ccy):
        if name in market.fx:
            base[rows] = market.fx[name]
            num[rows] = factors.index("fx", name)
    return SpotInput(base, num, np.full(n, -1))
