"""Progress messages from every rank to rank 0: a few integers per finished partition.

Each rank sends one small buffer message per partition it finishes; rank 0 takes what has
arrived whenever it looks (:meth:`ProgressChannel.poll`), and before the reduction waits
until every partition has reported (:meth:`ProgressChannel.drain`), so no message is left
in flight when the run ends.
"""

from __future__ import annotations

import numpy as np

from xiphpc.parallel.mpi import MPI, Comm

__all__ = ["ProgressChannel"]

#: Message tag of progress reports; no other point-to-point message uses it.
PROGRESS_TAG = 7301
#: Integers per report: partition, trades, failed trades.
REPORT = 3


class ProgressChannel:
    """Partition reports on ``comm``, collected on rank 0.

    Parameters
    ----------
    comm : Comm
    n_partitions : int
        Partitions of the whole run: rank 0 expects one report for each.
    """

    def __init__(self, comm: Comm, n_partitions: int) -> None:
        self.comm = comm
        self.n_partitions = n_partitions
        self.received = 0
        self._pending: list = []
        self._buffers: list[np.ndarray] = []

    def post(self, partition: int, trades: int, failed: int) -> list[np.ndarray]:
        """Report a finished partition; on rank 0 returns the reports taken so far (its own
        and what has arrived), elsewhere an empty list."""
        report = np.array([partition, trades, failed], dtype=np.int64)
        if self.comm.Get_rank() == 0:
            self.received += 1
            return [report, *self.poll()]
        # The buffer must outlive the non-blocking send.
        self._buffers.append(report)
        self._pending.append(self.comm.Isend(report, dest=0, tag=PROGRESS_TAG))
        return []

    def poll(self) -> list[np.ndarray]:
        """Reports that have arrived on rank 0, without waiting."""
        out = []
        status = MPI.Status()
        while self.comm.Iprobe(source=MPI.ANY_SOURCE, tag=PROGRESS_TAG, status=status):
            out.append(self._receive(status.Get_source()))
        return out

    def next(self) -> np.ndarray:
        """The next report on rank 0, waiting for it."""
        status = MPI.Status()
        self.comm.Probe(source=MPI.ANY_SOURCE, tag=PROGRESS_TAG, status=status)
        return self._receive(status.Get_source())

    def _receive(self, source: int) -> np.ndarray:
        report = np.empty(REPORT, dtype=np.int64)
        self.comm.Recv(report, source=source, tag=PROGRESS_TAG)
        self.received += 1
        return report

    @property
    def outstanding(self) -> int:
        """Reports rank 0 still expects."""
        return self.n_partitions - self.received

    def finish(self) -> None:
        """Complete this rank's sends (every rank, once, after its last :meth:`post`)."""
        MPI.Request.Waitall(self._pending)
        self._pending.clear()
        self._buffers.clear()
