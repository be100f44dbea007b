"""Compiled date arithmetic on day numbers: months, business days, regular schedules and
day counts.

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
    "days_from_civil",
    "schedule_dates",
    "year_fractions",
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
def days_from_civil(year, month, day, out):
    """``out[i]``: the day number of civil date ``(year[i], month[i], day[i])`` (shapes
    ``(n,)``, int64). Returns False, at the first date that does not exist (a month outside
    1-12, a day outside its month), with ``out`` written only up to it; True otherwise."""
    for i in range(year.shape[0]):
        y, m, d = year[i], month[i], day[i]
        if m < 1 or m > 12 or d < 1 or d > _month_length(y, m):
            return False
        out[i] = _days(y, m, d)
    return True


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


@nb.njit(**_INLINE)
def _last_of_february(year, month, day):
    return month == 2 and day == _month_length(year, 2)


@nb.njit(**_INLINE)
def _thirty_360(s, e, code, term):
    # The 30/360 variants (codes 2 to 6), in the order of their rules' steps.
    y1, m1, d1 = _civil(s)
    y2, m2, d2 = _civil(e)
    if code == 2 or code == 3:
        d1 = min(d1, 30)
        if d2 == 31 and d1 == 30:
            d2 = 30
    elif code == 4:
        feb1 = _last_of_february(y1, m1, d1)
        if feb1 and _last_of_february(y2, m2, d2):
            d2 = 30
        if feb1:
            d1 = 30
        if d2 == 31 and d1 >= 30:
            d2 = 30
        d1 = min(d1, 30)
    elif code == 5:
        d1 = min(d1, 30)
        d2 = min(d2, 30)
    else:
        feb2 = _last_of_february(y2, m2, d2) and e != term
        d1 = 30 if _last_of_february(y1, m1, d1) else min(d1, 30)
        d2 = 30 if feb2 else min(d2, 30)
    return (360 * (y2 - y1) + 30 * (m2 - m1) + (d2 - d1)) / 360.0


@nb.njit(**_INLINE)
def _days_in_year(year):
    return 366.0 if _month_length(year, 2) == 29 else 365.0


@nb.njit(**_INLINE)
def _act_act_isda(s, e):
    lo = min(s, e)
    hi = max(s, e)
    y1, _, _ = _civil(lo)
    y2, _, _ = _civil(hi)
    # Whole years in between, the rest of the first year and the start of the last one.
    first = (_days(y1 + 1, 1, 1) - lo) / _days_in_year(y1)
    last = (hi - _days(y2, 1, 1)) / _days_in_year(y2)
    frac = (y2 - y1 - 1) + first + last
    return frac if e >= s else -frac


@nb.njit(**KERNEL_OPTIONS)
def year_fractions(start, end, code, termination, out):
    """``out[i]``: the year fraction from ``start[i]`` to ``end[i]`` in day count
    ``code[i]``, its position in :data:`~xiphpc.market.curves.daycount.DAY_COUNTS`: 0
    ACT/360, 1 ACT/365F, 2 and 3 the 30/360 bond basis, 4 30/360 US, 5 30E/360, 6 30E/360
    ISDA, 7 ACT/ACT ISDA (:func:`~xiphpc.market.curves.daycount.year_fraction` states the
    rules); ``termination[i]`` the trade's termination date, read by 30E/360 ISDA (NaT:
    none).

    Parameters
    ----------
    start, end, code, termination : ndarray of int64, shape ``(n,)``
        Day numbers (no NaT in ``start`` and ``end``) and day-count codes.
    out : ndarray of float64, shape ``(n,)``
        Written; negative where ``end < start``.
    """
    for i in range(start.shape[0]):
        s = start[i]
        e = end[i]
        c = code[i]
        if c == 0:
            out[i] = (e - s) / 360.0
        elif c == 1:
            out[i] = (e - s) / 365.0
        elif c == 7:
            out[i] = _act_act_isda(s, e)
        else:
            out[i] = _thirty_360(s, e, c, termination[i])
