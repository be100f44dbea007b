"""Coupon schedules for many trades at once, held as ragged arrays (CSR layout).

Generation follows QuantLib's ``Schedule`` without end-of-month rolling:

- ``stub="short_front"`` (QuantLib ``DateGeneration.Backward``, the default for swaps and
  bonds): dates step back from the termination date by whole periods; what is left at the
  front is a short first period.
- ``stub="short_back"`` (``DateGeneration.Forward``): dates step forward from the effective
  date; the last period is short.

Unadjusted dates keep the seed date's day of month, clipped to the month's length. Every
date, the first and last included, is then moved to a business day by the convention. A
stub that would vanish after adjustment (its start and end fall on the same business day)
is merged away, as QuantLib does.

The calendar is one for all trades or a calendar name per trade
(:func:`~xiphpc.market.curves.calendar.calendar`); trades are then generated a calendar at
a time and put back in their order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .calendar import WEEKENDS_ONLY, Calendar, add_months
from .calendar import calendar as named_calendar

__all__ = ["STUBS", "Schedules", "generate_schedules"]

STUBS: tuple[str, ...] = ("short_front", "short_back")


@dataclass(frozen=True)
class Schedules:
    """Accrual periods of ``n`` trades.

    Attributes
    ----------
    offsets : ndarray of int64, shape ``(n + 1,)``
        Periods of trade ``i`` are ``offsets[i]:offsets[i + 1]``.
    start, end : ndarray of datetime64[D], shape ``(m,)``
        Adjusted accrual start and end of every period, trade by trade, in date order.
    """

    offsets: np.ndarray
    start: np.ndarray
    end: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def trade(self) -> np.ndarray:
        """Trade index of every period, shape ``(m,)``."""
        return np.repeat(np.arange(len(self)), np.diff(self.offsets))

    def dates_of(self, i: int) -> np.ndarray:
        """Schedule dates of trade ``i``: its first start, then every period end."""
        a, b = self.offsets[i], self.offsets[i + 1]
        return np.concatenate((self.start[a : a + 1], self.end[a:b]))


def _month_index(d: np.ndarray) -> np.ndarray:
    return d.astype("datetime64[M]").astype(np.int64)


def generate_schedules(
    effective: np.ndarray,
    termination: np.ndarray,
    months: np.ndarray | int,
    *,
    calendar: Calendar | np.ndarray = WEEKENDS_ONLY,
    convention: str = "modified_following",
    stub: str = "short_front",
) -> Schedules:
    """Regular schedules with one short stub, for every trade.

    Parameters
    ----------
    effective, termination : ndarray of datetime64[D], shape ``(n,)``
        Unadjusted first and last dates; ``termination > effective``.
    months : int or ndarray of int, shape ``(n,)``
        Period length in months (12 annual, 6 semi-annual, 3 quarterly, 1 monthly).
    calendar : Calendar, or ndarray of str, shape ``(n,)``
        One calendar for all trades, or a calendar name per trade.
    convention : str
        Business-day convention of every date (see :mod:`xiphpc.market.curves.calendar`).
    stub : str
        ``"short_front"`` or ``"short_back"``.

    Raises
    ------
    ValueError
        For an unknown stub, a non-positive period, ``termination <= effective`` or an
        unknown calendar name.
    """
    if not isinstance(calendar, Calendar):
        return _by_calendar(
            effective, termination, months, np.asarray(calendar), convention=convention, stub=stub
        )
    eff = np.asarray(effective, dtype="datetime64[D]")
    term = np.asarray(termination, dtype="datetime64[D]")
    n = eff.shape[0]
    step = np.broadcast_to(np.asarray(months, dtype=np.int64), (n,))
    if stub not in STUBS:
        raise ValueError(f"unknown stub {stub!r}; accepted: {list(STUBS)}")
    if np.any(step <= 0):
        raise ValueError("period length in months must be positive")
    if np.any(term <= eff):
        raise ValueError("termination must be after the effective date")
    backward = stub == "short_front"
    seed = term if backward else eff
    # An upper bound on the regular dates each trade can have, seed included.
    span = _month_index(term) - _month_index(eff)
    count = span // step + 2
    trade = np.repeat(np.arange(n), count)
    k = np.arange(trade.size) - np.repeat(np.cumsum(count) - count, count)
    sign = -1 if backward else 1
    raw = add_months(seed[trade], sign * k * step[trade])
    inside = raw >= eff[trade] if backward else raw <= term[trade]
    trade, raw = trade[inside], raw[inside]
    # The far end (effective date when stepping back, termination when stepping forward)
    # is added unless the last regular date already lands on it after adjustment.
    far = eff if backward else term
    last_pos = np.cumsum(np.bincount(trade, minlength=n)) - 1
    last_raw = raw[last_pos]
    adj_last = calendar.adjust(last_raw, convention)
    adj_far = calendar.adjust(far, convention)
    add_far = adj_last != adj_far
    # When the regular date and the far end fall on the same business day, the far end
    # (effective or termination date) is kept in place of the regular date.
    raw[last_pos] = np.where(add_far, raw[last_pos], far)
    trade = np.concatenate((trade, np.flatnonzero(add_far)))
    raw = np.concatenate((raw, far[add_far]))
    order = np.lexsort((raw, trade))
    trade, dates = trade[order], calendar.adjust(raw[order], convention)
    counts = np.bincount(trade, minlength=n)
    first = np.cumsum(counts) - counts
    is_first = np.zeros(trade.size, dtype=bool)
    is_first[first] = True
    ends = dates[~is_first]
    last = np.zeros(trade.size, dtype=bool)
    last[np.cumsum(counts) - 1] = True
    starts = dates[~last]
    offsets = np.concatenate(([0], np.cumsum(counts - 1))).astype(np.int64)
    return Schedules(offsets, starts, ends)


def _by_calendar(
    effective: np.ndarray,
    termination: np.ndarray,
    months: np.ndarray | int,
    names: np.ndarray,
    *,
    convention: str,
    stub: str,
) -> Schedules:
    """Schedules of trades with a calendar name each: one generation per calendar, periods
    put back in trade order."""
    eff = np.asarray(effective, dtype="datetime64[D]")
    term = np.asarray(termination, dtype="datetime64[D]")
    n = eff.shape[0]
    step = np.broadcast_to(np.asarray(months, dtype=np.int64), (n,))
    names = np.broadcast_to(names, (n,))
    parts = []
    counts = np.zeros(n, dtype=np.int64)
    for name in np.unique(names):
        rows = np.flatnonzero(names == name)
        part = generate_schedules(
            eff[rows],
            term[rows],
            step[rows],
            calendar=named_calendar(str(name)),
            convention=convention,
            stub=stub,
        )
        counts[rows] = np.diff(part.offsets)
        parts.append((rows, part))
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    start = np.empty(offsets[-1], dtype="datetime64[D]")
    end = np.empty_like(start)
    for rows, part in parts:
        per = np.diff(part.offsets)
        # Position of each of the part's periods: its trade's first slot plus its rank.
        rank = np.arange(per.sum()) - np.repeat(part.offsets[:-1], per)
        at = np.repeat(offsets[rows], per) + rank
        start[at], end[at] = part.start, part.end
    return Schedules(offsets, start, end)
