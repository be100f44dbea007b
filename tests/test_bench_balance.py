"""``xiphpc bench balance`` end to end at a toy size (real mpiexec runs at 2 ranks)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from xiphpc.bench.balance import balance, ideal_ratio


def test_ideal_ratio() -> None:
    # Two ranks, one at half speed: 1.5 ranks' worth of work in place of 2.
    assert ideal_ratio(2, 1.0, 1.0) == pytest.approx(4.0 / 3.0, rel=1e-15)
    assert ideal_ratio(4, 0.5, 0.0) == 1.0


def test_bench_balance_reports_both_balances(tmp_path) -> None:
    out = tmp_path / "b.json"
    res = CliRunner().invoke(
        balance,
        ["--trades", "1500", "--partitions", "8", "--delay", "0.05", "--repeat", "1"]
        + ["--json", str(out)],
    )
    assert res.exit_code == 0, res.output
    figures = json.loads(out.read_text())
    assert figures["delay_s"] == 0.05
    for b in ("static", "dynamic"):
        f = figures[b]
        assert f["run_s"] > 0 and f["run_s_delayed"] > 0
        assert sum(f["partitions_per_rank_delayed"]) == 8
    # Static balance keeps the plan's blocks whatever the delay: both ranks price some.
    assert min(figures["static"]["partitions_per_rank_delayed"]) > 0
