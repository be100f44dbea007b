"""Portfolio risk: bucketed sensitivities, historical VaR/ES and stress scenarios."""

from __future__ import annotations

import json
import math
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
    dense_sensitivities,
    pv_rounding,
    trade_sizes,
    valid_trades,
    write_job,
)

from xiphpc.cli.main import main
from xiphpc.config.errors import JobError
from xiphpc.io.history import generate_history, historical_shifts
from xiphpc.market.data import TermStructure
from xiphpc.market.factors import factor_set, shifted_market
from xiphpc.pricing.products import REGISTRY, PricingContext, Revaluation, check_revaluation
from xiphpc.risk.revalue import bump_sizes, scenario_pnl, sensitivities
from xiphpc.risk.var import tail_count, var_es
from xiphpc.synth.generate import generate_market, generate_portfolio

CTX = PricingContext()


def _flat_vol_market(seed: int = 4):
    """A generated market whose vols are flat per underlying, so that bumping every vol
    pillar by h moves every interpolated vol by exactly h."""
    m = generate_market(seed)
    for e in m.equities.values():
        object.__setattr__(
            e, "vol", TermStructure(e.vol.expiries, np.full(e.vol.vols.size, e.vol.vols[3]))
        )
    for p, v in list(m.fx_vols.items()):
        m.fx_vols[p] = TermStructure(v.expiries, np.full(v.vols.size, v.vols[3]))
    return m


@pytest.mark.parametrize("product", ["equity_option", "fx_option", "equity_forward", "fx_forward"])
def test_bumped_sensitivities_match_analytic_greeks(product: str) -> None:
    m = _flat_vol_market()
    table = generate_portfolio(3000, seed=4, market=m)[product]
    fs = factor_set(m)
    pr = REGISTRY[product]
    h = 1e-5
    fidx, sens = sensitivities(pr, table, m, fs, bump_sizes(fs, h, h, h, h), CTX)
    meas = pr.price(table, m, CTX)
    fx = m.fx_to_base(table["currency"])
    kind = np.where(fidx >= 0, fs.kind[np.maximum(fidx, 0)], "")
    name = np.where(fidx >= 0, fs.name[np.maximum(fidx, 0)], "")
    # Each bucket sum is off the analytic greek by the central differences' truncation
    # (relative) and the rounding of its buckets' PVs over the step (absolute).
    truncation = bs_fd_bounds(product, table, m, fs, h)

    def check(mask, analytic, greek, unit):
        fd = np.where(mask, sens, 0.0).sum(axis=1)
        rounding = bucket_rounding(product, table, m, mask.sum(axis=1), unit, h)
        bound = truncation[greek] * np.abs(analytic) + rounding
        assert np.all(np.abs(fd - analytic) <= bound), (
            greek,
            np.max(np.abs(fd - analytic) / bound),
        )

    ccy = table["currency"][:, None]
    # Analytic rho is per 1bp of the trade currency's curve: the sum of its pillar buckets.
    check((kind == "ir") & (name == ccy), meas["rho"] * fx, "rho", 1e-4)
    if product.startswith("equity"):
        check(kind == "eq", meas["delta"] * fx / 100, "delta", 0.01)
    if product.endswith("option"):
        check(np.char.endswith(kind.astype(str), "vol"), meas["vega"] * fx, "vega", 0.01)


def test_fx_delta_of_a_base_currency_trade_is_zero_and_cross_has_two_legs() -> None:
    m = generate_market(2)
    table = generate_portfolio(2000, seed=2, market=m)["fx_option"]
    fs = factor_set(m)
    fidx, sens = sensitivities(
        REGISTRY["fx_option"], table, m, fs, bump_sizes(fs, 1e-4, 1e-4, 1e-4, 1e-4), CTX
    )
    kinds = fs.kind[np.maximum(fidx, 0)]
    n_fx = ((fidx >= 0) & (kinds == "fx")).sum(axis=1)
    pairs = table["underlying"]
    # EURUSD: one FX factor (EUR; USD is the base); EURGBP: EUR and GBP.
    assert set(n_fx[pairs == "EURUSD"]) == {1}
    assert set(n_fx[pairs == "EURGBP"]) == {2}


def test_dense_scenarios_equal_revaluation_on_shifted_markets() -> None:
    m = generate_market(6)
    fs = factor_set(m)
    tables = generate_portfolio(600, seed=6, market=m)
    shifts = np.random.default_rng(1).normal(0.0, 0.02, size=(5, len(fs)))
    for product, table in tables.items():
        pr = REGISTRY[product]
        pnl = scenario_pnl(pr, table, m, fs, shifts, CTX)
        base = pr.price(table, m, CTX)["pv"] * m.fx_to_base(table["currency"])
        # Two PVs on either path, each within pv_rounding of the other path's.
        bound = 2 * pv_rounding(product, table, m)
        for s in range(shifts.shape[0]):
            moved = shifted_market(m, fs, shifts[s])
            full = pr.price(table, moved, CTX)["pv"] * moved.fx_to_base(table["currency"])
            np.testing.assert_allclose(pnl[:, s], full - base, rtol=0, atol=bound, err_msg=product)


def test_var_es_conventions() -> None:
    pnl = np.array([[-5.0, 1.0, -3.0, 2.0, -4.0, 0.0, -1.0, 3.0, -2.0, 4.0]])
    var, es, var_s, es_s = var_es(pnl, 0.8, 0.7)
    # 10 scenarios: VaR 80% is the 2nd largest loss, ES 70% the mean of the 3 largest.
    assert tail_count(10, 0.8) == 2 and tail_count(10, 0.7) == 3
    assert var[0] == 4.0 and var_s[0] == 4
    assert es[0] == pytest.approx(4.0) and list(es_s[0]) == [0, 4, 2]
    assert tail_count(250, 0.99) == 3 and tail_count(250, 0.975) == 7
    assert tail_count(500, 0.99) == 5


def _risk_job(tmp_path: Path, trades: int = 400, **extra) -> Path:
    risk = (
        "sensitivities = true\nhistorical = { generate = { days = 120, seed = 5 }, "
        "trade_pnl = true, var_confidence = 0.95, es_confidence = 0.9 }\n"
        '[[risk.stress]]\nname = "rates up, equities down"\n'
        'shifts = { "ir:*" = 0.01, "eq:*" = -0.2, "eqvol:*" = 0.05 }\n'
        '[[risk.stress]]\nname = "ACME only"\nshifts = { "eq:ACME" = -0.5, "eq:*" = 0.01 }'
    )
    sections = {
        "portfolio": f"generate = {{ trades = {trades}, seed = 5, bad_fraction = 0.03 }}",
        "market": "generate = { seed = 5 }",
        "aggregation": 'levels = ["desk", "book"]',
        "risk": risk,
        "run": "partitions = 7",
    }
    sections.update(extra)
    return write_job(tmp_path, **sections)


def test_var_es_equal_direct_numpy(tmp_path: Path) -> None:
    job = _risk_job(tmp_path)
    res = CliRunner().invoke(main, ["run", str(job)])
    assert res.exit_code == 0, res.output
    assert "top risk factors" in res.output and "VaR 95.0%" in res.output
    with h5py.File(tmp_path / "job.h5") as f:
        trade = f["scenarios/historical/trade_pnl"][()]
        status = f["trades/status"][()]
        desk = f["trades/desk"][()]
        dates = f["scenarios/historical/dates"][()]
        assert trade.shape == (400, 119)
        assert np.isnan(trade[status != 0]).all() and np.isfinite(trade[status == 0]).all()
        for level in ("total", "desk"):
            g = f[f"scenarios/historical/{level}"]
            keys = g["key"][()]
            for k, key in enumerate(keys):
                rows = (status == 0) & ((desk == key) if level == "desk" else True)
                direct = trade[rows].sum(axis=0)
                # The same trade P&Ls summed in another order (partitions, then ranks): n eps
                # of the sum of their magnitudes, per scenario.
                order = rows.sum() * EPS * np.abs(trade[rows]).sum(axis=0)
                assert_within(g["pnl"][k], direct, order, "pnl")
                # An order statistic moves no more than the values; a mean of 6 adds 6 eps.
                losses = np.sort(-direct)[::-1]
                var = losses[math.ceil(119 * 0.05) - 1]
                es = losses[: math.ceil(119 * 0.1)].mean()
                assert g["var"][k] == pytest.approx(var, rel=0, abs=order.max())
                assert g["es"][k] == pytest.approx(es, rel=6 * EPS, abs=order.max())
                worst = np.argsort(direct, kind="stable")[math.ceil(119 * 0.05) - 1]
                assert g["var_date"][k] == dates[worst]
        # Not additive: the total VaR is not the sum of the desks' VaRs.
        desks = f["scenarios/historical/desk/var"][()]
        assert f["scenarios/historical/total/var"][0] < desks.sum()


def test_stress_equals_full_revaluation_on_shifted_market(tmp_path: Path) -> None:
    job = _risk_job(tmp_path)
    CliRunner().invoke(main, ["run", str(job)], catch_exceptions=False)
    m = generate_market(5)
    fs = factor_set(m)
    shift = np.zeros(len(fs))
    shift[fs.kind == "ir"] = 0.01
    shift[fs.kind == "eq"] = -0.2
    shift[fs.kind == "eqvol"] = 0.05
    (tmp_path / "shifted.json").write_text(json.dumps(shifted_market(m, fs, shift).to_dict()))
    moved = write_job(
        tmp_path,
        name="moved",
        portfolio="generate = { trades = 400, seed = 5, bad_fraction = 0.03 }",
        market='path = "shifted.json"',
        aggregation='levels = ["desk", "book"]',
    )
    res = CliRunner().invoke(main, ["run", str(moved)])
    assert res.exit_code == 0, res.output
    # Per trade two PVs on either path (pv_rounding), then sums over at most all trades.
    tables = generate_portfolio(400, seed=5, market=m)
    bound = sum(2 * pv_rounding(p, t, m) * len(t) for p, t in tables.items())
    bound += 400 * EPS * sum(trade_sizes(t, m).sum() for t in tables.values())
    with h5py.File(tmp_path / "job.h5") as a, h5py.File(tmp_path / "moved.h5") as b:
        for level in ("total", "desk", "book"):
            stress = a[f"scenarios/stress/{level}/pnl"][:, 0]
            full = b[f"aggregates/{level}/pv"][()] - a[f"aggregates/{level}/pv"][()]
            np.testing.assert_allclose(stress, full, rtol=0, atol=bound)
        names = [n.decode() for n in a["scenarios/stress/names"][()]]
        assert names == ["rates up, equities down", "ACME only"]


def test_sensitivity_tables_are_tidy_and_sum_over_nodes(tmp_path: Path) -> None:
    job = _risk_job(tmp_path)
    CliRunner().invoke(main, ["run", str(job)], catch_exceptions=False)
    with h5py.File(tmp_path / "job.h5") as f:
        total = dict(
            zip(
                f["sensitivities/total/factor"][()], f["sensitivities/total/value"][()], strict=True
            )
        )
        by_desk: dict[bytes, float] = {}
        for fac, v in zip(
            f["sensitivities/desk/factor"][()], f["sensitivities/desk/value"][()], strict=True
        ):
            by_desk[fac] = by_desk.get(fac, 0.0) + v
        assert set(total) == set(by_desk)
        by_desk_abs: dict[bytes, float] = {}
        for fac, v in zip(
            f["sensitivities/desk/factor"][()], f["sensitivities/desk/value"][()], strict=True
        ):
            by_desk_abs[fac] = by_desk_abs.get(fac, 0.0) + abs(v)
        # The same trades' buckets summed in two groupings: 400 eps of their magnitudes,
        # which the desks' own magnitudes stand for (a desk's buckets of one factor mostly
        # share a sign).
        for fac, v in total.items():
            assert by_desk[fac] == pytest.approx(v, rel=0, abs=400 * EPS * by_desk_abs[fac])
        labels = f["sensitivities/factors/label"][()]
        assert set(total) <= set(labels)
        assert f["sensitivities/factors/unit"].shape == labels.shape


def test_history_shifts_and_missing_factors() -> None:
    m = generate_market(1)
    fs = factor_set(m)
    h = generate_history(m, 30, seed=2)
    assert h.dates[-1] == np.datetime64("2026-11-24")
    shifts, dates = historical_shifts(h, fs)
    assert shifts.shape == (29, len(fs)) and dates[0] == h.dates[1]
    j_ir, j_eq = fs.labels.index("ir:USD:5Y"), fs.labels.index("eq:ACME")
    assert shifts[3, j_ir] == h.levels[4, j_ir] - h.levels[3, j_ir]
    # A ratio less one, either way: eps/2 of a number near 1, twice.
    want = h.levels[4, j_eq] / h.levels[3, j_eq] - 1.0
    assert shifts[3, j_eq] == pytest.approx(want, rel=0, abs=EPS)
    # The history ends at today's levels.
    assert h.levels[-1, j_eq] == m.equities["ACME"].spot
    short = type(h)(h.dates, h.labels[:-3], h.levels[:, :-3])
    with pytest.raises(JobError, match="have no history"):
        historical_shifts(short, fs)


def test_history_file_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "hist.h5"
    res = CliRunner().invoke(
        main,
        ["gen", "history", "--days", "120", "--seed", "5", "--market-seed", "5", "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    a = _risk_job(tmp_path)
    text = a.read_text().replace("generate = { days = 120, seed = 5 }", f'path = "{out}"')
    b = tmp_path / "b.toml"
    b.write_text(
        text.replace('path = "' + str(tmp_path / "job.h5"), 'path = "' + str(tmp_path / "b.h5"))
    )
    for job in (a, b):
        assert CliRunner().invoke(main, ["run", str(job)]).exit_code == 0
    with h5py.File(tmp_path / "job.h5") as x, h5py.File(tmp_path / "b.h5") as y:
        np.testing.assert_array_equal(
            x["scenarios/historical/total/pnl"][()], y["scenarios/historical/total/pnl"][()]
        )


def test_history_missing_factors_stop_the_job_or_are_held(tmp_path: Path) -> None:
    """A history without the rate vol nodes: exit 2 naming the option, or, with
    ``missing_factors = "hold"``, the P&L of a history whose levels of those factors never
    move, and the held factors listed."""
    from xiphpc.io.history import History, write_history

    m = generate_market(5)
    full = generate_history(m, 60, seed=3)
    keep = [j for j, lb in enumerate(full.labels) if not lb.startswith("irvol:")]
    write_history(
        History(full.dates, [full.labels[j] for j in keep], full.levels[:, keep]),
        tmp_path / "partial.h5",
    )
    flat = full.levels.copy()
    vols = [j for j, lb in enumerate(full.labels) if lb.startswith("irvol:")]
    flat[:, vols] = flat[-1, vols]
    write_history(History(full.dates, full.labels, flat), tmp_path / "flat.h5")
    outs = {}
    for name, extra in (("strict", ""), ("held", ', missing_factors = "hold"'), ("flat", "")):
        hist = "flat.h5" if name == "flat" else "partial.h5"
        job = write_job(
            tmp_path,
            name=name,
            portfolio="generate = { trades = 600, seed = 5 }",
            market="generate = { seed = 5 }",
            risk=f'historical = {{ path = "{tmp_path / hist}"{extra} }}',
        )
        outs[name] = tmp_path / f"{name}-result.h5"
        res = CliRunner().invoke(main, ["run", str(job), "--out", str(outs[name])])
        if name == "strict":
            assert res.exit_code == 2 and "missing_factors" in res.output, res.output
        else:
            assert res.exit_code == 0, res.output
    with h5py.File(outs["held"]) as a, h5py.File(outs["flat"]) as b:
        held = [x.decode() for x in a["scenarios/historical/held_factors"][()]]
        assert len(held) == len(vols) and all(lb.startswith("irvol:") for lb in held)
        assert b["scenarios/historical/held_factors"].shape == (0,)
        np.testing.assert_array_equal(
            a["scenarios/historical/total/pnl"][()], b["scenarios/historical/total/pnl"][()]
        )
    show = CliRunner().invoke(main, ["show", str(outs["held"])])
    assert f"{len(vols)} factors held at today's level" in show.output


@pytest.mark.parametrize(
    ("risk", "expected"),
    [
        ('[[risk.stress]]\nname = "x"\nshifts = { "eq:NOPE" = 0.1 }', "matches no risk factor"),
        ('historical = { path = "nowhere.h5" }', "risk.historical.path"),
        ("historical = { generate = { days = 1 } }", "risk.historical.generate.days"),
        ("sensitivites = true", "risk.sensitivites: unknown key"),
    ],
)
def test_bad_risk_sections_exit_2(tmp_path: Path, risk: str, expected: str) -> None:
    job = write_job(tmp_path, risk=risk)
    res = CliRunner().invoke(main, ["run", str(job)])
    assert res.exit_code == 2, res.output
    assert expected in res.output


class _RowsPath(type(REGISTRY["equity_option"])):
    """Equity options without the fused scenario kernel: (trade, scenario) rows + value()."""

    revaluation = Revaluation.MARKET_INPUTS


class _MarketPath(type(REGISTRY["equity_option"])):
    """Equity options priced only through price(): whole shifted markets per scenario."""

    revaluation = Revaluation.SHIFTED_MARKETS


def test_three_scenario_paths_agree() -> None:
    m = generate_market(8)
    fs = factor_set(m)
    table = generate_portfolio(400, seed=8, market=m)["equity_option"]
    shifts = np.random.default_rng(3).normal(0.0, 0.02, size=(4, len(fs)))
    fused = scenario_pnl(REGISTRY["equity_option"], table, m, fs, shifts, CTX)
    assert REGISTRY["equity_option"].revaluation is Revaluation.FUSED_SCENARIOS
    # Two PVs per P&L on either path.
    pnl = 2 * pv_rounding("equity_option", table, m)
    for other in (_RowsPath(), _MarketPath()):
        got = scenario_pnl(other, table, m, fs, shifts, CTX)
        np.testing.assert_allclose(got, fused, rtol=0, atol=pnl)
    h = 1e-5
    bumps = bump_sizes(fs, h, h, h, h)
    fi, sv = sensitivities(REGISTRY["equity_option"], table, m, fs, bumps, CTX)
    fi2, sv2 = sensitivities(_MarketPath(), table, m, fs, bumps, CTX)
    dense = dense_sensitivities(fi, sv, len(fs))
    dense2 = dense_sensitivities(fi2, sv2, len(fs))
    # The same bumps: the same truncation; each bucket within its PVs' rounding on either
    # path, over 2 h, per unit (0.01 at most).
    rounding = bucket_rounding("equity_option", table, m, 2, 0.01, h)
    assert np.all(np.abs(dense2 - dense) <= rounding[:, None])


def test_declared_revaluation_path_is_checked() -> None:
    """A product declaring a path whose methods it lacks is refused by name."""
    for product in REGISTRY.values():
        check_revaluation(product)

    class CurvesClaimed(type(REGISTRY["equity_option"])):
        revaluation = Revaluation.CURVE_STATES

    class FusedClaimed(type(REGISTRY["american_option"])):
        revaluation = Revaluation.FUSED_SCENARIOS

    with pytest.raises(TypeError, match="'equity_option'.*CURVE_STATES.*value_states"):
        check_revaluation(CurvesClaimed())
    with pytest.raises(TypeError, match="FUSED_SCENARIOS.*value_scenarios"):
        check_revaluation(FusedClaimed())


def test_merge_sums_risk_and_recomputes_var(tmp_path: Path) -> None:
    """Two desks run apart and merged give the risk of the two run together."""
    from xiphpc.synth.generate import write_portfolio_hdf5

    tables = generate_portfolio(600, seed=9)
    parts = {}
    for name, products in (
        ("a", ["equity_option", "equity_forward"]),
        ("b", ["fx_option", "fx_forward"]),
    ):
        write_portfolio_hdf5({p: tables[p] for p in products}, tmp_path / f"{name}.h5")
        parts[name] = _risk_job(
            tmp_path, portfolio=f'path = "{name}.h5"', market="generate = { seed = 9 }"
        )
        parts[name] = parts[name].rename(tmp_path / f"{name}.toml")
    lines = ["equity_option", "equity_forward", "fx_option", "fx_forward"]
    write_portfolio_hdf5({p: tables[p] for p in lines}, tmp_path / "all.h5")
    whole = _risk_job(tmp_path, portfolio='path = "all.h5"', market="generate = { seed = 9 }")
    outs = {}
    for name, job in [*parts.items(), ("all", whole)]:
        outs[name] = tmp_path / f"out-{name}.h5"
        res = CliRunner().invoke(main, ["run", str(job), "--out", str(outs[name])])
        assert res.exit_code == 0, res.output
    merged = tmp_path / "merged.h5"
    res = CliRunner().invoke(main, ["merge", "--out", str(merged), str(outs["a"]), str(outs["b"])])
    assert res.exit_code == 0, res.output
    market = generate_market(9)
    n_lines = sum(len(tables[p]) for p in lines)
    # The same trades' P&Ls summed in other groupings: n eps of their magnitudes (a
    # trade's stress P&L is within twice its size).
    sizes = sum(trade_sizes(tables[p], market).sum() for p in lines)
    with h5py.File(merged) as m, h5py.File(outs["all"]) as w:
        trade_pnl = np.abs(w["scenarios/historical/trade_pnl"][()])
        order = n_lines * EPS * np.nansum(trade_pnl, axis=0)
        for level in ("total", "desk"):
            g, h = m[f"scenarios/historical/{level}"], w[f"scenarios/historical/{level}"]
            np.testing.assert_array_equal(g["key"][()], h["key"][()])
            assert_within(g["pnl"][()], h["pnl"][()], order, "pnl")
            # An order statistic moves no more than the values.
            np.testing.assert_allclose(g["var"][()], h["var"][()], rtol=0, atol=order.max())
            np.testing.assert_array_equal(g["var_date"][()], h["var_date"][()])
            np.testing.assert_allclose(
                m[f"scenarios/stress/{level}/pnl"][()],
                w[f"scenarios/stress/{level}/pnl"][()],
                rtol=0,
                atol=n_lines * EPS * 2 * sizes,
            )

        def tidy(f: h5py.File, group: str) -> dict:
            g = f[f"{group}/desk"]
            keys = zip(g["node"][()], g["factor"][()], strict=True)
            return dict(zip(keys, g["value"][()], strict=True))

        # A bucket per 1% or 1bp is within the trade's size; par buckets mix pillar
        # buckets through J^-1, whose rows sum to under 10 in magnitude on generated
        # markets: n eps of ten times the sizes.
        for group in ("sensitivities", "par_sensitivities"):
            got, want = tidy(m, group), tidy(w, group)
            assert got.keys() == want.keys() and want
            for k, v in want.items():
                assert got[k] == pytest.approx(v, rel=0, abs=n_lines * EPS * 10 * sizes)
        assert m["scenarios/historical/trade_pnl"].shape == (n_lines, 119)
    show = CliRunner().invoke(main, ["show", str(merged)])
    assert show.exit_code == 0 and "VaR" in show.output


@pytest.mark.parametrize("product", ["asian_option"])
def test_fused_monte_carlo_scenarios_equal_the_row_path(product: str) -> None:
    """All scenarios of an Asian option in one kernel call (paths drawn once per trade)
    equal one pricing-kernel row per (trade, scenario) with the same draws: the estimator
    is the same, only the last bits of exp differ."""
    m = generate_market(8)
    fs = factor_set(m)
    table = valid_trades(product, m, 3000, 8, 12)
    pr = REGISTRY[product]
    assert pr.revaluation is Revaluation.FUSED_SCENARIOS

    class Rows(type(pr)):
        revaluation = Revaluation.MARKET_INPUTS

    shifts = np.random.default_rng(4).normal(0.0, 0.02, size=(7, len(fs)))
    fused = scenario_pnl(pr, table, m, fs, shifts, CTX)
    rows = scenario_pnl(Rows(), table, m, fs, shifts, CTX)
    # Each path's payoff differs by its exps (4 ulp each way), so each average by 8 eps of
    # the trade's size; two averages per P&L.
    assert_within(fused, rows, 2 * 8 * EPS * trade_sizes(table, m)[:, None], product)
    assert np.abs(rows).max() > 0.0
