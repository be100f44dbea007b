"""The ISDA CDS Standard Model against QuantLib's ``IsdaCdsEngine`` and closed forms.

QuantLib set-up matched to the model: ``CreditDefaultSwap`` on a ``DateGeneration.CDS2015``
schedule (quarterly, ``WeekendsOnly``, ``Following``, termination unadjusted), ``Actual360``
accrual with ``Actual360(True)`` for the last period, trade date the valuation date (step-in
``T + 1``, cash settlement ``T + 3`` business days, accrual rebate); ``IsdaCdsEngine`` with
``NumericalFix.Taylor``, ``AccrualBias.NoBias`` and ``ForwardsInCouponPeriod.Piecewise``;
the same curves on both sides: ``DiscountCurve`` (log-linear discount factors) and
``HazardRateCurve`` (backward-flat hazards) on the same pillar dates, ``Actual365Fixed``.

One convention differs, on the last period only: QuantLib observes its premium's survival,
and ends its default accrual, on the day before the payment date; the ISDA model (its C
code: ``accEndDate + obsOffset`` with the last ``accEndDate`` the maturity plus one day) on
the maturity itself. The comparison with QuantLib gives the kernel QuantLib's day there;
:func:`test_flat_curves_match_the_closed_forms` checks the ISDA day.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest
from conftest import EPS
from markets import TODAY, VDATE, qdate, trade_table

from xiphpc.market.curve_states import CurveStates
from xiphpc.market.curves import Curve, HazardCurve, add_months
from xiphpc.market.curves.isda import (
    cds_standard_maturities,
    isda_periods,
    previous_imm_date,
)
from xiphpc.market.curves.loader import CreditCurve
from xiphpc.market.data import Market
from xiphpc.pricing.kernels.credit_isda import IsdaOutputs, IsdaPeriods, IsdaTerms, isda_serial
from xiphpc.pricing.kernels.rates import allocate_outputs, moves
from xiphpc.pricing.products.base import PricingContext
from xiphpc.pricing.products.credit import (
    CONVENTIONAL_RECOVERY,
    CreditDefaultSwap,
    cds_analytics,
    conventional_hazards,
    conventional_spreads,
)
from xiphpc.pricing.validation import validate_table

ql = pytest.importorskip("QuantLib")

pytestmark = pytest.mark.usefixtures("quantlib_today")

CTX = PricingContext(valuation_date=VDATE)
DAY = 1.0 / 365.0
#: Discount pillars (days): none on the step-in date, the last beyond every maturity.
DISC_DAYS = np.array([30, 91, 182, 365, 730, 1095, 1826, 2556, 3652, 5478, 7305])


def _imm_dates(start: dt.date, years: int) -> np.ndarray:
    """The IMM dates from the last one on or before ``start``, ``years`` and more on."""
    first = np.datetime64(previous_imm_date(start), "D")
    k = np.arange(4 * years + 8)
    return add_months(np.full(k.size, first), 3 * k)


def _random_maturities(rng, n: int) -> np.ndarray:
    """IMM-date maturities from 6M to 10Y after :data:`VDATE`."""
    imm = _imm_dates(VDATE, 11)
    days = (imm - TODAY).astype(np.int64)
    pool = imm[(days >= 182) & (days <= 3652 + 31)]
    return rng.choice(pool, n)


#: The least forward rate of :func:`_discount` (about 2.8%), rounded down.
FORWARD_MIN = 0.02


def _discount() -> Curve:
    t = DISC_DAYS / 365.0
    return Curve(t, 0.028 + 0.007 * np.log1p(t) - 0.002 * np.sin(t), "loglinear_discount")


def _hazard(rng, recovery: float) -> HazardCurve:
    """Random backward-flat hazards on integer-day pillars to 12Y: levels making par spreads
    from about 20bp to 1000bp."""
    days = np.sort(rng.choice(np.arange(40, 365 * 12), 5, replace=False))
    days[-1] = 365 * 12
    level = np.exp(rng.uniform(np.log(0.004), np.log(0.17)))
    return HazardCurve(days / 365.0, level * rng.uniform(0.6, 1.5, days.size), recovery)


def _ql_discount(disc: Curve):
    today = qdate(VDATE)
    dates = [today] + [today + int(d) for d in DISC_DAYS]
    curve = ql.DiscountCurve(
        dates, [1.0, *map(float, disc.discount(disc.times))], ql.Actual365Fixed()
    )
    curve.enableExtrapolation()
    return ql.YieldTermStructureHandle(curve)


def _ql_hazard(h: HazardCurve):
    today = qdate(VDATE)
    dates = [today] + [today + int(round(t * 365)) for t in h.times]
    curve = ql.HazardRateCurve(
        dates, [float(h.hazards[0]), *map(float, h.hazards)], ql.Actual365Fixed()
    )
    curve.enableExtrapolation()
    return ql.DefaultProbabilityTermStructureHandle(curve)


def _ql_cds(side: str, spread: float, maturity, trade_date=VDATE):
    t = qdate(trade_date)
    schedule = ql.Schedule(
        t,
        qdate(maturity),
        ql.Period(ql.Quarterly),
        ql.WeekendsOnly(),
        ql.Following,
        ql.Unadjusted,
        ql.DateGeneration.CDS2015,
        False,
    )
    return ql.CreditDefaultSwap(
        ql.Protection.Buyer if side == "buy" else ql.Protection.Seller,
        1.0,
        spread,
        schedule,
        ql.Following,
        ql.Actual360(),
        True,
        True,
        t,
        ql.FaceValueClaim(),
        ql.Actual360(True),
        True,
        t,
        3,
    )


def _isda_engine(hazard, recovery, disc):
    return ql.IsdaCdsEngine(
        hazard,
        recovery,
        disc,
        False,
        ql.IsdaCdsEngine.Taylor,
        ql.IsdaCdsEngine.NoBias,
        ql.IsdaCdsEngine.Piecewise,
    )


def _table(n, **cols):
    return trade_table("credit_default_swap", n, ids="C{i}", desk="CR", counterparty="X", **cols)


def _market(hazards: dict[str, HazardCurve], disc: Curve | None = None) -> Market:
    return Market(
        VDATE,
        "USD",
        {"USD": 1.0},
        {"USD": disc or _discount()},
        credit_curves={k: CreditCurve("USD", h) for k, h in hazards.items()},
    )


def _integrals(p, i: int, curves: list) -> int:
    """Upper bound of the interval integrals of CDS ``i``: the protection leg's and every
    period's default accrual (one per interval between consecutive curve pillars and
    period dates), and the premiums."""
    a, b = p.offsets[i], p.offsets[i + 1]
    pillars = sum(int(np.sum(c < p.maturity[i] + DAY)) for c in curves)
    return 3 * (b - a) + 2 * pillars + 2


def test_standard_maturities_match_quantlib():
    rng = np.random.default_rng(3)
    days = np.concatenate(([0, 25, 26, 27, 117, 118, 207, 208], rng.integers(0, 1500, 40)))
    for d in days:
        trade = VDATE + dt.timedelta(days=int(d))
        tenors = ["3M", "6M", "1Y", "3Y", "5Y", "7Y", "10Y"]
        got = cds_standard_maturities(trade, tenors)
        for t, m in zip(tenors, got, strict=True):
            want = ql.cdsMaturity(qdate(trade), ql.Period(t), ql.DateGeneration.CDS2015)
            assert str(m) == want.ISO(), (trade, t)


def test_isda_dates_match_quantlib_coupons():
    """Accrual and payment dates, accrual fractions, accrued premium and cash settlement of
    CDS traded on many days (weekends and IMM dates among them)."""
    rng = np.random.default_rng(5)
    days = np.concatenate(([0, 25, 26, 27, 28, 117, 118], rng.integers(0, 1200, 30)))
    for d in days:
        trade = VDATE + dt.timedelta(days=int(d))
        today = np.datetime64(trade, "D")
        imm = _imm_dates(trade, 11)
        gap = (imm - today).astype(np.int64)
        mats = rng.choice(imm[(gap >= 100) & (gap <= 3700)], 6)
        p = isda_periods(trade, mats)
        for i, m in enumerate(mats):
            cds = _ql_cds("buy", 0.01, m, trade)
            coupons = [ql.as_fixed_rate_coupon(c) for c in cds.coupons()]
            a, b = p.offsets[i], p.offsets[i + 1]
            assert b - a == len(coupons)

            def days_of(t):
                return np.round(np.asarray(t) * 365).astype(int)

            start = [c.accrualStartDate() - qdate(trade) for c in coupons]
            pay = [c.date() - qdate(trade) for c in coupons]
            acc_end = [c.accrualEndDate() - qdate(trade) for c in coupons]
            assert days_of(p.start[a:b]).tolist() == start
            assert days_of(p.pay[a:b]).tolist() == pay
            # The last protected day: the day before the accrual end, the maturity itself at
            # the end (ISDA's last accrual end is the maturity plus one day).
            assert days_of(p.end[a : b - 1]).tolist() == [e - 1 for e in acc_end[:-1]]
            assert days_of(p.end[b - 1]) == acc_end[-1]
            # ACT/360 from integer day counts: both sides round one division.
            np.testing.assert_allclose(
                p.accrual[a:b], [c.accrualPeriod() for c in coupons], rtol=EPS, atol=0
            )
            # Accrued to the step-in date: QuantLib's accrual rebate per unit spread.
            assert p.accrued[i] == pytest.approx(cds.accrualRebate().amount() / 0.01, rel=2 * EPS)
            settle = cds.upfrontPayment().date() - qdate(trade)
            assert round(p.settlement * 365) == settle
            assert round(p.step_in * 365) == 1


def test_isda_cds_match_quantlib_engine():
    """Dirty value, par spread and upfront of 2,000 random CDS (maturities 6M to 10Y, spreads
    20bp to 1000bp, recoveries 0.2 to 0.6, both sides), each on its own hazard curve."""
    rng = np.random.default_rng(11)
    n = 2000
    names = np.array([f"N{i}" for i in range(n)])
    recovery = rng.uniform(0.2, 0.6, n)
    hazards = {str(names[i]): _hazard(rng, float(recovery[i])) for i in range(n)}
    mats = _random_maturities(rng, n)
    side = rng.choice(["buy", "sell"], n)
    spread = np.exp(rng.uniform(np.log(0.002), np.log(0.1), n))
    m = _market(hazards)
    # QuantLib's day for the last premium's survival and default accrual: the day before
    # the payment (see the module docstring).
    p = isda_periods(VDATE, mats)
    last = p.offsets[1:] - 1
    end = p.end.copy()
    end[last] = p.pay[last] - DAY
    states = CurveStates.today()
    yc = states.yield_curves(["USD"], [m.curves["USD"]])
    hc = states.hazard_curves(list(names), [hazards[str(k)] for k in names])
    sign = np.where(side == "buy", 1.0, -1.0)
    terms = IsdaTerms(
        np.zeros(n, np.int64), np.arange(n), recovery, spread, sign, p.maturity, p.accrued
    )
    out = allocate_outputs(IsdaOutputs, n, moves(), 1)
    isda_serial(yc, hc, terms, IsdaPeriods.of(dataclasses.replace(p, end=end)), moves(), out)
    disc = _ql_discount(m.curves["USD"])
    log_size = np.abs(np.log(m.curves["USD"].discount(p.maturity))) + np.array(
        [hazards[str(k)].cumulative(p.maturity[i : i + 1])[0] for i, k in enumerate(names)]
    )
    for i in range(n):
        h = hazards[str(names[i])]
        cds = _ql_cds(str(side[i]), float(spread[i]), mats[i])
        cds.setPricingEngine(_isda_engine(_ql_hazard(h), float(recovery[i]), disc))
        dirty = cds.NPV() - cds.accrualRebateNPV()
        # Tolerance. Both sides sum the same interval integrals (the curves agree exactly
        # between pillars, so no interpolation error enters); they differ by rounding. Each
        # integral is at most 1 per unit notional (x spread for premiums); its rounding is a
        # few ulp of its exps and products plus the rounding of the log drops F and H it is
        # built from: QuantLib takes logs of rounded discount factors and survivals, off by
        # eps |log P Q| <= eps L each, which the ratio H / F carries once more: 8 (1 + L)
        # eps per integral. The default accrual's (P0 Q0 - P1 Q1) / F - P1 Q1 is of order
        # F: its input rounding comes out amplified by H / F^2 times the interval, at most
        # 1 / k, k the least forward plus hazard rate; it enters times the spread.
        k = h.hazards.min() + FORWARD_MIN
        per_integral = 8 * (1 + log_size[i]) * EPS * (1 + spread[i] * (1 + 1 / k))
        bound = per_integral * _integrals(p, i, [DISC_DAYS / 365.0, h.times])
        assert out.values[i, 0, 0] == pytest.approx(dirty, rel=0, abs=bound)
        # Par spread: the protection leg's rounding (its share of the bound) over the clean
        # annuity, plus the spread's own rounding.
        ann = out.annuity[i]
        assert out.par_spread[i] == pytest.approx(cds.fairSpread(), rel=4 * EPS, abs=bound / ann)
        # Clean risky annuity: QuantLib's premium leg net of the accrual rebate, over the
        # spread; the premium leg's rounding (within the bound) over the spread.
        legs = -sign[i] * (cds.couponLegNPV() + cds.accrualRebateNPV()) / spread[i]
        assert ann == pytest.approx(legs, rel=0, abs=bound / spread[i])
        # Upfront (QuantLib's is per unit notional, from the buyer's side): the value's
        # bound over the settlement discount factor (> 0.99).
        upfront = out.values[i, 0, 0] / out.settlement_df[i] + sign[i] * spread[i] * p.accrued[i]
        assert sign[i] * upfront == pytest.approx(cds.fairUpfront(), rel=0, abs=2 * bound)


def _closed_form(p, i, lam, r, recovery, spread):
    """Dirty value per unit notional for the buyer under a flat hazard ``lam`` and flat rate
    ``r``: the ISDA model's legs written out with the ISDA dates."""
    k = lam + r
    t_mat = p.maturity[i]
    protection = (1 - recovery) * lam / k * (1 - np.exp(-k * t_mat))
    a, b = p.offsets[i], p.offsets[i + 1]
    annuity = 0.0
    for j in range(a, b):
        if p.pay[j] > p.step_in + DAY / 2:
            annuity += p.accrual[j] * np.exp(-r * p.pay[j] - lam * p.end[j])
        if p.end[j] + DAY <= p.step_in + DAY / 2:
            continue
        ts = p.start[j] - DAY
        lo = max(p.start[j], p.step_in) - DAY
        hi = p.end[j]

        # int_lo^hi (t - ts) exp(-k t) dt, factored so that no two large terms cancel.
        x = k * (hi - lo)
        one_minus = -np.expm1(-x)
        inner = (lo - ts) * one_minus / k + (one_minus - x * np.exp(-x)) / k**2
        annuity += 365 / 360 * lam * np.exp(-k * lo) * inner
    return protection - spread * annuity


def test_flat_curves_match_the_closed_forms():
    rng = np.random.default_rng(17)
    n = 60
    mats = _random_maturities(rng, n)
    lam = np.exp(rng.uniform(np.log(0.003), np.log(0.2), n))
    rec = rng.uniform(0.2, 0.6, n)
    spread = rng.uniform(0.002, 0.1, n)
    r = 0.035
    hazards = {f"F{i}": HazardCurve(np.array([1.0]), np.array([lam[i]]), rec[i]) for i in range(n)}
    disc = Curve(np.array([1.0]), np.array([r]), "loglinear_discount")
    m = _market(hazards, disc)
    table = _table(
        n,
        underlying=np.array(list(hazards)),
        protection=np.full(n, "buy"),
        spread=spread,
        maturity=mats,
    )
    pv = CreditDefaultSwap().price(table, m, CTX)["pv"]
    p = isda_periods(VDATE, mats)
    for i in range(n):
        want = _closed_form(p, i, lam[i], r, rec[i], spread[i])
        # One pillar each: the kernel's integrals are over the periods alone. Per period the
        # premium and the default accrual (both at most 1, times the spread), and once the
        # protection leg, each rounded to 10 eps on either side; the kernel's default
        # accrual ((P0 Q0 - P1 Q1) / F - P1 Q1) H / F carries the rounding of P0 Q0 - P1 Q1
        # (eps) through H / F^2 times the period length, at most lam / k^2 <= 1 / k.
        terms = p.offsets[i + 1] - p.offsets[i]
        k = lam[i] + r
        bound = (10 * (terms + 1) + spread[i] * terms * (10 + 1 / k)) * EPS
        assert pv[i] == pytest.approx(want, rel=0, abs=bound)


def test_upfront_is_zero_at_the_par_spread():
    rng = np.random.default_rng(23)
    n = 40
    names = [f"N{i}" for i in range(n)]
    hazards = {k: _hazard(rng, 0.4) for k in names}
    m = _market(hazards)
    mats = _random_maturities(rng, n)
    base = _table(
        n,
        underlying=np.array(names),
        protection=np.full(n, "buy"),
        spread=np.full(n, 0.01),
        maturity=mats,
    )
    par = cds_analytics(base, m)["par_spread"]
    at_par = _table(
        n, underlying=np.array(names), protection=np.full(n, "sell"), spread=par, maturity=mats
    )
    an = cds_analytics(at_par, m)
    p = isda_periods(VDATE, mats)
    # The upfront is (protection - par * clean annuity) / P(settle): the legs' rounding
    # (8 eps per integral, logs below 3) over P(settle) > 0.99.
    bound = np.array(
        [
            32 * EPS * _integrals(p, i, [DISC_DAYS / 365.0, hazards[k].times])
            for i, k in enumerate(names)
        ]
    )
    assert np.all(np.abs(an["upfront"]) <= 2 * bound)
    # Clean and dirty PV differ by the accrued premium, which the seller holds.
    np.testing.assert_array_equal(an["clean_pv"], an["dirty_pv"] - an["accrued"])
    assert np.all(an["accrued"] >= 0.0)
    np.testing.assert_allclose(an["accrued"], par * p.accrued, rtol=EPS, atol=0)


def test_model_column_default_and_choices():
    rng = np.random.default_rng(29)
    h = _hazard(rng, 0.4)
    m = _market({"ACME": h})
    mats = cds_standard_maturities(VDATE, ["5Y"]).repeat(4)
    table = _table(
        4,
        underlying=np.full(4, "ACME"),
        protection=np.full(4, "buy"),
        spread=np.full(4, 0.01),
        maturity=mats,
        model=np.array(["", "isda", "midpoint", "black"]),
    )
    table.missing = {"model": np.array([True, False, False, False])}
    status, _ = validate_table(table, m)
    assert status[:3].tolist() == [0, 0, 0] and status[3] != 0
    pv = CreditDefaultSwap().price(table.take(slice(0, 3)), m, CTX)["pv"]
    assert pv[0] == pv[1] and pv[1] != pv[2]
    # A table without the column prices under the default, the ISDA model.
    bare = table.take(slice(0, 2))
    del bare.columns["model"]
    assert CreditDefaultSwap().price(bare, m, CTX)["pv"][0] == pv[0]


def test_redundant_pillars_leave_the_value_unchanged():
    """Pillars that split a flat piece of the curves, a fraction of a day from the period
    ends and the maturity, change the intervals but not the integrals."""
    rng = np.random.default_rng(31)
    n = 30
    mats = _random_maturities(rng, n)
    names = [f"N{i}" for i in range(n)]
    hazards = {k: _hazard(rng, 0.4) for k in names}
    cols = dict(
        underlying=np.array(names),
        protection=rng.choice(["buy", "sell"], n),
        spread=rng.uniform(0.002, 0.05, n),
        maturity=mats,
    )
    pv = CreditDefaultSwap().price(_table(n, **cols), _market(hazards), CTX)["pv"]
    p = isda_periods(VDATE, mats)
    split = {}
    for i, k in enumerate(names):
        h = hazards[k]
        extra = np.array([p.maturity[i] - 0.3 * DAY, p.end[p.offsets[i] + 1] + 0.4 * DAY])
        times = np.concatenate((h.times, extra))
        order = np.argsort(times)
        # The hazard of the piece each new pillar falls in (backward flat).
        idx = np.minimum(np.searchsorted(h.times, times[order]), h.times.size - 1)
        split[k] = HazardCurve(times[order], h.hazards[idx], h.recovery)
    got = CreditDefaultSwap().price(_table(n, **cols), _market(split), CTX)["pv"]
    # Two more intervals each way, and the rounding of the integrated hazard at the new
    # pillars: the QuantLib test's bound per integral (8 (1 + L) eps, L < 3) over the
    # trade's integrals, twice.
    bound = np.array(
        [
            2 * 32 * EPS * _integrals(p, i, [DISC_DAYS / 365.0, split[k].times])
            for i, k in enumerate(names)
        ]
    )
    assert np.all(np.abs(got - pv) <= bound)


def test_rho_equals_revaluation_on_shifted_zero_rates():
    rng = np.random.default_rng(37)
    n = 20
    names = [f"N{i}" for i in range(n)]
    hazards = {k: _hazard(rng, 0.4) for k in names}
    table = _table(
        n,
        underlying=np.array(names),
        protection=rng.choice(["buy", "sell"], n),
        spread=rng.uniform(0.002, 0.05, n),
        maturity=_random_maturities(rng, n),
    )
    rho = CreditDefaultSwap().price(table, _market(hazards), CTX)["rho"]
    d = _discount()
    pv = [
        CreditDefaultSwap().price(
            table, _market(hazards, Curve(d.times, d.zero_rates + b, d.interpolation)), CTX
        )["pv"]
        for b in (1e-4, -1e-4)
    ]
    # Log-linear interpolation of shifted pillars is the shifted curve: the same
    # discount factors up to the rounding of z t, twice over the trade's integrals.
    p = isda_periods(VDATE, table["maturity"])
    bound = np.array(
        [64 * EPS * _integrals(p, i, [d.times, hazards[k].times]) for i, k in enumerate(names)]
    )
    assert np.all(np.abs(rho - 0.5 * (pv[0] - pv[1])) <= bound)


def test_conventional_spread_reprices_the_upfront_on_its_flat_curve():
    rng = np.random.default_rng(41)
    n = 40
    names = [f"N{i}" for i in range(n)]
    hazards = {k: _hazard(rng, float(rng.uniform(0.2, 0.6))) for k in names}
    cols = dict(
        underlying=np.array(names),
        protection=rng.choice(["buy", "sell"], n),
        spread=rng.choice([0.01, 0.05], n),
        maturity=_random_maturities(rng, n),
        model=rng.choice(["isda", "midpoint"], n),
    )
    table = _table(n, **cols)
    m = _market(hazards)
    lam = conventional_hazards(table, m)
    conv = conventional_spreads(table, m)
    assert np.all(np.isfinite(conv))
    # Through the product on a market of those flat curves at the conventional recovery.
    flat = {
        k: HazardCurve(np.ones(1), lam[i : i + 1], CONVENTIONAL_RECOVERY)
        for i, k in enumerate(names)
    }
    an = cds_analytics(_table(n, **cols), _market(flat))
    want = cds_analytics(table, m)
    # The solver stops within 1e-12 per unit notional; both upfronts carry the legs'
    # rounding (the QuantLib test's 8 (1 + L) eps per integral, L < 3).
    p = isda_periods(VDATE, cols["maturity"])
    legs = np.array(
        [
            32 * EPS * _integrals(p, i, [DISC_DAYS / 365.0, hazards[k].times])
            for i, k in enumerate(names)
        ]
    )
    assert np.all(np.abs(an["upfront"] - want["upfront"]) <= 1e-12 + 2 * legs)
    np.testing.assert_array_equal(an["par_spread"], conv)
    # On a flat curve at the conventional recovery the conventional spread is the par spread.
    flat_table = _table(n, **cols)
    same = conventional_spreads(flat_table, _market(flat))
    # Par spread moves with the upfront by 1 / annuity: the solver's 1e-12 and the legs'
    # rounding over the clean annuity.
    assert np.all(np.abs(same - an["par_spread"]) <= (1e-12 + 2 * legs) / an["risky_annuity"])


def test_parallel_target_equals_serial_for_both_models():
    from xiphpc.market.factors import factor_set
    from xiphpc.synth.generate import generate_market, generate_portfolio

    m = generate_market(5)
    table = generate_portfolio(3000, seed=5, market=m)["credit_default_swap"]
    assert set(table["model"]) >= {"isda", "midpoint"}
    pr = CreditDefaultSwap()
    serial = pr.price(table, m, PricingContext(parallel=False))
    parallel = pr.price(table, m, PricingContext(parallel=True))
    for k in serial:
        np.testing.assert_array_equal(serial[k], parallel[k])
    fs = factor_set(m)
    states = CurveStates(np.random.default_rng(2).normal(0.0, 1e-4, (7, len(fs))), fs)
    np.testing.assert_array_equal(
        pr.value_states(table, m, states, PricingContext(parallel=False)),
        pr.value_states(table, m, states, PricingContext(parallel=True)),
    )


@pytest.mark.parametrize("day", ["2026-11-24", "2026-12-18", "2026-12-19", "2026-12-20"])
def test_theta_is_the_value_one_day_on_with_the_same_curves(day: str):
    """Theta (curves held as functions of time from the valuation date) equals the value
    on the next day, on the same curves, less today's: around an IMM date too, where a
    premium falls due and the accrual period changes."""
    rng = np.random.default_rng(43)
    n = 30
    names = [f"N{i}" for i in range(n)]
    hazards = {k: _hazard(rng, 0.4) for k in names}
    vdate = dt.date.fromisoformat(day)
    imm = _imm_dates(vdate, 11)
    gap = (imm - np.datetime64(vdate, "D")).astype(np.int64)
    table = _table(
        n,
        underlying=np.array(names),
        protection=rng.choice(["buy", "sell"], n),
        spread=rng.uniform(0.002, 0.05, n),
        maturity=rng.choice(imm[(gap >= 182) & (gap <= 3652)], n),
    )
    m = dataclasses.replace(_market(hazards), valuation_date=vdate)
    got = CreditDefaultSwap().price(table, m, CTX)
    on = dataclasses.replace(m, valuation_date=vdate + dt.timedelta(days=1))
    pv_on = CreditDefaultSwap().price(table, on, CTX)["pv"]
    # The same integrals on times computed two ways (d - T - 1) / 365 and (d - T) / 365 -
    # 1 / 365, a few ulp of t <= 11 apart: each integral moves by its rate (< 1) times that,
    # within its rounding bound; the two PVs' rounding besides.
    p = isda_periods(vdate, table["maturity"])
    bound = np.array(
        [
            3 * 32 * EPS * _integrals(p, i, [DISC_DAYS / 365.0, hazards[k].times])
            for i, k in enumerate(names)
        ]
    )
    assert np.all(np.abs(got["theta"] - (pv_on - got["pv"])) <= bound)


def test_isda_periods_reject_matured_trades():
    with pytest.raises(ValueError, match="after the valuation date"):
        isda_periods(VDATE, np.array([TODAY + 200, TODAY], dtype="datetime64[D]"))
