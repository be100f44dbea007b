"""Volatility surfaces: equity and commodity (expiry x moneyness), FX (expiry x delta), rates
(expiry x tenor, normal or lognormal).

One interpolation for all of them, stated here: along the second axis (moneyness, delta or
tenor) the vol is linear between pillars and flat outside; along expiry, total variance
``vol**2 * t`` at a fixed second coordinate is linear between expiries and the vol is flat
before the first and after the last expiry.

- :class:`MoneynessSurface`: the second axis is ``strike / reference`` where the reference
  is the spot (equity) or the futures price (commodity) of the option's underlying.
- :class:`DeltaSurface`: the second axis is the Black forward call delta ``N(d1)`` of the
  strike (premium unadjusted; a put uses the call delta of its strike). The vol of a strike
  is the fixed point ``vol = surface(t, N(d1(strike, vol)))``, found by iteration to 1e-12.
- :class:`RateVolSurface`: vols of swaptions by expiry and underlying swap tenor (years),
  ``kind`` ``"normal"`` (absolute, rate units) or ``"lognormal"``.

Every surface answers ``vol(t)`` (shape ``(n,)``) at its at-the-money column (moneyness 1,
delta 0.5, the shortest tenor), so it can stand where a vol term structure is expected.

Smiles and moving markets: products read an equity or FX smile as an offset to the
at-the-money term structure, ``smile_offset(t, K) = surface(t, K) - surface_atm(t)``, with the
moneyness (or delta) of ``K`` taken against the *reference* spot (forward) the surface was
loaded with. The offset is sticky-strike: it does not move when spot, rates or the ATM vols
are bumped or shifted in a scenario; the ATM term structure does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from xiphpc.pricing.kernels.black76 import norm_cdf_into

__all__ = ["DeltaSurface", "MoneynessSurface", "RateVolSurface", "grid_vol"]


def grid_vol(
    expiries: np.ndarray, axis: np.ndarray, vols: np.ndarray, t: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """Interpolate a vol grid (see the module docstring).

    Parameters
    ----------
    expiries : ndarray, shape ``(k,)``
        Years, strictly increasing, ``> 0``.
    axis : ndarray, shape ``(m,)``
        Second coordinate of the grid, strictly increasing.
    vols : ndarray, shape ``(k, m)``
    t, x : ndarray, shape ``(n,)``
        Query expiries (years) and second coordinates.

    Returns
    -------
    ndarray, shape ``(n,)``
    """
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    x = np.broadcast_to(np.asarray(x, dtype=np.float64), t.shape)
    if expiries.size == 1:
        return np.interp(x, axis, vols[0])
    tc = np.clip(t, expiries[0], expiries[-1])
    hi = np.clip(np.searchsorted(expiries, tc, side="left"), 1, expiries.size - 1)
    lo = hi - 1
    # Each query reads the two expiry rows around it only: interpolated along the second
    # axis on those rows, query by query as on every row.
    at_lo = np.empty(t.shape)
    at_hi = np.empty(t.shape)
    for r in range(expiries.size - 1):
        q = np.flatnonzero(lo == r)
        if q.size:
            at_lo[q] = np.interp(x[q], axis, vols[r])
            at_hi[q] = np.interp(x[q], axis, vols[r + 1])
    w = (tc - expiries[lo]) / (expiries[hi] - expiries[lo])
    var = (1.0 - w) * at_lo**2 * expiries[lo] + w * at_hi**2 * expiries[hi]
    return np.sqrt(var / tc)


def _check(expiries: np.ndarray, axis: np.ndarray, vols: np.ndarray, name: str) -> None:
    if vols.shape != (expiries.size, axis.size):
        raise ValueError(
            f"vols must have shape (expiries, {name}) = "
            f"({expiries.size}, {axis.size}), got {vols.shape}"
        )
    if np.any(np.diff(expiries) <= 0) or np.any(np.diff(axis) <= 0):
        raise ValueError(f"expiries and {name} must be strictly increasing")


@dataclass(frozen=True)
class MoneynessSurface:
    """Lognormal vols by expiry (years) and moneyness ``strike / reference``.

    Attributes
    ----------
    expiries : ndarray, shape ``(k,)``
    moneyness : ndarray, shape ``(m,)``
    vols : ndarray, shape ``(k, m)``
    """

    expiries: np.ndarray
    moneyness: np.ndarray
    vols: np.ndarray
    #: Spot the moneyness of :meth:`smile_offset` is taken against (the market's at load).
    reference: float = math.nan

    def __post_init__(self) -> None:
        _check(self.expiries, self.moneyness, self.vols, "moneyness")

    def vol(self, t: np.ndarray) -> np.ndarray:
        """At-the-money (moneyness 1) vols to expiries ``t``, shape ``(n,)``."""
        return self.vol_at(t, np.ones(np.shape(t)), np.ones(np.shape(t)))

    def vol_at(self, t: np.ndarray, strike: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """Vols at ``strike / reference`` and expiries ``t`` (all shape ``(n,)``)."""
        return grid_vol(self.expiries, self.moneyness, self.vols, t, strike / reference)

    def smile_offset(self, t: np.ndarray, strike: np.ndarray) -> np.ndarray:
        """Vol at ``strike`` minus the at-the-money vol, moneyness against :attr:`reference`
        (shape ``(n,)``)."""
        m = np.asarray(strike, dtype=np.float64) / self.reference
        return grid_vol(self.expiries, self.moneyness, self.vols, t, m) - self.vol(t)

    def to_dict(self) -> dict:
        out = {
            "expiries": self.expiries.tolist(),
            "moneyness": self.moneyness.tolist(),
            "vols": self.vols.tolist(),
        }
        if not math.isnan(self.reference):
            out["reference_spot"] = self.reference
        return out


@dataclass(frozen=True)
class DeltaSurface:
    """FX lognormal vols by expiry (years) and forward call delta.

    Attributes
    ----------
    expiries : ndarray, shape ``(k,)``
    deltas : ndarray, shape ``(m,)``
        Forward call deltas in (0, 1), strictly increasing (a small call delta is a high
        strike).
    vols : ndarray, shape ``(k, m)``
    """

    expiries: np.ndarray
    deltas: np.ndarray
    vols: np.ndarray
    #: Reference forwards at :attr:`expiries` (the market's at load) for
    #: :meth:`smile_offset`; between expiries the drift ``log(F / S) / t`` is linear in time.
    reference_spot: float = math.nan
    reference_forwards: np.ndarray | None = None

    def __post_init__(self) -> None:
        _check(self.expiries, self.deltas, self.vols, "deltas")

    def with_reference(self, spot: float, forwards: np.ndarray) -> DeltaSurface:
        """The surface with its reference spot and forwards (shape ``(k,)``) set."""
        return DeltaSurface(
            self.expiries,
            self.deltas,
            self.vols,
            float(spot),
            np.asarray(forwards, dtype=np.float64),
        )

    def reference_forward(self, t: np.ndarray) -> np.ndarray:
        """Reference forwards to times ``t`` (years, shape ``(n,)``)."""
        drift = np.log(self.reference_forwards / self.reference_spot) / self.expiries
        t = np.asarray(t, dtype=np.float64)
        return self.reference_spot * np.exp(np.interp(t, self.expiries, drift) * t)

    def smile_offset(self, t: np.ndarray, strike: np.ndarray) -> np.ndarray:
        """Vol at ``strike`` minus the delta-0.5 vol, deltas against the reference forwards
        (shape ``(n,)``)."""
        return self.vol_at(t, strike, self.reference_forward(t)) - self.vol(t)

    def vol(self, t: np.ndarray) -> np.ndarray:
        """Vols at delta 0.5 to expiries ``t``, shape ``(n,)``."""
        return grid_vol(self.expiries, self.deltas, self.vols, t, 0.5)

    def vol_at(
        self, t: np.ndarray, strike: np.ndarray, forward: np.ndarray, *, tol: float = 1e-12
    ) -> np.ndarray:
        """Vols of strikes ``strike`` for forwards ``forward`` at expiries ``t`` (shape
        ``(n,)``), solving the delta-vol fixed point.

        Each strike iterates until its own vol moves by at most ``tol``: its result depends
        on its inputs alone, never on the other strikes of the call (a trade's price must
        not depend on which trades are priced with it).
        """
        t = np.asarray(t, dtype=np.float64)
        vol = self.vol(t)
        log_m = np.log(np.asarray(forward) / np.asarray(strike))
        sqrt_t = np.sqrt(np.maximum(t, 1e-12))
        active = np.arange(t.size)
        for _ in range(100):
            if active.size == 0:
                break
            v, st = vol[active], sqrt_t[active]
            d1 = log_m[active] / (v * st) + 0.5 * v * st
            delta = np.empty(active.size)
            norm_cdf_into(np.ascontiguousarray(d1, dtype=np.float64), delta)
            new = grid_vol(self.expiries, self.deltas, self.vols, t[active], delta)
            vol[active] = new
            active = active[np.abs(new - v) > tol]
        return vol

    def to_dict(self) -> dict:
        out = {
            "expiries": self.expiries.tolist(),
            "deltas": self.deltas.tolist(),
            "vols": self.vols.tolist(),
        }
        if self.reference_forwards is not None:
            out["reference_spot"] = self.reference_spot
            out["reference_forwards"] = self.reference_forwards.tolist()
        return out


RATE_VOL_KINDS = ("normal", "lognormal")


@dataclass(frozen=True)
class RateVolSurface:
    """Swaption and cap vols by option expiry and underlying tenor (both years).

    Attributes
    ----------
    kind : str
        ``"normal"`` (rate units, e.g. 0.0080 for 80bp) or ``"lognormal"``.
    expiries : ndarray, shape ``(k,)``
    tenors : ndarray, shape ``(m,)``
    vols : ndarray, shape ``(k, m)``
    """

    kind: str
    expiries: np.ndarray
    tenors: np.ndarray
    vols: np.ndarray

    def __post_init__(self) -> None:
        if self.kind not in RATE_VOL_KINDS:
            raise ValueError(f"unknown rate vol kind {self.kind!r}; accepted: {RATE_VOL_KINDS}")
        _check(self.expiries, self.tenors, self.vols, "tenors")

    def vol(self, t: np.ndarray, tenor: np.ndarray | None = None) -> np.ndarray:
        """Vols at expiries ``t`` and tenors ``tenor`` (the shortest tenor when omitted)."""
        x = self.tenors[0] if tenor is None else tenor
        return grid_vol(self.expiries, self.tenors, self.vols, t, x)

    def to_dict(self) -> dict:
        return {
            "type": self.kind,
            "expiries": self.expiries.tolist(),
            "tenors": self.tenors.tolist(),
            "vols": self.vols.tolist(),
        }
