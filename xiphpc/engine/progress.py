"""Progress of a run on rank 0: partitions and trades done on every rank, speed, ETA and
failed trades, as a live line on a terminal or a plain line every few seconds in a log."""

from __future__ import annotations

import sys
import time
from typing import TextIO

import numpy as np

from xiphpc.engine.events import RunListener, RunState
from xiphpc.parallel.progress import ProgressChannel

__all__ = ["ProgressDisplay"]


class ProgressDisplay(RunListener):
    """Shows the whole run's progress on rank 0 (every rank reports to it).

    Parameters
    ----------
    stream : text stream
        Where rank 0 writes; a terminal gets one line rewritten in place.
    interval : float
        Seconds between two plain lines when ``stream`` is not a terminal.
    """

    def __init__(self, stream: TextIO = sys.stderr, interval: float = 5.0) -> None:
        self.stream = stream
        self.interval = interval
        self.live = bool(getattr(stream, "isatty", lambda: False)())

    def begin(self, run: RunState) -> None:
        self.channel = ProgressChannel(run.share.comm, run.share.plan.n_partitions)
        self.root = run.share.rank == 0
        self.n_total = run.share.n_total
        self.parts = self.trades = self.failed = 0
        self.t0 = self.shown = time.perf_counter()

    def partition_done(self, run: RunState, partition: int) -> None:
        rows = run.batch.rows(partition)
        failed = int((~run.batch.trades.priced[rows]).sum())
        self._count(self.channel.post(partition, rows.stop - rows.start, failed))
        self._show()

    def stage_done(self, run: RunState | None, stage: str, seconds: float) -> None:
        if stage != "price and aggregate":
            return
        if self.root:
            while self.channel.outstanding:
                self._count([self.channel.next()])
                self._show()
            self._show(final=True)
        self.channel.finish()

    def _count(self, reports: list[np.ndarray]) -> None:
        for _, trades, failed in reports:
            self.parts += 1
            self.trades += int(trades)
            self.failed += int(failed)

    def _show(self, final: bool = False) -> None:
        now = time.perf_counter()
        if not self.root or not (final or self.live or now - self.shown >= self.interval):
            return
        self.shown = now
        elapsed = max(now - self.t0, 1e-9)
        rate = self.trades / elapsed
        eta = (self.n_total - self.trades) / rate if rate > 0 else float("nan")
        text = (
            f"xiphpc: {self.parts}/{self.channel.n_partitions} partitions, "
            f"{self.trades:,}/{self.n_total:,} trades, {rate:,.0f} trades/s, "
            f"ETA {eta:,.0f} s, {self.failed:,} failed"
        )
        # One write per line, so that output from several ranks never interleaves in it.
        if self.live:
            self.stream.write("\r" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
