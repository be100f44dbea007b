"""``xiphpc bench balance``: a slow rank under static and dynamic balance, side by side.

Each repetition is a real ``mpiexec -n R xiphpc run`` of one generated job (portfolio read
from HDF5, all measures, per-trade output) four ways: static or dynamic balance, with and
without ``XIPHPC_INJECT_DELAY=RANK:SECONDS`` slowing the last rank before each partition
it prices. The delay defaults to the median seconds of pricing one partition in the
undelayed static run, so that the slow rank prices at half speed: a static share then
waits for it, a dynamic one gives it fewer partitions.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from pathlib import Path

import click
import h5py
import numpy as np

from xiphpc.bench.launch import Launcher, run_seconds
from xiphpc.parallel.mpi import DELAY_ENV

__all__ = ["balance", "ideal_ratio"]


def ideal_ratio(n_ranks: int, per_partition_s: float, delay_s: float) -> float:
    """Pricing time with one rank slowed by ``delay_s`` per partition over the time without,
    under a perfect division of the partitions (rates add up)."""
    rate = (n_ranks - 1) / per_partition_s + 1.0 / (per_partition_s + delay_s)
    return n_ranks / per_partition_s / rate


def _job(folder: Path, book: Path, partitions: int, balance: str) -> Path:
    job = folder / f"{balance}.toml"
    job.write_text(
        f'name = "bench-balance-{balance}"\n'
        f'[portfolio]\npath = "{book}"\n'
        "[market]\ngenerate = { seed = 1 }\n"
        '[aggregation]\nlevels = ["desk", "book"]\n'
        f'[run]\npartitions = {partitions}\nbalance = "{balance}"\n'
        f'[output]\npath = "{folder / "out.h5"}"\ntrades = true\n'
    )
    return job


def _one_run(launcher: Launcher, ranks: int, job: Path, out: Path, delay: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != DELAY_ENV}
    if delay:
        env[DELAY_ENV] = delay
    launcher.run(ranks, job, out, env=env, timeout=1800)
    with h5py.File(out, "r") as f:
        d = f["diagnostics/ranks"]
        p = f["diagnostics/partitions"]
        spans = p["end_s"][()] - p["start_s"][()]
        return {
            "run_s": run_seconds(f),
            "compute_s": float(np.max(d["compute_s"][()])),
            "partitions_per_rank": d["partitions"][()].astype(int).tolist(),
            "partition_s": float(np.median(spans)),
        }


@click.command("balance")
@click.option("--trades", default=200_000, show_default=True, type=click.IntRange(1))
@click.option("--ranks", default=2, show_default=True, type=click.IntRange(2))
@click.option("--partitions", default=64, show_default=True, type=click.IntRange(1))
@click.option(
    "--delay",
    default=None,
    type=click.FloatRange(0.0),
    help="Seconds the last rank sleeps per partition [default: one partition's pricing].",
)
@click.option("--repeat", default=3, show_default=True, type=click.IntRange(1))
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path))
def balance(
    trades: int, ranks: int, partitions: int, delay: float | None, repeat: int, json_path
) -> None:
    """Wall time of static and dynamic balance with one slow rank, against no slow rank.

    Prints, per balance, the median over repetitions of whole-run seconds and of the slowest
    rank's pricing seconds, without and with the delay, their ratio, and the ratio a perfect
    division of the partitions would give.
    """
    from xiphpc.synth.generate import generate_portfolio, write_portfolio_hdf5

    launcher = Launcher.find()
    runs: dict[tuple[str, bool], list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="xiphpc-bench-") as tmp:
        folder = Path(tmp)
        book = folder / "book.h5"
        write_portfolio_hdf5(generate_portfolio(trades, seed=1), book)
        jobs = {b: _job(folder, book, partitions, b) for b in ("static", "dynamic")}
        out = folder / "o.h5"
        # The first run warms the numba cache and measures one partition's pricing.
        warm = _one_run(launcher, ranks, jobs["static"], out, "")
        seconds = warm["partition_s"] if delay is None else delay
        slow = f"{ranks - 1}:{seconds:.6f}"
        for _ in range(repeat):
            for b in ("static", "dynamic"):  # interleaved, so that drift hits every case
                for delayed in (False, True):
                    run = _one_run(launcher, ranks, jobs[b], out, slow if delayed else "")
                    runs.setdefault((b, delayed), []).append(run)
    per_partition = statistics.median(r["partition_s"] for r in runs[("static", False)])
    ideal = ideal_ratio(ranks, per_partition, seconds)
    click.echo(
        f"bench balance: {trades:,} trades, {partitions} partitions, {ranks} ranks, rank "
        f"{ranks - 1} sleeps {seconds:.4f} s per partition (one partition prices in "
        f"{per_partition:.4f} s); median of {repeat}"
    )
    click.echo(
        f"{'balance':>8} {'run s':>7} {'slow run s':>10} {'ratio':>6} "
        f"{'pricing s':>9} {'slow pricing s':>14} {'ratio':>6} {'partitions by rank (slow)'}"
    )
    summary: dict[str, dict] = {"ideal_pricing_ratio": ideal, "delay_s": seconds}
    for b in ("static", "dynamic"):
        fast, slow_runs = runs[(b, False)], runs[(b, True)]
        med = {
            k: (statistics.median(r[k] for r in fast), statistics.median(r[k] for r in slow_runs))
            for k in ("run_s", "compute_s")
        }
        shares = slow_runs[-1]["partitions_per_rank"]
        summary[b] = {
            "run_s": med["run_s"][0],
            "run_s_delayed": med["run_s"][1],
            "run_ratio": med["run_s"][1] / med["run_s"][0],
            "compute_s": med["compute_s"][0],
            "compute_s_delayed": med["compute_s"][1],
            "compute_ratio": med["compute_s"][1] / med["compute_s"][0],
            "partitions_per_rank_delayed": shares,
            "all": {"plain": fast, "delayed": slow_runs},
        }
        s = summary[b]
        click.echo(
            f"{b:>8} {s['run_s']:>7.2f} {s['run_s_delayed']:>10.2f} {s['run_ratio']:>5.2f}x "
            f"{s['compute_s']:>9.2f} {s['compute_s_delayed']:>14.2f} "
            f"{s['compute_ratio']:>5.2f}x {shares}"
        )
    click.echo(f"perfect division of the partitions: pricing ratio {ideal:.2f}x")
    if json_path:
        json_path.write_text(json.dumps(summary, indent=1))
