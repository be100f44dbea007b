"""One rank's share of the work: the communicator, the partition plan and how partitions are
handed out.

The stages of a run take a :class:`WorkShare` instead of a loose communicator and plan, and
reach the other ranks only through its methods, so that every
collective the engine makes is listed here (and in :mod:`xiphpc.parallel.mpi`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from xiphpc.config.errors import JobError
from xiphpc.engine.partition import PartitionPlan
from xiphpc.parallel.dispatch import Dispatch, DynamicDispatch, StaticDispatch
from xiphpc.parallel.mpi import (
    Comm,
    allgather_ints,
    allgather_strings,
    allreduce_max,
    allreduce_max_array,
    gather_blocks,
)

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
    Global rows index the whole portfolio (product tables in registry order). Which rank
    prices a partition is decided as the run goes (:meth:`dispatch`); nothing computed
    depends on it.
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
    def n_total(self) -> int:
        """Trades of the whole portfolio."""
        return int(self.plan.bounds[-1])

    def dispatch(self, balance: str) -> Dispatch:
        """The pieces of work this rank will price: ``"dynamic"`` hands runs of partitions
        out as ranks ask for them; ``"static"`` gives each rank its block of the plan."""
        if balance == "static":
            return StaticDispatch(self.plan.partitions_of(self.rank))
        return DynamicDispatch(self.comm, self.plan.n_partitions)

    # -- collectives -------------------------------------------------------------------------

    def union_of_strings(self, items: list[str]) -> list[str]:
        """The sorted union of every rank's ``items``."""
        return sorted(set(allgather_strings(self.comm, sorted(set(items)))))

    def gather_all_ints(self, values: np.ndarray) -> np.ndarray:
        """Every rank's int64 ``values`` concatenated in rank order, on every rank."""
        return allgather_ints(self.comm, values)

    def owners(self, done: list[int]) -> np.ndarray:
        """The rank that finished each partition, from each rank's ``done`` list, on every
        rank (``-1`` where none did); shape ``(P,)``."""
        mine = np.full(self.plan.n_partitions, -1, dtype=np.int64)
        mine[np.asarray(done, dtype=np.int64)] = self.rank
        return allreduce_max_array(self.comm, mine)

    def max(self, value: int) -> int:
        """Largest ``value`` over the ranks."""
        return allreduce_max(self.comm, value)

    def gather_rows(self, block: np.ndarray) -> np.ndarray | None:
        """Every rank's float64 ``block`` stacked along axis 0 on rank 0, in rank order."""
        return gather_blocks(self.comm, block)

    def tree_sum(
        self,
        forest: list[tuple[int, int, np.ndarray]],
        shape: tuple[int, ...],
        owner: np.ndarray,
    ) -> np.ndarray | None:
        """Sum of every partition's block over the whole run, on rank 0 (None elsewhere).

        The sum follows one fixed binary tree over the partition numbers: node ``(k, w)``
        covers partitions ``k .. k+w-1`` (``w`` a power of two, ``k`` a multiple of ``w``)
        and is its left half ``(k, w/2)`` plus its right half ``(k+w/2, w/2)``, or its left
        half alone when the right one starts past the last partition. The additions, and
        their order, depend only on the number of partitions, never on the number of ranks,
        so the result is bitwise the same on any rank count, and on any share of the
        partitions among the ranks. A node is built by the rank that priced its first
        partition; a right half built by another rank comes to it as one buffer message. No
        rank ever holds the blocks of all partitions.

        Parameters
        ----------
        forest : list of (int, int, ndarray)
            Whole nodes ``(k, w, block)`` this rank built from its own partitions (at least
            the single partitions ``(p, 1, block)``), every owned partition in exactly one.
        shape : tuple of int
            Shape of one block (the same on every rank).
        owner : ndarray of int64, shape ``(P,)``
            The rank that priced each partition (:meth:`owners`), the same on every rank.
        """
        me = self.rank
        n = self.plan.n_partitions
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
            # Several halves may pass between two ranks at one level, all with one tag: both
            # sides go through them in increasing order, which MPI's ordering of messages
            # from one sender keeps matched.
            for k in [k for k in sorted(nodes) if k % (2 * width) == width]:
                if owner[k - width] != me:
                    sends.append(self.comm.Isend(nodes.pop(k), dest=int(owner[k - width]), tag=tag))
            parents = {}
            for k in [k for k in sorted(nodes) if k % (2 * width) == 0]:
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
        # Another rank priced partition 0: it hands the root over.
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

    def barrier(self) -> None:
        self.comm.Barrier()
