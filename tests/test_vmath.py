"""Accuracy of the vectorizable math and of the fused Black–Scholes kernels.

References are computed with mpmath at 50 significant digits from the exact
float64 inputs. Errors in ulp are measured against the spacing of float64 at
the correctly rounded reference (subnormal spacing below 2**-1022).
"""

from __future__ import annotations

import math
import re

import llvmlite.binding as llvm
import mpmath as mp
import numba as nb
import numpy as np
import pytest
from conftest import EPS, bs_rounding_bounds

from xiphpc.pricing.kernels import black_scholes as bs
from xiphpc.pricing.kernels import vmath

mp.mp.dps = 50
N_POINTS = 3000


@nb.njit(error_model="numpy")
def _apply(f, x, out):
    for i in range(x.shape[0]):
        out[i] = f(x[i])


@nb.njit(error_model="numpy")
def _apply_sincos(u, s, c):
    for i in range(u.shape[0]):
        s[i], c[i] = vmath.sincos2pi(u[i])


@nb.njit(error_model="numpy")
def _apply_ncdf_npdf(x, cdf, pdf):
    for i in range(x.shape[0]):
        cdf[i], pdf[i] = vmath.ncdf_npdf(x[i])


def _evaluate(f, x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    _apply(f, x, out)
    return out


def _ulp_errors(y: np.ndarray, x: np.ndarray, ref) -> np.ndarray:
    errors = np.empty(x.shape[0])
    for i, (xi, yi) in enumerate(zip(x, y, strict=True)):
        r = ref(mp.mpf(float(xi)))
        spacing = max(float(np.spacing(abs(float(r)))), 5e-324)
        errors[i] = float(abs(mp.mpf(float(yi)) - r)) / spacing
    return errors


RNG = np.random.default_rng(20240611)

# (function, reference, sample, max ulp)
CASES = {
    "exp": (vmath.exp, mp.exp, RNG.uniform(-708.0, 709.7, N_POINTS), 1.0),
    "exp_near_0": (vmath.exp, mp.exp, RNG.uniform(-1.0, 1.0, N_POINTS), 1.0),
    "exp_subnormal": (vmath.exp, mp.exp, RNG.uniform(-745.0, -708.4, N_POINTS), 1.0),
    "log": (vmath.log, mp.log, 10.0 ** RNG.uniform(-307.0, 308.0, N_POINTS), 1.0),
    "log_near_1": (vmath.log, mp.log, 1.0 + RNG.uniform(-0.3, 0.3, N_POINTS), 1.0),
    "log_subnormal": (vmath.log, mp.log, 10.0 ** RNG.uniform(-323.0, -308.0, N_POINTS), 1.0),
    "erfc_tail": (vmath.erfc, mp.erfc, RNG.uniform(0.0, 27.3, N_POINTS), 3.0),
    "erfc_core": (vmath.erfc, mp.erfc, RNG.uniform(-6.0, 3.0, N_POINTS), 3.0),
    "ncdf_lower": (vmath.ncdf, mp.ncdf, RNG.uniform(-38.5, 0.0, N_POINTS), 4.0),
    "ncdf_upper": (vmath.ncdf, mp.ncdf, RNG.uniform(0.0, 8.3, N_POINTS), 4.0),
    "npdf": (vmath.npdf, mp.npdf, RNG.uniform(-38.5, 38.5, N_POINTS), 4.0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_ulp_error_against_mpmath(name):
    func, ref, x, max_ulp = CASES[name]
    errors = _ulp_errors(_evaluate(func, x), x, ref)
    worst = int(np.argmax(errors))
    assert errors[worst] <= max_ulp, f"{name}: {errors[worst]:.2f} ulp at x={x[worst]!r}"


def test_special_values():
    inf, nan = math.inf, math.nan
    e = _evaluate(vmath.exp, np.array([0.0, 709.79, 1e300, inf, -745.2, -1e300, -inf, nan]))
    assert e[0] == 1.0 and np.all(np.isposinf(e[1:4])) and np.all(e[4:7] == 0.0)
    assert np.isnan(e[7])
    assert _evaluate(vmath.exp, np.array([-745.0]))[0] == 5e-324  # smallest subnormal

    lg = _evaluate(vmath.log, np.array([1.0, 0.0, -0.0, -1.0, inf, nan, 5e-324]))
    assert lg[0] == 0.0 and np.isneginf(lg[1]) and np.isneginf(lg[2])
    assert np.isnan(lg[3]) and np.isposinf(lg[4]) and np.isnan(lg[5])
    assert lg[6] == math.log(5e-324)

    ec = _evaluate(vmath.erfc, np.array([0.0, 27.3, 40.0, inf, -40.0, -inf, nan]))
    assert ec[0] == 1.0 and np.all(ec[1:4] == 0.0) and np.all(ec[4:6] == 2.0)
    assert np.isnan(ec[6])
    # The last representable tail value before underflow.
    assert _evaluate(vmath.erfc, np.array([27.2]))[0] > 0.0

    cdf = _evaluate(vmath.ncdf, np.array([0.0, -inf, inf, -38.7, 38.7, nan]))
    assert cdf[0] == 0.5 and cdf[1] == 0.0 and cdf[2] == 1.0
    assert cdf[3] == 0.0 and cdf[4] == 1.0 and np.isnan(cdf[5])


def test_ncdf_npdf_matches_the_single_functions():
    x = RNG.uniform(-40.0, 40.0, N_POINTS)
    cdf, pdf = np.empty_like(x), np.empty_like(x)
    _apply_ncdf_npdf(x, cdf, pdf)
    np.testing.assert_array_equal(cdf, _evaluate(vmath.ncdf, x))
    np.testing.assert_array_equal(pdf, _evaluate(vmath.npdf, x))


def test_sincos2pi():
    u = np.concatenate([RNG.random(N_POINTS), np.arange(16) / 16.0])
    s, c = np.empty_like(u), np.empty_like(u)
    _apply_sincos(u, s, c)
    angles = [2 * mp.pi * mp.mpf(float(v)) for v in u]
    err_s = max(float(abs(mp.sin(a) - float(y))) for a, y in zip(angles, s, strict=True))
    err_c = max(float(abs(mp.cos(a) - float(y))) for a, y in zip(angles, c, strict=True))
    # The stated accuracy: within 2e-16 of the exact values (an ulp of 1 and the
    # reduction's rounding).
    assert err_s < 2e-16 and err_c < 2e-16
    # Hence s^2 + c^2 - 1 within 2 (|s| + |c|) 2e-16 <= 2 sqrt(2) 2e-16, and three
    # roundings (two squares and the sum, eps/2 each).
    np.testing.assert_array_less(s * s + c * c - 1.0, 2 * math.sqrt(2) * 2e-16 + 1.5 * EPS)


# ---------------------------------------------------------------------------
# Black–Scholes against a 50-digit reference
# ---------------------------------------------------------------------------


def _bs_mpmath(spot, strike, tau, rate, carry_yield, vol, cp):
    s, k, t, r, q, v, w = (
        mp.mpf(float(a)) for a in (spot, strike, tau, rate, carry_yield, vol, cp)
    )
    sqrt_t = mp.sqrt(t)
    d1 = (mp.log(s / k) + (r - q + v * v / 2) * t) / (v * sqrt_t)
    d2 = d1 - v * sqrt_t
    df_r, df_q = mp.exp(-r * t), mp.exp(-q * t)
    nd1, nd2, pdf1 = mp.ncdf(w * d1), mp.ncdf(w * d2), mp.npdf(d1)
    fwd_s, disc_k = s * df_q, k * df_r
    return (
        w * (fwd_s * nd1 - disc_k * nd2),
        w * df_q * nd1,
        df_q * pdf1 / (s * v * sqrt_t),
        fwd_s * pdf1 * sqrt_t,
        -fwd_s * pdf1 * v / (2 * sqrt_t) - w * r * disc_k * nd2 + w * q * fwd_s * nd1,
        w * disc_k * t * nd2,
    )


def _random_book(n: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    spot = 10.0 ** rng.uniform(-1.0, 4.0, n)
    tau = 10.0 ** rng.uniform(math.log10(1.0 / 365.0), math.log10(30.0), n)
    vol = rng.uniform(0.01, 1.2, n)
    # Strikes from 8 standard deviations in the money to 8 out of it.
    strike = spot * np.exp(rng.uniform(-8.0, 8.0, n) * vol * np.sqrt(tau))
    rate = rng.uniform(-0.02, 0.12, n)
    rate[rng.random(n) < 0.15] = 0.0
    carry_yield = rng.uniform(-0.03, 0.08, n)
    carry_yield[rng.random(n) < 0.15] = 0.0
    cp = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    return spot, strike, tau, rate, carry_yield, vol, cp


GREEKS = ("pv", "delta", "gamma", "vega", "theta", "rho")


@pytest.fixture(scope="module")
def book():
    inputs = _random_book(3000, seed=7)
    refs = np.array([[float(v) for v in _bs_mpmath(*row)] for row in zip(*inputs, strict=True)]).T
    # Each kernel is within its terms' rounding of the exact closed form (per case, per
    # greek: conftest.bs_rounding_bounds; vmath's exp and log are within 1 ulp, its ncdf
    # within 4, inside the 4 ulp that assumes).
    return inputs, dict(zip(GREEKS, refs, strict=True)), bs_rounding_bounds(*inputs)


def _errors(out, refs, bounds):
    """|kernel - reference| over the rounding bound, per greek (0 where both are 0)."""
    return {
        g: np.divide(np.abs(o - refs[g]), bounds[:, j], out=np.zeros_like(o), where=o != refs[g])
        for j, (g, o) in enumerate(zip(GREEKS, out, strict=True))
    }


@pytest.mark.parametrize(
    "kernel", ["bs_fused_serial", "bs_fused_parallel", "bs_fused_scalar_serial"]
)
def test_black_scholes_against_mpmath(book, kernel):
    inputs, refs, bounds = book
    out = bs.allocate_greeks(inputs[0].shape[0])
    getattr(bs, kernel)(*inputs, *out)
    for g, err in _errors(out, refs, bounds).items():
        worst = int(np.argmax(err))
        assert err[worst] <= 1.0, (
            f"{kernel} {g}: {err[worst]:.3g} of the bound at {[float(a[worst]) for a in inputs]}"
        )


def test_fast_kernel_against_scalar_kernel(book):
    inputs, _, bounds = book
    n = inputs[0].shape[0]
    fast, scalar = bs.allocate_greeks(n), bs.allocate_greeks(n)
    bs.bs_fused_serial(*inputs, *fast)
    bs.bs_fused_scalar_serial(*inputs, *scalar)
    # Each within its bound of the exact value.
    for j, (g, f, s) in enumerate(zip(GREEKS, fast, scalar, strict=True)):
        err = np.abs(f - s) - 2 * bounds[:, j]
        assert err.max() <= 0.0, f"{g}: over by {err.max():.3g}"


def test_serial_and_parallel_are_bitwise_equal(book):
    inputs, _, _ = book
    n = inputs[0].shape[0]
    a, b = bs.allocate_greeks(n), bs.allocate_greeks(n)
    bs.bs_fused_serial(*inputs, *a)
    bs.bs_fused_parallel(*inputs, *b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_forward_kernels_agree(book):
    inputs, _, _ = book
    spot, strike, tau, rate, carry_yield, _, _ = inputs
    n = spot.shape[0]
    a, b, ref = bs.allocate_greeks(n), bs.allocate_greeks(n), bs.allocate_greeks(n)
    bs.forward_serial(*inputs, *a)
    bs.forward_parallel(*inputs, *b)
    bs.forward_scalar_serial(*inputs, *ref)
    # Terms of each measure (S e^-qt and K e^-rt, times q, r or t), 8 eps each (an exp at
    # 4 ulp and products) on either side.
    fwd, disc = spot * np.exp(-carry_yield * tau), strike * np.exp(-rate * tau)
    terms = {
        "pv": fwd + disc,
        "delta": fwd / spot,
        "gamma": np.zeros(n),
        "vega": np.zeros(n),
        "theta": np.abs(carry_yield) * fwd + np.abs(rate) * disc,
        "rho": tau * disc,
    }
    for g, x, y, r in zip(GREEKS, a, b, ref, strict=True):
        np.testing.assert_array_equal(x, y)
        assert np.all(np.abs(x - r) <= 2 * 8 * EPS * terms[g]), g


# ---------------------------------------------------------------------------
# The production kernel must stay vectorized
# ---------------------------------------------------------------------------


def _host_vector_registers() -> str | None:
    # numba compiles for NUMBA_CPU_NAME when set ("generic": no vector extensions assumed).
    if nb.config.CPU_NAME and nb.config.CPU_NAME != "host":
        return None
    features = llvm.get_host_cpu_features()
    if features.get("avx512f", False):
        return "[zy]mm"  # LLVM may still prefer 256-bit vectors on some CPUs
    if features.get("avx2", False) or features.get("avx", False):
        return "ymm"
    return None


def _kernel_asm(dispatcher, *args) -> str:
    # Code loaded from numba's cache cannot be inspected: compile the same
    # function with the same options once more, uncached.
    options = {k: v for k, v in dispatcher.targetoptions.items() if k != "nopython"}
    fresh = nb.njit(cache=False, **options)(dispatcher.py_func)
    fresh(*args)
    asm = fresh.inspect_asm(fresh.signatures[0])
    # Keep only the compiled kernel, not the CPython wrapper that unboxes its
    # arguments: from its mangled symbol to the end-of-function marker.
    name = dispatcher.py_func.__qualname__
    match = re.search(rf"^_ZN(?!7cpython)\S*{name}\S*:$(.*?)^\.Lfunc_end", asm, re.M | re.S)
    assert match, "kernel symbol not found in the assembly"
    return match.group(1)


def test_fast_kernel_is_vectorized(book):
    registers = _host_vector_registers()
    if registers is None:
        pytest.skip("the CPU numba compiles for has no AVX: nothing to check")
    inputs, _, _ = book
    asm = _kernel_asm(bs.bs_fused_serial, *inputs, *bs.allocate_greeks(inputs[0].shape[0]))
    packed_fma = re.findall(rf"vfn?m(?:add|sub)\d+pd\s+[^\n]*%{registers}", asm)
    packed_div = re.findall(rf"vdivpd\s+[^\n]*%{registers}", asm)
    assert len(packed_fma) >= 100, f"only {len(packed_fma)} packed FMAs: de-vectorized?"
    assert packed_div, "no packed division"
    # No scalar libm calls (exp, log, erfc) may remain in the hot loop.
    assert not re.search(r"call\w*\s+\S*(exp|log|erfc)", asm)
