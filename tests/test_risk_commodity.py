"""Commodity risk factors: futures-curve pillars (``cmd``, relative) and commodity vol pillars
(``cmdvol``, absolute) in sensitivities, historical scenarios and stresses."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import (
    EPS,
    assert_within,
    bs_fd_bounds,
    bucket_rounding,
    pv_rounding,
    trade_sizes,
    write_job,
)

from xiphpc.cli.main import main
from xiphpc.config.errors import JobError
from xiphpc.io.history import generate_history, historical_shifts
from xiphpc.market.curves.loader import Commodity, FuturesCurve
from xiphpc.market.data import Market, TermStructure
from xiphpc.market.factors import factor_levels, factor_set, shifted_market
from xiphpc.pricing.inputs import PriceInput, SmileVolInput, dense_shifts, no_shift, price_input
from xiphpc.pricing.products import REGISTRY, PricingContext
from xiphpc.risk.revalue import bump_sizes, scenario_pnl, sensitivities, stress_shifts
from xiphpc.synth.generate import generate_market, generate_portfolio

CTX = PricingContext()
#: Products whose trades may be on a commodity.
ON_COMMODITIES = (
    "commodity_option",
    "american_option",
    "barrier_option",
    "digital_option",
    "asian_option",
)


def _on_commodities(market: Market, trades: int = 3000, seed: int = 11) -> dict:
    """Generated trades of :data:`ON_COMMODITIES` whose underlying is a commodity."""
    out = {}
    for product, table in generate_portfolio(trades, seed=seed, market=market).items():
        if product in ON_COMMODITIES:
            rows = np.flatnonzero(np.isin(table["underlying"], list(market.commodities)))
            out[product] = table.take(rows)
    assert all(len(t) for t in out.values())
    return out


def _without_commodity_smiles(market: Market, flat: bool) -> Market:
    """``market`` with no commodity smile surface and, with ``flat``, each commodity's vol the
    same at every pillar: bumping every vol pillar by h then moves every vol by exactly h."""
    commodities = {
        n: dataclasses.replace(
            c, vol=TermStructure(c.vol.expiries, np.full(c.vol.vols.size, c.vol.vols[2]))
        )
        if flat
        else c
        for n, c in market.commodities.items()
    }
    surfaces = {n: s for n, s in market.vol_surfaces.items() if n not in market.commodities}
    return dataclasses.replace(market, commodities=commodities, vol_surfaces=surfaces)


def _pv_base(product: str, table, market: Market) -> np.ndarray:
    pv = REGISTRY[product].price(table, market, CTX)["pv"]
    return pv * market.fx_to_base(table["currency"])


def _bucket_sum(fs, fidx: np.ndarray, sens: np.ndarray, kind: str) -> np.ndarray:
    kinds = np.where(fidx >= 0, fs.kind[np.maximum(fidx, 0)], "")
    return np.where(kinds == kind, sens, 0.0).sum(axis=1)


def test_factor_set_appends_commodities_and_reads_their_levels() -> None:
    m = generate_market(3)
    fs = factor_set(m)
    before = factor_set(dataclasses.replace(m, commodities={}, rate_vols={}))
    # Existing factors keep their indices: commodities come after everything but rate vols.
    assert fs.labels[: len(before)] == before.labels
    tail = [lb for lb in fs.labels[len(before) :] if lb.startswith("cmd")]
    names = sorted(m.commodities)
    tenors = ["1M", "3M", "6M", "1Y", "2Y", "3Y"]
    assert tail == [f"cmd:{n}:{t}" for n in names for t in tenors] + [
        f"cmdvol:{n}:{t}" for n in names for t in tenors
    ]
    assert fs.index("cmd", names[0]) == len(before)
    assert not fs.absolute[fs.kind == "cmd"].any() and fs.absolute[fs.kind == "cmdvol"].all()
    levels = factor_levels(m, fs)
    for n in names:
        i, j = fs.index("cmd", n), fs.index("cmdvol", n)
        np.testing.assert_array_equal(levels[i : i + 6], m.commodities[n].futures.prices)
        np.testing.assert_array_equal(levels[j : j + 6], m.commodities[n].vol.vols)
    # shifted_market: futures relative, vols absolute (floored), other commodities untouched.
    shift = np.zeros(len(fs))
    shift[fs.index("cmd", "WTI") + 1] = -0.2
    shift[fs.index("cmdvol", "WTI") : fs.index("cmdvol", "WTI") + 2] = [0.05, -5.0]
    moved = shifted_market(m, fs, shift)
    wti, was = moved.commodities["WTI"], m.commodities["WTI"]
    assert wti.futures.prices[1] == was.futures.prices[1] * 0.8
    np.testing.assert_array_equal(
        np.delete(wti.futures.prices, 1), np.delete(was.futures.prices, 1)
    )
    assert wti.vol.vols[0] == was.vol.vols[0] + 0.05 and wti.vol.vols[1] == 1e-8
    gold, was = moved.commodities["GOLD"], m.commodities["GOLD"]
    np.testing.assert_array_equal(gold.futures.prices, was.futures.prices)
    np.testing.assert_array_equal(gold.vol.vols, was.vol.vols)


def test_price_input_is_the_futures_curve_to_the_last_bit_on_pillars() -> None:
    curves = {
        "ONE": FuturesCurve(np.array([0.5]), np.array([71.3])),
        "TWO": FuturesCurve(np.array([0.1, 0.5, 2.0]), np.array([70.1, 72.3, 75.7])),
    }
    vol = TermStructure(np.ones(1), np.array([0.3]))
    m = generate_market(3)
    m = dataclasses.replace(m, commodities={n: Commodity("USD", c, vol) for n, c in curves.items()})
    fs = factor_set(m)
    t = np.array([0.01, 0.5, 3.0, 0.05, 0.1, 0.5, 2.0, 2.5, 0.3, 1.2])
    names = np.array(["ONE"] * 3 + ["TWO"] * 7)
    got = price_input(curves, "cmd", fs, names, t)
    value = got.value(np.arange(t.size), no_shift)
    exact = np.concatenate([curves["ONE"].price(t[:3]), curves["TWO"].price(t[3:])])
    np.testing.assert_array_equal(value[:8], exact[:8])  # flat outside, on pillars
    # Between pillars a weight, a product and a sum, in either order: 2 eps.
    np.testing.assert_allclose(value[8:], exact[8:], rtol=2 * EPS, atol=0)
    # A relative shift of every pillar moves every price by that relative amount.
    shifts = np.zeros((2, len(fs)))
    shifts[1, got.factors()[0].min() : got.factors()[1].max() + 1] = 0.1
    dense = got.dense(0, t.size, shifts).reshape(t.size, 2)
    np.testing.assert_array_equal(dense[:, 0], value)
    # One product by 1.1 either way, after the interpolation's 2 eps.
    np.testing.assert_allclose(dense[:, 1], value * 1.1, rtol=3 * EPS, atol=0)
    rows = np.repeat(np.arange(t.size), 2)
    again = got.value(rows, dense_shifts(shifts, np.tile([0, 1], t.size)))
    np.testing.assert_array_equal(again, dense.ravel())


def test_commodity_inputs_and_their_dense_forms_agree_bitwise() -> None:
    m = generate_market(4)
    fs = factor_set(m)
    shifts = np.random.default_rng(2).normal(0.0, 0.03, size=(3, len(fs)))
    for product, table in _on_commodities(m).items():
        inputs = REGISTRY[product].market_inputs(table, m, fs)
        assert isinstance(inputs["spot"], PriceInput), product
        # The generated market has a smile surface on every commodity.
        assert isinstance(inputs["vol"], SmileVolInput), product
        n = len(table)
        rows = np.repeat(np.arange(n), 3)
        source = dense_shifts(shifts, np.tile(np.arange(3), n))
        for key, inp in inputs.items():
            np.testing.assert_array_equal(
                inp.dense(0, n, shifts), inp.value(rows, source), err_msg=key
            )
            np.testing.assert_array_equal(
                inp.dense(0, n, shifts, parallel=True), inp.dense(0, n, shifts), err_msg=key
            )


def test_commodity_buckets_sum_to_analytic_delta_and_vega() -> None:
    """Without a smile and with flat vols, moving every futures pillar by +1% moves the
    futures price by +1% and moving every vol pillar by h moves the vol by h, so the pillar
    buckets sum to the pricer's analytic cash delta (per +1%) and vega (per vol point). The
    buckets are central differences with h = 1e-5: they agree to their truncation and the
    rounding of their PVs over the step (conftest.bs_fd_bounds, bucket_rounding)."""
    m = _without_commodity_smiles(generate_market(4), flat=True)
    fs = factor_set(m)
    h = 1e-5
    bumps = bump_sizes(fs, h, h, h, h)
    for product in ("commodity_option", "digital_option"):
        table = _on_commodities(m)[product]
        fidx, sens = sensitivities(REGISTRY[product], table, m, fs, bumps, CTX)
        meas = REGISTRY[product].price(table, m, CTX)
        fx = m.fx_to_base(table["currency"])
        truncation = bs_fd_bounds(product, table, m, fs, h)
        kinds = np.where(fidx >= 0, fs.kind[np.maximum(fidx, 0)], "")
        for kind, greek, analytic in (
            ("cmd", "delta", meas["delta"] * fx * 0.01),
            ("cmdvol", "vega", meas["vega"] * fx),
        ):
            fd = _bucket_sum(fs, fidx, sens, kind)
            n_buckets = (kinds == kind).sum(axis=1)
            rounding = bucket_rounding(product, table, m, n_buckets, 0.01, h)
            bound = truncation[greek] * np.abs(analytic) + rounding
            assert_within(fd, analytic, bound, f"{product} {greek}")
        delta = _bucket_sum(fs, fidx, sens, "cmd")
        # A trade depends on at most two futures pillars and two vol pillars.
        assert ((fidx >= 0) & np.isin(fs.kind[np.maximum(fidx, 0)], ["cmd"])).sum(1).max() <= 2
        assert np.all(np.abs(delta) > 0) and np.all(_bucket_sum(fs, fidx, sens, "eq") == 0)


def test_smile_delta_is_sticky_moneyness() -> None:
    """With a smile, the futures buckets of a trade sum to its PV change when every pillar of
    its commodity moves (revaluation on shifted markets): the vol slides along the smile.
    The smile is piecewise linear in moneyness, so near one of its nodes one-pillar and
    all-pillar central differences differ at first order in h: h = 1e-6, agreement to 1e-6
    relative."""
    m = generate_market(4)
    fs = factor_set(m)
    h = 1e-6
    table = _on_commodities(m)["commodity_option"]
    fidx, sens = sensitivities(
        REGISTRY["commodity_option"], table, m, fs, bump_sizes(fs, h, h, h, h), CTX
    )
    delta = _bucket_sum(fs, fidx, sens, "cmd")
    kinds = np.where(fidx >= 0, fs.kind[np.maximum(fidx, 0)], "")
    full = np.zeros(len(table))
    for name in m.commodities:
        rows = table["underlying"] == name
        pv = []
        for sign in (1.0, -1.0):
            shift = np.where((fs.kind == "cmd") & (fs.name == name), sign * h, 0.0)
            pv.append(_pv_base("commodity_option", table, shifted_market(m, fs, shift)))
        full[rows] = ((pv[0] - pv[1]) / (2 * h) * 0.01)[rows]
    # First order in h near a smile node (see above), and each side's buckets' rounding
    # (all pillars' for the parallel move) over the step.
    n_buckets = (kinds == "cmd").sum(axis=1) + 1
    rounding = bucket_rounding("commodity_option", table, m, n_buckets, 0.01, h)
    assert_within(delta, full, h * np.abs(full) + rounding, "delta")
    analytic = REGISTRY["commodity_option"].price(table, m, CTX)["delta"] * 0.01
    # The smile's slope is in the delta: it is not the fixed-vol analytic one.
    assert np.abs(delta - analytic).max() > 1e-4 * np.abs(analytic).max()


@pytest.mark.parametrize("smile", [True, False])
def test_commodity_stress_equals_revaluation_on_the_shifted_market(smile: bool) -> None:
    m = generate_market(5)
    m = m if smile else _without_commodity_smiles(m, flat=False)
    fs = factor_set(m)
    shift = stress_shifts(fs, {"cmd:*": -0.2, "cmdvol:WTI:*": 0.05}, "commodities down", "t")
    assert set(fs.kind[shift != 0]) == {"cmd", "cmdvol"}
    moved = shifted_market(m, fs, shift)
    for product, table in _on_commodities(m).items():
        pnl = scenario_pnl(REGISTRY[product], table, m, fs, shift[None, :], CTX)[:, 0]
        base = _pv_base(product, table, m)
        full = _pv_base(product, table, moved) - base
        # Two PVs on either path.
        bound = 2 * pv_rounding(product, table, m)
        np.testing.assert_allclose(pnl, full, rtol=0, atol=bound, err_msg=product)
        assert np.abs(full).max() > 1e-3 * np.abs(base).max(), product


def test_historical_commodity_pnl_equals_revaluation_on_shifted_markets() -> None:
    m = generate_market(6)
    fs = factor_set(m)
    history = generate_history(m, 6, seed=3)
    shifts, _ = historical_shifts(history, fs)
    cmd = fs.kind == "cmd"
    # Futures move relatively, vols absolutely.
    j, k = np.flatnonzero(cmd)[0], np.flatnonzero(fs.kind == "cmdvol")[0]
    lv = history.levels[:, [history.labels.index(fs.labels[i]) for i in (j, k)]]
    # A ratio less one, either way: eps/2 of a number near 1, twice.
    assert shifts[2, j] == pytest.approx(lv[3, 0] / lv[2, 0] - 1.0, rel=0, abs=EPS)
    assert shifts[2, k] == lv[3, 1] - lv[2, 1]
    assert np.abs(shifts[:, cmd]).max() > 1e-3
    for product, table in _on_commodities(m).items():
        pnl = scenario_pnl(REGISTRY[product], table, m, fs, shifts, CTX)
        base = _pv_base(product, table, m)
        bound = 2 * pv_rounding(product, table, m)  # two PVs on either path
        for s in range(shifts.shape[0]):
            full = _pv_base(product, table, shifted_market(m, fs, shifts[s])) - base
            np.testing.assert_allclose(pnl[:, s], full, rtol=0, atol=bound, err_msg=product)


def test_history_without_commodity_factors_is_reported() -> None:
    m = generate_market(1)
    fs = factor_set(m)
    h = generate_history(m, 10, seed=1)
    keep = [i for i, lb in enumerate(h.labels) if not lb.startswith("cmd")]
    old = type(h)(h.dates, [h.labels[i] for i in keep], h.levels[:, keep], "old.h5")
    with pytest.raises(JobError, match="have no history"):
        historical_shifts(old, fs)
    # A market without commodities reads it as before.
    plain = factor_set(dataclasses.replace(m, commodities={}))
    shifts, _ = historical_shifts(old, plain)
    assert shifts.shape == (9, len(plain))


def test_single_pillar_commodity_is_one_factor_of_each_kind() -> None:
    m = generate_market(2)
    futures = FuturesCurve(np.array([0.5]), np.array([80.0]))
    m = dataclasses.replace(
        m,
        commodities={"OIL": Commodity("USD", futures, TermStructure(np.ones(1), np.array([0.3])))},
        vol_surfaces={},
    )
    fs = factor_set(m)
    assert [lb for lb in fs.labels if lb.startswith("cmd")] == ["cmd:OIL:6M", "cmdvol:OIL:1Y"]
    table = _on_commodities(generate_market(2), trades=3000)["commodity_option"]
    table.columns["underlying"] = np.full(len(table), "OIL")
    table.columns["strike"] = np.full(len(table), 80.0)
    inputs = REGISTRY["commodity_option"].market_inputs(table, m, fs)
    rows = np.arange(len(table))
    np.testing.assert_array_equal(inputs["spot"].value(rows, no_shift), 80.0)
    np.testing.assert_array_equal(inputs["vol"].value(rows, no_shift), 0.3)


def test_job_with_a_commodity_stress_matches_a_job_on_the_shifted_market(tmp_path: Path) -> None:
    sections = {
        "portfolio": "generate = { trades = 1500, seed = 5, bad_fraction = 0.0 }",
        "market": "generate = { seed = 5 }",
        "aggregation": 'levels = ["desk"]',
        "run": "partitions = 3",
    }
    risk = (
        "sensitivities = true\n[[risk.stress]]\n"
        'name = "commodities -20%"\nshifts = { "cmd:*" = -0.2 }'
    )
    job = write_job(tmp_path, risk=risk, **sections)
    res = CliRunner().invoke(main, ["run", str(job)])
    assert res.exit_code == 0, res.output
    m = generate_market(5)
    fs = factor_set(m)
    shift = np.where(fs.kind == "cmd", -0.2, 0.0)
    (tmp_path / "shifted.json").write_text(json.dumps(shifted_market(m, fs, shift).to_dict()))
    moved = write_job(tmp_path, name="moved", **(sections | {"market": 'path = "shifted.json"'}))
    res = CliRunner().invoke(main, ["run", str(moved)])
    assert res.exit_code == 0, res.output
    # Per trade two PVs on either path, then sums over at most all trades.
    tables = generate_portfolio(1500, seed=5, market=m)
    bound = sum(2 * pv_rounding(p, t, m) * len(t) for p, t in tables.items())
    bound += 1500 * EPS * sum(trade_sizes(t, m).sum() for t in tables.values())
    with h5py.File(tmp_path / "job.h5") as a, h5py.File(tmp_path / "moved.h5") as b:
        stress = a["scenarios/stress/desk/pnl"][:, 0]
        full = b["aggregates/desk/pv"][()] - a["aggregates/desk/pv"][()]
        np.testing.assert_allclose(stress, full, rtol=0, atol=bound)
        desks = [d.decode() for d in a["scenarios/stress/desk/key"][()]]
        assert stress[desks.index("COMMODITIES")] != 0.0
        labels = {x.decode() for x in a["sensitivities/total/factor"][()]}
        assert any(x.startswith("cmd:") for x in labels)
        assert any(x.startswith("cmdvol:") for x in labels)
