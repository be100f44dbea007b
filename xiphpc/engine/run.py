"""One risk run, as the stages it is made of::

    read inputs → agree plan → index book → price and aggregate → reduce → write

Every stage takes the communicator (through a :class:`~xiphpc.parallel.workshare.WorkShare`
once the plan is agreed); with ``COMM_SELF`` the run is serial. Ranks take runs of
partitions as they ask for them, and price each run in passes: a pass reads its rows, prices
them, adds them into its partitions' sums and hands its trades' results to the listeners
(writer, checkpoint, progress), which keep nothing of it. Aggregates are sums over fixed
partitions, each summed in row order, then added along a fixed tree over the partition
numbers to rank 0: the same floating-point operations whatever the number of ranks and
whichever rank priced which partition.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np

from xiphpc.config.job import JobSpec
from xiphpc.engine.aggregate import sum_measures, sum_risk
from xiphpc.engine.book import BookIndex, index_book, read_book_rows
from xiphpc.engine.checkpoint import CheckpointStore
from xiphpc.engine.cube import ColumnLayout, Nodes, PartialCube
from xiphpc.engine.events import RunListener, RunState, notify, stage
from xiphpc.engine.inputs import read_inputs
from xiphpc.engine.plan import agree_plan
from xiphpc.engine.price import Batch, TradeResults, price_rows
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
    "prepare_jit",
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


def prepare_jit() -> None:
    """Fill numba's tables of typings and implementations now instead of at the first kernel
    call.

    numba fills them on the first compilation or cache load of any kernel in the process, about
    a tenth of a second and a hundred thousand objects that live as long as the process; a
    caller that keeps its start-up out of the cyclic garbage collector (``xiphpc run``) calls
    this within it. Kernels then load from the cache exactly as they would have.
    """
    from numba.core.registry import cpu_target

    cpu_target.target_context.refresh()


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
        share = agree_plan(inputs.source, comm, spec.run)
    with stage(listeners, "index book", timers=timers):
        index = index_book(inputs.source, share, spec.aggregation.levels)
    run = start_run(inputs, share, index, started, timers)
    read_before = timers["read_s"]
    notify(listeners, "begin", run)
    with stage(listeners, "price and aggregate", run, timers):
        inject_fault(comm, "compute")
        _pricing.set()
        # Each partition of a pass has a block of sums open until the pass ends: bound them.
        open_blocks = max(1, PASS_BLOCK_BYTES // (8 * run.cube.nodes.n * run.cube.layout.width))
        dispatch = share.dispatch(spec.run.balance)
        for work in dispatch:
            passes = share.plan.passes(work, spec.run.trades_per_pass, open_blocks)
            for i, partitions in enumerate(passes):
                if _stop.is_set():
                    break
                if i == len(passes) - 1:
                    dispatch.ask_ahead()
                price_pass(run, partitions, checkpoint, listeners)
                dispatch.progress()
            if _stop.is_set():
                break
        dispatch.close()
        _pricing.clear()
        if share.max(int(_stop.is_set())):
            raise RunInterrupted(
                f"stopped by a signal; finished partitions kept in {checkpoint.folder}"
            )
    # Reading rows and streaming results out happen inside the pricing stage; they are
    # counted in their own columns.
    run.timers["compute_s"] -= run.timers["read_s"] - read_before + run.timers["write_s"]
    with stage(listeners, "reduce", run, timers):
        inject_fault(comm, "reduce")
        reduced = reduce_cube(run.cube, share, share.owners(run.done), run.status_counts)
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


def start_run(inputs, share: WorkShare, index: BookIndex, started: dt.datetime, timers) -> RunState:
    """The run's state before pricing: numba threads set and the partial sums' layout."""
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
    nodes = Nodes(("total", *spec.aggregation.levels), {"total": ["all"], **index.keys})
    ctx = PricingContext(
        seed=spec.seed, parallel=threads > 1, valuation_date=inputs.market.valuation_date
    )
    return RunState(
        inputs=inputs,
        share=share,
        index=index,
        cube=PartialCube(nodes, layout),
        ctx=ctx,
        measures=measures,
        n_trade_pnl=layout.n_historical if risk is not None and risk.trade_pnl else None,
        threads=threads,
        started=started,
        timers=timers,
    )


def price_pass(run: RunState, partitions: range, checkpoint: CheckpointStore, listeners) -> None:
    """Read, price (or restore) and sum consecutive ``partitions``, tell the listeners of
    each, fold their sums, and let go of the trades."""
    share, spec = run.share, run.inputs.spec
    for _ in partitions:
        inject_delay(share.comm)
    run.pass_started = time.perf_counter()
    lo, hi = share.plan.rows(partitions)
    book = read_book_rows(run.inputs.source, lo, hi, spec.aggregation.levels, run.index)
    run.timers["read_s"] += time.perf_counter() - run.pass_started
    risk = run.inputs.risk
    trades = TradeResults.empty(
        hi - lo, run.measures, run.n_trade_pnl, risk is not None and risk.trade_sensitivities
    )
    run.batch = Batch(partitions, lo, book, trades, share.plan.bounds)
    todo = [p for p in partitions if not checkpoint.restore(run, p)]
    run.restored += [p for p in partitions if p not in todo]
    if todo:
        members = run.cube.nodes.membership(book.levels)
        for run_of in _consecutive(todo):
            for p in run_of:
                inject_fault(share.comm, f"partition-{p}")
            price_and_aggregate(run, run_of, members)
    run.pass_ended = time.perf_counter()
    for p in partitions:
        notify(listeners, "partition_done", run, p)
        run.cube.fold(p)
    run.done += partitions
    run.n_trades_done += hi - lo
    run.status_counts += np.bincount(trades.status, minlength=run.status_counts.size)
    run.batch = None


def price_and_aggregate(run: RunState, partitions: range, members: dict) -> None:
    """Price the trades of consecutive ``partitions`` of the run's batch and add them into
    the cube."""
    batch, market = run.batch, run.inputs.market
    a, b = batch.rows(partitions.start).start, batch.rows(partitions.stop - 1).stop
    price_rows(batch.book, a, b, market, run.ctx, batch.trades)
    sum_measures(partitions, batch, members, run.cube)
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
