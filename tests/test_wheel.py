"""The package as installed software: what each entry point loads, what the wheel holds, and a
non-editable install that gives the editable install's results.

* Reading a job file loads neither numba nor the pricing library (``xiphpc.config`` imports
  nothing from it), so ``xiphpc slurm submit`` on a login node is quick; the registry of
  products checks at import that it lists the products job files are checked against.
* The wheel, built from a copy of the source tree, holds every module and the sbatch
  templates; installed (not editable) with its dependencies into a fresh virtual environment,
  it runs from a folder outside the source tree: ``xiphpc validate``, ``mpiexec -n 2 xiphpc
  run`` of the demo job, whose every dataset under ``/trades`` and ``/aggregates`` equals bit
  for bit that of the editable install's run, and ``xiphpc slurm submit --dry-run``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
