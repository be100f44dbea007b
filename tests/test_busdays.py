"""Compiled business-day arithmetic (:mod:`xiphpc.pricing.kernels.busdays`) against numpy's
``busday_offset`` and ``datetime64[M]`` month arithmetic, date for date, and its day counts
against the same rules in numpy's date arithmetic.

Dates are integers, so every comparison is exact. The dates span 1850–2350, beyond the
calendars' holiday years (1901–2199) on both sides, and include NaT.
"""

from __future__ import annotations

import numpy as np
import pytest

from xiphpc.market.curves.calendar import (
    CONVENTIONS,
    WEEKENDS_ONLY,
    add_months,
    adjust,
    advance,
    calendar,
)
from xiphpc.market.curves.daycount import DAY_COUNTS, _one, year_fraction
from xiphpc.pricing.kernels.busdays import add_months_days

CALENDARS = (WEEKENDS_ONLY, calendar("TARGET"), calendar("US-SETTLEMENT"), calendar("USD+EUR"))
ROLLS = {
    "following": "following",
    "modified_following": "modifiedfollowing",
    "preceding": "preceding",
    "modified_preceding": "modifiedpreceding",
}


def _dates(n: int, seed: int, nat: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lo, hi = np.datetime64("1850-01-01").astype(int), np.datetime64("2350-12-31").astype(int)
    # Half of them near the calendars' edges of 1901 and 2199, where the tables end.
    edges = np.array([np.datetime64("1901-01-01"), np.datetime64("2199-12-31")]).astype(int)
    near = rng.choice(edges, n // 2) + rng.integers(-400, 400, n // 2)
    d = np.concatenate([rng.integers(lo, hi, n - n // 2), near]).astype("datetime64[D]")
    if nat:
        d[rng.choice(n, n // 50, replace=False)] = np.datetime64("NaT")
    return d


@pytest.mark.parametrize("cal", CALENDARS, ids=lambda c: c.name)
@pytest.mark.parametrize("convention", CONVENTIONS)
def test_adjust_equals_numpy(cal, convention: str) -> None:
    d = _dates(40_000, 1, nat=True)
    got = cal.adjust(d, convention)
    want = (
        d
        if convention == "unadjusted"
        else np.busday_offset(d, 0, roll=ROLLS[convention], busdaycal=cal._cal)
    )
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("cal", CALENDARS, ids=lambda c: c.name)
def test_advance_equals_numpy(cal) -> None:
    d = _dates(40_000, 2, nat=True)
    steps = np.random.default_rng(3).integers(-40, 41, d.size)
    np.testing.assert_array_equal(
        cal.advance(d, steps), np.busday_offset(d, steps, roll="following", busdaycal=cal._cal)
    )


def test_each_date_on_its_own_calendar() -> None:
    d = _dates(40_000, 4)
    code = np.random.default_rng(5).integers(0, len(CALENDARS), d.size)
    steps = np.random.default_rng(6).integers(-5, 6, d.size)
    got_adj = adjust(d, "modified_following", code, CALENDARS)
    got_adv = advance(d, steps, code, CALENDARS, roll="preceding")
    for k, cal in enumerate(CALENDARS):
        rows = code == k
        np.testing.assert_array_equal(
            got_adj[rows],
            np.busday_offset(d[rows], 0, roll="modifiedfollowing", busdaycal=cal._cal),
        )
        np.testing.assert_array_equal(
            got_adv[rows],
            np.busday_offset(d[rows], steps[rows], roll="preceding", busdaycal=cal._cal),
        )


def test_add_months_equals_month_arithmetic() -> None:
    d = _dates(100_000, 7, nat=True)
    months = np.random.default_rng(8).integers(-1200, 1201, d.size)
    out = np.empty(d.size, dtype=np.int64)
    add_months_days(d.view(np.int64), months, out)
    # numpy's month arithmetic with the day clipped to the target month's length.
    np.testing.assert_array_equal(out.view("datetime64[D]"), add_months(d, months))
    month = d.astype("datetime64[M]")
    day = (d - month.astype("datetime64[D]")).astype(np.int64)
    target = month + months
    last = (target + 1).astype("datetime64[D]") - np.timedelta64(1, "D")
    want = np.minimum(target.astype("datetime64[D]") + day, last)
    np.testing.assert_array_equal(out.view("datetime64[D]"), want)


@pytest.mark.parametrize("name", DAY_COUNTS)
def test_year_fractions_equal_numpy(name: str) -> None:
    # Pairs of any order, month ends (February's last day and the 31sts) over leap and
    # common years, and terminations equal to half of the ends: the compiled day counts
    # against the same rules in numpy's date arithmetic, bit for bit.
    rng = np.random.default_rng(7)
    a = _dates(40_000, 8)
    b = a + rng.integers(-800, 800, a.size)
    month_end = (b.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1
    b = np.where(rng.random(a.size) < 0.3, month_end, b)
    term = np.where(rng.random(a.size) < 0.5, b, b + 1)
    got = year_fraction(a, b, name, termination=term)
    want = _one(a, b, name, term)
    assert got.tobytes() == want.tobytes()
    codes = rng.integers(0, len(DAY_COUNTS), a.size)
    mixed = year_fraction(a, b, codes, termination=term)
    for k, n in enumerate(DAY_COUNTS):
        rows = codes == k
        assert mixed[rows].tobytes() == _one(a[rows], b[rows], n, term[rows]).tobytes()


def test_year_fractions_carry_nat() -> None:
    a = _dates(1_000, 9, nat=True)
    b = a + 100
    for name in DAY_COUNTS:
        got = year_fraction(a, b, name)
        assert got.tobytes() == _one(a, b, name, None).tobytes()
