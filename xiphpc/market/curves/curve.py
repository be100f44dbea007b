"""Yield curves from pillars, with a stated interpolation and flat extrapolation.

A :class:`Curve` holds pillar times (years ACT/365F from the valuation date) and continuously
compounded zero rates at those pillars, plus one of two interpolations
(:data:`INTERPOLATIONS`):

- ``"linear_zero"``: zero rates linear in time between pillars; flat zero rate before the
  first and after the last pillar.
- ``"loglinear_discount"``: log discount factors linear in time between pillars, with the
  node ``(0, 1)`` added in front (so flat instantaneous forwards per segment); after the
  last pillar the last segment's forward is kept flat.

A curve given by discount-factor pillars is held by its zero rates ``-log(P) / t``, which
reproduce those discount factors exactly. Kernels read curves packed by
:func:`pack_curves`; their interpolation in :mod:`xiphpc.pricing.kernels.rates` is the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["INTERPOLATIONS", "Curve", "CurveQuotes", "CurveSet", "as_curve", "pack_curves"]

INTERPOLATIONS: tuple[str, ...] = ("linear_zero", "loglinear_discount")
#: Integer code of each interpolation in packed curves (kernels branch on it).
INTERPOLATION_CODE = {"linear_zero": 0, "loglinear_discount": 1}


@dataclass(frozen=True)
class CurveQuotes:
    """The par instruments a curve was bootstrapped from, one per pillar.

    Attributes
    ----------
    instruments : tuple
        Deposits, FRAs, futures, swaps and OIS swaps (:mod:`xiphpc.market.curves.bootstrap`).
    discount : str or None
        Market name of the curve that discounted the swaps (multi-curve); None when the
        curve discounted itself.
    tenors : tuple of (str or None)
        The tenor each pillar was quoted at, in pillar order (``"2Y"``, ``"3Mx6M"``; None for
        a future, quoted by date): the pillars' risk-factor labels
        (:mod:`xiphpc.market.factors`). Empty when not known.
    """

    instruments: tuple[Any, ...]
    discount: str | None = None
    tenors: tuple[str | None, ...] = ()


@dataclass(frozen=True)
class Curve:
    """A discount or projection curve.

    Attributes
    ----------
    times : ndarray of float64, shape ``(k,)``
        Pillar times in years, strictly increasing, ``> 0``.
    zero_rates : ndarray of float64, shape ``(k,)``
        Continuously compounded zero rates at the pillars.
    interpolation : str
        One of :data:`INTERPOLATIONS`.
    quotes : CurveQuotes or None
        The instruments the curve was bootstrapped from (par-rate risk reprices them).
    """

    times: np.ndarray
    zero_rates: np.ndarray
    interpolation: str = "linear_zero"
    quotes: CurveQuotes | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"unknown interpolation {self.interpolation!r}; accepted: {list(INTERPOLATIONS)}"
            )

    @classmethod
    def from_discount_factors(
        cls, times: np.ndarray, discounts: np.ndarray, interpolation: str = "loglinear_discount"
    ) -> Curve:
        """A curve through discount-factor pillars ``discounts`` (shape ``(k,)``, ``> 0``)."""
        times = np.asarray(times, dtype=np.float64)
        return cls(times, -np.log(np.asarray(discounts, dtype=np.float64)) / times, interpolation)

    # ZeroCurve's names, so that a Curve can stand wherever the market expects one.
    @property
    def tenors(self) -> np.ndarray:
        """Pillar times (years), the same as :attr:`times`."""
        return self.times

    def discount(self, t: np.ndarray) -> np.ndarray:
        """Discount factors to times ``t`` (years, shape ``(n,)``); 1 for ``t <= 0``."""
        t = np.asarray(t, dtype=np.float64)
        if self.interpolation == "linear_zero":
            z = np.interp(t, self.times, self.zero_rates)
            log_df = -z * t
        else:
            log_df = self._log_discount(t)
        return np.where(t > 0.0, np.exp(log_df), 1.0)

    def _log_discount(self, t: np.ndarray) -> np.ndarray:
        nodes = np.concatenate(([0.0], self.times))
        logs = np.concatenate(([0.0], -self.zero_rates * self.times))
        inside = np.interp(t, nodes, logs)
        # Flat forward beyond the last pillar: the last segment's slope.
        slope = (logs[-1] - logs[-2]) / (nodes[-1] - nodes[-2])
        return np.where(t > nodes[-1], logs[-1] + slope * (t - nodes[-1]), inside)

    def zero_rate(self, t: np.ndarray) -> np.ndarray:
        """Continuously compounded zero rates to times ``t`` (years, shape ``(n,)``).

        At ``t <= 0`` the limit from the right: the first pillar's zero rate.
        """
        t = np.asarray(t, dtype=np.float64)
        if self.interpolation == "linear_zero":
            return np.interp(t, self.times, self.zero_rates)
        safe = np.where(t > 0.0, t, 1.0)
        return np.where(t > 0.0, -self._log_discount(safe) / safe, self.zero_rates[0])

    def forward_rate(self, t1: np.ndarray, t2: np.ndarray, accrual: np.ndarray) -> np.ndarray:
        """Simple forward rates ``(P(t1) / P(t2) - 1) / accrual`` (all shape ``(n,)``)."""
        return (self.discount(t1) / self.discount(t2) - 1.0) / accrual

    def shifted(self, bp: float) -> Curve:
        """The curve with every zero rate moved by ``bp`` basis points (parallel shift)."""
        return Curve(self.times, self.zero_rates + bp * 1e-4, self.interpolation)

    def to_dict(self) -> dict:
        """JSON form: zero-rate pillars for linear-on-zero, discount factors otherwise; a
        bootstrapped curve adds the instruments it was solved from (``bootstrapped_from``)."""
        if self.interpolation == "linear_zero":
            out = {
                "tenors": self.times.tolist(),
                "zero_rates": self.zero_rates.tolist(),
                "interpolation": self.interpolation,
            }
        else:
            out = {
                "tenors": self.times.tolist(),
                "discount_factors": np.exp(-self.zero_rates * self.times).tolist(),
                "interpolation": self.interpolation,
            }
        if self.quotes is not None:
            from .bootstrap import instrument_to_dict

            out["bootstrapped_from"] = {
                "quotes": [instrument_to_dict(i) for i in self.quotes.instruments],
                **({"discount": self.quotes.discount} if self.quotes.discount else {}),
            }
        return out


def as_curve(curve) -> Curve:
    """A :class:`Curve` from any object with ``tenors`` and ``zero_rates`` (linear on zero
    unless it says otherwise)."""
    if isinstance(curve, Curve):
        return curve
    return Curve(
        np.asarray(curve.tenors, dtype=np.float64),
        np.asarray(curve.zero_rates, dtype=np.float64),
        getattr(curve, "interpolation", "linear_zero"),
    )


@dataclass(frozen=True)
class CurveSet:
    """Curves packed for kernels (structure of arrays).

    Attributes
    ----------
    times, zero_rates : ndarray of float64, shape ``(total pillars,)``
    kinds : ndarray of int64, shape ``(c,)``
        Interpolation code per curve (:data:`INTERPOLATION_CODE`).
    offsets : ndarray of int64, shape ``(c + 1,)``
        Pillars of curve ``j`` are ``offsets[j]:offsets[j + 1]``.
    """

    times: np.ndarray
    zero_rates: np.ndarray
    kinds: np.ndarray
    offsets: np.ndarray

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(times, zero_rates, kinds, offsets)`` in the order kernels take them."""
        return self.times, self.zero_rates, self.kinds, self.offsets


def pack_curves(curves) -> CurveSet:
    """Pack a sequence of curves (``Curve`` or ``ZeroCurve``) for the kernels."""
    cs = [as_curve(c) for c in curves]
    if not cs:
        z = np.zeros(0)
        return CurveSet(z, z, np.zeros(0, np.int64), np.zeros(1, np.int64))
    lengths = [c.times.size for c in cs]
    return CurveSet(
        np.concatenate([c.times for c in cs]).astype(np.float64),
        np.concatenate([c.zero_rates for c in cs]).astype(np.float64),
        np.array([INTERPOLATION_CODE[c.interpolation] for c in cs], dtype=np.int64),
        np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
    )
