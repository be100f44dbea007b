"""Floating coupons of swap legs by their index's conventions, as the swap kernels take them
(:class:`~xiphpc.pricing.kernels.rates.IndexPeriods`).

Three kinds of index, by the trade's index name:

- **Term (IBOR) index** of :data:`~xiphpc.market.conventions.INDICES` (``USD-LIBOR-3M``,
  ``EUR-EURIBOR-6M``): each coupon fixes ``fixing_lag`` business days of the index calendar
  before its accrual start (preceding); the rate is the forward from the fixing's value date
  (``fixing_lag`` business days after the fixing) over the index tenor (the index's
  convention and end-of-month rule), in the index's day count; the coupon accrues in the
  leg's day count (QuantLib's ``IborCoupon`` with indexed, not par, coupons).
- **Overnight index** of the table (``USD-SOFR``, ``EUR-ESTR``, ``GBP-SONIA``,
  ``CHF-SARON``, ``JPY-TONA``): each coupon compounds the daily fixings in arrears over its
  accrual period (:data:`COMPOUNDING` for the variants), laid out as QuantLib's (1.44)
  ``OvernightIndexedCoupon`` with compounded averaging lays out its dates: interest dates
  the accrual start, the fixing-calendar business days inside the period and the accrual
  end; each day's fixing that of its interest date (the business day before, for an accrual
  start off the fixing calendar), moved back by a lookback; the rate
  ``(prod (1 + r_d dt_d) - 1) / tau``, ``dt_d`` each day's span and ``tau`` their sum in
  the index's day count (the observation period with the shift, the accrual period
  otherwise), plus the spread, accrued in the leg's day count.
- **Any other name** (an index curve the table does not list, or the currency itself):
  par coupons as before, the forward projected over each accrual period in the leg's day
  count, fixing at the accrual start with no lag.

Payments: the index's ``payment_lag`` business days after each accrual end on the trade's
calendar (following), for both legs of the swap; none for the third kind.

A fixing dated before the valuation date is read from the market's fixings
(:class:`~xiphpc.market.fixings.Fixings`, under the index name); one dated on the valuation
date is used when given and projected otherwise (QuantLib's treatment of today's fixing).
A fixing missing from the file is a per-trade error, not a failure.

Projection. The future days of a compounded coupon telescope: with ``r_d`` the forward over
the day's value period ``[a_d, b_d]`` (``b_d`` the next business day) in the index day
count ``delta_d``, ``1 + r_d delta_d = P(a_d) / P(b_d)``, so a run of days whose span
``dt_d`` equals ``delta_d`` and whose value periods abut multiplies to ``P(a) / P(b)`` over
the run, exactly (in exact arithmetic; this is no approximation). That covers the plain and
the observation-shift methods, whose spans are the value periods themselves. A day whose
span differs from its value period (lookback without observation shift, over a weekend or
holiday; the frozen days of a lockout; a last day cut short by an accrual end that is not a
fixing-calendar business day) is one factor ``1 + (dt_d / delta_d)(P(a_d) / P(b_d) - 1)`` of
its own, also exact. So coupons need one factor for most periods and up to one per day for
lookback without shift.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from xiphpc.io.text import unique_inverse
from xiphpc.market.conventions import INDICES, IndexConvention
from xiphpc.market.curves.calendar import calendar as named_calendar
from xiphpc.market.curves.daycount import day_count_codes, year_fraction
from xiphpc.market.curves.legs import payment_dates, times_from
from xiphpc.market.curves.schedule import generate_schedules
from xiphpc.market.fixings import Fixings
from xiphpc.pricing.kernels.rates import IndexPeriods, place_factors

__all__ = ["COMPOUNDING", "MAX_COMPOUNDING_DAYS", "FloatCoupons", "float_coupons", "index_of"]

#: Compounding methods of overnight coupons (QuantLib's ``OvernightIndexedCoupon`` settings):
#:
#: - ``plain``: each day's rate is that day's fixing (no lookback, lockout or shift).
#: - ``lookback``: each accrual day takes the fixing ``N`` business days before it, weighted
#:   by the accrual day's span (``lookbackDays = N``).
#: - ``observation_shift``: the observation period is the accrual period moved ``N``
#:   business days back; the fixings are weighted by their own spans (``lookbackDays = N``,
#:   ``applyObservationShift``).
#: - ``lockout``: the last ``N`` days of each period take the fixing of the day before them
#:   (``lockoutDays = N``).
COMPOUNDING: tuple[str, ...] = ("plain", "lookback", "observation_shift", "lockout")
#: Largest ``N`` (business days) a trade may give.
MAX_COMPOUNDING_DAYS = 10


def index_of(name: str) -> IndexConvention | None:
    """Conventions of a trade's index name, None for a name the table does not list."""
    return INDICES.get(str(name))


@dataclass(frozen=True)
class FloatCoupons:
    """A floating leg's coupons and the trades that cannot be priced.

    Attributes
    ----------
    periods : IndexPeriods
    payment_lag : ndarray of int64, shape ``(n,)``
        Business days from accrual end to payment per trade (for the fixed leg too).
    error : ndarray of str, shape ``(n,)``
        Why a trade cannot be priced (a missing fixing, a lockout longer than a period);
        empty when it can.
    fixing : ndarray of datetime64[D], shape ``(m,)``
        Fixing date of every coupon (an IBOR coupon's, a par coupon's accrual start, an
        overnight coupon's accrual end): a caplet's expiry.
    """

    periods: IndexPeriods
    payment_lag: np.ndarray
    error: np.ndarray
    fixing: np.ndarray


class _Coupons:
    """Coupons collected kind by kind, then put in CSR order."""

    def __init__(self, m: int):
        self.known = np.ones(m)
        self.tau = np.empty(m)
        self.fixing = np.empty(m, dtype="datetime64[D]")
        self.sub = []  # (period, start time, end time, ratio) arrays

    def add(self, period, start, end, ratio):
        self.sub.append((period, start, end, ratio))

    def factors(self, m: int):
        """Offsets (shape ``(m + 1,)``) and the start, end and ratio of every factor, in
        the order of a stable sort by period of the factors as added: a period's factors
        in the order of their :meth:`add` calls, then of their place in each call."""
        if not self.sub:
            e = np.empty(0)
            return np.zeros(m + 1, dtype=np.int64), e, e, e
        counts = np.bincount(np.concatenate([s[0] for s in self.sub]), minlength=m)
        off = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        cols = tuple(np.empty(int(off[-1])) for _ in range(3))
        # Each call's factors go straight to their slots, without sorting all factors.
        free = off[:-1].copy()
        for period, start, end, ratio in self.sub:
            place_factors(
                np.ascontiguousarray(period, dtype=np.int64),
                np.ascontiguousarray(start, dtype=np.float64),
                np.ascontiguousarray(end, dtype=np.float64),
                np.ascontiguousarray(ratio, dtype=np.float64),
                free,
                *cols,
            )
        return (off, *cols)


def _fixed(
    fixings: Fixings, name: str, dates: np.ndarray, today: np.datetime64
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fixings of ``dates``: values, whether each is used (past, or today and given), and
    whether a past one is missing."""
    value, found = fixings.lookup(name, dates)
    past = dates < today
    used = (past & found) | ((dates == today) & found)
    return value, used, past & ~found


def float_coupons(
    valuation_date: dt.date,
    effective: np.ndarray,
    termination: np.ndarray,
    months: np.ndarray,
    day_count: np.ndarray,
    calendars: np.ndarray,
    index: np.ndarray,
    compounding: np.ndarray,
    compounding_days: np.ndarray,
    fixings: Fixings,
    *,
    project_par: bool = False,
) -> FloatCoupons:
    """Floating coupons still to be paid, for ``n`` swaps (or caps).

    Parameters
    ----------
    valuation_date : datetime.date
    effective, termination : ndarray of datetime64[D], shape ``(n,)``
    months : ndarray of int, shape ``(n,)``
        Coupon period.
    day_count : ndarray of str, shape ``(n,)``
        The leg's (accrual) day count.
    calendars : ndarray of str, shape ``(n,)``
        Schedule and payment calendar names.
    index : ndarray of str, shape ``(n,)``
        Index names (see the module docstring).
    compounding : ndarray of str, shape ``(n,)``
        One of :data:`COMPOUNDING` per trade (read for overnight indices only).
    compounding_days : ndarray of int, shape ``(n,)``
        Its ``N``.
    fixings : Fixings
    project_par : bool
        Project par coupons (the third kind) fixed before the valuation date from today's
        curve instead of reading their fixings: the caps' treatment of indices off the
        table.
    """
    n = effective.shape[0]
    today = np.datetime64(valuation_date, "D")
    names = np.asarray(index).astype(str)
    # One look-up per distinct index, not per trade.
    uniq, code = unique_inverse(names)
    conv = [index_of(str(x)) for x in uniq]
    lag = np.array([0 if c is None else c.payment_lag for c in conv], dtype=np.int64)[code]
    s = generate_schedules(effective, termination, months, calendar=calendars)
    trade_all = s.trade
    pay_all = payment_dates(s.end, trade_all, calendars, lag)
    keep = pay_all > today
    trade = trade_all[keep]
    start, end, pay = s.start[keep], s.end[keep], pay_all[keep]
    last_end = s.end[s.offsets[1:] - 1]
    counts = np.bincount(trade, minlength=n)
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    m = trade.size
    acc = year_fraction(start, end, day_count_codes(day_count)[trade], termination=last_end[trade])
    out = _Coupons(m)
    error = np.full(n, "", dtype=object)

    def fail(periods: np.ndarray, why) -> None:
        for p in periods:
            i = trade[p]
            if not error[i]:
                error[i] = why(p)

    _lockout_checks(s, names, compounding, compounding_days, error)
    period_code = code[trade]
    for k, name in enumerate(uniq):
        rows = np.flatnonzero(period_code == k)
        if rows.size == 0:
            continue
        c = index_of(name)
        if c is None:
            _par(
                out, rows, start, end, acc, today, valuation_date, fixings, name, fail, project_par
            )
        elif not c.overnight:
            _term(out, rows, start, c, today, valuation_date, fixings, fail)
        else:
            method = np.asarray(compounding)[trade[rows]]
            days = np.asarray(compounding_days, dtype=np.int64)[trade[rows]]
            _overnight(
                out, rows, start, end, acc, c, method, days, today, valuation_date, fixings, fail
            )
    sub = out.factors(m)
    periods = IndexPeriods(offsets, out.known, out.tau, acc, times_from(valuation_date, pay), *sub)
    return FloatCoupons(periods, lag, error.astype(str), out.fixing)


def _lockout_checks(s, names, compounding, days, error) -> None:
    # Every period, paid ones included, must have more fixings than its lockout (as
    # QuantLib requires of the whole leg).
    lock = np.where(np.asarray(compounding) == "lockout", np.asarray(days, dtype=np.int64), 0)
    trade = s.trade
    rows = np.flatnonzero(lock[trade] > 0)
    for name in unique_inverse(names[trade[rows]])[0]:
        c = index_of(name)
        if c is None or not c.overnight:
            continue
        at = rows[names[trade[rows]] == name]
        cal = named_calendar(c.calendar)
        n_days = 1 + cal.business_days(s.start[at] + 1, s.end[at])
        for p in at[lock[trade[at]] >= n_days][::-1]:
            error[trade[p]] = (
                f"compounding_days: a lockout of {lock[trade[p]]} days is not shorter than "
                f"the period {s.start[p]} to {s.end[p]}"
            )


def _missing(name: str, dates: np.ndarray):
    return lambda p: f"fixings: no {name} fixing on {dates[p]} (before the valuation date)"


def _par(out, rows, start, end, acc, today, vd, fixings, name, fail, project=False):
    # Fixing at the accrual start, forward over the accrual period in the leg's day count.
    out.tau[rows] = acc[rows]
    out.fixing[rows] = start[rows]
    value, used, missing = _fixed(fixings, name, start[rows], today)
    if project:
        used[:] = False
        missing[:] = False
    if missing.any():
        fix_dates = np.empty(start.shape, dtype="datetime64[D]")
        fix_dates[rows] = start[rows]
        fail(rows[missing], _missing(name, fix_dates))
    out.known[rows[used]] = 1.0 + value[used] * acc[rows[used]]
    proj = rows[~used]
    out.add(proj, times_from(vd, start[proj]), times_from(vd, end[proj]), np.ones(proj.size))


def _by_day(dates: np.ndarray, f) -> tuple[np.ndarray, ...]:
    """``f(dates)`` for ``f`` elementwise in one date (datetime64[D], shape ``(n,)``) that
    returns a tuple of arrays of its shape: evaluated once per day of the dates' span and
    looked up, where the span has fewer days than there are dates (coupons of many trades
    share their dates)."""
    days = dates.view(np.int64)
    if dates.size == 0 or np.isnat(dates).any():
        return f(dates)
    lo = days.min()
    width = days.max() - lo + 1
    if width >= dates.size:
        return f(dates)
    at = days - lo
    return tuple(x[at] for x in f(np.arange(lo, lo + width).view("datetime64[D]")))


def _term_dates(cal, c: IndexConvention, vd, start: np.ndarray) -> tuple[np.ndarray, ...]:
    # Fixing, value and maturity date of the index fixing for accrual starts ``start``, the
    # index fraction, and the times of the value and maturity dates.
    fixing = cal.advance_period(start, f"-{c.fixing_lag}D", "preceding")
    value_date = cal.advance(fixing, c.fixing_lag)
    maturity = cal.advance_period(value_date, c.tenor, c.convention, end_of_month=c.end_of_month)
    tau = year_fraction(value_date, maturity, c.day_count)
    return fixing, tau, times_from(vd, value_date), times_from(vd, maturity)


def _term(out, rows, start, c: IndexConvention, today, vd, fixings, fail):
    cal = named_calendar(c.calendar)
    fixing, tau, t_value, t_maturity = _by_day(start[rows], lambda d: _term_dates(cal, c, vd, d))
    out.tau[rows] = tau
    out.fixing[rows] = fixing
    value, used, missing = _fixed(fixings, c.name, fixing, today)
    if missing.any():
        fix_dates = np.empty(start.shape, dtype="datetime64[D]")
        fix_dates[rows] = fixing
        fail(rows[missing], _missing(c.name, fix_dates))
    out.known[rows[used]] = 1.0 + value[used] * tau[used]
    proj = ~used
    out.add(rows[proj], t_value[proj], t_maturity[proj], np.ones(int(proj.sum())))


def _overnight(out, rows, start, end, acc, c, method, days, today, vd, fixings, fail):
    # QuantLib's OvernightIndexedCoupon dates: interest dates t_0 = S, the fixing-calendar
    # business days strictly inside the accrual period, t_n = E; value (= fixing) dates
    # v_i = (t_i, or the business day before it) moved L business days back, v_n = (E, or
    # the business day after it) moved back; spans dt_i over the interest dates, or over
    # the value dates with the observation shift; the rate divided by their sum.
    cal = named_calendar(c.calendar)
    s, e = start[rows], end[rows]
    out.fixing[rows] = e
    shift = method == "observation_shift"
    look = np.where((method == "lookback") | shift, days, 0)
    lock = np.where(method == "lockout", days, 0)
    n_days = 1 + cal.business_days(s + 1, e)
    v0 = cal.advance(cal.adjust(s, "preceding"), -look)
    vn = cal.advance(cal.adjust(e, "following"), -look)
    out.tau[rows] = np.where(
        shift, year_fraction(v0, vn, c.day_count), year_fraction(s, e, c.day_count)
    )
    bad = (lock > 0) & (lock >= n_days)
    # Whole days that abut telescope: with the observation shift every day does; plain,
    # all but a first or last day cut by an accrual date off the fixing calendar; with a
    # lookback, only days whose interest and value periods span the same calendar days.
    aligned = shift | ((method == "plain") & cal.is_business_day(s) & cal.is_business_day(e))
    simple = aligned & (lock == 0) & (v0 > today) & ~bad
    sp = rows[simple]
    out.add(sp, times_from(vd, v0[simple]), times_from(vd, vn[simple]), np.ones(sp.size))
    hard = ~simple & ~bad
    if hard.any():
        _daily(
            out,
            rows[hard],
            s[hard],
            e[hard],
            n_days[hard],
            look[hard],
            lock[hard],
            shift[hard],
            cal,
            c,
            today,
            vd,
            fixings,
            fail,
        )


def _daily(out, rows, s, e, n_days, look, lock, shift, cal, c, today, vd, fixings, fail):
    # Day by day: interest dates t_i, value dates v_i, the last ``lock`` fixings frozen at
    # v_{n-1-lock}. Dates are positions in the calendar's business days around the periods,
    # so that moving by business days is integer arithmetic.
    lo = s.min() - 7 - 3 * int(look.max(initial=0))
    span_days = np.arange(lo, e.max() + 15)
    bd = span_days[cal.is_business_day(span_days)]
    per = np.repeat(np.arange(rows.size), n_days)
    i = np.arange(per.size) - np.repeat(np.cumsum(n_days) - n_days, n_days)
    last = i == n_days[per] - 1
    L = look[per]
    # Position of the first business day after the start, of the business day on or before
    # the start, and of the business day on or after the end.
    after = np.searchsorted(bd, s + 1)[per]
    before = (np.searchsorted(bd, s, side="right") - 1)[per]
    end_on = np.searchsorted(bd, e)[per]
    t_i = np.where(i == 0, s[per], bd[after + np.maximum(i - 1, 0)])
    t_next = np.where(last, e[per], bd[np.minimum(after + i, bd.size - 1)])
    v_pos = np.where(i == 0, before, after + i - 1) - L
    v_i = bd[v_pos]
    v_next = bd[np.where(last, end_on, after + i) - L]
    sh = shift[per]
    span = np.where(
        sh, year_fraction(v_i, v_next, c.day_count), year_fraction(t_i, t_next, c.day_count)
    )
    # The fixing of each day: its own value date, or the last one before a lockout.
    frozen = n_days[per] - 1 - lock[per]
    locked = i > frozen
    ref = np.arange(per.size)
    ref[locked] = (np.cumsum(n_days) - n_days)[per[locked]] + frozen[locked]
    a = v_i[ref]
    b = bd[v_pos[ref] + 1]
    delta = year_fraction(a, b, c.day_count)
    value, used, missing = _fixed(fixings, c.name, a, today)
    if missing.any():
        dates = {}
        for k in np.flatnonzero(missing)[::-1]:
            dates[rows[per[k]]] = a[k]
        fail(np.array(sorted(dates)), _missing(c.name, dates))
    known = np.ones(rows.size)
    np.multiply.at(known, per[used], 1.0 + value[used] * span[used])
    out.known[rows] = known
    # Future days: runs of whole, abutting value periods telescope to one factor.
    proj = np.flatnonzero(~used)
    ratio = span[proj] / delta[proj]
    whole = ratio == 1.0
    prev_ok = np.zeros(proj.size, dtype=bool)
    prev_ok[1:] = (
        whole[1:] & whole[:-1] & (per[proj][1:] == per[proj][:-1]) & (b[proj][:-1] == a[proj][1:])
    )
    first = ~prev_ok
    last_of_run = np.ones(proj.size, dtype=bool)
    last_of_run[:-1] = first[1:]
    starts = a[proj][first]
    ends = b[proj][last_of_run]
    r = np.where(whole[first], 1.0, ratio[first])
    out.add(rows[per[proj][first]], times_from(vd, starts), times_from(vd, ends), r)
