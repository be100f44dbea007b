"""Stage 6, reduce: the partial sums of every partition, added along a fixed tree over the
partition numbers, to rank 0."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xiphpc.engine.cube import PartialCube
from xiphpc.parallel.workshare import WorkShare

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


def reduce_cube(
    cube: PartialCube, share: WorkShare, owner: np.ndarray, status_counts: np.ndarray
) -> Reduced:
    """Add every partition's sums along the fixed tree of
    :meth:`~xiphpc.parallel.workshare.WorkShare.tree_sum`, to rank 0.

    The additions are the same, in the same order, whatever the number of ranks: the
    aggregates are bitwise independent of it. Each rank starts from the forest its finished
    partitions were folded into (:meth:`PartialCube.fold`) and receives at most one block
    per tree level.

    Parameters
    ----------
    owner : ndarray of int64, shape ``(P,)``
        The rank that priced each partition (:meth:`WorkShare.owners`).
    status_counts : ndarray of int64, shape ``(len(Status),)``
        This rank's trades per status code.
    """
    sums = share.tree_sum(cube.forest, cube.shape, owner)
    excluded = share.sum_on_root(np.asarray(status_counts, dtype=np.float64))
    return Reduced(sums, excluded)
