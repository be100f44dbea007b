"""Handing partitions out to ranks: as ranks ask for them (dynamic) or fixed (static).

Dynamic balance cuts the partitions into runs, longest first (:func:`guided_runs`), and
numbers them; a rank that needs work takes the next number from a one-sided atomic counter
(:class:`~xiphpc.parallel.mpi.AtomicCounter`). A slow rank takes fewer runs, and the few
long runs at the start keep each rank's partitions in long consecutive stretches (which the
reduction folds as they finish). What a run computes never depends on who priced which
partition: sums are kept per partition and added along a fixed tree.
"""

from __future__ import annotations

from collections.abc import Iterator

from xiphpc.parallel.mpi import AtomicCounter, Comm

__all__ = ["Dispatch", "DynamicDispatch", "StaticDispatch", "guided_runs"]

#: A run takes this share of the partitions left per rank: 1/4 leaves a rank that is twice
#: as slow as the others at most one run of half its fair share behind.
GUIDED_SHARE = 4


def guided_runs(n_partitions: int, n_ranks: int) -> list[range]:
    """Consecutive runs covering partitions ``0 .. n_partitions-1``, each ``1 / (4 R)`` of
    the partitions still left (at least one): about ``4 R log(P / 4 R)`` runs in all."""
    runs, start = [], 0
    while start < n_partitions:
        k = max(1, (n_partitions - start) // (GUIDED_SHARE * max(1, n_ranks)))
        runs.append(range(start, start + k))
        start += k
    return runs


class Dispatch:
    """The runs of partitions one rank prices, in increasing order, as an iterator.

    The engine calls :meth:`ask_ahead` when it starts the last pass of a run (so that the
    next run is known by the time it is needed) and :meth:`progress` after every pass; both
    do nothing for a static share. :meth:`close` is collective.
    """

    def __iter__(self) -> Iterator[range]:
        raise NotImplementedError

    def ask_ahead(self) -> None:
        """Start asking for the next run."""

    def progress(self) -> None:
        """Serve the other ranks' requests that wait on this rank."""

    def close(self) -> None:
        """Release what the dispatch holds (every rank, once, after its last run)."""


class StaticDispatch(Dispatch):
    """One fixed run: the rank's block of the cost-balanced plan."""

    def __init__(self, partitions: range) -> None:
        self.partitions = partitions

    def __iter__(self) -> Iterator[range]:
        if len(self.partitions):
            yield self.partitions


class DynamicDispatch(Dispatch):
    """Runs of :func:`guided_runs` taken from a shared counter by whichever rank asks first.

    Parameters
    ----------
    comm : Comm
        All ranks of the run; creating the dispatch is collective.
    n_partitions : int
    """

    def __init__(self, comm: Comm, n_partitions: int) -> None:
        alone = comm.Get_size() == 1
        # Alone, a rank takes everything in one run (passes still cut it).
        self.runs = [range(n_partitions)] if alone else guided_runs(n_partitions, comm.Get_size())
        self.counter = None if alone else AtomicCounter(comm)

    def __iter__(self) -> Iterator[range]:
        if self.counter is None:
            yield from self.runs
            return
        while (i := self.counter.take()) < len(self.runs):
            yield self.runs[i]

    def ask_ahead(self) -> None:
        if self.counter is not None:
            self.counter.ask()

    def progress(self) -> None:
        if self.counter is not None:
            self.counter.progress()

    def close(self) -> None:
        if self.counter is not None:
            self.counter.free()
            self.counter = None
