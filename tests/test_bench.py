"""``xiphpc bench``: structure of the report and sanity of the figures (not speed)."""

from __future__ import annotations

import json
import re

import numpy as np
from click.testing import CliRunner
from conftest import bs_rounding_bounds, sum_rounding

from xiphpc.bench.kernels import bench, numpy_black_scholes, random_book
from xiphpc.pricing.kernels import black_scholes as bs


def _rows(output: str) -> dict[tuple[str, int], float]:
    # "  <name>   <threads>   <median> <min> <max> ..." -> {(name, threads): median}
    rows = {}
    for line in output.splitlines():
        m = re.match(r"^  (\S.*?)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*(\(.*\))?$", line)
        if m:
            rows[(m.group(1), int(m.group(2)))] = float(m.group(3))
    return rows


def test_bench_kernels(tmp_path):
    path = tmp_path / "kernels.json"
    result = CliRunner().invoke(
        bench,
        [
            "kernels",
            "--n",
            "20000",
            "--repeat",
            "2",
            "--quantlib-n",
            "50",
            "--american-n",
            "500",
            "--json",
            str(path),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = _rows(result.output)
    names = {name for name, _ in rows}
    assert {
        "vectorized fused (vmath)",
        "scalar libm fused (math.exp/log/erfc)",
        "NumPy arrays (np.exp/np.log, own erfc)",
    } <= names
    assert ("vectorized fused (vmath)", 1) in rows
    assert all(v > 0.0 for v in rows.values())
    assert "vectorized/scalar, 1 thread(s)" in result.output
    assert re.search(r"1 thread\(s\): copy [\d.]+ GB/s -> bound \d+ M options/s", result.output)

    figures = json.loads(path.read_text())
    assert figures["n"] == 20000
    assert all(r["median"] > 0 and r["low"] <= r["median"] <= r["high"] for r in figures["rates"])
    assert all(v > 0 for v in figures["ratios"].values())
    assert figures["memory"]["1"]["copy_bytes_per_s"] > 0
    american = figures["american"]
    assert american["n"] == 500
    names = {r["name"] for r in american["rates"]}
    assert {
        "ALO, value alone",
        "ALO, value + 5 greeks",
        "Bjerksund-Stensland, value + 5 greeks",
        "QuantLib QdFpAmericanEngine accurate, value",
    } <= names
    assert all(r["median"] > 0 for r in american["rates"])
    assert ("ALO, value alone", 1) in rows


def test_bench_mc(tmp_path):
    path = tmp_path / "mc.json"
    result = CliRunner().invoke(
        bench,
        [
            "mc",
            "--paths",
            "2000",
            "--steps",
            "16",
            "--repeat",
            "2",
            "--baseline-paths",
            "500",
            "--json",
            str(path),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = _rows(result.output)
    assert ("Philox GBM European kernel", 1) in rows
    assert {"numba, np.random inside the kernel", "NumPy, one Generator draw per step"} <= {
        name for name, _ in rows
    }
    assert all(v > 0.0 for v in rows.values())
    figures = json.loads(path.read_text())
    assert figures["paths"] == 2000 and figures["steps"] == 16
    assert all(r["median"] > 0 for r in figures["rates"])


def test_numpy_reference_matches_the_kernel():
    # The NumPy baseline must compute the same thing, or its timing means nothing.
    book = random_book(5000, seed=3)
    ours = bs.allocate_greeks(5000)
    bs.bs_fused_serial(*book, *ours)
    # Each within its terms' rounding of the exact closed form.
    bounds = bs_rounding_bounds(*book)
    for j, (a, b) in enumerate(zip(numpy_black_scholes(*book), ours, strict=True)):
        assert np.all(np.abs(a - b) <= 2 * bounds[:, j]), j


def test_bench_products(tmp_path):
    from xiphpc.pricing.products import REGISTRY

    path = tmp_path / "products.json"
    result = CliRunner().invoke(
        bench,
        ["products", "--n", "1500", "--repeat", "1", "--quantlib-n", "20", "--json", str(path)],
    )
    assert result.exit_code == 0, result.output
    rows = _rows(result.output)
    for name in REGISTRY:
        assert rows.get((name, 1), 0.0) > 0.0, (name, result.output)
    figures = json.loads(path.read_text())
    assert {r["name"] for r in figures["rates"]} >= set(REGISTRY)
    assert all(r["median"] > 0 for r in figures["rates"])


def test_bench_scenarios(tmp_path):
    from xiphpc.cli.main import main

    path = tmp_path / "scenarios.json"
    result = CliRunner().invoke(
        main,
        [
            "bench",
            "scenarios",
            "--trades",
            "1500",
            "--scenarios",
            "6",
            "--repeat",
            "1",
            "--products",
            "interest_rate_swap,swaption,equity_option",
            "--json",
            str(path),
        ],
    )
    assert result.exit_code == 0, result.output
    figures = {f["product"]: f for f in json.loads(path.read_text())["figures"]}
    assert set(figures) == {"interest_rate_swap", "swaption", "equity_option"}
    # The bench's trades, to size the rounding by which the two paths may differ.
    from xiphpc.bench.kernels import valid_tables
    from xiphpc.synth.generate import generate_market, generate_portfolio

    market = generate_market(1)
    portfolio = generate_portfolio(1500, seed=1, market=market)
    tables = dict(valid_tables(portfolio, market, list(figures), 1500))
    for name, f in figures.items():
        assert f["scenarios"] == 6 and f["trades"] > 0
        assert f["kernel_per_s"] > 0 and f["market_per_s"] > 0
        # The two paths value the same trades under the same scenarios: they differ by the
        # rounding of sums of at most 180 coupons of the notional (a 30-year swap), or of
        # the two Black-Scholes terms of spot + strike per share.
        t = tables[name]
        notional = np.abs(t["quantity"] * market.fx_to_base(t["currency"]))
        if name == "equity_option":
            spot = np.array([market.equities[u].spot for u in t["underlying"]])
            bound = sum_rounding(2, (notional * (spot + t["strike"])).max())
        else:
            bound = sum_rounding(180, notional.max())
        assert f["max_abs_diff"] <= bound, name
    bad = CliRunner().invoke(main, ["bench", "scenarios", "--products", "nosuch"])
    assert bad.exit_code != 0 and "nosuch" in bad.output
