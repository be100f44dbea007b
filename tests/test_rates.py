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
from conftest import EPS, sum_rounding
from markets import (
    DAY_COUNTS,
    TODAY,
    VDATE,
    qdate,
    ql_day_count,
    ql_ibor_index,
    ql_rates_handles,
    ql_schedule,
    rates_curves,
    rates_market,
    trade_table,
)

from xiphpc.market.curves import WEEKENDS_ONLY, RateVolSurface, add_months
from xiphpc.market.data import Market
from xiphpc.pricing.products.base import COMMON_COLUMNS, PricingContext
from xiphpc.pricing.products.rates import (
    _SWAP_COLUMNS,
    CapFloor,
    FixedRateBond,
    ForwardRateAgreement,
    InterestRateSwap,
    Swaption,
    bond_analytics,
)
from xiphpc.pricing.validation import validate_table

ql = pytest.importorskip("QuantLib")

pytestmark = pytest.mark.usefixtures("quantlib_today")

CTX = PricingContext(valuation_date=VDATE)
MF = ql.ModifiedFollowing


def vega_rounding(n_forward_terms, t, vol):
    """How far two vegas (per unit vol) of options on a forward made of ``n_forward_terms``
    terms may differ: the forward's rounding (:func:`sum_rounding` of terms of size 1)
    moves d by that over the standard deviation ``vol sqrt(t)``, and n(d) |d| <= 0.25:
    0.4 sqrt(t) + 0.25 / vol per unit of the forward's rounding."""
    return sum_rounding(n_forward_terms, 0.4 * np.sqrt(t) + 0.25 / vol)


def _handles(spread: float = 0.0):
    """QuantLib handles of :func:`rates_curves`, moved by a zero ``spread``."""
    disc, proj = rates_curves()
    return ql_rates_handles(disc.zero_rates, proj.zero_rates, spread)


#: An index the conventions table does not list: par coupons, forwards over each accrual
#: period, no fixing lag (tests/test_rate_conventions.py checks FRAs, caps/floors and
#: swaptions on the table's indices).
PAR_INDEX = "USD-TERMSOFR-3M"


def _par_market(**kw) -> Market:
    """:func:`rates_market` with :data:`PAR_INDEX` on its 3M curve."""
    m = rates_market(**kw)
    m.index_curves[PAR_INDEX] = m.index_curves["USD-LIBOR-3M"]
    return m


def _days(rng, lo, hi, n):
    return rng.integers(lo, hi, n).astype("timedelta64[D]")


def test_par_coupon_swaps_match_quantlib():
    # An index the conventions table does not list: par coupons, each forward over its
    # accrual period in the leg's day count, no fixing lag (tests/test_swap_conventions.py
    # checks the table's indices).
    rng = np.random.default_rng(1)
    n = 1000
    start = TODAY + _days(rng, 1, 700, n)
    maturity = start + _days(rng, 200, 365 * 30, n)
    fixed_freq = rng.choice(["3M", "6M", "12M"], n)
    float_freq = rng.choice(["1M", "3M", "6M"], n)
    fixed_dc = rng.choice(list(DAY_COUNTS), n)
    float_dc = rng.choice(["ACT/360", "ACT/365F"], n)
    table = trade_table(
        "interest_rate_swap",
        n,
        underlying=np.full(n, "USD-TERMSOFR-3M"),
        pay_receive=rng.choice(["payer", "receiver"], n),
        fixed_rate=rng.uniform(0.01, 0.07, n),
        start=start,
        maturity=maturity,
        fixed_frequency=fixed_freq,
        float_frequency=float_freq,
        fixed_day_count=fixed_dc,
        float_day_count=float_dc,
        spread=rng.uniform(-0.003, 0.003, n),
        calendar=rng.choice(CALENDAR_SAMPLE, n),
    )
    cals = _calendars(table)
    m = rates_market()
    m.index_curves["USD-TERMSOFR-3M"] = m.index_curves["USD-LIBOR-3M"]
    got = InterestRateSwap().price(table, m, CTX)
    n_terms = np.zeros(n)
    for bump in (0.0, 1e-4, -1e-4):
        hd, hp = _handles(bump)
        npv = np.empty(n)
        for i in range(n):
            index = ql_ibor_index(hp, int(float_freq[i][:-1]), float_dc[i])
            swap = ql.VanillaSwap(
                ql.Swap.Payer if table["pay_receive"][i] == "payer" else ql.Swap.Receiver,
                1.0,
                ql_schedule(start[i], maturity[i], int(fixed_freq[i][:-1]), cals[i]),
                float(table["fixed_rate"][i]),
                ql_day_count(fixed_dc[i]),
                ql_schedule(start[i], maturity[i], int(float_freq[i][:-1]), cals[i]),
                index,
                float(table["spread"][i]),
                ql_day_count(float_dc[i]),
            )
            swap.setPricingEngine(ql.DiscountingSwapEngine(hd))
            npv[i] = swap.NPV()
            n_terms[i] = len(swap.leg(0)) + len(swap.leg(1))
        if bump == 0.0:
            base = npv
        elif bump > 0:
            up = npv
        else:
            rho = 0.5 * (up - npv)
    # Per unit notional, coupons of at most 1; rho, a half difference of two such PVs, too.
    assert np.all(np.abs(got["pv"] - base) <= sum_rounding(n_terms, 1.0))
    assert np.all(np.abs(got["rho"] - rho) <= sum_rounding(n_terms, 1.0))
    assert np.all(got["delta"] == 0.0) and np.all(got["vega"] == 0.0)
    assert np.max(np.abs(base)) > 0.01  # the sample is not trivially near zero


def test_swap_theta_is_one_day_roll_down():
    table = trade_table(
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
    m = rates_market()
    got = InterestRateSwap().price(table, m, CTX)
    # One day later with the curves held as functions of time: the same trade valued on a
    # market whose valuation date is a day later and whose pillars are unchanged.
    later = Market(VDATE + dt.timedelta(days=1), "USD", m.fx, m.curves, index_curves=m.index_curves)
    ahead = InterestRateSwap().price(
        table, later, PricingContext(valuation_date=later.valuation_date)
    )
    # The same legs valued a day apart two ways (ten years: 10 fixed and 40 float coupons).
    roll = ahead["pv"][0] - got["pv"][0]
    assert got["theta"][0] == pytest.approx(roll, rel=0, abs=sum_rounding(50, 1.0))


def test_fras_match_quantlib():
    rng = np.random.default_rng(2)
    n = 1000
    start = TODAY + _days(rng, 2, 900, n)
    end = start + _days(rng, 30, 400, n)
    dcs = rng.choice(["ACT/360", "ACT/365F"], n)
    table = trade_table(
        "forward_rate_agreement",
        n,
        underlying=np.full(n, PAR_INDEX),
        pay_receive=rng.choice(["payer", "receiver"], n),
        fixed_rate=rng.uniform(0.01, 0.07, n),
        start=start,
        end=end,
        day_count=dcs,
        calendar=np.full(n, "WEEKENDS_ONLY"),
    )
    got = ForwardRateAgreement().price(table, _par_market(), CTX)
    hd, hp = _handles()
    # QuantLib moves only the end date to a business day; the product moves both, so
    # QuantLib is given the adjusted dates.
    start = WEEKENDS_ONLY.adjust(start, "modified_following")
    end = WEEKENDS_ONLY.adjust(end, "modified_following")
    for i in range(n):
        fra = ql.ForwardRateAgreement(
            ql_ibor_index(hp, 3, dcs[i]),
            qdate(start[i]),
            qdate(end[i]),
            ql.Position.Long if table["pay_receive"][i] == "payer" else ql.Position.Short,
            float(table["fixed_rate"][i]),
            1.0,
            hd,
        )
        # One period: a forward as a ratio of discount factors, its settlement discount.
        assert got["pv"][i] == pytest.approx(fra.NPV(), rel=0, abs=sum_rounding(1, 1.0))


#: Schedule calendars of the swap and bond samples: empty (the currency's, US settlement
#: for USD), named, a currency's, joint.
CALENDAR_SAMPLE = ["", "", "TARGET", "US-SOFR", "GBP", "USD+EUR", "JP+UK", "WEEKENDS_ONLY"]


def _calendars(table):
    """Each trade's calendar name as the products read it (empty: USD's calendar)."""
    return [str(c) or "USD" for c in table["calendar"]]


def _bonds(rng, n):
    maturity = TODAY + _days(rng, 40, 365 * 30, n)
    freq = rng.choice(["3M", "6M", "12M"], n)
    dcs = rng.choice(list(DAY_COUNTS), n)
    return trade_table(
        "fixed_rate_bond",
        n,
        coupon=rng.uniform(0.0, 0.08, n),
        maturity=maturity,
        frequency=freq,
        day_count=dcs,
        calendar=rng.choice(CALENDAR_SAMPLE, n),
    )


def test_bonds_match_quantlib():
    rng = np.random.default_rng(3)
    n = 1000
    table = _bonds(rng, n)
    table.columns["quantity"] = rng.uniform(1e5, 1e7, n)
    m = rates_market()
    got = FixedRateBond().price(table, m, CTX)
    an = bond_analytics(table, m)
    hd, _ = _handles()
    for i in range(n):
        months = int(table["frequency"][i][:-1])
        eff = add_months(np.array([TODAY]), -months)[0]
        dc = ql_day_count(table["day_count"][i])
        bond = ql.FixedRateBond(
            0,
            100.0,
            ql_schedule(eff, table["maturity"][i], months, _calendars(table)[i]),
            [float(table["coupon"][i])],
            dc,
            MF,
            100.0,
        )
        bond.setPricingEngine(ql.DiscountingBondEngine(hd))
        face = table["quantity"][i]
        # Per unit face: coupons and the redemption, each at most 1 (QuantLib's coupons are
        # (1 + r t) - 1, whole units of rounding); prices per 100 of face.
        price = sum_rounding(len(bond.cashflows()), 1.0)
        assert got["pv"][i] / face == pytest.approx(bond.NPV() / 100.0, rel=0, abs=price)
        assert an["dirty"][i] == pytest.approx(bond.dirtyPrice(), rel=0, abs=100 * price)
        accrued = 100 * sum_rounding(1, 1.0)
        clean = 100 * price + accrued
        assert an["clean"][i] == pytest.approx(bond.cleanPrice(), rel=0, abs=clean)
        assert an["accrued"][i] == pytest.approx(bond.accruedAmount(), rel=0, abs=accrued)
        freq = {3: ql.Quarterly, 6: ql.Semiannual, 12: ql.Annual}[months]
        ytm = bond.bondYield(
            ql.BondPrice(bond.cleanPrice(), ql.BondPrice.Clean),
            dc,
            ql.Compounded,
            freq,
            qdate(TODAY),
            1e-14,
        )
        rate = ql.InterestRate(ytm, dc, ql.Compounded, freq)
        dur = ql.BondFunctions.duration(bond, rate, ql.Duration.Modified)
        # Both solvers stop within 1e-14 of their roots; the roots move by the prices'
        # difference and the pricing functions' rounding over dP/dy = P D.
        dy = 2e-14 + 2 * price / (bond.dirtyPrice() / 100.0 * dur)
        assert an["yield"][i] == pytest.approx(ytm, rel=0, abs=dy)
        # dD/dy = D^2 - C is within T^2 (years to maturity); D's own rounding is the price's.
        t = (table["maturity"][i] - TODAY).astype(np.float64) / 365.0
        rel = t**2 * dy / dur + 2 * price / (bond.dirtyPrice() / 100.0)
        assert an["modified_duration"][i] == pytest.approx(dur, rel=rel, abs=0)


@pytest.mark.parametrize("vol_type", ["lognormal", "normal"])
def test_caps_floors_match_quantlib(vol_type):
    rng = np.random.default_rng(4 if vol_type == "normal" else 5)
    n = 1000
    start = TODAY + _days(rng, 5, 500, n)
    maturity = start + _days(rng, 200, 365 * 15, n)
    freq = rng.choice(["3M", "6M"], n)
    vol = rng.uniform(0.1, 0.5, n) if vol_type == "lognormal" else rng.uniform(0.003, 0.015, n)
    table = trade_table(
        "cap_floor",
        n,
        underlying=np.full(n, PAR_INDEX),
        calendar=np.full(n, "WEEKENDS_ONLY"),
        cap_floor=rng.choice(["cap", "floor"], n),
        strike=rng.uniform(0.02, 0.06, n),
        start=start,
        maturity=maturity,
        frequency=freq,
        day_count=np.full(n, ""),
        vol=vol,
        vol_type=np.full(n, vol_type),
    )
    got = CapFloor().price(table, _par_market(), CTX)
    hd, hp = _handles()
    point = 0.01 if vol_type == "lognormal" else 1e-4
    for i in range(n):
        months = int(freq[i][:-1])
        leg = ql.IborLeg(
            [1.0],
            ql_schedule(start[i], maturity[i], months),
            ql_ibor_index(hp, months),
            ql.Actual360(),
            MF,
        )
        strike = [float(table["strike"][i])]
        inst = ql.Cap(leg, strike) if table["cap_floor"][i] == "cap" else ql.Floor(leg, strike)
        quote = ql.QuoteHandle(ql.SimpleQuote(float(vol[i])))
        if vol_type == "lognormal":
            inst.setPricingEngine(ql.BlackCapFloorEngine(hd, quote, ql.Actual365Fixed()))
        else:
            inst.setPricingEngine(ql.BachelierCapFloorEngine(hd, quote))
        # Per unit notional, one forward (and its caplet, at most 1) per coupon; the vegas
        # move with the forwards' rounding.
        caplets = len(leg)
        t = (maturity[i] - TODAY).astype(np.float64) / 365.0
        pv = sum_rounding(caplets, 1.0)
        vega = vega_rounding(caplets, t, vol[i]) * point
        assert got["pv"][i] == pytest.approx(inst.NPV(), rel=0, abs=pv)
        assert got["vega"][i] == pytest.approx(inst.vega() * point, rel=0, abs=vega)


@pytest.mark.parametrize("vol_type", ["lognormal", "normal"])
def test_swaptions_match_quantlib(vol_type):
    rng = np.random.default_rng(6 if vol_type == "normal" else 7)
    n = 1000
    # Exercise on business days: QuantLib's engines refuse a swap whose start a weekend
    # exercise at a month end moves before it.
    expiry = WEEKENDS_ONLY.adjust(TODAY + _days(rng, 20, 365 * 10, n), "following")
    tenor = rng.choice(["1Y", "2Y", "5Y", "10Y", "20Y"], n)
    vol = rng.uniform(0.1, 0.5, n) if vol_type == "lognormal" else rng.uniform(0.003, 0.015, n)
    table = trade_table(
        "swaption",
        n,
        underlying=np.full(n, PAR_INDEX),
        calendar=np.full(n, "WEEKENDS_ONLY"),
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
    got = Swaption().price(table, _par_market(), CTX)
    hd, hp = _handles()
    point = 0.01 if vol_type == "lognormal" else 1e-4
    for i in range(n):
        end = add_months(np.array([expiry[i]]), 12 * int(tenor[i][:-1]))[0]
        swap = ql.VanillaSwap(
            ql.Swap.Payer if table["payer_receiver"][i] == "payer" else ql.Swap.Receiver,
            1.0,
            ql_schedule(expiry[i], end, 12),
            float(table["strike"][i]),
            ql_day_count("30/360"),
            ql_schedule(expiry[i], end, 3),
            ql_ibor_index(hp),
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
        # Per unit notional: the annuity's fixed coupons and the forward's quarterly float
        # coupons, at most 1 each; the vega moves with the forward's rounding.
        years = int(tenor[i][:-1])
        t = (expiry[i] - TODAY).astype(np.float64) / 365.0
        pv = sum_rounding(5 * years, 1.0)
        vega = vega_rounding(4 * years, t, vol[i]) * point
        assert got["pv"][i] == pytest.approx(opt.NPV(), rel=0, abs=pv)
        assert got["vega"][i] == pytest.approx(opt.vega() * point, rel=0, abs=vega)


def test_vols_come_from_the_rate_vol_surface():
    surface = RateVolSurface(
        "normal",
        np.array([1.0, 5.0]),
        np.array([1.0, 10.0]),
        np.array([[0.010, 0.009], [0.008, 0.007]]),
    )
    m = rates_market({"USD": surface})
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
    from_surface = Swaption().price(
        trade_table("swaption", 1, vol=np.array([np.nan]), **base), m, CTX
    )
    v = surface.vol(np.array([730 / 365]), np.array([5.0]))[0]
    base["vol_type"] = np.array(["normal"])
    given = Swaption().price(trade_table("swaption", 1, vol=np.array([v]), **base), m, CTX)
    # The same interpolation of the same grid: vols within 4 roundings, the PV within the
    # vega (per bp of normal vol) times that.
    dv = 4 * EPS * v
    assert from_surface["pv"][0] == pytest.approx(
        given["pv"][0], rel=0, abs=abs(given["vega"][0]) / 1e-4 * dv
    )


def test_index_checks_flag_unknown_and_foreign_indices():
    m = rates_market()
    m.index_curves["EUR-EURIBOR-6M"] = m.index_curves["USD-LIBOR-3M"]
    table = trade_table(
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


def test_unknown_calendar_is_a_per_trade_error():
    m = rates_market()
    swaps = trade_table(
        "interest_rate_swap",
        3,
        underlying=np.full(3, "USD-LIBOR-3M"),
        pay_receive=np.full(3, "payer"),
        start=np.full(3, TODAY + 10),
        maturity=np.full(3, TODAY + 400),
        fixed_rate=np.full(3, 0.04),
        calendar=np.array(["", "NYC", "USD+XX"]),
    )
    bonds = trade_table(
        "fixed_rate_bond",
        2,
        coupon=np.full(2, 0.04),
        maturity=np.full(2, TODAY + 400),
        calendar=np.array(["TARGET", "Mars"]),
    )
    status, reason = validate_table(swaps, m)
    assert status.tolist() == [0, 9, 9]
    assert reason[1].startswith("calendar: unknown calendar 'NYC'; accepted: [")
    assert "'USD+XX'" in reason[2] and "joined by '+'" in reason[2]
    status, reason = validate_table(bonds, m)
    assert status.tolist() == [0, 9] and "'Mars'" in reason[1]


def test_default_calendar_is_the_currency_s():
    # A swap over 4 July 2030 (a Thursday): on the empty (USD) calendar its period ends
    # move off the holiday, on the weekends-only calendar they stay.
    m = rates_market()
    kw = dict(
        underlying=np.full(2, "USD-LIBOR-3M"),
        pay_receive=np.full(2, "payer"),
        start=np.full(2, np.datetime64("2029-07-04")),
        maturity=np.full(2, np.datetime64("2030-07-04")),
        fixed_rate=np.full(2, 0.04),
        spread=np.zeros(2),
        **{c: np.full(2, "") for c in _SWAP_COLUMNS},
    )
    usd = trade_table("interest_rate_swap", 2, calendar=np.array(["", "USD"]), **kw)
    weekends = trade_table("interest_rate_swap", 2, calendar=np.full(2, "WEEKENDS_ONLY"), **kw)
    pv_usd = InterestRateSwap().price(usd, m, CTX)["pv"]
    pv_weekends = InterestRateSwap().price(weekends, m, CTX)["pv"]
    assert pv_usd[0] == pv_usd[1]
    assert pv_usd[0] != pv_weekends[0]


def test_common_columns_are_present():
    assert [c.name for c in COMMON_COLUMNS][:2] == ["trade_id", "desk"]
