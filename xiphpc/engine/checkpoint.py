"""Checkpoints: each finished partition's results kept beside the output, so that a run cut
short (a killed rank, a lost node, a time limit) resumes where it stopped.

A run keeps, in the folder ``.<output name>.checkpoint/`` beside its output, one file per
finished partition (its ``(G, C)`` partial sums and its trades' results, the reasons of its
failed trades only), written under a temporary name and renamed, so a file present is a file
complete. A partition's file is NumPy ``.npy`` records one after another: the names of the
arrays, then each array. ``xiphpc run --resume``
restores the partitions found there instead of pricing them again; everything else is
recomputed. Restored numbers are the stored bytes, so a resumed run's result is bitwise the
result of an uninterrupted one, at the same or another rank count. The folder's manifest
names the job text, the input files (size and modification time), the xiphpc version and
the partition plan; a checkpoint that differs in any of them is refused. The folder is
removed once the result is in place.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np

from xiphpc import __version__
from xiphpc.config.errors import JobError, Problem
from xiphpc.engine.events import RunListener, RunState
from xiphpc.output.target import job_inputs

__all__ = ["CheckpointStore", "checkpoint_dir"]

MANIFEST = "manifest.json"


def checkpoint_dir(output: Path) -> Path:
    """The checkpoint folder of the result ``output``."""
    return output.with_name(f".{output.name}.checkpoint")


def _input_files(run: RunState) -> list[Path]:
    """The files the job reads besides its job file (whose text the manifest holds)."""
    files = []
    for what, path in job_inputs(run.inputs.spec):
        if what != "job file":
            files += sorted(f for f in path.iterdir() if f.is_file()) if path.is_dir() else [path]
    return files


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest(run: RunState) -> dict:
    """What a checkpoint must match to be resumed: job, inputs, version, plan and layout."""
    layout, nodes = run.cube.layout, run.cube.nodes
    return {
        "xiphpc": __version__,
        "job_text_sha256": _sha256(run.inputs.spec.text.encode()),
        "inputs": {str(f): [f.stat().st_size, f.stat().st_mtime_ns] for f in _input_files(run)},
        "plan_sha256": _sha256(run.share.plan.bounds.tobytes()),
        "columns": [
            list(layout.measures),
            layout.n_sensitivities,
            layout.n_historical,
            layout.n_stresses,
        ],
        "nodes_sha256": _sha256(json.dumps([nodes.levels, nodes.keys]).encode()),
    }


_WHAT = {
    "xiphpc": "the xiphpc version",
    "job_text_sha256": "the job file's text",
    "inputs": "the input files (size or modification time)",
    "plan_sha256": "the partition plan",
    "columns": "the measures or risk columns",
    "nodes_sha256": "the aggregation nodes",
}


class CheckpointStore(RunListener):
    """Keeps each finished partition and restores them on resume.

    Parameters
    ----------
    output : Path
        The run's result file.
    resume : bool
        Restore the partitions found in an existing checkpoint (after checking its
        manifest); otherwise an existing checkpoint of this output is discarded.
    """

    def __init__(self, output: Path, resume: bool) -> None:
        self.folder = checkpoint_dir(Path(output))
        self.resume = resume
        self.restored: list[int] = []

    def begin(self, run: RunState) -> None:
        share = run.share
        problem = None
        if share.rank == 0:
            problem = self._prepare(run)
        problem = share.from_root(problem)
        if problem is not None:
            raise JobError([Problem(str(self.folder / MANIFEST), "", problem)])

    def _prepare(self, run: RunState) -> str | None:
        """On rank 0: check or create the folder and its manifest; a problem, or None."""
        mine = manifest(run)
        path = self.folder / MANIFEST
        if self.resume and path.exists():
            try:
                found = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                return f"cannot read the checkpoint's manifest: {exc}"
            differ = [_WHAT[k] for k in mine if found.get(k) != mine[k]]
            if differ:
                return (
                    "the checkpoint was made for another run: "
                    + ", ".join(differ)
                    + " differ; run without --resume to start afresh"
                )
            return None
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(mine, indent=1))
        os.replace(tmp, path)
        return None

    def _file(self, partition: int) -> Path:
        return self.folder / f"partition-{partition:07d}.npy"

    def restore(self, run: RunState, partition: int) -> bool:
        """Load ``partition`` into the run's trades and cube if it was kept; True if so."""
        if not self.resume:
            return False
        path = self._file(partition)
        if not path.exists():
            return False
        rows = run.batch.rows(partition)
        trades = run.batch.trades
        with open(path, "rb") as f:
            names = np.load(f, allow_pickle=False).tolist()
            data = {name: np.load(f, allow_pickle=False) for name in names}
        run.cube.of(partition)[...] = data["sums"]
        trades.values[rows] = data["values"]
        trades.status[rows] = data["status"]
        reason = np.full(rows.stop - rows.start, "", dtype=object)
        reason[data["reason_row"]] = data["reason"].astype(object)
        trades.reason[rows] = reason
        trades.fx_to_base[rows] = data["fx_to_base"]
        if trades.trade_pnl is not None:
            trades.trade_pnl[rows] = data["trade_pnl"]
        if trades.sensitivities is not None:
            trades.sensitivities.append(
                (data["sens_row"] + rows.start, data["sens_factor"], data["sens_value"])
            )
        self.restored.append(partition)
        return True

    def partition_done(self, run: RunState, partition: int) -> None:
        if partition in self.restored:
            return
        rows = run.batch.rows(partition)
        trades = run.batch.trades
        # Priced trades have no reason: only the failed ones' are kept.
        failed, reason = trades.failed_reasons(rows)
        arrays = {
            "sums": run.cube.of(partition),
            "values": trades.values[rows],
            "status": trades.status[rows],
            "reason_row": failed,
            "reason": np.array(reason.tolist(), dtype=str),
            "fx_to_base": trades.fx_to_base[rows],
        }
        if trades.trade_pnl is not None:
            arrays["trade_pnl"] = trades.trade_pnl[rows]
        if trades.sensitivities is not None:
            row, factor, value = trades.sensitivities_of(rows)
            arrays |= {"sens_row": row - rows.start, "sens_factor": factor, "sens_value": value}
        path = self._file(partition)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            np.save(f, np.array(list(arrays), dtype=str), allow_pickle=False)
            for values in arrays.values():
                np.save(f, values, allow_pickle=False)
        os.replace(tmp, path)

    def discard(self) -> None:
        """Remove the checkpoint (on rank 0, once the result is in place)."""
        shutil.rmtree(self.folder, ignore_errors=True)
