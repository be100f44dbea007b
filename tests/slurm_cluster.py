"""A real single-node Slurm cluster on localhost, for tests.

The session-scoped fixture :func:`slurm_cluster` installs Debian's Slurm packages when they
are missing, starts ``munged``, ``slurmctld`` and ``slurmd`` with every file (key, sockets,
state, logs, configuration) under one temporary folder, waits until the node is idle and
stops the daemons by PID afterwards, also when a test or the start itself fails.

Test modules use it with::

    from slurm_cluster import slurm_cluster_fixture  # noqa: F401

and ask for the fixture by its name, ``slurm_cluster``.

The configuration follows what was seen to work on a CI machine without systemd or cgroups
(``../shared/slurm/README.md``): ``MpiDefault=pmi2`` because ``srun -n 2`` without a PMI plugin
starts two size-1 programs and still exits 0; ``EnforcePartLimits=ALL`` so that an impossible
request is rejected at submission instead of pending forever; ``MinJobAge=4`` so that
``sbatch --wait`` polls every 2 s instead of backing off to tens of seconds.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

__all__ = ["SlurmCluster", "slurm_cluster_fixture"]

#: Debian packages that provide the daemons and the client commands.
PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
#: Programs the fixture needs; a missing one triggers the installation.
PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "srun", "sinfo", "squeue", "scancel")

#: Seconds allowed for the node to reach ``idle`` after the daemons start.
START_TIMEOUT_S = 60.0
#: Seconds allowed for each daemon to exit after SIGTERM before SIGKILL is sent.
STOP_TIMEOUT_S = 15.0


@dataclass
class SlurmCluster:
    """A running single-node cluster.

    Attributes
    ----------
    base : Path
        Folder that holds the key, sockets, state, logs and ``etc/slurm.conf``.
    conf : Path
        The ``slurm.conf`` in use; client commands find it through ``SLURM_CONF``.
    cpus : int
        CPUs of the single node ``localhost`` (partition ``debug``).
    env : dict of str to str
        Environment for client commands (the current one plus ``SLURM_CONF``).
    pid_files : dict of str to Path
        PID file of each daemon, in stopping order.
    """

    base: Path
    conf: Path
    cpus: int
    env: dict[str, str]
    pid_files: dict[str, Path] = field(default_factory=dict)

    def run(
        self,
        args: Sequence[str],
        *,
        timeout: float = 60.0,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command with the cluster's environment, killed after `timeout` seconds.

        ``timeout(1)`` wraps the command as well as ``subprocess``'s own limit, so that a
        hung ``sbatch --wait`` gets SIGTERM (and cancels nothing by itself: the caller's
        assertions then show the job state via :meth:`diagnose`).
        """
        full_env = dict(self.env)
        if env:
            full_env.update(env)
        cmd = ["timeout", "--kill-after=5", str(int(timeout)), *args]
        return subprocess.run(
            cmd,
            env=full_env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout + 15,
            check=False,
        )

    def diagnose(self) -> str:
        """Return queue, node state and daemon log tails, for assertion messages."""
        parts = []
        for args in (["squeue", "-a"], ["sinfo", "-N", "-l"]):
            proc = self.run(args, timeout=10)
            parts.append(f"$ {' '.join(args)}\n{proc.stdout}{proc.stderr}")
        for name in ("slurmctld.log", "slurmd.log"):
            parts.append(f"--- {name} (tail)\n{_tail(self.base / 'log' / name)}")
        return "\n".join(parts)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"<{exc}>"


def _ensure_packages() -> None:
    """Install the Slurm and MUNGE packages when a program is missing, else skip the tests."""
    missing = [prog for prog in PROGRAMS if shutil.which(prog) is None]
    if not missing:
        return
    if os.geteuid() != 0:
        pytest.skip(f"Slurm programs missing ({', '.join(missing)}) and not root to install them")
    if shutil.which("apt-get") is None:
        pytest.skip(f"Slurm programs missing ({', '.join(missing)}) and no apt-get to install them")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES],
    ):
        try:
            proc = subprocess.run(
                cmd, env=env, capture_output=True, text=True, timeout=300, check=False
            )
        except subprocess.TimeoutExpired:
            pytest.skip(f"{' '.join(cmd)} timed out")
        if proc.returncode != 0:
            pytest.skip(f"{' '.join(cmd)} failed (rc {proc.returncode}): {proc.stderr[-500:]}")
    still = [prog for prog in PROGRAMS if shutil.which(prog) is None]
    if still:
        pytest.skip(f"Slurm programs still missing after installation: {', '.join(still)}")


def _free_port() -> int:
    # Other developers may run their own daemons on this machine: never assume 6817/6818.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _node_cpus() -> int:
    """CPUs as slurmd itself counts them, so that the node does not drain on a mismatch."""
    try:
        out = subprocess.run(
            ["slurmd", "-C"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    for token in out.split():
        if token.startswith("CPUs="):
            return int(token.split("=", 1)[1])
    return os.cpu_count() or 1


def _write_conf(base: Path, cpus: int) -> Path:
    ctld_port, d_port = _free_port(), _free_port()
    while d_port == ctld_port:
        d_port = _free_port()
    lines = [
        "ClusterName=ci",
        "SlurmctldHost=localhost(127.0.0.1)",
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo=socket={base}/run/munge.sock",
        f"SlurmctldPort={ctld_port}",
        f"SlurmdPort={d_port}",
        f"StateSaveLocation={base}/spool/ctld",
        f"SlurmdSpoolDir={base}/spool/d",
        f"SlurmctldPidFile={base}/run/slurmctld.pid",
        f"SlurmdPidFile={base}/run/slurmd.pid",
        f"SlurmctldLogFile={base}/log/slurmctld.log",
        f"SlurmdLogFile={base}/log/slurmd.log",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "JobCompType=jobcomp/none",
        "SchedulerType=sched/backfill",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core",
        "MpiDefault=pmi2",
        "ReturnToService=2",
        "EnforcePartLimits=ALL",
        "MinJobAge=4",
        f"NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN",
        "PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP",
    ]
    conf = base / "etc" / "slurm.conf"
    conf.write_text("\n".join(lines) + "\n")
    return conf


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_pid_file(path: Path, what: str, log: Path, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = _read_pid(path)
        if pid is not None and _alive(pid):
            return pid
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start (no live PID in {path}); log tail:\n{_tail(log)}")


def _start_daemon(cmd: list[str], pid_file: Path, log: Path, env: Mapping[str, str]) -> int:
    """Start a self-daemonising program and return the PID it writes to its PID file."""
    proc = subprocess.run(
        cmd, env=dict(env), capture_output=True, text=True, timeout=30, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"{cmd[0]} exited {proc.returncode}: {proc.stderr.strip()}\n{_tail(log)}"
        )
    return _wait_pid_file(pid_file, cmd[0], log)


def _stop(pid_files: Mapping[str, Path]) -> list[str]:
    """Stop each daemon by the PID in its file: SIGTERM, then a ``kill -0`` wait loop.

    Returns
    -------
    list of str
        Daemons that needed SIGKILL or could not be signalled, for the teardown report.
    """
    problems = []
    for name, pid_file in pid_files.items():
        pid = _read_pid(pid_file)
        if pid is None or not _alive(pid):
            continue
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            problems.append(f"{name} (pid {pid}) ignored SIGTERM; sent SIGKILL")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return problems


def _start_cluster(base: Path, pid_files: dict[str, Path]) -> SlurmCluster:
    for sub in ("etc", "spool/ctld", "spool/d", "log"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    munge_dir = base / "munge"
    munge_dir.mkdir(mode=0o700)
    munge_dir.chmod(0o700)
    # munged refuses a socket in a 700 folder: the socket folder is 755.
    run_dir = base / "run"
    run_dir.mkdir(mode=0o755)
    run_dir.chmod(0o755)
    key = munge_dir / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)

    cpus = _node_cpus()
    conf = _write_conf(base, cpus)
    env = dict(os.environ, SLURM_CONF=str(conf))

    # Registered before each start so that teardown stops whatever did come up.
    pid_files["munged"] = run_dir / "munged.pid"
    munge_log = base / "log" / "munged.log"
    munged = [
        "munged",
        f"--key-file={key}",
        f"--socket={run_dir / 'munge.sock'}",
        f"--pid-file={pid_files['munged']}",
        f"--log-file={munge_log}",
        f"--seed-file={munge_dir / 'munged.seed'}",
    ]
    _start_daemon(munged, pid_files["munged"], munge_log, env)

    pid_files["slurmctld"] = run_dir / "slurmctld.pid"
    _start_daemon(
        ["slurmctld", "-f", str(conf)], pid_files["slurmctld"], base / "log/slurmctld.log", env
    )
    pid_files["slurmd"] = run_dir / "slurmd.pid"
    _start_daemon(
        ["slurmd", "-f", str(conf), "-N", "localhost"],
        pid_files["slurmd"],
        base / "log/slurmd.log",
        env,
    )

    cluster = SlurmCluster(base=base, conf=conf, cpus=cpus, env=env, pid_files=pid_files)
    deadline = time.monotonic() + START_TIMEOUT_S
    state = ""
    while time.monotonic() < deadline:
        proc = cluster.run(["sinfo", "-h", "-n", "localhost", "-o", "%T"], timeout=10)
        state = proc.stdout.strip()
        if state == "idle":
            return cluster
        time.sleep(0.5)
    raise RuntimeError(
        f"node not idle after {START_TIMEOUT_S:.0f} s (state {state!r})\n{cluster.diagnose()}"
    )


@pytest.fixture(scope="session", name="slurm_cluster")
def slurm_cluster_fixture() -> Iterator[SlurmCluster]:
    """Start a single-node Slurm cluster for the session and stop it afterwards.

    ``SLURM_CONF`` is set in ``os.environ`` while the cluster runs, so that subprocesses the
    tests start (and the batch jobs, which inherit the submitter's environment) find it.

    Yields
    ------
    SlurmCluster
        The running cluster.
    """
    _ensure_packages()
    # Not under pytest's temporary folder: that one is 700 and munged wants execute
    # permission for all on every folder above its socket. A short path also keeps the
    # socket path within a sockaddr_un (108 bytes).
    base = Path(tempfile.mkdtemp(prefix="xiphpc-slurm-"))
    base.chmod(0o755)
    # Stopping order: slurmd, slurmctld, then munged (the others authenticate through it).
    pid_files: dict[str, Path] = {}
    old_conf = os.environ.get("SLURM_CONF")
    try:
        try:
            cluster = _start_cluster(base, pid_files)
        except RuntimeError as exc:
            pytest.fail(f"could not start the Slurm cluster: {exc}", pytrace=False)
        os.environ["SLURM_CONF"] = str(cluster.conf)
        yield cluster
    finally:
        if old_conf is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = old_conf
        order = [name for name in ("slurmd", "slurmctld", "munged") if name in pid_files]
        problems = _stop({name: pid_files[name] for name in order})
        if problems:
            print("slurm teardown:", "; ".join(problems))
        # Logs are kept when a daemon misbehaved, for a look after the session.
        if not problems:
            shutil.rmtree(base, ignore_errors=True)
