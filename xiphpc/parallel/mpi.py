"""Everything that touches MPI. No other module imports mpi4py.

Collectives move NumPy buffers with mpi4py's upper-case methods; only small control values
(flags, counts) use the pickle-based lower-case ones.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback
from collections.abc import Iterator

import mpi4py
import numpy as np

# Initialise here (not at import of the CLI) and finalise at exit; threads stay funneled into
# the main thread, which is all the engine needs.
mpi4py.rc.thread_level = "funneled"
from mpi4py import MPI  # noqa: E402

__all__ = [
    "Comm",
    "DELAY_ENV",
    "AtomicCounter",
    "FAULT_ENV",
    "abort_on_error",
    "allgather_floats",
    "allgather_ints",
    "allgather_strings",
    "allreduce_max",
    "allreduce_max_array",
    "exchange_rows",
    "gather_blocks",
    "inject_delay",
    "inject_fault",
    "mpi_versions",
    "self_comm",
    "world",
]

Comm = MPI.Comm

#: ``RANK:STAGE`` (e.g. ``1:compute``) makes that rank raise at that stage (``*``: whichever
#: rank gets there, as for a partition that dynamic balance gives to any rank); for tests of
#: the failure path, never set in production.
FAULT_ENV = "XIPHPC_INJECT_FAULT"
#: ``RANK:SECONDS`` (e.g. ``1:0.5``) makes that rank sleep before each partition it prices;
#: for tests and benchmarks of slow ranks, never set in production.
DELAY_ENV = "XIPHPC_INJECT_DELAY"


def world() -> MPI.Comm:
    """All ranks of the job (a single rank when not started by ``mpiexec``)."""
    return MPI.COMM_WORLD


def self_comm() -> MPI.Comm:
    """A communicator of this process alone: the serial engine."""
    return MPI.COMM_SELF


def mpi_versions() -> dict[str, str]:
    """Versions of mpi4py and of the MPI library it runs on."""
    lib = MPI.Get_library_version().strip().splitlines()
    return {"mpi4py": mpi4py.__version__, "mpi_library": lib[0] if lib else "unknown"}


def inject_fault(comm: MPI.Comm, stage: str) -> None:
    """Raise if :data:`FAULT_ENV` names this rank and ``stage``."""
    spec = os.environ.get(FAULT_ENV, "")
    if not spec:
        return
    rank, _, at = spec.partition(":")
    if at == stage and rank.strip() in ("*", str(comm.Get_rank())):
        raise RuntimeError(f"fault injected at stage {stage!r} ({FAULT_ENV}={spec})")


def inject_delay(comm: MPI.Comm) -> None:
    """Sleep if :data:`DELAY_ENV` names this rank (called once per partition)."""
    spec = os.environ.get(DELAY_ENV, "")
    if not spec:
        return
    rank, _, seconds = spec.partition(":")
    if rank.strip() == str(comm.Get_rank()):
        time.sleep(float(seconds))


#: Seconds a failing rank waits between writing its reason and aborting the job.
ABORT_GRACE_S = 0.5


@contextlib.contextmanager
def abort_on_error(comm: MPI.Comm) -> Iterator[None]:
    """Turn an exception on any rank into the end of the whole job, naming rank and reason.

    Without this, the other ranks would wait forever in their next collective. With one rank
    the exception propagates normally.
    """
    try:
        yield
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - any failure must end every rank
        if comm.Get_size() == 1:
            raise
        rank, size = comm.Get_rank(), comm.Get_size()
        detail = "".join(traceback.format_exception(exc))
        sys.stderr.write(
            f"{detail}xiphpc: rank {rank} of {size} failed: {type(exc).__name__}: {exc}\n"
            "xiphpc: aborting all ranks\n"
        )
        sys.stderr.flush()
        # The launcher forwards a rank's output through a pipe and stops reading it once
        # an abort reaches it: a moment first, so that the reason is not lost with the rank.
        time.sleep(ABORT_GRACE_S)
        MPI.COMM_WORLD.Abort(1)


def allgather_strings(comm: MPI.Comm, items: list[str]) -> list[str]:
    """Concatenate every rank's list of strings, in rank order, on every rank."""
    data = np.frombuffer("\x00".join(items).encode("utf-8"), dtype=np.uint8)
    counts = np.array(comm.allgather(data.size), dtype=np.int64)
    out = np.empty(int(counts.sum()), dtype=np.uint8)
    comm.Allgatherv(data, [out, counts])
    found: list[str] = []
    start = 0
    n_items = comm.allgather(len(items))
    for c, k in zip(counts, n_items, strict=True):
        if k:
            found += out[start : start + c].tobytes().decode("utf-8").split("\x00")
        start += c
    return found


def allgather_floats(comm: MPI.Comm, values: np.ndarray) -> np.ndarray:
    """Every rank's float64 values, concatenated in rank order (``Allgatherv``)."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    counts = np.array(comm.allgather(values.size), dtype=np.int64)
    out = np.empty(int(counts.sum()), dtype=np.float64)
    comm.Allgatherv(values, [out, counts])
    return out


def allgather_ints(comm: MPI.Comm, values: np.ndarray) -> np.ndarray:
    """Every rank's int64 values, concatenated in rank order (``Allgatherv``)."""
    values = np.ascontiguousarray(values, dtype=np.int64)
    counts = np.array(comm.allgather(values.size), dtype=np.int64)
    out = np.empty(int(counts.sum()), dtype=np.int64)
    comm.Allgatherv(values, [out, counts])
    return out


def allreduce_max_array(comm: MPI.Comm, values: np.ndarray) -> np.ndarray:
    """Element-wise maximum over the ranks of an int64 or float64 array (``Allreduce``)."""
    values = np.ascontiguousarray(values)
    out = np.empty_like(values)
    comm.Allreduce(values, out, op=MPI.MAX)
    return out


def allreduce_max(comm: MPI.Comm, value: int) -> int:
    """Largest ``value`` over all ranks."""
    return int(comm.allreduce(int(value), op=MPI.MAX))


def exchange_rows(
    comm: MPI.Comm, dest: np.ndarray, *columns: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Send row ``r`` of every column to rank ``dest[r]`` (one buffer ``Alltoallv`` per column).

    Parameters
    ----------
    dest : ndarray of int, shape ``(n,)``
        Destination rank of each local row.
    columns : ndarrays of shape ``(n, ...)``
        Numeric arrays (bytes as ``uint8`` matrices); trailing shapes must agree across ranks.

    Returns
    -------
    received : list of ndarray, shape ``(m, ...)`` each
        The rows sent to this rank, grouped by source rank in rank order, each source's rows
        in its own order.
    sources : ndarray of int64, shape ``(m,)``
        Source rank of each received row: ``exchange_rows(comm, sources, answer)`` sends
        answers back.
    order : ndarray of int64, shape ``(n,)``
        Local row of each sent row in send order: the answers to a reply exchange arrive in
        this order (``mine[order] = reply``).
    """
    size = comm.Get_size()
    dest = np.asarray(dest, dtype=np.int64)
    order = np.argsort(dest, kind="stable")
    send_counts = np.bincount(dest, minlength=size).astype(np.int64)
    recv_counts = np.empty(size, dtype=np.int64)
    comm.Alltoall(send_counts, recv_counts)
    send_displs = np.concatenate(([0], np.cumsum(send_counts)[:-1]))
    recv_displs = np.concatenate(([0], np.cumsum(recv_counts)[:-1]))
    received = []
    for col in columns:
        data = np.ascontiguousarray(np.asarray(col)[order])
        inner = int(np.prod(data.shape[1:], dtype=np.int64))
        out = np.empty((int(recv_counts.sum()), *data.shape[1:]), dtype=data.dtype)
        comm.Alltoallv(
            [data, (send_counts * inner, send_displs * inner)],
            [out, (recv_counts * inner, recv_displs * inner)],
        )
        received.append(out)
    sources = np.repeat(np.arange(size, dtype=np.int64), recv_counts)
    return received, sources, order


def gather_blocks(comm: MPI.Comm, block: np.ndarray, root: int = 0) -> np.ndarray | None:
    """Stack every rank's float64 block ``(k_r, *shape)`` along axis 0 on ``root``, in rank
    order; ``None`` elsewhere. Trailing shapes must agree."""
    block = np.ascontiguousarray(block, dtype=np.float64)
    inner = int(np.prod(block.shape[1:], dtype=np.int64))
    counts = np.array(comm.allgather(block.size), dtype=np.int64)
    if comm.Get_rank() == root:
        out = np.empty(int(counts.sum()), dtype=np.float64)
        comm.Gatherv(block.ravel(), [out, counts], root=root)
        rows = out.size // inner if inner else 0
        return out.reshape((rows, *block.shape[1:]))
    comm.Gatherv(block.ravel(), None, root=root)
    return None


class AtomicCounter:
    """A counter on rank 0 that every rank of ``comm`` increments with one-sided atomics.

    ``MPI_Rget_accumulate`` (a fetch-and-add) inside one passive-target epoch for the
    counter's lifetime: no rank waits for another to take its turn. Where the network does
    the atomic in hardware, rank 0 need not take part; elsewhere (MPICH over shared memory,
    for one) the operation completes when rank 0 next enters MPI, so every rank calls
    :meth:`progress` between pieces of work, and a rank asks for its next number before it
    needs it (:meth:`ask`, then :meth:`take`). Creating and freeing the counter are
    collective.
    """

    def __init__(self, comm: MPI.Comm) -> None:
        self.comm = comm
        rank0 = comm.Get_rank() == 0
        self.win = MPI.Win.Allocate(8 if rank0 else 0, 8, comm=comm)
        if rank0:
            np.frombuffer(self.win.tomemory(), dtype=np.int64)[:] = 0
        comm.Barrier()
        self.win.Lock_all()
        self._one = np.ones(1, dtype=np.int64)
        self._got = np.empty(1, dtype=np.int64)
        self._request: MPI.Request | None = None

    def ask(self) -> None:
        """Start taking the next number (at most one asked and not yet taken)."""
        if self._request is None:
            self._request = self.win.Rget_accumulate(self._one, self._got, 0, op=MPI.SUM)

    def take(self) -> int:
        """The number asked for (asking now if not yet asked): 0, 1, 2, ... over all ranks."""
        self.ask()
        self._request.Wait()
        self._request = None
        return int(self._got[0])

    def progress(self) -> None:
        """Let MPI serve the other ranks' pending increments of this rank's memory."""
        self.comm.Iprobe(source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG)

    def free(self) -> None:
        """End the epoch and free the window (collective; a number asked is dropped)."""
        if self._request is not None:
            self._request.Wait()
            self._request = None
        self.win.Unlock_all()
        self.win.Free()
