"""Philox4x32-10: known answers, purity of the draws, and statistical quality."""

from __future__ import annotations

import math

import numba as nb
import numpy as np
import pytest

from xiphpc.pricing.kernels import philox

# Known-answer vectors from the Random123 distribution (D. E. Shaw Research,
# Random123 1.14, file tests/kat_vectors), each line split in two here:
# name, rounds, counter[4], key[2] / expected output[4], 32-bit words in hex.
KAT_VECTORS = [
    (
        "philox4x32 7 00000000 00000000 00000000 00000000 00000000 00000000",
        "5f6fb709 0d893f64 4f121f81 4f730a48",
    ),
    (
        "philox4x32 7 ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff",
        "5207ddc2 45165e59 4d8ee751 8c52f662",
    ),
    (
        "philox4x32 7 243f6a88 85a308d3 13198a2e 03707344 a4093822 299f31d0",
        "4dfccaba 190a87f0 c47362ba b6b5242a",
    ),
    (
        "philox4x32 10 00000000 00000000 00000000 00000000 00000000 00000000",
        "6627e8d5 e169c58d bc57ac4c 9b00dbd8",
    ),
    (
        "philox4x32 10 ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff",
        "408f276d 41c83b0e a20bc7c6 6d5451fd",
    ),
    (
        "philox4x32 10 243f6a88 85a308d3 13198a2e 03707344 a4093822 299f31d0",
        "d16cfe09 94fdcceb 5001e420 24126ea1",
    ),
]

SEED = np.uint64(0x5EED_0000_0000_0001)
KEY = np.uint64(0xABCD_EF01_2345_6789)


@pytest.mark.parametrize("vector", KAT_VECTORS)
def test_known_answers(vector):
    _, rounds, *words = " ".join(vector).split()
    words = [int(w, 16) for w in words]
    counter = np.array(words[0:4], dtype=np.uint64)
    key = np.array(words[4:6], dtype=np.uint64)
    out = philox.philox4x32_block(counter, key, int(rounds))
    assert [int(v) for v in out] == words[6:10]


@nb.njit
def _scalar_draws(seed, trade_key, paths, indices, out_u, out_z):
    for i in range(paths.shape[0]):
        out_u[i] = philox.uniform(seed, trade_key, paths[i], indices[i])
        out_z[i] = philox.normal(seed, trade_key, paths[i], indices[i])


def test_draws_are_a_pure_function_of_their_coordinates():
    n_paths, n_draws = 64, 33
    grid_z = np.empty((n_paths, n_draws))
    grid_u = np.empty((n_paths, n_draws))
    philox.fill_normals_serial(SEED, KEY, 0, grid_z)
    philox.fill_uniforms_serial(SEED, KEY, 0, grid_u)

    # Any coordinate, asked for alone and in any order, gives the same number.
    rng = np.random.default_rng(3)
    paths = rng.integers(0, n_paths, 500)
    indices = rng.integers(0, n_draws, 500)
    u, z = np.empty(500), np.empty(500)
    _scalar_draws(SEED, KEY, paths, indices, u, z)
    np.testing.assert_array_equal(u, grid_u[paths, indices])
    np.testing.assert_array_equal(z, grid_z[paths, indices])

    # A window of paths, and the parallel target, give the same block.
    window = np.empty((16, n_draws))
    philox.fill_normals_parallel(SEED, KEY, 40, window)
    np.testing.assert_array_equal(window, grid_z[40:56])

    # Another key or seed gives other numbers.
    other = np.empty((n_paths, n_draws))
    philox.fill_normals_serial(SEED, KEY + np.uint64(1), 0, other)
    assert not np.any(other == grid_z)
    philox.fill_normals_serial(SEED + np.uint64(1), KEY, 0, other)
    assert not np.any(other == grid_z)


@pytest.fixture(scope="module")
def sample():
    # 2,000 paths x 1,000 draws = 2e6 numbers of each kind.
    u = np.empty((2000, 1000))
    z = np.empty((2000, 1000))
    philox.fill_uniforms_parallel(SEED, KEY, 0, u)
    philox.fill_normals_parallel(SEED, KEY, 0, z)
    return u, z


def _chi2_upper_quantile(dof: int, z: float) -> float:
    # Wilson–Hilferty: (X/k)^(1/3) is close to normal with mean 1 - 2/(9k).
    c = 2.0 / (9.0 * dof)
    return dof * (1.0 - c + z * math.sqrt(c)) ** 3


def test_uniforms_open_interval_and_chi_square(sample):
    u, _ = sample
    assert u.min() > 0.0 and u.max() < 1.0
    # Multiples of 2**-53 with an odd numerator: (k + 1/2) / 2**52.
    assert np.all(np.mod(u[:10] * 2.0**53, 2.0) == 1.0)
    bins = 1000
    counts = np.bincount((u.ravel() * bins).astype(np.int64), minlength=bins)
    expected = u.size / bins
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    # Two-sided at 1e-4 each way (z = 3.72).
    assert _chi2_upper_quantile(bins - 1, -3.72) < chi2 < _chi2_upper_quantile(bins - 1, 3.72)


def test_normal_moments(sample):
    _, z = sample
    x = z.ravel()
    n = x.size
    mean = x.mean()
    c = x - mean
    var = (c * c).mean()
    skew = (c**3).mean() / var**1.5
    kurt = (c**4).mean() / var**2 - 3.0
    # 5 standard errors of each estimator under normality.
    assert abs(mean) < 5.0 / math.sqrt(n)
    assert abs(var - 1.0) < 5.0 * math.sqrt(2.0 / n)
    assert abs(skew) < 5.0 * math.sqrt(6.0 / n)
    assert abs(kurt) < 5.0 * math.sqrt(24.0 / n)
    assert np.abs(x).max() < 8.6  # Box–Muller bound for 52-bit uniforms


def _kolmogorov_sf(t: float) -> float:
    # P(sqrt(n) D > t) for large n: 2 sum_k (-1)^(k-1) exp(-2 k^2 t^2).
    return 2.0 * sum((-1) ** (k - 1) * math.exp(-2.0 * k * k * t * t) for k in range(1, 101))


def test_normals_kolmogorov_smirnov(sample):
    _, z = sample
    x = np.sort(z[:200].ravel())  # 2e5 numbers
    n = x.size
    cdf = 0.5 * np.array([math.erfc(-v / math.sqrt(2.0)) for v in x])
    d = max(float((np.arange(1, n + 1) / n - cdf).max()), float((cdf - np.arange(n) / n).max()))
    assert _kolmogorov_sf(d * math.sqrt(n)) > 1e-4


def test_serial_correlation(sample):
    u, z = sample
    n = z.size
    bound = 5.0 / math.sqrt(n)

    def corr(a, b):
        a = a - a.mean()
        b = b - b.mean()
        return float((a * b).mean() / math.sqrt((a * a).mean() * (b * b).mean()))

    # Along a path (lag 1 and lag 2: across and within Box–Muller pairs).
    assert abs(corr(z[:, 1:].ravel(), z[:, :-1].ravel())) < bound
    assert abs(corr(z[:, 2:].ravel(), z[:, :-2].ravel())) < bound
    # Across neighbouring paths at the same index.
    assert abs(corr(z[1:].ravel(), z[:-1].ravel())) < bound
    assert abs(corr(u[:, 1:].ravel(), u[:, :-1].ravel())) < bound
    # Neighbouring trade keys.
    other = np.empty_like(z[:500])
    philox.fill_normals_serial(SEED, KEY + np.uint64(1), 0, other)
    assert abs(corr(other.ravel(), z[:500].ravel())) < 5.0 / math.sqrt(other.size)
    # Squares (a dependence that linear correlation misses).
    assert abs(corr(z[:, 1:].ravel() ** 2, z[:, :-1].ravel() ** 2)) < bound
