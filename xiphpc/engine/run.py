"""One risk run, as the stages it is made of::

    read inputs → agree plan → read local book → price and aggregate → reduce → write

Every stage takes the communicator (through a :class:`~xiphpc.parallel.workshare.WorkShare`
once the plan is agreed); with ``COMM_SELF`` the run is serial. Aggregates are sums over
fixed partitions, each summed in row order, then added along a fixed tree over the partition
numbers to rank 0: the same floating-point operations whatever the number of ranks.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numba

from xiphpc.config.job import JobSpec
from xiphpc.engine.aggregate import sum_measures, sum_risk
from xiphpc.engine.book import read_local_book
from xiphpc.engine.checkpoint import CheckpointStore
from xiphpc.engine.cube import ColumnLayout, Nodes, PartialCube
from xiphpc.engine.events import RunListener, RunState, notify, stage
from xiphpc.engine.inputs import read_inputs
from xiphpc.engine.plan import agree_plan
from xiphpc.engine.price import TradeResults, price_rows
from xiphpc.engine.reduce import Reduced, reduce_cube
from xiphpc.output.target import claim_output, releasing_output
from xiphpc.output.writer import ResultWriter
from xiphpc.parallel.mpi import Comm, inject_delay, inject_fault
from xiphpc.parallel.workshare import WorkShare, agreed
from xiphpc.pricing.products import MEASURES, PricingContext
from xiphpc.pricing.status import Status

__all__ = [
    "EXIT_INTERRUPTED",
    "RunInterrupted",
    "RunSummary",
    "request_stop",
    "run_job",
]

#: Exit status of a run stopped by a signal (SIGTERM, SIGUSR1) with its checkpoint kept:
#: ``EX_TEMPFAIL``, "try again", with ``--resume``.
EXIT_INTERRUPTED = 75

#: Memory for the partial sums of the partitions of one pass (``(G, C)`` float64 each).
PASS_BLOCK_BYTES = 64 << 20

_stop = threading.Event()
_pricing = threading.Event()


def request_stop() -> bool:
    """Ask the run to stop taking partitions (safe to call from a signal handler).

    Returns
    -------
    bool
        Whether partitions are being priced now, so that the stop will be heard at the
        next partition.
    """
    _stop.set()
    return _pricing.is_set()


class RunInterrupted(RuntimeError):
    """The run stopped before its last partition; its checkpoint is kept for ``--resume``."""


@dataclass(frozen=True)
class RunSummary:
    """What rank 0 knows at the end of a run."""

    path: Path
    n_trades: int
    n_priced: int
    excluded: dict[str, int]
    totals: dict[str, float]
    base_currency: str
    n_ranks: int
    n_partitions: int
    seconds: float


@releasing_output
def run_job(
    spec: JobSpec,
    comm: Comm,
    out: str | Path | None = None,
    listeners: Sequence[RunListener] = (),
    resume: bool = False,
) -> RunSummary | None:
    """Run a job on ``comm``; returns the summary on rank 0 and ``None`` elsewhere.

    Parameters
    ----------
    out : path-like, optional
        Result file; overrides the job's ``[output] path``.
    listeners : sequence of RunListener
        Told of every stage and partition, before the checkpoint store and the writer.
    resume : bool
        Restore the partitions kept by an earlier run of the same job instead of pricing them.

    Raises
    ------
    JobError
        On every rank alike, before any pricing, when the inputs are unusable, the output
        path cannot be claimed (it is an input, unwritable, or locked by another run) or the
        checkpoint is another run's.
    RunInterrupted
        On every rank alike, when a stop was requested on any rank (:func:`request_stop`);
        the partitions finished so far are kept.
    """
    t_start, started = time.perf_counter(), dt.datetime.now(dt.UTC)
    _stop.clear()
    # Rank 0 checks and locks the output path before any trade is read; all ranks agree.
    target = agreed(comm, lambda: claim_output(spec, out) if comm.Get_rank() == 0 else None)
    writer = ResultWriter(spec.output_path(out), target)
    checkpoint = CheckpointStore(writer.path, resume)
    listeners = [*listeners, checkpoint, writer]
    timers = RunState.new_timers()
    with stage(listeners, "read inputs", timers=timers):
        inject_fault(comm, "read")
        inputs = read_inputs(spec, comm)
    with stage(listeners, "agree plan", timers=timers):
        share = agree_plan(inputs.source, comm, spec.run.partitions)
    with stage(listeners, "read local book", timers=timers):
        book = read_local_book(inputs.source, share, spec.aggregation.levels)
    run = start_run(inputs, share, book, started, timers)
    notify(listeners, "begin", run)
    with stage(listeners, "price and aggregate", run, timers):
        inject_fault(comm, "compute")
        members = run.cube.nodes.membership(book.levels)
        _pricing.set()
        # Each partition of a pass has a block of sums open until the pass ends: bound them.
        open_blocks = max(1, PASS_BLOCK_BYTES // (8 * run.cube.nodes.n * run.cube.layout.width))
        for partitions in share.chunks(spec.run.trades_per_pass, open_blocks):
            if _stop.is_set():
                break
            inject_delay(comm)
            run.pass_started = time.perf_counter()
            todo = [p for p in partitions if not checkpoint.restore(run, p)]
            run.restored += [p for p in partitions if p not in todo]
            for run_of in _consecutive(todo):
                inject_fault(comm, f"partition-{run_of.start}")
                price_and_aggregate(run, run_of, members)
            run.pass_ended = time.perf_counter()
            for p in partitions:
                notify(listeners, "partition_done", run, p)
                run.cube.fold(p)
        _pricing.clear()
        if share.max(int(_stop.is_set())):
            raise RunInterrupted(
                f"stopped by a signal; finished partitions kept in {checkpoint.folder}"
            )
    with stage(listeners, "reduce", run, timers):
        inject_fault(comm, "reduce")
        reduced = reduce_cube(run.cube, share, run.trades.status)
    inject_fault(comm, "write")
    notify(listeners, "end", run, reduced)
    if share.rank == 0:
        checkpoint.discard()
    return summarize(run, reduced, writer.path, time.perf_counter() - t_start)


def _consecutive(partitions: list[int]) -> list[range]:
    """``partitions`` (increasing) as runs of consecutive numbers."""
    runs: list[range] = []
    for p in partitions:
        if runs and runs[-1].stop == p:
            runs[-1] = range(runs[-1].start, p + 1)
        else:
            runs.append(range(p, p + 1))
    return runs


def start_run(inputs, share: WorkShare, book, started: dt.datetime, timers) -> RunState:
    """The run's state before pricing: numba threads set, the nodes of every level agreed
    across ranks, per-trade results and partial sums allocated."""
    spec, risk = inputs.spec, inputs.risk
    threads = min(spec.run.threads_per_rank, numba.config.NUMBA_NUM_THREADS)
    numba.set_num_threads(threads)
    measures = tuple(m for m in MEASURES if m in spec.measures)
    layout = ColumnLayout(
        measures,
        n_sensitivities=len(risk.factors) if risk and risk.bumps is not None else 0,
        n_historical=risk.hist_shifts.shape[0] if risk else 0,
        n_stresses=risk.stress_shifts.shape[0] if risk else 0,
    )
    keys = {"total": ["all"]}
    for lv in spec.aggregation.levels:
        keys[lv] = share.union_of_strings(book.levels[lv].tolist())
    nodes = Nodes(("total", *spec.aggregation.levels), keys)
    trade_pnl = layout.n_historical if risk is not None and risk.trade_pnl else None
    ctx = PricingContext(
        seed=spec.seed, parallel=threads > 1, valuation_date=inputs.market.valuation_date
    )
    return RunState(
        inputs=inputs,
        share=share,
        book=book,
        trades=TradeResults.empty(len(book), measures, trade_pnl),
        cube=PartialCube(share.partitions, nodes, layout),
        ctx=ctx,
        threads=threads,
        started=started,
        timers=timers,
    )


def price_and_aggregate(run: RunState, partitions: range, members: dict) -> None:
    """Price the trades of consecutive owned ``partitions`` and add them into the cube."""
    share, market = run.share, run.inputs.market
    a = share.local_rows(partitions.start).start
    b = share.local_rows(partitions.stop - 1).stop
    price_rows(run.book, a, b, market, run.ctx, run.trades)
    sum_measures(partitions, share, members, run.trades, run.cube)
    if run.inputs.risk is not None:
        sum_risk(run, partitions, members)


def summarize(run: RunState, reduced: Reduced, path: Path, seconds: float) -> RunSummary | None:
    """The run's summary on rank 0; None elsewhere."""
    if reduced.sums is None:
        return None
    layout = run.cube.layout
    return RunSummary(
        path=path,
        n_trades=run.share.n_total,
        n_priced=int(reduced.sums[0, layout.n_trades]),
        excluded={Status(i).label: int(c) for i, c in enumerate(reduced.excluded) if i and c},
        totals={m: float(reduced.sums[0, j]) for j, m in enumerate(layout.measures)},
        base_currency=run.inputs.market.base_currency,
        n_ranks=run.share.size,
        n_partitions=run.share.plan.n_partitions,
        seconds=seconds,
    )
