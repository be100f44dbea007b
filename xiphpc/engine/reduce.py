"""Stage 6, reduce: the partial sums of every partition, added in partition order on rank 0."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xiphpc.engine.cube import PartialCube
from xiphpc.parallel.workshare import WorkShare
from xiphpc.pricing.status import Status

__all__ = ["Reduced", "reduce_cube"]


@dataclass(frozen=True)
class Reduced:
    """The whole portfolio's sums, on rank 0 (None elsewhere).

    Attributes
    ----------
    sums : ndarray of float64, shape ``(G, C)``, or None
        Nodes × columns of the cube's layout.
    excluded : ndarray of float64, shape ``(len(Status),)``, or None
        Trades per status code.
    """

    sums: np.ndarray | None
    excluded: np.ndarray | None


def reduce_cube(cube: PartialCube, share: WorkShare, status: np.ndarray) -> Reduced:
    """Gather every partition's sums on rank 0 and add them in partition order.

    The additions are the same, in the same order, whatever the number of ranks: the
    aggregates are bitwise independent of it.

    Parameters
    ----------
    status : ndarray of int8, shape ``(n,)``
        Status of this rank's trades, counted per code.
    """
    g, c = cube.nodes.n, cube.layout.width
    gathered = share.gather_rows(cube.data.reshape(len(cube.partitions), g * c))
    excluded = share.sum_on_root(np.bincount(status, minlength=len(Status)).astype(np.float64))
    if gathered is None:
        return Reduced(None, None)
    gathered = gathered.reshape(share.plan.n_partitions, g, c)
    sums = np.zeros((g, c), dtype=np.float64)
    for p in range(share.plan.n_partitions):
        sums += gathered[p]
    return Reduced(sums, excluded)
