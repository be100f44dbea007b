"""Rate vol grids as risk factors: vega buckets of caps and swaptions by expiry x tenor node.

On a grid that is flat across expiries a parallel move of every node moves each trade's vol
by exactly as much (linear in tenor, linear in total variance across expiries), so the sum
of a trade's node buckets is its analytic vega. Central differences of h = 0.1bp on normal
vols of at least 40bp leave third-order terms of h^2/6 (1 + d^2)^2 / vol^2 relative (each
vol derivative of the normal density brings (1 + d^2) / vol): 1.04e-6 (1 + d^2)^2, within
1e-5 up to |d| = 1.4. Beyond, a caplet's vega falls as e^(-d^2/2) of its at-the-money vega,
so the error stays below 1.04e-6 * 16 e^(-1.5) = 3.7e-6 of that, which the largest vega of
the table bounds (its trades have notionals of one size): 4e-6 of it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import pv_rounding, valid_trades

from xiphpc.market.factors import factor_levels, factor_set, shifted_market
from xiphpc.pricing.products import REGISTRY, PricingContext
from xiphpc.risk.revalue import bump_sizes, scenario_pnl, sensitivities, stress_shifts
from xiphpc.synth.generate import generate_market

CTX = PricingContext()


def _flat_in_expiry(market):
    grids = {
        c: dataclasses.replace(s, vols=np.repeat(s.vols[:1], s.expiries.size, axis=0))
        for c, s in market.rate_vols.items()
    }
    return dataclasses.replace(market, rate_vols=grids)


def _valid(product: str, market, n: int = 60):
    # Trades on the market's grid: a trade's own vol moves with no factor.
    table = valid_trades(product, market, 6000, 4)
    return table.take(np.flatnonzero(np.isnan(table["vol"]))[:n])


@pytest.mark.parametrize("product", ["swaption", "cap_floor"])
def test_vega_buckets_sum_to_the_analytic_vega(product: str) -> None:
    m = _flat_in_expiry(generate_market(4))
    fs = factor_set(m)
    table = _valid(product, m)
    pr = REGISTRY[product]
    fidx, sens = sensitivities(pr, table, m, fs, bump_sizes(fs, 1e-4, 1e-3, 1e-3, 1e-3), CTX)
    live = fidx >= 0
    kinds = np.where(live, fs.kind[np.maximum(fidx, 0)], "")
    assert np.all(np.isin(kinds[live], ("ir", "fx", "irvol")))
    # Every vol bucket is a node of the trade's own currency grid.
    names = fs.name[np.maximum(fidx, 0)]
    vol = kinds == "irvol"
    assert np.all(~vol | (names == table["currency"][:, None]))
    bucketed = np.where(vol, sens, 0.0).sum(axis=1)
    # The vega measure is per 1bp of normal vol for normal vols; buckets are in base currency.
    vega = pr.price(table, m, CTX)["vega"] * m.fx_to_base(table["currency"])
    assert np.count_nonzero(np.abs(vega) > 1.0) > len(table) // 2
    np.testing.assert_allclose(bucketed, vega, rtol=1e-5, atol=4e-6 * np.abs(vega).max())


def test_rate_vol_stress_equals_revaluation_and_levels_are_the_nodes() -> None:
    m = generate_market(5)
    fs = factor_set(m)
    table = _valid("swaption", m, 200)
    pr = REGISTRY["swaption"]
    shift = stress_shifts(fs, {"irvol:USD:*": 0.001, "irvol:*": -0.0005}, "vols", "job.toml")
    pnl = scenario_pnl(pr, table, m, fs, shift[None, :], CTX)[:, 0]
    moved = shifted_market(m, fs, shift)
    fx = m.fx_to_base(table["currency"])
    full = (pr.price(table, moved, CTX)["pv"] - pr.price(table, m, CTX)["pv"]) * fx
    # Two PVs on either path.
    np.testing.assert_allclose(pnl, full, rtol=0, atol=2 * pv_rounding("swaption", table, m))
    usd = table["currency"] == "USD"
    # Long vol gains when USD vols rise 10bp and loses when the others fall 5bp.
    long_vol = np.sign(table["quantity"]) > 0
    assert np.all(pnl[usd & long_vol] > 0) and np.all(pnl[~usd & long_vol] < 0)
    levels = factor_levels(m, fs)
    for ccy, grid in m.rate_vols.items():
        first = fs.index("irvol", ccy)
        np.testing.assert_array_equal(levels[first : first + grid.vols.size], grid.vols.ravel())
        assert fs.labels[first] == f"irvol:{ccy}:6Mx1Y"
