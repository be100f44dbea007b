"""``xiphpc bench``: throughput of the pricing kernels against their alternatives.

``bench kernels`` times Black–Scholes PV + delta, gamma, vega, theta, rho in
float64 for the vectorized fused kernel, the scalar-libm kernel, a NumPy
array formulation and a QuantLib per-option loop, side by side in one run, and
relates them to the machine's copy bandwidth; then American options: the
Andersen–Lake–Offengenden kernel (value alone and with greeks) and the
Bjerksund–Stensland one beside QuantLib's ``QdFpAmericanEngine`` and
``BjerksundStenslandApproximationEngine`` loops. ``bench mc`` times path
simulation: the Philox kernels against numba with ``np.random`` and NumPy.
``bench products`` times every product of the registry end to end
(``Product.price`` on a synthetic portfolio, one thread).

Figures are medians over ``--repeat`` timed runs after one warm-up run (which
also compiles or loads the numba kernels).
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import click
import numba as nb
import numpy as np

from xiphpc.pricing.kernels import american, american_alo, vmath
from xiphpc.pricing.kernels import black_scholes as bs
from xiphpc.pricing.kernels import montecarlo as mc

BYTES_PER_OPTION = (7 + 6) * 8
"""Seven float64 inputs read and six float64 outputs written per option."""


@dataclass
class Rate:
    """Throughput of one implementation, in items (options or path-steps) per second."""

    name: str
    threads: int
    items: int
    median: float
    low: float
    high: float
    note: str = ""


def _timings(fn: Callable[[], object], repeat: int) -> list[float]:
    fn()  # warm-up: compilation, cache loading, page faults of the outputs
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _rate(
    name: str, threads: int, items: int, fn: Callable[[], object], repeat: int, scale_note: str = ""
) -> Rate:
    seconds = _timings(fn, repeat)
    return Rate(
        name,
        threads,
        items,
        items / statistics.median(seconds),
        items / max(seconds),
        items / min(seconds),
        scale_note,
    )


def valid_tables(tables: dict, market, names, n: int):
    """``(name, table)`` of the valid trades of each product of ``names`` in a generated
    portfolio of ``n`` trades (``tables``), saying which products are skipped and why."""
    from xiphpc.pricing.validation import validate_table

    for name in names:
        table = tables.get(name)
        if table is None or len(table) == 0:
            click.echo(f"{name}: no trades in a portfolio of {n:,}, skipped")
            continue
        status, _ = validate_table(table, market)
        table = table.take(np.flatnonzero(status == 0))
        if len(table) == 0:
            click.echo(f"{name}: no valid trades, skipped")
            continue
        yield name, table


class _Threads:
    """Context manager setting numba's thread count for the calling thread."""

    def __init__(self, n: int):
        self.n = n

    def __enter__(self):
        self.saved = nb.get_num_threads()
        nb.set_num_threads(self.n)

    def __exit__(self, *exc):
        nb.set_num_threads(self.saved)


# ---------------------------------------------------------------------------
# Black–Scholes alternatives
# ---------------------------------------------------------------------------


def random_book(n: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """A random option book ``(spot, strike, tau, rate, carry_yield, vol, cp)``, shape ``(n,)``.

    Strikes within about three standard deviations of the spot, expiries from a
    week to ten years, rates from -1% to 8%, vols from 5% to 80%.
    """
    rng = np.random.default_rng(seed)
    spot = rng.uniform(50.0, 150.0, n)
    tau = rng.uniform(7.0 / 365.0, 10.0, n)
    vol = rng.uniform(0.05, 0.8, n)
    strike = spot * np.exp(rng.uniform(-3.0, 3.0, n) * vol * np.sqrt(tau))
    rate = rng.uniform(-0.01, 0.08, n)
    carry_yield = rng.uniform(0.0, 0.05, n)
    cp = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    return spot, strike, tau, rate, carry_yield, vol, cp


def _numpy_ncdf_npdf(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Same erfcx polynomial as vmath, in NumPy array arithmetic.
    a = np.abs(x) * (1.0 / math.sqrt(2.0))
    q = (a - vmath.ERFCX_SHIFT) / (a + vmath.ERFCX_SHIFT)
    coeffs = vmath.ERFCX_COEFFICIENTS
    p = np.full_like(q, coeffs[-1])
    for c in coeffs[-2::-1]:
        p *= q
        p += c
    g = np.exp(-0.5 * x * x)
    tail = 0.5 * (1.0 + p) / (1.0 + 2.0 * a) * g
    return np.where(x < 0.0, tail, 1.0 - tail), g * (1.0 / math.sqrt(2.0 * math.pi))


def numpy_black_scholes(spot, strike, tau, rate, carry_yield, vol, cp) -> tuple[np.ndarray, ...]:
    """Black–Scholes PV and greeks with NumPy arrays only (no SciPy).

    ``np.exp``, ``np.log`` and ``np.sqrt`` are NumPy's own vectorized loops; the
    normal CDF uses the erfcx polynomial of :mod:`xiphpc.pricing.kernels.vmath` in array
    arithmetic. Same conventions and outputs as ``bs_fused_serial``.
    """
    sqrt_t = np.sqrt(tau)
    sig_sqrt_t = vol * sqrt_t
    d1 = (np.log(spot / strike) + (rate - carry_yield + 0.5 * vol * vol) * tau) / sig_sqrt_t
    d2 = d1 - sig_sqrt_t
    df_r = np.exp(-rate * tau)
    df_q = np.exp(-carry_yield * tau)
    nd1, pdf1 = _numpy_ncdf_npdf(cp * d1)
    nd2, _ = _numpy_ncdf_npdf(cp * d2)
    fwd_s = spot * df_q
    disc_k = strike * df_r
    pv = cp * (fwd_s * nd1 - disc_k * nd2)
    delta = cp * df_q * nd1
    gamma = df_q * pdf1 / (spot * sig_sqrt_t)
    vega = fwd_s * pdf1 * sqrt_t
    theta = (
        -fwd_s * pdf1 * vol / (2.0 * sqrt_t)
        - cp * rate * disc_k * nd2
        + cp * carry_yield * fwd_s * nd1
    )
    rho = cp * disc_k * tau * nd2
    return pv, delta, gamma, vega, theta, rho


def quantlib_loop(
    book: tuple[np.ndarray, ...], engine: str = "analytic_european"
) -> Callable[[], np.ndarray] | None:
    """A callable pricing ``book`` option by option with QuantLib, or ``None``.

    One engine on one Black–Scholes–Merton process whose spot, rate, dividend
    and vol quotes are reset per option; the option object is built per option
    (strike, type and expiry differ), expiry rounded to whole days (ACT/365F).
    ``engine``: ``analytic_european`` (PV and five greeks, European exercise);
    for American exercise and the value alone, ``qdfp_fast``, ``qdfp_accurate``
    (``QdFpAmericanEngine`` with that scheme) or ``bjerksund_stensland``.
    """
    try:
        import QuantLib as ql
    except ImportError:
        return None
    today = ql.Date(14, 6, 2024)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    cal = ql.NullCalendar()
    s_q, r_q, q_q, v_q = (ql.SimpleQuote(0.0) for _ in range(4))
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(s_q),
        ql.YieldTermStructureHandle(ql.FlatForward(0, cal, ql.QuoteHandle(q_q), dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(0, cal, ql.QuoteHandle(r_q), dc)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(0, cal, ql.QuoteHandle(v_q), dc)),
    )
    american = engine != "analytic_european"
    pricing_engine = {
        "analytic_european": lambda: ql.AnalyticEuropeanEngine(process),
        "qdfp_fast": lambda: ql.QdFpAmericanEngine(process, ql.QdFpAmericanEngine.fastScheme()),
        "qdfp_accurate": lambda: ql.QdFpAmericanEngine(
            process, ql.QdFpAmericanEngine.accurateScheme()
        ),
        "bjerksund_stensland": lambda: ql.BjerksundStenslandApproximationEngine(process),
    }[engine]()
    spot, strike, tau, rate, carry_yield, vol, cp = (a.tolist() for a in book)
    days = [max(1, round(t * 365.0)) for t in tau]

    def run() -> np.ndarray:
        out = np.empty((len(spot), 6))
        for i in range(len(spot)):
            s_q.setValue(spot[i])
            r_q.setValue(rate[i])
            q_q.setValue(carry_yield[i])
            v_q.setValue(vol[i])
            kind = ql.Option.Call if cp[i] > 0 else ql.Option.Put
            exercise = (
                ql.AmericanExercise(today, today + days[i])
                if american
                else ql.EuropeanExercise(today + days[i])
            )
            option = ql.VanillaOption(ql.PlainVanillaPayoff(kind, strike[i]), exercise)
            option.setPricingEngine(pricing_engine)
            if american:
                out[i, 0] = option.NPV()
                continue
            out[i] = (
                option.NPV(),
                option.delta(),
                option.gamma(),
                option.vega(),
                option.theta(),
                option.rho(),
            )
        return out

    return run


def american_book(n: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """:func:`random_book` with the rates made non-negative (0-8%), where QuantLib's QD+
    engines price American options."""
    spot, strike, tau, rate, carry_yield, vol, cp = random_book(n, seed)
    return spot, strike, tau, np.abs(rate), carry_yield, vol, cp


def american_rates(
    n: int, repeat: int, quantlib_n: int, all_threads: int
) -> tuple[list[Rate], dict[str, float]]:
    """Options/s of the American kernels (1 thread: the serial target; more: the parallel
    one) and of QuantLib's engines (value alone, Python loop), with their ratios."""
    book = american_book(n, seed=2)
    out = bs.allocate_greeks(n)
    rates: list[Rate] = []
    for threads in sorted({1, all_threads}):
        alo = (
            american_alo.american_alo_serial if threads == 1 else american_alo.american_alo_parallel
        )
        bs93 = american.american_serial if threads == 1 else american.american_parallel
        with _Threads(threads):
            for label, greeks in (("ALO, value alone", 0), ("ALO, value + 5 greeks", 1)):
                rates.append(
                    _rate(label, threads, n, lambda k=alo, g=greeks: k(*book, g, *out), repeat)
                )
            rates.append(
                _rate(
                    "Bjerksund-Stensland, value + 5 greeks",
                    threads,
                    n,
                    lambda k=bs93: k(*book, *out),
                    repeat,
                )
            )
    small = tuple(a[:quantlib_n] for a in book)
    ql_labels = {
        "qdfp_fast": "QuantLib QdFpAmericanEngine fast, value",
        "qdfp_accurate": "QuantLib QdFpAmericanEngine accurate, value",
        "bjerksund_stensland": "QuantLib Bjerksund-Stensland, value",
    }
    for engine, label in ql_labels.items():
        run = quantlib_loop(small, engine)
        if run is None:
            click.echo("QuantLib not importable: its American loops are skipped")
            break
        note = f"({small[0].shape[0]:,} options)"
        rates.append(_rate(label, 1, small[0].shape[0], run, repeat, note))
    by = {(r.name, r.threads): r.median for r in rates}
    ratios = {}
    for ours, theirs in (
        ("ALO, value alone", ql_labels["qdfp_fast"]),
        ("ALO, value alone", ql_labels["qdfp_accurate"]),
        ("Bjerksund-Stensland, value + 5 greeks", ql_labels["bjerksund_stensland"]),
    ):
        if (theirs, 1) in by:
            ratios[f"{ours} / {theirs}, 1 thread"] = by[(ours, 1)] / by[(theirs, 1)]
    return rates, ratios


def copy_bandwidth(repeat: int, threads: int, n_bytes: int = 1 << 28) -> float:
    """Copy bandwidth in bytes/s (bytes read + bytes written), median of ``repeat`` runs.

    ``np.copyto`` of an ``n_bytes`` array, split into ``threads`` slices copied
    concurrently (NumPy releases the GIL while copying).
    """
    src = np.ones(n_bytes // 8)
    dst = np.zeros_like(src)
    bounds = np.linspace(0, src.shape[0], threads + 1).astype(np.int64)
    slices = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    with ThreadPoolExecutor(max_workers=threads) as pool:

        def copy() -> None:
            list(pool.map(lambda s: np.copyto(dst[s], src[s]), slices))

        seconds = _timings(copy, repeat)
    return 2.0 * src.nbytes / statistics.median(seconds)


def _print_rates(title: str, unit: str, rates: list[Rate], scale: float = 1e6) -> None:
    click.echo(title)
    click.echo(
        f"  {'implementation':<46} {'threads':>7} {'median':>10} {'min':>10} {'max':>10}  {unit}"
    )
    for r in rates:
        click.echo(
            f"  {r.name:<46} {r.threads:>7d} {r.median / scale:>10.3f} "
            f"{r.low / scale:>10.3f} {r.high / scale:>10.3f}  {r.note}"
        )


def _write_json(path: str | None, payload: dict) -> None:
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(payload, f, indent=2)
        click.echo(f"figures written to {path}")


@click.group(name="bench")
def bench() -> None:
    """Time the pricing kernels against their alternatives."""


@bench.command("kernels")
@click.option(
    "--n",
    "n",
    default=1_000_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Options per run.",
)
@click.option(
    "--repeat",
    default=7,
    show_default=True,
    type=click.IntRange(min=1),
    help="Timed runs per implementation (after one warm-up run).",
)
@click.option(
    "--quantlib-n",
    default=2000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Options in the QuantLib loop (its rate is per option, so it scales).",
)
@click.option(
    "--american-n",
    default=20_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="American options per run of the American kernels.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the figures to this JSON file.",
)
def kernels_command(
    n: int, repeat: int, quantlib_n: int, american_n: int, json_path: str | None
) -> None:
    """Black–Scholes PV + delta, gamma, vega, theta, rho in float64, then American options:
    options per second."""
    all_threads = nb.config.NUMBA_NUM_THREADS
    book = random_book(n)
    outputs = bs.allocate_greeks(n)
    rates: list[Rate] = []
    for label, kernel in (
        ("vectorized fused (vmath)", bs.bs_fused_parallel),
        ("scalar libm fused (math.exp/log/erfc)", bs.bs_fused_scalar_parallel),
    ):
        for threads in sorted({1, all_threads}):
            with _Threads(threads):
                rates.append(_rate(label, threads, n, lambda k=kernel: k(*book, *outputs), repeat))
    rates.append(
        _rate(
            "NumPy arrays (np.exp/np.log, own erfc)",
            1,
            n,
            lambda: numpy_black_scholes(*book),
            repeat,
        )
    )
    small = tuple(a[:quantlib_n] for a in book)
    ql_run = quantlib_loop(small)
    if ql_run is None:
        click.echo("QuantLib not importable: its loop is skipped")
    else:
        rates.append(
            _rate(
                "QuantLib AnalyticEuropeanEngine, Python loop",
                1,
                small[0].shape[0],
                ql_run,
                repeat,
                f"({small[0].shape[0]:,} options)",
            )
        )

    _print_rates(
        f"Black-Scholes PV + 5 greeks, float64, {n:,} options, median of {repeat} "
        f"runs, M options/s",
        "M/s",
        rates,
    )

    by = {(r.name.split(" ")[0], r.threads): r.median for r in rates}
    ratios = {}
    for threads in sorted({1, all_threads}):
        fast = by[("vectorized", threads)]
        ratios[f"vectorized/scalar, {threads} thread(s)"] = fast / by[("scalar", threads)]
        ratios[f"vectorized/NumPy, {threads} thread(s)"] = fast / by[("NumPy", 1)]
        if ("QuantLib", 1) in by:
            ratios[f"vectorized/QuantLib, {threads} thread(s)"] = fast / by[("QuantLib", 1)]
    click.echo("ratios")
    for k, v in ratios.items():
        click.echo(f"  {k:<46} {v:>10.1f}x")

    memory = {}
    click.echo(
        f"memory bound ({BYTES_PER_OPTION} bytes per option: 7 inputs + 6 outputs x 8 B; "
        "copy = np.copyto of 256 MiB)"
    )
    for threads in sorted({1, all_threads}):
        bw = copy_bandwidth(repeat, threads)
        bound = bw / BYTES_PER_OPTION
        fraction = by[("vectorized", threads)] / bound
        memory[str(threads)] = dict(
            copy_bytes_per_s=bw, bound_options_per_s=bound, vectorized_fraction_of_bound=fraction
        )
        click.echo(
            f"  {threads} thread(s): copy {bw / 1e9:.1f} GB/s -> bound "
            f"{bound / 1e6:.0f} M options/s; vectorized kernel at {fraction:.1%}"
        )

    am_rates, am_ratios = american_rates(american_n, repeat, quantlib_n, all_threads)
    _print_rates(
        f"American options, float64, {american_n:,} options (expiries up to 10 years), "
        f"median of {repeat} runs, k options/s",
        "k/s",
        am_rates,
        scale=1e3,
    )
    if am_ratios:
        click.echo("ratios")
        for k, v in am_ratios.items():
            click.echo(f"  {k:<46} {v:>10.1f}x")
    _write_json(
        json_path,
        dict(
            benchmark="kernels",
            n=n,
            repeat=repeat,
            rates=[asdict(r) for r in rates],
            ratios=ratios,
            memory=memory,
            american=dict(n=american_n, rates=[asdict(r) for r in am_rates], ratios=am_ratios),
        ),
    )


# ---------------------------------------------------------------------------
# Monte Carlo alternatives
# ---------------------------------------------------------------------------


@nb.njit(cache=True)
def _numba_np_random_gbm(spot, drift, sd, n_paths, n_steps, seed):
    # numba's own per-thread Mersenne Twister, one normal per path-step: the
    # legacy np.random API is the baseline being measured here.
    np.random.seed(seed)  # noqa: NPY002
    total = 0.0
    for _ in range(n_paths):
        x = 0.0
        for _ in range(n_steps):
            x += drift + sd * np.random.standard_normal()  # noqa: NPY002
        total += spot * np.exp(x)
    return total / n_paths


def _numpy_gbm(spot, drift, sd, n_paths, n_steps, seed):
    rng = np.random.default_rng(seed)
    x = np.zeros(n_paths)
    for _ in range(n_steps):
        x += drift + sd * rng.standard_normal(n_paths)
    return float(np.mean(spot * np.exp(x)))


@bench.command("mc")
@click.option(
    "--paths",
    default=100_000,
    show_default=True,
    type=click.IntRange(min=2),
    help="Paths of the Philox kernel (one trade).",
)
@click.option(
    "--steps",
    default=252,
    show_default=True,
    type=click.IntRange(min=1),
    help="Time steps per path.",
)
@click.option(
    "--repeat",
    default=5,
    show_default=True,
    type=click.IntRange(min=1),
    help="Timed runs per implementation (after one warm-up run).",
)
@click.option(
    "--baseline-paths",
    default=20_000,
    show_default=True,
    type=click.IntRange(min=2),
    help="Paths of the slower baselines.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the figures to this JSON file.",
)
def mc_command(
    paths: int, steps: int, repeat: int, baseline_paths: int, json_path: str | None
) -> None:
    """Monte Carlo path simulation, float64: path-steps per second.

    The Philox kernels (GBM European, arithmetic Asian, Heston) price one trade;
    the baselines simulate the same GBM European with one normal per path-step.
    """
    all_threads = nb.config.NUMBA_NUM_THREADS
    spot, strike, tau, rate, carry_yield, vol = 100.0, 100.0, 1.0, 0.03, 0.01, 0.2
    arrays = [np.array([v]) for v in (spot, strike, tau, rate, carry_yield, vol, 1.0)]
    n_steps = np.array([steps], dtype=np.int64)
    keys = np.array([1], dtype=np.uint64)
    price, stderr = mc.allocate_results(1)
    heston = [np.array([v]) for v in (0.04, 1.5, 0.04, 0.3, -0.7)]  # v0, kappa, theta, xi, rho
    philox_kernels = {
        "Philox GBM European kernel": lambda: mc.gbm_european_parallel(
            *arrays, n_steps, np.uint64(7), keys, paths, price, stderr
        ),
        "Philox GBM arithmetic Asian kernel (with CV)": lambda: mc.gbm_asian_parallel(
            *arrays, n_steps, np.uint64(7), keys, paths, price, stderr
        ),
        "Philox Heston European kernel": lambda: mc.heston_european_parallel(
            *arrays[:5], *heston, arrays[6], n_steps, np.uint64(7), keys, paths, price, stderr
        ),
    }
    rates: list[Rate] = []
    for name, run in philox_kernels.items():
        for threads in sorted({1, all_threads}):
            with _Threads(threads):
                rates.append(_rate(name, threads, paths * steps, run, repeat))
    dt = tau / steps
    drift, sd = (rate - carry_yield - 0.5 * vol * vol) * dt, vol * math.sqrt(dt)
    base = min(baseline_paths, paths)
    note = f"({base:,} paths)"
    rates.append(
        _rate(
            "numba, np.random inside the kernel",
            1,
            base * steps,
            lambda: _numba_np_random_gbm(spot, drift, sd, base, steps, 7),
            repeat,
            note,
        )
    )
    rates.append(
        _rate(
            "NumPy, one Generator draw per step",
            1,
            base * steps,
            lambda: _numpy_gbm(spot, drift, sd, base, steps, 7),
            repeat,
            note,
        )
    )
    _print_rates(
        f"GBM paths x steps, float64, {paths:,} paths x {steps} steps, median of "
        f"{repeat} runs, M path-steps/s",
        "M/s",
        rates,
    )
    ratios = {}
    european = [r for r in rates if r.name == "Philox GBM European kernel"]
    for r in european:
        for other in rates[-2:]:
            ratios[f"Philox European {r.threads} thread(s) / {other.name.split(',')[0]}"] = (
                r.median / other.median
            )
    click.echo("ratios")
    for k, v in ratios.items():
        click.echo(f"  {k:<46} {v:>10.1f}x")
    _write_json(
        json_path,
        dict(
            benchmark="mc",
            paths=paths,
            steps=steps,
            repeat=repeat,
            rates=[asdict(r) for r in rates],
            ratios=ratios,
        ),
    )


# ---------------------------------------------------------------------------
# Products of the registry, end to end
# ---------------------------------------------------------------------------


@bench.command("products")
@click.option(
    "--n",
    "n",
    default=100_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Trades of the synthetic portfolio (all products together).",
)
@click.option(
    "--repeat",
    default=5,
    show_default=True,
    type=click.IntRange(min=1),
    help="Timed runs per product (after one warm-up run).",
)
@click.option(
    "--quantlib-n",
    default=500,
    show_default=True,
    type=click.IntRange(min=1),
    help="Options in the QuantLib reference loop.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the figures to this JSON file.",
)
def products_command(n: int, repeat: int, quantlib_n: int, json_path: str | None) -> None:
    """Every registry product: ``Product.price`` on a synthetic portfolio, trades per second.

    The portfolio is ``generate_portfolio(n, seed=1)`` on ``generate_market(1)``, invalid
    trades removed; one thread, all measures (PV and greeks). The European equity option is
    set against a QuantLib ``AnalyticEuropeanEngine`` loop (PV and five greeks, inputs
    already resolved, so QuantLib's figure leaves out market look-ups).
    """
    from xiphpc.pricing.products import REGISTRY, PricingContext
    from xiphpc.synth.generate import generate_market, generate_portfolio

    market = generate_market(1)
    tables = generate_portfolio(n, seed=1, market=market)
    ctx = PricingContext(seed=1, parallel=False, valuation_date=market.valuation_date)
    rates: list[Rate] = []
    with _Threads(1):
        for name, table in valid_tables(tables, market, REGISTRY, n):
            product = REGISTRY[name]
            rates.append(
                _rate(
                    name,
                    1,
                    len(table),
                    lambda p=product, t=table: p.price(t, market, ctx),
                    repeat,
                    f"({len(table):,} trades)",
                )
            )
    ratios = {}
    ql_run = quantlib_loop(random_book(quantlib_n, seed=1))
    if ql_run is None:
        click.echo("QuantLib not importable: its loop is skipped")
    else:
        ql_rate = _rate(
            "QuantLib AnalyticEuropeanEngine, Python loop",
            1,
            quantlib_n,
            ql_run,
            repeat,
            f"({quantlib_n:,} options)",
        )
        rates.append(ql_rate)
        ours = [r for r in rates if r.name == "equity_option"]
        if ours:
            ratios["equity_option / QuantLib"] = ours[0].median / ql_rate.median
    _print_rates(
        f"Product.price, all measures, 1 thread, portfolio of {n:,} trades, median of "
        f"{repeat} runs, k trades/s",
        "k/s",
        rates,
        scale=1e3,
    )
    if ratios:
        click.echo("ratios")
        for k, v in ratios.items():
            click.echo(f"  {k:<46} {v:>10.1f}x")
    _write_json(
        json_path,
        dict(
            benchmark="products",
            n=n,
            repeat=repeat,
            rates=[asdict(r) for r in rates],
            ratios=ratios,
        ),
    )
