"""``xiphpc bench risk`` end to end, at a toy size (real mpiexec runs at 1 and 2 ranks)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from xiphpc.bench.risk import risk


def test_bench_risk_reports_each_rank_count(tmp_path) -> None:
    out = tmp_path / "b.json"
    res = CliRunner().invoke(
        risk,
        [
            "--trades",
            "400",
            "--scenarios",
            "5",
            "--ranks",
            "1,2",
            "--repeat",
            "1",
            "--partitions",
            "4",
            "--json",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "valuations" in res.output
    figures = json.loads(out.read_text())
    assert set(figures) == {"1", "2"}
    for f in figures.values():
        assert f["compute_s"] > 0 and f["valuations_per_s"] > 0
        for run in f["all"]:
            assert (run["scenarios"], run["partitions"]) == (5, 4)
            assert 350 <= run["trades"] <= 450
    assert figures["1"]["speedup"] == 1.0
