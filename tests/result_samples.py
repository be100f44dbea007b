"""Small result files for the tests of the results API and the report, made once per session.

``risk``: a generated portfolio with bad trades, sensitivities (par included), historical
simulation and two stresses; ``merged``: two product lines run apart with the same risk and
merged; ``plain``: a run without ``[risk]``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_job

from xiphpc.cli.main import main

RISK = (
    "sensitivities = true\n"
    "historical = { generate = { days = 60, seed = 5 } }\n"
    '[[risk.stress]]\nname = "rates up, equities down"\n'
    'shifts = { "ir:*" = 0.01, "eq:*" = -0.2, "eqvol:*" = 0.05 }\n'
    '[[risk.stress]]\nname = "USD down"\nshifts = { "fx:*" = 0.1 }'
)


def _run(job: Path, out: Path) -> Path:
    res = CliRunner().invoke(main, ["run", str(job), "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    return out


def _make(kind: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "risk":
        job = write_job(
            folder,
            name="risk",
            portfolio="generate = { trades = 1500, seed = 5, bad_fraction = 0.03 }",
            market="generate = { seed = 5 }",
            aggregation='levels = ["desk", "book"]',
            risk=RISK,
            run="partitions = 4",
        )
        return _run(job, folder / "risk.h5")
    if kind == "plain":
        job = write_job(
            folder,
            name="plain",
            portfolio="generate = { trades = 1000, seed = 3, bad_fraction = 0.02 }",
            run="partitions = 4",
        )
        return _run(job, folder / "plain.h5")
    if kind == "merged":
        from xiphpc.synth.generate import generate_portfolio, write_portfolio_hdf5

        tables = generate_portfolio(800, seed=9, bad_fraction=0.02)
        products = list(tables)
        parts = []
        for i, lines in enumerate((products[::2], products[1::2])):
            write_portfolio_hdf5({p: tables[p] for p in lines}, folder / f"part{i}.h5")
            job = write_job(
                folder,
                name=f"part{i}",
                portfolio=f'path = "part{i}.h5"',
                market="generate = { seed = 9 }",
                aggregation='levels = ["desk"]',
                risk=RISK,
                run="partitions = 3",
            )
            parts.append(_run(job, folder / f"out{i}.h5"))
        out = folder / "merged.h5"
        res = CliRunner().invoke(main, ["merge", "--out", str(out), *map(str, parts)])
        assert res.exit_code == 0, res.output
        return out
    raise ValueError(kind)


def sample(kind: str, factory: pytest.TempPathFactory) -> Path:
    """The result file ``kind`` (``"risk"``, ``"merged"``, ``"plain"``), made on first use in
    the session and shared by every test module after."""
    folder = factory.getbasetemp() / "result-samples" / kind
    path = folder / ("merged.h5" if kind == "merged" else f"{kind}.h5")
    return path if path.exists() else _make(kind, folder)
