"""Real engine runs for the benchmarks: ``mpiexec -n R xiphpc run JOB --out OUT --quiet``
with the ``mpiexec`` and ``xiphpc`` of this interpreter's environment."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import click
import h5py

__all__ = ["Launcher", "run_seconds"]


@dataclass(frozen=True)
class Launcher:
    """Where ``mpiexec`` and ``xiphpc`` are."""

    mpiexec: str
    exe: str

    @classmethod
    def find(cls) -> Launcher:
        """The launcher of this environment (its ``bin`` folder first, then ``PATH``).

        Raises
        ------
        click.ClickException
            Either program is missing.
        """
        path = f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"
        mpiexec, exe = shutil.which("mpiexec", path=path), shutil.which("xiphpc", path=path)
        if mpiexec is None or exe is None:
            raise click.ClickException("mpiexec and xiphpc must be on PATH")
        return cls(mpiexec, exe)

    def run(
        self, ranks: int, job: Path, out: Path, env: dict | None = None, timeout: float = 3600
    ) -> float:
        """Run ``job`` on ``ranks`` ranks into ``out``; the launch's wall seconds.

        Raises
        ------
        click.ClickException
            The run failed (its last lines of stderr in the message).
        """
        t0 = time.perf_counter()
        proc = subprocess.run(
            [self.mpiexec, "-n", str(ranks), self.exe, "run", str(job), "--out", str(out)]
            + ["--quiet"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=env,
        )
        if proc.returncode != 0:
            raise click.ClickException(f"run at {ranks} ranks failed:\n{proc.stderr[-2000:]}")
        return time.perf_counter() - t0


def run_seconds(f: h5py.File) -> float:
    """Seconds between the run's recorded start and finish."""
    started = dt.datetime.fromisoformat(f.attrs["started"])
    finished = dt.datetime.fromisoformat(f.attrs["finished"])
    return (finished - started).total_seconds()
