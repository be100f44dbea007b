"""Day-count conventions, vectorized over ``datetime64[D]`` arrays.

Accepted names (:data:`DAY_COUNTS`):

- ``"ACT/360"``: actual days / 360.
- ``"ACT/365F"``: actual days / 365.
- ``"30/360"`` or ``"30/360 BOND BASIS"``: the 30/360 bond basis (ISDA 2006 section
  4.16(f), QuantLib ``Thirty360.BondBasis``): a day 31 becomes 30 in the start date, and in
  the end date only when the start date's day is then 30.
- ``"30/360 US"``: the SIA rule (QuantLib ``Thirty360.USA``): the bond basis, and a start on
  the last day of February counts as day 30, as does an end on the last day of February
  when the start is one too.
- ``"30E/360"``: the Eurobond basis (ISDA 2006 section 4.16(g), QuantLib
  ``Thirty360.European``): a day 31 becomes 30 in either date.
- ``"30E/360 ISDA"``: ISDA 2006 section 4.16(h) (QuantLib ``Thirty360.ISDA``): as 30E/360,
  and the last day of February counts as day 30, except in an end date that is the
  termination date of the trade (``termination`` of :func:`year_fraction`).
- ``"ACT/ACT ISDA"``: days falling in leap years over 366 plus days in other years over 365.
"""

from __future__ import annotations

import numpy as np

from xiphpc.io.text import unique_inverse
from xiphpc.pricing.kernels.busdays import year_fractions

__all__ = ["DAY_COUNTS", "day_count_codes", "year_fraction"]

# The positions are the codes of the compiled day counts (busdays.year_fractions).
DAY_COUNTS: tuple[str, ...] = (
    "ACT/360",
    "ACT/365F",
    "30/360",
    "30/360 BOND BASIS",
    "30/360 US",
    "30E/360",
    "30E/360 ISDA",
    "ACT/ACT ISDA",
)


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


def _last_of_february(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    return (m == 2) & (d == _days_in_year(y) - 337)


def _thirty_360(
    start: np.ndarray, end: np.ndarray, variant: str, termination: np.ndarray | None
) -> np.ndarray:
    y1, m1, d1 = _ymd(start)
    y2, m2, d2 = _ymd(end)
    if variant == "bond":
        d1 = np.minimum(d1, 30)
        d2 = np.where((d2 == 31) & (d1 == 30), 30, d2)
    elif variant == "us":
        # The SIA steps in their order: February ends first, so that a start moved to 30
        # lets a day-31 end move too.
        feb1 = _last_of_february(y1, m1, d1)
        d2 = np.where(feb1 & _last_of_february(y2, m2, d2), 30, d2)
        d1 = np.where(feb1, 30, d1)
        d2 = np.where((d2 == 31) & (d1 >= 30), 30, d2)
        d1 = np.minimum(d1, 30)
    elif variant == "european":
        d1 = np.minimum(d1, 30)
        d2 = np.minimum(d2, 30)
    else:
        feb2 = _last_of_february(y2, m2, d2)
        if termination is not None:
            feb2 &= end != np.asarray(termination, dtype="datetime64[D]")
        d1 = np.where(_last_of_february(y1, m1, d1), 30, np.minimum(d1, 30))
        d2 = np.where(feb2, 30, np.minimum(d2, 30))
    return (360 * (y2 - y1) + 30 * (m2 - m1) + (d2 - d1)) / 360.0


_THIRTY_360 = {
    "30/360": "bond",
    "30/360 BOND BASIS": "bond",
    "30/360 US": "us",
    "30E/360": "european",
    "30E/360 ISDA": "isda",
}


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


def _one(
    start: np.ndarray, end: np.ndarray, convention: str, termination: np.ndarray | None
) -> np.ndarray:
    if convention == "ACT/360":
        return (end - start).astype(np.float64) / 360.0
    if convention == "ACT/365F":
        return (end - start).astype(np.float64) / 365.0
    if convention in _THIRTY_360:
        return _thirty_360(start, end, _THIRTY_360[convention], termination)
    if convention == "ACT/ACT ISDA":
        return _act_act_isda(start, end)
    raise ValueError(f"unknown day count {convention!r}; accepted: {list(DAY_COUNTS)}")


def day_count_codes(names: np.ndarray) -> np.ndarray:
    """Position in :data:`DAY_COUNTS` of each name (int64, shape of ``names``), the form
    :func:`year_fraction` takes per element without comparing names element by element.

    Raises
    ------
    ValueError
        For a name outside :data:`DAY_COUNTS`.
    """
    names = np.asarray(names)
    uniq, inverse = unique_inverse(names.reshape(-1))
    unknown = [str(u) for u in uniq if str(u) not in DAY_COUNTS]
    if unknown:
        raise ValueError(f"unknown day count {unknown[0]!r}; accepted: {list(DAY_COUNTS)}")
    code = np.array([DAY_COUNTS.index(str(u)) for u in uniq], dtype=np.int64)
    return code[inverse].reshape(names.shape)


def year_fraction(
    start: np.ndarray,
    end: np.ndarray,
    convention: str | np.ndarray,
    *,
    termination: np.ndarray | None = None,
) -> np.ndarray:
    """Year fractions between ``start`` and ``end`` under a day-count convention.

    Parameters
    ----------
    start, end : ndarray of datetime64[D], shape ``(n,)``
    convention : str, or ndarray of str or of int, shape ``(n,)``
        One of :data:`DAY_COUNTS`, for all elements or per element; per element also as
        positions in :data:`DAY_COUNTS` (:func:`day_count_codes`).
    termination : ndarray of datetime64[D], shape ``(n,)``, optional
        The trade's termination date, read by ``"30E/360 ISDA"`` only: an end on the last
        day of February stays as it is when it is the termination date. Without it no end
        date is taken for a termination date.

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
        if convention not in DAY_COUNTS:
            raise ValueError(f"unknown day count {convention!r}; accepted: {list(DAY_COUNTS)}")
        code = np.int64(DAY_COUNTS.index(convention))
    else:
        code = np.asarray(convention)
        if code.dtype.kind not in "iu":
            code = day_count_codes(code)
    arrays = [start, end, code] + ([] if termination is None else [np.asarray(termination)])
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    if np.isnat(start).any() or np.isnat(end).any():
        return _by_code(start, end, code, termination, shape)
    # Every element in one compiled pass, whatever its day count.
    flat = [np.ascontiguousarray(np.broadcast_to(a, shape).ravel()) for a in (start, end)]
    term = np.full(shape, np.datetime64("NaT"), dtype="datetime64[D]")
    if termination is not None:
        term[...] = np.asarray(termination, dtype="datetime64[D]")
    out = np.empty(flat[0].shape, dtype=np.float64)
    year_fractions(
        flat[0].view(np.int64),
        flat[1].view(np.int64),
        np.ascontiguousarray(np.broadcast_to(code, shape).ravel(), dtype=np.int64),
        term.ravel().view(np.int64),
        out,
    )
    return out.reshape(shape)


def _by_code(
    start: np.ndarray,
    end: np.ndarray,
    code: np.ndarray,
    termination: np.ndarray | None,
    shape: tuple[int, ...],
) -> np.ndarray:
    # Day count by day count in numpy's date arithmetic, which carries NaT through.
    if code.ndim == 0:
        return np.broadcast_to(_one(start, end, DAY_COUNTS[int(code)], termination), shape).copy()
    out = np.empty(np.broadcast(start, end).shape, dtype=np.float64)
    start, end = np.broadcast_arrays(start, end)
    if termination is not None:
        termination = np.broadcast_to(np.asarray(termination, dtype="datetime64[D]"), end.shape)
    code = np.broadcast_to(code, out.shape)
    for k in np.flatnonzero(np.bincount(code.ravel(), minlength=len(DAY_COUNTS))):
        rows = code == k
        term = None if termination is None else termination[rows]
        out[rows] = _one(start[rows], end[rows], DAY_COUNTS[k], term)
    return out
