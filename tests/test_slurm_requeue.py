"""The rendered sbatch script of a run: a run stopped with its checkpoint kept (exit 75) is
requeued, a requeued job resumes, and a signal to the script reaches the run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import write_job

STAND_INS = r"""#!/bin/bash
# Stand-ins: srun runs its command; xiphpc records its arguments and signals, and exits with
# $STUB_STATUS (after waiting for a signal when $STUB_WAIT is set); scontrol records its call.
srun() { while [[ $1 == -* ]]; do shift; done; "$@"; }
xiphpc() {
    echo "xiphpc $*" >> "$CALLS"
    if [[ -n ${STUB_WAIT:-} ]]; then
        trap 'echo "xiphpc got USR1" >> "$CALLS"; exit 75' USR1
        touch "$STUB_WAIT"
        for _ in $(seq 600); do sleep 0.1; done
    fi
    return "${STUB_STATUS:-0}"
}
scontrol() { echo "scontrol $*" >> "$CALLS"; }
export -f srun xiphpc scontrol
"""


@pytest.fixture
def script(tmp_path: Path) -> Path:
    job = write_job(tmp_path)
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "xiphpc"),
            "slurm",
            "submit",
            str(job),
            "--nodes",
            "1",
            "--ntasks-per-node",
            "2",
            "--dry-run",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "#SBATCH --signal=B:USR1@120" in proc.stdout and "#SBATCH --requeue" in proc.stdout
    path = tmp_path / "run.sh"
    path.write_text(STAND_INS + proc.stdout.split("\n", 1)[1])
    return path


def _start(script: Path, **env: str) -> subprocess.Popen:
    full = dict(
        os.environ,
        CALLS=str(script.parent / "calls"),
        SLURM_JOB_ID="77",
        SLURM_JOB_NODELIST="localhost",
        SLURM_NTASKS="2",
        TMPDIR=str(script.parent),
    )
    full.update(env)
    return subprocess.Popen(
        ["bash", str(script)], env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _calls(script: Path) -> list[str]:
    return (script.parent / "calls").read_text().splitlines()


def test_first_run_does_not_resume_and_is_not_requeued(script: Path) -> None:
    proc = _start(script)
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    calls = _calls(script)
    assert len(calls) == 1 and calls[0].startswith("xiphpc run ")
    assert "--resume" not in calls[0]


def test_exit_75_requeues_and_the_requeued_job_resumes(script: Path) -> None:
    proc = _start(script, STUB_STATUS="75")
    assert proc.wait(timeout=60) == 75
    assert _calls(script)[-1] == "scontrol requeue 77"
    (script.parent / "calls").unlink()
    proc = _start(script, SLURM_RESTART_COUNT="1")
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    assert _calls(script)[0].endswith(" --resume")


def test_usr1_to_the_script_reaches_the_run(script: Path) -> None:
    ready = script.parent / "ready"
    proc = _start(script, STUB_WAIT=str(ready))
    end = time.monotonic() + 60
    while not ready.exists():
        assert time.monotonic() < end and proc.poll() is None, proc.stderr.read()
        time.sleep(0.05)
    proc.send_signal(signal.SIGUSR1)
    assert proc.wait(timeout=60) == 75
    calls = _calls(script)
    assert "xiphpc got USR1" in calls and calls[-1] == "scontrol requeue 77"
