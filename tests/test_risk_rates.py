"""Bucketed rate and credit sensitivities of rates and credit products.

The swap's bucketed PV01 (one bucket per pillar of its discount curve and of its projection
curve) is checked against QuantLib finite differences: the same swap priced by QuantLib on the
same curves with that single pillar moved by ±1bp.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import EPS, dense_sensitivities, pv_rounding, sum_rounding, valid_trades
from markets import (
    PILLAR_DAYS,
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
from xiphpc.market.curves import calendar
from xiphpc.market.factors import factor_set
from xiphpc.market.fixings import Fixings
from xiphpc.pricing.products import REGISTRY, PricingContext
from xiphpc.pricing.products.rates import InterestRateSwap
from xiphpc.risk.revalue import bump_sizes, sensitivities
from xiphpc.synth.generate import generate_market

ql = pytest.importorskip("QuantLib")

pytestmark = pytest.mark.usefixtures("quantlib_today")

CTX = PricingContext(valuation_date=VDATE)


def _ql_swap(table, i, disc_z, proj_z):
    """QuantLib swap ``i`` on a linear-zero discount curve and a log-linear-discount
    projection curve with the given pillar zero rates: ``(NPV, number of coupons)``; its
    index ``USD-LIBOR-3M`` by the conventions table, with indexed coupons."""
    hd, hp = ql_rates_handles(disc_z, proj_z)
    fixed_m = int(table["fixed_frequency"][i][:-1])
    float_m = int(table["float_frequency"][i][:-1])
    swap = ql.VanillaSwap(
        ql.Swap.Payer if table["pay_receive"][i] == "payer" else ql.Swap.Receiver,
        1.0,
        # The swaps' calendar: USD's, the column being empty.
        ql_schedule(table["start"][i], table["maturity"][i], fixed_m, "USD"),
        float(table["fixed_rate"][i]),
        ql_day_count(table["fixed_day_count"][i]),
        ql_schedule(table["start"][i], table["maturity"][i], float_m, "USD"),
        ql_index_of("USD-LIBOR-3M", hp),
        0.0,
        ql_day_count(table["float_day_count"][i]),
    )
    swap.setPricingEngine(ql.DiscountingSwapEngine(hd))
    return swap.NPV(), len(swap.leg(0)) + len(swap.leg(1))


@pytest.fixture
def indexed_coupons():
    """QuantLib's IBOR coupons forward over the index tenor (not par coupons)."""
    ql.IborCoupon.createIndexedCoupons()
    yield
    ql.IborCoupon.createAtParCoupons()


def test_swap_bucketed_pv01_equals_quantlib_finite_differences(indexed_coupons):
    rng = np.random.default_rng(5)
    n = 6
    start = TODAY + rng.integers(1, 300, n).astype("timedelta64[D]")
    maturity = start + rng.integers(700, 365 * 25, n).astype("timedelta64[D]")
    table = trade_table(
        "interest_rate_swap",
        n,
        underlying=np.full(n, "USD-LIBOR-3M"),
        pay_receive=rng.choice(["payer", "receiver"], n),
        fixed_rate=rng.uniform(0.02, 0.06, n),
        start=start,
        maturity=maturity,
        fixed_frequency=rng.choice(["6M", "12M"], n),
        float_frequency=np.full(n, "3M"),
        fixed_day_count=np.full(n, "30/360"),
        float_day_count=np.full(n, "ACT/360"),
        spread=np.zeros(n),
    )
    market = rates_market()
    fs = factor_set(market)
    fidx, sens = sensitivities(
        InterestRateSwap(), table, market, fs, bump_sizes(fs, 1e-4, 1e-3, 1e-3, 1e-3), CTX
    )
    disc, proj = rates_curves()
    k = PILLAR_DAYS.size
    checked = 0
    for curve_name, base in (("USD", disc), ("USD-LIBOR-3M", proj)):
        first = fs.index("ir", curve_name)
        for p in range(k):
            f = first + p
            ours = np.array([sens[i][fidx[i] == f].sum() for i in range(n)])
            for i in range(n):
                bumped = []
                for h in (1e-4, -1e-4):
                    z = base.zero_rates.copy()
                    z[p] += h
                    d, q = (z, proj.zero_rates) if curve_name == "USD" else (disc.zero_rates, z)
                    npv, n_terms = _ql_swap(table, i, d, q)
                    bumped.append(npv)
                ref = 0.5 * (bumped[0] - bumped[1])
                # Per unit notional, both half differences of two PVs whose coupons are at
                # most 1: within the PVs' rounding.
                bound = sum_rounding(n_terms, 1.0)
                assert abs(ours[i] - ref) <= bound, (curve_name, p, i, ours[i], ref)
                checked += abs(ref) > 1e-8
    assert checked > n * 4  # the buckets are not trivially zero
    # Summed over the pillars of both curves, the buckets are the product's parallel rho, up
    # to the third-order terms by which a sum of central differences differs from the
    # central difference of the sum: a cash flow exp(-z T) on one or two pillars has third
    # derivatives of T^3 along the parallel move and between T^3/4 and T^3 summed over its
    # pillars, so h^2/6 (T^3 + T^3) = h^2 T^2/3 of its T-weighted value (rho's terms, all
    # of one sign). Rounding: each of the 26 buckets to its PVs' own rounding.
    h = 1e-4
    t_max = float((maturity - TODAY).astype(np.float64).max()) / 365.0
    rho = InterestRateSwap().price(table, market, CTX)["rho"]
    ir = fs.kind[np.maximum(fidx, 0)] == "ir"
    n_coupons = 2 * t_max + 4 * t_max + 2  # semi-annual fixed, quarterly float, at most
    one_pv = sum_rounding(n_coupons, 1.0) / 2  # one implementation's share
    np.testing.assert_allclose(
        np.where((fidx >= 0) & ir, sens, 0.0).sum(axis=1),
        rho,
        rtol=h**2 * t_max**2 / 3,
        atol=(2 * k + 1) * one_pv,
    )


def test_seasoned_ois_bucketed_pv01_equals_quantlib_finite_differences():
    # The curve-state path (bucketed bumps in one kernel call) on compounded coupons: one
    # swap per compounding method, seasoned, with fixings; projected on the discount curve.
    n = 4
    methods = np.array(["plain", "lookback", "observation_shift", "lockout"])
    start = TODAY - np.array([40, 100, 20, 70]).astype("timedelta64[D]")
    maturity = TODAY + np.array([800, 2000, 3000, 1500]).astype("timedelta64[D]")
    table = trade_table(
        "interest_rate_swap",
        n,
        underlying=np.full(n, "USD-SOFR"),
        pay_receive=np.array(["payer", "receiver", "payer", "receiver"]),
        fixed_rate=np.full(n, 0.035),
        start=start,
        maturity=maturity,
        fixed_frequency=np.full(n, "12M"),
        float_frequency=np.full(n, "12M"),
        fixed_day_count=np.full(n, "ACT/360"),
        float_day_count=np.full(n, "ACT/360"),
        spread=np.zeros(n),
        calendar=np.full(n, "US-SOFR"),
        compounding=methods,
        compounding_days=np.array([0.0, 2.0, 2.0, 2.0]),
    )
    market = rates_market()
    days = np.arange(TODAY - 200, TODAY + 1)
    days = days[calendar("US-SOFR").is_business_day(days)]
    rates = 0.04 + 0.001 * np.sin(np.arange(days.size))
    market.fixings = Fixings.of({"USD-SOFR": dict(zip(days.astype(str), rates, strict=True))})
    fs = factor_set(market)
    fidx, sens = sensitivities(
        InterestRateSwap(), table, market, fs, bump_sizes(fs, 1e-4, 1e-3, 1e-3, 1e-3), CTX
    )
    disc, _ = rates_curves()
    first = fs.index("ir", "USD")
    c = INDICES["USD-SOFR"]
    try:
        checked = 0
        for p in range(PILLAR_DAYS.size):
            ours = np.array([sens[i][fidx[i] == first + p].sum() for i in range(n)])
            for i in range(n):
                npv = []
                for h in (1e-4, -1e-4):
                    z = disc.zero_rates.copy()
                    z[p] += h
                    hd, _ = ql_rates_handles(z, z)
                    index = ql_index_of("USD-SOFR", hd)
                    for d, r in zip(days, rates, strict=True):
                        index.addFixing(qdate(d), float(r), True)
                    look = 2 if methods[i] in ("lookback", "observation_shift") else 0
                    swap = ql.OvernightIndexedSwap(
                        ql.Swap.Payer if table["pay_receive"][i] == "payer" else ql.Swap.Receiver,
                        [1.0],
                        ql_schedule(start[i], maturity[i], 12, "US-SOFR"),
                        0.035,
                        ql.Actual360(),
                        [1.0],
                        ql_schedule(start[i], maturity[i], 12, "US-SOFR"),
                        index,
                        0.0,
                        c.payment_lag,
                        ql.Following,
                        ql_calendar("US-SOFR"),
                        False,
                        ql.RateAveraging.Compound,
                        look,
                        2 if methods[i] == "lockout" else 0,
                        bool(methods[i] == "observation_shift"),
                    )
                    swap.setPricingEngine(ql.DiscountingSwapEngine(hd))
                    npv.append(swap.NPV())
                ref = 0.5 * (npv[0] - npv[1])
                # Half differences of two PVs of at most a factor a day each (as in
                # tests/test_swap_conventions.py): within their rounding.
                n_terms = int((maturity[i] - start[i]).astype(int)) + 10
                assert abs(ours[i] - ref) <= sum_rounding(n_terms, 1.0), (p, methods[i])
                checked += abs(ref) > 1e-8
        assert checked > n * 4
    finally:
        ql.IndexManager.instance().clearHistories()


def test_cds_cs01_buckets_sum_to_a_parallel_hazard_shift():
    m = generate_market(3)
    table = valid_trades("credit_default_swap", m, 3000, 3)
    fs = factor_set(m)
    pr = REGISTRY["credit_default_swap"]
    fidx, sens = sensitivities(pr, table, m, fs, bump_sizes(fs, 1e-4, 1e-3, 1e-3, 1e-3), CTX)
    cs = (fidx >= 0) & (fs.kind[np.maximum(fidx, 0)] == "cs")
    assert cs.any(axis=1).all()
    # Every bucket is on the trade's own reference entity.
    names = fs.name[np.maximum(fidx, 0)]
    assert np.all(~cs | (names == table["underlying"][:, None]))
    # The sum of the buckets equals a parallel +-1bp shift of the whole hazard curve.
    from xiphpc.market.factors import shifted_market

    par = np.zeros(len(fs))
    par[fs.kind == "cs"] = 1e-4
    fx = m.fx_to_base(table["currency"])
    up = pr.price(table, shifted_market(m, fs, par), CTX)["pv"] * fx
    dn = pr.price(table, shifted_market(m, fs, -par), CTX)["pv"] * fx
    # As for the swap's buckets: h^2 T^2/3 of the third-order terms (hazard and discount
    # both enter as exp(-x T)), and the rounding of each bucket's PVs and of the parallel
    # difference's, 10 eps per quarterly period of the notional.
    h = 1e-4
    years = (table["maturity"] - np.datetime64(m.valuation_date, "D")).astype(np.float64) / 365
    n_buckets = cs.sum(axis=1).max()
    one_pv = 10 * (4 * years.max() + 1) * EPS * np.abs(table["quantity"] * fx).max()
    np.testing.assert_allclose(
        np.where(cs, sens, 0.0).sum(axis=1),
        0.5 * (up - dn),
        rtol=h**2 * years.max() ** 2 / 3,
        atol=(n_buckets + 1) * one_pv,
    )
    # Long protection gains when hazard rates rise (quantity < 0 turns the position round).
    long_protection = np.where(table["protection"] == "buy", 1.0, -1.0) * np.sign(table["quantity"])
    total = np.where(cs, sens, 0.0).sum(axis=1)
    assert np.all(total * long_protection > 0)


CURVE_PRODUCTS = [
    "interest_rate_swap",
    "forward_rate_agreement",
    "fixed_rate_bond",
    "cap_floor",
    "swaption",
    "credit_default_swap",
]


@pytest.mark.parametrize("product", CURVE_PRODUCTS)
def test_curve_states_equal_whole_shifted_markets(product: str) -> None:
    """Scenario P&L and bucketed sensitivities computed as curve states of one kernel call
    equal those of the same product revalued on one whole shifted market per scenario."""
    from xiphpc.pricing.products import Revaluation
    from xiphpc.risk.revalue import scenario_pnl

    m = generate_market(9)
    fs = factor_set(m)
    table = valid_trades(product, m, 4000, 9, 40)
    pr = REGISTRY[product]
    assert pr.revaluation is Revaluation.CURVE_STATES

    class MarketPath(type(pr)):
        revaluation = Revaluation.SHIFTED_MARKETS

    other = MarketPath()
    shifts = np.random.default_rng(2).normal(0.0, 0.002, size=(6, len(fs)))
    got = scenario_pnl(pr, table, m, fs, shifts, CTX)
    ref = scenario_pnl(other, table, m, fs, shifts, CTX)
    # The same kernel on the same shifted pillars, one summed in states and one per market:
    # two PVs per P&L, each within pv_rounding (180 coupons of the notional) on either path.
    pnl = 2 * pv_rounding(product, table, m)
    np.testing.assert_allclose(got, ref, rtol=0, atol=pnl)
    bumps = bump_sizes(fs, 1e-4, 1e-3, 1e-3, 1e-3)
    dense = []
    for p in (pr, other):
        fi, sv = sensitivities(p, table, m, fs, bumps, CTX)
        dense.append(dense_sensitivities(fi, sv, len(fs)))
    assert np.count_nonzero(dense[0]) > len(table)
    # Central differences report (up - dn) / (2 h) per unit: a factor unit / (2 h) of at
    # most 5 (vols and FX bumped by 1e-3, reported per 0.01; normal vols 1e-5 per 1e-4).
    np.testing.assert_allclose(dense[0], dense[1], rtol=0, atol=5 * pnl)
