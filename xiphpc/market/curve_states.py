"""Curve states: today's yield and hazard curves under many factor shifts at once.

Products whose market is curves only (rates products, CDS) revalue a scenario set, or the
bumps of bucketed sensitivities, in one kernel call: the kernels read the pillar values of
every *state* from a 2-D array, one column per shift vector, in an inner loop over the
states (:mod:`xiphpc.pricing.kernels.rates`). A state moves the curves as
:func:`~xiphpc.market.factors.shifted_market` does (zero rates plus the ``ir`` pillar shifts,
hazard rates plus the ``cs`` pillar shifts floored at 0), so either path gives the same
values to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .curves.credit import HazardCurve
from .curves.curve import as_curve, pack_curves
from .factors import FactorSet

__all__ = ["CurveStates", "HazardCurves", "YieldCurves"]


class YieldCurves(NamedTuple):
    """Packed yield curves in every curve state, as the kernels of
    :mod:`xiphpc.pricing.kernels.rates` take them.

    Attributes
    ----------
    times : ndarray, shape ``(P,)``
        ``ct``: pillar times (years), curve after curve.
    zeros : ndarray, shape ``(P, V)``
        ``cz``: zero rates at the pillars in each state (states contiguous: kernels loop over
        them innermost).
    kinds : ndarray of int64, shape ``(c,)``
        ``ck``: interpolation code of each curve.
    offsets : ndarray of int64, shape ``(c + 1,)``
        ``co``: first pillar of each curve.
    """

    times: np.ndarray
    zeros: np.ndarray
    kinds: np.ndarray
    offsets: np.ndarray


class HazardCurves(NamedTuple):
    """Packed hazard curves in every curve state, as :mod:`xiphpc.pricing.kernels.credit`
    takes them.

    Attributes
    ----------
    times : ndarray, shape ``(H,)``
        ``ht``: pillar times (years), curve after curve.
    hazards, integrated : ndarray, shape ``(H, V)``
        ``hh``, ``hc``: hazard rates and integrated hazard at each pillar, per state.
    offsets : ndarray of int64, shape ``(c + 1,)``
        ``ho``: first pillar of each curve.
    """

    times: np.ndarray
    hazards: np.ndarray
    integrated: np.ndarray
    offsets: np.ndarray


@dataclass(frozen=True)
class CurveStates:
    """Factor shifts of ``V`` curve states.

    Attributes
    ----------
    shifts : ndarray of float64, shape ``(V, F)``
        Row ``v`` holds the shift of every factor of ``factors`` in state ``v`` (absolute for
        rates and hazard pillars).
    factors : FactorSet or None
        None for the single unshifted state.
    """

    shifts: np.ndarray
    factors: FactorSet | None = None

    @classmethod
    def today(cls) -> CurveStates:
        """One state: today's curves."""
        return cls(np.zeros((1, 0)))

    def __len__(self) -> int:
        return self.shifts.shape[0]

    def _pillar_shifts(self, kind: str, name: str, k: int) -> np.ndarray:
        """Shifts of the ``k`` pillars of curve ``name``, shape ``(V, k)``."""
        first = -1 if self.factors is None else self.factors.index(kind, name)
        if first < 0:
            return np.zeros((len(self), k))
        return self.shifts[:, first : first + k]

    def yield_curves(self, names: list[str], curves: list) -> YieldCurves:
        """Packed curves in every state.

        Parameters
        ----------
        names : list of str
            Factor name of each curve (a currency or an index).
        curves : list of Curve or ZeroCurve
        """
        packed = pack_curves(curves)
        if not curves:
            return YieldCurves(packed.times, np.zeros((0, len(self))), packed.kinds, packed.offsets)
        zeros = [as_curve(c).zero_rates for c in curves]
        rows = [
            z[None, :] + self._pillar_shifts("ir", n, z.size)
            for n, z in zip(names, zeros, strict=True)
        ]
        cz = np.ascontiguousarray(np.concatenate(rows, axis=1).T)
        return YieldCurves(packed.times, cz, packed.kinds, packed.offsets)

    def grid_vols(self, surface, kind: str, name: str, t: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Vols of a grid surface in every state, shape ``(n, V)``.

        The surface's nodes move by the factors of ``kind`` and ``name`` (row-major:
        expiry, then second axis), floored at 1e-8 as in
        :func:`~xiphpc.market.factors.shifted_market`, and are interpolated as
        :func:`~xiphpc.market.curves.surfaces.grid_vol` does: linearly along the second axis (flat
        outside), linearly in total variance across expiries.

        Parameters
        ----------
        surface
            With ``expiries`` (shape ``(k,)``), a second axis ``tenors`` (``(m,)``) and
            ``vols`` (``(k, m)``).
        t, x : ndarray, shape ``(n,)``
            Expiries (years) and second coordinates of the trades.
        """
        expiries, axis = surface.expiries, surface.tenors
        k, m = surface.vols.shape
        nodes = np.maximum(
            surface.vols.reshape(1, k * m) + self._pillar_shifts(kind, name, k * m), 1e-8
        )
        xc = np.clip(np.asarray(x, dtype=np.float64), axis[0], axis[-1])
        if m > 1:
            b = np.clip(np.searchsorted(axis, xc, side="left"), 1, m - 1)
            a = b - 1
            u = (xc - axis[a]) / (axis[b] - axis[a])
        else:
            a = b = np.zeros(xc.size, dtype=np.int64)
            u = np.zeros(xc.size)

        def row(e: np.ndarray) -> np.ndarray:
            # Vols of expiry row e (per trade) at x, in every state: shape (V, n).
            lo, hi = nodes[:, e * m + a], nodes[:, e * m + b]
            return lo + (hi - lo) * u

        if k == 1:
            return np.ascontiguousarray(row(np.zeros(xc.size, dtype=np.int64)).T)
        tc = np.clip(np.asarray(t, dtype=np.float64), expiries[0], expiries[-1])
        hi = np.clip(np.searchsorted(expiries, tc, side="left"), 1, k - 1)
        lo = hi - 1
        w = (tc - expiries[lo]) / (expiries[hi] - expiries[lo])
        var = (1.0 - w) * row(lo) ** 2 * expiries[lo] + w * row(hi) ** 2 * expiries[hi]
        return np.ascontiguousarray(np.sqrt(var / tc).T)

    def hazard_curves(self, names: list[str], curves: list[HazardCurve]) -> HazardCurves:
        """Packed hazard curves in every state (:func:`~xiphpc.market.curves.credit.pack_hazards`
        with 2-D rates)."""
        v = len(self)
        if not curves:
            z = np.zeros((0, v))
            return HazardCurves(np.zeros(0), z, z.copy(), np.zeros(1, np.int64))
        hh_rows, hc_rows = [], []
        for name, c in zip(names, curves, strict=True):
            hh = np.maximum(c.hazards[None, :] + self._pillar_shifts("cs", name, c.times.size), 0.0)
            # HazardCurve.cumulative at its own pillars, for every state at once.
            edges = np.concatenate(([0.0], c.times))
            steps = hh * np.diff(edges)[None, :]
            cum = np.concatenate((np.zeros((v, 1)), np.cumsum(steps, axis=1)), axis=1)
            hh_rows.append(hh)
            hc_rows.append(cum[:, :-1] + hh * (c.times - edges[:-1])[None, :])
        ht = np.concatenate([c.times for c in curves]).astype(np.float64)
        ho = np.concatenate(([0], np.cumsum([c.times.size for c in curves]))).astype(np.int64)
        return HazardCurves(
            ht,
            np.ascontiguousarray(np.concatenate(hh_rows, axis=1).T),
            np.ascontiguousarray(np.concatenate(hc_rows, axis=1).T),
            ho,
        )
