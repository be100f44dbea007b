"""Day-count conventions, vectorized over ``datetime64[D]`` arrays.

Accepted names (:data:`DAY_COUNTS`):

- ``"ACT/360"``: actual days / 360.
- ``"ACT/365F"``: actual days / 365.
- ``"30/360"``: the 30/360 bond basis (ISDA 2006 section 4.16(f), QuantLib
  ``Thirty360.BondBasis``): a day 31 becomes 30 in the start date, and in the end date only
  when the start date's day is then 30.
- ``"ACT/ACT ISDA"``: days falling in leap years over 366 plus days in other years over 365.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DAY_COUNTS", "year_fraction"]

DAY_COUNTS: tuple[str, ...] = ("ACT/360", "ACT/365F", "30/360", "ACT/ACT ISDA")


def _ymd(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    months = d.astype("datetime64[M]")
    years = d.astype("datetime64[Y]")
    y = years.astype(np.int64) + 1970
    m = (months - years).astype(np.int64) + 1
    day = (d - months).astype(np.int64) + 1
    return y, m, day


def _days_in_year(y: np.ndarray) -> np.ndarray:
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    return np.where(leap, 366.0, 365.0)


def _thirty_360(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    y1, m1, d1 = _ymd(start)
    y2, m2, d2 = _ymd(end)
    d1 = np.minimum(d1, 30)
    d2 = np.where((d2 == 31) & (d1 == 30), 30, d2)
    return (360 * (y2 - y1) + 30 * (m2 - m1) + (d2 - d1)) / 360.0


def _act_act_isda(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    lo, hi = np.minimum(start, end), np.maximum(start, end)
    y1 = lo.astype("datetime64[Y]")
    y2 = hi.astype("datetime64[Y]")
    yy1 = y1.astype(np.int64) + 1970
    yy2 = y2.astype(np.int64) + 1970
    # Whole years in between, the rest of the first year and the start of the last one.
    first = ((y1 + 1).astype("datetime64[D]") - lo).astype(np.float64) / _days_in_year(yy1)
    last = (hi - y2.astype("datetime64[D]")).astype(np.float64) / _days_in_year(yy2)
    frac = (yy2 - yy1 - 1) + first + last
    return np.where(end >= start, frac, -frac)


def _one(start: np.ndarray, end: np.ndarray, convention: str) -> np.ndarray:
    if convention == "ACT/360":
        return (end - start).astype(np.float64) / 360.0
    if convention == "ACT/365F":
        return (end - start).astype(np.float64) / 365.0
    if convention == "30/360":
        return _thirty_360(start, end)
    if convention == "ACT/ACT ISDA":
        return _act_act_isda(start, end)
    raise ValueError(f"unknown day count {convention!r}; accepted: {list(DAY_COUNTS)}")


def year_fraction(start: np.ndarray, end: np.ndarray, convention: str | np.ndarray) -> np.ndarray:
    """Year fractions between ``start`` and ``end`` under a day-count convention.

    Parameters
    ----------
    start, end : ndarray of datetime64[D], shape ``(n,)``
    convention : str or ndarray of str, shape ``(n,)``
        One of :data:`DAY_COUNTS`, for all elements or per element.

    Returns
    -------
    ndarray of float64, shape ``(n,)``
        Negative where ``end < start``.

    Raises
    ------
    ValueError
        For a name outside :data:`DAY_COUNTS`.
    """
    start = np.asarray(start, dtype="datetime64[D]")
    end = np.asarray(end, dtype="datetime64[D]")
    if isinstance(convention, str):
        return _one(start, end, convention)
    convention = np.asarray(convention)
    out = np.empty(np.broadcast(start, end).shape, dtype=np.float64)
    start, end = np.broadcast_arrays(start, end)
    for name in np.unique(convention):
        rows = convention == name
        out[rows] = _one(start[rows], end[rows], str(name))
    return out
