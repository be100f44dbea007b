"""Credit curves: piecewise-flat hazard rates with a recovery rate, bootstrapped from flat or
term CDS par spreads, and the CDS premium schedule the pricer and the bootstrap share.

Hazard curve: hazard ``h_j`` on ``(t_{j-1}, t_j]`` (``t_0 = 0``), the last one kept beyond
the last pillar; survival ``S(t) = exp(-integral_0^t h)``. Times are years ACT/365F.

CDS conventions of the mid-point model (stated once; QuantLib's ``CreditDefaultSwap`` with
``MidPointCdsEngine`` on the same schedule gives the same numbers). Hazard curves are
bootstrapped with it; CDS trades price under it or, by default, under the ISDA CDS Standard
Model (:mod:`xiphpc.market.curves.isda`):

- Protection from the valuation date to the maturity date.
- Premium periods: quarterly, generated backward from the maturity (short first period),
  every date moved to a business day by ``following`` on the weekends-only calendar; premium
  accrues ACT/360 and is paid at each period end, if the name survives to the payment date.
- Default within a period is assumed at its mid-point (whole days: start plus half the days,
  rounded down); the protection payment ``1 - R`` and the premium accrued since the period
  start are paid then (accrual on default).
- The par spread makes the premium leg (accrual on default included) worth the protection leg.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from .calendar import WEEKENDS_ONLY, Calendar, add_months, tenor_months
from .curve import Curve
from .daycount import year_fraction
from .legs import times_from
from .schedule import generate_schedules

__all__ = [
    "CdsPeriods",
    "HazardCurve",
    "bootstrap_hazard",
    "cds_legs",
    "cds_maturities",
    "cds_periods",
    "pack_hazards",
]


@dataclass(frozen=True)
class HazardCurve:
    """Piecewise-flat hazard rates and a recovery rate.

    Attributes
    ----------
    times : ndarray, shape ``(k,)``
        Pillar times (years), strictly increasing, ``> 0``.
    hazards : ndarray, shape ``(k,)``
        Hazard rate on the interval ending at each pillar (per year).
    recovery : float
        Recovery rate, fraction of notional, in ``[0, 1)``.
    """

    times: np.ndarray
    hazards: np.ndarray
    recovery: float

    def cumulative(self, t: np.ndarray) -> np.ndarray:
        """Integrated hazard to times ``t`` (shape ``(n,)``); 0 for ``t <= 0``."""
        t = np.maximum(np.asarray(t, dtype=np.float64), 0.0)
        edges = np.concatenate(([0.0], self.times))
        cum = np.concatenate(([0.0], np.cumsum(self.hazards * np.diff(edges))))
        j = np.clip(np.searchsorted(self.times, t, side="left"), 0, self.times.size - 1)
        return cum[j] + self.hazards[j] * (t - edges[j])

    def survival(self, t: np.ndarray) -> np.ndarray:
        """Survival probabilities to times ``t`` (years, shape ``(n,)``)."""
        return np.exp(-self.cumulative(t))

    def to_dict(self) -> dict:
        return {
            "recovery": self.recovery,
            "hazard_rates": {"tenors": self.times.tolist(), "hazards": self.hazards.tolist()},
        }


@dataclass(frozen=True)
class CdsPeriods:
    """Premium periods of ``n`` CDS, ragged (CSR), times in years from the valuation date.

    Attributes
    ----------
    offsets : ndarray of int64, shape ``(n + 1,)``
    start, end, pay, mid : ndarray, shape ``(m,)``
        Protection start of the period, accrual end, payment, and default (mid-point) times.
    accrual, accrual_mid : ndarray, shape ``(m,)``
        ACT/360 fractions from the accrual start to the end and to the mid-point.
    maturity : ndarray, shape ``(n,)``
        Time of each CDS's last date.
    """

    offsets: np.ndarray
    start: np.ndarray
    end: np.ndarray
    pay: np.ndarray
    mid: np.ndarray
    accrual: np.ndarray
    accrual_mid: np.ndarray
    maturity: np.ndarray


def cds_maturities(valuation_date: dt.date, tenors) -> np.ndarray:
    """Scheduled maturities of CDS of ``tenors`` (``"5Y"``) from the valuation date
    (unadjusted), shape ``(k,)`` datetime64[D]."""
    today = np.array([np.datetime64(valuation_date, "D")])
    return np.array([add_months(today, tenor_months(t))[0] for t in tenors], dtype="datetime64[D]")


def cds_periods(
    valuation_date: dt.date,
    maturity: np.ndarray,
    *,
    calendar: Calendar = WEEKENDS_ONLY,
    months: int = 3,
) -> CdsPeriods:
    """Premium periods of CDS protecting from ``valuation_date`` to ``maturity``.

    Parameters
    ----------
    valuation_date : datetime.date
    maturity : ndarray of datetime64[D], shape ``(n,)``
        After the valuation date.
    """
    maturity = np.asarray(maturity, dtype="datetime64[D]")
    today = np.datetime64(valuation_date, "D")
    eff = np.full(maturity.shape, today)
    s = generate_schedules(eff, maturity, months, calendar=calendar, convention="following")
    # Protection (and the first accrual) starts today even if today is not a business day.
    first = s.offsets[:-1]
    start = s.start.copy()
    start[first] = today
    eff_start = np.maximum(start, today)
    mid = eff_start + (s.end - eff_start) // 2
    return CdsPeriods(
        s.offsets,
        times_from(valuation_date, eff_start),
        times_from(valuation_date, s.end),
        times_from(valuation_date, s.end),
        times_from(valuation_date, mid),
        year_fraction(start, s.end, "ACT/360"),
        year_fraction(start, mid, "ACT/360"),
        times_from(valuation_date, s.end[s.offsets[1:] - 1]),
    )


def cds_legs(p: CdsPeriods, i: int, hazard: HazardCurve, discount: Curve) -> tuple[float, float]:
    """Protection-leg value and risky annuity (premium leg per unit spread, accrual on
    default included) of CDS ``i`` of ``p``, per unit notional."""
    a, b = p.offsets[i], p.offsets[i + 1]
    s_start = hazard.survival(p.start[a:b])
    s_end = hazard.survival(p.end[a:b])
    d_mid = discount.discount(p.mid[a:b])
    default = s_start - s_end
    protection = (1.0 - hazard.recovery) * float(np.sum(default * d_mid))
    annuity = float(
        np.sum(p.accrual[a:b] * hazard.survival(p.pay[a:b]) * discount.discount(p.pay[a:b]))
        + np.sum(p.accrual_mid[a:b] * default * d_mid)
    )
    return protection, annuity


def bootstrap_hazard(
    valuation_date: dt.date,
    maturities: np.ndarray,
    spreads: np.ndarray,
    recovery: float,
    discount: Curve,
    *,
    calendar: Calendar = WEEKENDS_ONLY,
) -> HazardCurve:
    """Hazard curve whose CDS par spreads equal ``spreads`` at ``maturities``.

    Parameters
    ----------
    valuation_date : datetime.date
    maturities : ndarray of datetime64[D], shape ``(k,)``
        Strictly increasing, after the valuation date. One pillar: a flat hazard rate.
    spreads : ndarray, shape ``(k,)``
        Par spreads as decimals (0.01 = 100bp), ``> 0``.
    recovery : float
    discount : Curve
        Discount curve of the CDS currency.

    Raises
    ------
    ValueError
        For unsorted maturities, non-positive spreads or a recovery outside ``[0, 1)``.
    """
    maturities = np.asarray(maturities, dtype="datetime64[D]")
    spreads = np.asarray(spreads, dtype=np.float64)
    if not 0.0 <= recovery < 1.0:
        raise ValueError(f"recovery must be in [0, 1), got {recovery!r}")
    if np.any(spreads <= 0.0):
        raise ValueError("CDS spreads must be > 0")
    if np.any(np.diff(maturities) <= np.timedelta64(0, "D")):
        raise ValueError("CDS maturities must be strictly increasing")
    p = cds_periods(valuation_date, maturities, calendar=calendar)
    times = p.maturity
    hazards = np.zeros(times.size)
    for i in range(times.size):
        # Hazard from the credit triangle, then secant steps on the par-spread error.
        def err(h: float, i: int = i) -> float:
            hazards[i] = h
            c = HazardCurve(times[: i + 1], hazards[: i + 1].copy(), recovery)
            prot, ann = cds_legs(p, i, c, discount)
            return prot / ann - spreads[i]

        x0 = spreads[i] / (1.0 - recovery)
        x1 = x0 * 1.01
        f0, f1 = err(x0), err(x1)
        for _ in range(100):
            if f1 == f0 or abs(f1) <= 1e-16:
                break
            x0, x1 = x1, x1 - f1 * (x1 - x0) / (f1 - f0)
            f0, f1 = f1, err(x1)
        if not np.isfinite(x1) or abs(f1) > 1e-12:
            raise ValueError(f"no hazard rate reprices the spread {spreads[i]!r} at pillar {i}")
        hazards[i] = x1
    return HazardCurve(times, hazards, recovery)


def pack_hazards(curves: list[HazardCurve]) -> tuple[np.ndarray, ...]:
    """Pack hazard curves for :mod:`xiphpc.pricing.kernels.credit`.

    Returns
    -------
    ht, hh, hc : ndarray of float64, shape ``(total pillars,)``
        Pillar times, hazard rates and integrated hazard at each pillar.
    ho : ndarray of int64, shape ``(c + 1,)``
        Offsets of each curve's pillars.
    """
    if not curves:
        z = np.zeros(0)
        return z, z, z, np.zeros(1, np.int64)
    ht = np.concatenate([c.times for c in curves]).astype(np.float64)
    hh = np.concatenate([c.hazards for c in curves]).astype(np.float64)
    hc = np.concatenate([c.cumulative(c.times) for c in curves]).astype(np.float64)
    ho = np.concatenate(([0], np.cumsum([c.times.size for c in curves]))).astype(np.int64)
    return ht, hh, hc, ho
