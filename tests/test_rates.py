"""Rates products against QuantLib: swaps, FRAs, fixed-rate bonds, caps/floors and swaptions
on a multi-curve market (linear-on-zero discount curve, log-linear projection curve).

QuantLib set-up matched to the products' conventions: ``IborIndex`` with 0 fixing days on
``WeekendsOnly`` (par coupons: the forward spans each accrual period); schedules backward,
modified following, termination adjusted; ``Actual365Fixed`` for curve and vol times.
Every price is per trade and compared per unit notional.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from xiphpc.market.curves import WEEKENDS_ONLY, Curve, RateVolSurface, add_months
from xiphpc.market.data import Market
from xiphpc.pricing.products.base import COMMON_COLUMNS, PricingContext, Table
from xiphpc.pricing.products.rates import (
    CapFloor,
    FixedRateBond,
    ForwardRateAgreement,
    InterestRateSwap,
    Swaption,
    bond_analytics,
)

ql = pytest.importorskip("QuantLib")

VDATE = dt.date(2026, 11, 24)
TODAY = np.datetime64(VDATE, "D")
CTX = PricingContext(valuation_date=VDATE)
PILLAR_DAYS = np.array([7, 30, 91, 182, 365, 730, 1095, 1826, 2556, 3652, 5478, 7305, 10957])
QL_DC = {
    "ACT/360": ql.Actual360(),
    "ACT/365F": ql.Actual365Fixed(),
    "30/360": ql.Thirty360(ql.Thirty360.BondBasis),
    "ACT/ACT ISDA": ql.ActualActual(ql.ActualActual.ISDA),
}
MF = ql.ModifiedFollowing


def qdate(d) -> ql.Date:
    y, m, day = str(np.datetime64(d, "D")).split("-")
    return ql.Date(int(day), int(m), int(y))


@pytest.fixture(autouse=True)
def _evaluation_date():
    ql.Settings.instance().evaluationDate = qdate(VDATE)
    yield


def _curves():
    t = PILLAR_DAYS / 365.0
    disc = Curve(t, 0.030 + 0.008 * np.log1p(t) - 0.002 * np.sin(t), "linear_zero")
    proj = Curve(t, 0.034 + 0.009 * np.log1p(t) - 0.002 * np.sin(t), "loglinear_discount")
    return disc, proj


def _ql_handles(disc: Curve, proj: Curve, bump: float = 0.0):
    today = qdate(VDATE)
    dates = [today] + [today + int(d) for d in PILLAR_DAYS]
    # QuantLib extrapolates zero rates linearly; an extra far pillar makes them flat, as
    # the products' linear-on-zero curves are.
    z = [float(disc.zero_rates[0]), *map(float, disc.zero_rates), float(disc.zero_rates[-1])]
    qd = ql.ZeroCurve(
        dates + [today + 365 * 100],
        z,
        ql.Actual365Fixed(),
        ql.NullCalendar(),
        ql.Linear(),
        ql.Continuous,
    )
    qp = ql.DiscountCurve(
        dates, [1.0, *map(float, np.exp(-proj.zero_rates * proj.times))], ql.Actual365Fixed()
    )
    qd.enableExtrapolation()
    qp.enableExtrapolation()
    hd, hp = ql.YieldTermStructureHandle(qd), ql.YieldTermStructureHandle(qp)
    if bump:
        spread = ql.QuoteHandle(ql.SimpleQuote(bump))
        hd = ql.YieldTermStructureHandle(ql.ZeroSpreadedTermStructure(hd, spread))
        hp = ql.YieldTermStructureHandle(ql.ZeroSpreadedTermStructure(hp, spread))
    return hd, hp


def _market(rate_vols=None) -> Market:
    disc, proj = _curves()
    return Market(
        VDATE,
        "USD",
        {"USD": 1.0},
        {"USD": disc},
        index_curves={"USD-LIBOR-3M": proj},
        rate_vols=rate_vols or {},
    )


def _table(product: str, n: int, **cols) -> Table:
    base = {
        "trade_id": np.array([f"T{i}" for i in range(n)]),
        "desk": np.full(n, "D"),
        "book": np.full(n, "B"),
        "counterparty": np.full(n, "C"),
        "currency": np.full(n, "USD"),
        "quantity": np.ones(n),
    }
    return Table(product, {**base, **cols})


def _index(hp, months=3, dc="ACT/360"):
    return ql.IborIndex(
        "USD-LIBOR",
        ql.Period(months, ql.Months),
        0,
        ql.USDCurrency(),
        ql.WeekendsOnly(),
        MF,
        False,
        QL_DC[dc],
        hp,
    )


def _schedule(start, end, months):
    return ql.Schedule(
        qdate(start),
        qdate(end),
        ql.Period(int(months), ql.Months),
        ql.WeekendsOnly(),
        MF,
        MF,
        ql.DateGeneration.Backward,
        False,
    )


def _days(rng, lo, hi, n):
    return rng.integers(lo, hi, n).astype("timedelta64[D]")


def test_swaps_match_quantlib():
    rng = np.random.default_rng(1)
    n = 150
    start = TODAY + _days(rng, 1, 700, n)
    maturity = start + _days(rng, 200, 365 * 30, n)
    fixed_freq = rng.choice(["3M", "6M", "12M"], n)
    float_freq = rng.choice(["1M", "3M", "6M"], n)
    fixed_dc = rng.choice(list(QL_DC), n)
    float_dc = rng.choice(["ACT/360", "ACT/365F"], n)
    table = _table(
        "interest_rate_swap",
        n,
        underlying=np.full(n, "USD-LIBOR-3M"),
        pay_receive=rng.choice(["payer", "receiver"], n),
        fixed_rate=rng.uniform(0.01, 0.07, n),
        start=start,
        maturity=maturity,
        fixed_frequency=fixed_freq,
        float_frequency=float_freq,
        fixed_day_count=fixed_dc,
        float_day_count=float_dc,
        spread=rng.uniform(-0.003, 0.003, n),
    )
    got = InterestRateSwap().price(table, _market(), CTX)
    disc, proj = _curves()
    worst_pv = worst_rho = 0.0
    for bump in (0.0, 1e-4, -1e-4):
        hd, hp = _ql_handles(disc, proj, bump)
        npv = np.empty(n)
        for i in range(n):
            index = _index(hp, int(float_freq[i][:-1]), float_dc[i])
            swap = ql.VanillaSwap(
                ql.Swap.Payer if table["pay_receive"][i] == "payer" else ql.Swap.Receiver,
                1.0,
                _schedule(start[i], maturity[i], int(fixed_freq[i][:-1])),
                float(table["fixed_rate"][i]),
                QL_DC[fixed_dc[i]],
                _schedule(start[i], maturity[i], int(float_freq[i][:-1])),
                index,
                float(table["spread"][i]),
                QL_DC[float_dc[i]],
            )
            swap.setPricingEngine(ql.DiscountingSwapEngine(hd))
            npv[i] = swap.NPV()
        if bump == 0.0:
            base = npv
            worst_pv = np.max(np.abs(got["pv"] - npv))
        elif bump > 0:
            up = npv
        else:
            rho = 0.5 * (up - npv)
            worst_rho = np.max(np.abs(got["rho"] - rho))
    # Per unit notional: PV to 1e-12, rho (PV per bp) to 1e-12.
    assert worst_pv <= 1e-12
    assert worst_rho <= 1e-12
    assert np.all(got["delta"] == 0.0) and np.all(got["vega"] == 0.0)
    assert np.max(np.abs(base)) > 0.01  # the sample is not trivially near zero


def test_swap_theta_is_one_day_roll_down():
    table = _table(
        "interest_rate_swap",
        1,
        underlying=np.array(["USD-LIBOR-3M"]),
        pay_receive=np.array(["payer"]),
        fixed_rate=np.array([0.04]),
        start=np.array([TODAY + 10]),
        maturity=np.array([TODAY + 3650]),
        fixed_frequency=np.array([""]),
        float_frequency=np.array([""]),
        fixed_day_count=np.array([""]),
        float_day_count=np.array([""]),
        spread=np.array([np.nan]),
    )
    m = _market()
    got = InterestRateSwap().price(table, m, CTX)
    # One day later with the curves held as functions of time: the same trade valued on a
    # market whose valuation date is a day later and whose pillars are unchanged.
    later = Market(VDATE + dt.timedelta(days=1), "USD", m.fx, m.curves, index_curves=m.index_curves)
    ahead = InterestRateSwap().price(
        table, later, PricingContext(valuation_date=later.valuation_date)
    )
    assert got["theta"][0] == pytest.approx(ahead["pv"][0] - got["pv"][0], abs=1e-13)


def test_fras_match_quantlib():
    rng = np.random.default_rng(2)
    n = 100
    start = TODAY + _days(rng, 2, 900, n)
    end = start + _days(rng, 30, 400, n)
    dcs = rng.choice(["ACT/360", "ACT/365F"], n)
    table = _table(
        "forward_rate_agreement",
        n,
        underlying=np.full(n, "USD-LIBOR-3M"),
        pay_receive=rng.choice(["payer", "receiver"], n),
        fixed_rate=rng.uniform(0.01, 0.07, n),
        start=start,
        end=end,
        day_count=dcs,
    )
    got = ForwardRateAgreement().price(table, _market(), CTX)
    hd, hp = _ql_handles(*_curves())
    # QuantLib moves only the end date to a business day; the product moves both, so
    # QuantLib is given the adjusted dates.
    start = WEEKENDS_ONLY.adjust(start, "modified_following")
    end = WEEKENDS_ONLY.adjust(end, "modified_following")
    for i in range(n):
        fra = ql.ForwardRateAgreement(
            _index(hp, 3, dcs[i]),
            qdate(start[i]),
            qdate(end[i]),
            ql.Position.Long if table["pay_receive"][i] == "payer" else ql.Position.Short,
            float(table["fixed_rate"][i]),
            1.0,
            hd,
        )
        assert got["pv"][i] == pytest.approx(fra.NPV(), abs=1e-13)


def _bonds(rng, n):
    maturity = TODAY + _days(rng, 40, 365 * 30, n)
    freq = rng.choice(["3M", "6M", "12M"], n)
    dcs = rng.choice(list(QL_DC), n)
    return _table(
        "fixed_rate_bond",
        n,
        coupon=rng.uniform(0.0, 0.08, n),
        maturity=maturity,
        frequency=freq,
        day_count=dcs,
    )


def test_bonds_match_quantlib():
    rng = np.random.default_rng(3)
    n = 120
    table = _bonds(rng, n)
    table.columns["quantity"] = rng.uniform(1e5, 1e7, n)
    m = _market()
    got = FixedRateBond().price(table, m, CTX)
    an = bond_analytics(table, m)
    hd, _ = _ql_handles(*_curves())
    for i in range(n):
        months = int(table["frequency"][i][:-1])
        eff = add_months(np.array([TODAY]), -months)[0]
        dc = QL_DC[table["day_count"][i]]
        bond = ql.FixedRateBond(
            0,
            100.0,
            _schedule(eff, table["maturity"][i], months),
            [float(table["coupon"][i])],
            dc,
            MF,
            100.0,
        )
        bond.setPricingEngine(ql.DiscountingBondEngine(hd))
        face = table["quantity"][i]
        assert got["pv"][i] / face == pytest.approx(bond.NPV() / 100.0, rel=1e-12, abs=1e-14)
        assert an["dirty"][i] == pytest.approx(bond.dirtyPrice(), rel=1e-12)
        assert an["clean"][i] == pytest.approx(bond.cleanPrice(), rel=1e-12)
        assert an["accrued"][i] == pytest.approx(bond.accruedAmount(), abs=1e-12)
        freq = {3: ql.Quarterly, 6: ql.Semiannual, 12: ql.Annual}[months]
        ytm = bond.bondYield(
            ql.BondPrice(bond.cleanPrice(), ql.BondPrice.Clean),
            dc,
            ql.Compounded,
            freq,
            qdate(TODAY),
            1e-14,
        )
        assert an["yield"][i] == pytest.approx(ytm, abs=1e-12)
        rate = ql.InterestRate(ytm, dc, ql.Compounded, freq)
        dur = ql.BondFunctions.duration(bond, rate, ql.Duration.Modified)
        assert an["modified_duration"][i] == pytest.approx(dur, rel=1e-10)


@pytest.mark.parametrize("vol_type", ["lognormal", "normal"])
def test_caps_floors_match_quantlib(vol_type):
    rng = np.random.default_rng(4 if vol_type == "normal" else 5)
    n = 60
    start = TODAY + _days(rng, 5, 500, n)
    maturity = start + _days(rng, 200, 365 * 15, n)
    freq = rng.choice(["3M", "6M"], n)
    vol = rng.uniform(0.1, 0.5, n) if vol_type == "lognormal" else rng.uniform(0.003, 0.015, n)
    table = _table(
        "cap_floor",
        n,
        underlying=np.full(n, "USD-LIBOR-3M"),
        cap_floor=rng.choice(["cap", "floor"], n),
        strike=rng.uniform(0.02, 0.06, n),
        start=start,
        maturity=maturity,
        frequency=freq,
        day_count=np.full(n, ""),
        vol=vol,
        vol_type=np.full(n, vol_type),
    )
    got = CapFloor().price(table, _market(), CTX)
    hd, hp = _ql_handles(*_curves())
    point = 0.01 if vol_type == "lognormal" else 1e-4
    for i in range(n):
        months = int(freq[i][:-1])
        leg = ql.IborLeg(
            [1.0], _schedule(start[i], maturity[i], months), _index(hp, months), ql.Actual360(), MF
        )
        strike = [float(table["strike"][i])]
        inst = ql.Cap(leg, strike) if table["cap_floor"][i] == "cap" else ql.Floor(leg, strike)
        quote = ql.QuoteHandle(ql.SimpleQuote(float(vol[i])))
        if vol_type == "lognormal":
            inst.setPricingEngine(ql.BlackCapFloorEngine(hd, quote, ql.Actual365Fixed()))
        else:
            inst.setPricingEngine(ql.BachelierCapFloorEngine(hd, quote))
        assert got["pv"][i] == pytest.approx(inst.NPV(), rel=1e-10, abs=1e-14)
        assert got["vega"][i] == pytest.approx(inst.vega() * point, rel=1e-8, abs=1e-14)


@pytest.mark.parametrize("vol_type", ["lognormal", "normal"])
def test_swaptions_match_quantlib(vol_type):
    rng = np.random.default_rng(6 if vol_type == "normal" else 7)
    n = 60
    expiry = TODAY + _days(rng, 20, 365 * 10, n)
    tenor = rng.choice(["1Y", "2Y", "5Y", "10Y", "20Y"], n)
    vol = rng.uniform(0.1, 0.5, n) if vol_type == "lognormal" else rng.uniform(0.003, 0.015, n)
    table = _table(
        "swaption",
        n,
        underlying=np.full(n, "USD-LIBOR-3M"),
        payer_receiver=rng.choice(["payer", "receiver"], n),
        strike=rng.uniform(0.02, 0.07, n),
        expiry=expiry,
        tenor=tenor,
        fixed_frequency=np.full(n, ""),
        float_frequency=np.full(n, ""),
        fixed_day_count=np.full(n, ""),
        float_day_count=np.full(n, ""),
        vol=vol,
        vol_type=np.full(n, vol_type),
    )
    got = Swaption().price(table, _market(), CTX)
    hd, hp = _ql_handles(*_curves())
    point = 0.01 if vol_type == "lognormal" else 1e-4
    for i in range(n):
        end = add_months(np.array([expiry[i]]), 12 * int(tenor[i][:-1]))[0]
        swap = ql.VanillaSwap(
            ql.Swap.Payer if table["payer_receiver"][i] == "payer" else ql.Swap.Receiver,
            1.0,
            _schedule(expiry[i], end, 12),
            float(table["strike"][i]),
            QL_DC["30/360"],
            _schedule(expiry[i], end, 3),
            _index(hp),
            0.0,
            ql.Actual360(),
        )
        swap.setPricingEngine(ql.DiscountingSwapEngine(hd))
        opt = ql.Swaption(swap, ql.EuropeanExercise(qdate(expiry[i])))
        quote = ql.QuoteHandle(ql.SimpleQuote(float(vol[i])))
        engine = (
            ql.BlackSwaptionEngine(hd, quote, ql.Actual365Fixed())
            if vol_type == "lognormal"
            else ql.BachelierSwaptionEngine(hd, quote, ql.Actual365Fixed())
        )
        opt.setPricingEngine(engine)
        assert got["pv"][i] == pytest.approx(opt.NPV(), rel=1e-10, abs=1e-14)
        assert got["vega"][i] == pytest.approx(opt.vega() * point, rel=1e-8, abs=1e-14)


def test_vols_come_from_the_rate_vol_surface():
    surface = RateVolSurface(
        "normal",
        np.array([1.0, 5.0]),
        np.array([1.0, 10.0]),
        np.array([[0.010, 0.009], [0.008, 0.007]]),
    )
    m = _market({"USD": surface})
    expiry = np.array([TODAY + 730])
    base = dict(
        underlying=np.array(["USD-LIBOR-3M"]),
        payer_receiver=np.array(["payer"]),
        strike=np.array([0.04]),
        expiry=expiry,
        tenor=np.array(["5Y"]),
        fixed_frequency=np.array([""]),
        float_frequency=np.array([""]),
        fixed_day_count=np.array([""]),
        float_day_count=np.array([""]),
        vol_type=np.array([""]),
    )
    from_surface = Swaption().price(_table("swaption", 1, vol=np.array([np.nan]), **base), m, CTX)
    v = surface.vol(np.array([730 / 365]), np.array([5.0]))[0]
    base["vol_type"] = np.array(["normal"])
    given = Swaption().price(_table("swaption", 1, vol=np.array([v]), **base), m, CTX)
    assert from_surface["pv"][0] == pytest.approx(given["pv"][0], rel=1e-14)


def test_index_checks_flag_unknown_and_foreign_indices():
    m = _market()
    m.index_curves["EUR-EURIBOR-6M"] = m.index_curves["USD-LIBOR-3M"]
    table = _table(
        "interest_rate_swap",
        3,
        underlying=np.array(["USD-LIBOR-3M", "NOPE", "EUR-EURIBOR-6M"]),
        start=np.array(["NaT"] * 3, dtype="datetime64[D]"),
        maturity=np.full(3, TODAY + 400),
        fixed_rate=np.array([5.0, 0.04, -0.01]),
    )
    flags = [
        (int(code), mask.tolist(), why)
        for mask, code, why in InterestRateSwap().check(table, m)
        if mask.any()
    ]
    assert flags[0][:2] == (7, [False, True, False])  # unknown underlying
    assert flags[1][:2] == (9, [False, False, True])  # index of another currency
    # 5 for 5%: a unit error, not a rate.
    assert flags[2][:2] == (9, [True, False, False]) and "0.05 for 5%" in flags[2][2]


def test_common_columns_are_present():
    assert [c.name for c in COMMON_COLUMNS][:2] == ["trade_id", "desk"]
