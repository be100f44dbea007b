"""Where a run writes its result: claimed before any trade is read, left clean on every exit.

A run claims its output path with :func:`claim_output` before it reads a trade:

- the path must not be one of the job's inputs (job file, portfolio file or CSV table, market,
  history), compared after resolving relative paths and symlinks (:func:`output_problems`);
- its folder is created if needed, and the lock file is created in it: an unwritable folder,
  a path under an existing file or a path that is a folder stops the run at once, not after
  the pricing;
- the lock file ``.<name>.lock`` beside the target names the owner's host and PID; a second
  run on the same path is refused and told who holds it. A lock whose PID is dead on this
  host was left by a killed run and is taken over;
- temporary files of earlier runs on the same path, ``.<name>.<pid>@<host>.<8 hex>.tmp``,
  whose PID is dead on this host are removed (a killed run cannot remove its own).

The result is written under a temporary name (:meth:`OutputTarget.temporary`) and moved into
place by :meth:`OutputTarget.commit`. Until then every exit that Python sees releases the
claim (:func:`releasing_output`): the temporary file, the lock and the folders the claim
created are removed. ``xiphpc run`` turns SIGTERM and SIGHUP outside the pricing of
partitions into :class:`Terminated`, so that a job killed by its scheduler unwinds the same
way (when the process next runs Python code: a rank blocked in an MPI call may be killed
outright, and the next run cleans up).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import signal
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from xiphpc.config.errors import JobError, Problem

__all__ = [
    "OutputTarget",
    "Terminated",
    "check_output",
    "claim_output",
    "finalize",
    "forget_temporary",
    "job_inputs",
    "output_problems",
    "rank_temporary",
    "releasing_output",
    "same_file",
    "temporary_owner",
    "temporary_path",
]

#: Host name written into lock files and temporary names.
HOST = socket.gethostname()

_LOCK_OWNER = re.compile(r"^pid (?P<pid>\d+) host (?P<host>\S+)")


class Terminated(SystemExit):
    """SIGTERM or SIGHUP arrived outside the pricing of partitions; the exit status is
    128 + signal."""

    def __init__(self, signum: int):
        super().__init__(128 + signum)
        self.signame = signal.Signals(signum).name


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (one we may not signal runs too).

    A zombie has ended: a rank killed by an aborted MPI job can stay one until its parent
    reaps it, and its lock must not hold up the next run.
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        # /proc/PID/stat: "pid (comm) state ...", comm may hold blanks and parentheses.
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rfind(")") + 2 : stat.rfind(")") + 3] != "Z"


def temporary_path(final: Path) -> Path:
    """A unique name beside ``final`` for the file being written, naming this process."""
    return final.with_name(f".{final.name}.{os.getpid()}@{HOST}.{uuid.uuid4().hex[:8]}.tmp")


def temporary_owner(path: Path, final: Path) -> tuple[int, str] | None:
    """``(pid, host)`` of a temporary file of ``final`` (named by :func:`temporary_path`);
    None for any other name."""
    pattern = rf"\.{re.escape(final.name)}\.(\d+)@([^/]+)\.[0-9a-f]{{8}}\.tmp"
    m = re.fullmatch(pattern, path.name)
    return (int(m.group(1)), m.group(2)) if m else None


def finalize(tmp: Path, final: Path) -> None:
    """Move the finished file into place (atomic on one file system)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, final)


def same_file(a: Path, b: Path) -> bool:
    """Whether paths ``a`` and ``b`` name one file, after resolving ``..`` and symlinks (and
    hard links, when both exist)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def job_inputs(spec) -> list[tuple[str, Path]]:
    """What the job reads: ``(description, path)``, job file first."""
    found = [("job file", Path(spec.source))]
    for what, part in (
        ("portfolio", spec.portfolio),
        ("market", spec.market),
        ("history", spec.risk.historical),
    ):
        if part is not None and part.path is not None:
            found.append((what, spec.input_path(part.path)))
    return found


def output_problems(spec, final: Path) -> list[Problem]:
    """What makes ``final`` unusable as the result path of ``spec``, found without touching
    the file system: an input of the job (or, for a folder of CSV tables, a ``.csv`` name in
    that folder, which the next run would read as a table) or an existing folder."""
    final = Path(final)
    problems = []
    for what, path in job_inputs(spec):
        csv_table = (
            what == "portfolio"
            and path.is_dir()
            and final.suffix.lower() == ".csv"
            and same_file(final.parent, path)
        )
        if same_file(final, path) or csv_table:
            problems.append(
                Problem(
                    str(final),
                    "",
                    f"is the job's {what} {path}: writing the result would destroy it; "
                    "choose another output path",
                )
            )
    if not problems and final.is_dir():
        problems.append(Problem(str(final), "", "is a folder; give a file path for the result"))
    return problems


def check_output(spec, out: str | Path | None = None) -> None:
    """Raise :class:`JobError` when :func:`output_problems` finds any for the job's output
    path (``out`` overriding ``[output] path``)."""
    problems = output_problems(spec, spec.output_path(out))
    if problems:
        raise JobError(problems)


def _make_folder(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; returns those created, outermost first."""
    missing = []
    at = folder
    try:
        while not at.exists():
            if at.is_symlink():
                raise JobError([Problem(str(folder), "", f"{at} is a broken symbolic link")])
            missing.append(at)
            at = at.parent
    except OSError as exc:
        raise JobError([Problem(str(folder), "", f"cannot reach: {exc.strerror}")]) from exc
    if not at.is_dir():
        raise JobError(
            [Problem(str(folder), "", f"cannot create this folder: {at} is a file, not a folder")]
        )
    created: list[Path] = []
    for p in reversed(missing):
        try:
            p.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            _remove_folders(created)
            raise JobError(
                [Problem(str(p), "", f"cannot create the output folder: {exc.strerror}")]
            ) from exc
        created.append(p)
    return created


def _remove_folders(created: list[Path]) -> None:
    for p in reversed(created):
        try:
            p.rmdir()
        except OSError:
            return


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None


@dataclass
class OutputTarget:
    """A claimed result path: its lock, and the temporary files written for it.

    Attributes
    ----------
    final : Path
        Absolute path the result goes to.
    lock : Path
        ``.<name>.lock`` beside ``final``; holds :attr:`token`.
    token : str
        ``pid <pid> host <host> started <time> job <job file>``.
    created : list of Path
        Folders the claim created (outermost first), removed again when nothing was written.
    """

    final: Path
    lock: Path
    token: str
    created: list[Path] = field(default_factory=list)
    temporaries: list[Path] = field(default_factory=list)
    committed: bool = False

    def temporary(self) -> Path:
        """A new temporary name beside the target, removed on release unless committed."""
        tmp = temporary_path(self.final)
        self.temporaries.append(tmp)
        return tmp

    def commit(self, tmp: Path) -> None:
        """Move the finished ``tmp`` into place and release the claim."""
        finalize(tmp, self.final)
        self.temporaries.remove(tmp)
        self.committed = True
        self.release()

    def release(self) -> None:
        """Remove what the claim left: uncommitted temporary files, the lock (if still
        ours) and, when nothing was written, the folders the claim created. Idempotent."""
        for tmp in self.temporaries:
            tmp.unlink(missing_ok=True)
        self.temporaries.clear()
        if _read_text(self.lock) == self.token:
            self.lock.unlink(missing_ok=True)
        if not self.committed:
            _remove_folders(self.created)
        self.created = []
        if self in _ACTIVE:
            _ACTIVE.remove(self)


#: Claims of this process not yet released, oldest first.
_ACTIVE: list[OutputTarget] = []
#: Temporary files of this process outside any claim (other ranks' parts), oldest first.
_LOOSE: list[Path] = []


def rank_temporary(final: Path) -> Path:
    """A temporary name beside ``final`` for a file this process writes without claiming
    ``final`` (a rank's part of the result): removed when the function that claimed the
    output (:func:`releasing_output`) exits, unless :func:`forget_temporary` was called."""
    tmp = temporary_path(final)
    _LOOSE.append(tmp)
    return tmp


def forget_temporary(tmp: Path) -> None:
    """Stop tracking ``tmp`` (it was removed or handed on)."""
    if tmp in _LOOSE:
        _LOOSE.remove(tmp)


def _lock_problem(final: Path, lock: Path, held: str) -> Problem:
    owner = _LOCK_OWNER.match(held)
    if owner is None:
        who = "a run that named no owner"
    else:
        started = re.search(r" started (\S+)", held)
        who = f"pid {owner['pid']} on host {owner['host']}" + (
            f" (started {started.group(1)})" if started else ""
        )
    return Problem(
        str(final),
        "",
        f"another run is writing it: {who} holds {lock}; wait for it, write elsewhere, or "
        "remove the lock if that run is gone",
    )


def _stale(held: str, final: Path) -> bool:
    """Whether a lock's owner is known to be gone: a dead PID on this host, or this very
    process holding no claim on the path (the PID of a dead owner, reused by us)."""
    owner = _LOCK_OWNER.match(held)
    if owner is None or owner["host"] != HOST:
        return False
    pid = int(owner["pid"])
    if pid == os.getpid():
        return not any(t.final == final for t in _ACTIVE)
    return not _alive(pid)


def _take_over(lock: Path, held: str) -> None:
    """Remove a stale lock, unless another run replaced it meanwhile."""
    aside = lock.with_name(f"{lock.name}.{os.getpid()}@{HOST}.stale")
    try:
        os.rename(lock, aside)
    except FileNotFoundError:
        return
    if _read_text(aside) != held:
        # A live run's lock was moved by mistake: put it back unless a third run took the
        # path in between (that run's lock stands, and this one will be refused).
        try:
            os.link(aside, lock)
        except OSError:
            pass
    aside.unlink(missing_ok=True)


def _take_lock(final: Path, token: str) -> Path:
    lock = final.with_name(f".{final.name}.lock")
    for _ in range(4):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            held = _read_text(lock)
            if held is None:
                continue
            if _stale(held, final):
                _take_over(lock, held)
                continue
            raise JobError([_lock_problem(final, lock, held)]) from None
        except OSError as exc:
            raise JobError(
                [Problem(str(final), "", f"cannot write in {final.parent}: {exc.strerror}")]
            ) from exc
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(token)
        except OSError as exc:
            lock.unlink(missing_ok=True)
            raise JobError(
                [Problem(str(final), "", f"cannot write in {final.parent}: {exc.strerror}")]
            ) from exc
        return lock
    held = _read_text(lock) or ""
    raise JobError([_lock_problem(final, lock, held)])


def _remove_stale_temporaries(final: Path) -> None:
    try:
        entries = list(final.parent.iterdir())
    except OSError:
        return
    mine = {t for a in _ACTIVE for t in a.temporaries} | set(_LOOSE)
    for path in entries:
        owner = temporary_owner(path, final)
        if owner is None or owner[1] != HOST or path in mine:
            continue
        if owner[0] == os.getpid() or not _alive(owner[0]):
            path.unlink(missing_ok=True)


def claim_output(spec, out: str | Path | None = None) -> OutputTarget:
    """Check and lock the result path of ``spec`` (``out`` overriding ``[output] path``).

    Raises
    ------
    JobError
        The path is an input of the job or a folder, its folder cannot be created or written,
        or another run holds its lock.
    """
    final = spec.output_path(out)
    check_output(spec, out)
    created = _make_folder(final.parent)
    token = (
        f"pid {os.getpid()} host {HOST} started "
        f"{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')} job {spec.source}\n"
    )
    try:
        lock = _take_lock(final, token)
    except JobError:
        _remove_folders(created)
        raise
    _remove_stale_temporaries(final)
    target = OutputTarget(final, lock, token, created)
    _ACTIVE.append(target)
    return target


T = TypeVar("T")


def releasing_output(fn: Callable[..., T]) -> Callable[..., T]:
    """Decorate a function that claims output paths: however it exits, the claims it made
    and did not commit are released (temporary files, lock and created folders removed)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs) -> T:
        mark, loose = len(_ACTIVE), len(_LOOSE)
        try:
            return fn(*args, **kwargs)
        finally:
            for target in list(_ACTIVE[mark:]):
                target.release()
            for tmp in _LOOSE[loose:]:
                tmp.unlink(missing_ok=True)
            del _LOOSE[loose:]

    return wrapper
