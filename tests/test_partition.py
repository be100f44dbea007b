"""Partition plans: fixed by the trades alone, balanced by cost, contiguous per rank."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import EPS

from xiphpc.engine.partition import COST_BLOCK, plan_partitions


@pytest.mark.parametrize("n_trades", [10_000, 200_000])
@pytest.mark.parametrize("n_ranks", [1, 2, 3, 4, 7, 100])
def test_partitions_do_not_depend_on_ranks(n_ranks: int, n_trades: int) -> None:
    # 200,000 trades span several cost blocks.
    cost = np.random.default_rng(0).choice([0.4, 1.0, 25.0], size=n_trades)
    ref = plan_partitions(cost, 64, 1)
    plan = plan_partitions(cost, 64, n_ranks)
    np.testing.assert_array_equal(plan.bounds, ref.bounds)
    assert plan.rank_bounds[0] == 0 and plan.rank_bounds[-1] == 64
    assert np.all(np.diff(plan.rank_bounds) >= 0)
    rows = [plan.rows(plan.partitions_of(r)) for r in range(n_ranks)]
    assert rows[0][0] == 0 and rows[-1][1] == cost.size
    assert all(a[1] == b[0] for a, b in zip(rows, rows[1:], strict=False))


def test_balanced_by_cost() -> None:
    # Expensive trades at the start: equal trade counts would be badly unbalanced.
    cost = np.concatenate([np.full(1000, 50.0), np.full(99_000, 1.0)])
    plan = plan_partitions(cost, 32, 2)
    # A partition ends at the first trade that reaches its share: at most one trade over.
    share = cost.sum() / 32
    assert plan.cost.max() <= share + cost.max() + cost.size * EPS * cost.sum()
    # Each of the two ranks is within one partition of half the total.
    per_rank = [plan.cost[plan.partitions_of(r)].sum() for r in range(2)]
    half, p_max = cost.sum() / 2, plan.cost.max()
    assert max(per_rank) / min(per_rank) <= (half + p_max) / (half - p_max)
    assert np.diff(plan.bounds)[0] < np.diff(plan.bounds)[-1]


def test_fewer_trades_than_partitions() -> None:
    plan = plan_partitions(np.ones(3), 64, 4)
    assert plan.n_partitions == 3
    assert sum(len(plan.partitions_of(r)) for r in range(4)) == 3


def test_partition_costs_add_up_to_the_trades() -> None:
    cost = np.random.default_rng(1).uniform(0.0, 10.0, 150_000)
    plan = plan_partitions(cost, 17, 3)
    sums = np.add.reduceat(cost, plan.bounds[:-1])
    # The plan's costs are differences of running sums (within blocks of COST_BLOCK, on top
    # of the blocks' prefix), each within eps/2 per addition of the total; the reference
    # adds a partition's own trades.
    blocks = -(-cost.size // COST_BLOCK)
    running = EPS / 2 * (COST_BLOCK + blocks) * cost.sum()
    np.testing.assert_allclose(plan.cost, sums, rtol=EPS / 2 * cost.size, atol=2 * running)
    # Each partition ends at the first trade whose running sum reaches its share: the
    # plan's running sums and a plain cumsum differ by both sums' rounding.
    run = np.cumsum(cost)
    slack = running + EPS / 2 * cost.size * run[-1]
    for k, cut in enumerate(plan.bounds[1:-1], start=1):
        target = run[-1] * k / 17
        assert run[cut - 1] >= target - slack and run[cut - 2] < target + slack
