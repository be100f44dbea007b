"""``xiphpc bench scaling`` end to end at a toy size (real mpiexec runs at 1 and 2 ranks), and
the model's shape on made-up parameters. Nothing here asserts a timing."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from xiphpc.bench.scaling import Measured, predict, scaling, scaling_table

TARGETS = [10, 100, 1000, 10000]


def _check_table(table: dict, targets: list[int]) -> None:
    ranks = sorted(int(r) for r in table)
    assert ranks == sorted({1, *targets})
    walls = [table[r]["wall_s"] if r in table else table[str(r)]["wall_s"] for r in ranks]
    rows = [table[r] if r in table else table[str(r)] for r in ranks]
    assert all(w > 0 and math.isfinite(w) for w in walls)
    assert all(0 < row["efficiency"] <= 1 + 1e-12 for row in rows)
    assert rows[0]["efficiency"] == 1.0
    # Wall time falls as ranks are added until the terms that do not shrink take over; up to
    # the fastest rank count.
    best = walls.index(min(walls))
    assert all(a > b for a, b in zip(walls[:best], walls[1 : best + 1], strict=True))
    for row in rows:
        terms = [v for k, v in row.items() if k.endswith("_s") and k != "wall_s"]
        assert all(v >= 0 for v in terms)
        assert row["wall_s"] == pytest.approx(sum(terms), rel=1e-12)


def test_bench_scaling_measures_and_predicts(tmp_path) -> None:
    out = tmp_path / "s.json"
    res = CliRunner().invoke(
        scaling,
        [
            "--trades",
            "2000",
            "--scenarios",
            "4",
            "--ranks",
            "1,2",
            "--repeat",
            "1",
            "--families",
            "equity_option,fx_forward",
            "--target-ranks",
            ",".join(map(str, TARGETS)),
            "--json",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "wall(R) = startup" in res.output and "not a measurement" in res.output
    figures = json.loads(out.read_text())
    assert set(figures["measured"]["runs"]) == {"1", "2"}
    for runs in figures["measured"]["all"].values():
        for run in runs:
            assert run["scenarios"] == 4
            assert 1900 <= run["trades"] <= 2100
            assert sum(run["rank_trades"]) == run["trades"]
    assert set(figures["families"]) == {"equity_option", "fx_forward"}
    assert all(f["s_per_trade"] > 0 for f in figures["families"].values())
    assert figures["probes"]["1"]["step_block_s"] is None
    assert figures["probes"]["2"]["step_block_s"] > 0
    model = figures["model"]
    assert all(v >= 0 for v in model.values())
    assert model["compute_base_s"] + model["compute_per_scenario_s"] > 0
    assert model["bytes_per_trade"] > 0
    _check_table(figures["predicted"], TARGETS)
    assert figures["breaks_first"]


def _model(join: float) -> Measured:
    """Parameters of the order measured on a laptop-class machine; only their shape matters."""
    return Measured(
        startup_s=1.0,
        read_fixed_s=0.3,
        read_per_trade_s=2e-6,
        compute_base_s=5e-6,
        compute_per_scenario_s=2e-7,
        add_per_element_s=1e-9,
        append_per_partition_s=1e-3,
        stream_per_trade_s=1e-6,
        join_per_trade_s=join,
        bytes_per_trade=150.0,
        nodes=300,
        base_columns=8,
        alpha_s=2e-6,
        beta_s_per_byte=1e-10,
        fetch_s=1e-6,
        serve_s=5e-6,
        alltoall_s_per_byte=2e-9,
        strings_s_per_byte=3e-9,
    )


@pytest.mark.parametrize("join", [0.0, 2e-6])
def test_model_shape(join: float) -> None:
    table = scaling_table(_model(join), 100_000_000, 250, TARGETS)
    _check_table(table, TARGETS)
    # With a serial join, 10,000 ranks cannot beat n * j; without one they keep gaining.
    if join:
        assert table[10000]["wall_s"] > 100_000_000 * join
        assert table[10000]["efficiency"] < table[10]["efficiency"]


def test_model_counts_whole_partitions() -> None:
    m = _model(0.0)
    row = predict(m, 1_000_000, 10, 1000, partitions=100)
    # 1,000 ranks, 100 partitions: a rank prices at most one partition, 900 have none.
    per_trade = m.compute_base_s + 10 * m.compute_per_scenario_s
    assert row["compute_s"] == pytest.approx(per_trade * 1_000_000 / 100, rel=1e-12)
    assert row["imbalance_s"] == 0.0
