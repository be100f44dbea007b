"""Bucketed rate and credit sensitivities of rates and credit products.

The swap's bucketed PV01 (one bucket per pillar of its discount curve and of its projection
curve) is checked against QuantLib finite differences: the same swap priced by QuantLib on the
same curves with that single pillar moved by ±1bp.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import valid_trades
from test_rates import (
    CTX,
    PILLAR_DAYS,
    QL_DC,
    TODAY,
    VDATE,
    _curves,
    _days,
    _index,
    _market,
    _schedule,
    _table,
    qdate,
)

from xiphpc.market.factors import factor_set
from xiphpc.pricing.products import REGISTRY
from xiphpc.pricing.products.rates import InterestRateSwap
from xiphpc.risk.revalue import bump_sizes, sensitivities
from xiphpc.synth.generate import generate_market

ql = pytest.importorskip("QuantLib")


def _ql_swap_npv(table, i, disc_z, proj_z):
    """QuantLib NPV of swap ``i`` on a linear-zero discount curve and a log-linear-discount
    projection curve with the given pillar zero rates."""
    today = qdate(VDATE)
    dates = [today] + [today + int(d) for d in PILLAR_DAYS]
    t = PILLAR_DAYS / 365.0
    # Flat zero rate before the first and after the last pillar, as the engine's curves.
    z = [float(disc_z[0]), *map(float, disc_z), float(disc_z[-1])]
    qd = ql.ZeroCurve(
        dates + [today + 365 * 100],
        z,
        ql.Actual365Fixed(),
        ql.NullCalendar(),
        ql.Linear(),
        ql.Continuous,
    )
    qp = ql.DiscountCurve(dates, [1.0, *map(float, np.exp(-proj_z * t))], ql.Actual365Fixed())
    qd.enableExtrapolation()
    qp.enableExtrapolation()
    hd, hp = ql.YieldTermStructureHandle(qd), ql.YieldTermStructureHandle(qp)
    fixed_m = int(table["fixed_frequency"][i][:-1])
    float_m = int(table["float_frequency"][i][:-1])
    swap = ql.VanillaSwap(
        ql.Swap.Payer if table["pay_receive"][i] == "payer" else ql.Swap.Receiver,
        1.0,
        _schedule(table["start"][i], table["maturity"][i], fixed_m),
        float(table["fixed_rate"][i]),
        QL_DC[table["fixed_day_count"][i]],
        _schedule(table["start"][i], table["maturity"][i], float_m),
        _index(hp, float_m, table["float_day_count"][i]),
        0.0,
        QL_DC[table["float_day_count"][i]],
    )
    swap.setPricingEngine(ql.DiscountingSwapEngine(hd))
    return swap.NPV()


def test_swap_bucketed_pv01_equals_quantlib_finite_differences():
    rng = np.random.default_rng(5)
    n = 6
    start = TODAY + _days(rng, 1, 300, n)
    maturity = start + _days(rng, 700, 365 * 25, n)
    table = _table(
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
    market = _market()
    fs = factor_set(market)
    fidx, sens = sensitivities(
        InterestRateSwap(), table, market, fs, bump_sizes(fs, 1e-4, 1e-3, 1e-3, 1e-3), CTX
    )
    disc, proj = _curves()
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
                    bumped.append(_ql_swap_npv(table, i, d, q))
                ref = 0.5 * (bumped[0] - bumped[1])
                # Per unit notional: PV01 buckets to 1e-12 (one bp moves a 1.0 notional by
                # up to ~2e-3).
                assert abs(ours[i] - ref) <= 1e-12, (curve_name, p, i, ours[i], ref)
                checked += abs(ref) > 1e-8
    assert checked > n * 4  # the buckets are not trivially zero
    # Summed over the pillars of both curves, the buckets are the product's parallel rho, up
    # to the third-order terms by which a sum of central differences differs from the
    # central difference of the sum: about (1bp * maturity)^2 relative.
    rho = InterestRateSwap().price(table, market, CTX)["rho"]
    ir = fs.kind[np.maximum(fidx, 0)] == "ir"
    np.testing.assert_allclose(
        np.where((fidx >= 0) & ir, sens, 0.0).sum(axis=1), rho, rtol=1e-5, atol=1e-13
    )


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
    np.testing.assert_allclose(
        np.where(cs, sens, 0.0).sum(axis=1),
        0.5 * (up - dn),
        rtol=1e-6,
        atol=1e-9 * np.abs(up).max(),
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
    # The same kernel on the same shifted pillars: equal to rounding.
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())
    bumps = bump_sizes(fs, 1e-4, 1e-3, 1e-3, 1e-3)
    dense = []
    for p in (pr, other):
        fi, sv = sensitivities(p, table, m, fs, bumps, CTX)
        d = np.zeros((len(table), len(fs)))
        for i in range(len(table)):
            live = fi[i] >= 0
            d[i, fi[i][live]] = sv[i][live]
        dense.append(d)
    assert np.count_nonzero(dense[0]) > len(table)
    np.testing.assert_allclose(dense[0], dense[1], rtol=1e-10, atol=1e-10 * np.abs(dense[1]).max())
