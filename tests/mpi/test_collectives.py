"""Collectives and the engine inside one MPI job (run with ``mpiexec -n N pytest --with-mpi``)."""

from __future__ import annotations

import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import result_datasets  # noqa: E402

from xiphpc.config.job import load_job  # noqa: E402
from xiphpc.engine.run import run_job  # noqa: E402
from xiphpc.parallel.mpi import allgather_strings, gather_blocks, self_comm, world  # noqa: E402


@pytest.mark.mpi(min_size=2)
def test_allgather_strings_in_rank_order() -> None:
    comm = world()
    r = comm.Get_rank()
    # Rank 1 sends nothing: an empty contribution must not shift the others.
    mine = [] if r == 1 else [f"r{r}-{i}-é" for i in range(r + 1)]
    got = allgather_strings(comm, mine)
    want = [f"r{k}-{i}-é" for k in range(comm.Get_size()) if k != 1 for i in range(k + 1)]
    assert got == want


@pytest.mark.mpi(min_size=2)
def test_distributed_duplicates_equal_the_serial_mask() -> None:
    from xiphpc.pricing.validation import distributed_duplicate_mask, duplicate_mask

    comm = world()
    r, size = comm.Get_rank(), comm.Get_size()
    rng = np.random.default_rng(11)
    # The same portfolio on every rank: repeated ids (some far apart), empty ids (missing,
    # never duplicates), non-ASCII and long ids, split into uneven slices (one empty).
    ids = rng.choice(np.array([f"T{i:05d}" for i in range(400)] + ["", "é-Ω", "x" * 40]), 1000)
    cuts = np.sort(rng.integers(0, ids.size, size - 1))
    cuts[0] = 0
    bounds = np.concatenate(([0], cuts, [ids.size]))
    lo, hi = bounds[r], bounds[r + 1]
    got = distributed_duplicate_mask(comm, ids[lo:hi], np.arange(lo, hi, dtype=np.int64))
    np.testing.assert_array_equal(got, duplicate_mask(ids)[lo:hi])
    # One rank alone gives the serial mask too.
    np.testing.assert_array_equal(
        distributed_duplicate_mask(self_comm(), ids, np.arange(ids.size)), duplicate_mask(ids)
    )


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize(("n", "parts"), [(300_001, 64), (5, 64), (70_000, 3)])
def test_distributed_plan_equals_the_serial_plan(n: int, parts: int) -> None:
    from xiphpc.engine.partition import block_rows, plan_partitions, plan_partitions_distributed

    comm = world()
    rng = np.random.default_rng(n)
    cost = rng.choice([0.4, 1.0, 1.9, 72.0, 3000.0], size=n) * rng.uniform(0.5, 1.5, n)
    cost[n // 3 : n // 2] = 0.0  # a stretch of free trades: cuts may not fall inside it twice
    a, b = block_rows(n, comm.Get_rank(), comm.Get_size())
    got = plan_partitions_distributed(comm, cost[a:b], a, n, parts)
    want = plan_partitions(cost, parts, comm.Get_size())
    np.testing.assert_array_equal(got.bounds, want.bounds)
    np.testing.assert_array_equal(got.cost, want.cost)
    np.testing.assert_array_equal(got.rank_bounds, want.rank_bounds)


@pytest.mark.mpi(min_size=2)
def test_gather_blocks_stacks_in_rank_order() -> None:
    comm = world()
    r = comm.Get_rank()
    block = np.full((r, 3), float(r))
    got = gather_blocks(comm, block)
    if r == 0:
        want = np.concatenate([np.full((k, 3), float(k)) for k in range(comm.Get_size())])
        np.testing.assert_array_equal(got, want)
    else:
        assert got is None


@pytest.mark.mpi(min_size=2)
def test_world_run_equals_serial_run(mpi_tmp_path: Path) -> None:
    """The same job on COMM_WORLD and on one rank alone (COMM_SELF) gives the same file."""
    comm = world()
    job = mpi_tmp_path / "job.toml"
    if comm.Get_rank() == 0:
        job.write_text(
            'name = "t"\n[portfolio]\ngenerate = { trades = 2500, seed = 9, bad_fraction = 0.03 }\n'
            "[market]\ngenerate = { seed = 9 }\n[run]\npartitions = 10\n"
            f'[output]\npath = "{mpi_tmp_path / "world.h5"}"\n'
        )
    comm.Barrier()
    spec = load_job(job)
    run_job(spec, comm)
    if comm.Get_rank() == 0:
        run_job(spec, self_comm(), out=mpi_tmp_path / "self.h5")
        a = result_datasets(mpi_tmp_path / "world.h5", ("diagnostics", "partitions/rank"))
        b = result_datasets(mpi_tmp_path / "self.h5", ("diagnostics", "partitions/rank"))
        assert sorted(a) == sorted(b)
        for k in a:
            assert np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f"), k
        with h5py.File(mpi_tmp_path / "world.h5") as f:
            assert f.attrs["n_ranks"] == comm.Get_size()
    comm.Barrier()


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("n_partitions", [1, 2, 7, 64, 257])
@pytest.mark.parametrize("share_out", ["blocks", "scattered"])
def test_tree_sum_equals_the_one_rank_tree(n_partitions: int, share_out: str) -> None:
    from test_engine_stages import tree_reference

    from xiphpc.engine.cube import ColumnLayout, Nodes, PartialCube
    from xiphpc.engine.partition import PartitionPlan
    from xiphpc.parallel.workshare import WorkShare

    comm = world()
    size = comm.Get_size()
    rng = np.random.default_rng(n_partitions)
    blocks = rng.normal(size=(n_partitions, 5, 2)) * 10.0 ** rng.integers(
        -15, 15, (n_partitions, 5, 2)
    )
    if share_out == "blocks":
        # Uneven blocks of partitions per rank; rank 0 and another rank may price none.
        cuts = np.sort(rng.integers(0, n_partitions + 1, size - 1))
        owner = np.repeat(np.arange(size), np.diff(np.concatenate(([0], cuts, [n_partitions]))))
    else:
        # As dynamic balance hands them out: any rank, any partition, stretches and gaps.
        owner = np.repeat(rng.integers(0, size, n_partitions), rng.integers(1, 4, n_partitions))
        owner = owner[:n_partitions]
    bounds = np.arange(n_partitions + 1, dtype=np.int64)
    plan = PartitionPlan(bounds, np.ones(n_partitions), np.array([0, n_partitions]))
    share = WorkShare(comm, plan)
    mine_parts = np.flatnonzero(owner == comm.Get_rank()).tolist()
    assert share.owners(mine_parts).tolist() == owner.tolist()
    # Some ranks hand over single partitions, others the nodes their partitions fold into.
    mine = [(p, 1, blocks[p]) for p in mine_parts]
    if comm.Get_rank() % 2:
        cube = PartialCube(Nodes(("total",), {"total": ["all"] * 5}), ColumnLayout(()))
        for p in mine_parts:
            cube.of(p)[...] = blocks[p]
            cube.fold(p)
        mine = cube.forest
    got = share.tree_sum(mine, (5, 2), owner)
    if comm.Get_rank() == 0:
        np.testing.assert_array_equal(got, tree_reference(blocks))
    else:
        assert got is None
