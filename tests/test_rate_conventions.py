"""FRAs, caps/floors and swaptions on the conventions table's IBOR indices against QuantLib:
the index fixing with its lag on the index calendar, the forward over the index tenor from
the fixing's value date in the index day count, caplet expiries at their fixing dates,
seasoned trades on past fixings, swaptions on the swap the swap product builds starting on
the value date of a fixing on the exercise date.

QuantLib set-up: the conventions table's row as an ``IborIndex`` on the same curves
(:func:`markets.ql_rates_handles`, :func:`markets.ql_index_of`) with past fixings added;
``ForwardRateAgreement`` on the index; ``IborLeg`` with indexed coupons in ``Cap`` /
``Floor`` under ``BlackCapFloorEngine`` / ``BachelierCapFloorEngine``; ``VanillaSwap`` in
``Swaption`` with ``EuropeanExercise`` under ``BlackSwaptionEngine`` /
``BachelierSwaptionEngine``; constant vols, times ``Actual365Fixed``. Every price is per
unit notional.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import sum_rounding
from markets import (
    CALENDARS,
    IBORS,
    OVERNIGHT,
    TODAY,
    VDATE,
    qdate,
    ql_calendar,
    ql_day_count,
    ql_index_of,
    ql_rates_handles,
    ql_schedule,
    rates_curves,
    rates_market,
    trade_table,
)

from xiphpc.market.conventions import INDICES
from xiphpc.market.curve_states import CurveStates
from xiphpc.market.curves import add_months, calendar
from xiphpc.market.fixings import Fixings
from xiphpc.pricing.products.base import PricingContext
from xiphpc.pricing.products.rates import (
    CapFloor,
    ForwardRateAgreement,
    Swaption,
    _swaption_dates,
)
from xiphpc.pricing.status import Status
from xiphpc.pricing.validation import validate_table

ql = pytest.importorskip("QuantLib")

pytestmark = pytest.mark.usefixtures("quantlib_today")

CTX = PricingContext(valuation_date=VDATE)
#: First date of the fixings both sides are given (seasoned caps start after it).
FIRST_FIXING = TODAY - 500


def vega_rounding(n_forward_terms, t, vol):
    """As tests/test_rates.py: the forward's rounding moves d by that over the standard
    deviation ``vol sqrt(t)``, and n(d) |d| <= 0.25: 0.4 sqrt(t) + 0.25 / vol per unit of
    the forward's rounding."""
    return sum_rounding(n_forward_terms, 0.4 * np.sqrt(t) + 0.25 / vol)


def _fixing_series(name: str, rng) -> dict:
    """Fixings on every fixing-calendar business day before the valuation date."""
    days = np.arange(FIRST_FIXING, TODAY)
    days = days[calendar(INDICES[name].calendar).is_business_day(days)]
    return dict(
        zip(days.astype(str), np.round(0.03 + 0.01 * rng.random(days.size), 6), strict=True)
    )


@pytest.fixture
def world():
    """The market (every index's currency on the USD curves, the IBOR indices projected on
    the 3M curve, past fixings), QuantLib's discount handle and indices with the same
    fixings; QuantLib's IBOR coupons forward over the index tenor."""
    ql.IborCoupon.createIndexedCoupons()
    rng = np.random.default_rng(99)
    m = rates_market()
    disc, proj = m.curves["USD"], m.index_curves["USD-LIBOR-3M"]
    series = {}
    for name in IBORS:
        ccy = INDICES[name].currency
        m.curves[ccy] = disc
        m.fx[ccy] = 1.0
        m.index_curves[name] = proj
        series[name] = _fixing_series(name, rng)
    m.fixings = Fixings.of(series)
    d, p = rates_curves()
    hd, hp = ql_rates_handles(d.zero_rates, p.zero_rates)
    indices = {}
    for name in IBORS:
        index = ql_index_of(name, hp)
        for day, value in series[name].items():
            index.addFixing(qdate(np.datetime64(day)), value, True)
        indices[name] = index
    for name in OVERNIGHT:
        # Projected on the currency curve (the discount curve), as the products do.
        m.curves[INDICES[name].currency] = disc
        m.fx[INDICES[name].currency] = 1.0
        indices[name] = ql_index_of(name, hd)
    yield m, hd, indices
    ql.IborCoupon.createAtParCoupons()
    ql.IndexManager.instance().clearHistories()


def _days(rng, lo, hi, n):
    return rng.integers(lo, hi, n).astype("timedelta64[D]")


def _currencies(names):
    return np.array([INDICES[str(x)].currency for x in names])


def _npdate(d) -> np.datetime64:
    return np.datetime64(d.ISO(), "D")


def _ok(table, m):
    # An empty cell, as a file gives it: missing, the column's default.
    for name, values in table.columns.items():
        if values.dtype.kind == "U":
            table.missing[name] = values == ""
    status, reason = validate_table(table, m)
    assert np.all(status == Status.OK), reason[status != Status.OK][:3]


def test_fras_match_quantlib(world):
    m, hd, indices = world
    rng = np.random.default_rng(21)
    n = 1000
    names = rng.choice(IBORS, n)
    # Starts from the next day (the fixing then lies before the valuation date: seasoned)
    # to three years out.
    start = TODAY + np.where(rng.random(n) < 0.15, _days(rng, 1, 4, n), _days(rng, 1, 1100, n))
    # Half on the index calendar ending at the index maturity (QuantLib's FRA on the index),
    # half on any calendar with any end and day count (checked on the index's fixing).
    indexed = rng.random(n) < 0.5
    cals = np.where(indexed, "", rng.choice(CALENDARS, n)).astype(object)
    dcs = np.where(indexed, "", rng.choice(["", "ACT/360", "ACT/365F", "30/360"], n))
    end = start + _days(rng, 30, 400, n)
    for i in np.flatnonzero(indexed):
        c = INDICES[str(names[i])]
        cals[i] = c.calendar
        s = ql_calendar(c.calendar).adjust(qdate(start[i]), ql.ModifiedFollowing)
        start[i] = _npdate(s)
        end[i] = _npdate(indices[str(names[i])].maturityDate(s))
    table = trade_table(
        "forward_rate_agreement",
        n,
        currency=_currencies(names),
        underlying=names,
        pay_receive=rng.choice(["payer", "receiver"], n),
        fixed_rate=rng.uniform(0.01, 0.07, n),
        start=start,
        end=end,
        day_count=dcs,
        calendar=cals.astype(str),
    )
    _ok(table, m)
    got = ForwardRateAgreement().price(table, m, CTX)
    seasoned = 0
    for i in range(n):
        index = indices[str(names[i])]
        payer = table["pay_receive"][i] == "payer"
        k = float(table["fixed_rate"][i])
        if indexed[i]:
            fra = ql.ForwardRateAgreement(
                index,
                qdate(start[i]),
                ql.Position.Long if payer else ql.Position.Short,
                k,
                1.0,
                hd,
            )
            want = fra.NPV()
            fixing = index.fixingDate(qdate(start[i]))
        else:
            cal = ql_calendar(str(cals[i]) or str(table["currency"][i]))
            s = cal.adjust(qdate(start[i]), ql.ModifiedFollowing)
            e = cal.adjust(qdate(end[i]), ql.ModifiedFollowing)
            dc = str(dcs[i]) or INDICES[str(names[i])].day_count
            fixing = index.fixingDate(s)
            f = index.fixing(fixing)
            t = ql_day_count(dc).yearFraction(s, e)
            want = (1 if payer else -1) * (f - k) * t / (1 + f * t) * hd.discount(s)
        seasoned += fixing < qdate(TODAY)
        # One forward (a ratio of discount factors less 1, or a given fixing), the
        # settlement fraction and one discount factor, each at most 1 per unit notional.
        assert got["pv"][i] == pytest.approx(want, rel=0, abs=sum_rounding(1, 1.0)), i
    assert seasoned > 0  # the sample holds FRAs fixed before the valuation date


def _caps(rng, n, vol_type):
    names = rng.choice(IBORS, n)
    # Seasoned (from the first fixing on) to forward-starting.
    start = TODAY + _days(rng, -450, 500, n)
    maturity = np.maximum(start, TODAY) + _days(rng, 100, 365 * 12, n)
    if vol_type == "lognormal":
        vol = rng.uniform(0.1, 0.5, n)
    else:
        vol = rng.uniform(0.003, 0.015, n)
    table = trade_table(
        "cap_floor",
        n,
        currency=_currencies(names),
        underlying=names,
        cap_floor=rng.choice(["cap", "floor"], n),
        strike=rng.uniform(0.02, 0.06, n),
        start=start,
        maturity=maturity,
        frequency=rng.choice(["1M", "3M", "6M"], n),
        day_count=rng.choice(["", "ACT/360", "ACT/365F"], n),
        vol=vol,
        vol_type=np.full(n, vol_type),
        calendar=rng.choice(CALENDARS, n),
    )
    return table


@pytest.mark.parametrize("vol_type", ["lognormal", "normal"])
def test_caps_floors_match_quantlib(world, vol_type):
    m, hd, indices = world
    rng = np.random.default_rng(22 if vol_type == "normal" else 23)
    n = 1000
    table = _caps(rng, n, vol_type)
    _ok(table, m)
    got = CapFloor().price(table, m, CTX)
    point = 0.01 if vol_type == "lognormal" else 1e-4
    fixed = 0
    for i in range(n):
        name = str(table["underlying"][i])
        cal = str(table["calendar"][i]) or str(table["currency"][i])
        dc = str(table["day_count"][i]) or INDICES[name].day_count
        months = int(table["frequency"][i][:-1])
        leg = ql.IborLeg(
            [1.0],
            ql_schedule(table["start"][i], table["maturity"][i], months, cal),
            indices[name],
            ql_day_count(dc),
            ql.Following,
            withIndexedCoupons=True,
        )
        strike = [float(table["strike"][i])]
        inst = ql.Cap(leg, strike) if table["cap_floor"][i] == "cap" else ql.Floor(leg, strike)
        quote = ql.QuoteHandle(ql.SimpleQuote(float(table["vol"][i])))
        if vol_type == "lognormal":
            inst.setPricingEngine(ql.BlackCapFloorEngine(hd, quote, ql.Actual365Fixed()))
        else:
            inst.setPricingEngine(ql.BachelierCapFloorEngine(hd, quote))
        live = [c for c in leg if c.date() > qdate(TODAY)]
        fixed += sum(ql.as_floating_rate_coupon(c).fixingDate() < qdate(TODAY) for c in live)
        # Per unit notional, one forward (and its caplet, at most 1) per live coupon; the
        # vegas move with the forwards' rounding.
        caplets = max(len(live), 1)
        t = (table["maturity"][i] - TODAY).astype(np.float64) / 365.0
        vega = vega_rounding(caplets, t, float(table["vol"][i])) * point
        assert got["pv"][i] == pytest.approx(inst.NPV(), rel=0, abs=sum_rounding(caplets, 1.0))
        assert got["vega"][i] == pytest.approx(inst.vega() * point, rel=0, abs=vega), i
    assert fixed > 0  # the sample holds caplets fixed before the valuation date
    assert np.median(np.abs(got["pv"])) > 1e-3


TENORS = ["1Y", "2Y", "5Y", "10Y", "20Y"]


def _check_swaption(got, i, swap, hd, expiry, vol, vol_type, point) -> None:
    """Value and vega of trade ``i`` against QuantLib's European swaption on ``swap``
    (discounted on ``hd``) at the flat ``vol``."""
    swap.setPricingEngine(ql.DiscountingSwapEngine(hd))
    opt = ql.Swaption(swap, ql.EuropeanExercise(qdate(expiry)))
    quote = ql.QuoteHandle(ql.SimpleQuote(float(vol)))
    engine = (
        ql.BlackSwaptionEngine(hd, quote, ql.Actual365Fixed())
        if vol_type == "lognormal"
        else ql.BachelierSwaptionEngine(hd, quote, ql.Actual365Fixed())
    )
    opt.setPricingEngine(engine)
    # Per unit notional: the annuity's fixed coupons and the forward's float coupons (up to
    # twelve a year), at most 1 each; the vega moves with the forward's rounding.
    terms = len(swap.leg(0)) + len(swap.leg(1))
    t = (expiry - TODAY).astype(np.float64) / 365.0
    vega = vega_rounding(terms, t, vol) * point
    assert got["pv"][i] == pytest.approx(opt.NPV(), rel=0, abs=sum_rounding(terms, 1.0)), i
    assert got["vega"][i] == pytest.approx(opt.vega() * point, rel=0, abs=vega), i


@pytest.mark.parametrize("vol_type", ["lognormal", "normal"])
def test_swaptions_match_quantlib(world, vol_type):
    m, hd, indices = world
    rng = np.random.default_rng(24 if vol_type == "normal" else 25)
    n = 1000
    names = rng.choice(IBORS, n)
    expiry = TODAY + _days(rng, 1, 365 * 10, n)
    tenor = rng.choice(TENORS, n)
    if vol_type == "lognormal":
        vol = rng.uniform(0.1, 0.5, n)
    else:
        vol = rng.uniform(0.003, 0.015, n)
    table = trade_table(
        "swaption",
        n,
        currency=_currencies(names),
        underlying=names,
        payer_receiver=rng.choice(["payer", "receiver"], n),
        strike=rng.uniform(0.02, 0.07, n),
        expiry=expiry,
        tenor=tenor,
        fixed_frequency=rng.choice(["", "6M", "12M"], n),
        float_frequency=rng.choice(["", "3M", "6M"], n),
        fixed_day_count=rng.choice(["", "ACT/360", "30/360"], n),
        float_day_count=rng.choice(["", "ACT/360", "ACT/365F"], n),
        vol=vol,
        vol_type=np.full(n, vol_type),
        calendar=rng.choice(CALENDARS, n),
    )
    _ok(table, m)
    got = Swaption().price(table, m, CTX)
    point = 0.01 if vol_type == "lognormal" else 1e-4
    for i in range(n):
        name = str(names[i])
        index = indices[name]
        cal = str(table["calendar"][i]) or str(table["currency"][i])
        # QuantLib's MakeSwaption: the swap starts on the value date of a fixing on the
        # exercise date.
        start = index.fixingCalendar().advance(qdate(expiry[i]), INDICES[name].fixing_lag, ql.Days)
        s = _npdate(start)
        years = int(tenor[i][:-1])
        end = add_months(np.array([s]), 12 * years)[0]
        fixed_months = int((str(table["fixed_frequency"][i]) or "12M")[:-1])
        float_months = int((str(table["float_frequency"][i]) or "3M")[:-1])
        swap = ql.VanillaSwap(
            ql.Swap.Payer if table["payer_receiver"][i] == "payer" else ql.Swap.Receiver,
            1.0,
            ql_schedule(s, end, fixed_months, cal),
            float(table["strike"][i]),
            ql_day_count(str(table["fixed_day_count"][i]) or "30/360"),
            ql_schedule(s, end, float_months, cal),
            index,
            0.0,
            ql_day_count(str(table["float_day_count"][i]) or "ACT/360"),
        )
        _check_swaption(got, i, swap, hd, expiry[i], vol[i], vol_type, point)
    assert np.median(np.abs(got["pv"])) > 1e-3  # the sample is not trivially near zero


def test_swaption_on_an_ibor_index_starts_on_the_spot_date(world):
    # Exercise on a Friday: a EURIBOR swap starts two TARGET days later, on Tuesday; the
    # first floating coupon then fixes on the exercise date itself.
    m, _, _ = world
    friday = TODAY + 200
    while friday.astype(object).weekday() != 4:
        friday += 1
    table = trade_table(
        "swaption",
        1,
        currency="EUR",
        underlying=np.array(["EUR-EURIBOR-6M"]),
        payer_receiver=np.array(["payer"]),
        strike=np.array([0.04]),
        expiry=np.array([friday]),
        tenor=np.array(["5Y"]),
        vol=np.array([0.01]),
        vol_type=np.array(["normal"]),
    )
    start, _ = _swaption_dates(table)
    assert start[0] == _npdate(ql.TARGET().advance(qdate(friday), 2, ql.Days))
    assert (start[0] - friday).astype(int) >= 4  # Tuesday or later
    _ok(table, m)


def test_missing_fixing_is_a_per_trade_error(world):
    m, _, _ = world
    m.fixings = Fixings.of({})
    fra = trade_table(
        "forward_rate_agreement",
        2,
        underlying=np.array(["USD-LIBOR-3M", "USD-LIBOR-3M"]),
        pay_receive=np.array(["payer", "payer"]),
        fixed_rate=np.array([0.03, 0.03]),
        start=np.array([TODAY + 1, TODAY + 60]),
        end=np.array([TODAY + 92, TODAY + 150]),
    )
    status, reason = validate_table(fra, m)
    assert status[0] == Status.MISSING_FIELD and status[1] == Status.OK
    assert "USD-LIBOR-3M" in reason[0] and "fixing on" in reason[0]
    cap = trade_table(
        "cap_floor",
        2,
        underlying=np.array(["EUR-EURIBOR-6M", "EUR-EURIBOR-6M"]),
        currency="EUR",
        cap_floor=np.array(["cap", "floor"]),
        strike=np.array([0.03, 0.03]),
        start=np.array([TODAY - 100, TODAY + 30]),
        maturity=np.array([TODAY + 1000, TODAY + 1000]),
        vol=np.array([0.01, 0.01]),
    )
    status, reason = validate_table(cap, m)
    assert status[0] == Status.MISSING_FIELD and status[1] == Status.OK
    assert reason[0].startswith("fixings: no EUR-EURIBOR-6M fixing on ")


@pytest.mark.parametrize("vol_type", ["lognormal", "normal"])
def test_ois_swaptions_match_quantlib(world, vol_type):
    # On an overnight index the underlying is the overnight-indexed swap the swap product
    # builds (compounded in arrears, the index's payment lag), starting on the exercise date.
    m, hd, indices = world
    rng = np.random.default_rng(26 if vol_type == "normal" else 27)
    n = 1000
    names = rng.choice(OVERNIGHT, n)
    cals = rng.choice(CALENDARS, n)
    ccy = _currencies(names)
    # Exercise on business days of the trade's calendar: QuantLib's engines refuse a swap
    # whose start a holiday exercise at a month end moves before it.
    expiry = TODAY + _days(rng, 1, 365 * 10, n)
    for i in range(n):
        cal = ql_calendar(str(cals[i]) or str(ccy[i]))
        expiry[i] = _npdate(cal.adjust(qdate(expiry[i]), ql.Following))
    tenor = rng.choice(TENORS, n)
    if vol_type == "lognormal":
        vol = rng.uniform(0.1, 0.5, n)
    else:
        vol = rng.uniform(0.003, 0.015, n)
    table = trade_table(
        "swaption",
        n,
        currency=ccy,
        underlying=names,
        payer_receiver=rng.choice(["payer", "receiver"], n),
        strike=rng.uniform(0.02, 0.07, n),
        expiry=expiry,
        tenor=tenor,
        fixed_frequency=rng.choice(["", "6M", "12M"], n),
        float_frequency=rng.choice(["", "3M", "12M"], n),
        fixed_day_count=rng.choice(["", "ACT/360", "30/360"], n),
        # QuantLib's overnight leg accrues in the index's day count.
        float_day_count=np.array([INDICES[str(x)].day_count for x in names]),
        vol=vol,
        vol_type=np.full(n, vol_type),
        calendar=cals,
    )
    _ok(table, m)
    got = Swaption().price(table, m, CTX)
    point = 0.01 if vol_type == "lognormal" else 1e-4
    for i in range(n):
        name = str(names[i])
        cal = str(cals[i]) or str(ccy[i])
        years = int(tenor[i][:-1])
        end = add_months(np.array([expiry[i]]), 12 * years)[0]
        fixed_months = int((str(table["fixed_frequency"][i]) or "12M")[:-1])
        float_months = int((str(table["float_frequency"][i]) or "3M")[:-1])
        swap = ql.OvernightIndexedSwap(
            ql.Swap.Payer if table["payer_receiver"][i] == "payer" else ql.Swap.Receiver,
            [1.0],
            ql_schedule(expiry[i], end, fixed_months, cal),
            float(table["strike"][i]),
            ql_day_count(str(table["fixed_day_count"][i]) or "30/360"),
            [1.0],
            ql_schedule(expiry[i], end, float_months, cal),
            indices[name],
            0.0,
            INDICES[name].payment_lag,
            ql.Following,
            ql_calendar(cal),
        )
        # As in the IBOR test; a compounded coupon of future days telescopes to one ratio
        # of discount factors (xiphpc.market.coupons), QuantLib's to the same ratio.
        _check_swaption(got, i, swap, hd, expiry[i], vol[i], vol_type, point)
    assert np.median(np.abs(got["pv"])) > 1e-3


def test_parallel_serial_and_curve_states_agree(world):
    # One loop body compiled twice: the same operations in the same order per trade; the
    # curve-state path (scenarios, bucketed sensitivities) values today's state alike.
    m, _, _ = world
    rng = np.random.default_rng(28)
    n = 80
    caps = _caps(rng, n, "normal")
    start = TODAY + _days(rng, 1, 700, n)
    fras = trade_table(
        "forward_rate_agreement",
        n,
        currency=_currencies(caps["underlying"]),
        underlying=caps["underlying"],
        pay_receive=rng.choice(["payer", "receiver"], n),
        fixed_rate=rng.uniform(0.01, 0.07, n),
        start=start,
        end=start + 91,
        calendar=caps["calendar"],
    )
    swaptions = trade_table(
        "swaption",
        n,
        currency=_currencies(caps["underlying"]),
        underlying=caps["underlying"],
        payer_receiver=rng.choice(["payer", "receiver"], n),
        strike=rng.uniform(0.02, 0.07, n),
        expiry=start,
        tenor=rng.choice(TENORS, n),
        vol=caps["vol"],
        vol_type=caps["vol_type"],
        calendar=caps["calendar"],
    )
    parallel = PricingContext(valuation_date=VDATE, parallel=True)
    for product, table in (
        (CapFloor(), caps),
        (ForwardRateAgreement(), fras),
        (Swaption(), swaptions),
    ):
        _ok(table, m)
        serial = product.price(table, m, CTX)
        par = product.price(table, m, parallel)
        for k in ("pv", "rho", "theta", "vega"):
            assert np.array_equal(serial[k], par[k]), (product.name, k)
        states = product.value_states(table, m, CurveStates.today(), CTX)[:, 0]
        assert np.array_equal(states, serial["pv"]), product.name
