"""Fixed and floating legs of many trades as the kernels of :mod:`xiphpc.pricing.kernels.rates` take
them: ragged periods (CSR) with times in years ACT/365F from the valuation date.

Payment dates are the adjusted accrual end dates, moved by a payment lag where a fixed leg
is given one (:func:`payment_dates`). Periods paid on or before the valuation date are
dropped. A floating period's forward is projected over its own
accrual dates, ``(P(start) / P(end) - 1) / tau`` (QuantLib's par-coupon convention with zero
fixing days); a period that started before the valuation date has no fixing history here and
is projected from today (its start time is clipped to 0 by the kernels).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from .calendar import WEEKENDS_ONLY, Calendar, advance, calendar_codes
from .daycount import day_count_codes, year_fraction
from .schedule import Schedules, generate_schedules

__all__ = ["FixedLeg", "FloatLeg", "fixed_leg", "float_leg", "payment_dates", "times_from"]


def times_from(valuation_date: dt.date, dates: np.ndarray) -> np.ndarray:
    """Years ACT/365F from ``valuation_date`` to ``dates`` (datetime64[D], shape ``(n,)``)."""
    return (dates - np.datetime64(valuation_date, "D")).astype(np.float64) / 365.0


@dataclass(frozen=True)
class FixedLeg:
    """Fixed-leg periods of ``n`` trades.

    Attributes
    ----------
    offsets : ndarray of int64, shape ``(n + 1,)``
    pay : ndarray of float64, shape ``(m,)``
        Payment times (years).
    accrual : ndarray of float64, shape ``(m,)``
        Accrual fractions in the leg's day count.
    start_date, end_date : ndarray of datetime64[D], shape ``(m,)``
    """

    offsets: np.ndarray
    pay: np.ndarray
    accrual: np.ndarray
    start_date: np.ndarray
    end_date: np.ndarray


@dataclass(frozen=True)
class FloatLeg:
    """Floating-leg periods of ``n`` trades.

    Attributes
    ----------
    offsets : ndarray of int64, shape ``(n + 1,)``
    start, end : ndarray of float64, shape ``(m,)``
        Times (years) of the projection period (the accrual period).
    tau : ndarray of float64, shape ``(m,)``
        Index fraction of the projection period (in the leg's day count).
    accrual : ndarray of float64, shape ``(m,)``
        Coupon accrual fraction (the same period and day count).
    pay : ndarray of float64, shape ``(m,)``
    """

    offsets: np.ndarray
    start: np.ndarray
    end: np.ndarray
    tau: np.ndarray
    accrual: np.ndarray
    pay: np.ndarray


def _future_periods(
    s: Schedules, valuation_date: dt.date
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    keep = s.end > np.datetime64(valuation_date, "D")
    counts = np.bincount(s.trade[keep], minlength=len(s))
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    return offsets, s.start[keep], s.end[keep]


def payment_dates(
    end: np.ndarray, trade: np.ndarray, calendar: Calendar | np.ndarray, lag: np.ndarray | int
) -> np.ndarray:
    """Payment date of every period: its adjusted end moved ``lag`` business days on the
    payment calendar (QuantLib's ``paymentCalendar.advance(end, lag, Days, Following)``).

    Parameters
    ----------
    end : ndarray of datetime64[D], shape ``(m,)``
    trade : ndarray of int, shape ``(m,)``
        Trade of every period.
    calendar : Calendar, or ndarray of str, shape ``(n,)``
        One calendar, or a calendar name per trade.
    lag : int or ndarray of int, shape ``(n,)``
        Business days per trade.
    """
    lag_p = np.broadcast_to(np.asarray(lag, dtype=np.int64), (trade.max(initial=-1) + 1,))[trade]
    if isinstance(calendar, Calendar):
        return calendar.advance(end, lag_p)
    # Names are resolved per trade, not per period.
    code, calendars = calendar_codes(calendar)
    return advance(end, lag_p, code[trade], calendars)


def _last_end(s: Schedules) -> np.ndarray:
    """Adjusted termination date of every trade, shape ``(n,)``: the end of its last period,
    which 30E/360 ISDA leaves unchanged on the last day of February."""
    return s.end[s.offsets[1:] - 1]


def _schedules(effective, termination, months, calendar, convention, stub) -> Schedules:
    return generate_schedules(
        effective, termination, months, calendar=calendar, convention=convention, stub=stub
    )


def fixed_leg(
    valuation_date: dt.date,
    effective: np.ndarray,
    termination: np.ndarray,
    months: np.ndarray | int,
    day_count: str | np.ndarray,
    *,
    calendar: Calendar | np.ndarray = WEEKENDS_ONLY,
    convention: str = "modified_following",
    stub: str = "short_front",
    payment_lag: np.ndarray | int = 0,
) -> FixedLeg:
    """Fixed-leg periods still to be paid, for trades with the given schedules.

    Parameters
    ----------
    valuation_date : datetime.date
    effective, termination : ndarray of datetime64[D], shape ``(n,)``
    months : int or ndarray of int, shape ``(n,)``
        Coupon period in months.
    day_count : str or ndarray of str, shape ``(n,)``
        Day count of the accrual fractions.
    calendar : Calendar, or ndarray of str, shape ``(n,)``
        One calendar for all trades, or a calendar name per trade; also the payment
        calendar.
    payment_lag : int or ndarray of int, shape ``(n,)``
        Business days from each period's end to its payment (:func:`payment_dates`);
        periods paid on or before the valuation date are dropped.
    """
    s = _schedules(effective, termination, months, calendar, convention, stub)
    if np.any(np.asarray(payment_lag) != 0):
        pay = payment_dates(s.end, s.trade, calendar, payment_lag)
        keep = pay > np.datetime64(valuation_date, "D")
        counts = np.bincount(s.trade[keep], minlength=len(s))
        offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        start, end, pay = s.start[keep], s.end[keep], pay[keep]
    else:
        offsets, start, end = _future_periods(s, valuation_date)
        pay = end
    trade = np.repeat(np.arange(len(s)), np.diff(offsets))
    dc = day_count if isinstance(day_count, str) else day_count_codes(day_count)[trade]
    tau = year_fraction(start, end, dc, termination=_last_end(s)[trade])
    return FixedLeg(offsets, times_from(valuation_date, pay), tau, start, end)


def float_leg(
    valuation_date: dt.date,
    effective: np.ndarray,
    termination: np.ndarray,
    months: np.ndarray | int,
    day_count: str | np.ndarray,
    *,
    calendar: Calendar | np.ndarray = WEEKENDS_ONLY,
    convention: str = "modified_following",
    stub: str = "short_front",
) -> FloatLeg:
    """Floating-leg periods still to be paid; parameters as :func:`fixed_leg`."""
    s = _schedules(effective, termination, months, calendar, convention, stub)
    offsets, start, end = _future_periods(s, valuation_date)
    trade = np.repeat(np.arange(len(s)), np.diff(offsets))
    dc = day_count if isinstance(day_count, str) else day_count_codes(day_count)[trade]
    tau = year_fraction(start, end, dc, termination=_last_end(s)[trade])
    return FloatLeg(
        offsets,
        times_from(valuation_date, start),
        times_from(valuation_date, end),
        tau,
        tau.copy(),
        times_from(valuation_date, end),
    )
