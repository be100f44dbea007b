"""Rank 0's memory does not grow with the number of partitions: the partition sums are
folded and added along the reduction tree, never gathered (``mpiexec -n 2``)."""

from __future__ import annotations

from pathlib import Path

import h5py
from conftest import VENV_BIN, run_mpi, write_job

XIPHPC = str(VENV_BIN / "xiphpc")


def _rank0_peak(tmp_path: Path, partitions: int) -> tuple[int, int]:
    """Rank 0's peak memory (bytes) and one partition block's size ``G × C × 8``."""
    job = write_job(
        tmp_path,
        name=f"p{partitions}",
        portfolio="generate = { trades = 6000, seed = 5 }",
        aggregation='levels = ["counterparty", "book", "underlying", "desk"]',
        risk="historical = { generate = { days = 301, seed = 5 } }",
        run=f"partitions = {partitions}",
        output=f'path = "{tmp_path / f"p{partitions}.h5"}"\ntrades = false',
    )
    out = tmp_path / f"p{partitions}.h5"
    proc = run_mpi([XIPHPC, "run", str(job), "--out", str(out), "--quiet"], 2, 600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with h5py.File(out) as f:
        assert int(f.attrs["n_partitions"]) == partitions
        nodes = sum(f["aggregates"][lv]["key"].shape[0] for lv in f["aggregates"])
        columns = f["scenarios/historical/dates"].shape[0] + 8
        return int(f["diagnostics/ranks/peak_memory_b"][0]), nodes * columns * 8


def test_rank0_memory_does_not_grow_with_partitions(tmp_path: Path) -> None:
    small, block = _rank0_peak(tmp_path, 64)
    large, _ = _rank0_peak(tmp_path, 4096)
    gathered = 4096 * block
    # Gathering every partition's sums would cost 4,096 blocks on rank 0 (about 4.5 GB
    # here); folding keeps a few dozen per run of partitions taken, plus the 64 MiB cap of
    # one pass's open blocks. A quarter of the gathered size separates the two by far more
    # than the run-to-run spread of a process's peak memory (tens of MB).
    assert gathered > 500e6
    assert large - small < gathered / 4, (small, large, gathered)
