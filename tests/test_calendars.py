"""Market holiday calendars, business-day conventions and the end-of-month rule, with
QuantLib's calendars as the oracle.

Each rule set of :mod:`xiphpc.market.curves.holidays` is checked day by day against the
QuantLib calendar of the same rules over 1990-2080: no day differs (no QuantLib rule is left
out). Adjusting and advancing by tenors, with and without the end-of-month rule, are checked
on random dates drawn with a fixed seed, month ends and the days before them added.
"""

from __future__ import annotations

import numpy as np
import pytest
from markets import qdate, ql_calendar

from xiphpc.market.curves import CALENDARS, CONVENTIONS, calendar, joint
from xiphpc.market.curves.calendar import WEEKENDS_ONLY, add_months, add_tenor
from xiphpc.market.curves.holidays import RULES, easter_sunday, holidays, weekday

ql = pytest.importorskip("QuantLib")

QUANTLIB = {name: (lambda name=name: ql_calendar(name)) for name in CALENDARS}
QL_CONVENTION = {
    "unadjusted": ql.Unadjusted,
    "following": ql.Following,
    "modified_following": ql.ModifiedFollowing,
    "preceding": ql.Preceding,
    "modified_preceding": ql.ModifiedPreceding,
}
DAYS = np.arange(np.datetime64("1990-01-01"), np.datetime64("2081-01-01"))


def _from_ql(d) -> np.datetime64:
    return np.datetime64(d.ISO(), "D")


def _sample_dates(seed: int, n: int = 400) -> np.ndarray:
    """Random days of 1990-2079 plus, for each, its month's last three days: month ends are
    where modified conventions and the end-of-month rule act."""
    rng = np.random.default_rng(seed)
    days = np.datetime64("1990-01-01") + rng.integers(0, 90 * 365, n)
    ends = (days.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1
    return np.concatenate((days, ends, ends - 1, ends - 2))


def test_every_rule_set_has_a_quantlib_twin():
    assert set(CALENDARS) == set(RULES) | {"WEEKENDS_ONLY"}
    assert ql_calendar("USD+EUR").name() == "JoinHolidays(US settlement, TARGET)"


@pytest.mark.parametrize("name", list(QUANTLIB))
def test_business_days_match_quantlib_every_day_1990_2080(name):
    ref_cal = QUANTLIB[name]()
    ref = np.array([ref_cal.isBusinessDay(qdate(d)) for d in DAYS])
    got = calendar(name).is_business_day(DAYS)
    assert np.array_equal(got, ref), DAYS[got != ref][:10]


def test_easter_matches_quantlib_1901_2199():
    years = np.arange(1901, 2200)
    # QuantLib's Easter Monday (a table, not exported) read off the Swiss calendar: between
    # 23 March and 26 April its only Monday holiday is Easter Monday.
    ch = ql.Switzerland()
    ref = []
    for y in years:
        window = np.arange(f"{y}-03-23", f"{y}-04-27", dtype="M8[D]")
        mondays = window[weekday(window) == 0]
        ref.extend(d for d in mondays if not ch.isBusinessDay(qdate(d)))
    assert np.array_equal(easter_sunday(years) + 1, np.array(ref, dtype="M8[D]"))


def test_known_holidays_and_observance():
    us = calendar("USD")
    # 1 January 2022 was a Saturday, observed on Friday 31 December 2021.
    assert not us.is_business_day(np.array(["2021-12-31"], dtype="datetime64[D]"))[0]
    # The SOFR calendar does not move it back, and closes on Good Friday.
    sofr = calendar("US-SOFR")
    assert sofr.is_business_day(np.array(["2021-12-31"], dtype="datetime64[D]"))[0]
    assert not sofr.is_business_day(np.array(["2024-03-29"], dtype="datetime64[D]"))[0]
    # UK: Christmas 2021 on Saturday, Boxing Day on Sunday: substitutes on 27 and 28.
    uk = calendar("GBP").is_business_day(np.arange("2021-12-24", "2021-12-30", dtype="M8[D]"))
    assert uk.tolist() == [True, False, False, False, False, True]
    # Japan: a citizens' holiday between Respect for the Aged Day and the equinox (2026).
    jp = calendar("JPY").is_business_day(np.arange("2026-09-21", "2026-09-24", dtype="M8[D]"))
    assert jp.tolist() == [False, False, False]
    assert weekday(np.array(["2026-09-22"], dtype="datetime64[D]"))[0] == 1


def test_joint_calendar_matches_quantlib_join_holidays():
    ref_cal = ql.JointCalendar(
        ql.UnitedStates(ql.UnitedStates.Settlement), ql.TARGET(), ql.JoinHolidays
    )
    ref = np.array([ref_cal.isBusinessDay(qdate(d)) for d in DAYS])
    got = calendar("USD+EUR")
    assert got.name == "US-SETTLEMENT+TARGET"
    assert np.array_equal(got.is_business_day(DAYS), ref)
    assert joint(calendar("TARGET")) is calendar("TARGET")


def test_registry_names_and_errors():
    assert calendar("target") is calendar("TARGET") is calendar("EUR")
    assert calendar("weekends_only") is WEEKENDS_ONLY
    with pytest.raises(ValueError, match="unknown calendar 'XX'.*accepted"):
        calendar("XX")
    with pytest.raises(ValueError, match="unknown calendar 'USD\\+XX'"):
        calendar("USD+XX")
    with pytest.raises(ValueError, match="at least one"):
        joint()


def test_holidays_are_generated_once_and_bounded_by_year_range():
    days = holidays("TARGET", 2000, 2001)
    assert days.min() >= np.datetime64("2000-01-01") and days.max() <= np.datetime64("2001-12-31")
    assert days.tolist() == sorted(set(days.tolist()))
    # 1 January 2000 observed on Friday 31 December 1999: kept in 1999, not in 2000.
    us = holidays("US-SETTLEMENT", 2000, 2000)
    assert np.datetime64("1999-12-31") not in us
    assert calendar("UK") is calendar("GBP")


@pytest.mark.parametrize("name", ["US-SETTLEMENT", "TARGET", "UK", "JP", "CH", "CA", "AU"])
@pytest.mark.parametrize("convention", CONVENTIONS)
def test_adjust_matches_quantlib(name, convention):
    dates = _sample_dates(seed=7)
    ref_cal = QUANTLIB[name]()
    conv = QL_CONVENTION[convention]
    ref = np.array([_from_ql(ref_cal.adjust(qdate(d), conv)) for d in dates])
    assert np.array_equal(calendar(name).adjust(dates, convention), ref)


@pytest.mark.parametrize("name", ["US-SOFR", "TARGET", "UK", "JP", "AU"])
@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("end_of_month", [False, True])
def test_advance_by_tenor_matches_quantlib(name, convention, end_of_month):
    dates = _sample_dates(seed=11, n=150)
    ref_cal = QUANTLIB[name]()
    conv = QL_CONVENTION[convention]
    cal = calendar(name)
    for tenor in ["0D", "2D", "-2D", "1W", "1M", "3M", "6M", "-6M", "1Y", "10Y", "30Y"]:
        period = ql.Period(tenor)
        ref = np.array(
            [_from_ql(ref_cal.advance(qdate(d), period, conv, end_of_month)) for d in dates]
        )
        got = cal.advance_period(dates, tenor, convention, end_of_month=end_of_month)
        assert np.array_equal(got, ref), (tenor, dates[got != ref][:5])


def test_unadjusted_end_of_month_roll():
    d = np.array(["2024-02-29", "2024-02-28", "2023-02-28", "2024-04-30", "2024-01-30"], "M8[D]")
    got = add_months(d, 1, end_of_month=True)
    want = ["2024-03-31", "2024-03-28", "2023-03-31", "2024-05-31", "2024-02-29"]
    assert got.tolist() == np.array(want, "M8[D]").tolist()
    assert np.array_equal(
        add_tenor(d, "1Y", end_of_month=True), add_months(d, 12, end_of_month=True)
    )
    # Without the rule the day of month is kept (existing schedules are unchanged).
    assert add_months(d, 1)[0] == np.datetime64("2024-03-29")


def test_advance_period_rejects_bad_input():
    with pytest.raises(ValueError, match="tenor"):
        calendar("TARGET").advance_period(np.array(["2024-01-02"], "M8[D]"), "3X")
    with pytest.raises(ValueError, match="convention"):
        calendar("TARGET").advance_period(np.array(["2024-01-06"], "M8[D]"), "1M", "nearest")
