"""Submit xiphpc runs to Slurm: ``xiphpc slurm submit`` and ``xiphpc slurm submit-array``.

The batch scripts are rendered from the templates in the package's ``scheduler/templates/`` folder
(or the
folder named by ``--template-dir`` / ``XIPHPC_SLURM_TEMPLATES``) and handed to ``sbatch``.
Rendering is pure text work, testable without Slurm; only :func:`sbatch` talks to the cluster.

Two shapes of work are covered:

* one risk job: ``templates/xiphpc-run.sbatch.in``, ranks started by ``srun --mpi=pmi2|pmix`` or by
  ``mpiexec`` inside the allocation;
* independent runs (one per desk or scenario slice) as a job array,
  ``templates/xiphpc-array.sbatch.in``, followed by a merge job,
  ``templates/xiphpc-merge.sbatch.in``,
  that depends on the whole array (``--dependency=afterok:<array job id>``) and combines the
  parts with ``xiphpc merge``.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

__all__ = [
    "JobFile",
    "LaunchSpec",
    "SlurmError",
    "load_job_file",
    "render_array_scripts",
    "render_run_script",
    "render_template",
    "job_state",
    "sbatch",
    "slurm",
    "template_dir",
]

#: Environment variable naming a folder of templates that replaces the package's templates.
TEMPLATE_DIR_ENV = "XIPHPC_SLURM_TEMPLATES"
RUN_TEMPLATE = "xiphpc-run.sbatch.in"
ARRAY_TEMPLATE = "xiphpc-array.sbatch.in"
MERGE_TEMPLATE = "xiphpc-merge.sbatch.in"
#: What the merge script's dependency reads before the array job id is known (``--dry-run``).
#: Not a number, so sbatch rejects the script if it is submitted by hand unedited.
ARRAY_ID_PLACEHOLDER = "<ARRAY_JOB_ID>"

LAUNCHERS = ("srun", "mpiexec")
MPI_PLUGINS = ("pmi2", "pmix")

_FIELD = re.compile(r"\{\{(\w+)\}\}")
# Slurm's --time formats: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS, or no limit.
_TIME = re.compile(
    r"^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+|\d+-\d+:\d{1,2}|\d+-\d+:\d{1,2}:\d{1,2}"
    r"|UNLIMITED|INFINITE)$"
)
_NAME_BAD = re.compile(r"[^A-Za-z0-9._-]+")
_JOB_ID = re.compile(r"^(\d+)(;\S+)?$")


class SlurmError(RuntimeError):
    """Slurm refused or failed a submission.

    Likely causes: ``sbatch`` is not on PATH (not on a login node), the request exceeds a
    partition's limits, or ``SLURM_CONF`` points nowhere.
    """


@dataclass(frozen=True)
class JobFile:
    """What the Slurm scripts need from a job file.

    Attributes
    ----------
    path : Path
        Absolute path of the TOML job file.
    name : str
        Job name, safe for ``--job-name`` and file names.
    output : Path or None
        Result path from ``[output] path``, absolute, or None where the file has none.
    """

    path: Path
    name: str
    output: Path | None


@dataclass(frozen=True)
class LaunchSpec:
    """Resources and launcher of one MPI run inside an allocation.

    Attributes
    ----------
    nodes, ntasks_per_node, cpus_per_task : int
        Slurm's ``--nodes``, ``--ntasks-per-node`` and ``--cpus-per-task``; ranks are
        ``nodes * ntasks_per_node`` and numba gets ``cpus_per_task`` threads per rank.
    time : str
        Slurm's ``--time`` limit.
    partition : str or None
        Slurm partition, or None for the cluster's default.
    launcher : {'srun', 'mpiexec'}
        How ranks are started (see ``slurm/README.md``).
    mpi : {'pmi2', 'pmix'}
        srun's PMI plugin; unused with ``mpiexec``.
    numba_cache_dir : str or None
        Persistent numba cache folder, or None for node-local per-job scratch.
    """

    nodes: int = 1
    ntasks_per_node: int = 1
    cpus_per_task: int = 1
    time: str = "01:00:00"
    partition: str | None = None
    launcher: str = "srun"
    mpi: str = "pmi2"
    numba_cache_dir: str | None = None

    @property
    def ntasks(self) -> int:
        """Total number of MPI ranks."""
        return self.nodes * self.ntasks_per_node

    def launch_prefix(self) -> str:
        """Command line that starts the ranks, up to the program to run."""
        if self.launcher == "srun":
            # --kill-on-bad-exit: one failing rank ends the step instead of leaving the
            # others waiting forever in a collective.
            return f"srun --mpi={self.mpi} --kill-on-bad-exit=1"
        # Hydra (MPICH) and OpenMPI's mpirun both read the allocation from Slurm and start
        # their ranks through srun; the rank count is still given so that a mismatch shows.
        return 'mpiexec -n "${SLURM_NTASKS}"'


def template_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Folder of the sbatch templates.

    Parameters
    ----------
    override : path-like, optional
        Explicit folder; otherwise ``XIPHPC_SLURM_TEMPLATES``, otherwise the project's
        ``templates/`` folder shipped inside this package.

    Returns
    -------
    Path
        The folder; it may not exist (callers report that when reading a template).
    """
    if override is not None:
        return Path(override)
    env = os.environ.get(TEMPLATE_DIR_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parent / "templates"


def render_template(text: str, values: Mapping[str, object]) -> str:
    """Fill every ``{{field}}`` of `text` from `values`.

    Raises
    ------
    KeyError
        A field of the template has no value: a template newer than this module, or a typo.
    """
    missing = sorted({m.group(1) for m in _FIELD.finditer(text)} - set(values))
    if missing:
        raise KeyError(f"template fields without a value: {', '.join(missing)}")
    return _FIELD.sub(lambda m: str(values[m.group(1)]), text)


def _read_template(name: str, folder: Path) -> str:
    path = folder / name
    try:
        return path.read_text()
    except OSError as exc:
        raise click.UsageError(
            f"cannot read the sbatch template {path} ({exc.strerror}); name the template "
            f"folder with --template-dir or {TEMPLATE_DIR_ENV}"
        ) from exc


def _safe_name(name: str) -> str:
    safe = _NAME_BAD.sub("-", name).strip("-.")
    return safe or "xiphpc"


def load_job_file(path: str | os.PathLike[str], *, base: Path | None = None) -> JobFile:
    """Read the name and output path of a job file.

    Parameters
    ----------
    path : path-like
        The TOML job file.
    base : Path, optional
        Folder that a relative ``[output] path`` is taken from; the current folder by default,
        as ``xiphpc run`` does.

    Returns
    -------
    JobFile

    Raises
    ------
    click.BadParameter
        The file is missing, unreadable, or not TOML.
    """
    job_path = Path(path).expanduser()
    if not job_path.is_file():
        raise click.BadParameter(f"job file {str(path)!r} does not exist", param_hint="JOB")
    try:
        doc = tomllib.loads(job_path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"cannot read job file {path}: {exc}", param_hint="JOB") from exc
    except tomllib.TOMLDecodeError as exc:
        raise click.BadParameter(
            f"job file {path} is not valid TOML: {exc}", param_hint="JOB"
        ) from exc
    name = None
    for table in (doc, doc.get("job")):
        if isinstance(table, dict) and isinstance(table.get("name"), str):
            name = table["name"]
            break
    output = None
    out_table = doc.get("output")
    if isinstance(out_table, dict) and isinstance(out_table.get("path"), str):
        output = Path(out_table["path"]).expanduser()
        if not output.is_absolute():
            output = (base or Path.cwd()) / output
    return JobFile(path=job_path.resolve(), name=_safe_name(name or job_path.stem), output=output)


def _shell_path(path: Path) -> str:
    return shlex.quote(str(path))


def _directive_path(path: Path, what: str) -> str:
    # #SBATCH lines are split on blanks by sbatch, without shell quoting.
    text = str(path)
    if any(ch.isspace() for ch in text):
        raise click.BadParameter(f"{what} {text!r} contains blanks, which #SBATCH cannot carry")
    return text


def _common_values(
    spec: LaunchSpec,
    *,
    job_name: str,
    log_dir: Path,
    workdir: Path,
    prefix: str,
    extra_directives: Sequence[str],
) -> dict[str, object]:
    if spec.numba_cache_dir:
        cache = shlex.quote(spec.numba_cache_dir)
        per_job = "no"
    else:
        # Expanded on the node at run time: per-job scratch if the site sets TMPDIR, else /tmp.
        cache = '"${TMPDIR:-/tmp}/xiphpc-numba-${SLURM_JOB_ID}"'
        per_job = "yes"
    directives = list(extra_directives)
    if spec.partition:
        directives.insert(0, f"#SBATCH --partition={spec.partition}")
    return {
        "job_name": job_name,
        "nodes": spec.nodes,
        "ntasks_per_node": spec.ntasks_per_node,
        "ntasks": spec.ntasks,
        "cpus_per_task": spec.cpus_per_task,
        "time": spec.time,
        "log_dir": _directive_path(log_dir, "log folder"),
        "workdir": _directive_path(workdir, "working folder"),
        "prefix": shlex.quote(prefix),
        "numba_cache_dir": cache,
        "numba_cache_per_job": per_job,
        "launcher": spec.launcher if spec.launcher == "mpiexec" else f"srun --mpi={spec.mpi}",
        "launch": spec.launch_prefix(),
        "extra_directives": "\n".join(directives),
    }


def render_run_script(
    job: JobFile,
    spec: LaunchSpec,
    *,
    out: Path,
    log_dir: Path,
    workdir: Path | None = None,
    prefix: str | None = None,
    templates: Path | None = None,
) -> str:
    """Render the batch script of one risk job.

    Parameters
    ----------
    job : JobFile
        The job to run.
    spec : LaunchSpec
        Resources and launcher.
    out : Path
        Result file, passed to ``xiphpc run --out``.
    log_dir : Path
        Folder of the job's stdout/stderr files (``%x-%j.out``/``.err``); must exist at
        submission, Slurm does not create it.
    workdir : Path, optional
        Folder the job starts in; the current folder by default.
    prefix : str, optional
        Python environment to use in the job; ``sys.prefix`` by default.
    templates : Path, optional
        Template folder, see :func:`template_dir`.

    Returns
    -------
    str
        The script, ready for ``sbatch``.
    """
    values = _common_values(
        spec,
        job_name=job.name,
        log_dir=log_dir,
        workdir=workdir or Path.cwd(),
        prefix=prefix or sys.prefix,
        extra_directives=(),
    )
    values.update(job_file=_shell_path(job.path), out_path=_shell_path(out))
    return render_template(_read_template(RUN_TEMPLATE, templates or template_dir()), values)


def render_array_scripts(
    jobs: Sequence[JobFile],
    spec: LaunchSpec,
    *,
    out: Path,
    parts: Sequence[Path],
    log_dir: Path,
    job_name: str,
    array_job_id: str = ARRAY_ID_PLACEHOLDER,
    max_parallel: int | None = None,
    workdir: Path | None = None,
    prefix: str | None = None,
    templates: Path | None = None,
) -> tuple[str, str]:
    """Render the job array of independent runs and the merge job that depends on it.

    Parameters
    ----------
    jobs : sequence of JobFile
        One job file per array task, in task order.
    spec : LaunchSpec
        Resources and launcher of each array task.
    out : Path
        Merged result file, written by ``xiphpc merge``.
    parts : sequence of Path
        Result file of each array task, same length as `jobs`.
    log_dir : Path
        Folder of the log files; must exist at submission.
    job_name : str
        Name of the array job; the merge job is ``<job_name>-merge``.
    array_job_id : str
        Job id of the submitted array, for the merge job's dependency.
    max_parallel : int, optional
        Most array tasks running at once (``--array=0-N%K``).
    workdir, prefix, templates
        As in :func:`render_run_script`.

    Returns
    -------
    tuple of str
        The array script and the merge script.
    """
    if len(jobs) != len(parts) or not jobs:
        raise ValueError("need one part file per job file, and at least one job file")
    folder = templates or template_dir()
    common = {
        "log_dir": log_dir,
        "workdir": workdir or Path.cwd(),
        "prefix": prefix or sys.prefix,
        "extra_directives": (),
    }
    part_words = " ".join(_shell_path(p) for p in parts)
    values = _common_values(spec, job_name=job_name, **common)
    values.update(
        last_index=len(jobs) - 1,
        array_throttle=f"%{max_parallel}" if max_parallel else "",
        job_files=" ".join(_shell_path(j.path) for j in jobs),
        part_files=part_words,
    )
    array_script = render_template(_read_template(ARRAY_TEMPLATE, folder), values)
    merge_values = _common_values(spec, job_name=f"{job_name}-merge", **common)
    merge_values.update(array_job_id=array_job_id, out_path=_shell_path(out), part_files=part_words)
    merge_script = render_template(_read_template(MERGE_TEMPLATE, folder), merge_values)
    return array_script, merge_script


def sbatch(
    script: Path,
    *,
    extra_args: Sequence[str] = (),
    wait: bool = False,
    echo_id: bool = False,
) -> tuple[str, int]:
    """Submit a batch script.

    Parameters
    ----------
    script : Path
        The rendered script (kept beside the logs as a record of what ran).
    extra_args : sequence of str
        More ``sbatch`` options, e.g. ``--dependency=...`` or ``--account=...``.
    wait : bool
        Pass ``--wait``: return only when the job ended, with its exit code.
    echo_id : bool
        Print the job id as soon as sbatch reports it (before a ``--wait`` returns).

    Returns
    -------
    job_id : str
        The job id Slurm assigned.
    returncode : int
        sbatch's exit code: 0, or with `wait` the job's (worst array task's) exit code.

    Raises
    ------
    SlurmError
        sbatch is missing, refused the job, or printed no job id.
    """
    exe = shutil.which("sbatch")
    if exe is None:
        raise SlurmError("sbatch not found on PATH: submit from a Slurm login node, or --dry-run")
    cmd = [exe, "--parsable", *extra_args, *(["--wait"] if wait else []), str(script)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    # --parsable prints "<id>[;cluster]" right after submission, even with --wait.
    first = proc.stdout.readline().strip()
    match = _JOB_ID.match(first)
    if match and echo_id:
        click.echo(match.group(1))
    rest, err = proc.communicate()
    if not match:
        raise SlurmError(
            f"sbatch {script.name} failed (exit {proc.returncode}): {(first + rest + err).strip()}"
        )
    return match.group(1), proc.returncode


# ---------------------------------------------------------------------------------------------
# command line


def _check_time(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not _TIME.match(value):
        raise click.BadParameter(
            f"{value!r} is not a Slurm time limit (minutes, HH:MM:SS, D-HH:MM:SS or UNLIMITED)"
        )
    return value


def _resource_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by ``submit`` and ``submit-array``."""
    options = [
        click.option(
            "--nodes", "-N", type=click.IntRange(min=1), required=True, help="Nodes per run."
        ),
        click.option(
            "--ntasks-per-node",
            type=click.IntRange(min=1),
            required=True,
            help="MPI ranks per node.",
        ),
        click.option(
            "--cpus-per-task",
            "-c",
            type=click.IntRange(min=1),
            default=1,
            show_default=True,
            help="CPUs per rank; numba uses as many threads.",
        ),
        click.option(
            "--time",
            "-t",
            "time_limit",
            default="01:00:00",
            show_default=True,
            callback=_check_time,
            help="Wall-clock limit of each job.",
        ),
        click.option("--partition", "-p", default=None, help="Slurm partition."),
        click.option(
            "--launcher",
            type=click.Choice(LAUNCHERS),
            default="srun",
            show_default=True,
            help="How ranks are started (see slurm/README.md).",
        ),
        click.option(
            "--mpi",
            type=click.Choice(MPI_PLUGINS),
            default=None,
            help="srun's PMI plugin [default: pmi2]; only with --launcher srun.",
        ),
        click.option(
            "--numba-cache-dir",
            default=None,
            help="Persistent numba cache; default: node-local per-job scratch.",
        ),
        click.option(
            "--log-dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="Folder of the logs [default: logs/ beside the result].",
        ),
        click.option(
            "--template-dir",
            "templates",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help=f"Template folder [default: ${TEMPLATE_DIR_ENV} or the package's templates].",
        ),
        click.option(
            "--prefix",
            "python_prefix",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="Python environment the job uses [default: the current one, sys.prefix].",
        ),
        click.option(
            "--sbatch-arg",
            "sbatch_args",
            multiple=True,
            help="Extra sbatch option, e.g. --sbatch-arg=--account=risk (repeatable).",
        ),
        click.option(
            "--wait",
            is_flag=True,
            help="Return when the job ended, with its exit code (sbatch --wait).",
        ),
        click.option("--dry-run", is_flag=True, help="Print the script(s); submit nothing."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _spec(
    nodes: int,
    ntasks_per_node: int,
    cpus_per_task: int,
    time_limit: str,
    partition: str | None,
    launcher: str,
    mpi: str | None,
    numba_cache_dir: str | None,
) -> LaunchSpec:
    if mpi is not None and launcher != "srun":
        raise click.UsageError("--mpi applies to --launcher srun only")
    return LaunchSpec(
        nodes=nodes,
        ntasks_per_node=ntasks_per_node,
        cpus_per_task=cpus_per_task,
        time=time_limit,
        partition=partition,
        launcher=launcher,
        mpi=mpi or "pmi2",
        numba_cache_dir=numba_cache_dir,
    )


def _prefix(python_prefix: Path | None) -> str | None:
    return str(python_prefix.expanduser().absolute()) if python_prefix else None


def _script_path(log_dir: Path, name: str) -> Path:
    # A copy of every submitted script stays beside its logs, as the record of what ran.
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return log_dir / f"{name}-{stamp}-{os.getpid()}.sbatch"


def job_state(job_id: str) -> str | None:
    """Slurm's state of a job (``COMPLETED``, ``CANCELLED``...), or None once it is forgotten.

    slurmctld forgets finished jobs after ``MinJobAge`` seconds; without accounting there is
    no other record, so callers must not rely on an answer.
    """
    exe = shutil.which("scontrol")
    if exe is None:
        return None
    try:
        proc = subprocess.run(
            [exe, "-o", "show", "job", job_id],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    match = re.search(r"\bJobState=(\S+)", proc.stdout)
    return match.group(1) if match else None


def _exit_with(
    ctx: click.Context,
    job_id: str,
    returncode: int,
    *,
    wait: bool,
    result: Path,
    since: float,
    logs: Path,
) -> None:
    """Turn the end of a waited-for job into the command's exit code."""
    if not wait:
        return
    if returncode != 0:
        click.echo(f"Slurm job {job_id} failed (exit {returncode}); logs in {logs}", err=True)
        ctx.exit(returncode)
    # sbatch --wait also returns 0 for a job that was cancelled before it ran (e.g. a merge
    # job whose array task failed): only a freshly written result counts as success.
    try:
        fresh = result.stat().st_mtime >= since - 1.0
    except OSError:
        fresh = False
    if not fresh:
        state = job_state(job_id) or "unknown"
        click.echo(
            f"Slurm job {job_id} ended (state {state}) without writing {result}; logs in {logs}",
            err=True,
        )
        ctx.exit(1)


slurm = click.Group(
    "slurm",
    help="Run xiphpc jobs on a Slurm cluster: render sbatch scripts and submit them.",
)


@slurm.command("submit")
@click.argument("job", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Result file [default: the job file's [output] path].",
)
@_resource_options
@click.pass_context
def submit(
    ctx: click.Context,
    job: Path,
    out: Path | None,
    nodes: int,
    ntasks_per_node: int,
    cpus_per_task: int,
    time_limit: str,
    partition: str | None,
    launcher: str,
    mpi: str | None,
    numba_cache_dir: str | None,
    log_dir: Path | None,
    templates: Path | None,
    python_prefix: Path | None,
    sbatch_args: tuple[str, ...],
    wait: bool,
    dry_run: bool,
) -> None:
    """Submit one risk job JOB (a TOML job file) as a Slurm batch job; print its job id."""
    spec = _spec(
        nodes, ntasks_per_node, cpus_per_task, time_limit, partition, launcher, mpi, numba_cache_dir
    )
    info = load_job_file(job)
    result = out.expanduser().absolute() if out else info.output
    if result is None:
        raise click.UsageError(f"{job} has no [output] path: give --out")
    logs = (log_dir or result.parent / "logs").expanduser().absolute()
    script = render_run_script(
        info, spec, out=result, log_dir=logs, templates=templates, prefix=_prefix(python_prefix)
    )
    if dry_run:
        click.echo(script, nl=False)
        return
    logs.mkdir(parents=True, exist_ok=True)
    result.parent.mkdir(parents=True, exist_ok=True)
    path = _script_path(logs, info.name)
    path.write_text(script)
    since = time.time()
    try:
        job_id, rc = sbatch(path, extra_args=sbatch_args, wait=wait, echo_id=True)
    except SlurmError as exc:
        raise click.ClickException(str(exc)) from exc
    _exit_with(ctx, job_id, rc, wait=wait, result=result, since=since, logs=logs)


@slurm.command("submit-array")
@click.argument("jobs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Merged result file.",
)
@click.option(
    "--parts-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of the per-task results [default: <out>.parts/].",
)
@click.option(
    "--job-name",
    default=None,
    help="Array job name [default: the stem of --out]; the merge job adds -merge.",
)
@click.option(
    "--max-parallel",
    type=click.IntRange(min=1),
    default=None,
    help="Most array tasks running at once (--array=...%K).",
)
@_resource_options
@click.pass_context
def submit_array(
    ctx: click.Context,
    jobs: tuple[Path, ...],
    out: Path,
    parts_dir: Path | None,
    job_name: str | None,
    max_parallel: int | None,
    nodes: int,
    ntasks_per_node: int,
    cpus_per_task: int,
    time_limit: str,
    partition: str | None,
    launcher: str,
    mpi: str | None,
    numba_cache_dir: str | None,
    log_dir: Path | None,
    templates: Path | None,
    python_prefix: Path | None,
    sbatch_args: tuple[str, ...],
    wait: bool,
    dry_run: bool,
) -> None:
    """Run each of JOBS as one task of a job array, then merge their results into --out.

    The job files must cover disjoint trade sets (one per desk, say): the merge job, which
    starts only when every task succeeded, concatenates their per-trade results. Prints the
    array job id and the merge job id; with --wait, returns when the merge job ended.
    """
    spec = _spec(
        nodes, ntasks_per_node, cpus_per_task, time_limit, partition, launcher, mpi, numba_cache_dir
    )
    infos = [load_job_file(job) for job in jobs]
    merged = out.expanduser().absolute()
    parts_folder = (parts_dir or merged.with_name(merged.name + ".parts")).expanduser().absolute()
    # Index-numbered parts: two job files may share a name (the same job on two slices).
    parts = [parts_folder / f"part-{i:03d}-{info.name}.h5" for i, info in enumerate(infos)]
    logs = (log_dir or merged.parent / "logs").expanduser().absolute()
    name = _safe_name(job_name or merged.stem)

    def render(array_id: str) -> tuple[str, str]:
        return render_array_scripts(
            infos,
            spec,
            out=merged,
            parts=parts,
            log_dir=logs,
            job_name=name,
            array_job_id=array_id,
            max_parallel=max_parallel,
            templates=templates,
            prefix=_prefix(python_prefix),
        )

    if dry_run:
        array_script, merge_script = render(ARRAY_ID_PLACEHOLDER)
        click.echo(array_script, nl=False)
        click.echo(f"\n# ---- then, with the array's job id for {ARRAY_ID_PLACEHOLDER}: ----\n")
        click.echo(merge_script, nl=False)
        return
    for folder in (logs, parts_folder, merged.parent):
        folder.mkdir(parents=True, exist_ok=True)
    array_script, _ = render(ARRAY_ID_PLACEHOLDER)
    array_path = _script_path(logs, name)
    array_path.write_text(array_script)
    since = time.time()
    try:
        array_id, _ = sbatch(array_path, extra_args=sbatch_args, echo_id=True)
        _, merge_script = render(array_id)
        merge_path = _script_path(logs, f"{name}-merge")
        merge_path.write_text(merge_script)
        merge_id, rc = sbatch(merge_path, extra_args=sbatch_args, wait=wait, echo_id=True)
    except SlurmError as exc:
        raise click.ClickException(str(exc)) from exc
    _exit_with(ctx, merge_id, rc, wait=wait, result=merged, since=since, logs=logs)


if __name__ == "__main__":
    slurm()
