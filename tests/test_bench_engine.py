"""``xiphpc bench engine`` end to end at a toy size (real mpiexec runs at 1 and 2 ranks)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from xiphpc.bench.engine import STAGES, engine


@pytest.mark.parametrize("risk_days", [0, 5])
def test_bench_engine_reports_stages_and_efficiency(tmp_path, risk_days: int) -> None:
    out = tmp_path / "e.json"
    args = ["--trades", "1500", "--ranks", "1,2", "--repeat", "1", "--json", str(out)]
    res = CliRunner().invoke(engine, [*args, "--risk-days", str(risk_days)])
    assert res.exit_code == 0, res.output
    assert "efficiency" in res.output
    assert ("historical days" in res.output) == bool(risk_days)
    figures = json.loads(out.read_text())
    assert figures["trades"] == 1500 and figures["risk_days"] == risk_days
    for n in ("1", "2"):
        m = figures["median"][n]
        assert m["trades"] == 1500 and m["wall_s"] > 0 and m["peak_memory_b"] > 0
        # Each stage happens within the run, which happens within the launch.
        assert all(0 <= m[s] <= m["run_s"] for s in STAGES)
        assert m["run_s"] <= m["wall_s"]
    # On one rank the stages follow one another.
    assert sum(figures["median"]["1"][s] for s in STAGES) <= figures["median"]["1"]["run_s"]
    # The one-trade job starts the engine, which costs more than starting MPI alone; a
    # rank's memory per trade counts its peak, which is above the one-trade job's.
    start = figures["start_up"]["median"]
    assert start["wall_s"] > start["mpi_baseline_s"] > 0
    for n in ("1", "2"):
        m = figures["median"][n]
        assert m["bytes_per_trade"] > m["marginal_bytes_per_trade"]
    assert figures["pricing_s"] and all(v > 0 for v in figures["pricing_s"].values())
    assert 0 < figures["efficiency"] < 1
