"""Slurm support: rendered sbatch scripts, and real runs on a single-node Slurm cluster.

Render tests need nothing but the templates: they cover the scripts' lines, job files read by the
engine's own reader (same files refused with the same messages as ``xiphpc validate``), and
hostile values in every rendered field, refused or rendered so that running the script (with
stand-in launchers) passes them on intact and never runs them. Tests marked ``slurm`` start a
real cluster on localhost (``slurm_cluster`` fixture, ``tests/slurm_cluster.py``) and submit
with ``sbatch --wait`` wrapped in ``timeout``:

* with a stand-in ``xiphpc`` program (a few lines of mpi4py) they prove the scripts' plumbing:
  communicator size under ``srun --mpi=pmi2`` and under ``mpiexec``, threads and numba cache
  settings as the ranks see them, and the array -> dependent merge order;
* with the real ``xiphpc run``/``xiphpc merge`` they prove that a result computed under Slurm
  equals the one of a plain ``mpiexec -n 2 xiphpc run`` dataset for dataset.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner
from slurm_cluster import SlurmCluster, slurm_cluster_fixture  # noqa: F401

from xiphpc.cli.main import main as xiphpc_main
from xiphpc.config.names import PRODUCT_NAMES
from xiphpc.scheduler.slurm import ARRAY_ID_PLACEHOLDER, slurm

ROOT = Path(__file__).resolve().parents[1]
DEMO_JOB = ROOT / "jobs" / "demo.toml"
VENV_BIN = str(Path(sys.executable).parent)
#: Seconds allowed for one ``sbatch --wait``; jobs here take seconds, a hang takes forever.
JOB_TIMEOUT_S = 120
#: Seconds allowed for the plain run that compiles every kernel into an empty numba cache (a
#: few minutes on two busy cores; within pytest-timeout's 600 s for the test that sets it up).
COMPILE_TIMEOUT_S = 480
#: Numba cache of the editable install's runs, under the session's temporary folder: shared
#: with tests/test_wheel.py, so that the kernels compile once per session.
EDITABLE_CACHE = "numba-cache-editable"


def _env_with_venv() -> dict[str, str]:
    # The batch job inherits the submitter's environment; make sure the venv's mpiexec and
    # python are on it even when pytest was started without activating the venv.
    return {"PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}"}


def _job_text(name: str, output: str | None) -> str:
    """A small valid job file (generated portfolio and market), with `output` as its
    ``[output] path`` or without an ``[output]`` table."""
    text = (
        f"name = {json.dumps(name)}\n\n"
        "[portfolio]\ngenerate = { trades = 20, seed = 1 }\n\n"
        "[market]\ngenerate = { seed = 1 }\n"
    )
    if output is not None:
        text += f"\n[output]\npath = {json.dumps(output)}\n"
    return text


def _write_job(path: Path, name: str, output: str | None = "out/result.h5") -> Path:
    path.write_text(_job_text(name, output))
    return path


@pytest.fixture
def job_file(tmp_path: Path) -> Path:
    """A small job file whose name needs making safe for Slurm."""
    return _write_job(tmp_path / "desk-a.toml", "desk a", "out/desk-a.h5")


def _dry_run(args: list[str], cwd: Path) -> str:
    runner = CliRunner()
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = runner.invoke(slurm, args, catch_exceptions=False)
    finally:
        os.chdir(old)
    assert result.exit_code == 0, result.output
    return result.output


def _bash_syntax_ok(script: str, tmp_path: Path) -> None:
    path = tmp_path / "check.sbatch"
    path.write_text(script)
    proc = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


# ---------------------------------------------------------------------------------------------
# rendering (no cluster)


def test_submit_dry_run_srun(job_file: Path, tmp_path: Path) -> None:
    """Directives, environment, threads and launcher of one risk job."""
    script = _dry_run(
        [
            "submit",
            str(job_file),
            "--nodes",
            "2",
            "--ntasks-per-node",
            "4",
            "--cpus-per-task",
            "3",
            "--time",
            "0-02:00:00",
            "--partition",
            "risk",
            "--dry-run",
        ],
        tmp_path,
    )
    out = tmp_path / "out" / "desk-a.h5"
    for line in (
        "#!/bin/bash",
        "#SBATCH --job-name=desk-a",
        "#SBATCH --nodes=2",
        "#SBATCH --ntasks-per-node=4",
        "#SBATCH --cpus-per-task=3",
        "#SBATCH --time=0-02:00:00",
        "#SBATCH --partition=risk",
        f"#SBATCH --output={tmp_path / 'out' / 'logs'}/%x-%j.out",
        f"#SBATCH --error={tmp_path / 'out' / 'logs'}/%x-%j.err",
        f"#SBATCH --chdir={tmp_path}",
        "#SBATCH --export=ALL",
        f"export VIRTUAL_ENV={sys.prefix}",
        'export NUMBA_NUM_THREADS="${SLURM_CPUS_PER_TASK:-1}"',
        'export SRUN_CPUS_PER_TASK="${SLURM_CPUS_PER_TASK:-1}"',
        'export NUMBA_CACHE_DIR="${TMPDIR:-/tmp}/xiphpc-numba-${SLURM_JOB_ID}"',
        # In the background, so that a signal to the script can be passed on (requeue).
        f"srun --mpi=pmi2 --kill-on-bad-exit=1 xiphpc run {job_file} --out {out} "
        '"${resume[@]}" &',
        "#SBATCH --signal=B:USR1@120",
        "#SBATCH --requeue",
    ):
        assert line in script.splitlines(), line
    assert "{{" not in script
    # sbatch stops reading directives at the first command: all must come before it.
    lines = script.splitlines()
    first_command = next(i for i, s in enumerate(lines) if s and not s.startswith("#"))
    assert all(not s.startswith("#SBATCH") for s in lines[first_command:])
    _bash_syntax_ok(script, tmp_path)


def test_submit_dry_run_mpiexec_pmix_and_cache(job_file: Path, tmp_path: Path) -> None:
    """--launcher mpiexec, --mpi pmix, --out and a persistent numba cache."""
    out = tmp_path / "elsewhere.h5"
    script = _dry_run(
        [
            "submit",
            str(job_file),
            "-N",
            "1",
            "--ntasks-per-node",
            "2",
            "--launcher",
            "mpiexec",
            "--out",
            str(out),
            "--numba-cache-dir",
            "/scratch/numba",
            "--dry-run",
        ],
        tmp_path,
    )
    assert f'mpiexec -n "${{SLURM_NTASKS}}" xiphpc run {job_file} --out {out}' in script
    assert "export NUMBA_CACHE_DIR=/scratch/numba" in script
    assert "#SBATCH --partition" not in script
    script = _dry_run(
        [
            "submit",
            str(job_file),
            "-N",
            "1",
            "--ntasks-per-node",
            "2",
            "--mpi",
            "pmix",
            "--dry-run",
        ],
        tmp_path,
    )
    assert "srun --mpi=pmix --kill-on-bad-exit=1 xiphpc run" in script


def test_submit_array_dry_run(job_file: Path, tmp_path: Path) -> None:
    """The array script and its dependent merge script."""
    other = _write_job(tmp_path / "desk-b.toml", "desk-b")
    merged = tmp_path / "all.h5"
    text = _dry_run(
        [
            "submit-array",
            str(job_file),
            str(other),
            "--out",
            str(merged),
            "-N",
            "1",
            "--ntasks-per-node",
            "2",
            "--max-parallel",
            "1",
            "--dry-run",
        ],
        tmp_path,
    )
    array_script, merge_script = text.split(
        f"# ---- then, with the array's job id for {ARRAY_ID_PLACEHOLDER}: ----"
    )
    parts = [
        tmp_path / "all.h5.parts" / "part-000-desk-a.h5",
        tmp_path / "all.h5.parts" / "part-001-desk-b.h5",
    ]
    for line in (
        "#SBATCH --job-name=all",
        "#SBATCH --array=0-1%1",
        f"#SBATCH --output={tmp_path / 'logs'}/%x-%A_%a.out",
        f"JOB_FILES=({job_file} {other})",
        f"PARTS=({parts[0]} {parts[1]})",
        'srun --mpi=pmi2 --kill-on-bad-exit=1 xiphpc run "${JOB_FILE}" --out "${PART}"',
    ):
        assert line in array_script.splitlines(), line
    for line in (
        "#SBATCH --job-name=all-merge",
        f"#SBATCH --dependency=afterok:{ARRAY_ID_PLACEHOLDER}",
        "#SBATCH --kill-on-invalid-dep=yes",
        "#SBATCH --ntasks=1",
        f"xiphpc merge --out {merged} {parts[0]} {parts[1]}",
    ):
        assert line in merge_script.splitlines(), line
    _bash_syntax_ok(array_script, tmp_path)
    _bash_syntax_ok(merge_script, tmp_path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["submit", "missing.toml", "-N", "1", "--ntasks-per-node", "1"], "cannot read job file"),
        (["submit", "bad.toml", "-N", "1", "--ntasks-per-node", "1"], "not valid TOML"),
        # The engine needs an [output] path even where --out overrides it.
        (
            ["submit", "noout.toml", "-N", "1", "--ntasks-per-node", "1", "--out", "x.h5"],
            "noout.toml: output: Field required",
        ),
        (["submit", "ok.toml", "-N", "0", "--ntasks-per-node", "1"], "--nodes"),
        (["submit", "ok.toml", "-N", "1"], "--ntasks-per-node"),
        (
            ["submit", "ok.toml", "-N", "1", "--ntasks-per-node", "1", "--time", "1h"],
            "not a Slurm time limit",
        ),
        (
            [
                "submit",
                "ok.toml",
                "-N",
                "1",
                "--ntasks-per-node",
                "1",
                "--launcher",
                "mpiexec",
                "--mpi",
                "pmix",
            ],
            "--mpi applies to --launcher srun only",
        ),
        (
            ["submit", "ok.toml", "-N", "1", "--ntasks-per-node", "1", "--launcher", "ssh"],
            "--launcher",
        ),
        (
            [
                "submit-array",
                "ok.toml",
                "missing.toml",
                "--out",
                "x.h5",
                "-N",
                "1",
                "--ntasks-per-node",
                "1",
            ],
            "missing.toml: cannot read job file",
        ),
        (
            ["submit", "ok.toml", "-N", "1", "--ntasks-per-node", "1", "--template-dir", "nowhere"],
            "cannot read the sbatch template",
        ),
    ],
)
def test_usage_errors(args: list[str], message: str, tmp_path: Path) -> None:
    """Bad input is refused before anything is rendered, with exit code 2 and a reason."""
    (tmp_path / "bad.toml").write_text("name = \n")
    _write_job(tmp_path / "noout.toml", "x", None)
    _write_job(tmp_path / "ok.toml", "ok", "ok.h5")
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(slurm, [*args, "--dry-run"])
    finally:
        os.chdir(old)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_submit_without_sbatch(
    job_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without sbatch on PATH the command says so and exits 1."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = CliRunner().invoke(
        slurm,
        [
            "submit",
            str(job_file),
            "-N",
            "1",
            "--ntasks-per-node",
            "1",
            "--out",
            str(tmp_path / "r.h5"),
        ],
    )
    assert result.exit_code == 1
    assert "sbatch not found" in result.output


BAD_JOBS = {
    "unknown key": _job_text("x", "x.h5").replace("name =", "nmae =", 1),
    "unknown product": _job_text("x", "x.h5").replace(
        "[portfolio]\n", '[portfolio]\nproducts = ["equity_opton"]\n', 1
    ),
    "missing input file": _job_text("x", "x.h5").replace(
        "generate = { trades = 20, seed = 1 }", 'path = "no-such-portfolio.h5"', 1
    ),
    "no output table": _job_text("x", None),
    "bad value": _job_text("x", "x.h5").replace("trades = 20", "trades = -5", 1),
    "not TOML": "name = \n",
}


@pytest.mark.parametrize("kind", sorted(BAD_JOBS))
def test_job_file_refused_as_by_validate(kind: str, tmp_path: Path) -> None:
    """A job file `xiphpc validate` refuses is refused by `xiphpc slurm submit` and
    `submit-array`, with exit status 2 and the same problem lines."""
    job = tmp_path / "job.toml"
    job.write_text(BAD_JOBS[kind])
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        runner = CliRunner()
        checked = runner.invoke(xiphpc_main, ["validate", "job.toml"])
        resources = ["-N", "1", "--ntasks-per-node", "1", "--dry-run"]
        submitted = runner.invoke(slurm, ["submit", "job.toml", *resources])
        arrayed = runner.invoke(slurm, ["submit-array", "job.toml", "--out", "m.h5", *resources])
    finally:
        os.chdir(old)
    problems = [line for line in checked.output.splitlines() if line.startswith("  ")]
    assert checked.exit_code == 2 and problems, checked.output
    for result in (submitted, arrayed):
        assert result.exit_code == 2, result.output
        assert [ln for ln in result.output.splitlines() if ln.startswith("  ")] == problems
        assert "Traceback" not in result.output


def test_job_file_accepted_as_by_validate(job_file: Path, tmp_path: Path) -> None:
    """A job file `xiphpc validate` accepts renders, with its name and output path."""
    checked = CliRunner().invoke(xiphpc_main, ["validate", str(job_file)])
    assert checked.exit_code == 0, checked.output
    script = _dry_run(
        ["submit", str(job_file), "-N", "1", "--ntasks-per-node", "1", "--dry-run"], tmp_path
    )
    assert f"--out {tmp_path / 'out' / 'desk-a.h5'}" in script


# ---------------------------------------------------------------------------------------------
# hostile values in every rendered field

#: Values that would run ``touch <marker>`` if a script let them act as shell code, each marker
#: named after its payload; and their shapes: whether they could stand in an #SBATCH line.
PAYLOADS = {
    "subst": "$(touch${IFS}pwned-subst)",
    "backtick": "`touch pwned-backtick`",
    "semicolon": ";touch pwned-semicolon;",
    "single-quote": "'$(touch${IFS}pwned-single-quote)'",
    "double-quote": '"$(touch${IFS}pwned-double-quote)"',
    "space": "a b $(touch pwned-space)",
    "newline": "\ntouch pwned-newline\n",
    # A plain word with a newline at its end: a valid time limit or Slurm name but for it.
    "trailing-newline": "10\n",
}
MARKERS = {f"pwned-{kind}" for kind in PAYLOADS}
#: The only payload an #SBATCH word can take: no blank, quote, backslash, '#' or newline.
SBATCH_WORD_PAYLOADS = {"subst"}
#: Payloads that no field takes (a script line must stay one line).
NEWLINE_PAYLOADS = {"newline", "trailing-newline"}
#: Stand-ins for the programs a script starts: the launchers start what follows their own
#: options; `xiphpc` records its arguments and the environment it got, NUL-separated.
STAND_INS = r"""
srun() { while [[ $1 == -* ]]; do shift; done; "$@"; }
mpiexec() { shift 2; "$@"; }
xiphpc() {
    printf '%s\0' "VIRTUAL_ENV=${VIRTUAL_ENV}" "NUMBA_CACHE_DIR=${NUMBA_CACHE_DIR}" "$@" \
        >> "${XIPHPC_CALLS}"
    printf '\n' >> "${XIPHPC_CALLS}"
}
export -f srun mpiexec xiphpc
"""


@dataclass
class Case:
    """One command line with one hostile value in one field."""

    command: str  # "submit" or "submit-array"
    field: str
    kind: str
    args: list[str]
    cwd: Path
    jobs: list[Path]
    out: Path
    parts_dir: Path | None = None
    prefix: Path | None = None
    cache: Path | None = None
    log_dir: Path | None = None
    job_name: str | None = None


def _case(command: str, field: str, kind: str, root: Path) -> Case:
    """Lay out the files of a case under `root` and build its command line."""
    value = PAYLOADS[kind]
    cwd = root / "cwd"
    jobs_dir = root / "jobs"
    jobs_dir.mkdir(parents=True)
    name = f"desk {value}" if field == "name" else "desk"
    job_path = jobs_dir / (f"job{value}.toml" if field == "JOB" else "job.toml")
    jobs = [_write_job(job_path, name, "out/r.h5")]
    if command == "submit-array":
        jobs.append(_write_job(jobs_dir / "second.toml", "second", "out/s.h5"))
    case = Case(command, field, kind, [], cwd, jobs, out=cwd / "out" / "r.h5")
    if field == "cwd":
        case.cwd = root / f"w{value}"
        case.out = case.cwd / "out" / "r.h5"
    case.cwd.mkdir(parents=True)
    args = [command, *map(str, jobs), "-N", "1", "--ntasks-per-node", "2", "--dry-run"]
    if command == "submit-array" or field == "out":
        case.out = root / "res" / (f"o{value}q.h5" if field == "out" else "merged.h5")
        args += ["--out", str(case.out)]
    if FIELDS[field] in ("name", "number", "choice"):
        args += [f"--{field}", value]
    if field == "parts-dir":
        case.parts_dir = root / f"p{value}"
        args += ["--parts-dir", str(case.parts_dir)]
    if field == "log-dir":
        case.log_dir = root / f"l{value}"
        args += ["--log-dir", str(case.log_dir)]
    # A stand-in environment and cache folder in every case, hostile or not, so that running
    # the script touches nothing outside `root`.
    case.prefix = root / (f"v{value}" if field == "prefix" else "venv")
    case.cache = root / (f"c{value}" if field == "numba-cache-dir" else "cache")
    args += ["--prefix", str(case.prefix), "--numba-cache-dir", str(case.cache)]
    case.args = args
    return case


#: Fields and where each lands: a Slurm name (refused unless a plain word), a number, one of
#: a few choices, an #SBATCH word (accepted where it can stand there), a shell word (quoted;
#: only control characters refused) or a value made safe before rendering (the job file's name).
FIELDS = {
    "partition": "name",
    "account": "name",
    "qos": "name",
    "time": "name",
    "job-name": "name",
    "nodes": "number",
    "ntasks-per-node": "number",
    "cpus-per-task": "number",
    "max-parallel": "number",
    "launcher": "choice",
    "mpi": "choice",
    "log-dir": "sbatch",
    "cwd": "sbatch",
    "JOB": "shell",
    "out": "shell",
    "parts-dir": "shell",
    "prefix": "shell",
    "numba-cache-dir": "shell",
    "name": "made-safe",
}
#: What a refusal must name: the option or argument, or the current folder.
NAMED = {"JOB": "JOB", "cwd": "current folder", "name": "", "time": "'--time'"}


def _accepted(field: str, kind: str) -> bool:
    where = FIELDS[field]
    if where == "number":
        # Read as an integer (Python's int() drops the blanks around digits), so only the
        # number reaches the script.
        return PAYLOADS[kind].strip().isdigit()
    if where in ("name", "choice"):
        return False
    if where == "sbatch":
        return kind in SBATCH_WORD_PAYLOADS
    if where == "shell":
        return kind not in NEWLINE_PAYLOADS
    return True


def _run_script(script: str, case: Case, task: int, root: Path) -> list[list[str]]:
    """Run a rendered script with bash and the stand-ins; the recorded `xiphpc` calls."""
    path = root / f"script-{task}.sh"
    path.write_text(STAND_INS + script.split("\n", 1)[1])
    calls = root / f"calls-{task}"
    env = dict(
        os.environ,
        XIPHPC_CALLS=str(calls),
        SLURM_JOB_ID="4242",
        SLURM_JOB_NODELIST="localhost",
        SLURM_NTASKS="2",
        SLURM_CPUS_PER_TASK="1",
        SLURM_ARRAY_JOB_ID="4241",
        SLURM_ARRAY_TASK_ID=str(task),
        TMPDIR=str(root / "tmp"),
    )
    syntax = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
    # `bash -c` so that the exported stand-ins exist when the script starts.
    ran = subprocess.run(
        ["bash", "-c", f"{STAND_INS}\nbash {shlex.quote(str(path))}"],
        capture_output=True,
        text=True,
        env=env,
        cwd=case.cwd,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    records = calls.read_bytes().split(b"\0\n") if calls.exists() else []
    return [rec.decode().split("\0") for rec in records if rec]


def _sbatch_words(script: str) -> list[list[str]]:
    """Arguments of each #SBATCH line, as sbatch reads them when a line holds no quote,
    backslash or '#' after the magic word (asserted)."""
    lines = [ln for ln in script.splitlines() if ln.startswith("#SBATCH")]
    for line in lines:
        assert not re.search(r"""['"\\#]""", line[len("#SBATCH") :]), line
    return [line.split()[1:] for line in lines]


def _check_accepted(case: Case, output: str, root: Path) -> None:
    value = PAYLOADS[case.kind]
    if case.command == "submit":
        scripts = [output]
    else:
        scripts = output.split(f"# ---- then, with the array's job id for {ARRAY_ID_PLACEHOLDER}")
        scripts[1] = scripts[1].split("\n", 2)[2]
    for script in scripts:
        for words in _sbatch_words(script):
            assert len(words) == 1, words
        if case.field == "log-dir":
            assert [f"--output={case.log_dir}/%x-%j.out"] in _sbatch_words(script) or [
                f"--output={case.log_dir}/%x-%A_%a.out"
            ] in _sbatch_words(script)
        if case.field == "cwd":
            assert [f"--chdir={case.cwd}"] in _sbatch_words(script)
        if case.field == "name" and case.command == "submit":
            assert ["--job-name=desk-" + re.sub(r"[^A-Za-z0-9._-]+", "-", value).strip("-.")] in (
                _sbatch_words(script)
            )
    jobs = [str(j.resolve()) for j in case.jobs]
    env = [f"VIRTUAL_ENV={case.prefix}", f"NUMBA_CACHE_DIR={case.cache}"]
    if case.command == "submit":
        calls = _run_script(scripts[0], case, 0, root)
        assert calls == [[*env, "run", jobs[0], "--out", str(case.out)]]
    else:
        parts_dir = case.parts_dir or case.out.with_name(case.out.name + ".parts")
        parts = [str(parts_dir / "part-000-desk.h5"), str(parts_dir / "part-001-second.h5")]
        if case.field == "name":
            safe = re.sub(r"[^A-Za-z0-9._-]+", "-", f"desk {value}").strip("-.")
            parts[0] = str(parts_dir / f"part-000-{safe}.h5")
        for task in (0, 1):
            calls = _run_script(scripts[0], case, task, root)
            assert calls == [[*env, "run", jobs[task], "--out", parts[task]]]
        calls = _run_script(scripts[1], case, 2, root)
        assert calls == [[*env, "merge", "--out", str(case.out), *parts]]
    # The cache folder was made under its exact (hostile) name: the value arrived intact.
    assert case.cache is not None and case.cache.is_dir()


@pytest.mark.parametrize(
    ("command", "field"),
    [("submit", f) for f in FIELDS if f not in ("parts-dir", "job-name", "max-parallel")]
    + [("submit-array", f) for f in FIELDS],
)
def test_hostile_values(command: str, field: str, tmp_path: Path) -> None:
    """Command substitution, backquotes, ';', quotes, blanks and newlines in each rendered
    field: refused with exit 2 and one line naming the option, or rendered so that the script
    passes the value on intact and never runs it."""
    for kind in PAYLOADS:
        root = tmp_path / kind
        case = _case(command, field, kind, root)
        old = Path.cwd()
        os.chdir(case.cwd)
        try:
            result = CliRunner().invoke(slurm, case.args)
        finally:
            os.chdir(old)
        label = f"{command} {field} {kind}: {result.output}"
        assert "Traceback" not in result.output, label
        if _accepted(field, kind):
            assert result.exit_code == 0, label
            _check_accepted(case, result.output, root)
        else:
            assert result.exit_code == 2, label
            errors = [ln for ln in result.output.splitlines() if ln.startswith("Error:")]
            assert len(errors) == 1, label
            assert NAMED.get(field, f"'--{field}'") in errors[0], label
        ran = {p.name for p in tmp_path.rglob("*")} & MARKERS
        assert not ran, f"{label}: payload ran ({ran})"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('echo "into {{out_path}}"', "stands inside double quotes"),
        ("echo 'into {{out_path}}'", "stands inside single quotes"),
        ("echo `basename {{out_path}}`", "stands inside backquotes"),
        # A directive-looking line inside a quoted string is shell code, not a comment.
        ('echo "\n#SBATCH --output={{log_dir}}\n"', "stands inside double quotes"),
        ("cat <<EOF\n{{out_path}}\nEOF", "here-documents are not supported"),
        ("echo 'unclosed", "unbalanced quotes"),
    ],
)
def test_template_field_in_quotes_refused(
    line: str, message: str, job_file: Path, tmp_path: Path
) -> None:
    """A site template that puts a field where no quoting is right is refused, exit 2."""
    folder = tmp_path / "templates"
    folder.mkdir()
    text = (ROOT / "xiphpc" / "scheduler" / "templates" / "xiphpc-run.sbatch.in").read_text()
    (folder / "xiphpc-run.sbatch.in").write_text(text + line + "\n")
    args = ["submit", str(job_file), "-N", "1", "--ntasks-per-node", "1", "--dry-run"]
    result = CliRunner().invoke(slurm, [*args, "--template-dir", str(folder)])
    assert result.exit_code == 2, result.output
    assert message in result.output


# ---------------------------------------------------------------------------------------------
# plumbing on a real cluster, with a stand-in for xiphpc

STAND_IN = '''#!{python}
"""Stand-in for xiphpc run/merge: records what the ranks see."""
import os
import sys

import h5py
from mpi4py import MPI

args = sys.argv[1:]
out = args[args.index("--out") + 1]
comm = MPI.COMM_WORLD
seen = comm.gather((comm.rank, os.environ.get("NUMBA_NUM_THREADS", ""),
                    os.environ.get("NUMBA_CACHE_DIR", ""), os.environ.get("SLURM_JOB_ID", "")))
if comm.rank == 0:
    with h5py.File(out, "w") as f:
        f.attrs["command"] = args[0]
        f.attrs["n_ranks"] = comm.size
        f.attrs["argv"] = " ".join(args)
        f.attrs["numba_threads"] = [s[1] for s in seen]
        f.attrs["numba_cache"] = [s[2] for s in seen]
        f.attrs["job_id"] = seen[0][3]
        f.attrs["t"] = __import__("time").time()
'''


@pytest.fixture
def stand_in_prefix(tmp_path: Path) -> Path:
    """A Python 'environment' whose bin/xiphpc is the stand-in (real python and mpiexec stay
    on PATH behind it)."""
    prefix = tmp_path / "prefix"
    (prefix / "bin").mkdir(parents=True)
    exe = prefix / "bin" / "xiphpc"
    exe.write_text(STAND_IN.format(python=sys.executable))
    exe.chmod(0o755)
    return prefix


def _submit_cli(
    cluster: SlurmCluster, args: list[str], *, prefix: Path | None = None, cwd: Path
) -> subprocess.CompletedProcess[str]:
    if prefix is not None:
        args = [*args, "--prefix", str(prefix)]
    return cluster.run(
        [sys.executable, "-m", "xiphpc.scheduler.slurm", *args],
        timeout=JOB_TIMEOUT_S,
        env=_env_with_venv(),
        cwd=cwd,
    )


@pytest.mark.slurm
@pytest.mark.parametrize("launcher", ["srun", "mpiexec"])
def test_plumbing_ranks_threads_cache(
    slurm_cluster: SlurmCluster,
    stand_in_prefix: Path,
    job_file: Path,
    tmp_path: Path,
    launcher: str,
) -> None:
    """Both launchers give one 2-rank communicator, with Slurm's thread and cache settings."""
    out = tmp_path / f"{launcher}.h5"
    proc = _submit_cli(
        slurm_cluster,
        [
            "submit",
            str(job_file),
            "-N",
            "1",
            "--ntasks-per-node",
            "2",
            "--cpus-per-task",
            "1",
            "--launcher",
            launcher,
            "--out",
            str(out),
            "--wait",
        ],
        prefix=stand_in_prefix,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, f"{proc.stdout}{proc.stderr}\n{slurm_cluster.diagnose()}"
    job_id = proc.stdout.strip()
    assert job_id.isdigit(), proc.stdout
    with h5py.File(out, "r") as f:
        # srun without a PMI plugin would start two size-1 programs and still exit 0.
        assert int(f.attrs["n_ranks"]) == 2
        assert f.attrs["argv"] == f"run {job_file} --out {out}"
        assert list(f.attrs["numba_threads"]) == ["1", "1"]
        assert set(f.attrs["numba_cache"]) == {f"/tmp/xiphpc-numba-{job_id}"}
        assert f.attrs["job_id"] == job_id
    # Per-job cache removed at the end; logs and the submitted script kept beside the result.
    assert not Path(f"/tmp/xiphpc-numba-{job_id}").exists()
    logs = tmp_path / "logs"
    assert (logs / f"desk-a-{job_id}.out").read_text().startswith(f"xiphpc: job {job_id}")
    assert len(list(logs.glob("desk-a-*.sbatch"))) == 1


@pytest.mark.slurm
def test_plumbing_array_then_merge(
    slurm_cluster: SlurmCluster, stand_in_prefix: Path, job_file: Path, tmp_path: Path
) -> None:
    """Each array task runs its own job file; the merge starts after both and reads both."""
    other = _write_job(tmp_path / "desk-b.toml", "desk-b")
    merged = tmp_path / "merged.h5"
    proc = _submit_cli(
        slurm_cluster,
        [
            "submit-array",
            str(job_file),
            str(other),
            "--out",
            str(merged),
            "-N",
            "1",
            "--ntasks-per-node",
            "2",
            "--wait",
        ],
        prefix=stand_in_prefix,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, f"{proc.stdout}{proc.stderr}\n{slurm_cluster.diagnose()}"
    array_id, merge_id = proc.stdout.split()
    parts = [
        tmp_path / "merged.h5.parts" / "part-000-desk-a.h5",
        tmp_path / "merged.h5.parts" / "part-001-desk-b.h5",
    ]
    ends = []
    for part, job in zip(parts, (job_file, other), strict=True):
        with h5py.File(part, "r") as f:
            assert int(f.attrs["n_ranks"]) == 2
            assert f.attrs["argv"] == f"run {job} --out {part}"
            ends.append(float(f.attrs["t"]))
    with h5py.File(merged, "r") as f:
        assert f.attrs["argv"] == f"merge --out {merged} {parts[0]} {parts[1]}"
        assert f.attrs["job_id"] == merge_id
        assert float(f.attrs["t"]) >= max(ends)
    assert (tmp_path / "logs" / f"merged-{array_id}_1.out").exists()


@pytest.mark.slurm
def test_failed_array_task_cancels_merge(
    slurm_cluster: SlurmCluster, stand_in_prefix: Path, job_file: Path, tmp_path: Path
) -> None:
    """A failing array task cancels the merge job instead of leaving it pending forever."""
    (stand_in_prefix / "bin" / "xiphpc").write_text("#!/bin/sh\nexit 3\n")
    merged = tmp_path / "merged.h5"
    start = time.monotonic()
    proc = _submit_cli(
        slurm_cluster,
        [
            "submit-array",
            str(job_file),
            "--out",
            str(merged),
            "-N",
            "1",
            "--ntasks-per-node",
            "1",
            "--wait",
        ],
        prefix=stand_in_prefix,
        cwd=tmp_path,
    )
    # sbatch --wait itself returns 0 for the cancelled merge job; the command must not.
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert time.monotonic() - start < JOB_TIMEOUT_S - 5, "merge job was left pending"
    assert "without writing" in proc.stderr
    assert not merged.exists()


# ---------------------------------------------------------------------------------------------
# the real engine under Slurm


def _xiphpc_ready() -> str | None:
    """Why the end-to-end tests cannot run, or None."""
    if not DEMO_JOB.is_file():
        return f"{DEMO_JOB.relative_to(ROOT)} not present"
    exe = shutil.which("xiphpc", path=VENV_BIN)
    if exe is None:
        return "xiphpc entry point not installed"
    for sub in ("run", "merge"):
        proc = subprocess.run([exe, sub, "--help"], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            return f"`xiphpc {sub}` not available: {(proc.stderr or proc.stdout)[-300:]}"
    return None


def _datasets(path: Path) -> dict[str, np.ndarray]:
    """Every /trades/* and /aggregates/*/* dataset of a result file."""
    found: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as f:
        for name, obj in f["trades"].items():
            if isinstance(obj, h5py.Dataset):
                found[f"trades/{name}"] = obj[()]
        for level, group in f["aggregates"].items():
            for name, obj in group.items():
                if isinstance(obj, h5py.Dataset):
                    found[f"aggregates/{level}/{name}"] = obj[()]
    return found


def _assert_same_results(got: Path, want: Path) -> None:
    a, b = _datasets(got), _datasets(want)
    assert sorted(a) == sorted(b)
    assert any(k.startswith("trades/") for k in a) and any(k.startswith("aggregates/") for k in a)
    for key in sorted(a):
        assert a[key].dtype == b[key].dtype, key
        equal_nan = a[key].dtype.kind in "fc"
        assert np.array_equal(a[key], b[key], equal_nan=equal_nan), key


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """A plain ``mpiexec -n 2 xiphpc run jobs/demo.toml`` result, and a numba cache that the
    Slurm runs share with it so that each kernel compiles once per session."""
    reason = _xiphpc_ready()
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("engine")
    cache = tmp_path_factory.getbasetemp() / EDITABLE_CACHE
    ref = base / "reference.h5"
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), PATH=_env_with_venv()["PATH"])
    proc = subprocess.run(
        [
            "timeout",
            str(COMPILE_TIMEOUT_S),
            "mpiexec",
            "-n",
            "2",
            "xiphpc",
            "run",
            str(DEMO_JOB),
            "--out",
            str(ref),
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    yield {"reference": ref, "cache": cache, "base": base}


@pytest.mark.slurm
def test_demo_with_sbatch_wait(
    slurm_cluster: SlurmCluster, engine: dict[str, Path], tmp_path: Path
) -> None:
    """A script rendered with --dry-run and submitted with plain `sbatch --wait` (srun --mpi=pmi2)
    gives the same result as a plain mpiexec run, from a 2-rank communicator."""
    out = tmp_path / "demo-srun.h5"
    script = _dry_run(
        [
            "submit",
            str(DEMO_JOB),
            "-N",
            "1",
            "--ntasks-per-node",
            "2",
            "--out",
            str(out),
            "--log-dir",
            str(tmp_path),
            "--numba-cache-dir",
            str(engine["cache"]),
            "--dry-run",
        ],
        ROOT,
    )
    path = tmp_path / "demo.sbatch"
    path.write_text(script)
    proc = slurm_cluster.run(
        ["sbatch", "--wait", str(path)], timeout=JOB_TIMEOUT_S, env=_env_with_venv(), cwd=ROOT
    )
    logs = "".join(
        p.read_text() for p in sorted(tmp_path.glob("*.out")) + sorted(tmp_path.glob("*.err"))
    )
    assert proc.returncode == 0, f"{proc.stdout}{proc.stderr}\n{logs}\n{slurm_cluster.diagnose()}"
    with h5py.File(out, "r") as f:
        assert int(f.attrs["n_ranks"]) == 2
    _assert_same_results(out, engine["reference"])


@pytest.mark.slurm
def test_demo_with_xiphpc_slurm_submit(
    slurm_cluster: SlurmCluster, engine: dict[str, Path], tmp_path: Path
) -> None:
    """`xiphpc slurm submit --launcher mpiexec --wait` gives the plain mpiexec result."""
    out = tmp_path / "demo-mpiexec.h5"
    proc = _submit_cli(
        slurm_cluster,
        [
            "submit",
            str(DEMO_JOB),
            "-N",
            "1",
            "--ntasks-per-node",
            "2",
            "--launcher",
            "mpiexec",
            "--out",
            str(out),
            "--numba-cache-dir",
            str(engine["cache"]),
            "--wait",
        ],
        cwd=ROOT,
    )
    assert proc.returncode == 0, f"{proc.stdout}{proc.stderr}\n{slurm_cluster.diagnose()}"
    with h5py.File(out, "r") as f:
        assert int(f.attrs["n_ranks"]) == 2
    _assert_same_results(out, engine["reference"])


def _slice_jobs(folder: Path) -> list[Path]:
    """Two job files for the array: the demo job's product tables in two disjoint halves."""
    names = list(PRODUCT_NAMES)
    halves = (names[: len(names) // 2], names[len(names) // 2 :])
    paths = []
    for i, products in enumerate(halves):
        path = folder / f"slice-{i}.toml"
        listed = ", ".join(f'"{p}"' for p in products)
        path.write_text(
            DEMO_JOB.read_text().replace(
                "[portfolio]\n", f"[portfolio]\nproducts = [{listed}]\n", 1
            )
        )
        paths.append(path)
    return paths


@pytest.mark.slurm
def test_demo_array_then_merge(
    slurm_cluster: SlurmCluster, engine: dict[str, Path], tmp_path: Path
) -> None:
    """Two array tasks, then the dependent `xiphpc merge`: the merged file is the parts'
    trades concatenated, and equals a plain `xiphpc merge` of the same parts."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(engine["cache"]), PATH=_env_with_venv()["PATH"])
    jobs = _slice_jobs(tmp_path)
    merged = tmp_path / "merged.h5"
    proc = _submit_cli(
        slurm_cluster,
        [
            "submit-array",
            *map(str, jobs),
            "--out",
            str(merged),
            "-N",
            "1",
            "--ntasks-per-node",
            "2",
            "--numba-cache-dir",
            str(engine["cache"]),
            "--wait",
        ],
        cwd=ROOT,
    )
    assert proc.returncode == 0, f"{proc.stdout}{proc.stderr}\n{slurm_cluster.diagnose()}"
    parts = sorted((tmp_path / "merged.h5.parts").glob("part-*.h5"))
    assert len(parts) == 2
    for part in parts:
        with h5py.File(part, "r") as f:
            assert int(f.attrs["n_ranks"]) == 2
    local = tmp_path / "merged-local.h5"
    ran = subprocess.run(
        ["timeout", str(JOB_TIMEOUT_S), "xiphpc", "merge", "--out", str(local), *map(str, parts)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    _assert_same_results(merged, local)
    got = _datasets(merged)
    pieces = [_datasets(p) for p in parts]
    for key in (k for k in got if k.startswith("trades/")):
        want = np.concatenate([p[key] for p in pieces])
        assert np.array_equal(got[key], want, equal_nan=want.dtype.kind == "f"), key
    # The two product lines together are the whole demo portfolio.
    whole = _datasets(engine["reference"])
    assert np.array_equal(np.sort(got["trades/trade_id"]), np.sort(whole["trades/trade_id"]))
    assert np.isclose(got["aggregates/total/pv"][0], whole["aggregates/total/pv"][0], rtol=1e-12)
