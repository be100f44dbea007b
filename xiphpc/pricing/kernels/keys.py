"""Distinct rows of a fixed-width grid (the code points of a text column, or its bytes), found
by hashing: one pass, exact, whatever the number of distinct values.

Sorting strings to find the distinct ones (``np.unique``) compares them character by
character, ``n log n`` times; a text column of a portfolio holds a few distinct labels among
many rows, which one hash per row and one comparison per row find in linear time.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ._targets import KERNEL_OPTIONS

__all__ = ["factorize_rows"]

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@nb.njit(**KERNEL_OPTIONS)
def factorize_rows(grid, slots, codes, first):
    """Number the distinct rows of ``grid`` in order of first appearance.

    Parameters
    ----------
    grid : ndarray of uint32 or uint8, shape ``(n, w)``
        Row ``i`` is value ``i`` (e.g. the UCS-4 code points of a ``U{w}`` string, padding
        included, so that equal strings have equal rows).
    slots : ndarray of int64, shape ``(m,)``
        Scratch hash table, all ``-1`` on entry; ``m`` a power of two above ``n``.
    codes : ndarray of int64, shape ``(n,)``
        Out: the number of row ``i``'s value, ``0 <= codes[i] < k``.
    first : ndarray of int64, shape ``(n,)``
        Out: ``first[c]`` is the first row of value ``c``, for ``c < k``.

    Returns
    -------
    k : int
        The number of distinct rows.
    """
    n, w = grid.shape
    mask = slots.shape[0] - 1
    k = 0
    for i in range(n):
        h = _FNV_OFFSET
        for c in range(w):
            h = (h ^ np.uint64(grid[i, c])) * _FNV_PRIME
        s = np.int64(h & np.uint64(mask))
        while True:
            j = slots[s]
            if j < 0:
                slots[s] = i
                codes[i] = k
                first[k] = i
                k += 1
                break
            same = True
            for c in range(w):
                if grid[i, c] != grid[j, c]:
                    same = False
                    break
            if same:
                codes[i] = codes[j]
                break
            s = (s + 1) & mask
    return k
