"""Micro-benchmarks of the collectives the engine makes, run under ``mpiexec``::

    mpiexec -n R python -m xiphpc.bench.scaling_probe --nodes G --columns C \\
        --partitions P --out probe.json

Each figure is the median over repetitions (every repetition starts at a barrier) of the
slowest rank's seconds. Rank 0 writes the figures as JSON:

``step_small_s``, ``step_block_s``
    One message of 8 bytes and of one ``(G, C)`` float64 block from rank 1 to rank 0: half a
    ping-pong, as a step of :meth:`~xiphpc.parallel.workshare.WorkShare.tree_sum`.
``allreduce_owners_s``
    ``Allreduce`` (max) of ``P`` int64, as :meth:`WorkShare.owners`.
``counter_latency_s``, ``counter_service_s``
    One fetch-and-add of :class:`~xiphpc.parallel.mpi.AtomicCounter` with every rank asking
    at once (median per take), and the seconds per increment rank 0's memory serves (the
    whole storm's wall time over the increments).
``strings_s``, ``strings_bytes``
    ``allgather_strings`` of ``K`` level keys per rank, and the bytes each rank receives.
``alltoall_s``, ``alltoall_bytes``
    :func:`~xiphpc.parallel.mpi.exchange_rows` of ``M`` trade ids (16 bytes) and rows (8)
    per rank to ranks drawn at random, as the duplicate-id stage; bytes sent per rank.

With one rank there is no message to time: the point-to-point figures are ``None``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from xiphpc.parallel.mpi import (
    AtomicCounter,
    Comm,
    allgather_strings,
    allreduce_max_array,
    exchange_rows,
    world,
)

__all__ = ["probe"]

#: Bytes of one trade id in the all-to-all probe (ids of generated books are about this).
ID_BYTES = 16


def _slowest(comm: Comm, seconds: float) -> float:
    return float(allreduce_max_array(comm, np.array([seconds]))[0])


def _timed(comm: Comm, fn: Callable[[], object], repeat: int) -> float:
    """Median over ``repeat`` barrier-started calls of the slowest rank's seconds."""
    fn()  # first call sets up buffers and connections
    times = []
    for _ in range(repeat):
        comm.Barrier()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return _slowest(comm, statistics.median(times))


def _one_way(comm: Comm, buf: np.ndarray, repeat: int) -> float | None:
    """Half the median round trip of ``buf`` between ranks 0 and 1."""
    if comm.Get_size() < 2:
        return None
    rank, times = comm.Get_rank(), []
    for i in range(repeat + 1):
        comm.Barrier()
        t0 = time.perf_counter()
        if rank == 0:
            comm.Send(buf, dest=1, tag=7)
            comm.Recv(buf, source=1, tag=7)
        elif rank == 1:
            comm.Recv(buf, source=0, tag=7)
            comm.Send(buf, dest=0, tag=7)
        if i:  # the first round trip opens the connection
            times.append((time.perf_counter() - t0) / 2)
    return float(statistics.median(times)) if rank == 0 else None


def _counter(comm: Comm, takes: int) -> tuple[float, float]:
    """Median seconds of one take with all ranks asking, and seconds per increment served."""
    counter = AtomicCounter(comm)
    comm.Barrier()
    t0 = time.perf_counter()
    times = []
    for _ in range(takes):
        t = time.perf_counter()
        counter.take()
        times.append(time.perf_counter() - t)
        counter.progress()
    # Rank 0 keeps serving until every rank is done (free is collective).
    counter.free()
    wall = _slowest(comm, time.perf_counter() - t0)
    return _slowest(comm, statistics.median(times)), wall / (takes * comm.Get_size())


def probe(
    comm: Comm, nodes: int, columns: int, partitions: int, keys: int, ids: int, repeat: int
) -> dict[str, float | int | None]:
    """Every figure of the module docstring on ``comm`` (collective)."""
    rank, size = comm.Get_rank(), comm.Get_size()
    small = np.zeros(1, dtype=np.float64)
    block = np.zeros((nodes, columns), dtype=np.float64)
    owners = np.full(partitions, rank, dtype=np.int64)
    strings = [f"desk-{rank:05d}/book-{k:06d}" for k in range(keys)]
    rng = np.random.default_rng(rank)
    octets = rng.integers(65, 91, size=(ids, ID_BYTES), dtype=np.uint8)
    rows = np.arange(ids, dtype=np.int64)
    dest = rng.integers(0, size, size=ids)
    figures: dict[str, float | int | None] = {
        "ranks": size,
        "block_bytes": int(block.nbytes),
        "step_small_s": _one_way(comm, small, repeat),
        "step_block_s": _one_way(comm, block, repeat),
        "allreduce_owners_s": _timed(comm, lambda: allreduce_max_array(comm, owners), repeat),
        "strings_s": _timed(comm, lambda: allgather_strings(comm, strings), repeat),
        "strings_bytes": size * sum(len(s) + 1 for s in strings),
        "alltoall_s": _timed(comm, lambda: exchange_rows(comm, dest, octets, rows), repeat),
        "alltoall_bytes": ids * (ID_BYTES + 8),
    }
    figures["counter_latency_s"], figures["counter_service_s"] = _counter(comm, 20 * repeat)
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, required=True)
    parser.add_argument("--columns", type=int, required=True)
    parser.add_argument("--partitions", type=int, required=True)
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--ids", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    comm = world()
    figures = probe(
        comm, args.nodes, args.columns, args.partitions, args.keys, args.ids, args.repeat
    )
    if comm.Get_rank() == 0:
        args.out.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
