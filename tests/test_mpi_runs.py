"""The engine under ``mpiexec``: same results at any rank count, and no hang on a failing rank.

Every launch is wrapped in a timeout. The machine may have fewer cores than ranks: MPICH's
shared-memory transport then oversubscribes, which is slow but correct.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import ROOT, VENV_BIN, assert_same_results, run_mpi, write_job

from xiphpc.parallel.mpi import FAULT_ENV

DEMO = ROOT / "jobs" / "demo.toml"
XIPHPC = str(VENV_BIN / "xiphpc")


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory) -> dict[int, Path]:
    base = tmp_path_factory.mktemp("demo")
    out = {}
    for n in (1, 2, 3, 4):
        out[n] = base / f"demo-{n}.h5"
        proc = run_mpi([XIPHPC, "run", str(DEMO), "--out", str(out[n]), "--quiet"], n)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


@pytest.mark.parametrize("n", [2, 3, 4])
def test_demo_bitwise_identical_across_rank_counts(demo_runs, n: int) -> None:
    # /partitions/rank names the owner of each partition: the only rank-dependent data.
    assert_same_results(demo_runs[n], demo_runs[1], skip=("diagnostics", "partitions/rank"))
    with h5py.File(demo_runs[n]) as f:
        assert int(f.attrs["n_ranks"]) == n
        trades = f["diagnostics/ranks/trades"][()]
        assert trades.size == n and trades.sum() == f.attrs["n_trades"]
        # Ranks took partitions as they asked for them: each partition once, and the
        # result's owners agree with what each rank counted.
        owner = f["partitions/rank"][()]
        counted = f["diagnostics/ranks/partitions"][()]
        assert owner.min() >= 0 and owner.max() < n
        np.testing.assert_array_equal(np.bincount(owner, minlength=n), counted)


def test_more_ranks_than_partitions(tmp_path: Path) -> None:
    job = write_job(
        tmp_path, portfolio="generate = { trades = 40, seed = 2 }", run="partitions = 2"
    )
    outs = []
    for n in (1, 3):
        out = tmp_path / f"r{n}.h5"
        proc = run_mpi([XIPHPC, "run", str(job), "--out", str(out), "--quiet"], n)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        outs.append(out)
    assert_same_results(outs[1], outs[0], skip=("diagnostics", "partitions/rank"))
    with h5py.File(outs[1]) as f:
        trades = f["diagnostics/ranks/trades"][()]
        owner = f["partitions/rank"][()]
        size = f["partitions/stop"][()] - f["partitions/start"][()]
    # Two partitions for three ranks: at least one rank prices nothing, and the ranks that
    # priced trades are the ones the result names for the non-empty partitions (a partition
    # may be empty; whichever rank takes it prices nothing).
    assert trades.sum() == 40 and (trades == 0).sum() >= 1
    assert sorted(set(owner[size > 0].tolist())) == sorted(np.flatnonzero(trades).tolist())
    assert set(owner.tolist()) <= {0, 1, 2}


@pytest.mark.parametrize(("n", "stage"), [(2, "compute"), (3, "reduce"), (3, "read")])
def test_failing_rank_ends_the_job(tmp_path: Path, n: int, stage: str) -> None:
    job = write_job(tmp_path)
    start = time.monotonic()
    proc = run_mpi([XIPHPC, "run", str(job)], n, timeout=60, env={FAULT_ENV: f"1:{stage}"})
    elapsed = time.monotonic() - start
    assert proc.returncode != 0
    assert f"rank 1 of {n} failed: RuntimeError: fault injected at stage '{stage}'" in proc.stderr
    assert elapsed < 30, f"took {elapsed:.1f} s to end"
    assert not (tmp_path / "job.h5").exists()


@pytest.mark.parametrize(
    ("section", "text", "message"),
    [
        ("run", "partitons = 3", "run.partitons: unknown key"),
        # Read by every rank: all stop alike, the problem printed once.
        ("market", 'path = "nowhere.json"', "nowhere.json"),
    ],
)
def test_bad_job_exits_2_on_every_rank(
    tmp_path: Path, section: str, text: str, message: str
) -> None:
    job = write_job(tmp_path, **{section: text})
    proc = run_mpi([XIPHPC, "run", str(job)], 2, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.count(message) == 1, proc.stderr


@pytest.mark.parametrize("n", [2, 3])
def test_pytest_mpi_suite(n: int) -> None:
    """tests/mpi under pytest-mpi, at 2 and 3 ranks."""
    proc = run_mpi(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--with-mpi",
            str(ROOT / "tests" / "mpi"),
        ],
        n,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "passed" in proc.stdout
