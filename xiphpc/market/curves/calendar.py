"""Business-day calendars, business-day conventions and date arithmetic.

A :class:`Calendar` is a weekmask plus a list of holidays (numpy's ``busdaycalendar``);
:data:`WEEKENDS_ONLY` has Saturday and Sunday as its only non-business days (QuantLib's
``WeekendsOnly``). Business-day conventions (:data:`CONVENTIONS`):

- ``"unadjusted"``: the date as it is.
- ``"following"``: the next business day.
- ``"modified_following"``: the next business day unless it falls in the next month, then
  the previous one.
- ``"preceding"``: the previous business day.

Adding months keeps the day of month, clipped to the month's last day (no end-of-month roll).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

__all__ = ["CONVENTIONS", "WEEKENDS_ONLY", "Calendar", "add_months", "add_tenor", "tenor_months"]

CONVENTIONS: tuple[str, ...] = ("unadjusted", "following", "modified_following", "preceding")
_NUMPY_ROLL = {
    "following": "following",
    "modified_following": "modifiedfollowing",
    "preceding": "preceding",
}


@dataclass(frozen=True)
class Calendar:
    """Business days: a weekmask (Monday first) and holidays.

    Attributes
    ----------
    name : str
    weekmask : str
        Seven characters, ``"1"`` for a business weekday, Monday first.
    holidays : tuple of str
        ISO dates that are not business days.
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
        if convention not in _NUMPY_ROLL:
            raise ValueError(
                f"unknown business-day convention {convention!r}; accepted: {list(CONVENTIONS)}"
            )
        return np.busday_offset(dates, 0, roll=_NUMPY_ROLL[convention], busdaycal=self._cal)

    def advance(self, dates: np.ndarray, business_days: int) -> np.ndarray:
        """Move each date by a number of business days (rolling forward first)."""
        dates = np.asarray(dates, dtype="datetime64[D]")
        return np.busday_offset(dates, business_days, roll="following", busdaycal=self._cal)


WEEKENDS_ONLY = Calendar()


def add_months(dates: np.ndarray, months: np.ndarray | int) -> np.ndarray:
    """Add calendar months to dates, clipping the day to the month's length.

    Parameters
    ----------
    dates : ndarray of datetime64[D], shape ``(n,)``
    months : int or ndarray of int, shape ``(n,)``
        May be negative.
    """
    dates = np.asarray(dates, dtype="datetime64[D]")
    month = dates.astype("datetime64[M]")
    day = (dates - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.asarray(months, dtype=np.int64)
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(
        np.int64
    )
    return target.astype("datetime64[D]") + np.minimum(day, length - 1)


_TENOR = re.compile(r"^\s*(\d+)\s*([DWMY])\s*$", re.IGNORECASE)


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


def add_tenor(dates: np.ndarray, tenor: str) -> np.ndarray:
    """Add a tenor (``"1D"``, ``"2W"``, ``"6M"``, ``"5Y"``) to dates, unadjusted.

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
    return add_months(dates, n * (12 if unit == "Y" else 1))
