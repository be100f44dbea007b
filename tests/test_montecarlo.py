"""Monte Carlo kernels: prices against analytic references, and reproducibility."""

from __future__ import annotations

import math
import re

import llvmlite.binding as llvm
import numba as nb
import numpy as np
import pytest
from conftest import EPS, sum_rounding

from xiphpc.pricing.kernels import black_scholes as bs
from xiphpc.pricing.kernels import montecarlo as mc

ql = pytest.importorskip("QuantLib")

SEED = np.uint64(20240611)
#: A correct estimator misses its reference by more than 4 standard errors with probability
#: 6.3e-5 (two-sided normal tail): under 2e-3 for the 24 comparisons of this module, where
#: 3 would fail one correct run in 15.
N_SIGMA = 4.0


def _book(n: int, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    spot = rng.uniform(80.0, 120.0, n)
    return dict(
        spot=spot,
        strike=spot * rng.uniform(0.8, 1.25, n),
        tau=rng.choice([28.0, 91.0, 182.0, 364.0, 728.0], n) / 365.0,
        rate=rng.uniform(-0.01, 0.06, n),
        carry_yield=rng.uniform(0.0, 0.04, n),
        vol=rng.uniform(0.1, 0.45, n),
        cp=np.where(rng.random(n) < 0.5, 1.0, -1.0),
        n_steps=rng.choice([1, 7, 24, 52], n).astype(np.int64),
        trade_key=rng.integers(0, 2**63, n, dtype=np.uint64),
    )


GBM_FIELDS = ("spot", "strike", "tau", "rate", "carry_yield", "vol", "cp")


def _gbm_european(book, n_paths, kernel=mc.gbm_european_serial):
    price, stderr = mc.allocate_results(book["spot"].shape[0])
    kernel(
        *(book[f] for f in GBM_FIELDS),
        book["n_steps"],
        SEED,
        book["trade_key"],
        n_paths,
        price,
        stderr,
    )
    return price, stderr


def test_gbm_european_against_black_scholes():
    book = _book(12)
    price, stderr = _gbm_european(book, 40_000, mc.gbm_european_parallel)
    out = bs.allocate_greeks(12)
    bs.bs_fused_serial(*(book[f] for f in GBM_FIELDS), *out)
    z = (price - out[0]) / stderr
    assert np.all(np.abs(z) < N_SIGMA), z
    # Not a tolerance but the estimator's spread: 40,000 paths keep the standard error
    # under 2% of the price (payoff deviations below 4 prices) or 1e-3 for far
    # out-of-the-money options.
    assert np.all(stderr < 0.02 * out[0] + 1e-3)


# ---------------------------------------------------------------------------
# Asian
# ---------------------------------------------------------------------------


def _ql_black_scholes_process(today, spot, rate, carry_yield, vol):
    dc = ql.Actual365Fixed()
    r = ql.YieldTermStructureHandle(ql.FlatForward(today, rate, dc))
    q = ql.YieldTermStructureHandle(ql.FlatForward(today, carry_yield, dc))
    v = ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), vol, dc))
    return ql.BlackScholesMertonProcess(ql.QuoteHandle(ql.SimpleQuote(spot)), q, r, v)


# (spot, strike, days between fixings, n_steps, rate, carry_yield, vol, cp)
ASIAN_CASES = [
    (100.0, 100.0, 7, 52, 0.03, 0.01, 0.25, 1.0),
    (100.0, 90.0, 30, 12, 0.05, 0.0, 0.40, 1.0),
    (100.0, 110.0, 14, 26, -0.005, 0.02, 0.20, -1.0),
    (50.0, 45.0, 1, 60, 0.02, 0.03, 0.30, -1.0),
]


def _ql_asian(today, case, average):
    spot, strike, days, n, rate, carry_yield, vol, cp = case
    ql.Settings.instance().evaluationDate = today
    process = _ql_black_scholes_process(today, spot, rate, carry_yield, vol)
    fixings = [today + days * k for k in range(1, n + 1)]
    option_type = ql.Option.Call if cp > 0 else ql.Option.Put
    option = ql.DiscreteAveragingAsianOption(
        average,
        fixings,
        ql.PlainVanillaPayoff(option_type, strike),
        ql.EuropeanExercise(fixings[-1]),
    )
    if average == ql.Average.Geometric:
        option.setPricingEngine(ql.AnalyticDiscreteGeometricAveragePriceAsianEngine(process))
    else:
        # Choi (2018), "Sum of all Black-Scholes-Merton models": accurate to
        # about 1e-8 for discrete arithmetic averages.
        option.setPricingEngine(ql.ChoiAsianEngine(process))
    return option.NPV()


def test_geometric_asian_closed_form_matches_quantlib():
    today = ql.Date(14, 6, 2024)
    for case in ASIAN_CASES:
        spot, strike, days, n, rate, carry_yield, vol, cp = case
        tau = days * n / 365.0
        ours = mc.geometric_asian_price(spot, strike, tau, rate, carry_yield, vol, cp, n)
        ref = _ql_asian(today, case, ql.Average.Geometric)
        # The same two-term closed form on either side.
        assert ours == pytest.approx(ref, rel=0, abs=sum_rounding(2, spot + strike))


# QuantLib's ChoiAsianEngine with its default settings is fast and, against two
# independent control-variate Monte Carlo estimates, accurate for a few fixings;
# with 52 weekly fixings it was seen 0.15% low (and took 20 s), so the
# arithmetic cases keep to monthly or coarser fixings.
ARITHMETIC_ASIAN_CASES = [
    (100.0, 100.0, 30, 12, 0.03, 0.01, 0.25, 1.0),
    (100.0, 90.0, 30, 12, 0.05, 0.0, 0.40, 1.0),
    (100.0, 110.0, 61, 6, -0.005, 0.02, 0.20, -1.0),
    (50.0, 45.0, 91, 4, 0.02, 0.03, 0.30, -1.0),
]


def test_arithmetic_asian_with_control_variate_against_quantlib():
    today = ql.Date(14, 6, 2024)
    cases = np.array(ARITHMETIC_ASIAN_CASES)
    spot, strike, days, n, rate, carry_yield, vol, cp = cases.T
    n_steps = n.astype(np.int64)
    tau = days * n / 365.0
    keys = np.arange(len(cases), dtype=np.uint64)
    price, stderr = mc.allocate_results(len(cases))
    mc.gbm_asian_parallel(
        spot, strike, tau, rate, carry_yield, vol, cp, n_steps, SEED, keys, 20_000, price, stderr
    )
    refs = np.array(
        [_ql_asian(today, case, ql.Average.Arithmetic) for case in ARITHMETIC_ASIAN_CASES]
    )
    z = (price - refs) / stderr
    assert np.all(np.abs(z) < N_SIGMA), z
    # Not a tolerance: the control variate must pay. Plain Monte Carlo would have a
    # standard error near price / sqrt(n_paths); with it, a small fraction of that.
    assert np.all(stderr < 0.1 * refs / math.sqrt(20_000))


# ---------------------------------------------------------------------------
# Barrier
# ---------------------------------------------------------------------------


def _discrete_barrier_quadrature(
    spot, strike, tau, rate, carry_yield, vol, cp, barrier, up, n_steps, n_grid=2001
):
    """Knock-out value with monitoring at the n_steps step dates, by backward
    induction of the Gaussian transition density on a log-spot grid
    (trapezoid rule; the barrier is a grid end, so no node straddles it)."""
    dt = tau / n_steps
    drift = (rate - carry_yield - 0.5 * vol * vol) * dt
    sd = vol * math.sqrt(dt)
    level = math.log(barrier / spot)
    width = abs(drift) * n_steps + 10.0 * vol * math.sqrt(tau)
    lo, hi = (-width, level) if up else (level, width)
    y = np.linspace(lo, hi, n_grid)
    w = np.full(n_grid, y[1] - y[0])
    w[0] = w[-1] = 0.5 * (y[1] - y[0])
    kernel = np.exp(-0.5 * ((y[None, :] - y[:, None] - drift) / sd) ** 2) / (
        sd * math.sqrt(2.0 * math.pi)
    )
    value = np.maximum(cp * (spot * np.exp(y) - strike), 0.0)
    for _ in range(n_steps - 1):
        value = kernel @ (w * value)
    start = np.exp(-0.5 * ((y - drift) / sd) ** 2) / (sd * math.sqrt(2.0 * math.pi))
    return math.exp(-rate * tau) * float(start @ (w * value))


BARRIER_CASES = [
    # (strike, barrier, kind, cp, vol)
    (100.0, 85.0, mc.DOWN_AND_OUT, 1.0, 0.25),
    (100.0, 125.0, mc.UP_AND_OUT, 1.0, 0.25),
    (100.0, 120.0, mc.UP_AND_OUT, -1.0, 0.35),
    (95.0, 90.0, mc.DOWN_AND_IN, -1.0, 0.30),
    (100.0, 115.0, mc.UP_AND_IN, 1.0, 0.20),
]


def test_barrier_against_quadrature_and_parity():
    n = len(BARRIER_CASES)
    strike, barrier, kind, cp, vol = (np.array(c) for c in zip(*BARRIER_CASES, strict=True))
    kind = kind.astype(np.int64)
    spot = np.full(n, 100.0)
    tau = np.full(n, 0.5)
    rate = np.full(n, 0.03)
    carry_yield = np.full(n, 0.01)
    n_steps = np.full(n, 12, dtype=np.int64)
    keys = np.arange(n, dtype=np.uint64) + np.uint64(77)
    n_paths = 40_000
    price, stderr = mc.allocate_results(n)
    mc.gbm_barrier_parallel(
        spot,
        strike,
        tau,
        rate,
        carry_yield,
        vol,
        cp,
        barrier,
        kind,
        n_steps,
        SEED,
        keys,
        n_paths,
        price,
        stderr,
    )

    vanilla = bs.allocate_greeks(n)
    bs.bs_fused_serial(spot, strike, tau, rate, carry_yield, vol, cp, *vanilla)
    for i in range(n):
        up = bool(kind[i] & 1)
        out = _discrete_barrier_quadrature(
            spot[i],
            strike[i],
            tau[i],
            rate[i],
            carry_yield[i],
            vol[i],
            cp[i],
            barrier[i],
            up,
            int(n_steps[i]),
        )
        ref = out if kind[i] in (mc.DOWN_AND_OUT, mc.UP_AND_OUT) else vanilla[0][i] - out
        assert abs(price[i] - ref) < N_SIGMA * stderr[i], (i, price[i], ref, stderr[i])

    # In + out = European on the same draws, path by path.
    flipped = kind ^ 2
    price_flip, _ = mc.allocate_results(n)
    mc.gbm_barrier_serial(
        spot,
        strike,
        tau,
        rate,
        carry_yield,
        vol,
        cp,
        barrier,
        flipped,
        n_steps,
        SEED,
        keys,
        n_paths,
        price_flip,
        stderr.copy(),
    )
    european, _ = mc.allocate_results(n)
    mc.gbm_european_serial(
        spot,
        strike,
        tau,
        rate,
        carry_yield,
        vol,
        cp,
        n_steps,
        SEED,
        keys,
        n_paths,
        european,
        stderr.copy(),
    )
    # Every path pays into exactly one of in and out: the three averages of the same
    # payoffs differ by their summation, n_paths eps of each at most.
    np.testing.assert_allclose(price + price_flip, european, rtol=3 * n_paths * EPS, atol=0)


# ---------------------------------------------------------------------------
# Heston
# ---------------------------------------------------------------------------

# (strike, days, cp, var0, kappa, long_var, vol_of_var, corr)
HESTON_CASES = [
    (100.0, 365, 1.0, 0.04, 1.5, 0.04, 0.3, -0.7),
    (90.0, 182, -1.0, 0.09, 2.0, 0.06, 0.4, -0.5),
    (110.0, 730, 1.0, 0.03, 1.0, 0.05, 0.25, 0.3),
]


def _ql_heston(
    today, spot, strike, days, cp, rate, carry_yield, var0, kappa, long_var, vol_of_var, corr
):
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    r = ql.YieldTermStructureHandle(ql.FlatForward(today, rate, dc))
    q = ql.YieldTermStructureHandle(ql.FlatForward(today, carry_yield, dc))
    process = ql.HestonProcess(
        r, q, ql.QuoteHandle(ql.SimpleQuote(spot)), var0, kappa, long_var, vol_of_var, corr
    )
    option = ql.VanillaOption(
        ql.PlainVanillaPayoff(ql.Option.Call if cp > 0 else ql.Option.Put, strike),
        ql.EuropeanExercise(today + days),
    )
    option.setPricingEngine(ql.AnalyticHestonEngine(ql.HestonModel(process)))
    return option.NPV()


def test_heston_against_quantlib_analytic():
    today = ql.Date(14, 6, 2024)
    n = len(HESTON_CASES)
    strike, days, cp, var0, kappa, long_var, vol_of_var, corr = (
        np.array(c) for c in zip(*HESTON_CASES, strict=True)
    )
    spot = np.full(n, 100.0)
    rate = np.full(n, 0.02)
    carry_yield = np.full(n, 0.01)
    tau = days / 365.0
    # About 200 steps a year keeps the Euler bias well below the standard error.
    n_steps = np.ceil(200 * tau).astype(np.int64)
    keys = np.arange(n, dtype=np.uint64) + np.uint64(5)
    price, stderr = mc.allocate_results(n)
    mc.heston_european_parallel(
        spot,
        strike,
        tau,
        rate,
        carry_yield,
        var0,
        kappa,
        long_var,
        vol_of_var,
        corr,
        cp,
        n_steps,
        SEED,
        keys,
        40_000,
        price,
        stderr,
    )
    for i in range(n):
        ref = _ql_heston(
            today,
            spot[i],
            strike[i],
            int(days[i]),
            cp[i],
            rate[i],
            carry_yield[i],
            var0[i],
            kappa[i],
            long_var[i],
            vol_of_var[i],
            corr[i],
        )
        assert abs(price[i] - ref) < N_SIGMA * stderr[i], (i, price[i], ref, stderr[i])


# ---------------------------------------------------------------------------
# Reproducibility
# ---------------------------------------------------------------------------


def _run_all(book, n_paths, parallel):
    suffix = "parallel" if parallel else "serial"
    gbm = [book[f] for f in GBM_FIELDS]
    n = book["spot"].shape[0]
    results = {}
    for name in ("gbm_european", "gbm_asian"):
        price, stderr = mc.allocate_results(n)
        getattr(mc, f"{name}_{suffix}")(
            *gbm, book["n_steps"], SEED, book["trade_key"], n_paths, price, stderr
        )
        results[name] = (price, stderr)
    price, stderr = mc.allocate_results(n)
    getattr(mc, f"gbm_barrier_{suffix}")(
        *gbm,
        book["barrier"],
        book["barrier_kind"],
        book["n_steps"],
        SEED,
        book["trade_key"],
        n_paths,
        price,
        stderr,
    )
    results["gbm_barrier"] = (price, stderr)
    price, stderr = mc.allocate_results(n)
    getattr(mc, f"heston_european_{suffix}")(
        book["spot"],
        book["strike"],
        book["tau"],
        book["rate"],
        book["carry_yield"],
        book["var0"],
        book["kappa"],
        book["long_var"],
        book["vol_of_var"],
        book["corr"],
        book["cp"],
        book["n_steps"],
        SEED,
        book["trade_key"],
        n_paths,
        price,
        stderr,
    )
    results["heston_european"] = (price, stderr)
    return results


def _full_book(n):
    book = _book(n, seed=11)
    rng = np.random.default_rng(12)
    book["barrier"] = book["spot"] * rng.choice([0.8, 1.2], n)
    book["barrier_kind"] = np.where(
        book["barrier"] > book["spot"], mc.UP_AND_OUT, mc.DOWN_AND_OUT
    ).astype(np.int64) | rng.choice([0, 2], n)
    book["var0"] = rng.uniform(0.02, 0.09, n)
    book["kappa"] = rng.uniform(0.5, 3.0, n)
    book["long_var"] = rng.uniform(0.02, 0.09, n)
    book["vol_of_var"] = rng.uniform(0.1, 0.6, n)
    book["corr"] = rng.uniform(-0.9, 0.5, n)
    return book


def _subset(book, index):
    return {k: np.ascontiguousarray(v[index]) for k, v in book.items()}


def test_results_do_not_depend_on_batching_order_or_threads():
    n, n_paths = 9, 700  # 700 paths: two full blocks and a partial one
    book = _full_book(n)
    whole = _run_all(book, n_paths, parallel=True)

    head = _run_all(_subset(book, slice(0, 4)), n_paths, parallel=True)
    tail = _run_all(_subset(book, slice(4, n)), n_paths, parallel=False)
    order = np.random.default_rng(5).permutation(n)
    shuffled = _run_all(_subset(book, order), n_paths, parallel=True)
    threads = nb.get_num_threads()
    try:
        nb.set_num_threads(1)
        one_thread = _run_all(book, n_paths, parallel=True)
    finally:
        nb.set_num_threads(threads)
    serial = _run_all(book, n_paths, parallel=False)

    for name, (price, stderr) in whole.items():
        assert np.all(np.isfinite(price)) and np.all(stderr >= 0.0), name
        joined = np.concatenate([head[name][0], tail[name][0]])
        np.testing.assert_array_equal(joined, price, err_msg=name)
        np.testing.assert_array_equal(shuffled[name][0], price[order], err_msg=name)
        np.testing.assert_array_equal(shuffled[name][1], stderr[order], err_msg=name)
        np.testing.assert_array_equal(one_thread[name][0], price, err_msg=name)
        np.testing.assert_array_equal(serial[name][0], price, err_msg=name)
        np.testing.assert_array_equal(serial[name][1], stderr, err_msg=name)


def test_gbm_kernel_is_vectorized():
    if nb.config.CPU_NAME and nb.config.CPU_NAME != "host":
        pytest.skip(f"numba compiles for {nb.config.CPU_NAME}, not the host CPU")
    features = llvm.get_host_cpu_features()
    if features.get("avx512f", False):
        registers = "[zy]mm"
    elif features.get("avx2", False):
        registers = "ymm"
    else:
        pytest.skip("host CPU has no AVX2: nothing to check")
    kernel = mc.gbm_european_serial
    options = {k: v for k, v in kernel.targetoptions.items() if k != "nopython"}
    fresh = nb.njit(cache=False, **options)(kernel.py_func)  # cached code is not inspectable
    book = _book(2)
    _gbm_european(book, 300, fresh)
    asm = fresh.inspect_asm(fresh.signatures[0])
    # Philox's 32x32->64 multiplies and the Box-Muller arithmetic on vector registers.
    assert len(re.findall(rf"vpmuludq\s+[^\n]*%{registers}", asm)) >= 20
    assert len(re.findall(rf"vfn?m(?:add|sub)\d+pd\s+[^\n]*%{registers}", asm)) >= 20
