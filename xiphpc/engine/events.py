"""What a run tells its listeners: the run's state and its events.

The engine calls every listener on every rank: :meth:`RunListener.begin` once the work is
shared out, :meth:`RunListener.partition_done` as each partition a rank prices is complete,
:meth:`RunListener.stage_done` after each stage and :meth:`RunListener.end` with the reduced
sums. Writers, progress displays and checkpoint stores are listeners, not branches of the
engine.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO

import numpy as np

from xiphpc.engine.book import BookIndex
from xiphpc.engine.cube import PartialCube
from xiphpc.engine.inputs import JobInputs
from xiphpc.engine.price import Batch
from xiphpc.engine.reduce import Reduced
from xiphpc.parallel.workshare import WorkShare
from xiphpc.pricing.products import PricingContext
from xiphpc.pricing.status import Status

__all__ = ["TIMERS", "RunListener", "RunState", "StageLog", "notify", "stage"]

#: Wall-time columns per rank in ``/diagnostics/ranks``, and the stages each one covers.
TIMERS = {
    "read_s": ("read inputs", "agree plan", "index book"),
    "compute_s": ("price and aggregate",),
    "reduce_s": ("reduce",),
    "write_s": ("write",),
}
_COLUMN_OF = {stage: col for col, stages in TIMERS.items() for stage in stages}


@dataclass
class RunState:
    """One rank's view of a run in progress.

    Attributes
    ----------
    inputs : JobInputs
    share : WorkShare
    index : BookIndex
    cube : PartialCube
    ctx : PricingContext
    measures : tuple of str
        Measures of every trade, in :data:`~xiphpc.pricing.products.MEASURES` order.
    n_trade_pnl : int or None
        Historical scenarios per trade when the job writes per-trade P&L.
    threads : int
        numba threads of this rank.
    started : datetime.datetime
        UTC start of the run.
    timers : dict of str to float
        Seconds spent per :data:`TIMERS` column so far.
    batch : Batch or None
        The partitions being priced now, with their trades and results.
    done : list of int
        Partitions this rank finished (priced or restored), in the order finished.
    restored : list of int
        Partitions this rank restored from a checkpoint instead of pricing them.
    n_trades_done : int
        Trades of :attr:`done`.
    status_counts : ndarray of int64, shape ``(len(Status),)``
        Trades of :attr:`done` per status code.
    pass_started, pass_ended : float
        ``time.perf_counter()`` when the current pass over partitions began and ended.
    """

    inputs: JobInputs
    share: WorkShare
    index: BookIndex
    cube: PartialCube
    ctx: PricingContext
    measures: tuple[str, ...]
    n_trade_pnl: int | None
    threads: int
    started: dt.datetime
    timers: dict[str, float] = field(default_factory=lambda: RunState.new_timers())
    batch: Batch | None = None
    done: list[int] = field(default_factory=list)
    restored: list[int] = field(default_factory=list)
    n_trades_done: int = 0
    status_counts: np.ndarray = field(default_factory=lambda: np.zeros(len(Status), np.int64))
    pass_started: float = 0.0
    pass_ended: float = 0.0

    @staticmethod
    def new_timers() -> dict[str, float]:
        """Zero seconds in every :data:`TIMERS` column."""
        return dict.fromkeys(TIMERS, 0.0)


class RunListener:
    """Receives a run's events on every rank; subclasses override what they need."""

    def begin(self, run: RunState) -> None:
        """The work is shared out and nothing is priced yet."""

    def partition_done(self, run: RunState, partition: int) -> None:
        """The sums of ``partition`` and its trades' results (in ``run.batch``) are
        complete on this rank."""

    def stage_done(self, run: RunState | None, stage: str, seconds: float) -> None:
        """A stage of this rank ended (``run`` is None before the work is shared out)."""

    def end(self, run: RunState, reduced: Reduced) -> None:
        """Every partition is done and reduced (``reduced`` holds data on rank 0 only)."""


def notify(listeners: Sequence[RunListener], event: str, *args) -> None:
    """Call ``event`` on every listener, in order."""
    for listener in listeners:
        getattr(listener, event)(*args)


@contextmanager
def stage(
    listeners: Sequence[RunListener], name: str, run: RunState | None = None, timers=None
) -> Iterator[None]:
    """Time a stage: add its seconds to its :data:`TIMERS` column and tell the listeners."""
    t0 = time.perf_counter()
    yield
    seconds = time.perf_counter() - t0
    if timers is not None:
        timers[_COLUMN_OF[name]] += seconds
    notify(listeners, "stage_done", run, name, seconds)


class StageLog(RunListener):
    """One line per stage and per finished partition of rank 0, for logs and terminals."""

    def __init__(self, rank: int, stream: TextIO = sys.stderr) -> None:
        self.rank = rank
        self.stream = stream
        self.done = 0

    def _line(self, text: str) -> None:
        if self.rank != 0:
            return
        # One write per line: ranks writing at once must not interleave within a line.
        self.stream.write(f"xiphpc: {text}\n")
        self.stream.flush()

    def begin(self, run: RunState) -> None:
        self._line(
            f"{run.share.n_total:,} trades in {run.share.plan.n_partitions} partitions "
            f"on {run.share.size} ranks"
        )

    def partition_done(self, run: RunState, partition: int) -> None:
        self.done += 1
        self._line(f"rank 0: partition {partition} done ({self.done} by rank 0)")

    def stage_done(self, run: RunState | None, stage: str, seconds: float) -> None:
        self._line(f"{stage}: {seconds:.3f} s")
