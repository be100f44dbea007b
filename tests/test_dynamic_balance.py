"""Dynamic balance under ``mpiexec``: any rank count and any slow rank give the serial result,
and a slow rank prices fewer partitions (``XIPHPC_INJECT_DELAY``)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import VENV_BIN, assert_same_results, run_mpi, write_job

from xiphpc.parallel.mpi import DELAY_ENV

XIPHPC = str(VENV_BIN / "xiphpc")
RISK = """sensitivities = true
trade_sensitivities = true
historical = { generate = { days = 20, seed = 2 }, trade_pnl = true }"""


@pytest.fixture(scope="module")
def job(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("balance")
    return write_job(
        folder,
        portfolio="generate = { trades = 3000, seed = 6, bad_fraction = 0.02 }",
        aggregation='levels = ["desk", "currency"]',
        run="partitions = 24\ntrades_per_pass = 300",
        risk=RISK,
    )


def _run(job: Path, out: Path, n: int, env: dict | None = None) -> Path:
    proc = run_mpi([XIPHPC, "run", str(job), "--out", str(out), "--quiet"], n, 300, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


@pytest.fixture(scope="module")
def serial(job: Path, tmp_path_factory) -> Path:
    return _run(job, tmp_path_factory.mktemp("serial") / "r1.h5", 1)


@pytest.mark.parametrize("n", [2, 3, 5])
def test_dynamic_balance_equals_one_rank(job: Path, serial: Path, tmp_path: Path, n: int) -> None:
    out = _run(job, tmp_path / f"r{n}.h5", n)
    assert_same_results(out, serial, skip=("diagnostics", "partitions/rank"))
    with h5py.File(out) as f:
        owner = f["partitions/rank"][()]
        counted = f["diagnostics/ranks/partitions"][()]
        assert f.attrs["balance"] == "dynamic"
    assert owner.size == 24 and owner.min() >= 0 and owner.max() < n
    np.testing.assert_array_equal(np.bincount(owner, minlength=n), counted)
    assert not list(tmp_path.glob(".*.tmp")), "a part or temporary file was left behind"


def test_slow_rank_takes_fewer_partitions(job: Path, serial: Path, tmp_path: Path) -> None:
    # Rank 1 sleeps 0.25 s before each partition, far longer than a partition takes to
    # price here (milliseconds): it can finish only a few partitions while rank 0 prices
    # the rest, whatever the machine's speed.
    out = _run(job, tmp_path / "slow.h5", 2, {DELAY_ENV: "1:0.25"})
    assert_same_results(out, serial, skip=("diagnostics", "partitions/rank"))
    with h5py.File(out) as f:
        counted = f["diagnostics/ranks/partitions"][()]
    assert counted.sum() == 24 and counted[1] < counted[0]


def test_static_balance_keeps_the_cost_plan(job: Path, serial: Path, tmp_path: Path) -> None:
    text = job.read_text().replace("[run]\n", '[run]\nbalance = "static"\n')
    static = job.with_name("static.toml")
    static.write_text(text)
    out = _run(static, tmp_path / "static.h5", 3)
    assert_same_results(out, serial, skip=("diagnostics", "partitions/rank"))
    with h5py.File(out) as f:
        owner = f["partitions/rank"][()]
    # The plan's blocks: each rank a run of consecutive partitions, in rank order.
    assert (np.diff(owner) >= 0).all() and set(owner.tolist()) == {0, 1, 2}
