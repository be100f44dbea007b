"""Credit curves and CDS against QuantLib.

QuantLib set-up matched to the product: ``CreditDefaultSwap`` on the same premium schedule
(dates passed explicitly), ``Actual360`` accrual, protection from today, accrual on default
paid at default, no accrual rebate; ``MidPointCdsEngine``; ``HazardRateCurve`` (backward-flat
hazards) with ``Actual365Fixed`` times.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import EPS
from markets import TODAY, VDATE, qdate, trade_table

from xiphpc.market.curves import (
    Curve,
    HazardCurve,
    add_months,
    bootstrap_hazard,
    cds_legs,
    cds_periods,
)
from xiphpc.market.curves.loader import CreditCurve
from xiphpc.market.data import Market, market_from_dict
from xiphpc.pricing.products.base import PricingContext
from xiphpc.pricing.products.credit import CreditDefaultSwap, cds_analytics

ql = pytest.importorskip("QuantLib")

pytestmark = pytest.mark.usefixtures("quantlib_today")

CTX = PricingContext(valuation_date=VDATE)
#: bootstrap_hazard keeps a hazard rate only if its own CDS pricer reprices the par spread
#: to this (its secant otherwise stops at |error| <= 1e-16 or at rounding).
SOLVER_ACCEPTS = 1e-12


def _leg_rounding(n_periods):
    """Rounding by which two implementations of one CDS leg may differ, per unit notional:
    the leg sums ``n_periods`` terms of at most 1, each off by at most 10 eps (two survival
    exps at 4 ulp and their difference, a discount exp, products): 20 n eps for the pair."""
    return 20 * n_periods * EPS


DISC_DAYS = np.array([30, 182, 365, 730, 1826, 3652, 7305])


def _discount() -> Curve:
    t = DISC_DAYS / 365.0
    return Curve(t, 0.03 + 0.006 * np.log1p(t), "loglinear_discount")


def _hazard() -> HazardCurve:
    days = np.array([365, 1095, 1826, 3652])
    return HazardCurve(days / 365.0, np.array([0.008, 0.012, 0.018, 0.022]), 0.4)


def _ql_curves(hazard: HazardCurve, disc: Curve):
    today = qdate(VDATE)
    dd = [today] + [today + int(d) for d in DISC_DAYS]
    dcurve = ql.DiscountCurve(
        dd, [1.0, *map(float, disc.discount(disc.times))], ql.Actual365Fixed()
    )
    hd = [today] + [today + int(round(t * 365)) for t in hazard.times]
    hcurve = ql.HazardRateCurve(
        hd, [float(hazard.hazards[0]), *map(float, hazard.hazards)], ql.Actual365Fixed()
    )
    dcurve.enableExtrapolation()
    hcurve.enableExtrapolation()
    return ql.YieldTermStructureHandle(dcurve), ql.DefaultProbabilityTermStructureHandle(hcurve)


def _table(n, **cols):
    return trade_table(
        "credit_default_swap",
        n,
        ids="C{i}",
        desk="CR",
        counterparty="X",
        underlying=np.full(n, "ACME-SNR"),
        model=np.full(n, "midpoint"),
        **cols,
    )


def _market(hazard=None) -> Market:
    return Market(
        VDATE,
        "USD",
        {"USD": 1.0},
        {"USD": _discount()},
        credit_curves={"ACME-SNR": CreditCurve("USD", hazard or _hazard())},
    )


def test_hazard_curve_survival_matches_quantlib():
    h = _hazard()
    _, hq = _ql_curves(h, _discount())
    days = np.arange(0, 5000, 13)
    want = np.array([hq.survivalProbability(qdate(VDATE) + int(d)) for d in days])
    # S = exp(-I), I <= 0.3 a sum of <= 5 pieces on either side: 1.5 eps in I, 4 ulp in
    # exp, twice: 11 eps.
    assert np.max(np.abs(h.survival(days / 365.0) - want)) <= 11 * EPS


def test_cds_match_quantlib_midpoint_engine():
    rng = np.random.default_rng(9)
    n = 80
    maturity = TODAY + rng.integers(60, 365 * 12, n).astype("timedelta64[D]")
    table = _table(
        n,
        protection=rng.choice(["buy", "sell"], n),
        spread=rng.uniform(0.001, 0.05, n),
        maturity=maturity,
    )
    table.columns["quantity"] = rng.uniform(1e6, 1e7, n)
    m = _market()
    got = CreditDefaultSwap().price(table, m, CTX)
    an = cds_analytics(table, m)
    p = cds_periods(VDATE, maturity)
    hd, hq = _ql_curves(_hazard(), _discount())
    engine = ql.MidPointCdsEngine(hq, 0.4, hd)
    for i in range(n):
        a, b = p.offsets[i], p.offsets[i + 1]
        dates = [qdate(TODAY)] + [qdate(TODAY + int(round(t * 365))) for t in p.end[a:b]]
        sched = ql.Schedule(dates, ql.WeekendsOnly(), ql.Following)
        side = ql.Protection.Buyer if table["protection"][i] == "buy" else ql.Protection.Seller
        cds = ql.CreditDefaultSwap(
            side,
            float(table["quantity"][i]),
            float(table["spread"][i]),
            sched,
            ql.Following,
            ql.Actual360(),
            True,
            True,
            qdate(TODAY),
            ql.FaceValueClaim(),
            ql.Actual360(),
            False,
        )
        cds.setPricingEngine(engine)
        q, s = table["quantity"][i], table["spread"][i]
        legs = _leg_rounding(b - a)
        assert got["pv"][i] == pytest.approx(cds.NPV(), rel=0, abs=legs * q)
        # Par spread: the protection leg's rounding over the risky annuity (years).
        ann = an["risky_annuity"][i]
        assert an["par_spread"][i] == pytest.approx(cds.fairSpread(), rel=0, abs=legs / ann)
        # QuantLib's BPS is its coupon leg (s * annuity) over s: that leg's rounding / s.
        assert ann * q * 1e-4 == pytest.approx(
            abs(cds.couponLegBPS()), rel=0, abs=legs * q * 1e-4 / s
        )


def test_cds_rho_matches_quantlib_bumped_discount_curve():
    maturity = np.array([TODAY + 1826])
    table = _table(1, protection=np.array(["buy"]), spread=np.array([0.01]), maturity=maturity)
    got = CreditDefaultSwap().price(table, _market(), CTX)
    p = cds_periods(VDATE, maturity)
    hd, hq = _ql_curves(_hazard(), _discount())
    dates = [qdate(TODAY)] + [qdate(TODAY + int(round(t * 365))) for t in p.end]
    npv = []
    for bump in (1e-4, -1e-4):
        shifted = ql.YieldTermStructureHandle(
            ql.ZeroSpreadedTermStructure(hd, ql.QuoteHandle(ql.SimpleQuote(bump)))
        )
        cds = ql.CreditDefaultSwap(
            ql.Protection.Buyer,
            1.0,
            0.01,
            ql.Schedule(dates, ql.WeekendsOnly(), ql.Following),
            ql.Following,
            ql.Actual360(),
            True,
            True,
            qdate(TODAY),
            ql.FaceValueClaim(),
            ql.Actual360(),
            False,
        )
        cds.setPricingEngine(ql.MidPointCdsEngine(hq, 0.4, shifted))
        npv.append(cds.NPV())
    # Both are the same +-1bp central difference of the same legs: they differ by the legs'
    # rounding (unit notional).
    legs = _leg_rounding(p.end.size)
    assert got["rho"][0] == pytest.approx(0.5 * (npv[0] - npv[1]), rel=0, abs=legs)


def test_bootstrapped_hazard_curve_reprices_its_spreads():
    tenors = [6, 12, 36, 60, 84, 120]
    spreads = np.array([0.004, 0.005, 0.008, 0.011, 0.013, 0.014])
    mats = np.array([add_months(np.array([TODAY]), m)[0] for m in tenors])
    h = bootstrap_hazard(VDATE, mats, spreads, 0.4, _discount())
    # Through the product and the kernel, not the bootstrap's own pricer.
    table = _table(
        len(tenors), protection=np.full(len(tenors), "buy"), spread=spreads, maturity=mats
    )
    an = cds_analytics(table, _market(h))
    p = cds_periods(VDATE, mats)
    legs = _leg_rounding(np.diff(p.offsets))
    # The solver's acceptance, plus the kernel's own rounding of the legs.
    ann = an["risky_annuity"]
    assert np.all(np.abs(an["par_spread"] - spreads) <= SOLVER_ACCEPTS + legs / ann)
    pv = CreditDefaultSwap().price(table, _market(h), CTX)["pv"]
    assert np.all(np.abs(pv) <= ann * SOLVER_ACCEPTS + legs)
    prot, ann = cds_legs(p, 3, h, _discount())
    assert prot / ann == pytest.approx(spreads[3], rel=0, abs=SOLVER_ACCEPTS)


def test_flat_spread_from_market_json():
    doc = {
        "valuation_date": "2026-11-24",
        "base_currency": "USD",
        "fx": {"USD": 1.0},
        "curves": {"USD": {"tenors": [1, 10], "zero_rates": [0.03, 0.035]}},
        "credit_curves": {"ACME-SNR": {"currency": "USD", "recovery": 0.35, "spread": 0.012}},
    }
    m = market_from_dict(doc)
    c = m.credit_curves["ACME-SNR"]
    assert c.hazard.times.size == 1 and c.hazard.recovery == 0.35
    table = _table(
        1,
        protection=np.array(["buy"]),
        spread=np.array([0.012]),
        maturity=add_months(np.array([TODAY]), 60),
    )
    an = cds_analytics(table, m)
    legs = _leg_rounding(cds_periods(VDATE, table["maturity"]).end.size)
    assert an["par_spread"][0] == pytest.approx(
        0.012, rel=0, abs=SOLVER_ACCEPTS + legs / an["risky_annuity"][0]
    )
    # Written back as hazard rates, read again to the same curve.
    again = market_from_dict(m.to_dict()).credit_curves["ACME-SNR"].hazard
    assert np.array_equal(again.hazards, c.hazard.hazards)


def test_bad_credit_entries_are_reported():
    from xiphpc.config.errors import JobError

    doc = {
        "valuation_date": "2026-11-24",
        "base_currency": "USD",
        "fx": {"USD": 1.0},
        "curves": {"USD": {"tenors": [1], "zero_rates": [0.03]}},
        "credit_curves": {
            "A": {"currency": "EUR", "spread": 0.01},
            "B": {"currency": "USD", "recovery": 1.2, "spread": 0.01},
            "C": {"currency": "USD", "spread": 0.01, "spreads": {}},
        },
    }
    with pytest.raises(JobError) as err:
        market_from_dict(doc, "m.json")
    fields = [p.field for p in err.value.problems]
    assert fields == ["credit_curves.A.currency", "credit_curves.B.recovery", "credit_curves.C"]


def test_cds_checks():
    m = _market()
    table = _table(
        3,
        protection=np.full(3, "buy"),
        spread=np.array([0.01, -0.01, 0.01]),
        maturity=np.full(3, TODAY + 400),
    )
    table.columns["underlying"] = np.array(["ACME-SNR", "ACME-SNR", "NOPE"])
    flags = {
        int(c): mask.tolist() for mask, c, _ in CreditDefaultSwap().check(table, m) if mask.any()
    }
    assert flags == {7: [False, False, True], 9: [False, True, False]}
