"""Counter-based Philox4x32-10 random numbers for Monte Carlo kernels.

Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as easy
as 1, 2, 3", SC11; reference implementation: the Random123 library) maps a
128-bit counter and a 64-bit key to 128 random bits through ten rounds of
32x32->64 bit multiplications and XORs. There is no state: the numbers for a
given position are computed, not drawn in sequence. That makes every draw here
a pure function of four integers,

    (seed, trade_key, path, index)  ->  number,

so a Monte Carlo result does not depend on the MPI rank, the partitioning of
trades, the order of work or the number of threads.

Layout of one Philox call:

- key = ``(seed mod 2**32, seed >> 32)``;
- counter = ``(block, path, trade_key mod 2**32, trade_key >> 32)``, with
  ``block = index >> 1``, ``0 <= path < 2**32`` and ``0 <= block < 2**32``;
- the four 32-bit output words make two 52-bit uniforms
  ``u = (k + 1/2) / 2**52`` in the open interval (0, 1), and Box–Muller turns
  the pair into two standard normals. Index ``2 * block`` takes the first of the
  pair, ``2 * block + 1`` the second.

All functions are ``inline="always"`` and branch-free, so loops over paths that
call them vectorize (the 32x32->64 multiply maps to ``vpmuludq``).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from . import vmath
from ._targets import serial_and_parallel

_JIT = dict(inline="always", error_model="numpy", fastmath=False, nogil=True, cache=True)

# Philox4x32 multipliers and Weyl key increments (Random123, philox.h).
_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_MASK32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)
_SHIFT20 = np.uint64(20)
_SHIFT12 = np.uint64(12)
_ONE_BITS = np.uint64(0x3FF0000000000000)
_HALF_ULP52 = 2.0**-53


@nb.njit(**_JIT)
def philox4x32(c0, c1, c2, c3, k0, k1, rounds):
    """Philox4x32 block function with a given number of rounds.

    Parameters
    ----------
    c0, c1, c2, c3 : uint64
        Counter words; only the low 32 bits are used.
    k0, k1 : uint64
        Key words; only the low 32 bits are used.
    rounds : int
        Number of rounds (10 for Philox4x32-10; 7 is also a published variant).

    Returns
    -------
    tuple of 4 uint64
        The output words, each in ``[0, 2**32)``.
    """
    c0 = np.uint64(c0) & _MASK32
    c1 = np.uint64(c1) & _MASK32
    c2 = np.uint64(c2) & _MASK32
    c3 = np.uint64(c3) & _MASK32
    k0 = np.uint64(k0) & _MASK32
    k1 = np.uint64(k1) & _MASK32
    for r in range(rounds):
        if r > 0:
            # The key is bumped before every round but the first.
            k0 = (k0 + _W0) & _MASK32
            k1 = (k1 + _W1) & _MASK32
        p0 = _M0 * c0
        p1 = _M1 * c2
        c0, c1, c2, c3 = (
            (p1 >> _SHIFT32) ^ c1 ^ k0,
            p1 & _MASK32,
            (p0 >> _SHIFT32) ^ c3 ^ k1,
            p0 & _MASK32,
        )
    return c0, c1, c2, c3


@nb.njit(**_JIT)
def philox4x32_10(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10: :func:`philox4x32` with ten rounds."""
    return philox4x32(c0, c1, c2, c3, k0, k1, 10)


@nb.njit(**_JIT)
def _unit(hi, lo):
    # 52 random bits -> (k + 1/2) / 2**52, built in the mantissa of [1, 2):
    # exact, never 0 or 1, and no integer-to-float conversion.
    bits = _ONE_BITS | (hi << _SHIFT20) | (lo >> _SHIFT12)
    return (vmath.i64_as_f64(bits) - 1.0) + _HALF_ULP52


@nb.njit(**_JIT)
def uniform_pair(seed, trade_key, path, block):
    """Two independent uniforms in (0, 1) for draw indices ``2 block`` and ``2 block + 1``.

    Parameters
    ----------
    seed, trade_key : uint64
        Run seed and the trade's stable key.
    path, block : int
        Path number and pair index, each in ``[0, 2**32)``.

    Returns
    -------
    (float, float)
        ``(u0, u1)``, multiples of ``2**-53`` strictly inside (0, 1).
    """
    seed = np.uint64(seed)
    trade_key = np.uint64(trade_key)
    x0, x1, x2, x3 = philox4x32_10(
        np.uint64(block),
        np.uint64(path),
        trade_key,
        trade_key >> _SHIFT32,
        seed,
        seed >> _SHIFT32,
    )
    return _unit(x0, x1), _unit(x2, x3)


@nb.njit(**_JIT)
def normal_pair(seed, trade_key, path, block):
    """Two independent standard normals for draw indices ``2 block`` and ``2 block + 1``.

    Box–Muller on :func:`uniform_pair`: ``r = sqrt(-2 ln u0)``,
    ``(z0, z1) = (r cos 2 pi u1, r sin 2 pi u1)``; ``|z| < 8.6``.

    Parameters
    ----------
    seed, trade_key : uint64
        Run seed and the trade's stable key.
    path, block : int
        Path number and pair index, each in ``[0, 2**32)``.

    Returns
    -------
    (float, float)
        ``(z0, z1)``.
    """
    u0, u1 = uniform_pair(seed, trade_key, path, block)
    r = np.sqrt(-2.0 * vmath.log(u0))
    s, c = vmath.sincos2pi(u1)
    return r * c, r * s


@nb.njit(**_JIT)
def uniform(seed, trade_key, path, index):
    """The uniform in (0, 1) at ``(seed, trade_key, path, index)``; see :func:`uniform_pair`."""
    u0, u1 = uniform_pair(seed, trade_key, path, index >> 1)
    return u1 if index & 1 else u0


@nb.njit(**_JIT)
def normal(seed, trade_key, path, index):
    """The standard normal at ``(seed, trade_key, path, index)``; see :func:`normal_pair`."""
    z0, z1 = normal_pair(seed, trade_key, path, index >> 1)
    return z1 if index & 1 else z0


def _fill_normals(seed, trade_key, first_path, out):
    n_paths, n_draws = out.shape
    for p in nb.prange(n_paths):
        for b in range(n_draws // 2):
            z0, z1 = normal_pair(seed, trade_key, first_path + p, b)
            out[p, 2 * b] = z0
            out[p, 2 * b + 1] = z1
        if n_draws & 1:
            out[p, n_draws - 1] = normal(seed, trade_key, first_path + p, n_draws - 1)


def _fill_uniforms(seed, trade_key, first_path, out):
    n_paths, n_draws = out.shape
    for p in nb.prange(n_paths):
        for b in range(n_draws // 2):
            u0, u1 = uniform_pair(seed, trade_key, first_path + p, b)
            out[p, 2 * b] = u0
            out[p, 2 * b + 1] = u1
        if n_draws & 1:
            out[p, n_draws - 1] = uniform(seed, trade_key, first_path + p, n_draws - 1)


_fill_normals_doc = """Fill ``out[p, i]`` with the normal at coordinates ``(seed, trade_key,
first_path + p, i)``.

Parameters
----------
seed, trade_key : uint64
first_path : int
out : ndarray of float64, shape ``(n_paths, n_draws)``, C-contiguous
"""
_fill_normals.__doc__ = _fill_normals_doc
_fill_uniforms.__doc__ = _fill_normals_doc.replace("normal", "uniform")

fill_normals_serial, fill_normals_parallel = serial_and_parallel(_fill_normals)
fill_uniforms_serial, fill_uniforms_parallel = serial_and_parallel(_fill_uniforms)


@nb.njit(cache=True)
def philox4x32_block(counter, key, rounds):
    """Philox4x32 on one block given as arrays (for tests and known-answer checks).

    Parameters
    ----------
    counter : ndarray of uint64, shape ``(4,)``
    key : ndarray of uint64, shape ``(2,)``
    rounds : int

    Returns
    -------
    ndarray of uint64, shape ``(4,)``
    """
    x = philox4x32(counter[0], counter[1], counter[2], counter[3], key[0], key[1], rounds)
    out = np.empty(4, dtype=np.uint64)
    out[0], out[1], out[2], out[3] = x
    return out
