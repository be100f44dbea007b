"""Compiled date arithmetic on day numbers: months, business days and regular schedules.

Dates are int64 days since 1970-01-01 (the integers behind ``datetime64[D]``). Calendars
come as tables of their following and preceding business day of every day
(:func:`~xiphpc.market.curves.calendar.busday_tables`), so that a business-day move is a
look-up. The results equal numpy's ``busday_offset`` with the calendars' weekmasks and
holidays, and ``datetime64[M]`` month arithmetic (proleptic Gregorian), date for date.

Business-day conventions are the codes of :data:`ROLLS` (the order of
:data:`~xiphpc.market.curves.calendar.CONVENTIONS`).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ._targets import KERNEL_OPTIONS

__all__ = [
    "ROLLS",
    "add_months_days",
    "advance_days",
    "schedule_dates",
]

ROLLS: tuple[str, ...] = (
    "unadjusted",
    "following",
    "modified_following",
    "preceding",
    "modified_preceding",
)
_UNADJUSTED, _FOLLOWING, _MODIFIED_FOLLOWING, _PRECEDING, _MODIFIED_PRECEDING = range(5)
_NAT = np.iinfo(np.int64).min
_INLINE = dict(inline="always", error_model="numpy", nogil=True)


@nb.njit(**_INLINE)
def _civil(d):
    # Year, month (1-12) and day (1-31) of day number d (H. Hinnant's civil_from_days).
    z = d + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    return year, month, day


@nb.njit(**_INLINE)
def _days(year, month, day):
    # Day number of a civil date (H. Hinnant's days_from_civil).
    y = year - 1 if month <= 2 else year
    era = y // 400
    yoe = y - era * 400
    mp = month - 3 if month > 2 else month + 9
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@nb.njit(**_INLINE)
def _month_length(year, month):
    if month == 2:
        leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0
        return 29 if leap else 28
    if month == 4 or month == 6 or month == 9 or month == 11:
        return 30
    return 31


@nb.njit(**_INLINE)
def _month_step(year, month, day, k):
    # Day number of civil date (year, month, day) plus k months, the day of month clipped
    # to the target month's length.
    total = year * 12 + (month - 1) + k
    ty = total // 12
    tm = total - ty * 12 + 1
    return _days(ty, tm, min(day, _month_length(ty, tm)))


@nb.njit(**_INLINE)
def _add_months(d, k):
    year, month, day = _civil(d)
    return _month_step(year, month, day, k)


@nb.njit(**_INLINE)
def _month_of(d):
    year, month, _ = _civil(d)
    return year * 12 + month


@nb.njit(**_INLINE)
def _roll(d, roll, f, p):
    # d moved by convention code roll, f and p its following and preceding business days.
    if roll == _UNADJUSTED:
        return d
    if roll == _FOLLOWING:
        return f
    if roll == _PRECEDING:
        return p
    # A business day stays where it is, in its month: no month to compare.
    if roll == _MODIFIED_FOLLOWING:
        return f if f == d or _month_of(f) == _month_of(d) else p
    return p if p == d or _month_of(p) == _month_of(d) else f


@nb.njit(**KERNEL_OPTIONS)
def add_months_days(days, months, out):
    """``out[i]`` = ``days[i]`` plus ``months[i]`` calendar months, the day of month clipped
    to the target month's length (shapes ``(n,)``, int64; NaT stays NaT)."""
    for i in range(days.shape[0]):
        d = days[i]
        out[i] = d if d == _NAT else _add_months(d, months[i])


# The kernels below read business days from two tables of a set of calendars, shape
# (calendars, span): fol[c, d - first] is the first business day of calendar c on or after
# day d, pre[c, d - first] the last one on or before it (BusinessDays). Every date they are
# given, and every date they step to, lies inside the tables; callers check that. Helpers
# take scalars only: an array passed to a helper is reference-counted at every call.


@nb.njit(**KERNEL_OPTIONS)
def advance_days(days, n, roll, cal, fol, pre, first, out):
    """``out[i]``: ``days[i]`` moved onto a business day by ``roll`` (following or
    preceding), then ``n[i]`` business days on (back when negative), on calendar ``cal[i]``
    (numpy's ``busday_offset``). Shapes ``(n,)``, int64; the tables as above."""
    for i in range(days.shape[0]):
        d = days[i]
        c = cal[i]
        d = _roll(d, roll, fol[c, d - first], pre[c, d - first])
        k = n[i]
        while k > 0:
            d = fol[c, d + 1 - first]
            k -= 1
        while k < 0:
            d = pre[c, d - 1 - first]
            k += 1
        out[i] = d


@nb.njit(**KERNEL_OPTIONS)
def schedule_dates(eff, term, step, backward, roll, cal, fol, pre, first, slots, out, count):
    """Adjusted schedule dates of every trade, in date order (see
    :func:`~xiphpc.market.curves.schedule.generate_schedules`).

    Parameters
    ----------
    eff, term : ndarray of int64, shape ``(n,)``
        Unadjusted effective and termination day numbers.
    step : ndarray of int64, shape ``(n,)``
        Period in months.
    backward : bool
        Step back from the termination (short front stub), else forward from the effective
        date (short back stub).
    roll : int
        Business-day convention code (:data:`ROLLS`).
    cal, fol, pre, first
        Calendar of each trade and the business-day tables (see above).
    slots : ndarray of int64, shape ``(n + 1,)``
        Trade ``i`` writes its dates from ``out[slots[i]]``; room for ``span // step + 2``
        dates, ``span`` its months from effective to termination.
    out : ndarray of int64
        Dates, written.
    count : ndarray of int64, shape ``(n,)``
        Number of dates of each trade, written.
    """
    for i in range(eff.shape[0]):
        c = cal[i]
        a = slots[i]
        seed = term[i] if backward else eff[i]
        far = eff[i] if backward else term[i]
        sign = -step[i] if backward else step[i]
        # Regular dates from the seed, in generation order; the months step strictly, so
        # the first one past the far end ends the run.
        year, month, day = _civil(seed)
        k = 0
        while True:
            r = _month_step(year, month, day, k * sign)
            if (r < far) if backward else (r > far):
                break
            out[a + k] = r
            k += 1
        # The far end is added unless the last regular date falls on the same business
        # day, which it then replaces.
        last = out[a + k - 1]
        adj_last = _roll(last, roll, fol[c, last - first], pre[c, last - first])
        adj_far = _roll(far, roll, fol[c, far - first], pre[c, far - first])
        if adj_last != adj_far:
            out[a + k] = far
            k += 1
        else:
            out[a + k - 1] = far
        if backward:
            for j in range(k // 2):
                t = out[a + j]
                out[a + j] = out[a + k - 1 - j]
                out[a + k - 1 - j] = t
        for j in range(k):
            d = out[a + j]
            out[a + j] = _roll(d, roll, fol[c, d - first], pre[c, d - first])
        count[i] = k
