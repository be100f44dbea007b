"""One risk run: job → market + portfolio → partitions → kernels → reductions → HDF5.

Every function takes the communicator; with ``COMM_SELF`` the run is serial. Aggregates are
sums over fixed partitions, each summed in row order, gathered in partition order and added
in that order on rank 0: the same floating-point operations whatever the number of ranks.
"""

from __future__ import annotations

import datetime as dt
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import h5py
import numba
import numpy as np

from xiphpc import __version__
from xiphpc.config.errors import JobError, Problem
from xiphpc.config.job import JobSpec
from xiphpc.io.portfolio import GeneratedSource, PortfolioSource, SelectedSource, open_portfolio
from xiphpc.market.data import Market, load_market
from xiphpc.output.result_file import (
    TRADE_COLUMNS,
    create_result,
    string_width,
    write_strings,
)
from xiphpc.output.risk_tables import TRADE_PNL, create_trade_pnl, write_risk
from xiphpc.output.target import claim_output, releasing_output
from xiphpc.parallel.mpi import (
    Comm,
    allgather_strings,
    allreduce_max,
    gather_blocks,
    inject_fault,
    mpi_versions,
)
from xiphpc.pricing.kernels.aggregate import group_scatter_sum, group_sum
from xiphpc.pricing.products import MEASURES, REGISTRY, PricingContext
from xiphpc.pricing.status import Status
from xiphpc.pricing.validation import distributed_duplicate_mask, duplicate_mask, validate_table
from xiphpc.risk.par import par_buckets
from xiphpc.risk.revalue import MAX_ROWS, RiskSetup, prepare_risk, scenario_pnl, sensitivities

from .partition import PartitionPlan, block_rows, plan_partitions_distributed

__all__ = ["RunSummary", "agreed", "load_inputs", "run_job", "validate_all"]

_TIMERS = ("read_s", "compute_s", "reduce_s", "write_s")
#: Cost of handling one trade apart from pricing it, in the units of ``Product.cost``.
TRADE_OVERHEAD_COST = 0.4


@dataclass
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
    rank_times: np.ndarray = field(repr=False)
    levels: dict[str, tuple[list[str], np.ndarray]] = field(repr=False, default_factory=dict)


def load_inputs(spec: JobSpec) -> tuple[Market, PortfolioSource]:
    """Market and portfolio source of a job; raises :class:`JobError` on any problem."""
    if spec.market.path is not None:
        market = load_market(spec.input_path(spec.market.path))
    else:
        from xiphpc.synth.generate import generate_market

        kw = {"valuation_date": spec.valuation_date} if spec.valuation_date else {}
        market = generate_market(spec.market.generate.seed, **kw)
    if spec.valuation_date is not None and spec.valuation_date != market.valuation_date:
        raise JobError(
            [
                Problem(
                    spec.source,
                    "valuation_date",
                    f"{spec.valuation_date} differs from the market's {market.valuation_date} "
                    f"({market.source})",
                )
            ]
        )
    if spec.portfolio.path is not None:
        source = open_portfolio(spec.input_path(spec.portfolio.path))
    else:
        g = spec.portfolio.generate
        source = GeneratedSource(g.trades, g.seed, g.bad_fraction, market.valuation_date)
    if spec.portfolio.products is not None:
        source = SelectedSource(source, spec.portfolio.products)
    if sum(source.counts().values()) == 0:
        raise JobError([Problem(source.description, "", "the portfolio holds no trade")])
    return market, source


T = TypeVar("T")


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


def validate_all(spec: JobSpec) -> list[Problem]:
    """Every trade-level problem of the job's portfolio against its market (serial)."""
    market, source = load_inputs(spec)
    prepare_risk(spec, market)
    problems: list[Problem] = []
    ids = np.concatenate(
        [source.read(p, columns=("trade_id",))["trade_id"] for p in source.counts()]
    )
    dup = duplicate_mask(ids)
    start = 0
    for product, n in source.counts().items():
        table = source.read(product)
        status, reason = validate_table(table, market)
        reason = reason.astype(object)
        d = dup[start : start + n] & (status == Status.OK)
        status[d] = Status.DUPLICATE_ID
        reason[d] = "trade_id: duplicate of an earlier trade"
        for i in np.flatnonzero(status):
            problems.append(
                Problem(
                    table.source,
                    f"row {i + 1}",
                    f"{Status(status[i]).label}: {reason[i]}",
                    trade=str(table["trade_id"][i]),
                )
            )
        start += n
    return problems


def _level_values(level: str, product: str, table) -> np.ndarray:
    if level == "product":
        return np.full(len(table), product)
    if level in table.columns:
        return table[level].astype(str)
    return np.full(len(table), "")


def _risk_partials(
    risk: RiskSetup,
    local_tables,
    lo: int,
    plan: PartitionPlan,
    parts: range,
    status: np.ndarray,
    market: Market,
    ctx: PricingContext,
    levels: list[str],
    group_of: dict,
    level_offset: np.ndarray,
    partial: np.ndarray,
    n_base: int,
    trade_pnl: np.ndarray | None,
) -> None:
    """Sensitivities and scenario P&L of this rank's priced trades, summed by group into
    ``partial`` (shape ``(partitions owned, G, C)``), each partition in row order.

    Trades are valued in chunks of whole partitions of one product table (at most about
    :data:`~xiphpc.risk.revalue.MAX_ROWS` trade-scenario rows), so that products revalued on whole
    shifted markets pay per chunk, not per partition; a trade's values do not depend on the
    chunk it is in.
    """
    n_sens = len(risk.factors) if risk.bumps is not None else 0
    shifts = np.concatenate([risk.hist_shifts, risk.stress_shifts])
    n_hist = risk.hist_shifts.shape[0]
    c_scen = n_base + n_sens
    per_chunk = max(1, MAX_ROWS // max(1, shifts.shape[0], 16))
    for product, a, table in local_tables:
        ta, tb = a - lo, a - lo + len(table)
        spans = []
        for j, p in enumerate(parts):
            r0, r1 = max(ta, int(plan.bounds[p]) - lo), min(tb, int(plan.bounds[p + 1]) - lo)
            if r0 < r1:
                spans.append((j, r0, r1))
        chunks: list[list[tuple[int, int, int]]] = []
        for span in spans:
            if chunks and sum(r1 - r0 for _, r0, r1 in chunks[-1]) + span[2] - span[1] <= per_chunk:
                chunks[-1].append(span)
            else:
                chunks.append([span])
        pr = REGISTRY[product]
        for chunk in chunks:
            rows = np.arange(chunk[0][1], chunk[-1][2])
            rows = rows[status[rows] == Status.OK]
            if rows.size == 0:
                continue
            sub = table.take(rows - ta)
            sens = scen = None
            if risk.bumps is not None:
                fidx, sens = sensitivities(pr, sub, market, risk.factors, risk.bumps, ctx)
                cols = np.where(fidx >= 0, fidx + n_base, -1)
            if shifts.shape[0]:
                scen = scenario_pnl(pr, sub, market, risk.factors, shifts, ctx)
                if trade_pnl is not None:
                    trade_pnl[rows] = scen[:, :n_hist]
            for j, r0, r1 in chunk:
                k0, k1 = np.searchsorted(rows, [r0, r1])
                if k0 == k1:
                    continue
                mine = rows[k0:k1]
                for li, lv in enumerate(levels):
                    g = group_of[lv][mine] + level_offset[li]
                    if sens is not None:
                        group_scatter_sum(g, cols[k0:k1], sens[k0:k1], partial[j])
                    if scen is not None:
                        group_sum(
                            g, scen[k0:k1], np.ones(k1 - k0, dtype=bool), partial[j, :, c_scen:]
                        )


@releasing_output
def run_job(spec: JobSpec, comm: Comm, out: str | Path | None = None) -> RunSummary | None:
    """Run a job on ``comm``; returns the summary on rank 0 and ``None`` elsewhere.

    Raises
    ------
    JobError
        On every rank alike, before any pricing, when the inputs are unusable.
    """
    rank, size = comm.Get_rank(), comm.Get_size()
    started = dt.datetime.now(dt.UTC)
    t_start = time.perf_counter()
    timers = dict.fromkeys(_TIMERS, 0.0)
    threads = min(spec.run.threads_per_rank, numba.config.NUMBA_NUM_THREADS)
    numba.set_num_threads(threads)
    ctx_parallel = threads > 1
    measures = [m for m in MEASURES if m in spec.measures]
    levels = ["total", *spec.aggregation.levels]

    # The output path is checked and locked on rank 0 before any trade is read; all agree.
    target = agreed(comm, lambda: claim_output(spec, out) if rank == 0 else None)

    # -- read ------------------------------------------------------------------------------
    t0 = time.perf_counter()
    inject_fault(comm, "read")

    # Every rank reads the inputs itself; a job-level problem stops all ranks alike.
    def read() -> tuple[Market, PortfolioSource, RiskSetup | None]:
        market, source = load_inputs(spec)
        return market, source, prepare_risk(spec, market)

    market, source, risk = agreed(comm, read)
    ctx = PricingContext(
        seed=spec.seed, parallel=ctx_parallel, valuation_date=market.valuation_date
    )
    counts = source.counts()
    products = list(counts)
    offsets = np.concatenate(([0], np.cumsum([counts[p] for p in products]))).astype(np.int64)
    n_total = int(offsets[-1])
    # Each rank estimates the costs of an even share of the trades; the plan is then agreed
    # from block totals, so no rank reads a column of the whole portfolio.
    c0, c1 = block_rows(n_total, rank, size)
    pieces = []
    for k, p in enumerate(products):
        a, b = max(c0, offsets[k]), min(c1, offsets[k + 1])
        if a < b:
            pr = REGISTRY[p]
            pieces.append(
                pr.cost(source.read(p, a - offsets[k], b - offsets[k], pr.cost_columns))
                if pr.cost_columns
                else np.full(b - a, pr.cost_per_trade)
            )
    cost = np.concatenate(pieces) if pieces else np.zeros(0)
    # Reading, validating and aggregating a trade costs about the same for every product: a
    # fixed share beside the product's own pricing cost keeps cheap trades from piling up.
    plan = plan_partitions_distributed(
        comm, cost + TRADE_OVERHEAD_COST, c0, n_total, spec.run.partitions
    )
    lo, hi = plan.rows_of(rank)
    n_local = hi - lo
    local_tables = []
    for k, product in enumerate(products):
        a, b = max(lo, offsets[k]), min(hi, offsets[k + 1])
        if a < b:
            local_tables.append(
                (product, int(a), source.read(product, a - offsets[k], b - offsets[k]))
            )
    local_ids = [t["trade_id"] for _, _, t in local_tables]
    dup = distributed_duplicate_mask(
        comm,
        np.concatenate(local_ids) if local_ids else np.zeros(0, dtype=str),
        np.arange(lo, hi, dtype=np.int64),
    )
    timers["read_s"] = time.perf_counter() - t0

    # -- compute ---------------------------------------------------------------------------
    t0 = time.perf_counter()
    inject_fault(comm, "compute")
    values = np.zeros((n_local, len(measures)), dtype=np.float64)
    status = np.zeros(n_local, dtype=np.int8)
    reason = np.full(n_local, "", dtype=object)
    fx_to_base = np.full(n_local, np.nan)
    text_cols = {
        c: np.full(n_local, "", dtype=object)
        for c in ("product", "trade_id", "desk", "book", "counterparty", "currency", "underlying")
    }
    quantity = np.full(n_local, np.nan)
    level_vals = {lv: np.full(n_local, "", dtype=object) for lv in spec.aggregation.levels}
    for product, a, table in local_tables:
        rows = slice(a - lo, a - lo + len(table))
        st, why = validate_table(table, market)
        # Object dtype: a fixed-width str array would cut the reasons set below.
        why = why.astype(object)
        d = dup[a - lo : a - lo + len(table)] & (st == Status.OK)
        st[d] = Status.DUPLICATE_ID
        why[d] = "trade_id: duplicate of an earlier trade"
        ok = np.flatnonzero(st == Status.OK)
        if ok.size:
            priced = REGISTRY[product].price(table.take(ok), market, ctx)
            block = np.column_stack([priced[m] for m in measures])
            bad = ~np.isfinite(block).all(axis=1)
            st[ok[bad]] = Status.PRICING_FAILED
            why[ok[bad]] = "pricing gave a non-finite result"
            block[bad] = np.nan
            # values[rows] is a view: these assignments land in values.
            values[rows][ok] = block
        values[rows][st != Status.OK] = np.nan
        status[rows] = st
        reason[rows] = why
        fx_to_base[rows] = market.fx_to_base(table["currency"])
        text_cols["product"][rows] = product
        for c in ("trade_id", "desk", "book", "counterparty", "currency"):
            text_cols[c][rows] = table[c]
        if "underlying" in table.columns:
            text_cols["underlying"][rows] = table["underlying"]
        quantity[rows] = table["quantity"]
        for lv in spec.aggregation.levels:
            level_vals[lv][rows] = _level_values(lv, product, table)
    timers["compute_s"] = time.perf_counter() - t0

    # -- risk and reduce ---------------------------------------------------------------------
    t0 = time.perf_counter()
    inject_fault(comm, "reduce")
    priced = status == Status.OK
    # Base-currency measures plus two counters; excluded trades contribute exact zeros.
    agg_in = np.zeros((n_local, len(measures) + 2), dtype=np.float64)
    agg_in[:, : len(measures)] = np.where(priced[:, None], values * fx_to_base[:, None], 0.0)
    agg_in[:, -2] = priced
    agg_in[:, -1] = ~priced
    keys: dict[str, list[str]] = {"total": ["all"]}
    group_of: dict[str, np.ndarray] = {"total": np.zeros(n_local, dtype=np.int64)}
    for lv in spec.aggregation.levels:
        mine = sorted(set(level_vals[lv].tolist()))
        keys[lv] = sorted(set(allgather_strings(comm, mine)))
        group_of[lv] = np.searchsorted(np.array(keys[lv], dtype=object), level_vals[lv]).astype(
            np.int64
        )
    level_offset = np.concatenate(([0], np.cumsum([len(keys[lv]) for lv in levels])))
    n_groups = int(level_offset[-1])
    parts = plan.partitions_of(rank)
    n_base = agg_in.shape[1]
    n_cols = n_base + (risk.n_columns if risk else 0)
    partial = np.zeros((len(parts), n_groups, n_cols), dtype=np.float64)
    trade_pnl = None
    if risk is not None and risk.trade_pnl:
        trade_pnl = np.full((n_local, risk.hist_shifts.shape[0]), np.nan)
    for j, p in enumerate(parts):
        r0, r1 = int(plan.bounds[p]) - lo, int(plan.bounds[p + 1]) - lo
        include = np.ones(r1 - r0, dtype=bool)
        for li, lv in enumerate(levels):
            group_sum(
                group_of[lv][r0:r1] + level_offset[li],
                agg_in[r0:r1],
                include,
                partial[j, :, :n_base],
            )
    if risk is not None:
        _risk_partials(
            risk,
            local_tables,
            lo,
            plan,
            parts,
            status,
            market,
            ctx,
            levels,
            group_of,
            level_offset,
            partial,
            n_base,
            trade_pnl,
        )
    timers["compute_s"] += time.perf_counter() - t0
    t0 = time.perf_counter()
    gathered = gather_blocks(comm, partial.reshape(len(parts), n_groups * n_cols))
    excluded_local = np.bincount(status, minlength=len(Status)).astype(np.float64)
    excluded = np.zeros_like(excluded_local)
    comm.Reduce(excluded_local, excluded, root=0)
    aggregates = None
    if rank == 0:
        gathered = gathered.reshape(plan.n_partitions, n_groups, n_cols)
        aggregates = np.zeros((n_groups, n_cols), dtype=np.float64)
        for p in range(plan.n_partitions):
            aggregates += gathered[p]
    timers["reduce_s"] = time.perf_counter() - t0

    # -- write -----------------------------------------------------------------------------
    t0 = time.perf_counter()
    inject_fault(comm, "write")
    final = spec.output_path(out)
    tmp = comm.bcast(str(target.temporary()) if rank == 0 else None, root=0)
    widths = {}
    for c, arr in [*text_cols.items(), ("reason", reason)]:
        widths[c] = allreduce_max(comm, string_width(arr.astype(str)))
    columns: dict[str, tuple] = {}
    for name, unit, desc in TRADE_COLUMNS:
        if name in widths:
            columns[name] = (("S", widths[name]), unit, desc)
        elif name == "status":
            columns[name] = ("i1", unit, desc)
        else:
            columns[name] = ("f8", unit, desc)
    for m in measures:
        columns[m] = ("f8", MEASURES[m][0], MEASURES[m][1] + " (NaN when not priced)")
    columns["pv_base"] = ("f8", f"{market.base_currency}", "pv in the base currency")
    if rank == 0:
        Path(tmp).parent.mkdir(parents=True, exist_ok=True)
        create_result(Path(tmp), n_total, columns, spec.output.trades)
        if trade_pnl is not None:
            create_trade_pnl(Path(tmp), n_total, trade_pnl.shape[1], market.base_currency)
    comm.Barrier()
    if trade_pnl is not None:
        for turn in range(size):
            if turn == rank and n_local:
                with h5py.File(tmp, "r+") as f:
                    f[TRADE_PNL][lo:hi] = trade_pnl
            comm.Barrier()
    if spec.output.trades:
        # One rank at a time: h5py here is not built for parallel HDF5.
        for turn in range(size):
            if turn == rank and n_local:
                with h5py.File(tmp, "r+") as f:
                    g = f["trades"]
                    for c, arr in [*text_cols.items(), ("reason", reason)]:
                        g[c][lo:hi] = write_strings(arr)
                    g["quantity"][lo:hi] = quantity
                    g["status"][lo:hi] = status
                    g["fx_to_base"][lo:hi] = fx_to_base
                    for j, m in enumerate(measures):
                        g[m][lo:hi] = values[:, j]
                    if "pv" in measures:
                        g["pv_base"][lo:hi] = values[:, measures.index("pv")] * fx_to_base
            comm.Barrier()
    timers["write_s"] = time.perf_counter() - t0
    diag = np.array([[rank, n_local, len(parts), *[timers[t] for t in _TIMERS]]])
    rank_times = gather_blocks(comm, diag)
    if rank != 0:
        return None

    finished = dt.datetime.now(dt.UTC)
    with h5py.File(tmp, "r+") as f:
        agg = f.create_group("aggregates")
        agg.attrs["description"] = (
            f"sums over priced trades, in {market.base_currency}; excluded trades are counted "
            "in n_excluded only"
        )
        level_data = {}
        for li, lv in enumerate(levels):
            g = agg.create_group(lv)
            block = aggregates[level_offset[li] : level_offset[li + 1]]
            level_data[lv] = (keys[lv], block)
            ds = g.create_dataset("key", data=write_strings(np.array(keys[lv], dtype=str)))
            ds.attrs["description"] = f"value of {lv!r}" if lv != "total" else "whole portfolio"
            for j, m in enumerate(measures):
                ds = g.create_dataset(m, data=block[:, j])
                ds.attrs["unit"] = MEASURES[m][0].replace("trade currency", market.base_currency)
                ds.attrs["description"] = MEASURES[m][1]
            for j, name in ((n_base - 2, "n_trades"), (n_base - 1, "n_excluded")):
                ds = g.create_dataset(name, data=block[:, j].astype(np.int64))
                ds.attrs["description"] = (
                    "priced trades" if name == "n_trades" else "trades excluded (status != 0)"
                )
        if risk is not None:
            # The quotes' Jacobian is needed for writing only: rank 0 makes it here.
            par = par_buckets(market, risk.factors) if risk.bumps is not None else None
            write_risk(
                f, risk, levels, keys, level_offset, aggregates, n_base, market.base_currency, par
            )
        pg = f.create_group("partitions")
        pg.create_dataset("start", data=plan.bounds[:-1])
        pg.create_dataset("stop", data=plan.bounds[1:])
        pg.create_dataset("cost", data=plan.cost)
        owner = np.repeat(np.arange(size), np.diff(plan.rank_bounds))
        pg.create_dataset("rank", data=owner)
        dg = f.create_group("diagnostics/ranks")
        for j, name in enumerate(("rank", "trades", "partitions", *_TIMERS)):
            col = rank_times[:, j]
            ds = dg.create_dataset(name, data=col if name.endswith("_s") else col.astype(int))
            ds.attrs["unit"] = "s" if name.endswith("_s") else ""
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
            "portfolio": source.description,
            "market": market.source,
            "n_trades": n_total,
            "n_ranks": size,
            "n_partitions": plan.n_partitions,
            "threads_per_rank": threads,
            "seed": spec.seed,
            "started": started.isoformat(),
            "finished": finished.isoformat(),
            "status_legend": Status.legend(),
            "measures": ",".join(measures),
            "levels": ",".join(levels),
            **{f"version_{k}": v for k, v in versions.items()},
        }
        for k, v in attrs.items():
            f.attrs[k] = v
        f.attrs["complete"] = True
    target.commit(Path(tmp))
    totals = {m: float(aggregates[0, j]) for j, m in enumerate(measures)}
    return RunSummary(
        path=final,
        n_trades=n_total,
        n_priced=int(aggregates[0, n_base - 2]),
        excluded={Status(i).label: int(c) for i, c in enumerate(excluded) if i and c},
        totals=totals,
        base_currency=market.base_currency,
        n_ranks=size,
        n_partitions=plan.n_partitions,
        seconds=time.perf_counter() - t_start,
        rank_times=rank_times,
        levels=level_data,
    )
