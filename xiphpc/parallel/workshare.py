"""One rank's share of the work: the communicator, the partition plan and the rows it owns.

The stages of a run take a :class:`WorkShare` instead of loose ``rank``, ``lo``, ``hi`` and
partition ranges, and reach the other ranks only through its methods, so that every
collective the engine makes is listed here (and in :mod:`xiphpc.parallel.mpi`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from xiphpc.config.errors import JobError
from xiphpc.engine.partition import PartitionPlan
from xiphpc.parallel.mpi import Comm, allgather_strings, allreduce_max, gather_blocks

__all__ = ["WorkShare", "agreed"]

T = TypeVar("T")

#: First message tag of :meth:`WorkShare.tree_sum` (one tag per tree level).
_TREE_TAG = 100


def agreed(comm: Comm, fn: Callable[[], T]) -> T:
    """``fn()`` on every rank; when it raises :class:`JobError` on any rank, raise that
    rank's problems (the lowest such rank's) on every rank, so that all stop alike."""
    try:
        result, problems = fn(), None
    except JobError as exc:
        result, problems = None, exc.problems
    failed = allreduce_max(comm, -1 if problems is None else comm.Get_size() - comm.Get_rank())
    if failed > 0:
        root = comm.Get_size() - failed
        raise JobError(comm.bcast(problems if comm.Get_rank() == root else None, root=root))
    return result


@dataclass(frozen=True)
class WorkShare:
    """The partitions and trade rows of one rank, and the collectives of its communicator.

    Attributes
    ----------
    comm : Comm
        All ranks of the run (``COMM_SELF`` for a serial run).
    plan : PartitionPlan
        The plan every rank agreed on.

    Notes
    -----
    Global rows index the whole portfolio (product tables in registry order); local rows
    index this rank's trades, ``global = local + lo``.
    """

    comm: Comm
    plan: PartitionPlan

    @property
    def rank(self) -> int:
        return self.comm.Get_rank()

    @property
    def size(self) -> int:
        return self.comm.Get_size()

    @property
    def partitions(self) -> range:
        """Partition numbers owned by this rank, in order."""
        return self.plan.partitions_of(self.rank)

    @property
    def lo(self) -> int:
        """First global row of this rank."""
        return self.plan.rows_of(self.rank)[0]

    @property
    def hi(self) -> int:
        """One past the last global row of this rank."""
        return self.plan.rows_of(self.rank)[1]

    @property
    def n_local(self) -> int:
        return self.hi - self.lo

    @property
    def n_total(self) -> int:
        """Trades of the whole portfolio."""
        return int(self.plan.bounds[-1])

    def local_rows(self, partition: int) -> slice:
        """Local rows of an owned ``partition``."""
        return slice(
            int(self.plan.bounds[partition]) - self.lo,
            int(self.plan.bounds[partition + 1]) - self.lo,
        )

    def chunks(self, max_rows: int, max_partitions: int | None = None) -> list[range]:
        """The owned partitions in runs of consecutive partitions of at most ``max_rows``
        trades and ``max_partitions`` partitions each (a larger partition makes a run of its
        own)."""
        limit = max_partitions or len(self.partitions) or 1
        runs: list[range] = []
        start, rows = self.partitions.start, 0
        for p in self.partitions:
            n = int(self.plan.bounds[p + 1] - self.plan.bounds[p])
            if p > start and (rows + n > max_rows or p - start >= limit):
                runs.append(range(start, p))
                start, rows = p, 0
            rows += n
        if start < self.partitions.stop:
            runs.append(range(start, self.partitions.stop))
        return runs

    # -- collectives -------------------------------------------------------------------------

    def union_of_strings(self, items: list[str]) -> list[str]:
        """The sorted union of every rank's ``items``."""
        return sorted(set(allgather_strings(self.comm, sorted(set(items)))))

    def max(self, value: int) -> int:
        """Largest ``value`` over the ranks."""
        return allreduce_max(self.comm, value)

    def gather_rows(self, block: np.ndarray) -> np.ndarray | None:
        """Every rank's float64 ``block`` stacked along axis 0 on rank 0, in rank order."""
        return gather_blocks(self.comm, block)

    def tree_sum(
        self, forest: list[tuple[int, int, np.ndarray]], shape: tuple[int, ...]
    ) -> np.ndarray | None:
        """Sum of every partition's block over the whole run, on rank 0 (None elsewhere).

        The sum follows one fixed binary tree over the partition numbers: node ``(k, w)``
        covers partitions ``k .. k+w-1`` (``w`` a power of two, ``k`` a multiple of ``w``)
        and is its left half ``(k, w/2)`` plus its right half ``(k+w/2, w/2)``, or its left
        half alone when the right one starts past the last partition. The additions, and
        their order, depend only on the number of partitions, never on the number of ranks,
        so the result is bitwise the same on any rank count. A node is built by the rank
        owning its first partition; a right half owned by another rank comes to it as one
        buffer message. No rank ever holds the blocks of all partitions.

        Parameters
        ----------
        forest : list of (int, int, ndarray)
            Whole nodes ``(k, w, block)`` this rank built from its own partitions (at least
            the single partitions ``(p, 1, block)``), every owned partition in exactly one.
        shape : tuple of int
            Shape of one block (the same on every rank).
        """
        plan, me = self.plan, self.rank
        n = plan.n_partitions
        owner = np.repeat(np.arange(self.size), np.diff(plan.rank_bounds))
        waiting = sorted(forest, key=lambda node: (node[1], node[0]))
        # Nodes held at the current width, by their first partition.
        nodes: dict[int, np.ndarray] = {}
        width, level = 1, 0
        while True:
            while waiting and waiting[0][1] == width:
                k, _, block = waiting.pop(0)
                nodes[k] = np.asarray(block, dtype=np.float64)
            if width >= n:
                break
            tag = _TREE_TAG + level
            sends = []
            for k in [k for k in nodes if k % (2 * width) == width]:
                if owner[k - width] != me:
                    sends.append(self.comm.Isend(nodes.pop(k), dest=int(owner[k - width]), tag=tag))
            parents = {}
            for k in [k for k in nodes if k % (2 * width) == 0]:
                right = k + width
                if right >= n:
                    parents[k] = nodes[k]
                elif right in nodes:
                    parents[k] = nodes[k] + nodes[right]
                else:
                    got = np.empty(shape)
                    self.comm.Recv(got, source=int(owner[right]), tag=tag)
                    parents[k] = nodes[k] + got
            for req in sends:
                req.Wait()
            nodes = parents
            width, level = 2 * width, level + 1
        root = int(owner[0])
        if root == 0:
            return nodes.get(0) if me == 0 else None
        # Rank 0 owns no partition (all costs zero): the root's builder hands it over.
        if me == root:
            self.comm.Send(nodes[0], dest=0, tag=_TREE_TAG + level)
            return None
        if me == 0:
            got = np.empty(shape)
            self.comm.Recv(got, source=root, tag=_TREE_TAG + level)
            return got
        return None

    def sum_on_root(self, values: np.ndarray) -> np.ndarray | None:
        """Element-wise float64 sum over the ranks, on rank 0 (``Reduce``)."""
        values = np.ascontiguousarray(values, dtype=np.float64)
        out = np.zeros_like(values) if self.rank == 0 else None
        self.comm.Reduce(values, out, root=0)
        return out

    def from_root(self, value: T) -> T:
        """Rank 0's ``value`` on every rank (small control values only)."""
        return self.comm.bcast(value, root=0)

    def in_turn(self) -> Iterator[None]:
        """Yield once, on each rank in rank order, with every other rank waiting: for work
        that one rank at a time may do (writing to a file without parallel HDF5)."""
        for turn in range(self.size):
            if turn == self.rank:
                yield
            self.comm.Barrier()

    def barrier(self) -> None:
        self.comm.Barrier()
