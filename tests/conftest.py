"""Shared fixtures and helpers: small generated inputs, comparison of result files, and the
rounding and truncation bounds from which the tests' tolerances are derived (``EPS``,
:func:`sum_rounding`, :func:`pv_rounding`, :func:`bs_rounding_bounds`, :func:`bs_fd_bounds`).
Markets and trades several modules price are in :mod:`markets`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from markets import VDATE, qdate

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
sys.path.insert(0, str(Path(__file__).parent))

#: float64 machine epsilon, 2**-52: the unit of the rounding bounds of the tests' tolerances.
EPS = float(np.finfo(np.float64).eps)


def sum_rounding(n_terms, size):
    """How far two implementations of a sum of ``n_terms`` terms of at most ``size`` each
    may differ when every term is off by at most 10 eps of ``size``: discount exps at
    4 ulp, a forward as a ratio of discount factors less 1, products. 20 n size eps."""
    return 20 * n_terms * size * EPS


def result_datasets(path: Path, skip: tuple[str, ...] = ("diagnostics",)) -> dict[str, np.ndarray]:
    """Every dataset of a result file except those under ``skip`` (timings differ per run)."""
    found: dict[str, np.ndarray] = {}

    def visit(name: str, obj) -> None:
        if isinstance(obj, h5py.Dataset) and not name.startswith(skip):
            found[name] = obj[()]

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return found


def valid_trades(product: str, market, portfolio: int, seed: int, count: int | None = None):
    """The first ``count`` (all if None) valid trades of ``product`` in a generated portfolio
    of ``portfolio`` trades on ``market``."""
    from xiphpc.pricing.validation import validate_table
    from xiphpc.synth.generate import generate_portfolio

    table = generate_portfolio(portfolio, seed=seed, market=market)[product]
    status, _ = validate_table(table, market)
    return table.take(np.flatnonzero(status == 0)[:count])


def assert_same_results(a: Path, b: Path, skip: tuple[str, ...] = ("diagnostics",)) -> None:
    """Bitwise equality of every dataset (NaN equal to NaN)."""
    da, db = result_datasets(a, skip), result_datasets(b, skip)
    assert sorted(da) == sorted(db)
    for key in da:
        assert da[key].dtype == db[key].dtype, key
        assert np.array_equal(da[key], db[key], equal_nan=da[key].dtype.kind == "f"), key


def write_job(folder: Path, name: str = "job", **sections: str) -> Path:
    """A job file with the given TOML sections (``portfolio='path = "x"'``, ...)."""
    base = {
        "portfolio": "generate = { trades = 3000, seed = 3, bad_fraction = 0.02 }",
        "market": "generate = { seed = 3 }",
        "run": "partitions = 16",
        "output": f'path = "{folder / (name + ".h5")}"',
    }
    base.update(sections)
    text = f'name = "{name}"\nseed = 1\n' + "".join(
        f"\n[{k}]\n{v}\n" for k, v in base.items() if v is not None
    )
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


def run_mpi(
    args: list[str], n: int, timeout: float = 120, env: dict | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess:
    """``mpiexec -n N`` of the venv, wrapped in a timeout so a hang fails the test."""
    full_env = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}")
    full_env.update(env or {})
    cmd = [str(VENV_BIN / "mpiexec"), "-n", str(n), *args]
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env=full_env, cwd=cwd, check=False
    )


@pytest.fixture
def quantlib_today():
    """QuantLib's evaluation date set to the tests' valuation date, :data:`markets.VDATE`."""
    ql = pytest.importorskip("QuantLib")
    ql.Settings.instance().evaluationDate = qdate(VDATE)
    yield


@pytest.fixture
def market_file(tmp_path: Path) -> Path:
    from xiphpc.synth.generate import generate_market

    path = tmp_path / "market.json"
    path.write_text(json.dumps(generate_market(3).to_dict()))
    return path


def bs_rounding_bounds(spot, strike, tau, rate, div, vol, cp, quantlib=False) -> np.ndarray:
    """How far a float64 evaluation of the Black-Scholes closed form may be from the exact
    one, per measure: shape ``(n, 6)``: pv, delta, gamma, vega, theta (per year), rho.

    d is rounded to dd = eps (1 + 4 |log(S/K)| + 4 |(r - q + v^2/2) t|) / (v sqrt(t)) (S/K to
    eps/2 of 1 before the log, then the log and the sum at 4 ulp); that moves
    N(d) by (1 + |d|) dd relative in the lower tail (Mills' ratio) and n(d) by |d| dd. Each
    term adds 8 eps (exps and CDFs at 4 ulp, products). A measure is then within that
    relative rounding of the sum of its terms' magnitudes. With ``quantlib``, QuantLib's
    normal CDF, accurate to eps absolute only in the tails.
    """
    import mpmath as mp

    sd = vol * np.sqrt(tau)
    mu = (rate - div + 0.5 * vol * vol) * tau
    d1 = (np.log(spot / strike) + mu) / sd
    d2 = d1 - sd
    dd = EPS * (1 + 4 * np.abs(np.log(spot / strike)) + 4 * np.abs(mu)) / sd
    rel = 8 * EPS + (1 + np.maximum(np.abs(d1), np.abs(d2))) * dd
    fwd = spot * np.exp(-div * tau)
    disc = strike * np.exp(-rate * tau)
    n1 = np.array([float(mp.ncdf(float(x))) for x in cp * d1])
    n2 = np.array([float(mp.ncdf(float(x))) for x in cp * d2])
    pdf = np.exp(-0.5 * d1 * d1) / np.sqrt(2 * np.pi)

    def terms(n1, n2, pdf):
        decay = fwd * pdf * vol / (2 * np.sqrt(tau))
        return np.column_stack(
            [
                fwd * n1 + disc * n2,
                fwd / spot * n1,
                fwd / spot * pdf / (spot * sd),
                fwd * pdf * np.sqrt(tau),
                decay + np.abs(rate) * disc * n2 + np.abs(div) * fwd * n1,
                disc * tau * n2,
            ]
        )

    # Below the normal range a CDF or density is rounded to the subnormal spacing 2^-1074:
    # 8 of them times the terms' coefficients; QuantLib's tail CDF, 0.5 erfc-like but only
    # accurate to eps absolute, is allowed eps times them.
    one = np.ones_like(spot)
    floor = (quantlib * EPS + 8 * 2.0**-1074) * terms(one, one, one)
    return rel[:, None] * terms(n1, n2, pdf) + floor


def dense_sensitivities(fidx: np.ndarray, sens: np.ndarray, n_factors: int) -> np.ndarray:
    """The bucketed sensitivities ``(fidx, sens)`` of :func:`xiphpc.risk.revalue.sensitivities`
    (shape ``(n, K)``, factor -1 for padding) as a dense array, shape ``(n, n_factors)``."""
    dense = np.zeros((fidx.shape[0], n_factors))
    for i in range(fidx.shape[0]):
        live = fidx[i] >= 0
        dense[i, fidx[i][live]] = sens[i][live]
    return dense


#: Most coupons of a generated curve product: a 30-year swap's semi-annual fixed and
#: quarterly float coupons.
COUPONS = 180
_CURVE_PRODUCTS = (
    "interest_rate_swap",
    "forward_rate_agreement",
    "fixed_rate_bond",
    "cap_floor",
    "swaption",
    "credit_default_swap",
)


def pv_terms(product: str, table) -> int:
    """Most terms summed in one PV of ``product``: coupons of a curve product, Monte Carlo
    paths of an Asian option, otherwise the terms of a closed form (six at most,
    Bjerksund-Stensland and Reiner-Rubinstein)."""
    if product in _CURVE_PRODUCTS:
        return COUPONS
    if product == "asian_option":
        return int(np.max(table["paths"]))
    return 6


def trade_sizes(table, market) -> np.ndarray:
    """Bound of each trade's PV terms in base currency, shape ``(n,)``: the quantity times
    1 + spot + strike (options and forwards on an equity, FX pair or commodity), or the
    notional (coupons and legs are at most 1 per unit of it)."""
    per_unit = np.ones(len(table))
    if "strike" in table.columns:
        per_unit += np.abs(table["strike"])
    if "underlying" in table.columns:

        def spot(u: str) -> float:
            if u in market.equities:
                return market.equities[u].spot
            if u in market.commodities:
                return float(np.max(market.commodities[u].futures.prices))
            if len(u) == 6 and u[:3] in market.fx and u[3:] in market.fx:
                return market.fx[u[:3]] / market.fx[u[3:]]
            return 0.0

        per_unit += np.array([spot(u) for u in table["underlying"]])
    return np.abs(table["quantity"] * market.fx_to_base(table["currency"])) * per_unit


def pv_rounding(product: str, table, market) -> float:
    """How far two code paths (kernels, shifted inputs or whole shifted markets) may put
    the same PVs of ``table``: :func:`sum_rounding` of :func:`pv_terms` terms of the
    largest :func:`trade_sizes`."""
    return sum_rounding(pv_terms(product, table), float(trade_sizes(table, market).max()))


def bs_fd_bounds(product: str, table, market, factors, h: float) -> dict[str, np.ndarray]:
    """Relative truncation of a central difference of step ``h`` (spot moved by h of
    itself, rates and vols by h) against the analytic delta, rho and vega of an option or
    forward of the Black-Scholes family, per trade: ``{"delta", "rho", "vega"}``, each of
    shape ``(n,)``.

    Truncation is h^2/6 of a third derivative. A spot derivative of a normal density
    brings (1 + |d|) / (spot sd) (Mills' ratio bounds the CDF's), a rate derivative
    t (1 + (1 + |d2|) / sd), a vol derivative (1 + |d1|)(1 + |d2|) / vol, sd = vol sqrt(t);
    a forward is linear in its spot.
    """
    from xiphpc.pricing.inputs import no_shift
    from xiphpc.pricing.products import REGISTRY

    pr = REGISTRY[product]
    inputs = pr.market_inputs(table, market, factors)
    rows = np.arange(len(table))
    s, r, q = (inputs[k].value(rows, no_shift) for k in ("spot", "rate", "carry"))
    t = pr.static(table, market)["tau"]
    if "vol" not in inputs:
        zero = np.zeros(len(table))
        return {"delta": zero, "rho": h**2 * t**2 / 6, "vega": zero}
    vol = inputs["vol"].value(rows, no_shift)
    k = pr.static(table, market)["strike"]
    sd = vol * np.sqrt(t)
    d1 = (np.log(s / k) + (r - q) * t) / sd + 0.5 * sd
    d2 = d1 - sd
    a1, a2 = 1 + np.abs(d1), 1 + np.abs(d2)
    return {
        "delta": h**2 * (a1 / sd) ** 2 / 6,
        "rho": h**2 * (t * (1 + a2 / sd)) ** 2 / 6,
        "vega": h**2 * (a1 * a2 / vol) ** 2 / 6,
    }


def bucket_rounding(product: str, table, market, n_buckets, unit: float, h: float):
    """Rounding of the sum of ``n_buckets`` (shape ``(n,)``) central-difference buckets of
    step ``h`` reported per ``unit``: each is two PVs' rounding (:func:`pv_rounding`'s
    terms, one implementation: half of it) over 2 h, times the unit. Shape ``(n,)``."""
    one_pv = sum_rounding(pv_terms(product, table), trade_sizes(table, market)) / 2
    return n_buckets * 2 * one_pv / (2 * h) * unit


def assert_within(actual, desired, bound, what: str = "") -> None:
    """``|actual - desired| <= bound`` element by element (``bound`` broadcasts), naming
    the worst element and its share of the bound on failure."""
    actual, desired = np.asarray(actual, dtype=np.float64), np.asarray(desired, dtype=np.float64)
    err = np.abs(actual - desired)
    bound = np.broadcast_to(bound, err.shape)
    bad = ~(err <= bound)
    if bad.any():
        i = np.unravel_index(
            np.argmax(np.where(bad, err / np.maximum(bound, 1e-300), 0)), err.shape
        )
        raise AssertionError(
            f"{what}: {bad.sum()} of {err.size} beyond the bound; worst at {i}: "
            f"|{actual[i]!r} - {desired[i]!r}| = {err[i]:.3g} > {bound[i]:.3g}"
        )
