"""Day counts, calendars, schedules, curves, bootstrapping and vol surfaces, with QuantLib
as the oracle.

QuantLib conventions matched: ``Thirty360.BondBasis`` for 30/360, ``ActualActual.ISDA``,
``WeekendsOnly`` calendar, ``Schedule`` without end-of-month rolling with the termination
date adjusted like the others; curves with ``Actual365Fixed`` times.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from conftest import EPS
from markets import VDATE, acme_credit, qdate, sofr_3m_quotes, usd_ois_quotes

from xiphpc.market.curve_states import YieldCurves
from xiphpc.market.curves import (
    WEEKENDS_ONLY,
    Curve,
    DeltaSurface,
    Deposit,
    Fra,
    Future,
    MoneynessSurface,
    OisSwap,
    RateVolSurface,
    Swap,
    add_months,
    bootstrap_curve,
    fixed_leg,
    float_leg,
    generate_schedules,
    grid_vol,
    imm_dates,
    pack_curves,
    par_rate,
    tenor_months,
    year_fraction,
)
from xiphpc.market.curves.bootstrap import _d, _reduce
from xiphpc.pricing.kernels.rates import (
    FixedPeriods,
    FraOutputs,
    FraTerms,
    IndexPeriods,
    SwapOutputs,
    SwapTerms,
    discount_factors,
    fra_serial,
    moves,
    swap_serial,
)

ql = pytest.importorskip("QuantLib")

pytestmark = pytest.mark.usefixtures("quantlib_today")
#: Relative error of a library exp or log (numpy's SIMD loops, libm, QuantLib's): 4 ulp
#: bounds them on any x86-64 target.
LIB = 4 * EPS
#: bootstrap_curve's solver stops at |par rate - quote| <= 1e-15, or where rounding stalls it.
SOLVER = 1e-15


def _par_rounding(tau):
    """Rounding of a par rate ``(P(s)/P(e) - 1) / tau`` (or a swap's, over its annuity
    ``tau``) of discount factors near 1, each exp off by ``LIB``: 5 eps / tau."""
    return 5 * EPS / tau


def _random_dates(rng, n, start="1999-01-01", span=12000):
    return np.datetime64(start) + rng.integers(0, span, n).astype("timedelta64[D]")


QL_DAY_COUNTS = {
    "ACT/360": lambda: ql.Actual360(),
    "ACT/365F": lambda: ql.Actual365Fixed(),
    "30/360": lambda: ql.Thirty360(ql.Thirty360.BondBasis),
    "30/360 BOND BASIS": lambda: ql.Thirty360(ql.Thirty360.BondBasis),
    "30/360 US": lambda: ql.Thirty360(ql.Thirty360.USA),
    "30E/360": lambda: ql.Thirty360(ql.Thirty360.European),
    # Without a termination date no end date is one.
    "30E/360 ISDA": lambda: ql.Thirty360(ql.Thirty360.ISDA),
    "ACT/ACT ISDA": lambda: ql.ActualActual(ql.ActualActual.ISDA),
}


@pytest.mark.parametrize("name", list(QL_DAY_COUNTS))
def test_day_counts_match_quantlib(name):
    rng = np.random.default_rng(11)
    a = _random_dates(rng, 4000)
    b = a + rng.integers(0, 4000, a.size).astype("timedelta64[D]")
    # Month ends exercise the 30/360 day-31 rules and leap-year boundaries ACT/ACT.
    a[:500] = (a[:500].astype("datetime64[M]") + 1).astype("datetime64[D]") - 1
    b[250:750] = (b[250:750].astype("datetime64[M]") + 1).astype("datetime64[D]") - 1
    dc = QL_DAY_COUNTS[name]()
    ref = np.array([dc.yearFraction(qdate(x), qdate(y)) for x, y in zip(a, b, strict=True)])
    # One correctly rounded division each (ACT/ACT: two fractions and whole years added):
    # within 2 eps of the result and of each fraction on either side.
    assert np.all(np.abs(year_fraction(a, b, name) - ref) <= 2 * EPS * (np.abs(ref) + 1))


@pytest.mark.parametrize("name", [n for n in QL_DAY_COUNTS if "30" in n])
def test_thirty_360_february_ends_match_quantlib(name):
    # Every pair of month ends and days 28-31 of 2023-2025: all February-end, day-30 and
    # day-31 combinations, forwards and backwards. Whole days over 360: exact.
    months = np.arange("2023-01", "2026-01", dtype="M8[M]").astype("M8[D]")
    days = np.unique(np.concatenate([months + k for k in (27, 28, 29, 30)]))
    days = days[days.astype("M8[M]") == (days - 27).astype("M8[M]")]
    a, b = (x.ravel() for x in np.meshgrid(days, days))
    dc = QL_DAY_COUNTS[name]()
    ref = np.array([dc.yearFraction(qdate(x), qdate(y)) for x, y in zip(a, b, strict=True)])
    assert np.array_equal(year_fraction(a, b, name), ref)


def test_thirty_e_360_isda_termination_date_matches_quantlib():
    # The end on the last day of February stays 28 when it is the termination date.
    a = np.array(["2023-08-31", "2023-08-31", "2024-02-29"], dtype="datetime64[D]")
    b = np.array(["2024-02-29", "2025-02-28", "2025-02-28"], dtype="datetime64[D]")
    term = np.array(["2024-02-29", "2030-02-28", "2025-02-28"], dtype="datetime64[D]")
    ref = [
        ql.Thirty360(ql.Thirty360.ISDA, qdate(t)).yearFraction(qdate(x), qdate(y))
        for x, y, t in zip(a, b, term, strict=True)
    ]
    got = year_fraction(a, b, "30E/360 ISDA", termination=term)
    assert got.tolist() == ref
    assert got.tolist() == [179 / 360, 540 / 360, 358 / 360]
    per_element = year_fraction(a, b, np.array(["30E/360 ISDA"] * 3), termination=term)
    assert per_element.tolist() == ref


def test_day_count_per_element_and_unknown_name():
    a = np.array(["2025-01-31", "2025-01-31"], dtype="datetime64[D]")
    b = np.array(["2025-03-31", "2025-03-31"], dtype="datetime64[D]")
    got = year_fraction(a, b, np.array(["30/360", "ACT/360"]))
    # One correctly rounded division of whole days: exact.
    assert got.tolist() == [60 / 360, 59 / 360]
    with pytest.raises(ValueError, match="accepted"):
        year_fraction(a, b, "ACT/366")


QL_CONVENTIONS = {
    "following": ql.Following,
    "modified_following": ql.ModifiedFollowing,
    "preceding": ql.Preceding,
    "unadjusted": ql.Unadjusted,
}


@pytest.mark.parametrize("name", list(QL_CONVENTIONS))
def test_business_day_conventions_match_quantlib(name):
    rng = np.random.default_rng(5)
    d = _random_dates(rng, 1500)
    d[:200] = (d[:200].astype("datetime64[M]") + 1).astype("datetime64[D]") - 1
    cal = ql.WeekendsOnly()
    ref = [np.datetime64(cal.adjust(qdate(x), QL_CONVENTIONS[name]).ISO()) for x in d]
    assert list(WEEKENDS_ONLY.adjust(d, name)) == ref


def test_add_months_clips_to_month_end():
    d = np.array(["2024-01-31", "2023-01-31", "2024-03-31"], dtype="datetime64[D]")
    got = add_months(d, np.array([1, 1, -1]))
    assert list(got.astype(str)) == ["2024-02-29", "2023-02-28", "2024-02-29"]


@pytest.mark.parametrize("stub,rule", [("short_front", "Backward"), ("short_back", "Forward")])
@pytest.mark.parametrize("conv", ["modified_following", "following", "unadjusted"])
def test_schedules_match_quantlib(stub, rule, conv):
    rng = np.random.default_rng(7)
    n = 400
    eff = np.datetime64(VDATE) + rng.integers(0, 800, n).astype("timedelta64[D]")
    term = eff + rng.integers(20, 365 * 12, n).astype("timedelta64[D]")
    months = rng.choice([1, 3, 6, 12], n)
    s = generate_schedules(eff, term, months, convention=conv, stub=stub)
    qc = QL_CONVENTIONS[conv]
    for i in range(n):
        qs = ql.Schedule(
            qdate(eff[i]),
            qdate(term[i]),
            ql.Period(int(months[i]), ql.Months),
            ql.WeekendsOnly(),
            qc,
            qc,
            getattr(ql.DateGeneration, rule),
            False,
        )
        assert list(s.dates_of(i)) == [np.datetime64(d.ISO()) for d in qs], i


def _pillars():
    days = np.array([30, 91, 182, 365, 730, 1095, 1826, 2556, 3652, 5478, 7305, 10957])
    return days, days / 365.0


def test_linear_zero_curve_matches_quantlib_zero_curve():
    days, t = _pillars()
    z = 0.02 + 0.01 * np.log1p(t) - 0.004 * np.sin(t)
    mine = Curve(t, z, "linear_zero")
    today = qdate(VDATE)
    dates = [today] + [today + int(d) for d in days]
    # QuantLib interpolates from the reference date: give it the first pillar's rate there
    # so that both curves are flat before the first pillar.
    ref = ql.ZeroCurve(
        dates,
        [float(z[0]), *map(float, z)],
        ql.Actual365Fixed(),
        ql.NullCalendar(),
        ql.Linear(),
        ql.Continuous,
    )
    q = np.arange(1, 10957, 7)
    want = np.array([ref.discount(today + int(d)) for d in q])
    # Per side: the interpolated exponent z t to 5 roundings, exp to LIB: a discount factor
    # P off by P (5 eps z t + LIB) <= (5/e + 4) eps; 12 eps for the pair.
    assert np.max(np.abs(mine.discount(q / 365.0) - want)) <= 12 * EPS


def test_loglinear_discount_curve_matches_quantlib_discount_curve():
    days, t = _pillars()
    dfs = np.exp(-(0.03 + 0.005 * np.sqrt(t)) * t)
    mine = Curve.from_discount_factors(t, dfs)
    today = qdate(VDATE)
    ref = ql.DiscountCurve(
        [today] + [today + int(d) for d in days], [1.0, *map(float, dfs)], ql.Actual365Fixed()
    )
    ref.enableExtrapolation()
    q = np.arange(1, 14000, 5)
    want = np.array([ref.discount(today + int(d)) for d in q])
    # Inside the pillars and beyond the last one (both extrapolate the last forward flat).
    # Per side: log P to 10 eps |log P| (the pillars' log, the interpolation), exp to LIB:
    # P off by (10/e + 4) eps; 16 eps for the pair.
    assert np.max(np.abs(mine.discount(q / 365.0) - want)) <= 16 * EPS
    # On the pillars exp(-(-log(P)/t) t): (5/e + 4) eps.
    assert np.max(np.abs(mine.discount(t) - dfs)) <= 6 * EPS


def test_extrapolation_is_flat():
    t = np.array([1.0, 2.0, 5.0])
    lin = Curve(t, np.array([0.01, 0.02, 0.03]), "linear_zero")
    assert lin.zero_rate(np.array([0.1, 30.0])).tolist() == [0.01, 0.03]
    log = Curve(t, np.array([0.01, 0.02, 0.03]), "loglinear_discount")
    f_last = (0.03 * 5.0 - 0.02 * 2.0) / 3.0
    # Exponents within 4 roundings of 0.21, then exp twice: 4 * 0.21 eps + 2 LIB relative.
    want = np.exp(-0.15 - 2 * f_last)
    assert log.discount(np.array([7.0]))[0] == pytest.approx(want, rel=10 * EPS, abs=0)
    # z0 t0 (t / t0) / t: 4 roundings.
    assert log.zero_rate(np.array([0.5]))[0] == pytest.approx(0.01, rel=2 * EPS, abs=0)


@pytest.mark.parametrize("interp", ["linear_zero", "loglinear_discount"])
def test_kernel_interpolation_equals_curve(interp):
    days, t = _pillars()
    curves = [Curve(t, 0.01 + 0.002 * k + 0.01 * np.log1p(t), interp) for k in range(3)]
    cs = pack_curves(curves)
    q = np.linspace(-0.5, 45.0, 3001)
    which = np.arange(q.size, dtype=np.int64) % 3
    out = np.empty(q.size)
    discount_factors(*cs.arrays(), which, q, out)
    want = np.array([curves[c].discount(q[i : i + 1])[0] for i, c in enumerate(which)])
    # The kernel's exp and numpy's, LIB each, on exponents that agree to 5 eps |log P|:
    # (8 + 5/e) eps.
    assert np.max(np.abs(out - want)) <= 10 * EPS


OIS = [Deposit("1D", 0.0430)] + [
    OisSwap(tenor, rate)
    for tenor, rate in [
        ("1M", 0.0431),
        ("3M", 0.0428),
        ("6M", 0.0422),
        ("1Y", 0.0410),
        ("2Y", 0.0390),
        ("3Y", 0.0380),
        ("5Y", 0.0375),
        ("7Y", 0.0378),
        ("10Y", 0.0385),
        ("15Y", 0.0392),
        ("20Y", 0.0395),
        ("30Y", 0.0390),
    ]
]
FUTURE_PRICES = [95.62, 95.70, 95.76, 95.80]
SWAPS = [
    ("2Y", 0.0412),
    ("3Y", 0.0400),
    ("5Y", 0.0395),
    ("7Y", 0.0398),
    ("10Y", 0.0405),
    ("15Y", 0.0412),
    ("20Y", 0.0415),
    ("30Y", 0.0410),
]


def _projection_instruments():
    imm = imm_dates(dt.date(2027, 3, 1), 4)
    return (
        [Deposit("3M", 0.0455), Fra(3, 6, 0.0448), Fra(6, 9, 0.0440)]
        + [Future(d.isoformat(), p) for d, p in zip(imm, FUTURE_PRICES, strict=True)]
        + [Swap(t, r) for t, r in SWAPS]
    )


def _quote(inst) -> float:
    return (100.0 - inst.price) / 100.0 if isinstance(inst, Future) else inst.rate


def test_imm_dates_are_third_wednesdays():
    got = imm_dates(dt.date(2026, 11, 24), 3)
    assert got == [dt.date(2026, 12, 16), dt.date(2027, 3, 17), dt.date(2027, 6, 16)]


def _reprice_with_kernels(inst_list, proj: Curve, disc: Curve) -> float:
    """Largest |par rate - quote| of the instruments, priced by the production kernels."""
    cs = pack_curves([disc, proj])
    curves = YieldCurves(cs.times, cs.zero_rates[:, None].copy(), cs.kinds, cs.offsets)
    ids = (np.zeros(1, np.int64), np.ones(1, np.int64))
    worst = 0.0
    for inst in inst_list:
        if isinstance(inst, Swap | OisSwap):
            spot = np.array([np.datetime64(VDATE, "D")])
            end = add_months(spot, tenor_months(inst.tenor))
            if isinstance(inst, Swap):
                fx = fixed_leg(VDATE, spot, end, inst.fixed_months, inst.fixed_day_count)
                fl = float_leg(VDATE, spot, end, inst.float_months, inst.float_day_count)
            else:
                fx = fixed_leg(VDATE, spot, end, inst.months, inst.day_count)
                fl = float_leg(VDATE, spot, end, inst.months, inst.day_count)
            value, annuity, par = np.empty((1, 1, 1)), np.empty(1), np.empty(1)
            swap_serial(
                curves,
                SwapTerms(*ids, np.array([inst.rate]), np.zeros(1), np.ones(1)),
                FixedPeriods.of(fx),
                IndexPeriods.of(fl),
                moves(),
                SwapOutputs(value, annuity, par),
            )
            worst = max(worst, abs(par[0] - inst.rate), abs(value[0, 0, 0]))
        else:
            # A deposit, FRA or future struck at its quote is worth nothing.
            p = _reduce(inst, VDATE, _d(VDATE), WEEKENDS_ONLY, "modified_following")
            value, fwd = np.empty((1, 1, 1)), np.empty(1)
            fra_serial(
                curves,
                FraTerms(
                    *ids,
                    np.array([_quote(inst)]),
                    np.ones(1),
                    np.array([p.start]),
                    np.array([p.end]),
                    np.array([p.tau]),
                    np.array([np.nan]),
                    np.array([p.tau]),
                    np.array([p.start]),
                ),
                moves(),
                FraOutputs(value, fwd),
            )
            worst = max(worst, abs(fwd[0] - _quote(inst)), abs(value[0, 0, 0]))
    return worst


@pytest.mark.parametrize("interp", ["loglinear_discount", "linear_zero"])
def test_bootstrapped_curves_reprice_their_instruments(interp):
    # The solver's stop, then two pricers' rounding (the bootstrap's and the kernels'), over
    # the shortest accrual: one day (ACT/360) for the OIS set, 89 days for the 3M set.
    disc = bootstrap_curve(VDATE, OIS, interpolation=interp)
    assert _reprice_with_kernels(OIS, disc, disc) <= SOLVER + 2 * _par_rounding(1 / 360)
    inst = _projection_instruments()
    proj = bootstrap_curve(VDATE, inst, interpolation=interp, discount=disc)
    three_months = 89 / 360
    assert _reprice_with_kernels(inst, proj, disc) <= SOLVER + 2 * _par_rounding(three_months)
    # The solver's own pricer: its stop, or the rounding where it stalled.
    worst = max(abs(par_rate(i, proj, VDATE, discount=disc) - _quote(i)) for i in inst)
    assert worst <= SOLVER + _par_rounding(three_months)


def test_bootstrap_matches_quantlib_piecewise_curves():
    """OIS discount curve, then a 3M projection curve discounted on it (multi-curve)."""
    disc = bootstrap_curve(VDATE, OIS)
    proj = bootstrap_curve(VDATE, _projection_instruments(), discount=disc)
    today = qdate(VDATE)
    cal, mf, a360 = ql.WeekendsOnly(), ql.ModifiedFollowing, ql.Actual360()
    on = ql.OvernightIndex("ON", 0, ql.USDCurrency(), cal, a360)
    helpers = [
        ql.DepositRateHelper(
            ql.QuoteHandle(ql.SimpleQuote(OIS[0].rate)),
            ql.Period(1, ql.Days),
            0,
            cal,
            mf,
            False,
            a360,
        )
    ]
    helpers += [
        ql.OISRateHelper(0, ql.Period(i.tenor), ql.QuoteHandle(ql.SimpleQuote(i.rate)), on)
        for i in OIS[1:]
    ]
    qdisc = ql.PiecewiseLogLinearDiscount(today, helpers, ql.Actual365Fixed())
    handle = ql.YieldTermStructureHandle(qdisc)
    index = ql.IborIndex("X3M", ql.Period(3, ql.Months), 0, ql.USDCurrency(), cal, mf, False, a360)
    q = lambda x: ql.QuoteHandle(ql.SimpleQuote(x))  # noqa: E731
    hp = [
        ql.DepositRateHelper(q(0.0455), ql.Period(3, ql.Months), 0, cal, mf, False, a360),
        ql.FraRateHelper(q(0.0448), 3, 6, 0, cal, mf, False, a360),
        ql.FraRateHelper(q(0.0440), 6, 9, 0, cal, mf, False, a360),
    ]
    for d, p in zip(imm_dates(dt.date(2027, 3, 1), 4), FUTURE_PRICES, strict=True):
        hp.append(
            ql.FuturesRateHelper(q(p), ql.Date(d.day, d.month, d.year), 3, cal, mf, False, a360)
        )
    hp += [
        ql.SwapRateHelper(
            q(r),
            ql.Period(t),
            cal,
            ql.Annual,
            mf,
            ql.Thirty360(ql.Thirty360.BondBasis),
            index,
            ql.QuoteHandle(),
            ql.Period(0, ql.Days),
            handle,
        )
        for t, r in SWAPS
    ]
    qproj = ql.PiecewiseLogLinearDiscount(today, hp, ql.Actual365Fixed())
    for mine, ref in ((disc, qdisc), (proj, qproj)):
        pillar_days = np.array([d - today for d in ref.dates()[1:]])
        assert np.array_equal(np.round(mine.times * 365).astype(int), pillar_days)
        days = np.arange(1, int(pillar_days[-1]), 3)
        want = np.array([ref.discount(today + int(d)) for d in days])
        # QuantLib's solver stops within its accuracy, 1e-12 on each pillar's discount
        # factor; a swap pillar inherits K T (rate times maturity, <= 0.0455 * 30) of the
        # errors of the pillars before it; log-linear interpolation stays within the
        # pillars' errors. Ours are within 1e-15.
        assert np.max(np.abs(mine.discount(days / 365.0) - want)) <= 1e-12 * (1 + 0.0455 * 30)


def test_bootstrap_rejects_duplicate_maturities():
    with pytest.raises(ValueError, match="same date"):
        bootstrap_curve(VDATE, [Deposit("3M", 0.04), Fra(0, 3, 0.041)])


def test_grid_vol_interpolation_rules():
    e = np.array([0.5, 1.0, 2.0])
    x = np.array([0.8, 1.0, 1.2])
    v = np.array([[0.30, 0.25, 0.28], [0.28, 0.22, 0.25], [0.26, 0.21, 0.23]])
    # Pillars exactly, flat in x outside, flat vol in t outside: an interpolation in x and
    # sqrt(v^2 t / t), 4 roundings at most.
    near = {"rel": 4 * EPS, "abs": 0}
    assert grid_vol(e, x, v, np.array([1.0]), np.array([1.2]))[0] == pytest.approx(0.25, **near)
    assert grid_vol(e, x, v, np.array([1.0]), np.array([2.0]))[0] == pytest.approx(0.25, **near)
    assert grid_vol(e, x, v, np.array([0.1]), np.array([0.9]))[0] == pytest.approx(0.275, **near)
    assert grid_vol(e, x, v, np.array([9.0]), np.array([1.0]))[0] == pytest.approx(0.21, **near)
    # Linear in total variance between expiries: a weighted sum of two positive terms (5
    # roundings), the square root and its square (3 more), and the reference's own 4.
    got = grid_vol(e, x, v, np.array([1.5]), np.array([1.0]))[0]
    want = 0.5 * (0.22**2 * 1.0 + 0.21**2 * 2.0)
    assert got**2 * 1.5 == pytest.approx(want, rel=12 * EPS, abs=0)
    s = MoneynessSurface(e, x, v)
    assert s.vol(np.array([1.0]))[0] == pytest.approx(0.22, **near)
    at = s.vol_at(np.array([1.0]), np.array([120.0]), np.array([100.0]))[0]
    assert at == pytest.approx(0.25, **near)
    r = RateVolSurface("normal", e, np.array([1.0, 5.0, 10.0]), v / 30)
    # One more rounding on either side: v / 30.
    assert r.vol(np.array([2.0]), np.array([5.0]))[0] == pytest.approx(
        0.21 / 30, rel=6 * EPS, abs=0
    )
    with pytest.raises(ValueError, match="kind"):
        RateVolSurface("sabr", e, x, v)


def test_delta_surface_vol_is_a_fixed_point():
    from math import erfc, log, sqrt

    e = np.array([0.25, 1.0])
    d = np.array([0.1, 0.25, 0.5, 0.75, 0.9])
    v = np.array([[0.13, 0.11, 0.10, 0.105, 0.12], [0.14, 0.12, 0.11, 0.115, 0.13]])
    s = DeltaSurface(e, d, v)
    t = np.array([0.5, 0.5, 0.5, 2.0])
    k = np.array([1.0, 1.2, 0.9, 1.1])
    f = np.full(4, 1.08)
    vol = s.vol_at(t, k, f)
    for i in range(4):
        d1 = log(f[i] / k[i]) / (vol[i] * sqrt(t[i])) + 0.5 * vol[i] * sqrt(t[i])
        delta = 0.5 * erfc(-d1 / sqrt(2))
        again = grid_vol(e, d, v, t[i : i + 1], np.array([delta]))[0]
        # vol_at stops when a step is within its tol (1e-12); the fixed point contracts, so
        # one more step is shorter still, plus the rounding of delta (erfc here, 4 ulp).
        assert abs(again - vol[i]) <= 1e-12 + 4 * EPS


def _json_market() -> dict:
    return {
        "valuation_date": "2026-11-24",
        "base_currency": "USD",
        "fx": {"USD": 1.0, "EUR": 1.08},
        "curves": {
            "USD": {"quotes": usd_ois_quotes(("1D", "1Y", "5Y", "10Y"))},
            "EUR": {"tenors": [1, 5, 10], "discount_factors": [0.98, 0.89, 0.78]},
        },
        "index_curves": {
            "USD-TERMSOFR-3M": {
                "quotes": sofr_3m_quotes(("5Y",), fixed_day_count="ACT/360"),
                "interpolation": "linear_zero",
            },
        },
        "equities": {"ACME": {"currency": "USD", "spot": 100.0, "vol": 0.25}},
        "fx_vols": {"EURUSD": {"expiries": [0.5, 1.0], "vols": [0.08, 0.085]}},
        "rate_vols": {
            "USD": {
                "type": "normal",
                "expiries": [1, 5],
                "tenors": [1, 10],
                "vols": [[0.009, 0.008], [0.0085, 0.0075]],
            }
        },
        "vol_surfaces": {
            "ACME": {
                "expiries": [0.5, 2],
                "moneyness": [0.8, 1, 1.2],
                "vols": [[0.3, 0.25, 0.27], [0.28, 0.24, 0.25]],
            }
        },
        "fx_vol_surfaces": {
            "EURUSD": {
                "expiries": [0.5, 1.0],
                "deltas": [0.25, 0.5, 0.75],
                "vols": [[0.085, 0.08, 0.09], [0.09, 0.085, 0.095]],
            }
        },
        "credit_curves": {"ACME-SNR": acme_credit(("1Y", "5Y"))},
        "commodities": {
            "WTI": {
                "currency": "USD",
                "futures": {"expiries": [0.1, 1.0], "prices": [71.2, 69.8]},
                "vol": 0.32,
            }
        },
    }


def test_market_json_sections_load_and_round_trip():
    import json

    from xiphpc.market.data import market_from_dict

    m = market_from_dict(_json_market(), "m.json")
    usd, eur = m.curves["USD"], m.curves["EUR"]
    assert usd.interpolation == "loglinear_discount" and eur.interpolation == "loglinear_discount"
    # exp(-(-log(0.89) / 5) * 5): log and exp at LIB, 2 roundings.
    assert eur.discount(np.array([5.0]))[0] == pytest.approx(0.89, rel=2 * LIB + EPS, abs=0)
    ois = [OisSwap("1Y", 0.041), OisSwap("5Y", 0.038)]
    # The solver's stop or its rounding (annuities of a year or more).
    assert max(abs(par_rate(i, usd, VDATE) - i.rate) for i in ois) <= SOLVER + _par_rounding(1)
    sofr = m.index_curves["USD-TERMSOFR-3M"]
    assert sofr.interpolation == "linear_zero"
    # Multi-curve: the index swap is at par projected on the index, discounted on OIS.
    swap = Swap("5Y", 0.040, fixed_day_count="ACT/360")
    par = par_rate(swap, sofr, VDATE, discount=usd)
    assert par == pytest.approx(0.040, rel=0, abs=SOLVER + _par_rounding(1))
    assert m.vol_surfaces["ACME"].reference == 100.0
    assert m.fx_vol_surfaces["EURUSD"].reference_spot == 1.08  # EUR per USD 1.08 / 1.0
    assert m.credit_curves["ACME-SNR"].hazard.times.size == 2
    # Halfway between 71.2 and 69.8: a product and a sum, 2 eps.
    wti = m.commodities["WTI"].futures.price(np.array([0.55]))[0]
    assert wti == pytest.approx(70.5, rel=2 * EPS, abs=0)
    again = market_from_dict(json.loads(json.dumps(m.to_dict())), "again.json")
    t = np.linspace(0.01, 12.0, 97)
    # Written as exp(-z t), read as -log(P)/t: log P moves by LIB + 5 eps |log P|, and each
    # side's exp adds LIB: P within (12 + 5/e) eps.
    for a, b in ((usd, again.curves["USD"]), (sofr, again.index_curves["USD-TERMSOFR-3M"])):
        assert np.max(np.abs(a.discount(t) - b.discount(t))) <= 14 * EPS
    k = np.array([90.0, 120.0])
    assert np.array_equal(
        m.vol_surfaces["ACME"].smile_offset(np.ones(2), k),
        again.vol_surfaces["ACME"].smile_offset(np.ones(2), k),
    )
    assert np.array_equal(
        m.fx_vol_surfaces["EURUSD"].smile_offset(np.ones(2), k / 100),
        again.fx_vol_surfaces["EURUSD"].smile_offset(np.ones(2), k / 100),
    )
    assert np.array_equal(
        again.credit_curves["ACME-SNR"].hazard.hazards, m.credit_curves["ACME-SNR"].hazard.hazards
    )


def test_market_json_problems_name_their_fields():
    from xiphpc.config.errors import JobError
    from xiphpc.market.data import market_from_dict

    doc = _json_market()
    doc["curves"]["EUR"]["interpolation"] = "cubic"
    doc["index_curves"]["USD-TERMSOFR-3M"]["quotes"][1] = {"type": "fra", "rate": 0.04}
    doc["index_curves"]["LIBOR"] = {"tenors": [1], "zero_rates": [0.04]}
    doc["rate_vols"]["USD"]["type"] = "sabr"
    doc["vol_surfaces"]["ACME"]["vols"] = [[0.3, 0.25]]
    doc["fx_vol_surfaces"]["EURUSD"]["deltas"] = [0.0, 0.5, 0.75]
    doc["commodities"]["WTI"]["futures"]["prices"] = [71.2, -1.0]
    with pytest.raises(JobError) as err:
        market_from_dict(doc, "m.json")
    fields = [p.field for p in err.value.problems]
    assert fields == [
        "curves.EUR.interpolation",
        "index_curves.USD-TERMSOFR-3M.quotes[1].start_months",
        "index_curves.USD-TERMSOFR-3M.quotes[1].end_months",
        "index_curves.LIBOR",
        "rate_vols.USD.type",
        "vol_surfaces.ACME.vols",
        "fx_vol_surfaces.EURUSD.deltas",
        "commodities.WTI.futures.prices[1]",
    ]
    assert all(p.file == "m.json" for p in err.value.problems)


def test_generated_market_round_trips():
    import json

    from xiphpc.market.data import market_from_dict
    from xiphpc.synth.generate import generate_market

    m = generate_market(3)
    again = market_from_dict(json.loads(json.dumps(m.to_dict())))
    assert set(again.index_curves) == set(m.index_curves)
    assert set(again.credit_curves) == set(m.credit_curves)
    t = np.linspace(0.1, 9.0, 11)
    # Hazard rates are written as they are (repr reads back the same double): the survival
    # is the same computation on the same numbers.
    for name, c in m.credit_curves.items():
        np.testing.assert_array_equal(
            again.credit_curves[name].hazard.survival(t), c.hazard.survival(t)
        )
