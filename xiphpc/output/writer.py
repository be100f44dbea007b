"""The HDF5 result writer: a run listener that streams trade rows out as partitions finish
and completes the result file when the run ends.

Rank 0 creates the result file (under its temporary name) when the pricing begins and
writes its own trades' rows straight into it as each partition finishes; every other rank
appends its rows to a part file of its own (:mod:`xiphpc.output.parts`), so no rank waits
for another's turn and none keeps the rows of partitions it is done with. At the end rank 0
copies the other ranks' parts into the result, writes the reasons of the failed trades, the
aggregates, the risk tables, the partition plan, the diagnostics and the metadata, and
renames the file into place.
"""

from __future__ import annotations

import datetime as dt
import platform
import resource
import time
from pathlib import Path

import h5py
import numba
import numpy as np

from xiphpc import __version__
from xiphpc.engine.book import DESCRIPTIVE_COLUMNS
from xiphpc.engine.events import TIMERS, RunListener, RunState
from xiphpc.engine.reduce import Reduced
from xiphpc.io.text import encode_utf8
from xiphpc.output.parts import COPY_ROWS, RankPart, TradeRows
from xiphpc.output.result_file import (
    TRADE_COLUMNS,
    create_result,
    create_trade_columns,
)
from xiphpc.output.risk_tables import create_trade_pnl, write_risk
from xiphpc.output.schema import (
    AGGREGATES,
    PARTITION_DIAGNOSTICS,
    PARTITIONS,
    RANK_DIAGNOSTICS,
    TRADE_PNL,
    TRADE_SENSITIVITIES,
    TRADES,
)
from xiphpc.output.target import OutputTarget, forget_temporary, rank_temporary
from xiphpc.parallel.mpi import mpi_versions
from xiphpc.pricing.products import MEASURES
from xiphpc.pricing.status import Status
from xiphpc.risk.par import par_buckets

__all__ = ["ResultWriter", "peak_memory"]


def peak_memory() -> int:
    """Peak resident memory of this process so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class ResultWriter(RunListener):
    """Writes the run's result to ``path``.

    Attributes
    ----------
    path : Path
        Target file; written under a temporary name beside it and renamed when complete.
    target : OutputTarget or None
        The claim of ``path`` (rank 0; None elsewhere): it names the temporary file and
        moves it into place.
    """

    def __init__(self, path: Path, target: OutputTarget | None) -> None:
        self.path = Path(path)
        self.target = target
        self.partition_times: list[tuple[int, int, float, float]] = []
        self.part: RankPart | None = None
        self.tmp: Path | None = None
        self.file: h5py.File | None = None
        self.rows: TradeRows | RankPart | None = None

    def begin(self, run: RunState) -> None:
        self.t0 = time.perf_counter()
        spec, share = run.inputs.spec, run.share
        columns: dict[str, tuple] = {}
        if spec.output.trades:
            widths = run.index.widths
            columns = {c: (f"S{widths[c]}", ()) for c in DESCRIPTIVE_COLUMNS}
            columns |= {
                "status": (np.int8, ()),
                "fx_to_base": (np.float64, ()),
                "quantity": (np.float64, ()),
                "values": (np.float64, (len(run.measures),)),
            }
        if run.n_trade_pnl is not None:
            columns["trade_pnl"] = (np.float64, (run.n_trade_pnl,))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Every rank keeps the tables that are not one row per trade in its part; rank 0's
        # own trade rows go straight into the result.
        self.part = RankPart(rank_temporary(self.path), columns if share.rank else {})
        self.rows = self.part
        if share.rank == 0:
            self.tmp = self.target.temporary()
            create_result(self.tmp, share.n_total, _trade_columns(run), spec.output.trades)
            if run.n_trade_pnl is not None:
                create_trade_pnl(
                    self.tmp, share.n_total, run.n_trade_pnl, run.inputs.market.base_currency
                )
            self.file = h5py.File(self.tmp, "r+")
            self.rows = _trade_rows(self.file, run)

    def partition_done(self, run: RunState, partition: int) -> None:
        t0 = time.perf_counter()
        # Partitions priced in one pass share its start and end: seconds since this rank's
        # begin.
        start, end = run.pass_started - self.t0, run.pass_ended - self.t0
        self.partition_times.append((run.share.rank, partition, start, end))
        batch = run.batch
        rows = batch.rows(partition)
        first = batch.lo + rows.start
        trades = batch.trades
        block = {}
        if run.inputs.spec.output.trades:
            block = {c: batch.book.text[c][rows] for c in DESCRIPTIVE_COLUMNS}
            block |= {
                "status": trades.status[rows],
                "fx_to_base": trades.fx_to_base[rows],
                "quantity": batch.book.quantity[rows],
                "values": trades.values[rows],
            }
            failed, reason = trades.failed_reasons(rows)
            if failed.size:
                self.part.append_records("reasons", {"trade": failed + first, "reason": reason})
        if trades.trade_pnl is not None:
            block["trade_pnl"] = trades.trade_pnl[rows]
        if block:
            self.rows.write(first, block)
        if trades.sensitivities is not None:
            row, factor, value = trades.sensitivities_of(rows)
            self.part.append_records(
                "sensitivities", {"trade": row + batch.lo, "factor": factor, "value": value}
            )
        run.timers["write_s"] += time.perf_counter() - t0

    def end(self, run: RunState, reduced: Reduced) -> None:
        t0 = time.perf_counter()
        share, spec, market = run.share, run.inputs.spec, run.inputs.market
        self.part.close()
        parts = share.union_of_strings([str(self.part.path)])
        diag = np.array(
            [[share.rank, run.n_trades_done, len(run.done), peak_memory(), *run.timers.values()]],
            dtype=float,
        )
        restored = share.sum_on_root(np.array([len(run.restored)], dtype=np.float64))
        partition_times = share.gather_rows(np.array(self.partition_times).reshape(-1, 4))
        owner = share.owners(run.done)
        if share.rank != 0:
            share.gather_rows(diag)
            forget_temporary(self.part.path)
            return
        f = self.file
        for path in parts:
            RankPart.copy_into(Path(path), self.rows)
        if spec.output.trades:
            _write_reasons(f, parts, share.n_total)
        risk = run.inputs.risk
        if risk is not None and risk.trade_sensitivities:
            _write_trade_sensitivities(f, parts, market.base_currency)
        for path in parts:
            Path(path).unlink(missing_ok=True)
        forget_temporary(self.part.path)
        run.timers["write_s"] += time.perf_counter() - t0
        diag[0, 3] = peak_memory()
        diag[0, 4:] = list(run.timers.values())
        rank_times = share.gather_rows(diag)
        _write_aggregates(f, run, reduced)
        _write_plan(f, run, owner)
        _write_diagnostics(f, rank_times, partition_times)
        _write_attributes(f, run)
        f.attrs["partitions_restored"] = int(restored[0])
        f.attrs["complete"] = True
        f.close()
        self.target.commit(self.tmp)


def _trade_rows(f: h5py.File, run: RunState) -> TradeRows:
    """The per-trade datasets of the result file ``f`` that trade rows are written to."""
    columns: dict[str, h5py.Dataset] = {}
    measures: dict[str, h5py.Dataset] = {}
    pv_base = None
    if run.inputs.spec.output.trades:
        g = f[TRADES]
        names = (*DESCRIPTIVE_COLUMNS, "status", "fx_to_base", "quantity")
        columns = {c: g[c] for c in names}
        measures = {m: g[m] for m in run.measures}
        pv_base = g["pv_base"]
    if run.n_trade_pnl is not None:
        columns["trade_pnl"] = f[TRADE_PNL]
    return TradeRows(columns, measures, pv_base)


def _write_reasons(f: h5py.File, parts: list[str], n_trades: int) -> None:
    """``/trades/reason``: every part's reasons of failed trades at their rows, ``""``
    elsewhere, at the width of the longest."""
    found = RankPart.gathered(parts, "reasons", {"trade": np.int64, "reason": "S1"})
    order = np.argsort(found["trade"], kind="stable")
    rows, text = found["trade"][order], found["reason"][order]
    width = max(1, text.dtype.itemsize)
    name, unit, desc = next(c for c in TRADE_COLUMNS if c[0] == "reason")
    create_trade_columns(f[TRADES], n_trades, {name: (("S", width), unit, desc)})
    ds = f[TRADES][name]
    # Written whole, a slice at a time: rows without a reason hold the empty string.
    for a in range(0, n_trades, COPY_ROWS):
        b = min(n_trades, a + COPY_ROWS)
        block = np.zeros(b - a, dtype=f"S{width}")
        i, j = np.searchsorted(rows, [a, b])
        block[rows[i:j] - a] = text[i:j]
        ds[a:b] = block


def _write_trade_sensitivities(f: h5py.File, parts: list[str], base: str) -> None:
    """Every part's per-trade sensitivities, ordered by trade then factor, chunked and
    compressed."""
    cols = RankPart.gathered(
        parts, "sensitivities", {"trade": np.int64, "factor": np.int64, "value": np.float64}
    )
    order = np.lexsort((cols["factor"], cols["trade"]))
    g = f.create_group(TRADE_SENSITIVITIES)
    g.attrs["description"] = (
        "non-zero sensitivities of each priced trade, one row per (trade, factor); "
        "trade: row of /trades, factor: row of /sensitivities/factors"
    )
    units = {"trade": "", "factor": "", "value": f"{base} per factor reporting unit"}
    for name, values in cols.items():
        ds = g.create_dataset(
            name,
            data=values[order],
            chunks=(max(1, min(values.size, 1 << 16)),) if values.size else None,
            compression="gzip" if values.size else None,
            compression_opts=4 if values.size else None,
        )
        ds.attrs["unit"] = units[name]


def _trade_columns(run: RunState) -> dict[str, tuple]:
    """``name -> (dtype, unit, description)`` of every per-trade dataset but ``reason``
    (whose width is known at the end, :func:`_write_reasons`)."""
    widths = run.index.widths
    columns: dict[str, tuple] = {}
    for name, unit, desc in TRADE_COLUMNS:
        if name == "reason":
            continue
        if name in widths:
            columns[name] = (("S", widths[name]), unit, desc)
        elif name == "status":
            columns[name] = ("i1", unit, desc)
        else:
            columns[name] = ("f8", unit, desc)
    for m in run.measures:
        columns[m] = ("f8", MEASURES[m][0], MEASURES[m][1] + " (NaN when not priced)")
    columns["pv_base"] = ("f8", f"{run.inputs.market.base_currency}", "pv in the base currency")
    return columns


def _write_aggregates(f: h5py.File, run: RunState, reduced: Reduced) -> None:
    market, risk = run.inputs.market, run.inputs.risk
    nodes, layout = run.cube.nodes, run.cube.layout
    agg = f.create_group(AGGREGATES)
    agg.attrs["description"] = (
        f"sums over priced trades, in {market.base_currency}; excluded trades are counted "
        "in n_excluded only"
    )
    for lv in nodes.levels:
        g = agg.create_group(lv)
        block = reduced.sums[nodes.rows(lv)]
        ds = g.create_dataset("key", data=encode_utf8(np.array(nodes.keys[lv], dtype=str)))
        ds.attrs["description"] = f"value of {lv!r}" if lv != "total" else "whole portfolio"
        for j, m in enumerate(layout.measures):
            ds = g.create_dataset(m, data=block[:, j])
            ds.attrs["unit"] = MEASURES[m][0].replace("trade currency", market.base_currency)
            ds.attrs["description"] = MEASURES[m][1]
        for col, name in ((layout.n_trades, "n_trades"), (layout.n_excluded, "n_excluded")):
            ds = g.create_dataset(name, data=block[:, col].astype(np.int64))
            ds.attrs["description"] = (
                "priced trades" if name == "n_trades" else "trades excluded (status != 0)"
            )
    if risk is not None:
        # The quotes' Jacobian is needed for writing only: rank 0 makes it here.
        par = par_buckets(market, risk.factors) if risk.bumps is not None else None
        write_risk(f, risk, nodes, layout, reduced.sums, market.base_currency, par)


def _write_plan(f: h5py.File, run: RunState, owner: np.ndarray) -> None:
    plan = run.share.plan
    pg = f.create_group(PARTITIONS)
    pg.create_dataset("start", data=plan.bounds[:-1])
    pg.create_dataset("stop", data=plan.bounds[1:])
    pg.create_dataset("cost", data=plan.cost)
    ds = pg.create_dataset("rank", data=owner)
    ds.attrs["description"] = "rank that priced (or restored) the partition"


def _write_diagnostics(f: h5py.File, rank_times: np.ndarray, partition_times: np.ndarray) -> None:
    """Per-rank stage times and per-partition pass times (seconds since each rank's start
    of pricing; ranks start together, after the nodes are agreed)."""
    tables = {
        RANK_DIAGNOSTICS: (
            rank_times,
            ("rank", "trades", "partitions", "peak_memory_b", *TIMERS),
        ),
        PARTITION_DIAGNOSTICS: (
            partition_times[np.argsort(partition_times[:, 1], kind="stable")],
            ("rank", "partition", "start_s", "end_s"),
        ),
    }
    for group, (table, names) in tables.items():
        dg = f.create_group(group)
        for j, name in enumerate(names):
            col = table[:, j]
            ds = dg.create_dataset(name, data=col if name.endswith("_s") else col.astype(int))
            ds.attrs["unit"] = {"s": "s", "b": "bytes"}.get(name.rpartition("_")[2], "")


def _write_attributes(f: h5py.File, run: RunState) -> None:
    spec, market = run.inputs.spec, run.inputs.market
    versions = {
        "xiphpc": __version__,
        "numpy": np.__version__,
        "numba": numba.__version__,
        "h5py": h5py.__version__,
        "python": platform.python_version(),
        **mpi_versions(),
    }
    attrs = {
        "name": spec.name,
        "job_file": spec.source,
        "job_text": spec.text,
        "valuation_date": market.valuation_date.isoformat(),
        "base_currency": market.base_currency,
        "portfolio": run.inputs.source.description,
        "market": market.source,
        "n_trades": run.share.n_total,
        "n_ranks": run.share.size,
        "n_partitions": run.share.plan.n_partitions,
        "threads_per_rank": run.threads,
        "seed": spec.seed,
        "started": run.started.isoformat(),
        "finished": dt.datetime.now(dt.UTC).isoformat(),
        "status_legend": Status.legend(),
        "measures": ",".join(run.measures),
        "balance": spec.run.balance,
        "levels": ",".join(run.cube.nodes.levels),
        **{f"version_{k}": v for k, v in versions.items()},
    }
    for k, v in attrs.items():
        f.attrs[k] = v
