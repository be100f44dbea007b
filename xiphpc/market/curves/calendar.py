"""Business-day calendars, business-day conventions and date arithmetic.

A :class:`Calendar` is a weekmask plus a list of holidays (numpy's ``busdaycalendar``);
:data:`WEEKENDS_ONLY` has Saturday and Sunday as its only non-business days (QuantLib's
``WeekendsOnly``). Market calendars come by name from :func:`calendar`: the rule sets of
:mod:`xiphpc.market.curves.holidays` (``"US-SETTLEMENT"``, ``"US-SOFR"``, ``"TARGET"``,
``"UK"``, ``"JP"``, ``"CH"``, ``"CA"``, ``"AU"``), a currency's default calendar
(:data:`CURRENCY_CALENDARS`: ``"USD"``, ``"EUR"``, ...), or several of them joined by ``+``
(``"USD+EUR"``): a day is a business day of a joint calendar when it is one in every
part. Holidays are generated once per calendar for the years :data:`HOLIDAY_YEARS`
(QuantLib's date range); outside them only weekends are non-business days.

Business-day conventions (:data:`CONVENTIONS`):

- ``"unadjusted"``: the date as it is.
- ``"following"``: the next business day.
- ``"modified_following"``: the next business day unless it falls in the next month, then
  the previous one.
- ``"preceding"``: the previous business day.
- ``"modified_preceding"``: the previous business day unless it falls in the previous month,
  then the next one.

Adding months keeps the day of month, clipped to the month's last day; with the end-of-month
rule a date on its month's last day goes to the last day of the target month.
:meth:`Calendar.advance_period` adds a tenor as QuantLib's ``Calendar.advance`` does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache

import numpy as np

from xiphpc.io.text import unique_inverse
from xiphpc.pricing.kernels import busdays

from .holidays import RULES, holidays

__all__ = [
    "CALENDARS",
    "CONVENTIONS",
    "CURRENCY_CALENDARS",
    "HOLIDAY_YEARS",
    "WEEKENDS_ONLY",
    "Calendar",
    "add_months",
    "add_tenor",
    "advance",
    "BusinessDayTables",
    "adjust",
    "busday_tables",
    "calendar",
    "calendar_codes",
    "check_convention",
    "joint",
    "tables_for",
    "tenor_months",
]

CONVENTIONS: tuple[str, ...] = (
    "unadjusted",
    "following",
    "modified_following",
    "preceding",
    "modified_preceding",
)
_NUMPY_ROLL = {
    "following": "following",
    "modified_following": "modifiedfollowing",
    "preceding": "preceding",
    "modified_preceding": "modifiedpreceding",
}

HOLIDAY_YEARS: tuple[int, int] = (1901, 2199)
"""First and last year (inclusive) for which market calendars list holidays."""

CURRENCY_CALENDARS: dict[str, str] = {
    "USD": "US-SETTLEMENT",
    "EUR": "TARGET",
    "GBP": "UK",
    "JPY": "JP",
    "CHF": "CH",
    "CAD": "CA",
    "AUD": "AU",
}
"""Default calendar of each currency's payments."""


@dataclass(frozen=True)
class Calendar:
    """Business days: a weekmask (Monday first) and holidays.

    Attributes
    ----------
    name : str
    weekmask : str
        Seven characters, ``"1"`` for a business weekday, Monday first.
    holidays : tuple of str
        ISO dates that are not business days (weekend dates among them change nothing).
    """

    name: str = "weekends_only"
    weekmask: str = "1111100"
    holidays: tuple[str, ...] = field(default=())

    @cached_property
    def _cal(self) -> np.busdaycalendar:
        return np.busdaycalendar(weekmask=self.weekmask, holidays=list(self.holidays))

    def is_business_day(self, dates: np.ndarray) -> np.ndarray:
        """Whether each date (datetime64[D], shape ``(n,)``) is a business day."""
        return np.is_busday(np.asarray(dates, dtype="datetime64[D]"), busdaycal=self._cal)

    def adjust(self, dates: np.ndarray, convention: str) -> np.ndarray:
        """Move each date to a business day by ``convention`` (one of :data:`CONVENTIONS`).

        Raises
        ------
        ValueError
            For a convention outside :data:`CONVENTIONS`.
        """
        dates = np.asarray(dates, dtype="datetime64[D]")
        if convention == "unadjusted":
            return dates.copy()
        check_convention(convention)
        if dates.ndim == 1:
            return adjust(dates, convention, np.zeros(dates.shape, dtype=np.int64), (self,))
        return np.busday_offset(dates, 0, roll=_NUMPY_ROLL[convention], busdaycal=self._cal)

    def advance(self, dates: np.ndarray, business_days: int | np.ndarray) -> np.ndarray:
        """Move each date by a number of business days (rolling forward first); one number
        or one per date."""
        dates = np.asarray(dates, dtype="datetime64[D]")
        if dates.ndim == 1:
            return advance(dates, business_days, np.zeros(dates.shape, dtype=np.int64), (self,))
        return np.busday_offset(dates, business_days, roll="following", busdaycal=self._cal)

    def business_days(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Number of business days in ``[start, end)`` of each pair (int64, shape of the
        dates)."""
        start = np.asarray(start, dtype="datetime64[D]")
        end = np.asarray(end, dtype="datetime64[D]")
        return np.busday_count(start, end, busdaycal=self._cal).astype(np.int64)

    def is_end_of_month(self, dates: np.ndarray) -> np.ndarray:
        """Whether each date is on or after its month's last business day (bool, shape of
        ``dates``)."""
        dates = np.asarray(dates, dtype="datetime64[D]")
        after = self.adjust(dates + 1, "following")
        return after.astype("datetime64[M]") != dates.astype("datetime64[M]")

    def end_of_month(self, dates: np.ndarray) -> np.ndarray:
        """The last business day of each date's month."""
        dates = np.asarray(dates, dtype="datetime64[D]")
        last = (dates.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1
        return self.adjust(last, "preceding")

    def advance_period(
        self,
        dates: np.ndarray,
        tenor: str,
        convention: str = "following",
        *,
        end_of_month: bool = False,
    ) -> np.ndarray:
        """Add a tenor to each date as QuantLib's ``Calendar.advance`` does.

        ``"nD"`` moves ``n`` business days (a non-business start counts from the business
        day before it when moving forward, after it when moving back; ``"0D"`` adjusts by
        the convention). ``"nW"`` adds weeks, then adjusts. ``"nM"`` and ``"nY"`` add months
        clipped to the month's length, then adjust; with ``end_of_month`` a date on or after
        its month's last business day goes to the target month's last business day, or,
        when ``convention`` is ``"unadjusted"``, a date on its month's last calendar day
        goes to the target month's last calendar day.

        Parameters
        ----------
        dates : ndarray of datetime64[D], shape ``(n,)``
        tenor : str
            ``"2D"``, ``"1W"``, ``"3M"``, ``"10Y"``; a leading ``-`` moves back.
        convention : str
            One of :data:`CONVENTIONS`.
        end_of_month : bool

        Raises
        ------
        ValueError
            For a malformed tenor or an unknown convention.
        """
        m = _SIGNED_TENOR.match(tenor)
        if m is None:
            raise ValueError(f"expected a tenor like '2D', '1W', '3M' or '-5Y', got {tenor!r}")
        n = int(m.group(2)) * (-1 if m.group(1) == "-" else 1)
        unit = m.group(3).upper()
        dates = np.asarray(dates, dtype="datetime64[D]")
        if unit == "D":
            if n == 0:
                return self.adjust(dates, convention)
            roll = "preceding" if n > 0 else "following"
            if dates.ndim == 1:
                return advance(dates, n, np.zeros(dates.shape, dtype=np.int64), (self,), roll)
            return np.busday_offset(dates, n, roll=roll, busdaycal=self._cal)
        if unit == "W":
            return self.adjust(dates + np.timedelta64(7 * n, "D"), convention)
        moved = add_months(dates, n * (12 if unit == "Y" else 1))
        out = self.adjust(moved, convention)
        if end_of_month and convention == "unadjusted":
            out = np.where(_is_month_end(dates), _month_end(moved), out)
        elif end_of_month:
            out = np.where(self.is_end_of_month(dates), self.end_of_month(moved), out)
        return out


WEEKENDS_ONLY = Calendar()


@dataclass(frozen=True)
class BusinessDayTables:
    """Following and preceding business day of every day of a span, per calendar, as the
    compiled date functions read them (:mod:`xiphpc.pricing.kernels.busdays`).

    Attributes
    ----------
    following, preceding : ndarray of int64, shape ``(calendars, span)``
        Day numbers (days since 1970-01-01) of the first business day on or after, and
        the last one on or before, day ``first + k`` of calendar ``c`` (``[c, k]``).
    first : int
        Day number of column 0.
    """

    following: np.ndarray
    preceding: np.ndarray
    first: int

    def covers(self, days: np.ndarray, margin: int) -> bool:
        """Whether every day number of ``days`` lies ``margin`` days or more inside the
        span (NaT does not)."""
        if days.size == 0:
            return True
        last = self.first + self.following.shape[1] - 1
        return bool(days.min() >= self.first + margin and days.max() <= last - margin)


#: Days the tables reach beyond the holiday years and the calendars' holidays.
_TABLE_PAD = 400


def busday_tables(
    calendars: tuple[Calendar, ...],
    lo: np.datetime64 | None = None,
    hi: np.datetime64 | None = None,
) -> BusinessDayTables:
    """:class:`BusinessDayTables` of ``calendars`` over :data:`HOLIDAY_YEARS`, every holiday
    they list and the days ``lo`` to ``hi`` when given, :data:`_TABLE_PAD` days more on
    either side."""
    bounds = [
        np.datetime64(f"{HOLIDAY_YEARS[0]}-01-01"),
        np.datetime64(f"{HOLIDAY_YEARS[1]}-12-31"),
    ]
    bounds += [np.datetime64(x, "D") for x in (lo, hi) if x is not None]
    for c in calendars:
        if c.holidays:
            bounds += [np.datetime64(min(c.holidays), "D"), np.datetime64(max(c.holidays), "D")]
    pad = np.timedelta64(_TABLE_PAD, "D")
    first, last = min(bounds) - pad, max(bounds) + pad
    rows = [_business_day_rows(c, first, last) for c in calendars]
    if len(rows) == 1:
        return BusinessDayTables(rows[0][0][None], rows[0][1][None], int(first.astype(np.int64)))
    following = np.stack([r[0] for r in rows])
    preceding = np.stack([r[1] for r in rows])
    return BusinessDayTables(following, preceding, int(first.astype(np.int64)))


@lru_cache(maxsize=32)
def _business_day_rows(
    cal: Calendar, first: np.datetime64, last: np.datetime64
) -> tuple[np.ndarray, np.ndarray]:
    # One calendar's following and preceding business days of the days first to last; the
    # calendars of one market share the span, so that their rows are made once each.
    span = np.arange(first, last + 1, dtype="datetime64[D]")
    following = np.busday_offset(span, 0, roll="following", busdaycal=cal._cal)
    preceding = np.busday_offset(span, 0, roll="preceding", busdaycal=cal._cal)
    return following.view(np.int64), preceding.view(np.int64)


def tables_for(calendars: tuple[Calendar, ...], days: np.ndarray, margin: int) -> BusinessDayTables:
    """:class:`BusinessDayTables` of ``calendars`` that hold every day of ``days`` (int64
    day numbers, no NaT) ``margin`` days inside: those of the holiday years, else ones
    made for these days."""
    tables = busday_tables(calendars)
    if tables.covers(days, margin):
        return tables
    reach = np.timedelta64(margin, "D")
    lo = days.min().astype("datetime64[D]") - reach
    hi = days.max().astype("datetime64[D]") + reach
    return busday_tables(calendars, lo, hi)


def adjust(
    dates: np.ndarray, convention: str, code: np.ndarray, calendars: tuple[Calendar, ...]
) -> np.ndarray:
    """:meth:`Calendar.adjust` of each date on its own calendar ``calendars[code[i]]``.

    Parameters
    ----------
    dates : ndarray of datetime64[D], shape ``(n,)``
    convention : str
        One of :data:`CONVENTIONS`.
    code : ndarray of int, shape ``(n,)``
    calendars : tuple of Calendar
    """
    return _moved(dates, 0, convention, code, calendars)


def advance(
    dates: np.ndarray,
    business_days: int | np.ndarray,
    code: np.ndarray,
    calendars: tuple[Calendar, ...],
    roll: str = "following",
) -> np.ndarray:
    """:meth:`Calendar.advance` of each date on its own calendar ``calendars[code[i]]``:
    moved onto a business day by ``roll`` (``"following"`` or ``"preceding"``), then by
    its business days.

    Parameters
    ----------
    dates : ndarray of datetime64[D], shape ``(n,)``
    business_days : int or ndarray of int, shape ``(n,)``
    code : ndarray of int, shape ``(n,)``
    calendars : tuple of Calendar
    roll : str
    """
    return _moved(dates, business_days, roll, code, calendars)


def check_convention(convention: str) -> None:
    """Raise ValueError, naming the accepted ones, for a convention outside
    :data:`CONVENTIONS`."""
    if convention not in CONVENTIONS:
        raise ValueError(
            f"unknown business-day convention {convention!r}; accepted: {list(CONVENTIONS)}"
        )


def _moved(dates, business_days, convention, code, calendars) -> np.ndarray:
    check_convention(convention)
    dates = np.ascontiguousarray(np.asarray(dates, dtype="datetime64[D]").ravel())
    steps = np.broadcast_to(np.asarray(business_days, dtype=np.int64), dates.shape)
    code = np.broadcast_to(np.asarray(code, dtype=np.int64), dates.shape)
    days = dates.view(np.int64)
    if np.isnat(dates).any():
        # NaT stays NaT, as numpy's business-day functions leave it.
        out = np.empty_like(dates)
        roll = _NUMPY_ROLL.get(convention)
        for k, cal in enumerate(calendars):
            rows = code == k
            if roll is None:
                out[rows] = dates[rows]
            else:
                out[rows] = np.busday_offset(
                    dates[rows], steps[rows], roll=roll, busdaycal=cal._cal
                )
        return out
    # A business day is at most a few weeks away: that far inside the tables, every step
    # stays in them.
    tables = tables_for(calendars, days, 64 + 4 * int(np.abs(steps).max(initial=0)))
    out = np.empty(days.shape, dtype=np.int64)
    busdays.advance_days(
        days,
        np.ascontiguousarray(steps),
        busdays.ROLLS.index(convention),
        np.ascontiguousarray(code),
        tables.following,
        tables.preceding,
        tables.first,
        out,
    )
    return out.view("datetime64[D]")


CALENDARS: tuple[str, ...] = ("WEEKENDS_ONLY", *RULES)
"""Names :func:`calendar` accepts, besides the currency codes of :data:`CURRENCY_CALENDARS`
and joints of either with ``+``."""


@cache
def _market_calendar(name: str) -> Calendar:
    if name == "WEEKENDS_ONLY":
        return WEEKENDS_ONLY
    days = holidays(name, *HOLIDAY_YEARS)
    return Calendar(name, "1111100", tuple(np.datetime_as_string(days, unit="D")))


def joint(*calendars: Calendar) -> Calendar:
    """The calendar whose business days are business days of every one of ``calendars``
    (the union of their holidays and weekends; QuantLib's ``JointCalendar`` with
    ``JoinHolidays``)."""
    if not calendars:
        raise ValueError("joint() needs at least one calendar")
    if len(calendars) == 1:
        return calendars[0]
    mask = "".join("1" if all(c.weekmask[i] == "1" for c in calendars) else "0" for i in range(7))
    days = sorted(set().union(*(c.holidays for c in calendars)))
    return Calendar("+".join(c.name for c in calendars), mask, tuple(days))


@cache
def calendar(name: str) -> Calendar:
    """A calendar by name (case-insensitive): one of :data:`CALENDARS`, a currency of
    :data:`CURRENCY_CALENDARS`, or several of these joined by ``+`` (``"USD+TARGET"``).

    Holidays are generated once per name and cached; the result is shared.

    Raises
    ------
    ValueError
        For an unknown name, listing the accepted ones.
    """
    parts = [p.strip().upper() for p in str(name).split("+")]
    resolved = []
    for part in parts:
        part = CURRENCY_CALENDARS.get(part, part)
        if part not in CALENDARS:
            raise ValueError(
                f"unknown calendar {name!r}; accepted: {list(CALENDARS)}, the currencies "
                f"{list(CURRENCY_CALENDARS)}, or several joined by '+'"
            )
        resolved.append(_market_calendar(part))
    return joint(*resolved)


def calendar_codes(names: np.ndarray) -> tuple[np.ndarray, tuple[Calendar, ...]]:
    """Calendars of a name per element (:func:`calendar`): the code of each element's
    calendar (int64, shape of ``names``) and the distinct calendars the codes index.

    Raises
    ------
    ValueError
        For an unknown name.
    """
    names = np.asarray(names)
    uniq, code = unique_inverse(names)
    return code.reshape(names.shape).astype(np.int64), tuple(calendar(str(u)) for u in uniq)


def _month_end(dates: np.ndarray) -> np.ndarray:
    return (dates.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1


def _is_month_end(dates: np.ndarray) -> np.ndarray:
    return dates == _month_end(dates)


def add_months(
    dates: np.ndarray, months: np.ndarray | int, *, end_of_month: bool = False
) -> np.ndarray:
    """Add calendar months to dates, clipping the day to the month's length.

    Parameters
    ----------
    dates : ndarray of datetime64[D], shape ``(n,)``
    months : int or ndarray of int, shape ``(n,)``
        May be negative.
    end_of_month : bool
        Move a date on its month's last day to the target month's last day (28 February
        plus one month is 31 March).
    """
    dates = np.asarray(dates, dtype="datetime64[D]")
    months = np.asarray(months, dtype=np.int64)
    shape = np.broadcast_shapes(dates.shape, months.shape)
    days = np.ascontiguousarray(np.broadcast_to(dates, shape).ravel()).view(np.int64)
    moved = np.empty(days.shape, dtype=np.int64)
    busdays.add_months_days(
        days, np.ascontiguousarray(np.broadcast_to(months, shape).ravel()), moved
    )
    out = moved.view("datetime64[D]").reshape(shape)
    if end_of_month:
        out = np.where(_is_month_end(dates), _month_end(out), out)
    return out


_TENOR = re.compile(r"^\s*(\d+)\s*([DWMY])\s*$", re.IGNORECASE)
_SIGNED_TENOR = re.compile(r"^\s*([-+]?)\s*(\d+)\s*([DWMY])\s*$", re.IGNORECASE)


def tenor_months(tenor: str) -> int:
    """Months in a tenor ``"3M"`` or ``"2Y"``.

    Raises
    ------
    ValueError
        For anything but a positive number of months or years.
    """
    m = _TENOR.match(tenor)
    if m is None or m.group(2).upper() not in "MY" or int(m.group(1)) <= 0:
        raise ValueError(f"expected a tenor like '3M' or '2Y', got {tenor!r}")
    return int(m.group(1)) * (12 if m.group(2).upper() == "Y" else 1)


def add_tenor(dates: np.ndarray, tenor: str, *, end_of_month: bool = False) -> np.ndarray:
    """Add a tenor (``"1D"``, ``"2W"``, ``"6M"``, ``"5Y"``) to dates, unadjusted.

    ``end_of_month`` applies to months and years as in :func:`add_months`.

    Raises
    ------
    ValueError
        For a malformed tenor.
    """
    m = _TENOR.match(tenor)
    if m is None:
        raise ValueError(f"expected a tenor like '1D', '2W', '3M' or '5Y', got {tenor!r}")
    n, unit = int(m.group(1)), m.group(2).upper()
    dates = np.asarray(dates, dtype="datetime64[D]")
    if unit == "D":
        return dates + np.timedelta64(n, "D")
    if unit == "W":
        return dates + np.timedelta64(7 * n, "D")
    return add_months(dates, n * (12 if unit == "Y" else 1), end_of_month=end_of_month)
