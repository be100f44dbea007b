"""``xiphpc bench scaling``: a scaling model of the engine from measured costs.

Measured here, with real ``mpiexec`` runs:

* engine runs of a generated HDF5 book with a historical-simulation section (per-trade
  output on): the default product mix at every rank count, the mix with 2 scenarios at one
  rank (the per-trade cost apart from scenarios), and each product family alone at one
  rank. Figures come from the result's ``/diagnostics/ranks`` (read, compute, reduce and
  write seconds per rank) and ``/diagnostics/partitions``;
* the collectives the engine makes, by :mod:`xiphpc.bench.scaling_probe` at every rank count:
  a tree-sum step, the owners ``Allreduce``, the atomic counter, ``Allgatherv`` of strings
  and the duplicate-id ``Alltoallv``.

The model (:func:`predict`) adds one term per stage; its parameters are fitted from the runs
at no more ranks than the machine has cores (:func:`fit`). Beyond those it is a model, not a
measurement: runs with more ranks than cores are shown for the shape of their collective
costs only.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import click
import h5py
import numpy as np

from xiphpc.bench.launch import Launcher, run_seconds
from xiphpc.bench.scaling_probe import ID_BYTES
from xiphpc.config.job import TRADES_PER_PARTITION, RunSpec
from xiphpc.output.parts import COPY_ROWS
from xiphpc.parallel.dispatch import guided_runs

__all__ = ["Measured", "fit", "predict", "scaling"]

#: Scenarios of the run that measures the per-trade cost apart from the scenarios.
LOW_SCENARIOS = 2
#: Bytes of one aggregation key (``desk``/``book`` names of generated books are shorter).
KEY_BYTES = 24
#: Trades of one pass of the engine by default.
TRADES_PER_PASS = RunSpec().trades_per_pass
#: Bytes of one part file's path gathered at the end of a run.
PATH_BYTES = 120

FORMULA = """\
wall(R) = startup + read + compute + imbalance + dispatch + index + reduce + stream + join
  startup   = process start, imports and MPI init (measured, constant in R)
  read      = r0 + r1 * n/R                     inputs, plan, book rows (fitted at R <= cores)
  compute   = (c0 + c1*S) * (n/P) * ceil(P/R)   P partitions, whole partitions per rank
  imbalance = (c0 + c1*S) * n/P  when 1 < R < P  the last run of guided dispatch
  dispatch  = max(runs/R * t_fetch, (runs + R) * t_serve)   counter on rank 0
  index     = (n/R) * 25 B * b_a2a + (R-1) * alpha + R * min(G, n/R) * 24 B * b_str
  reduce    = log2(P) * (alpha + beta * G*C*8) + a_add * G*C * (P/R + log2 P)
              + log2(R) * alpha + 2 * 8P * beta            (tree sum, owners Allreduce)
  stream    = (a * P + s * n) / R               per-trade rows (rank 0's into the result,
                                                the others' to their part files)
  join      = j * n * (R-1)/R                   rank 0 alone copies the other ranks' parts
  efficiency(R) = wall(1) / (R * wall(R))"""


@dataclass(frozen=True)
class Measured:
    """Parameters of the model, each fitted from measured runs (seconds unless stated).

    Attributes
    ----------
    startup_s : float
        Process start to run start plus run end to process exit, per run.
    read_fixed_s, read_per_trade_s : float
        ``read = read_fixed_s + read_per_trade_s * n / R``.
    compute_base_s, compute_per_scenario_s : float
        Per-trade pricing and aggregation seconds: ``c0 + c1 * S``.
    add_per_element_s : float
        Adding one float64 element of a ``(G, C)`` block in the tree sum.
    append_per_partition_s, stream_per_trade_s, join_per_trade_s : float
        Appending one partition's rows to a part file and writing one trade's row there
        (every rank), and copying one trade's row into the result (rank 0 alone).
    bytes_per_trade : float
        Bytes of one trade's row in the result.
    nodes : int
        Aggregation nodes ``G`` of the generated book.
    base_columns : int
        Columns of a block apart from the scenarios (measures and two counters).
    alpha_s, beta_s_per_byte : float
        Latency and inverse bandwidth of one message (tree-sum step).
    fetch_s, serve_s : float
        One fetch-and-add with every rank asking; rank 0's seconds per increment served.
    alltoall_s_per_byte, strings_s_per_byte : float
        ``Alltoallv`` of ids and ``Allgatherv`` of strings, per byte a rank sends (receives).
    """

    startup_s: float
    read_fixed_s: float
    read_per_trade_s: float
    compute_base_s: float
    compute_per_scenario_s: float
    add_per_element_s: float
    append_per_partition_s: float
    stream_per_trade_s: float
    join_per_trade_s: float
    bytes_per_trade: float
    nodes: int
    base_columns: int
    alpha_s: float
    beta_s_per_byte: float
    fetch_s: float
    serve_s: float
    alltoall_s_per_byte: float
    strings_s_per_byte: float


def default_partitions(trades: int) -> int:
    """The engine's default number of partitions for ``trades`` trades."""
    return max(64, -(-trades // TRADES_PER_PARTITION))


def predict(
    m: Measured, trades: int, scenarios: int, ranks: int, partitions: int | None = None
) -> dict[str, float]:
    """Each term of :data:`FORMULA` and the wall seconds of one run.

    Parameters
    ----------
    m : Measured
    trades, scenarios, ranks : int
        ``n``, ``S`` and ``R``.
    partitions : int, optional
        ``P``; the engine's default for ``trades`` when not given.

    Returns
    -------
    dict of str to float
        Seconds per term, ``wall_s``, the partitions and the number of guided runs.
    """
    n, s, r = float(trades), scenarios, ranks
    p = partitions or default_partitions(trades)
    per_trade = m.compute_base_s + m.compute_per_scenario_s * s
    one_partition = per_trade * n / p
    g, c = m.nodes, m.base_columns + s
    block = g * c * 8
    levels = math.ceil(math.log2(p)) if p > 1 else 0
    runs = len(guided_runs(p, r)) if r > 1 else 0
    alpha, beta = m.alpha_s, m.beta_s_per_byte
    multi = r > 1
    terms = {
        "startup_s": m.startup_s,
        "read_s": m.read_fixed_s + m.read_per_trade_s * n / r,
        "compute_s": one_partition * math.ceil(p / r),
        "imbalance_s": one_partition if 1 < r < p else 0.0,
        "dispatch_s": max(runs / r * m.fetch_s, (runs + r) * m.serve_s) if multi else 0.0,
        "index_s": (
            (n / r) * (ID_BYTES + 9) * m.alltoall_s_per_byte
            + (r - 1) * alpha
            + r * min(g, n / r) * KEY_BYTES * m.strings_s_per_byte
            + r * PATH_BYTES * m.strings_s_per_byte
        )
        if multi
        else 0.0,
        "reduce_s": m.add_per_element_s * g * c * (p / r + levels)
        + (
            levels * (alpha + beta * block) + math.log2(r) * alpha + 2 * 8 * p * beta
            if multi
            else 0.0
        ),
        "stream_s": (m.append_per_partition_s * p + m.stream_per_trade_s * n) / r,
        "join_s": m.join_per_trade_s * n * (r - 1) / r,
    }
    terms["wall_s"] = sum(terms.values())
    terms["partitions"] = p
    terms["runs"] = runs
    return terms


def scaling_table(
    m: Measured, trades: int, scenarios: int, targets: list[int], partitions: int | None = None
) -> dict[int, dict[str, float]]:
    """:func:`predict` at one rank and at each of ``targets``, with parallel efficiency."""
    one = predict(m, trades, scenarios, 1, partitions)["wall_s"]
    table = {}
    for r in sorted({1, *targets}):
        row = predict(m, trades, scenarios, r, partitions)
        row["efficiency"] = one / (r * row["wall_s"])
        table[r] = row
    return table


#: Terms that do not shrink as ranks are added (or grow with them).
_SERIAL = ("startup_s", "join_s", "dispatch_s", "index_s", "reduce_s")


def breaks_first(
    m: Measured, table: dict[int, dict[str, float]], trades: int, scenarios: int, memory_gib: float
) -> list[str]:
    """What limits the run as ranks are added, in words, from the predicted ``table``."""
    notes = []
    parallel = ("compute_s", "imbalance_s", "read_s", "stream_s")
    for r, row in sorted(table.items()):
        if r == 1:
            continue
        work = sum(row[k] for k in parallel)
        worst = max(_SERIAL, key=lambda k: row[k])
        if row[worst] > work:
            notes.append(
                f"first to break: from about {r:,} ranks the {worst[:-2]} term "
                f"({row[worst]:.3g} s) exceeds all the work that shrinks with R ({work:.3g} s)"
                + (
                    ": rank 0 alone copies the other ranks' rows into the one result file"
                    if worst == "join_s"
                    else ""
                )
            )
            break
    else:
        r = max(table)
        worst = max(_SERIAL, key=lambda k: table[r][k])
        notes.append(
            f"no term that stays as ranks are added exceeds the shrinking work up to {r:,} "
            f"ranks; the largest at {r:,} is {worst[:-2]} ({table[r][worst]:.3g} s)"
        )
    big = max(table)
    row = table[big]
    if big > row["partitions"]:
        notes.append(
            f"at {big:,} ranks only {int(row['partitions']):,} partitions exist (one per "
            f"{TRADES_PER_PARTITION:,} trades): {big - int(row['partitions']):,} ranks have "
            "nothing to price unless [run] partitions is raised"
        )
    requests = row["runs"] + big
    pass_s = TRADES_PER_PASS * (m.compute_base_s + m.compute_per_scenario_s * scenarios)
    notes.append(
        f"counter: {requests:,.0f} fetch-and-adds on rank 0 at {big:,} ranks, "
        f"{requests * m.serve_s:.3g} s served one at a time; where MPI progresses in "
        "software (MPICH over shared memory) a request completes only when rank 0 next "
        f"enters MPI, after its pass of {TRADES_PER_PASS:,} trades ({pass_s:.3g} s): asking "
        "a pass ahead hides it while runs last more than one pass, not at the end"
    )
    join_gib = trades * m.bytes_per_trade / 2**30
    notes.append(
        f"memory: rank 0 copies up to {join_gib:,.1f} GiB of per-trade rows from the other "
        f"ranks' parts alone (up to {m.join_per_trade_s * trades:,.0f} s), a slice of "
        f"{COPY_ROWS:,} rows at a time, and holds the reasons of the failed trades only, "
        f"against {memory_gib:,.0f} GiB on this machine"
    )
    return notes


# -- measuring ---------------------------------------------------------------------------------


def _job(folder: Path, book: Path, scenarios: int, partitions: int | None, name: str) -> Path:
    job = folder / f"{name}.toml"
    run = f"[run]\npartitions = {partitions}\n" if partitions else ""
    job.write_text(
        f'name = "bench-scaling-{name}"\n'
        f'[portfolio]\npath = "{book}"\n'
        "[market]\ngenerate = { seed = 1 }\n"
        '[aggregation]\nlevels = ["desk", "book"]\n'
        f"[risk]\nhistorical = {{ generate = {{ days = {scenarios + 1}, seed = 1 }} }}\n"
        f"{run}"
        f'[output]\npath = "{folder / "out.h5"}"\ntrades = true\n'
    )
    return job


def _trade_bytes(f: h5py.File) -> float:
    """Bytes of one trade's row over the per-trade datasets of a result."""
    total = 0
    for group in ("trades", "trade_pnl"):
        if group not in f:
            continue
        items = f[group].values() if isinstance(f[group], h5py.Group) else [f[group]]
        for ds in items:
            if isinstance(ds, h5py.Dataset) and ds.shape:
                total += ds.dtype.itemsize * int(np.prod(ds.shape[1:], dtype=np.int64))
    return float(total)


def _engine_run(launcher: Launcher, ranks: int, job: Path, out: Path) -> dict:
    wall = launcher.run(ranks, job, out)
    with h5py.File(out, "r") as f:
        d, p = f["diagnostics/ranks"], f["diagnostics/partitions"]
        levels = f.attrs["levels"].split(",")
        run_s = run_seconds(f)
        return {
            "ranks": ranks,
            "wall_s": wall,
            "run_s": run_s,
            "rank_trades": d["trades"][()].astype(int).tolist(),
            "rank_partitions": d["partitions"][()].astype(int).tolist(),
            **{k: d[k][()].astype(float).tolist() for k in ("read_s", "compute_s")},
            **{k: d[k][()].astype(float).tolist() for k in ("reduce_s", "write_s")},
            "partition_s": float(np.median(p["end_s"][()] - p["start_s"][()])),
            "trades": int(f.attrs["n_trades"]),
            "partitions": int(f.attrs["n_partitions"]),
            "scenarios": int(f["scenarios/historical/dates"].shape[0]),
            "measures": len(f.attrs["measures"].split(",")),
            "nodes": sum(int(f["aggregates"][lv]["key"].shape[0]) for lv in levels),
            "bytes_per_trade": _trade_bytes(f),
        }


def _probe(mpiexec: str, ranks: int, nodes: int, columns: int, partitions: int, out: Path):
    proc = subprocess.run(
        [mpiexec, "-n", str(ranks), sys.executable, "-m", "xiphpc.bench.scaling_probe"]
        + ["--nodes", str(nodes), "--columns", str(columns)]
        + ["--partitions", str(partitions), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if proc.returncode != 0:
        raise click.ClickException(f"probe at {ranks} ranks failed:\n{proc.stderr[-2000:]}")
    return json.loads(out.read_text())


def _med(values) -> float:
    return float(statistics.median(values))


def _nonnegative_lstsq(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares ``x @ b ~ y`` with ``b >= 0``: a coefficient that comes out negative
    (noise on a cost too small to see) is set to zero and the others fitted again."""
    free = np.ones(x.shape[1], dtype=bool)
    b = np.zeros(x.shape[1])
    while free.any():
        b[:] = 0.0
        b[free] = np.linalg.lstsq(x[:, free], y, rcond=None)[0]
        if (b >= 0).all():
            break
        free &= b > 0
    return np.maximum(b, 0.0)


def fit(
    mix: dict[int, list[dict]],
    low: list[dict],
    families: list[dict],
    probes: dict[int, dict],
    cores: int,
) -> tuple[Measured, int]:
    """:class:`Measured` from the mix runs by rank count, the low-scenario and single-family
    runs at one rank and the probes by rank count; only counts up to ``cores`` are used.
    Also returns the rank count whose probe gave the point-to-point figures."""
    first = mix[1][0]
    n, s = first["trades"], first["scenarios"]
    runs = [run for r, rs in mix.items() if r <= cores for run in rs]
    # Books of every size at one rank tell fixed costs from per-trade ones.
    every = runs + low + families
    startup = _med(run["wall_s"] - run["run_s"] for run in every)
    # read = r0 + r1 * (trades per rank): the slowest rank of every run.
    x = np.array([[1.0, run["trades"] / run["ranks"]] for run in every])
    y = np.array([max(run["read_s"]) for run in every])
    r0, r1 = (float(v) for v in _nonnegative_lstsq(x, y))
    c_high = _med(run["compute_s"][0] / n for run in mix[1])
    c_low = _med(run["compute_s"][0] / n for run in low)
    c1 = max(0.0, (c_high - c_low) / (s - LOW_SCENARIOS)) if s > LOW_SCENARIOS else 0.0
    c0 = max(0.0, c_high - c1 * s)
    # write_s: every rank writes each partition's rows (an append per partition, a copy per
    # trade: rank 0 into the result, the others to their parts); rank 0 also copies the
    # other ranks' rows from their parts into the result.
    rows, rhs = [], []
    for run in every:
        own = zip(run["rank_partitions"], run["rank_trades"], run["write_s"], strict=True)
        for rank, (k, t, w) in enumerate(own):
            rows.append([k, t, run["trades"] - t if rank == 0 else 0.0])
            rhs.append(w)
    if any(run["ranks"] > 1 for run in runs):
        append, stream, join = (float(v) for v in _nonnegative_lstsq(np.array(rows), np.array(rhs)))
    else:
        # One rank writes every row straight into the result and joins nothing: copying a
        # row out of a part is taken to cost what writing it did.
        append, stream = 0.0, _med(run["write_s"][0] for run in runs) / n
        join = stream
    g, c = first["nodes"], first["measures"] + 2 + s
    add = _med(run["reduce_s"][0] for run in mix[1]) / (g * c * first["partitions"])
    pair = min(r for r in probes if r > 1)
    pair = max((r for r in probes if 1 < r <= cores), default=pair)
    pr = probes[pair]
    beta = max(0.0, pr["step_block_s"] - pr["step_small_s"]) / pr["block_bytes"]
    return Measured(
        startup_s=startup,
        read_fixed_s=r0,
        read_per_trade_s=r1,
        compute_base_s=c0,
        compute_per_scenario_s=c1,
        add_per_element_s=add,
        append_per_partition_s=append,
        stream_per_trade_s=stream,
        join_per_trade_s=join,
        bytes_per_trade=first["bytes_per_trade"],
        nodes=g,
        base_columns=first["measures"] + 2,
        alpha_s=pr["step_small_s"],
        beta_s_per_byte=beta,
        fetch_s=pr["counter_latency_s"],
        serve_s=pr["counter_service_s"],
        alltoall_s_per_byte=pr["alltoall_s"] / pr["alltoall_bytes"],
        strings_s_per_byte=pr["strings_s"] / pr["strings_bytes"],
    ), pair


def _memory_gib() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        return float("nan")


@click.command("scaling")
@click.option("--trades", default=200_000, show_default=True, type=click.IntRange(1))
@click.option("--scenarios", default=250, show_default=True, type=click.IntRange(3))
@click.option("--ranks", default="1,2,4,8", show_default=True, help="Rank counts to measure.")
@click.option("--repeat", default=3, show_default=True, type=click.IntRange(1))
@click.option(
    "--families",
    default="all",
    show_default=True,
    help="Product families to time alone at one rank ('all', 'none' or a list).",
)
@click.option("--target-trades", default=100_000_000, show_default=True, type=click.IntRange(1))
@click.option("--target-scenarios", default=250, show_default=True, type=click.IntRange(1))
@click.option(
    "--target-ranks", default="10,100,1000,10000", show_default=True, help="Ranks to predict."
)
@click.option(
    "--target-partitions",
    default=None,
    type=click.IntRange(1),
    help="Partitions of the predicted run [default: the engine's, one per 16,384 trades].",
)
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path))
def scaling(
    trades: int,
    scenarios: int,
    ranks: str,
    repeat: int,
    families: str,
    target_trades: int,
    target_scenarios: int,
    target_ranks: str,
    target_partitions: int | None,
    json_path: Path | None,
) -> None:
    """Measure the engine's costs at each rank count, fit the scaling model and predict.

    Prints the measured runs (median over repetitions), each product family's seconds per
    trade and per valuation, the collectives' figures, the fitted parameters, the formula,
    the predicted wall time and parallel efficiency of TARGET_TRADES x TARGET_SCENARIOS at
    each of TARGET_RANKS, and what limits the run first.
    """
    from xiphpc.pricing.products import REGISTRY
    from xiphpc.synth.generate import PRODUCT_MIX, generate_portfolio, write_portfolio_hdf5

    counts = sorted({int(x) for x in ranks.split(",")} | {1})
    targets = [int(x) for x in target_ranks.split(",")]
    if max(counts) < 2:
        raise click.BadParameter("need a rank count of 2 or more", param_hint="--ranks")
    chosen = {"all": list(REGISTRY), "none": []}.get(families, families.split(","))
    unknown = [p for p in chosen if p not in REGISTRY]
    if unknown:
        raise click.BadParameter(f"unknown products {unknown}", param_hint="--families")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    launcher = Launcher.find()

    mix: dict[int, list[dict]] = {}
    low: list[dict] = []
    fam: dict[str, list[dict]] = {}
    probes: dict[int, dict] = {}
    with tempfile.TemporaryDirectory(prefix="xiphpc-bench-") as tmp:
        folder = Path(tmp)
        tables = generate_portfolio(trades, seed=1)
        books = {"mix": folder / "mix.h5"}
        write_portfolio_hdf5(tables, books["mix"])
        for p in chosen:
            if p in tables and len(tables[p]):
                books[p] = folder / f"{p}.h5"
                write_portfolio_hdf5({p: tables[p]}, books[p])
        # A family alone keeps the mix's trades per partition, so that fixed per-partition
        # costs weigh the same in its seconds per trade.
        per = trades / default_partitions(trades)
        jobs = {
            k: _job(
                folder, b, scenarios, None if k == "mix" else max(1, round(len(tables[k]) / per)), k
            )
            for k, b in books.items()
        }
        low_job = _job(folder, books["mix"], LOW_SCENARIOS, None, "low")
        out = folder / "o.h5"
        # Warm the numba cache for every product so that no repetition pays for compiling.
        _engine_run(launcher, 1, low_job, out)
        for _ in range(repeat):  # interleaved, so that drift of the machine hits every case
            for r in counts:
                mix.setdefault(r, []).append(_engine_run(launcher, r, jobs["mix"], out))
            low.append(_engine_run(launcher, 1, low_job, out))
            for p in books:
                if p != "mix":
                    fam.setdefault(p, []).append(_engine_run(launcher, 1, jobs[p], out))
        first = mix[1][0]
        columns = first["measures"] + 2 + scenarios
        for r in counts:
            probes[r] = _probe(
                launcher.mpiexec, r, first["nodes"], columns, first["partitions"], folder / "p.json"
            )
    model, pair = fit(mix, low, [run for rs in fam.values() for run in rs], probes, cores)
    table = scaling_table(model, target_trades, target_scenarios, targets, target_partitions)
    notes = breaks_first(model, table, target_trades, target_scenarios, _memory_gib())

    n, s = first["trades"], first["scenarios"]
    echo = click.echo
    echo(
        f"bench scaling: {n:,} trades (default mix) x {s} historical scenarios, "
        f"{first['partitions']} partitions, {first['nodes']} nodes x {columns} columns, "
        f"per-trade output on; median of {repeat}; this machine has {cores} cores"
    )
    over = [r for r in counts if r > cores]
    if over:
        echo(
            f"runs at {', '.join(map(str, over))} ranks are oversubscribed ({cores} cores): "
            "they show the shape of collective costs, not speed; the model is fitted from "
            f"runs at <= {cores} ranks"
        )
    echo("\nmeasured engine runs (slowest rank, seconds)")
    echo(
        f"{'ranks':>5} {'wall':>7} {'run':>7} {'read':>7} {'compute':>8} {'reduce':>7} "
        f"{'write r0':>8} {'write oth':>9} {'partition':>9} {'speed-up':>8}"
    )
    measured = {}
    for r in counts:
        rs = mix[r]
        row = {
            "wall_s": _med(x["wall_s"] for x in rs),
            "run_s": _med(x["run_s"] for x in rs),
            "read_s": _med(max(x["read_s"]) for x in rs),
            "compute_s": _med(max(x["compute_s"]) for x in rs),
            "reduce_s": _med(max(x["reduce_s"]) for x in rs),
            "write_rank0_s": _med(x["write_s"][0] for x in rs),
            "write_others_s": _med(max(x["write_s"][1:], default=0.0) for x in rs),
            "partition_s": _med(x["partition_s"] for x in rs),
            "oversubscribed": r > cores,
        }
        row["speedup"] = measured.get(1, row)["compute_s"] / row["compute_s"]
        measured[r] = row
        echo(
            f"{r:>5} {row['wall_s']:>7.2f} {row['run_s']:>7.2f} {row['read_s']:>7.2f} "
            f"{row['compute_s']:>8.2f} {row['reduce_s']:>7.3f} {row['write_rank0_s']:>8.2f} "
            f"{row['write_others_s']:>9.2f} {row['partition_s']:>9.4f} {row['speedup']:>7.2f}x"
            + (" *" if r > cores else "")
        )
    per_family = {}
    if fam:
        echo(f"\nper product family alone, 1 rank, {s} scenarios (compute seconds per trade)")
        echo(f"{'family':>24} {'trades':>8} {'us/trade':>9} {'ns/valuation':>12} {'mix share':>9}")
        for p, rs in fam.items():
            t = rs[0]["trades"]
            per = _med(x["compute_s"][0] for x in rs) / t
            per_family[p] = {"trades": t, "s_per_trade": per, "share": PRODUCT_MIX.get(p, 0.0)}
            echo(
                f"{p:>24} {t:>8,} {per * 1e6:>9.2f} {per / s * 1e9:>12.1f} "
                f"{PRODUCT_MIX.get(p, 0.0):>9.2%}"
            )
    mix_per = _med(x["compute_s"][0] for x in mix[1]) / n
    echo(f"{'default mix':>24} {n:>8,} {mix_per * 1e6:>9.2f} {mix_per / s * 1e9:>12.1f}")
    if per_family:
        share = sum(f["share"] for f in per_family.values())
        weighted = sum(f["share"] * f["s_per_trade"] for f in per_family.values()) / share
        echo(
            f"{'families weighted':>24} {'':>8} {weighted * 1e6:>9.2f} "
            f"{weighted / s * 1e9:>12.1f}   (the families timed, by their share of the mix)"
        )

    echo("\ncollectives (median of the slowest rank, microseconds; * oversubscribed)")
    echo(
        f"{'ranks':>5} {'step 8 B':>9} {'step block':>10} {'Allreduce P':>11} "
        f"{'fetch-add':>9} {'serve':>7} {'Allgatherv':>10} {'Alltoallv':>10}"
    )

    def us(v) -> str:
        return "-" if v is None else f"{v * 1e6:.1f}"

    for r in counts:
        pr = probes[r]
        echo(
            f"{r:>5} {us(pr['step_small_s']):>9} {us(pr['step_block_s']):>10} "
            f"{us(pr['allreduce_owners_s']):>11} {us(pr['counter_latency_s']):>9} "
            f"{us(pr['counter_service_s']):>7} {us(pr['strings_s']):>10} "
            f"{us(pr['alltoall_s']):>10}" + (" *" if r > cores else "")
        )
    echo(
        f"block = {probes[counts[0]]['block_bytes']:,} B; Allgatherv of "
        f"{probes[counts[-1]]['strings_bytes'] // counts[-1]:,} B of keys per rank; "
        f"Alltoallv of {probes[counts[0]]['alltoall_bytes']:,} B per rank"
    )

    echo(f"\nfitted parameters (engine runs at <= {cores} ranks, collectives at {pair} ranks)")
    for k, v in asdict(model).items():
        echo(f"  {k:<24} {v:.4g}")
    if model.join_per_trade_s > 0:
        bandwidth = model.bytes_per_trade / model.join_per_trade_s / 1e6
        echo(f"  rank 0's join writes {bandwidth:.1f} MB/s of per-trade rows")
    echo(f"\n{FORMULA}")
    echo(
        f"\npredicted: {target_trades:,} trades x {target_scenarios} scenarios "
        f"(a model from the figures above, not a measurement beyond {cores} ranks)"
    )
    cols = ("compute_s", "imbalance_s", "read_s", "dispatch_s", "index_s", "reduce_s")
    cols += ("stream_s", "join_s", "startup_s")
    echo(
        f"{'ranks':>6} {'wall s':>10} {'eff':>6} "
        + " ".join(f"{c[:-2]:>10}" for c in cols)
        + f" {'P':>7} {'runs':>7}"
    )
    for r, row in table.items():
        echo(
            f"{r:>6,} {row['wall_s']:>10.4g} {row['efficiency']:>6.3f} "
            + " ".join(f"{row[c]:>10.3g}" for c in cols)
            + f" {int(row['partitions']):>7,} {int(row['runs']):>7,}"
        )
    echo("")
    for note in notes:
        echo(note)
    if json_path:
        json_path.write_text(
            json.dumps(
                {
                    "cores": cores,
                    "measured": {"runs": measured, "all": mix, "low_scenarios": low},
                    "families": per_family,
                    "probes": probes,
                    "model": asdict(model),
                    "formula": FORMULA,
                    "target": {
                        "trades": target_trades,
                        "scenarios": target_scenarios,
                        "partitions": target_partitions,
                    },
                    "predicted": table,
                    "breaks_first": notes,
                },
                indent=1,
            )
        )
