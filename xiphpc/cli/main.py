"""The ``xiphpc`` command: run, validate, show, report, merge, gen, bench, slurm."""

from __future__ import annotations

import datetime as dt
import gc
import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from xiphpc.config.errors import EXIT_BAD_INPUT, JobError, Problem

__all__ = ["main"]


def _fail(problems: list[Problem], what: str) -> None:
    click.echo(f"xiphpc: {what}: {len(problems)} problem(s)", err=True)
    for p in problems:
        click.echo(f"  {p}", err=True)
    sys.exit(EXIT_BAD_INPUT)


#: Whether :func:`_long_lived` has frozen the start-up objects of this process.
_frozen = False


@contextmanager
def _long_lived() -> Iterator[None]:
    """Keep the objects made inside (modules, functions, numba's types) out of the cyclic
    garbage collector for the rest of the process.

    Starting the engine makes a few hundred thousand objects that live as long as the process;
    left to the collector, they are walked by every full collection while they are being made
    and once more at exit, a tenth of a second on each rank for nothing. Only the first use in a
    process freezes: later ones (runs within one process, as in the tests) find everything made.
    """
    global _frozen
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if not _frozen:
            gc.freeze()
            _frozen = True
        if enabled:
            gc.enable()


class _LazyGroup(click.Group):
    """A command group whose sub-commands are imported only when one is used, so that
    ``xiphpc run`` on every rank does not import the benchmarks or the scheduler front end.

    Parameters
    ----------
    lazy : dict of str to str
        Command name to ``"module:attribute"`` of its click command.
    """

    def __init__(self, *args, lazy: dict[str, str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            module, _, attr = self.lazy[name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return super().get_command(ctx, name)


@click.group(
    cls=_LazyGroup,
    lazy={"slurm": "xiphpc.scheduler.slurm:slurm"},
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="xiphpc")
def main() -> None:
    """MPI risk engine: price a portfolio on MPI ranks and write aggregated risk to HDF5.

    Launch under MPI with e.g. ``mpiexec -n 4 xiphpc run jobs/demo.toml``.
    """


@main.command()
@click.argument("job", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Result file; overrides the job's [output] path.",
)
@click.option("--quiet", is_flag=True, help="Print only the result path; no progress.")
@click.option(
    "--resume",
    is_flag=True,
    help="Restore the partitions an interrupted run of this job kept; price the rest.",
)
@click.option(
    "--verbose", is_flag=True, help="Also print each stage and partition of rank 0 (stderr)."
)
def run(job: Path, out: Path | None, quiet: bool, resume: bool, verbose: bool) -> None:
    """Price the portfolio of JOB and write per-trade and aggregated risk.

    Job-level problems (bad job file, missing files, bad market data) stop the run before any
    computation with exit status 2; bad trades are flagged in the output and excluded from the
    aggregates. Each finished partition is kept in a checkpoint beside the output until the
    result is written; on SIGTERM or SIGUSR1 the ranks stop taking partitions and exit with
    status 75, and ``--resume`` then prices only what is missing.
    """
    import signal

    with _long_lived():
        from xiphpc.config.job import load_job
        from xiphpc.engine.events import StageLog
        from xiphpc.engine.progress import ProgressDisplay
        from xiphpc.engine.run import (
            EXIT_INTERRUPTED,
            RunInterrupted,
            prepare_jit,
            request_stop,
            run_job,
        )
        from xiphpc.output.summary import summarize
        from xiphpc.output.target import Terminated
        from xiphpc.parallel.mpi import abort_on_error, world
        from xiphpc.parallel.workshare import agreed

        prepare_jit()

    comm = world()
    unwinding = []

    def on_signal(signum: int, _frame) -> None:
        # Slurm sends SIGUSR1 ahead of the time limit (--signal) and SIGTERM on scancel or
        # preemption. While partitions are being priced, every rank finishes the one in hand
        # and the run stops with its checkpoint kept (exit 75); SIGUSR1 before that stops it
        # at the first partition. SIGTERM or SIGHUP at any other time unwinds at once,
        # removing the temporary file and the lock.
        absorbed = request_stop()
        # Only the first signal unwinds; a repeat must not cut the clean-up short.
        if signum != signal.SIGUSR1 and not absorbed and not unwinding:
            unwinding.append(signum)
            raise Terminated(signum)

    listeners = [] if quiet else [ProgressDisplay()]
    if verbose:
        listeners.append(StageLog(comm.Get_rank()))
    signals = (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1)
    saved = {sig: signal.signal(sig, on_signal) for sig in signals}
    with abort_on_error(comm):
        try:
            spec = agreed(comm, lambda: load_job(job))
            summary = run_job(spec, comm, out, listeners, resume=resume)
        except JobError as exc:
            if comm.Get_rank() == 0:
                _fail(exc.problems, f"cannot run {job}")
            sys.exit(EXIT_BAD_INPUT)
        except RunInterrupted as exc:
            if comm.Get_rank() == 0:
                click.echo(f"xiphpc: {job}: {exc}; run again with --resume", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except Terminated as exc:
            click.echo(f"xiphpc: {job}: stopped by {exc.signame}; no result written", err=True)
            sys.exit(exc.code)
        except OSError as exc:
            if comm.Get_size() > 1:
                raise
            # The environment failed (a full disk, a vanished file), not the input.
            click.echo(f"xiphpc: {job}: {exc}; no result written", err=True)
            sys.exit(1)
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)
        if summary is not None:
            click.echo(str(summary.path) if quiet else summarize(summary.path))


@main.command()
@click.argument("job", type=click.Path(dir_okay=False, path_type=Path))
def validate(job: Path) -> None:
    """Check JOB, its files and every trade against the market, without pricing.

    Prints every problem with file, field and trade id; exit status 2 if there is any.
    """
    from xiphpc.config.job import load_job
    from xiphpc.engine.validate import validate_all
    from xiphpc.output.target import check_output

    try:
        spec = load_job(job)
        check_output(spec)
        problems = validate_all(spec)
    except JobError as exc:
        _fail(exc.problems, f"{job} is not valid")
    if problems:
        _fail(problems, f"{job}: trades that cannot be priced")
    click.echo(f"{job}: ok")


@main.command()
@click.argument("result", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--top", default=5, show_default=True, help="Books to list.")
@click.option("--failed", default=10, show_default=True, help="Failed trades to list.")
def show(result: Path, top: int, failed: int) -> None:
    """Print totals, the largest books, per-rank balance and failed trades of RESULT."""
    from xiphpc.output.summary import summarize

    try:
        click.echo(summarize(result, top=top, failed=failed))
    except JobError as exc:
        _fail(exc.problems, f"cannot show {result}")


@main.command()
@click.argument("result", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="HTML file to write; default RESULT with the suffix .html.",
)
def report(result: Path, out: Path | None) -> None:
    """Write a self-contained HTML risk report of RESULT: totals, VaR/ES, stresses,
    sensitivity ladders, the run's balance and the failed trades."""
    try:
        import matplotlib  # noqa: F401
        import pandas  # noqa: F401
    except ImportError as exc:
        click.echo(
            f"xiphpc: report needs {exc.name or 'matplotlib and pandas'}: "
            "pip install 'xiphpc[report]'",
            err=True,
        )
        sys.exit(EXIT_BAD_INPUT)
    from xiphpc.report import write_report

    out = out or result.with_suffix(".html")
    try:
        write_report(result, out)
    except JobError as exc:
        _fail(exc.problems, f"cannot report {result}")
    click.echo(str(out))


@main.command()
@click.argument("parts", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Merged result file.",
)
def merge(parts: tuple[Path, ...], out: Path) -> None:
    """Merge result files of disjoint trade sets into OUT (trades concatenated, aggregates
    added)."""
    from xiphpc.output.merge import merge_results
    from xiphpc.output.target import same_file

    try:
        inputs = [p for p in parts if same_file(p, out)]
        if inputs:
            raise JobError([Problem(str(out), "", f"is the part {inputs[0]}: it would be lost")])
        merge_results(list(parts), out.absolute())
    except JobError as exc:
        _fail(exc.problems, "cannot merge")
    click.echo(str(out))


@main.group()
def gen() -> None:
    """Write synthetic portfolios and market data."""


@gen.command("portfolio")
@click.option("--trades", required=True, type=click.IntRange(1), help="Number of trades.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0))
@click.option(
    "--bad-fraction",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0, 0.5),
    help="Fraction of deliberately bad trades.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="A .h5/.hdf5 file, or a folder for CSV files.",
)
@click.option("--valuation-date", type=click.DateTime(["%Y-%m-%d"]), default=None)
def gen_portfolio(
    trades: int, seed: int, bad_fraction: float, out: Path, valuation_date: dt.datetime | None
) -> None:
    """A realistic synthetic portfolio (product mix, skewed book sizes)."""
    from xiphpc.synth.generate import (
        DEFAULT_VALUATION_DATE,
        generate_portfolio,
        write_portfolio_csv,
        write_portfolio_hdf5,
    )

    vdate = valuation_date.date() if valuation_date else DEFAULT_VALUATION_DATE
    tables = generate_portfolio(trades, seed=seed, bad_fraction=bad_fraction, valuation_date=vdate)
    if out.suffix.lower() in (".h5", ".hdf5"):
        out.parent.mkdir(parents=True, exist_ok=True)
        write_portfolio_hdf5(tables, out)
    else:
        write_portfolio_csv(tables, out)
    click.echo(
        f"{out}: {sum(len(t) for t in tables.values()):,} trades "
        + ", ".join(f"{k} {len(t):,}" for k, t in tables.items())
    )


@gen.command("market")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--valuation-date", type=click.DateTime(["%Y-%m-%d"]), default=None)
def gen_market(seed: int, out: Path, valuation_date: dt.datetime | None) -> None:
    """Market data (JSON) covering every generated portfolio."""
    import json

    from xiphpc.synth.generate import DEFAULT_VALUATION_DATE, generate_market

    vdate = valuation_date.date() if valuation_date else DEFAULT_VALUATION_DATE
    market = generate_market(seed, vdate)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(market.to_dict(), indent=1) + "\n")
    click.echo(str(out))


@gen.command("history")
@click.option("--days", required=True, type=click.IntRange(2), help="Number of dates.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0))
@click.option(
    "--market-seed",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    help="Seed of the generated market whose factors the history covers.",
)
@click.option(
    "--market",
    "market_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Market file whose factors the history covers (instead of --market-seed).",
)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def gen_history(
    days: int, seed: int, market_seed: int, market_path: Path | None, out: Path
) -> None:
    """Market-data history (HDF5) ending on the market's valuation date."""
    from xiphpc.io.history import generate_history, write_history
    from xiphpc.market.data import load_market
    from xiphpc.synth.generate import generate_market

    try:
        market = load_market(market_path) if market_path else generate_market(market_seed)
    except JobError as exc:
        _fail(exc.problems, "cannot read the market")
    history = generate_history(market, days, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_history(history, out)
    click.echo(
        f"{out}: {days} dates x {len(history.labels)} factors, "
        f"{history.dates[0]} to {history.dates[-1]}"
    )


@main.group(
    cls=_LazyGroup,
    lazy={
        "balance": "xiphpc.bench.balance:balance",
        "engine": "xiphpc.bench.engine:engine",
        "kernels": "xiphpc.bench.kernels:kernels_command",
        "mc": "xiphpc.bench.kernels:mc_command",
        "products": "xiphpc.bench.kernels:products_command",
        "risk": "xiphpc.bench.risk:risk",
        "scaling": "xiphpc.bench.scaling:scaling",
        "scenarios": "xiphpc.bench.scenarios:scenarios",
    },
)
def bench() -> None:
    """Time the pricing kernels and the engine against their alternatives."""
