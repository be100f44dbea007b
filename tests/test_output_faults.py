"""The result path under faults: checked before the pricing, locked against a second writer,
and clean after a failure, SIGTERM or a killed run (no temporary file, no lock left)."""

from __future__ import annotations

import errno
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import pytest
from click.testing import CliRunner
from conftest import VENV_BIN, run_mpi

from xiphpc.cli.main import main
from xiphpc.config.errors import JobError
from xiphpc.config.job import load_job
from xiphpc.output.target import claim_output, temporary_path

XIPHPC = str(VENV_BIN / "xiphpc")
HEADER = (
    "trade_id,desk,book,counterparty,currency,quantity,underlying,option_type,strike,expiry,vol"
)
# Bad trades at known rows of each table (counted from 1, the header not counted).
EQUITY_ROWS = [
    "E1,D1,B1,CP1,USD,10,ACME,call,180,2027-06-30,",
    "E2,D1,B1,CP1,USD,10,ACME,call,,2027-06-30,",
    "E3,D1,B1,CP1,USD,-5,ACME,put,150,2027-12-31,0.3",
    "E4,D2,B2,CP2,USD,7,ACME,call,inf,2028-06-30,",
]
FORWARD_ROWS = [
    "F1,D3,B3,CP1,USD,10,ACME,120,2027-06-30",
    "F2,D3,B3,CP1,XYZ,10,ACME,120,2027-06-30",
    "F3,D3,B3,CP1,USD,10,ACME,120,2027-06-30",
    "F4,D3,B3,CP1,USD,10,ACME,120,2026-01-02",
]
BAD_ROWS = {"E2": 2, "E4": 4, "F2": 2, "F4": 4}


def _job(folder: Path, prefix: str = "") -> Path:
    """A job on a CSV portfolio of two products with bad trades at :data:`BAD_ROWS`."""
    from conftest import write_job

    book = folder / f"{prefix}book"
    book.mkdir(parents=True)
    (book / "equity_option.csv").write_text(
        "\n".join([HEADER, *(prefix + r for r in EQUITY_ROWS)]) + "\n"
    )
    (book / "equity_forward.csv").write_text(
        "\n".join(
            [
                "trade_id,desk,book,counterparty,currency,quantity,underlying,strike,expiry",
                *(prefix + r for r in FORWARD_ROWS),
            ]
        )
        + "\n"
    )
    return write_job(
        folder,
        name=f"{prefix}job",
        portfolio=f'path = "{book.name}"',
        run="partitions = 2",
        output=f'path = "{folder / "out" / (prefix + "r.h5")}"',
    )


def _leftovers(folder: Path) -> list[str]:
    """Temporary files and locks under ``folder``."""
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob(".*")
        if p.name.endswith((".tmp", ".lock", ".stale"))
    )


def _dead_pid() -> int:
    """The PID of a process that has exited (and been reaped)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_read_only_folder_stops_before_pricing(tmp_path: Path) -> None:
    job = _job(tmp_path)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    cmd = [XIPHPC, "run", str(job), "--out", str(ro / "sub" / "r.h5")]
    if os.geteuid() == 0:
        # Root writes anywhere: drop the capability that lets it.
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv")
        cmd = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--", *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    ro.chmod(0o755)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"  {ro / 'sub'}: cannot create the output folder: Permission denied" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(ro.iterdir()) == []


def test_second_writer_is_refused_and_the_path_freed_after(tmp_path: Path) -> None:
    job = _job(tmp_path)
    out = tmp_path / "out" / "r.h5"
    held = claim_output(load_job(job))
    try:
        proc = subprocess.run(
            [XIPHPC, "run", str(job)], capture_output=True, text=True, timeout=120, check=False
        )
        assert proc.returncode == 2, proc.stdout + proc.stderr
        owner = f"pid {os.getpid()} on host {socket.gethostname()}"
        assert f"{out}: another run is writing it: {owner}" in proc.stderr
        assert not out.exists()
        with pytest.raises(JobError, match="another run is writing it"):
            claim_output(load_job(job))
    finally:
        held.release()
    assert _leftovers(tmp_path) == []
    res = CliRunner().invoke(main, ["run", str(job), "--quiet"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert out.exists() and _leftovers(tmp_path) == []


def test_killed_run_leftovers_are_cleaned_by_the_next_run(tmp_path: Path) -> None:
    """A run killed outright (SIGKILL) leaves its lock and temporary file: the next run on
    the same path takes the lock over and removes the temporary file, and only those of dead
    processes on this host."""
    job = _job(tmp_path)
    out = tmp_path / "out" / "r.h5"
    out.parent.mkdir()
    host = socket.gethostname()
    dead = _dead_pid()
    (out.parent / ".r.h5.lock").write_text(f"pid {dead} host {host} started x job y\n")
    stale = out.parent / f".r.h5.{dead}@{host}.0123abcd.tmp"
    live = out.parent / f".r.h5.{os.getppid()}@{host}.0123abcd.tmp"
    remote = out.parent / f".r.h5.{dead}@elsewhere.example.0123abcd.tmp"
    other = out.parent / f".other.h5.{dead}@{host}.0123abcd.tmp"
    for p in (stale, live, remote, other):
        p.write_bytes(b"partial")
    res = CliRunner().invoke(main, ["run", str(job), "--quiet"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert out.exists()
    assert sorted(p.name for p in out.parent.iterdir()) == sorted(
        ["r.h5", live.name, remote.name, other.name]
    )


def test_failure_while_writing_removes_the_temporary_file(tmp_path: Path, monkeypatch) -> None:
    """A full disk in the write stage: one line, exit 1, and nothing left beside the target."""
    import xiphpc.output.writer as writer

    job = _job(tmp_path)
    created = []

    def full_disk(path, *args, **kwargs):
        engine_create(path, *args, **kwargs)
        created.append(Path(path))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    engine_create = writer.create_result
    monkeypatch.setattr(writer, "create_result", full_disk)
    res = CliRunner().invoke(main, ["run", str(job), "--quiet"], catch_exceptions=False)
    assert res.exit_code == 1, res.output
    assert re.fullmatch(
        rf"xiphpc: {re.escape(str(job))}: \[Errno 28\] No space left on device: "
        rf"'{re.escape(str(created[0]))}'; no result written\n",
        res.stderr,
    )
    assert created and not created[0].exists()
    assert _leftovers(tmp_path) == [] and not (tmp_path / "out" / "r.h5").exists()


_SIGTERM_DRIVER = """
import importlib, os, signal, sys

def then_term(stage):
    def wrapped(*args, **kwargs):
        result = original(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)
        return result
    return wrapped

module, stage = sys.argv[1].split(":")
module = importlib.import_module(module)
original = getattr(module, stage)
setattr(module, stage, then_term(stage))
from xiphpc.cli.main import main
main(sys.argv[2:])
"""


@pytest.mark.parametrize(
    "stage", ["xiphpc.output.writer:create_result", "xiphpc.engine.inputs:load_inputs"]
)
def test_sigterm_removes_the_temporary_file_and_the_lock(tmp_path: Path, stage: str) -> None:
    """SIGTERM right after the temporary file is created (write stage), or while reading."""
    job = _job(tmp_path)
    driver = tmp_path / "driver.py"
    driver.write_text(textwrap.dedent(_SIGTERM_DRIVER))
    proc = subprocess.run(
        [sys.executable, str(driver), stage, "run", str(job), "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 128 + signal.SIGTERM, proc.stdout + proc.stderr
    assert proc.stderr == f"xiphpc: {job}: stopped by SIGTERM; no result written\n"
    assert _leftovers(tmp_path) == []
    if stage.endswith("load_inputs"):
        # The output folder was created by the run and is removed with the rest.
        assert not (tmp_path / "out").exists()
    else:
        # Every partition was priced: they stay for --resume, and nothing else does.
        assert [p.name for p in (tmp_path / "out").iterdir()] == [".r.h5.checkpoint"]


def test_temporary_names_name_their_owner(tmp_path: Path) -> None:
    from xiphpc.output.target import temporary_owner

    final = tmp_path / "r.h5"
    tmp = temporary_path(final)
    assert tmp.parent == tmp_path and tmp.name.startswith(".r.h5.")
    assert temporary_owner(tmp, final) == (os.getpid(), socket.gethostname())
    assert temporary_owner(tmp, tmp_path / "r.h") is None


def test_show_numbers_rows_as_validate_does(tmp_path: Path) -> None:
    """Both say "row N" of the product table, counted from 1; in a merged file, of the table
    of the part the trade came from."""
    rows = {}
    for prefix in ("", "B"):
        job = _job(tmp_path, prefix)
        res = CliRunner().invoke(main, ["validate", str(job)])
        assert res.exit_code == 2
        got = dict(
            (t, int(r)) for r, t in re.findall(r": row (\d+): .* \(trade (\w+)\)", res.output)
        )
        assert got == {prefix + k: v for k, v in BAD_ROWS.items()}, res.output
        rows.update(got)
        res = CliRunner().invoke(main, ["run", str(job), "--quiet"], catch_exceptions=False)
        assert res.exit_code == 0, res.output
    parts = [tmp_path / "out" / "r.h5", tmp_path / "out" / "Br.h5"]
    merged = tmp_path / "out" / "merged.h5"
    res = CliRunner().invoke(main, ["merge", *map(str, parts), "--out", str(merged)])
    assert res.exit_code == 0, res.output
    for path, ids in ((parts[0], BAD_ROWS), (merged, rows)):
        res = CliRunner().invoke(main, ["show", str(path), "--failed", "20"])
        assert res.exit_code == 0, res.output
        shown = {
            t: (p, int(r))
            for t, p, r in re.findall(r"^  (\w+) +(equity_\w+) row (\d+): ", res.output, re.M)
        }
        assert {t: r for t, (_, r) in shown.items()} == dict(ids), res.output
        assert all(
            p == ("equity_option" if "E" in t else "equity_forward") for t, (p, _) in shown.items()
        )


def test_merge_refuses_to_overwrite_a_part(tmp_path: Path) -> None:
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    for p in (a, b):
        with h5py.File(p, "w") as f:
            f.attrs["complete"] = True
    before = a.read_bytes()
    res = CliRunner().invoke(main, ["merge", str(a), str(b), "--out", str(tmp_path / "." / "a.h5")])
    assert res.exit_code == 2
    assert f"is the part {a}: it would be lost" in res.stderr
    assert a.read_bytes() == before


def test_output_problem_stops_every_rank_alike(tmp_path: Path) -> None:
    """Checked on rank 0 and agreed: both ranks stop before reading, the problem once."""
    job = _job(tmp_path)
    proc = run_mpi([XIPHPC, "run", str(job), "--out", str(job)], 2, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.count(f"{job}: is the job's job file {job}") == 1, proc.stderr
    assert _leftovers(tmp_path) == [] and not (tmp_path / "out").exists()


def test_a_zombie_holds_no_lock() -> None:
    """A rank killed by an aborted job may stay a zombie until reaped: it runs no more."""
    from xiphpc.output.target import _alive

    proc = subprocess.Popen(["true"])
    try:
        end = time.monotonic() + 30
        while Path(f"/proc/{proc.pid}/stat").read_text().split(") ")[1][0] != "Z":
            assert time.monotonic() < end
            time.sleep(0.02)
        assert not _alive(proc.pid)
        assert _alive(os.getpid())
    finally:
        proc.wait()
    assert not _alive(proc.pid)
