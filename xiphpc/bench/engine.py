"""``xiphpc bench engine``: the engine's wall time by stage beside the pricing time of the same
trades, per product family and whole, as an efficiency.

One generated HDF5 book (the default mix, or chosen products), run by ``mpiexec -n R
xiphpc run`` with all measures, four aggregation levels and per-trade output; the stage
times come from the result's ``/diagnostics/ranks``. The pricing time is
``Product.price`` of the same valid trades (schedules, inputs and kernels; no reading,
validation, aggregation or writing), timed in this process with a warm numba cache.
Efficiency is pricing time ÷ engine wall time at one rank: how much of what the user waits
for is pricing.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
import h5py
import numpy as np

from xiphpc.bench.launch import Launcher, run_seconds

__all__ = ["engine"]

STAGES = ("read_s", "compute_s", "reduce_s", "write_s")


def _risk_section(days: int) -> str:
    """Sensitivities, ``days`` of historical simulation and one stress: the risk a batch
    adds to pricing."""
    return (
        "[risk]\nsensitivities = true\n"
        f"historical = {{ generate = {{ days = {days}, seed = 1 }} }}\n"
        '[[risk.stress]]\nname = "rates +100bp, equities -20%"\n'
        'shifts = { "ir:*" = 0.01, "eq:*" = -0.2 }\n'
    )


def _job(folder: Path, book: Path, products: list[str] | None, risk_days: int) -> Path:
    job = folder / "engine.toml"
    chosen = f"products = {json.dumps(products)}\n" if products else ""
    job.write_text(
        'name = "bench-engine"\n'
        f'[portfolio]\npath = "{book}"\n{chosen}'
        "[market]\ngenerate = { seed = 1 }\n"
        '[aggregation]\nlevels = ["desk", "book", "currency", "underlying"]\n'
        + (_risk_section(risk_days) if risk_days else "")
        + f'[output]\npath = "{folder / "out.h5"}"\ntrades = true\n'
    )
    return job


def _one_run(launcher: Launcher, ranks: int, job: Path, out: Path) -> dict[str, float]:
    wall = launcher.run(ranks, job, out)
    with h5py.File(out, "r") as f:
        d = f["diagnostics/ranks"]
        row = {s: float(np.max(d[s][()])) for s in STAGES}
        row["run_s"] = run_seconds(f)
        row["wall_s"] = wall
        peak, on_rank = d["peak_memory_b"][()], d["trades"][()]
        row["peak_memory_b"] = float(np.max(peak))
        # Per rank: the largest rank's peak over a rank's share of the book, n / R. (Ranks
        # take partitions by cost, so the trades one prices say little of its memory, which
        # is the pass in flight plus what every rank holds.)
        row["bytes_per_trade"] = float(np.max(peak)) * peak.size / max(int(on_rank.sum()), 1)
        row["rank_peaks_b"] = peak.astype(float).tolist()
        row["rank_trades"] = on_rank.astype(float).tolist()
        row["trades"] = int(f.attrs["n_trades"])
        return row


def _mpi_baseline_seconds(launcher: Launcher) -> float:
    """Wall seconds of ``mpiexec -n 1 python -c "from mpi4py import MPI"``: what any MPI
    Python program pays to start."""
    t0 = time.perf_counter()
    subprocess.run(
        [launcher.mpiexec, "-n", "1", sys.executable, "-c", "from mpi4py import MPI"],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - t0


def _one_trade_job(folder: Path, tables: dict) -> Path:
    """A job of the first trade of the largest table (no risk): the engine's start-up and
    its memory before any trade."""
    from xiphpc.synth.generate import write_portfolio_hdf5

    product = max(tables, key=lambda p: len(tables[p]))
    one = folder / "one"
    one.mkdir()
    write_portfolio_hdf5({product: tables[product].take(slice(0, 1))}, one / "book.h5")
    return _job(one, one / "book.h5", None, 0)


def _marginal_bytes(row: dict, floor_b: float) -> float:
    """The largest rank's peak above the one-trade job's, over a rank's share ``n / R``."""
    ranks = len(row["rank_peaks_b"])
    return (max(row["rank_peaks_b"]) - floor_b) * ranks / max(sum(row["rank_trades"]), 1)


def _pricing_seconds(tables: dict, repeat: int) -> dict[str, float]:
    """Median seconds of ``Product.price`` of each table's valid trades (warm)."""
    from xiphpc.pricing.products import REGISTRY, PricingContext
    from xiphpc.pricing.status import Status
    from xiphpc.pricing.validation import validate_table
    from xiphpc.synth.generate import generate_market

    market = generate_market(1)
    ctx = PricingContext(seed=0, valuation_date=market.valuation_date)
    out = {}
    for product, table in tables.items():
        status, _ = validate_table(table, market)
        valid = table.take(np.flatnonzero(status == Status.OK))
        if not len(valid):
            continue
        product_ = REGISTRY[product]
        product_.price(valid.take(slice(0, 16)), market, ctx)  # compile or load the kernels
        times = []
        for _ in range(repeat):
            # A fresh copy each time: no schedule memo carries over between repetitions.
            fresh = valid.take(np.arange(len(valid)))
            t0 = time.perf_counter()
            product_.price(fresh, market, ctx)
            times.append(time.perf_counter() - t0)
        out[product] = statistics.median(times)
    return out


@click.command("engine")
@click.option("--trades", default=1_000_000, show_default=True, type=click.IntRange(1))
@click.option("--ranks", default="1,2", show_default=True, help="Rank counts to compare.")
@click.option("--repeat", default=3, show_default=True, type=click.IntRange(1))
@click.option("--products", default="", help="Product tables (comma-separated; default: all).")
@click.option(
    "--risk-days",
    default=0,
    show_default=True,
    type=click.IntRange(0, 100_000),
    help="Add a [risk] section: sensitivities, this many days of historical simulation and "
    "one stress (0: no risk).",
)
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path))
def engine(
    trades: int, ranks: str, repeat: int, products: str, risk_days: int, json_path: Path | None
) -> None:
    """Engine wall time by stage at each rank count, beside the pricing time of the same
    trades; efficiency = pricing ÷ wall at one rank, per family and whole (with
    ``--risk-days``, the wall includes the risk, the pricing time does not)."""
    from xiphpc.pricing.products import REGISTRY
    from xiphpc.synth.generate import generate_portfolio, write_portfolio_hdf5

    chosen = [p for p in products.split(",") if p] or None
    unknown = [p for p in chosen or [] if p not in REGISTRY]
    if unknown:
        raise click.BadParameter(f"unknown products {unknown}", param_hint="--products")
    counts = [int(x) for x in ranks.split(",")]
    launcher = Launcher.find()
    runs: dict[int, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="xiphpc-bench-") as tmp:
        folder = Path(tmp)
        book = folder / "book.h5"
        tables = generate_portfolio(trades, seed=1)
        if chosen:
            tables = {p: t for p, t in tables.items() if p in chosen}
        write_portfolio_hdf5(tables, book)
        job = _job(folder, book, chosen, risk_days)
        one_job = _one_trade_job(folder, tables)
        _one_run(launcher, 1, job, folder / "warm.h5")  # warm the numba cache
        starts: list[dict] = []
        for _ in range(repeat):
            starts.append(_one_run(launcher, 1, one_job, folder / "one.h5"))
            starts[-1]["mpi_baseline_s"] = _mpi_baseline_seconds(launcher)
            for n in counts:  # interleaved, so that drift of the machine hits every count
                runs.setdefault(n, []).append(_one_run(launcher, n, job, folder / "o.h5"))
        pricing = _pricing_seconds(tables, repeat)
    n_trades = sum(len(t) for t in tables.values())
    scalar = [k for k, v in runs[counts[0]][0].items() if not isinstance(v, list)]
    med = {n: {k: statistics.median(r[k] for r in runs[n]) for k in scalar} for n in counts}
    start = {k: statistics.median(r[k] for r in starts) for k in ("wall_s", "mpi_baseline_s")}
    floor_b = statistics.median(r["peak_memory_b"] for r in starts)
    for n in counts:
        med[n]["marginal_bytes_per_trade"] = statistics.median(
            _marginal_bytes(r, floor_b) for r in runs[n]
        )
    base = med[counts[0]]
    total_pricing = sum(pricing.values())
    click.echo(
        f"bench engine: {n_trades:,} trades, all measures, 4 levels, per-trade output"
        + (f", risk ({risk_days} historical days, sensitivities, 1 stress)" if risk_days else "")
        + f"; median of {repeat}"
    )
    click.echo(
        f"{'ranks':>5} {'wall s':>7} {'read s':>7} {'compute s':>9} {'reduce s':>8} "
        f"{'write s':>7} {'peak MB':>8} {'B/trade':>8} {'above 1':>8} {'speed-up':>8}"
    )
    for n in counts:
        m = med[n]
        click.echo(
            f"{n:>5} {m['wall_s']:>7.2f} {m['read_s']:>7.2f} {m['compute_s']:>9.2f} "
            f"{m['reduce_s']:>8.2f} {m['write_s']:>7.2f} {m['peak_memory_b'] / 1e6:>8.0f} "
            f"{m['bytes_per_trade']:>8.0f} {m['marginal_bytes_per_trade']:>8.0f} "
            f"{base['wall_s'] / m['wall_s']:>7.2f}x"
        )
    click.echo(
        "B/trade: the largest rank's peak memory over n/R trades; above 1: that peak less "
        f"the one-trade job's ({floor_b / 1e6:.0f} MB), over n/R trades"
    )
    click.echo(
        f"start-up: one-trade job {start['wall_s']:.2f} s at 1 rank; "
        f"mpiexec -n 1 python -c 'from mpi4py import MPI' {start['mpi_baseline_s']:.2f} s; "
        f"above it {start['wall_s'] - start['mpi_baseline_s']:.2f} s"
    )
    click.echo(f"{'product':>24} {'trades':>9} {'pricing s':>10} {'share':>6}")
    for product, seconds in sorted(pricing.items(), key=lambda kv: -kv[1]):
        click.echo(
            f"{product:>24} {len(tables[product]):>9,} {seconds:>10.3f} "
            f"{seconds / total_pricing:>6.1%}"
        )
    efficiency = total_pricing / base["wall_s"]
    click.echo(
        f"pricing {total_pricing:.2f} s of {base['wall_s']:.2f} s wall at {counts[0]} rank(s): "
        f"efficiency {efficiency:.2f}"
    )
    if json_path:
        json_path.write_text(
            json.dumps(
                {
                    "trades": n_trades,
                    "risk_days": risk_days,
                    "runs": {str(n): runs[n] for n in counts},
                    "start_up": {"runs": starts, "median": start, "peak_memory_b": floor_b},
                    "median": {str(n): med[n] for n in counts},
                    "pricing_s": pricing,
                    "efficiency": efficiency,
                },
                indent=1,
            )
        )
