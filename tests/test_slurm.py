"""Slurm support: rendered sbatch scripts, and real runs on a single-node Slurm cluster.

Render tests need nothing but the templates. Tests marked ``slurm`` start a real cluster on
localhost (``slurm_cluster`` fixture, ``tests/slurm_cluster.py``) and submit with
``sbatch --wait`` wrapped in ``timeout``:

* with a stand-in ``xiphpc`` program (a few lines of mpi4py) they prove the scripts' plumbing:
  communicator size under ``srun --mpi=pmi2`` and under ``mpiexec``, threads and numba cache
  settings as the ranks see them, and the array -> dependent merge order;
* with the real ``xiphpc run``/``xiphpc merge`` they prove that a result computed under Slurm
  equals the one of a plain ``mpiexec -n 2 xiphpc run`` dataset for dataset.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner
from slurm_cluster import SlurmCluster, slurm_cluster_fixture  # noqa: F401

from xiphpc.pricing.products import REGISTRY
from xiphpc.scheduler.slurm import ARRAY_ID_PLACEHOLDER, slurm

ROOT = Path(__file__).resolve().parents[1]
DEMO_JOB = ROOT / "jobs" / "demo.toml"
VENV_BIN = str(Path(sys.executable).parent)
#: Seconds allowed for one ``sbatch --wait``; jobs here take seconds, a hang takes forever.
JOB_TIMEOUT_S = 120


def _env_with_venv() -> dict[str, str]:
    # The batch job inherits the submitter's environment; make sure the venv's mpiexec and
    # python are on it even when pytest was started without activating the venv.
    return {"PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}"}


@pytest.fixture
def job_file(tmp_path: Path) -> Path:
    """A minimal job file: only what the Slurm scripts read from it."""
    path = tmp_path / "desk-a.toml"
    path.write_text('name = "desk a"\n\n[output]\npath = "out/desk-a.h5"\n')
    return path


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
        f"srun --mpi=pmi2 --kill-on-bad-exit=1 xiphpc run {job_file} --out {out}",
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
    other = tmp_path / "desk-b.toml"
    other.write_text('name = "desk-b"\n')
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
        (["submit", "missing.toml", "-N", "1", "--ntasks-per-node", "1"], "does not exist"),
        (["submit", "bad.toml", "-N", "1", "--ntasks-per-node", "1"], "not valid TOML"),
        (["submit", "noout.toml", "-N", "1", "--ntasks-per-node", "1"], "give --out"),
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
            "does not exist",
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
    (tmp_path / "noout.toml").write_text('name = "x"\n')
    (tmp_path / "ok.toml").write_text('[output]\npath = "ok.h5"\n')
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
    other = tmp_path / "desk-b.toml"
    other.write_text('name = "desk-b"\n')
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
    cache = base / "numba-cache"
    ref = base / "reference.h5"
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), PATH=_env_with_venv()["PATH"])
    proc = subprocess.run(
        [
            "timeout",
            str(JOB_TIMEOUT_S),
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
    names = list(REGISTRY)
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
