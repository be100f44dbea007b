"""``xiphpc bench risk``: full-revaluation scenario P&L through the whole engine, at several
rank counts side by side.

Each repetition is a real ``mpiexec -n R xiphpc run`` of a generated job (portfolio read from
HDF5, historical simulation with S scenarios, no per-trade output); figures come from the
result file's per-rank diagnostics. Valuations are trades × scenarios.
"""

from __future__ import annotations

import json
import statistics
import tempfile
from pathlib import Path

import click
import h5py
import numpy as np

from xiphpc.bench.launch import Launcher, run_seconds

__all__ = ["VANILLA", "risk"]

#: The vanilla mix: European options and forwards on equities and FX.
VANILLA = ("equity_option", "fx_option", "equity_forward", "fx_forward")


def _job(folder: Path, book: Path, scenarios: int, partitions: int, name: str) -> Path:
    job = folder / f"{name}.toml"
    job.write_text(
        'name = "bench-risk"\n'
        f'[portfolio]\npath = "{book}"\n'
        "[market]\ngenerate = { seed = 1 }\n"
        '[aggregation]\nlevels = ["desk", "book"]\n'
        f"[risk]\nhistorical = {{ generate = {{ days = {scenarios + 1}, seed = 1 }} }}\n"
        f"[run]\npartitions = {partitions}\n"
        f'[output]\npath = "{folder / "out.h5"}"\ntrades = false\n'
    )
    return job


def _one_run(launcher: Launcher, ranks: int, job: Path, out: Path) -> dict[str, float]:
    launcher.run(ranks, job, out, timeout=1800)
    with h5py.File(out, "r") as f:
        d = f["diagnostics/ranks"]
        return {
            "compute_s": float(np.max(d["compute_s"][()])),
            "read_s": float(np.max(d["read_s"][()])),
            "reduce_s": float(np.max(d["reduce_s"][()])),
            "run_s": run_seconds(f),
            # What was run, read back from the result, so figures cannot describe another job.
            "scenarios": int(f["scenarios/historical/dates"].shape[0]),
            "partitions": int(f.attrs["n_partitions"]),
            "trades": int(f.attrs["n_trades"]),
        }


@click.command("risk")
@click.option("--trades", default=1_000_000, show_default=True, type=click.IntRange(1))
@click.option("--scenarios", default=250, show_default=True, type=click.IntRange(1))
@click.option("--ranks", default="1,2", show_default=True, help="Rank counts to compare.")
@click.option("--repeat", default=3, show_default=True, type=click.IntRange(1))
@click.option("--partitions", default=64, show_default=True, type=click.IntRange(1))
@click.option(
    "--products",
    default=",".join(VANILLA),
    show_default=True,
    help="Product tables of the generated portfolio ('all' for every product).",
)
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path))
def risk(
    trades: int,
    scenarios: int,
    ranks: str,
    repeat: int,
    partitions: int,
    products: str,
    json_path: Path | None,
) -> None:
    """Historical-simulation revaluation of TRADES x SCENARIOS at each rank count.

    Prints the median over repetitions of the slowest rank's compute seconds (pricing every
    trade under every scenario and summing per node), whole-run seconds, valuations per
    second, and each rank count's speed-up over the first.
    """
    from xiphpc.pricing.products import REGISTRY
    from xiphpc.synth.generate import PRODUCT_MIX, generate_portfolio, write_portfolio_hdf5

    chosen = list(REGISTRY) if products == "all" else products.split(",")
    unknown = [p for p in chosen if p not in REGISTRY]
    if unknown:
        raise click.BadParameter(f"unknown products {unknown}", param_hint="--products")
    # Generate enough trades that the chosen tables hold about TRADES of them.
    share = sum(PRODUCT_MIX.get(p, 0.0) for p in chosen) or 1.0

    counts = [int(x) for x in ranks.split(",")]
    launcher = Launcher.find()
    results: dict[int, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="xiphpc-bench-") as tmp:
        folder = Path(tmp)
        book = folder / "book.h5"
        tables = generate_portfolio(int(round(trades / share)), seed=1)
        tables = {p: t for p, t in tables.items() if p in chosen}
        trades = sum(len(t) for t in tables.values())
        write_portfolio_hdf5(tables, book)
        job = _job(folder, book, scenarios, partitions, "bench-risk")
        # Warm the numba cache once so that no repetition pays for compilation.
        _one_run(launcher, 1, _job(folder, book, 2, 1, "warm-up"), folder / "warm.h5")
        for _ in range(repeat):
            for n in counts:  # interleaved, so that drift of the machine hits every count
                results.setdefault(n, []).append(_one_run(launcher, n, job, folder / "o.h5"))
    valuations = trades * scenarios
    click.echo(
        f"bench risk: {trades:,} trades x {scenarios} scenarios = {valuations:,} "
        f"valuations, {partitions} partitions, median of {repeat}"
    )
    click.echo(f"{'ranks':>5} {'compute s':>10} {'run s':>8} {'M val/s':>9} {'speed-up':>9}")
    summary = {}
    first = None
    for n in counts:
        comp = statistics.median(r["compute_s"] for r in results[n])
        run = statistics.median(r["run_s"] for r in results[n])
        first = first or comp
        summary[n] = {
            "compute_s": comp,
            "run_s": run,
            "valuations_per_s": valuations / comp,
            "speedup": first / comp,
            "all": results[n],
        }
        click.echo(
            f"{n:>5} {comp:>10.2f} {run:>8.2f} {valuations / comp / 1e6:>9.1f} "
            f"{first / comp:>8.2f}x"
        )
    if json_path:
        json_path.write_text(json.dumps(summary, indent=1))
