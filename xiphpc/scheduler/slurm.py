"""Submit xiphpc runs to Slurm: ``xiphpc slurm submit`` and ``xiphpc slurm submit-array``.

The batch scripts are rendered from the templates in the package's ``scheduler/templates/``
folder (or the folder named by ``--template-dir`` / ``XIPHPC_SLURM_TEMPLATES``) and handed to
``sbatch``. Rendering is pure text work, testable without Slurm; only :func:`sbatch` talks to
the cluster. Job files are read by the engine's own reader (:func:`xiphpc.config.job.load_job`),
so a file is accepted or refused here exactly as ``xiphpc run`` would, with the same messages,
and without loading the pricing library.

Two shapes of work are covered:

* one risk job: ``xiphpc-run.sbatch.in``, ranks started by ``srun --mpi=pmi2|pmix`` or by
  ``mpiexec`` inside the allocation;
* independent runs (one per desk or scenario slice) as a job array, ``xiphpc-array.sbatch.in``,
  followed by a merge job, ``xiphpc-merge.sbatch.in``, that depends on the whole array
  (``--dependency=afterok:<array job id>``) and combines the parts with ``xiphpc merge``.

Every value that goes into a script is data: :func:`render_template` checks and quotes it for
the place its field stands in (an ``#SBATCH`` line, a comment, or a word of shell code), so a
path or name can neither run code nor add a line. Only fragments this module composes from
checked parts (:class:`ShellCode`) are inserted as code.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from xiphpc.config.errors import EXIT_BAD_INPUT, JobError

if TYPE_CHECKING:
    from xiphpc.config.job import JobSpec

__all__ = [
    "LaunchSpec",
    "SbatchLines",
    "ShellCode",
    "SlurmError",
    "TemplateError",
    "check_line",
    "check_log_dir",
    "check_sbatch_word",
    "check_slurm_name",
    "check_time",
    "job_state",
    "read_jobs",
    "render_array_scripts",
    "render_run_script",
    "render_template",
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
    r"(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+|\d+-\d+:\d{1,2}|\d+-\d+:\d{1,2}:\d{1,2}"
    r"|UNLIMITED|INFINITE)"
)
_NAME_BAD = re.compile(r"[^A-Za-z0-9._-]+")
_JOB_ID = re.compile(r"^(\d+)(;\S+)?$")
#: Control characters: a value holding one (a newline above all) could add a line to a script.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: What sbatch's reader of #SBATCH lines does not take literally: blanks separate arguments,
#: quotes group them, a backslash escapes the next character and an unquoted '#' starts a
#: comment (sbatch/opt.c, _get_argument).
_SBATCH_SPECIAL = re.compile(r"""[\s'"\\#]""")
#: Partition, account, QOS and job names. slurm.conf and sacctmgr take names as blank-separated
#: words, '#' starts a comment there, ',' separates the partitions of a list and sacctmgr keeps
#: names in lower case; real names are words of letters, digits, '_', '-' and '.', which is what
#: is accepted here (the job name also becomes part of file names, through %x and the copy of the
#: script kept beside the logs).
_SLURM_NAME = re.compile(r"[A-Za-z0-9_.-]+")


class SlurmError(RuntimeError):
    """Slurm refused or failed a submission.

    Likely causes: ``sbatch`` is not on PATH (not on a login node), the request exceeds a
    partition's limits, or ``SLURM_CONF`` points nowhere.
    """


class TemplateError(ValueError):
    """A template puts a field where no value can be inserted safely.

    Likely causes: a site template that writes a field inside quotes (``"{{out_path}}"``) or in
    a here-document, or a template with unbalanced quotes.
    """


# ---------------------------------------------------------------------------------------------
# values: checks shared by the command line and the renderer


def check_line(value: str, what: str) -> str:
    """`value` if it holds no control character (newline, tab, ...), else ValueError."""
    if _CONTROL.search(value):
        raise ValueError(f"{what} {value!r} contains a control character (newline, tab...)")
    return value


def check_sbatch_word(value: str, what: str) -> str:
    """`value` if sbatch reads it back unchanged as one argument of an ``#SBATCH`` line."""
    check_line(value, what)
    if _SBATCH_SPECIAL.search(value):
        raise ValueError(
            f"{what} {value!r} contains a blank, a quote, a backslash or '#', which an #SBATCH "
            "line cannot carry"
        )
    return value


def check_slurm_name(value: str, what: str, *, several: bool = False) -> str:
    """`value` if it is a Slurm name (letters, digits, ``_``, ``-``, ``.``); with `several`, a
    comma-separated list of such names (sbatch's ``--partition`` takes a list)."""
    check_line(value, what)
    names = value.split(",") if several else [value]
    if not all(_SLURM_NAME.fullmatch(n) for n in names):
        kind = "comma-separated Slurm names" if several else "a Slurm name"
        raise ValueError(f"{what} {value!r} is not {kind} (letters, digits, '_', '-' and '.' only)")
    return value


def check_log_dir(path: str | os.PathLike[str], what: str) -> Path:
    """`path` if it can stand in ``#SBATCH --output``/``--error`` as a literal folder."""
    text = check_sbatch_word(os.fspath(path), what)
    if "%" in text:
        raise ValueError(
            f"{what} {text!r} contains '%', which Slurm replaces in log file names (%j, %x...)"
        )
    return Path(path)


def check_time(value: str, what: str = "time limit") -> str:
    """`value` if it is a Slurm ``--time`` limit."""
    if not _TIME.fullmatch(value):
        raise ValueError(
            f"{what} {value!r} is not a Slurm time limit (minutes, HH:MM:SS, D-HH:MM:SS or "
            "UNLIMITED)"
        )
    return value


# ---------------------------------------------------------------------------------------------
# templates


@dataclass(frozen=True)
class ShellCode:
    """Shell code composed by this module from checked parts, inserted into a script as is.

    Attributes
    ----------
    text : str
        One line of shell code, e.g. ``srun --mpi=pmi2 --kill-on-bad-exit=1``.
    """

    text: str


@dataclass(frozen=True)
class SbatchLines:
    """Extra ``#SBATCH`` options, one line each, for a field that stands alone on its line.

    Attributes
    ----------
    options : tuple of str
        Each one sbatch argument, e.g. ``--partition=risk``.
    """

    options: tuple[str, ...] = ()


def _field_places(text: str, source: str) -> list[tuple[re.Match[str], str]]:
    """Every ``{{field}}`` of a template with the place it stands in.

    Places are ``"sbatch"`` (an ``#SBATCH`` line), ``"comment"``, ``"line"`` (alone on a line
    of shell code) and ``"word"`` (within a line of shell code). The scan follows the shell's
    quotes, backslash escapes, comments, parentheses and ``$(...)``; a field inside quotes or
    backquotes is refused, because no quoting of the value is right there, and so are
    here-documents, which the scan does not follow.

    Raises
    ------
    TemplateError
    """
    fields = {m.start(): m for m in _FIELD.finditer(text)}
    places: list[tuple[re.Match[str], str]] = []
    # Quoting frames, innermost last: code, subst ($( ... )), paren, squote, dquote,
    # backquote, comment.
    stack = ["code"]
    line_start = 0
    lineno = 1
    i = 0
    while i < len(text):
        top = stack[-1]
        match = fields.get(i)
        if match is not None:
            line_end = text.find("\n", i)
            line = text[line_start : len(text) if line_end < 0 else line_end]
            if top == "comment":
                # Only a line that is a comment to bash too is read by sbatch as a directive.
                place = "sbatch" if line.startswith("#SBATCH") else "comment"
            elif top in ("code", "subst", "paren"):
                place = "line" if line.strip() == match.group(0) else "word"
            else:
                quoted = {"squote": "single quotes", "dquote": "double quotes"}
                raise TemplateError(
                    f"{source}, line {lineno}: {match.group(0)} stands inside "
                    f"{quoted.get(top, 'backquotes')}; a field in shell code must be a word of "
                    "its own"
                )
            places.append((match, place))
            i = match.end()
            continue
        ch = text[i]
        if ch == "\n":
            line_start, lineno = i + 1, lineno + 1
            if top == "comment":
                stack.pop()
        elif top == "comment":
            pass
        elif top == "squote":
            if ch == "'":
                stack.pop()
        elif ch == "\\":
            # An escaped character (or line continuation) is literal in code and in quotes.
            if text[i + 1 : i + 2] == "\n":
                line_start, lineno = i + 2, lineno + 1
            i += 2
            continue
        elif top == "dquote":
            if ch == '"':
                stack.pop()
            elif text.startswith("$(", i):
                stack.append("subst")
                i += 2
                continue
            elif ch == "`":
                stack.append("backquote")
        elif top == "backquote":
            if ch == "`":
                stack.pop()
        elif ch == "'":
            stack.append("squote")
        elif ch == '"':
            stack.append("dquote")
        elif ch == "`":
            stack.append("backquote")
        elif text.startswith("$(", i):
            stack.append("subst")
            i += 2
            continue
        elif ch == "(":
            stack.append("paren")
        elif ch == ")":
            if len(stack) > 1:
                stack.pop()
        elif ch == "#" and (i == line_start or text[i - 1] in " \t;&|()"):
            stack.append("comment")
        elif text.startswith("<<", i) and not text.startswith("<<<", i):
            raise TemplateError(
                f"{source}, line {lineno}: here-documents are not supported in templates"
            )
        i += 1
    if stack not in (["code"], ["code", "comment"]):
        raise TemplateError(f"{source}: unbalanced quotes or parentheses ({stack[-1]} left open)")
    return places


def _shell_word(value: object, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, os.PathLike)):
        raise TypeError(f"template field {field}: cannot render {type(value).__name__} as a word")
    if isinstance(value, int):
        return str(value)
    return shlex.quote(check_line(os.fspath(value), f"template field {field}:"))


def _render_value(field: str, value: object, place: str) -> str:
    """`value` as text for a field standing in `place` (see :func:`_field_places`)."""
    if isinstance(value, SbatchLines):
        if place != "line":
            raise TypeError(f"template field {field}: #SBATCH lines need a line of their own")
        return "\n".join(
            "#SBATCH " + check_sbatch_word(o, f"template field {field}:") for o in value.options
        )
    if isinstance(value, ShellCode):
        if place not in ("line", "word"):
            raise TypeError(f"template field {field}: shell code outside shell code")
        return check_line(value.text, f"template field {field}:")
    if place in ("line", "word"):
        if isinstance(value, (list, tuple)):
            return " ".join(_shell_word(v, field) for v in value)
        return _shell_word(value, field)
    if isinstance(value, (list, tuple)) or not isinstance(value, (str, int, os.PathLike)):
        raise TypeError(f"template field {field}: cannot render {type(value).__name__} here")
    text = str(value) if isinstance(value, int) else os.fspath(value)
    what = f"template field {field}:"
    return check_sbatch_word(text, what) if place == "sbatch" else check_line(text, what)


def render_template(text: str, values: Mapping[str, object], *, source: str = "template") -> str:
    """Fill every ``{{field}}`` of `text` from `values`, each quoted for where it stands.

    Parameters
    ----------
    text : str
        The template: a bash script whose ``{{field}}`` marks stand in ``#SBATCH`` lines, in
        comments, or as words of shell code outside quotes.
    values : mapping
        Value of each field: a str, path or int is data (one sbatch argument in an ``#SBATCH``
        line, one line of text in a comment, one shell word, quoted, in code); a list or tuple
        of such is several shell words; :class:`ShellCode` is code inserted as is and
        :class:`SbatchLines` are ``#SBATCH`` lines for a field alone on its line.
    source : str
        Name of the template, for messages.

    Raises
    ------
    KeyError
        A field of the template has no value: a template newer than this module, or a typo.
    TemplateError
        A field stands where no value can be inserted safely (inside quotes, say).
    ValueError
        A value cannot stand where its field is (a blank in an ``#SBATCH`` line, a newline).
    """
    places = _field_places(text, source)
    missing = sorted({m.group(1) for m, _ in places} - set(values))
    if missing:
        raise KeyError(f"template fields without a value: {', '.join(missing)}")
    out: list[str] = []
    pos = 0
    for match, place in places:
        out.append(text[pos : match.start()])
        out.append(_render_value(match.group(1), values[match.group(1)], place))
        pos = match.end()
    out.append(text[pos:])
    return "".join(out)


@dataclass(frozen=True)
class LaunchSpec:
    """Resources and launcher of one MPI run inside an allocation; checked when made.

    Attributes
    ----------
    nodes, ntasks_per_node, cpus_per_task : int
        Slurm's ``--nodes``, ``--ntasks-per-node`` and ``--cpus-per-task``; ranks are
        ``nodes * ntasks_per_node`` and numba gets ``cpus_per_task`` threads per rank.
    time : str
        Slurm's ``--time`` limit.
    partition : str or None
        Slurm partition (or comma-separated partitions), or None for the cluster's default.
    account, qos : str or None
        Slurm account to charge and quality of service, or None for the user's defaults.
    launcher : {'srun', 'mpiexec'}
        How ranks are started (see ``slurm/README.md``).
    mpi : {'pmi2', 'pmix'}
        srun's PMI plugin; unused with ``mpiexec``.
    numba_cache_dir : str or None
        Persistent numba cache folder, or None for node-local per-job scratch.

    Raises
    ------
    ValueError
        A value Slurm or the script could not take (see :func:`check_slurm_name`).
    """

    nodes: int = 1
    ntasks_per_node: int = 1
    cpus_per_task: int = 1
    time: str = "01:00:00"
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    launcher: str = "srun"
    mpi: str = "pmi2"
    numba_cache_dir: str | None = None

    def __post_init__(self) -> None:
        for name in ("nodes", "ntasks_per_node", "cpus_per_task"):
            count = getattr(self, name)
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ValueError(f"{name} {count!r} is not a positive integer")
        check_time(self.time)
        if self.partition is not None:
            check_slurm_name(self.partition, "partition", several=True)
        for name in ("account", "qos"):
            if getattr(self, name) is not None:
                check_slurm_name(getattr(self, name), name)
        if self.launcher not in LAUNCHERS:
            raise ValueError(f"launcher {self.launcher!r} is not one of {', '.join(LAUNCHERS)}")
        if self.mpi not in MPI_PLUGINS:
            raise ValueError(f"MPI plugin {self.mpi!r} is not one of {', '.join(MPI_PLUGINS)}")
        if self.numba_cache_dir is not None:
            check_line(self.numba_cache_dir, "numba cache folder")

    @property
    def ntasks(self) -> int:
        """Total number of MPI ranks."""
        return self.nodes * self.ntasks_per_node

    @property
    def launcher_label(self) -> str:
        """The launcher as the job's log names it: ``srun --mpi=pmi2`` or ``mpiexec``."""
        return self.launcher if self.launcher == "mpiexec" else f"srun --mpi={self.mpi}"

    def launch_prefix(self) -> ShellCode:
        """Command line that starts the ranks, up to the program to run."""
        if self.launcher == "srun":
            # --kill-on-bad-exit: one failing rank ends the step instead of leaving the
            # others waiting forever in a collective.
            return ShellCode(f"srun --mpi={self.mpi} --kill-on-bad-exit=1")
        # Hydra (MPICH) and OpenMPI's mpirun both read the allocation from Slurm and start
        # their ranks through srun; the rank count is still given so that a mismatch shows.
        return ShellCode('mpiexec -n "${SLURM_NTASKS}"')

    def directives(self) -> SbatchLines:
        """The optional ``#SBATCH`` options: partition, account, QOS."""
        options = (("partition", self.partition), ("account", self.account), ("qos", self.qos))
        return SbatchLines(tuple(f"--{name}={value}" for name, value in options if value))


def template_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Folder of the sbatch templates.

    Parameters
    ----------
    override : path-like, optional
        Explicit folder; otherwise ``XIPHPC_SLURM_TEMPLATES``, otherwise the ``templates/``
        folder installed with this package.

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


def _read_template(name: str, folder: Path) -> tuple[str, str]:
    path = folder / name
    try:
        return path.read_text(), str(path)
    except OSError as exc:
        raise click.UsageError(
            f"cannot read the sbatch template {path} ({exc.strerror}); name the template "
            f"folder with --template-dir or {TEMPLATE_DIR_ENV}"
        ) from exc


def _render(name: str, folder: Path, values: Mapping[str, object]) -> str:
    text, source = _read_template(name, folder)
    return render_template(text, values, source=source)


def _safe_name(name: str) -> str:
    safe = _NAME_BAD.sub("-", name).strip("-.")
    return safe or "xiphpc"


def _job_name(job: JobSpec) -> str:
    """The job file's ``name``, made a Slurm job name (runs of other characters become ``-``)."""
    return _safe_name(job.name)


def _job_path(job: JobSpec) -> Path:
    return Path(job.source).expanduser().resolve()


def read_jobs(paths: Iterable[str | os.PathLike[str]]) -> list[JobSpec]:
    """Read job files with the engine's reader, :func:`xiphpc.config.job.load_job`.

    Raises
    ------
    JobError
        With the problems of every file, as ``xiphpc run`` and ``xiphpc validate`` report them.
    """
    from xiphpc.config.job import load_job

    jobs, problems = [], []
    for path in paths:
        try:
            jobs.append(load_job(path))
        except JobError as exc:
            problems.extend(exc.problems)
    if problems:
        raise JobError(problems)
    return jobs


def _common_values(
    spec: LaunchSpec, *, job_name: str, log_dir: Path, workdir: Path, prefix: str
) -> dict[str, object]:
    check_log_dir(log_dir, "log folder")
    if spec.numba_cache_dir:
        cache: object = spec.numba_cache_dir
        per_job = "no"
    else:
        # Expanded on the node at run time: per-job scratch if the site sets TMPDIR, else /tmp.
        cache = ShellCode('"${TMPDIR:-/tmp}/xiphpc-numba-${SLURM_JOB_ID}"')
        per_job = "yes"
    return {
        "job_name": check_slurm_name(job_name, "job name"),
        "nodes": spec.nodes,
        "ntasks_per_node": spec.ntasks_per_node,
        "ntasks": spec.ntasks,
        "cpus_per_task": spec.cpus_per_task,
        "time": spec.time,
        "log_dir": log_dir,
        "workdir": workdir,
        "prefix": prefix,
        "numba_cache_dir": cache,
        "numba_cache_per_job": per_job,
        "launcher": spec.launcher_label,
        "launch": spec.launch_prefix(),
        "extra_directives": spec.directives(),
    }


def render_run_script(
    job: JobSpec,
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
    job : JobSpec
        The job to run, as :func:`read_jobs` read it.
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

    Raises
    ------
    ValueError
        A value the script cannot carry (see :func:`render_template`).
    """
    values = _common_values(
        spec,
        job_name=_job_name(job),
        log_dir=log_dir,
        workdir=workdir or Path.cwd(),
        prefix=prefix or sys.prefix,
    )
    values.update(job_file=_job_path(job), out_path=out)
    return _render(RUN_TEMPLATE, templates or template_dir(), values)


def render_array_scripts(
    jobs: Sequence[JobSpec],
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
    jobs : sequence of JobSpec
        One job per array task, in task order, as :func:`read_jobs` read them.
    spec : LaunchSpec
        Resources and launcher of each array task.
    out : Path
        Merged result file, written by ``xiphpc merge``.
    parts : sequence of Path
        Result file of each array task, same length as `jobs`.
    log_dir : Path
        Folder of the log files; must exist at submission.
    job_name : str
        Name of the array job (a Slurm name); the merge job is ``<job_name>-merge``.
    array_job_id : str
        Job id of the submitted array (digits), for the merge job's dependency.
    max_parallel : int, optional
        Most array tasks running at once (``--array=0-N%K``).
    workdir, prefix, templates
        As in :func:`render_run_script`.

    Returns
    -------
    tuple of str
        The array script and the merge script.

    Raises
    ------
    ValueError
        A value the scripts cannot carry (see :func:`render_template`).
    """
    if len(jobs) != len(parts) or not jobs:
        raise ValueError("need one part file per job file, and at least one job file")
    if array_job_id != ARRAY_ID_PLACEHOLDER and not array_job_id.isdigit():
        raise ValueError(f"array job id {array_job_id!r} is not a Slurm job id")
    if max_parallel is not None and (isinstance(max_parallel, bool) or max_parallel < 1):
        raise ValueError(f"max_parallel {max_parallel!r} is not a positive integer")
    folder = templates or template_dir()
    common = {
        "log_dir": log_dir,
        "workdir": workdir or Path.cwd(),
        "prefix": prefix or sys.prefix,
    }
    values = _common_values(spec, job_name=job_name, **common)
    values.update(
        last_index=len(jobs) - 1,
        array_throttle=f"%{int(max_parallel)}" if max_parallel else "",
        job_files=[_job_path(j) for j in jobs],
        part_files=list(parts),
    )
    array_script = _render(ARRAY_TEMPLATE, folder, values)
    merge_values = _common_values(spec, job_name=f"{job_name}-merge", **common)
    merge_values.update(array_job_id=array_job_id, out_path=out, part_files=list(parts))
    merge_script = _render(MERGE_TEMPLATE, folder, merge_values)
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


# ---------------------------------------------------------------------------------------------
# command line


def _checked(
    check: Callable[..., object], what: str, **kwargs: Any
) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback that refuses, naming the option, a value that `check` refuses."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        for item in value if isinstance(value, tuple) else (value,):
            if item is not None:
                try:
                    check(os.fspath(item), what, **kwargs)
                except ValueError as exc:
                    raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc
        return value

    return callback


def _path_option(*names: str, help: str, **kwargs: Any) -> Callable[..., Any]:
    kwargs.setdefault("callback", _checked(check_line, "path"))
    return click.option(*names, default=None, help=help, **kwargs)


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
            callback=_checked(check_time, "time limit"),
            help="Wall-clock limit of each job.",
        ),
        click.option(
            "--partition",
            "-p",
            default=None,
            callback=_checked(check_slurm_name, "partition", several=True),
            help="Slurm partition (or comma-separated partitions).",
        ),
        click.option(
            "--account",
            "-A",
            default=None,
            callback=_checked(check_slurm_name, "account"),
            help="Slurm account to charge [default: the user's default account].",
        ),
        click.option(
            "--qos",
            "-q",
            default=None,
            callback=_checked(check_slurm_name, "QOS"),
            help="Slurm quality of service [default: the account's default].",
        ),
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
        _path_option(
            "--numba-cache-dir",
            help="Persistent numba cache; default: node-local per-job scratch.",
        ),
        _path_option(
            "--log-dir",
            type=click.Path(file_okay=False, path_type=Path),
            callback=_checked(check_log_dir, "log folder"),
            help="Folder of the logs [default: logs/ beside the result].",
        ),
        _path_option(
            "--template-dir",
            "templates",
            type=click.Path(file_okay=False, path_type=Path),
            help=f"Template folder [default: ${TEMPLATE_DIR_ENV} or the package's templates].",
        ),
        _path_option(
            "--prefix",
            "python_prefix",
            type=click.Path(file_okay=False, path_type=Path),
            help="Python environment the job uses [default: the current one, sys.prefix].",
        ),
        click.option(
            "--sbatch-arg",
            "sbatch_args",
            multiple=True,
            help="Extra sbatch option, e.g. --sbatch-arg=--exclusive (repeatable).",
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
    account: str | None,
    qos: str | None,
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
        account=account,
        qos=qos,
        launcher=launcher,
        mpi=mpi or "pmi2",
        numba_cache_dir=numba_cache_dir,
    )


def _prefix(python_prefix: Path | None) -> str | None:
    return str(python_prefix.expanduser().absolute()) if python_prefix else None


def _read_jobs_or_exit(paths: Sequence[Path]) -> list[JobSpec]:
    """The job files, or exit 2 listing their problems as ``xiphpc validate`` does."""
    try:
        return read_jobs(paths)
    except JobError as exc:
        names = ", ".join(str(p) for p in paths)
        click.echo(f"xiphpc: cannot submit {names}: {len(exc.problems)} problem(s)", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        raise click.exceptions.Exit(EXIT_BAD_INPUT) from exc


def _log_folder(log_dir: Path | None, result: Path, result_hint: str) -> Path:
    """``--log-dir``, else ``logs/`` beside the result; refused, naming the option it comes
    from, where it cannot stand in an ``#SBATCH`` line."""
    logs = (log_dir or result.parent / "logs").expanduser().absolute()
    try:
        return check_log_dir(logs, "log folder")
    except ValueError as exc:
        if log_dir is not None:
            raise click.BadParameter(str(exc), param_hint="'--log-dir'") from exc
        raise click.BadParameter(
            f"{exc} (logs/ beside the result by default): give --log-dir", param_hint=result_hint
        ) from exc


def _workdir() -> Path:
    """The current folder, which the job starts in (``#SBATCH --chdir``)."""
    cwd = Path.cwd()
    try:
        return Path(check_sbatch_word(str(cwd), "the current folder"))
    except ValueError as exc:
        raise click.UsageError(f"{exc}: the job starts there; run from another folder") from exc


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
@click.argument(
    "job", type=click.Path(path_type=Path), callback=_checked(check_line, "job file path")
)
@_path_option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
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
    account: str | None,
    qos: str | None,
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
    """Submit one risk job JOB (a TOML job file) as a Slurm batch job; print its job id.

    JOB is checked as `xiphpc run` checks it (keys, values, input files) before anything is
    rendered; its problems are listed with exit status 2.
    """
    spec = _spec(
        nodes,
        ntasks_per_node,
        cpus_per_task,
        time_limit,
        partition,
        account,
        qos,
        launcher,
        mpi,
        numba_cache_dir,
    )
    workdir = _workdir()
    (info,) = _read_jobs_or_exit([job])
    result = info.output_path(out)
    try:
        check_line(str(result), "result path")
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=f"{job}: output.path") from exc
    logs = _log_folder(log_dir, result, "'--out'" if out else f"{job}: output.path")
    try:
        script = render_run_script(
            info,
            spec,
            out=result,
            log_dir=logs,
            workdir=workdir,
            templates=templates,
            prefix=_prefix(python_prefix),
        )
    except (KeyError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc
    if dry_run:
        click.echo(script, nl=False)
        return
    logs.mkdir(parents=True, exist_ok=True)
    result.parent.mkdir(parents=True, exist_ok=True)
    path = _script_path(logs, _job_name(info))
    path.write_text(script)
    since = time.time()
    try:
        job_id, rc = sbatch(path, extra_args=sbatch_args, wait=wait, echo_id=True)
    except SlurmError as exc:
        raise click.ClickException(str(exc)) from exc
    _exit_with(ctx, job_id, rc, wait=wait, result=result, since=since, logs=logs)


@slurm.command("submit-array")
@click.argument(
    "jobs",
    nargs=-1,
    required=True,
    type=click.Path(path_type=Path),
    callback=_checked(check_line, "job file path"),
)
@_path_option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Merged result file.",
)
@_path_option(
    "--parts-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the per-task results [default: <out>.parts/].",
)
@click.option(
    "--job-name",
    "-J",
    default=None,
    callback=_checked(check_slurm_name, "job name"),
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
    account: str | None,
    qos: str | None,
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
    starts only when every task succeeded, concatenates their per-trade results. Every job
    file is checked as `xiphpc run` checks it before anything is rendered. Prints the array
    job id and the merge job id; with --wait, returns when the merge job ended.
    """
    spec = _spec(
        nodes,
        ntasks_per_node,
        cpus_per_task,
        time_limit,
        partition,
        account,
        qos,
        launcher,
        mpi,
        numba_cache_dir,
    )
    workdir = _workdir()
    infos = _read_jobs_or_exit(jobs)
    merged = out.expanduser().absolute()
    parts_folder = (parts_dir or merged.with_name(merged.name + ".parts")).expanduser().absolute()
    # Index-numbered parts: two job files may share a name (the same job on two slices).
    parts = [parts_folder / f"part-{i:03d}-{_job_name(info)}.h5" for i, info in enumerate(infos)]
    logs = _log_folder(log_dir, merged, "'--out'")
    name = job_name or _safe_name(merged.stem)

    def render(array_id: str) -> tuple[str, str]:
        try:
            return render_array_scripts(
                infos,
                spec,
                out=merged,
                parts=parts,
                log_dir=logs,
                job_name=name,
                array_job_id=array_id,
                max_parallel=max_parallel,
                workdir=workdir,
                templates=templates,
                prefix=_prefix(python_prefix),
            )
        except (KeyError, ValueError) as exc:
            raise click.UsageError(str(exc)) from exc

    if dry_run:
        array_script, merge_script = render(ARRAY_ID_PLACEHOLDER)
        click.echo(array_script, nl=False)
        click.echo(f"\n# ---- then, with the array's job id for {ARRAY_ID_PLACEHOLDER}: ----\n")
        click.echo(merge_script, nl=False)
        return
    array_script, _ = render(ARRAY_ID_PLACEHOLDER)
    for folder in (logs, parts_folder, merged.parent):
        folder.mkdir(parents=True, exist_ok=True)
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
