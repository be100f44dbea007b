"""Group sums in a fixed order, the building block of rank-count-independent aggregates."""

from __future__ import annotations

import numba as nb
import numpy as np

from ._targets import KERNEL_OPTIONS

__all__ = ["group_scatter_sum", "group_sum"]


@nb.njit(**KERNEL_OPTIONS)
def group_sum(group: np.ndarray, values: np.ndarray, include: np.ndarray, out: np.ndarray) -> None:
    """Add row ``i`` of ``values`` into ``out[group[i]]`` for included rows, in row order.

    Parameters
    ----------
    group : ndarray of int64, shape ``(n,)``
        Group of each row, ``0 <= group[i] < G``.
    values : ndarray of float64, shape ``(n, M)``
    include : ndarray of bool, shape ``(n,)``
    out : ndarray of float64, shape ``(G, M)``
        Accumulated in place; sequential row order keeps the result reproducible.
    """
    n, m = values.shape
    for i in range(n):
        if include[i]:
            g = group[i]
            for j in range(m):
                out[g, j] += values[i, j]


@nb.njit(**KERNEL_OPTIONS)
def group_scatter_sum(
    group: np.ndarray, column: np.ndarray, values: np.ndarray, out: np.ndarray
) -> None:
    """Add ``values[i, k]`` into ``out[group[i], column[i, k]]`` in row then column order,
    skipping ``column[i, k] < 0``.

    Parameters
    ----------
    group : ndarray of int64, shape ``(n,)``
    column : ndarray of int64, shape ``(n, K)``
    values : ndarray of float64, shape ``(n, K)``
    out : ndarray of float64, shape ``(G, C)``
    """
    n, k = column.shape
    for i in range(n):
        g = group[i]
        for j in range(k):
            c = column[i, j]
            if c >= 0:
                out[g, c] += values[i, j]
