"""The package as installed software: what each entry point loads, what the wheel holds, and a
non-editable install that gives the editable install's results.

* Reading a job file loads neither numba nor the pricing library (``xiphpc.config`` imports
  nothing from it), so ``xiphpc slurm submit`` on a login node is quick; the registry of
  products checks at import that it lists the products job files are checked against.
* The wheel, built from a copy of the source tree, holds every module and the sbatch
  templates; installed (not editable) with its dependencies, at the running environment's
  versions, into a fresh virtual environment, it runs from a folder outside the source tree:
  ``xiphpc validate`` of the demo job lists the same bad trades as the editable install,
  ``mpiexec -n 2 xiphpc run`` gives every dataset under ``/trades`` and ``/aggregates`` bit for
  bit as the editable install's run does, and ``xiphpc slurm submit --dry-run`` renders a
  script that uses the new environment.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        **kwargs,  # type: ignore[arg-type]
    )


# ---------------------------------------------------------------------------------------------
# what reading a job file loads


def test_job_files_load_without_pricing() -> None:
    """Importing the job-file reader loads neither numba nor the pricing library."""
    proc = _python("import xiphpc.config.job, sys; assert 'numba' not in sys.modules")
    assert proc.returncode == 0, proc.stderr
    proc = _python(
        "import sys, xiphpc.config.job\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('numba', 'xiphpc.pricing')))\n"
        "assert not loaded, loaded"
    )
    assert proc.returncode == 0, proc.stderr


def test_slurm_dry_run_loads_without_pricing(tmp_path: Path) -> None:
    """`xiphpc slurm submit --dry-run` of the demo job reads and renders without numba."""
    proc = _python(
        "import sys\n"
        "from xiphpc.scheduler.slurm import slurm\n"
        f"slurm(['submit', {str(ROOT / 'jobs' / 'demo.toml')!r}, '-N', '1',"
        " '--ntasks-per-node', '2', '--dry-run'], standalone_mode=False)\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('numba', 'xiphpc.pricing')))\n"
        "assert not loaded, loaded",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "xiphpc run" in proc.stdout


def test_registry_must_match_config_names() -> None:
    """A registry whose products differ from the names job files are checked against (here:
    two swapped) stops the import of the pricing library with a message saying so."""
    proc = _python(
        "import xiphpc.config.names as names\n"
        "p = list(names.PRODUCT_NAMES)\n"
        "p[0], p[1] = p[1], p[0]\n"
        "names.PRODUCT_NAMES = tuple(p)\n"
        "import xiphpc.pricing.products\n"
    )
    assert proc.returncode != 0
    assert "ImportError: the product registry and xiphpc.config.names.PRODUCT_NAMES" in (
        proc.stderr
    )
    assert "same order" in proc.stderr


def test_registry_loads_a_product_when_looked_up() -> None:
    """Listing the registry loads no pricer; looking a product up loads its module alone, and
    checks its revaluation path."""
    proc = _python(
        "import sys\n"
        "from xiphpc.pricing.products import REGISTRY\n"
        "def pricers():\n"
        "    return sorted(m.rpartition('.')[2] for m in sys.modules\n"
        "                  if m.startswith('xiphpc.pricing.products.'))\n"
        "assert len(REGISTRY) == 15 and 'swaption' in REGISTRY and 'x' not in REGISTRY\n"
        "assert pricers() == ['base'], pricers()\n"
        "assert REGISTRY['equity_option'].name == 'equity_option'\n"
        "assert REGISTRY['equity_option'] is REGISTRY['equity_option']\n"
        "assert 'rates' not in pricers() and 'equity' in pricers(), pricers()\n"
        "assert [p.name for p in REGISTRY.values()] == list(REGISTRY)\n"
        "assert 'rates' in pricers()\n"
    )
    assert proc.returncode == 0, proc.stderr


def test_run_loads_the_pricers_of_its_products(tmp_path: Path) -> None:
    """A run of an equity-option book loads neither the other products' pricers nor their
    kernels."""
    (tmp_path / "equity_option.csv").write_text(
        "trade_id,desk,book,counterparty,currency,quantity,underlying,option_type,strike,"
        "expiry,vol\nT1,EQ,EQ-B1,CP1,JPY,17.0,SAKURA,put,872.01,2027-06-26,\n"
    )
    job = tmp_path / "job.toml"
    job.write_text(
        'name = "one"\n[portfolio]\npath = "."\n[market]\ngenerate = { seed = 1 }\n'
        f'[output]\npath = "{tmp_path / "out.h5"}"\n'
    )
    proc = _python(
        "import sys\n"
        "from xiphpc.cli.main import main\n"
        f"main(['run', '--quiet', {str(job)!r}], standalone_mode=False)\n"
        "loaded = {m for m in sys.modules if m.startswith('xiphpc.pricing.')}\n"
        "others = ['products.rates', 'products.credit', 'products.exotics', 'kernels.asian']\n"
        "assert not loaded & {'xiphpc.pricing.' + m for m in others}, sorted(loaded)\n"
        "assert 'xiphpc.pricing.products.equity' in loaded\n"
    )
    assert proc.returncode == 0, proc.stderr


# ---------------------------------------------------------------------------------------------
# the wheel, installed into a fresh environment

#: Seconds allowed for building the wheel and for installing it with its dependencies.
INSTALL_TIMEOUT_S = 900
#: Seconds allowed for one run of the demo job; a fresh environment compiles every kernel.
RUN_TIMEOUT_S = 900


def _source_copy(dest: Path) -> Path:
    """The files the wheel is built from, copied so that the build leaves the tree alone."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(
        ROOT / "xiphpc",
        dest / "xiphpc",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc"),
    )
    return dest


def _constraints(path: Path) -> Path:
    """Every distribution of the running environment at its version, so that the fresh
    environment computes with the same numpy, numba and llvmlite (results compared bitwise)."""
    pins = sorted(
        {
            f"{dist.metadata['Name']}=={dist.version}"
            for dist in importlib.metadata.distributions()
            if dist.metadata["Name"] and dist.metadata["Name"].lower() != "xiphpc"
        }
    )
    path.write_text("\n".join(pins) + "\n")
    return path


def _datasets(path: Path) -> dict[str, np.ndarray]:
    """Every dataset under /trades and /aggregates of a result file, by its path."""
    found: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as f:
        for group in ("trades", "aggregates"):

            def visit(name: str, obj: object, group: str = group) -> None:
                if isinstance(obj, h5py.Dataset):
                    found[f"{group}/{name}"] = obj[()]

            f[group].visititems(visit)
    return found


def _assert_bitwise_equal(got: Path, want: Path) -> None:
    a, b = _datasets(got), _datasets(want)
    assert sorted(a) == sorted(b)
    assert any(k.startswith("trades/") for k in a) and any(k.startswith("aggregates/") for k in a)
    for key in sorted(a):
        x, y = np.asarray(a[key]), np.asarray(b[key])
        assert x.dtype == y.dtype and x.shape == y.shape, key
        if x.dtype.hasobject:
            assert x.tolist() == y.tolist(), key
        else:
            assert x.tobytes() == y.tobytes(), key


def _run(
    args: list[str], *, cwd: Path, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert proc.returncode == 0, f"{' '.join(args)}:\n{proc.stdout}{proc.stderr}"
    return proc


@pytest.mark.slow
@pytest.mark.timeout(2 * INSTALL_TIMEOUT_S + 2 * RUN_TIMEOUT_S)
def test_wheel_installs_and_runs_outside_the_tree(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The wheel holds every module and template; installed into a fresh environment it
    validates, runs the demo job at 2 ranks (the editable install's results, bit for bit) and
    renders a Slurm script, from a folder outside the source tree."""
    editable_bin = Path(sys.executable).parent
    if shutil.which("mpiexec", path=str(editable_bin)) is None:
        pytest.skip(f"no mpiexec beside {sys.executable} (install the `mpich` extra)")
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy2(ROOT / "jobs" / "demo.toml", work / "demo.toml")
    base_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}

    # The editable install's run, meanwhile: building and installing wait mostly on files.
    editable_env = dict(
        base_env,
        PATH=f"{editable_bin}{os.pathsep}{base_env.get('PATH', '')}",
        # The cache tests/test_slurm.py compiles into, when it ran first in this session.
        NUMBA_CACHE_DIR=str(tmp_path_factory.getbasetemp() / "numba-cache-editable"),
    )
    editable = subprocess.Popen(
        [
            "mpiexec", "-n", "2", str(editable_bin / "xiphpc"), "run", "demo.toml",
            "--out", str(work / "editable.h5"), "--quiet",
        ],
        cwd=work,
        env=editable_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        # Build from a copy: a build in place would leave build/ and egg-info in the tree.
        src = _source_copy(tmp_path / "src")
        dist = tmp_path / "dist"
        _run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(dist), str(src)],
            cwd=tmp_path,
            env=base_env,
            timeout=INSTALL_TIMEOUT_S,
        )
        (wheel,) = dist.glob("xiphpc-*.whl")
        with zipfile.ZipFile(wheel) as zf:
            names = set(zf.namelist())
        package = ROOT / "xiphpc"
        wanted = {p.relative_to(ROOT).as_posix() for p in package.rglob("*.py")}
        wanted |= {
            p.relative_to(ROOT).as_posix() for p in (package / "scheduler").glob("templates/*")
        }
        assert any(p.endswith(".sbatch.in") for p in wanted)
        assert wanted <= names, sorted(wanted - names)

        venv = tmp_path / "venv"
        _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path, env=base_env, timeout=300)
        vbin = venv / "bin"
        _run(
            [
                str(vbin / "python"), "-m", "pip", "install", "-q",
                "-c", str(_constraints(tmp_path / "constraints.txt")),
                str(wheel), "mpich",
            ],
            cwd=tmp_path,
            env=base_env,
            timeout=INSTALL_TIMEOUT_S,
        )  # fmt: skip
    finally:
        try:
            out, _ = editable.communicate(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            editable.kill()
            out, _ = editable.communicate()
    assert editable.returncode == 0, out

    env = dict(
        base_env,
        PATH=f"{vbin}{os.pathsep}{base_env.get('PATH', '')}",
        NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"),
    )
    # Where the installed package's modules (all of them, the engine's included) and
    # templates come from.
    where = json.loads(
        _run(
            [
                str(vbin / "python"),
                "-c",
                "import json, sys, xiphpc, xiphpc.cli.main, xiphpc.engine.run\n"
                "from xiphpc.scheduler.slurm import template_dir\n"
                "files = [m.__file__ for n, m in list(sys.modules.items())\n"
                "         if n.split('.')[0] == 'xiphpc' and getattr(m, '__file__', None)]\n"
                "print(json.dumps({'files': files, 'templates': str(template_dir()),\n"
                "                  'version': xiphpc.__version__}))",
            ],
            cwd=work,
            env=env,
            timeout=300,
        ).stdout
    )
    files = [Path(f) for f in where["files"]]
    assert len(files) > 20, files
    assert all(f.is_relative_to(venv) and not f.is_relative_to(ROOT) for f in files), files
    templates = Path(where["templates"])
    assert templates.is_relative_to(venv), templates
    assert where["version"] == importlib.metadata.version("xiphpc")
    assert {p.name for p in templates.glob("*.sbatch.in")} == {
        "xiphpc-run.sbatch.in",
        "xiphpc-array.sbatch.in",
        "xiphpc-merge.sbatch.in",
    }

    # The demo portfolio holds deliberately bad trades: both installs list the same ones.
    checked, reference = (
        subprocess.run(
            [str(bin_ / "xiphpc"), "validate", "demo.toml"],
            cwd=work,
            env=env_,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        for bin_, env_ in ((vbin, env), (editable_bin, editable_env))
    )
    assert checked.returncode == reference.returncode == 2, checked.stdout + checked.stderr
    assert "trades that cannot be priced" in checked.stderr
    assert (checked.stdout, checked.stderr) == (reference.stdout, reference.stderr)

    _run(
        [
            str(vbin / "mpiexec"), "-n", "2", str(vbin / "xiphpc"), "run", "demo.toml",
            "--out", str(work / "installed.h5"), "--quiet",
        ],
        cwd=work,
        env=env,
        timeout=RUN_TIMEOUT_S,
    )  # fmt: skip
    with h5py.File(work / "installed.h5", "r") as f:
        assert int(f.attrs["n_ranks"]) == 2
    _assert_bitwise_equal(work / "installed.h5", work / "editable.h5")

    script = _run(
        [
            str(vbin / "xiphpc"), "slurm", "submit", "demo.toml",
            "--nodes", "1", "--ntasks-per-node", "2", "--dry-run",
        ],
        cwd=work,
        env=env,
        timeout=120,
    ).stdout  # fmt: skip
    assert f"export VIRTUAL_ENV={venv}" in script.splitlines()
    assert f"xiphpc run {work / 'demo.toml'} --out {work / 'results' / 'demo.h5'}" in script
