"""Public holidays of the market calendars, computed from their rules.

Every rule set is a function of an array of years (int64, shape ``(k,)``) returning the
holiday dates of those years (datetime64[D], any length); dates that fall on a weekend may
be included, they change nothing. Rules follow QuantLib's calendars of the same name
(:data:`RULES` lists them) so that business days agree day by day:

- ``"US-SETTLEMENT"``: ``UnitedStates(Settlement)``, US federal holidays, Saturday observed
  on Friday and Sunday on Monday.
- ``"US-SOFR"``: ``UnitedStates(SOFR)``, the SIFMA bond-market holidays on which SOFR is
  not published (Good Friday included, Veterans Day not moved back from Saturday).
- ``"TARGET"``: ``TARGET()``, the euro area's TARGET2 closing days.
- ``"UK"``: ``UnitedKingdom(Settlement)``, England and Wales bank holidays with substitute
  days.
- ``"JP"``: ``Japan()``, national holidays with substitute and citizens' holidays and the
  bank holidays of 2-3 January and 31 December.
- ``"CH"``: ``Switzerland()``.
- ``"CA"``: ``Canada(Settlement)``.
- ``"AU"``: ``Australia(Settlement)``.

Easter is computed by the Gregorian computus (:func:`easter_sunday`). One-off closings are
listed as data beside the rules that have them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["RULES", "easter_sunday", "holidays", "weekday"]

# Weekday numbers as numpy's busday functions count them: Monday 0 ... Sunday 6.
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def _date(y: np.ndarray, m: np.ndarray | int, d: np.ndarray | int) -> np.ndarray:
    """Dates from year, month (1-12, may run past 12) and day (1-based, may run past the
    month's end), element by element."""
    months = (np.asarray(y, dtype=np.int64) - 1970) * 12 + np.asarray(m, dtype=np.int64) - 1
    first = months.astype("datetime64[M]").astype("datetime64[D]")
    return first + (np.asarray(d, dtype=np.int64) - 1)


def weekday(dates: np.ndarray) -> np.ndarray:
    """Weekday of each date, Monday 0 to Sunday 6 (int64, same shape)."""
    # 1970-01-01, day 0 of datetime64[D], was a Thursday.
    return (np.asarray(dates, dtype="datetime64[D]").astype(np.int64) + THU) % 7


def easter_sunday(years: np.ndarray) -> np.ndarray:
    """Easter Sunday of each Gregorian year (the anonymous Gregorian computus).

    Parameters
    ----------
    years : ndarray of int, shape ``(k,)``

    Returns
    -------
    ndarray of datetime64[D], shape ``(k,)``
    """
    y = np.asarray(years, dtype=np.int64)
    a = y % 19  # position in the 19-year Metonic cycle
    b, c = y // 100, y % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25  # lunar correction
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30  # days from 21 March to the paschal full moon
    i, k = c // 4, c % 4
    weekday_shift = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday_shift) // 451
    n = h + weekday_shift - 7 * m + 114
    return _date(y, n // 31, n % 31 + 1)


def _nth(y: np.ndarray, m: int, n: int, wd: int) -> np.ndarray:
    """The ``n``-th weekday ``wd`` of month ``m`` (``n`` from 1)."""
    first = _date(y, m, 1)
    return first + (wd - weekday(first)) % 7 + 7 * (n - 1)


def _last(y: np.ndarray, m: int, wd: int) -> np.ndarray:
    """The last weekday ``wd`` of month ``m``."""
    end = _date(y, m + 1, 1) - 1
    return end - (weekday(end) - wd) % 7


def _on_or_before(y: np.ndarray, m: int, d: int, wd: int) -> np.ndarray:
    """The last weekday ``wd`` on or before day ``d`` of month ``m``."""
    day = _date(y, m, d)
    return day - (weekday(day) - wd) % 7


def _nearest_weekday(d: np.ndarray) -> np.ndarray:
    """US observance: Saturday moves to Friday, Sunday to Monday."""
    w = weekday(d)
    return d + np.where(w == SAT, -1, np.where(w == SUN, 1, 0))


def _sunday_to_monday(d: np.ndarray) -> np.ndarray:
    return d + (weekday(d) == SUN)


def _weekend_to_monday(d: np.ndarray) -> np.ndarray:
    w = weekday(d)
    return d + np.where(w == SAT, 2, np.where(w == SUN, 1, 0))


def _substitute_pair(first: np.ndarray) -> list[np.ndarray]:
    """Two consecutive holidays (Christmas and Boxing Day) each moved off the weekend to the
    next weekday not already taken by the other."""
    a = _weekend_to_monday(first)
    b = _weekend_to_monday(first + 1)
    return [a, np.where(b == a, b + 1, b)]


def _one_off(*iso: str) -> np.ndarray:
    return np.array(iso, dtype="datetime64[D]")


def _where(dates: np.ndarray, keep: np.ndarray) -> np.ndarray:
    return dates[np.broadcast_to(keep, dates.shape)]


def _us_common(y: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Holidays US Settlement and the SIFMA calendar share, observed on the nearest
    weekday: the pre-1971 fixed dates of Washington's Birthday and Memorial Day, Veterans
    Day on the fourth Monday of October in 1971-1977.

    Returns the holidays and the mask of years in which Veterans Day is 11 November."""
    modern = y >= 1971
    veterans_fixed = (y <= 1970) | (y >= 1978)
    return [
        _where(_nth(y, 1, 3, MON), y >= 1983),  # Martin Luther King Jr. Day
        np.where(modern, _nth(y, 2, 3, MON), _nearest_weekday(_date(y, 2, 22))),
        np.where(modern, _last(y, 5, MON), _nearest_weekday(_date(y, 5, 30))),
        _where(_nearest_weekday(_date(y, 6, 19)), y >= 2022),  # Juneteenth
        _nearest_weekday(_date(y, 7, 4)),
        _nth(y, 9, 1, MON),  # Labor Day
        _where(_nth(y, 10, 2, MON), modern),  # Columbus Day
        _where(_nth(y, 10, 4, MON), ~veterans_fixed),
        _nth(y, 11, 4, THU),  # Thanksgiving
        _nearest_weekday(_date(y, 12, 25)),
    ], veterans_fixed


def _us_settlement(y: np.ndarray) -> list[np.ndarray]:
    common, veterans_fixed = _us_common(y)
    return [
        *common,
        _nearest_weekday(_date(y, 1, 1)),  # may fall on 31 December of the year before
        _where(_nearest_weekday(_date(y, 11, 11)), veterans_fixed),
    ]


_US_SOFR_CLOSINGS = _one_off(
    "2004-06-11",  # President Reagan's funeral
    "2012-10-30",  # Hurricane Sandy
    "2018-12-05",  # President G. H. W. Bush's funeral
)


def _us_sofr(y: np.ndarray) -> list[np.ndarray]:
    common, veterans_fixed = _us_common(y)
    return [
        *common,
        # New Year's Day is not moved back to Friday when it falls on a Saturday.
        _sunday_to_monday(_date(y, 1, 1)),
        easter_sunday(y) - 2,  # Good Friday
        _where(_sunday_to_monday(_date(y, 11, 11)), veterans_fixed),
        _US_SOFR_CLOSINGS,
    ]


def _target(y: np.ndarray) -> list[np.ndarray]:
    # Good Friday, Easter Monday, Labour Day and 26 December are closing days from 2000.
    since_2000 = y >= 2000
    easter = easter_sunday(y)
    return [
        _date(y, 1, 1),
        _where(easter - 2, since_2000),
        _where(easter + 1, since_2000),
        _where(_date(y, 5, 1), since_2000),
        _date(y, 12, 25),
        _where(_date(y, 12, 26), since_2000),
        _one_off("1998-12-31", "1999-12-31", "2001-12-31"),
    ]


_UK_ONE_OFF = _one_off(
    "1999-12-31",  # Millennium
    "2002-06-03",  # Golden Jubilee
    "2002-06-04",  # Spring bank holiday moved
    "2011-04-29",  # Royal Wedding
    "2012-06-04",  # Spring bank holiday moved
    "2012-06-05",  # Diamond Jubilee
    "2022-06-02",  # Spring bank holiday moved
    "2022-06-03",  # Platinum Jubilee
    "2022-09-19",  # State funeral of Queen Elizabeth II
    "2023-05-08",  # Coronation of King Charles III
)


def _uk(y: np.ndarray) -> list[np.ndarray]:
    easter = easter_sunday(y)
    # Early May bank holiday moved to 8 May for VE Day anniversaries.
    ve_day = (y == 1995) | (y == 2020)
    spring_moved = (y == 2002) | (y == 2012) | (y == 2022)
    return [
        _weekend_to_monday(_date(y, 1, 1)),
        easter - 2,
        easter + 1,
        np.where(ve_day, _date(y, 5, 8), _nth(y, 5, 1, MON)),
        _where(_last(y, 5, MON), ~spring_moved),
        _last(y, 8, MON),
        *_substitute_pair(_date(y, 12, 25)),
        _UK_ONE_OFF,
    ]


def _trunc_div(a: np.ndarray, b: int) -> np.ndarray:
    """Integer division rounding toward zero."""
    return np.sign(a) * (np.abs(a) // b)


def _jp_equinoxes(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Days of March and September of the vernal and autumnal equinoxes: a linear drift of
    0.242194 days a year from the 2000 equinoxes, less the leap days since 2000."""
    n = y - 2000
    leap = _trunc_div(n, 4) + _trunc_div(n, 100) - _trunc_div(n, 400)
    drift = n * 0.242194
    vernal = np.trunc(20.69115 + drift - leap).astype(np.int64)
    autumnal = np.trunc(23.09 + drift - leap).astype(np.int64)
    return vernal, autumnal


_JP_ONE_OFF = _one_off(
    "1959-04-10",  # Marriage of Prince Akihito
    "1989-02-24",  # Rites of the Imperial funeral
    "1990-11-12",  # Enthronement ceremony of Emperor Akihito
    "1993-06-09",  # Marriage of Prince Naruhito
    "2019-04-30",  # Holidays around the accession of Emperor Naruhito
    "2019-05-01",
    "2019-05-02",
    "2019-10-22",  # Enthronement ceremony of Emperor Naruhito
    # Marine Day, Sports Day and Mountain Day moved for the Tokyo Olympic Games.
    "2020-07-23",
    "2020-07-24",
    "2020-08-10",
    "2021-07-22",
    "2021-07-23",
    "2021-08-09",
)


def _jp(y: np.ndarray) -> list[np.ndarray]:
    vernal, autumnal = _jp_equinoxes(y)
    olympics = (y == 2020) | (y == 2021)
    may_6 = _date(y, 5, 6)
    aged_day = _nth(y, 9, 3, MON)
    autumnal_day = _date(y, 9, autumnal)
    # A weekday squeezed between Respect for the Aged Day and the autumnal equinox becomes
    # a citizens' holiday.
    citizens = aged_day + 1
    return [
        _date(y, 1, 1),
        _date(y, 1, 2),  # bank holidays
        _date(y, 1, 3),
        _date(y, 12, 31),
        np.where(y >= 2000, _nth(y, 1, 2, MON), _sunday_to_monday(_date(y, 1, 15))),
        _sunday_to_monday(_date(y, 2, 11)),  # National Foundation Day
        _where(_sunday_to_monday(_date(y, 2, 23)), y >= 2020),  # Emperor's Birthday
        _where(_sunday_to_monday(_date(y, 12, 23)), (y >= 1989) & (y < 2019)),
        _sunday_to_monday(_date(y, 3, vernal)),
        _sunday_to_monday(_date(y, 4, 29)),
        _date(y, 5, 3),  # Golden Week
        _date(y, 5, 4),
        _date(y, 5, 5),
        # A Golden Week holiday on a weekend is observed on 6 May.
        _where(may_6, np.isin(weekday(may_6), (MON, TUE, WED))),
        _where(_nth(y, 7, 3, MON), ((y >= 2003) & ~olympics)),  # Marine Day
        _where(_sunday_to_monday(_date(y, 7, 20)), (y >= 1996) & (y < 2003)),
        _where(_sunday_to_monday(_date(y, 8, 11)), (y >= 2016) & ~olympics),  # Mountain Day
        np.where(y >= 2003, aged_day, _sunday_to_monday(_date(y, 9, 15))),
        _where(citizens, (y >= 2003) & (citizens + 1 == autumnal_day)),
        _sunday_to_monday(autumnal_day),
        # Sports Day, moved into July for the Olympic Games.
        _where(_nth(y, 10, 2, MON), (y >= 2000) & ~olympics),
        _where(_sunday_to_monday(_date(y, 10, 10)), y < 2000),
        _sunday_to_monday(_date(y, 11, 3)),  # Culture Day
        _sunday_to_monday(_date(y, 11, 23)),  # Labour Thanksgiving Day
        _JP_ONE_OFF,
    ]


def _ch(y: np.ndarray) -> list[np.ndarray]:
    easter = easter_sunday(y)
    return [
        _date(y, 1, 1),
        _date(y, 1, 2),  # Berchtoldstag
        easter - 2,
        easter + 1,
        easter + 39,  # Ascension Day
        easter + 50,  # Whit Monday
        _date(y, 5, 1),
        _date(y, 8, 1),  # National Day
        _date(y, 12, 25),
        _date(y, 12, 26),
    ]


def _ca(y: np.ndarray) -> list[np.ndarray]:
    return [
        _weekend_to_monday(_date(y, 1, 1)),
        _where(_nth(y, 2, 3, MON), y >= 2008),  # Family Day
        easter_sunday(y) - 2,
        _on_or_before(y, 5, 24, MON),  # Victoria Day
        _weekend_to_monday(_date(y, 7, 1)),  # Canada Day
        _nth(y, 8, 1, MON),  # Civic Holiday
        _nth(y, 9, 1, MON),  # Labour Day
        # National Day for Truth and Reconciliation, from 2021.
        _where(_weekend_to_monday(_date(y, 9, 30)), y >= 2021),
        _nth(y, 10, 2, MON),  # Thanksgiving
        _weekend_to_monday(_date(y, 11, 11)),  # Remembrance Day
        *_substitute_pair(_date(y, 12, 25)),
    ]


def _au(y: np.ndarray) -> list[np.ndarray]:
    easter = easter_sunday(y)
    return [
        _weekend_to_monday(_date(y, 1, 1)),
        _weekend_to_monday(_date(y, 1, 26)),  # Australia Day
        easter - 2,
        easter + 1,
        _date(y, 4, 25),  # ANZAC Day
        _nth(y, 6, 2, MON),  # Sovereign's Birthday
        _nth(y, 8, 1, MON),  # Bank Holiday
        _nth(y, 10, 1, MON),  # Labour Day
        *_substitute_pair(_date(y, 12, 25)),
        _one_off("2022-09-22"),  # National Day of Mourning for Queen Elizabeth II
    ]


RULES: dict[str, Callable[[np.ndarray], list[np.ndarray]]] = {
    "US-SETTLEMENT": _us_settlement,
    "US-SOFR": _us_sofr,
    "TARGET": _target,
    "UK": _uk,
    "JP": _jp,
    "CH": _ch,
    "CA": _ca,
    "AU": _au,
}


def holidays(name: str, first_year: int, last_year: int) -> np.ndarray:
    """Sorted, unique holidays of a rule set falling in ``first_year..last_year``.

    Parameters
    ----------
    name : str
        A key of :data:`RULES`.
    first_year, last_year : int
        Inclusive range of years.

    Returns
    -------
    ndarray of datetime64[D], shape ``(h,)``
        Weekend dates included where a rule puts a holiday there.

    Raises
    ------
    KeyError
        For a name outside :data:`RULES`.
    """
    rules = RULES[name]
    # One year either side: an observed day can cross a year end (1 January on 31 December).
    years = np.arange(first_year - 1, last_year + 2, dtype=np.int64)
    dates = np.unique(np.concatenate([np.atleast_1d(d) for d in rules(years)]))
    lo = np.datetime64(f"{first_year:04d}-01-01", "D")
    hi = np.datetime64(f"{last_year + 1:04d}-01-01", "D")
    return dates[(dates >= lo) & (dates < hi)]
