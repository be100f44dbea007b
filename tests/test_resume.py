"""Checkpoints and ``--resume``: a run cut short by a failed rank, a killed rank or a signal
resumes, pricing only the partitions not kept, and ends bitwise equal to an uninterrupted run,
at the same or another rank count; a checkpoint of another job is refused."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import h5py
import pytest
from conftest import VENV_BIN, assert_same_results, run_mpi, write_job

from xiphpc.engine.checkpoint import checkpoint_dir
from xiphpc.output.target import _alive

#: Timings, and which rank owned each partition, differ between runs; nothing else may.
SKIP = ("diagnostics", "partitions/rank")

RISK = """sensitivities = true
trade_sensitivities = true
historical = { generate = { days = 20, seed = 2 }, trade_pnl = true }"""


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, Path]:
    """A small risk job and its uninterrupted one-rank result."""
    folder = tmp_path_factory.mktemp("resume")
    job = write_job(
        folder,
        portfolio="generate = { trades = 2500, seed = 5, bad_fraction = 0.02 }",
        aggregation='levels = ["desk", "currency"]',
        run="partitions = 12\ntrades_per_pass = 1",
        risk=RISK,
    )
    out = folder / "reference.h5"
    proc = run_mpi(["xiphpc", "run", str(job), "--out", str(out), "--quiet"], 1, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return job, out


def _kept(out: Path) -> list[Path]:
    return sorted(checkpoint_dir(out).glob("partition-*.npy"))


def _wait_for_the_failed_run(out: Path) -> None:
    """Wait until the ranks of a failed run have ended: an aborted MPI job's ranks may
    still be dying when ``mpiexec`` returns, and their lock holds the output until then."""
    lock = out.with_name(f".{out.name}.lock")
    if lock.exists():
        pid = int(lock.read_text().split()[1])
        _wait_for(lambda: not _alive(pid), 60)


def _no_leftovers(out: Path) -> None:
    assert not checkpoint_dir(out).exists()
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]


def _resume(job: Path, out: Path, n: int) -> int:
    _wait_for_the_failed_run(out)
    proc = run_mpi(
        ["xiphpc", "run", str(job), "--out", str(out), "--resume", "--quiet"], n, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out) as f:
        return int(f.attrs["partitions_restored"])


def test_failed_rank_then_resume_on_another_rank_count(reference, tmp_path: Path) -> None:
    job, ref = reference
    out = tmp_path / "out.h5"
    proc = run_mpi(
        ["xiphpc", "run", str(job), "--out", str(out), "--quiet"],
        2,
        timeout=300,
        # Whichever rank takes partition 9 (dynamic balance decides) fails there.
        env={"XIPHPC_INJECT_FAULT": "*:partition-9"},
    )
    assert proc.returncode != 0
    assert re.search(r"rank [01] of 2 failed: RuntimeError: fault injected", proc.stderr)
    kept = len(_kept(out))
    assert 0 < kept < 12 and not out.exists()
    assert _resume(job, out, 3) == kept
    assert_same_results(ref, out, skip=SKIP)
    _no_leftovers(out)


def _rank_pid(marker: str, rank: int) -> int | None:
    """PID of the rank of the run whose environment holds ``marker``."""
    for proc in Path("/proc").iterdir():
        try:
            env = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker.encode() in env and f"PMI_RANK={rank}".encode() in env:
            return int(proc.name)
    return None


def _wait_for(condition, timeout: float) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_kill_9_of_a_rank_then_resume(reference, tmp_path: Path) -> None:
    job, ref = reference
    out = tmp_path / "out.h5"
    marker = f"XIPHPC_TEST_RUN={tmp_path.name}"
    env = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ['PATH']}")
    env.update({"XIPHPC_TEST_RUN": tmp_path.name, "XIPHPC_INJECT_DELAY": "1:0.4"})
    cmd = [str(VENV_BIN / "mpiexec"), "-n", "2", "xiphpc", "run", str(job), "--out", str(out)]
    with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as run:
        try:
            # Rank 1 sleeps before each partition: kill it once some partitions are kept.
            _wait_for(lambda: len(_kept(out)) >= 3, 240)
            pid = _rank_pid(marker, 1)
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            run.wait(timeout=120)
        finally:
            run.kill()
    assert run.returncode != 0 and not out.exists()
    kept = len(_kept(out))
    assert _resume(job, out, 2) == kept
    assert_same_results(ref, out, skip=SKIP)
    _no_leftovers(out)


def test_sigterm_stops_with_status_75_then_resume(reference, tmp_path: Path) -> None:
    job, ref = reference
    out = tmp_path / "out.h5"
    env = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ['PATH']}", XIPHPC_INJECT_DELAY="0:0.3")
    cmd = [str(VENV_BIN / "xiphpc"), "run", str(job), "--out", str(out), "--quiet"]
    with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as run:
        try:
            _wait_for(lambda: len(_kept(out)) >= 2, 240)
            run.send_signal(signal.SIGTERM)
            _, err = run.communicate(timeout=120)
        finally:
            run.kill()
    assert run.returncode == 75, err
    assert b"run again with --resume" in err
    kept = len(_kept(out))
    assert 2 <= kept < 12
    assert _resume(job, out, 1) == kept
    assert_same_results(ref, out, skip=SKIP)
    _no_leftovers(out)


def test_checkpoint_of_another_job_is_refused(reference, tmp_path: Path) -> None:
    job, _ = reference
    out = tmp_path / "out.h5"
    proc = run_mpi(
        ["xiphpc", "run", str(job), "--out", str(out), "--quiet"],
        1,
        timeout=300,
        env={"XIPHPC_INJECT_FAULT": "0:partition-3"},
    )
    assert proc.returncode != 0 and _kept(out)
    _wait_for_the_failed_run(out)
    other = tmp_path / "other.toml"
    other.write_text(job.read_text().replace("seed = 1", "seed = 2", 1))
    proc = run_mpi(["xiphpc", "run", str(other), "--out", str(out), "--resume"], 1, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "the checkpoint was made for another run: the job file's text differ" in proc.stderr
    assert "Traceback" not in proc.stderr
    # Without --resume the stale checkpoint is discarded and the run starts afresh.
    proc = run_mpi(["xiphpc", "run", str(other), "--out", str(out), "--quiet"], 1, timeout=300)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out) as f:
        assert f.attrs["partitions_restored"] == 0
    _no_leftovers(out)
