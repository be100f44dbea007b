"""Partition plan: a fixed number of trade partitions, balanced by cost, assigned to ranks.

The global trade index is the concatenation of the product tables in registry order. A
partition is a contiguous range of that index; the plan depends only on the trades and
``n_partitions``, never on the number of ranks, which is what makes every sum over partitions
independent of the rank count. Ranks take partitions as they ask for them
(:mod:`xiphpc.parallel.dispatch`); ``rank_bounds`` is the cost-balanced static share, used
when a job asks for ``balance = "static"``. The plan is made from running cost sums in
fixed blocks of trades; in a run each rank estimates the costs of its share of the blocks
only, and the ranks agree on the plan from the block totals
(:func:`plan_partitions_distributed`).
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
        Static share: rank ``r`` prices partitions ``rank_bounds[r]:rank_bounds[r + 1]``.
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

    def rows(self, partitions: range) -> tuple[int, int]:
        """Global trade range ``(start, stop)`` of consecutive ``partitions``."""
        return int(self.bounds[partitions.start]), int(self.bounds[partitions.stop])

    def passes(self, partitions: range, max_rows: int, max_partitions: int) -> list[range]:
        """Consecutive ``partitions`` in passes of at most ``max_rows`` trades and
        ``max_partitions`` partitions each (a larger partition makes a pass of its own)."""
        runs: list[range] = []
        start, rows = partitions.start, 0
        for p in partitions:
            n = int(self.bounds[p + 1] - self.bounds[p])
            if p > start and (rows + n > max_rows or p - start >= max_partitions):
                runs.append(range(start, p))
                start, rows = p, 0
            rows += n
        if start < partitions.stop:
            runs.append(range(start, partitions.stop))
        return runs


#: Trades per block of the cost prefix sums. Blocks, not ranks, fix the order of the
#: additions, so that the plan is the same to the last bit whatever the number of ranks.
COST_BLOCK = 1 << 16


def cost_blocks(n_trades: int) -> np.ndarray:
    """Bounds of the cost blocks of ``n_trades`` trades, shape ``(B + 1,)``."""
    return np.append(np.arange(0, n_trades, COST_BLOCK), n_trades).astype(np.int64)


def block_rows(n_trades: int, rank: int, n_ranks: int) -> tuple[int, int]:
    """Rows ``(start, stop)`` whose costs ``rank`` evaluates: an even share of whole blocks."""
    b = cost_blocks(n_trades)
    nb = b.size - 1
    return int(b[nb * rank // n_ranks]), int(b[nb * (rank + 1) // n_ranks])


def _block_cumsums(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Within-block running sums of ``cost`` (costs of whole blocks, from a block bound) and
    the total of each of those blocks."""
    run = np.empty(cost.size)
    totals = []
    for a in range(0, cost.size, COST_BLOCK):
        run[a : a + COST_BLOCK] = np.cumsum(cost[a : a + COST_BLOCK])
        totals.append(run[min(a + COST_BLOCK, cost.size) - 1])
    return run, np.array(totals, dtype=np.float64)


def plan_partitions(cost: np.ndarray, n_partitions: int, n_ranks: int) -> PartitionPlan:
    """Cut the trades into partitions, then the partitions into rank blocks, both by cost.

    Parameters
    ----------
    cost : ndarray of float64, shape ``(n_trades,)``
        Estimated relative cost of each trade (``>= 0``), in global trade order.
    n_partitions : int
        Number of partitions; capped at the number of trades (at least 1).
    n_ranks : int
        Communicator size. Ranks beyond the number of partitions own none.

    Notes
    -----
    Partition ``k`` ends at the first trade whose running cost sum reaches ``k / P`` of the
    total. Running sums are taken within blocks of :data:`COST_BLOCK` trades and added to
    the blocks' prefix sums, as :func:`plan_partitions_distributed` does.
    """
    cost = np.asarray(cost, dtype=np.float64)
    run, totals = _block_cumsums(cost)
    return _plan(run, 0, totals, cost.size, n_partitions, n_ranks, lambda x: x)


def plan_partitions_distributed(
    comm, cost: np.ndarray, start: int, n_trades: int, n_partitions: int
) -> PartitionPlan:
    """:func:`plan_partitions` of a portfolio whose costs are spread over the ranks of
    ``comm``, each holding those of its :func:`block_rows` (``cost``, from row ``start``).

    Equal to the last bit to the serial plan of all the costs, and no rank holds them all:
    the ranks exchange one total per block and one running sum per partition bound.
    """
    from xiphpc.parallel.mpi import allgather_floats, allreduce_max_array

    run, totals = _block_cumsums(np.asarray(cost, dtype=np.float64))
    all_totals = allgather_floats(comm, totals)
    return _plan(
        run,
        start,
        all_totals,
        n_trades,
        n_partitions,
        comm.Get_size(),
        lambda x: allreduce_max_array(comm, x),
    )


def _plan(run, start, totals, n, n_partitions, n_ranks, reduce_max) -> PartitionPlan:
    """The plan from the within-block running sums ``run`` of rows ``start:`` (whole blocks)
    and the totals of all blocks; ``reduce_max`` takes the element-wise maximum over the
    ranks that hold the other rows."""
    n_partitions = max(1, min(int(n_partitions), int(n)))
    prefix = np.concatenate(([0.0], np.cumsum(totals)))
    # Every row's running sum: its block's prefix plus the sum within the block.
    run_global = run + prefix[(start + np.arange(run.size)) // COST_BLOCK]
    total = float(prefix[-1])
    targets = total * np.arange(1, n_partitions) / n_partitions
    cuts = np.full(targets.size, -1, dtype=np.int64)
    at = np.full(targets.size, -np.inf)
    if run_global.size:
        mine = (targets > prefix[start // COST_BLOCK]) & (targets <= run_global[-1])
        j = np.searchsorted(run_global, targets[mine], side="left")
        # A partition ends after the first trade whose running sum reaches its target.
        cuts[mine] = start + j + 1
        at[mine] = run_global[j]
    cuts, at = reduce_max(cuts), reduce_max(at)
    # A target no trade reaches (all costs zero) cuts at the start.
    at = np.where(cuts < 0, 0.0, at)
    bounds = np.concatenate(([0], np.maximum(cuts, 0), [n])).astype(np.int64)
    part_cost = np.maximum(np.diff(np.concatenate(([0.0], at, [total]))), 0.0)
    return PartitionPlan(bounds, part_cost, _balanced_cuts(part_cost, n_ranks))


def _balanced_cuts(weights: np.ndarray, n: int) -> np.ndarray:
    """Indices cutting ``weights`` into ``n`` contiguous runs of near-equal total weight.

    Returns shape ``(n + 1,)``, non-decreasing, from 0 to ``weights.size``.
    """
    total = np.concatenate(([0.0], np.cumsum(weights)))
    targets = total[-1] * np.arange(1, n) / n
    cuts = np.searchsorted(total, targets, side="left")
    return np.concatenate(([0], cuts, [weights.size])).astype(np.int64)
