"""Partition plan: a fixed number of trade partitions, balanced by cost, assigned to ranks.

The global trade index is the concatenation of the product tables in registry order. A
partition is a contiguous range of that index; the plan depends only on the trades and
``n_partitions``, never on the number of ranks, which is what makes every sum over partitions
independent of the rank count. Each rank owns a contiguous block of partitions, so its trades
are one contiguous range of the index as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PartitionPlan", "plan_partitions"]


@dataclass(frozen=True)
class PartitionPlan:
    """Where each partition starts and which rank prices it.

    Attributes
    ----------
    bounds : ndarray of int64, shape ``(P + 1,)``
        Partition ``p`` holds global trades ``bounds[p]:bounds[p + 1]``.
    cost : ndarray of float64, shape ``(P,)``
        Estimated cost of each partition.
    rank_bounds : ndarray of int64, shape ``(R + 1,)``
        Rank ``r`` owns partitions ``rank_bounds[r]:rank_bounds[r + 1]``.
    """

    bounds: np.ndarray
    cost: np.ndarray
    rank_bounds: np.ndarray

    @property
    def n_partitions(self) -> int:
        return int(self.cost.size)

    def partitions_of(self, rank: int) -> range:
        """Partition numbers owned by ``rank``."""
        return range(int(self.rank_bounds[rank]), int(self.rank_bounds[rank + 1]))

    def rows_of(self, rank: int) -> tuple[int, int]:
        """Global trade range ``(start, stop)`` owned by ``rank``."""
        parts = self.partitions_of(rank)
        return int(self.bounds[parts.start]), int(self.bounds[parts.stop])


def _balanced_cuts(weights: np.ndarray, n: int) -> np.ndarray:
    """Indices cutting ``weights`` into ``n`` contiguous runs of near-equal total weight.

    Returns shape ``(n + 1,)``, non-decreasing, from 0 to ``weights.size``.
    """
    total = np.concatenate(([0.0], np.cumsum(weights)))
    targets = total[-1] * np.arange(1, n) / n
    cuts = np.searchsorted(total, targets, side="left")
    return np.concatenate(([0], cuts, [weights.size])).astype(np.int64)


def plan_partitions(cost: np.ndarray, n_partitions: int, n_ranks: int) -> PartitionPlan:
    """Cut the trades into partitions, then the partitions into rank blocks, both by cost.

    Parameters
    ----------
    cost : ndarray of float64, shape ``(n_trades,)``
        Estimated relative cost of each trade, in global trade order.
    n_partitions : int
        Number of partitions; capped at the number of trades (at least 1).
    n_ranks : int
        Communicator size. Ranks beyond the number of partitions own none.
    """
    n_partitions = max(1, min(int(n_partitions), int(cost.size)))
    bounds = _balanced_cuts(cost, n_partitions)
    part_cost = np.add.reduceat(cost, bounds[:-1]) if cost.size else np.zeros(n_partitions)
    # reduceat repeats a value for empty ranges; those partitions cost nothing.
    part_cost = np.where(np.diff(bounds) > 0, part_cost, 0.0)
    rank_bounds = _balanced_cuts(part_cost, n_ranks)
    return PartitionPlan(bounds, part_cost, rank_bounds)
