"""The engine's stages one by one, on a one-rank communicator (no ``mpiexec``)."""

from __future__ import annotations

import io
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import assert_same_results, write_job

from xiphpc.config.job import load_job
from xiphpc.engine.aggregate import sum_measures
from xiphpc.engine.book import index_book, read_book_rows
from xiphpc.engine.cube import ColumnLayout, Nodes, PartialCube
from xiphpc.engine.events import RunListener
from xiphpc.engine.inputs import read_inputs
from xiphpc.engine.partition import PartitionPlan
from xiphpc.engine.plan import agree_plan
from xiphpc.engine.price import Batch, TradeResults, price_rows
from xiphpc.engine.progress import ProgressDisplay
from xiphpc.engine.reduce import reduce_cube
from xiphpc.engine.run import run_job
from xiphpc.parallel.dispatch import guided_runs
from xiphpc.parallel.mpi import self_comm
from xiphpc.parallel.workshare import WorkShare
from xiphpc.pricing.products import PricingContext
from xiphpc.pricing.status import Status

RISK = """sensitivities = true
historical = { generate = { days = 12, seed = 2 }, trade_pnl = true }
stress = [{ name = "eq down", shifts = { "eq:*" = -0.1, "ir:*" = 0.001 } }]"""


def _plan(bounds: list[int], rank_bounds: list[int]) -> PartitionPlan:
    b = np.array(bounds, dtype=np.int64)
    return PartitionPlan(b, np.diff(b).astype(float), np.array(rank_bounds, dtype=np.int64))


def test_plan_rows_and_passes() -> None:
    plan = _plan([0, 3, 5, 9, 10], [0, 4])
    assert WorkShare(self_comm(), plan).n_total == 10
    assert plan.rows(range(1, 3)) == (3, 9)
    every = range(4)
    # Passes of consecutive partitions up to 5 rows; the 4-row partition starts one of its own.
    assert plan.passes(every, 5, 10) == [range(0, 2), range(2, 4)]
    assert plan.passes(every, 4, 10) == [range(0, 1), range(1, 2), range(2, 3), range(3, 4)]
    assert plan.passes(every, 100, 10) == [range(0, 4)]
    assert plan.passes(every, 100, 3) == [range(0, 3), range(3, 4)]
    assert plan.passes(range(1, 3), 100, 10) == [range(1, 3)]


@pytest.mark.parametrize("n_partitions, n_ranks", [(1, 1), (7, 1), (64, 2), (1000, 3), (5, 8)])
def test_guided_runs_cover_the_partitions_longest_first(n_partitions, n_ranks) -> None:
    runs = guided_runs(n_partitions, n_ranks)
    assert [p for r in runs for p in r] == list(range(n_partitions))
    sizes = [len(r) for r in runs]
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] == 1
    assert sizes[0] == max(1, n_partitions // (4 * n_ranks))


@pytest.mark.parametrize("balance", ["static", "dynamic"])
def test_one_rank_dispatch_takes_every_partition_in_order(balance) -> None:
    share = WorkShare(self_comm(), _plan([0, 3, 5, 9, 10], [0, 4]))
    dispatch = share.dispatch(balance)
    runs = list(dispatch)
    dispatch.close()
    assert runs == [range(4)]


def test_column_layout_slices_tile_the_columns() -> None:
    layout = ColumnLayout(("pv", "delta"), n_sensitivities=5, n_historical=3, n_stresses=2)
    blocks = [
        layout.measure_columns,
        slice(layout.n_trades, layout.n_excluded + 1),
        layout.sensitivities,
        layout.historical,
        layout.stresses,
    ]
    assert [(s.start, s.stop) for s in blocks] == [(0, 2), (2, 4), (4, 9), (9, 12), (12, 14)]
    assert layout.width == 14 and layout.scenarios == slice(9, 14)
    plain = ColumnLayout(("pv",))
    assert plain.width == 3 and plain.sensitivities == slice(3, 3)


def test_nodes_membership() -> None:
    nodes = Nodes(("total", "desk", "book"), {"total": ["all"], "desk": ["A", "B"], "book": ["x"]})
    assert nodes.n == 4 and nodes.rows("desk") == slice(1, 3) and nodes.rows("book") == slice(3, 4)
    levels = {"desk": np.array(["B", "A", "B"], dtype=object), "book": np.array(["x"] * 3)}
    members = nodes.membership(levels)
    assert members["total"].tolist() == [0, 0, 0]
    assert members["desk"].tolist() == [2, 1, 2]
    assert members["book"].tolist() == [3, 3, 3]


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    """Inputs, plan and local book of a small mixed job, read on one rank."""
    folder = tmp_path_factory.mktemp("staged")
    job = write_job(
        folder,
        portfolio="generate = { trades = 1500, seed = 4, bad_fraction = 0.03 }",
        aggregation='levels = ["desk", "product"]',
        run="partitions = 9",
    )
    spec = load_job(job)
    inputs = read_inputs(spec, self_comm())
    share = agree_plan(inputs.source, self_comm(), spec.run)
    levels = list(spec.aggregation.levels)
    index = index_book(inputs.source, share, levels)
    book = read_book_rows(inputs.source, 0, share.n_total, levels, index)
    return spec, inputs, share, book, index


def test_book_holds_every_row_once(staged) -> None:
    _, inputs, share, book, index = staged
    assert len(book) == share.n_total == sum(inputs.source.counts().values())
    starts = [p.start for p in book.pieces]
    assert starts == sorted(starts) and book.pieces[-1].stop == len(book)
    assert list(dict.fromkeys(book.text["product"])) == [p.product for p in book.pieces]
    # The generator repeats some ids on purpose: only later occurrences are flagged.
    ids = book.text["trade_id"]
    flagged = set(np.flatnonzero(book.duplicate).tolist())
    seen: set[str] = set()
    for i, tid in enumerate(ids):
        assert (i in flagged) == (tid != "" and tid in seen)
        seen.add(tid)
    assert flagged
    assert index.duplicates.tolist() == sorted(flagged)
    for lv in ("desk", "product"):
        assert index.keys[lv] == sorted(set(book.levels[lv].tolist()))
    # A later stretch of rows is the same rows of the whole book.
    part = read_book_rows(inputs.source, 700, 1100, ["desk", "product"], index)
    assert part.text["trade_id"].tolist() == book.text["trade_id"][700:1100].tolist()
    np.testing.assert_array_equal(part.duplicate, book.duplicate[700:1100])


def test_pricing_does_not_depend_on_how_rows_are_cut(staged) -> None:
    spec, inputs, share, book, _ = staged
    ctx = PricingContext(seed=spec.seed, valuation_date=inputs.market.valuation_date)
    measures = ("pv", "delta", "vega")
    whole = TradeResults.empty(len(book), measures, None)
    price_rows(book, 0, len(book), inputs.market, ctx, whole)
    cut = TradeResults.empty(len(book), measures, None)
    for a in range(0, len(book), 97):
        price_rows(book, a, min(a + 97, len(book)), inputs.market, ctx, cut)
    np.testing.assert_array_equal(cut.values, whole.values)
    np.testing.assert_array_equal(cut.status, whole.status)
    assert cut.reason.tolist() == whole.reason.tolist()
    assert (whole.status == Status.DUPLICATE_ID).sum() == book.duplicate.sum()
    assert np.isnan(whole.values[whole.status != 0]).all()
    assert np.isfinite(whole.values[whole.status == 0]).all()


def test_measures_summed_by_node_and_reduced_along_the_tree(staged) -> None:
    spec, inputs, share, book, index = staged
    ctx = PricingContext(seed=spec.seed, valuation_date=inputs.market.valuation_date)
    trades = TradeResults.empty(len(book), ("pv",), None)
    price_rows(book, 0, len(book), inputs.market, ctx, trades)
    nodes = Nodes(("total", *spec.aggregation.levels), {"total": ["all"], **index.keys})
    cube = PartialCube(nodes, ColumnLayout(("pv",)))
    members = nodes.membership(book.levels)
    every = range(share.plan.n_partitions)
    batch = Batch(every, 0, book, trades, share.plan.bounds)
    sum_measures(every, batch, members, cube)
    pv_base = np.where(trades.priced, trades.values[:, 0] * trades.fx_to_base, 0.0)
    for p in every:
        rows = batch.rows(p)
        for lv in nodes.levels:
            for node in range(nodes.rows(lv).start, nodes.rows(lv).stop):
                mine = np.flatnonzero(members[lv][rows] == node) + rows.start
                # Row-order sum, one addition at a time, as the kernel adds.
                expect = 0.0
                for v in pv_base[mine]:
                    expect += v
                assert cube.of(p)[node, 0] == expect
                assert cube.of(p)[node, 1] == trades.priced[mine].sum()
                assert cube.of(p)[node, 2] == (~trades.priced[mine]).sum()
    blocks = np.array([cube.of(p).copy() for p in every])
    for p in every:
        cube.fold(p)
    # Nine partitions fold into the nodes of 8 and 1 partitions.
    assert [(k, w) for k, w, _ in cube.forest] == [(0, 8), (8, 1)]
    counts = np.bincount(trades.status, minlength=len(Status))
    reduced = reduce_cube(cube, share, share.owners(list(every)), counts)
    np.testing.assert_array_equal(reduced.sums, tree_reference(blocks))
    assert reduced.excluded.sum() == len(book)
    assert reduced.excluded[0] == trades.priced.sum()


class _Recorder(RunListener):
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def begin(self, run) -> None:
        self.events.append(("begin", run.share.plan.n_partitions))

    def partition_done(self, run, partition: int) -> None:
        assert np.isfinite(run.cube.of(partition)).all()
        self.events.append(("partition", partition))

    def stage_done(self, run, stage: str, seconds: float) -> None:
        assert seconds >= 0.0
        self.events.append(("stage", stage))

    def end(self, run, reduced) -> None:
        self.events.append(("end", reduced.sums is not None))


def test_chunked_risk_run_equals_one_pass_and_tells_listeners(tmp_path: Path) -> None:
    job = write_job(
        tmp_path,
        portfolio="generate = { trades = 1200, seed = 8, bad_fraction = 0.02 }",
        aggregation='levels = ["desk", "currency"]',
        run="partitions = 7\ntrades_per_pass = 1",
        risk=RISK,
    )
    spec = load_job(job)
    recorder = _Recorder()
    progress = io.StringIO()
    # Every partition a pass of its own.
    many = run_job(
        spec, self_comm(), tmp_path / "many.h5", [recorder, ProgressDisplay(progress, 0.0)]
    )
    # One pass over all partitions: pricing, sums and risk chunks all cut differently.
    one_pass = spec.model_copy(
        update={"run": spec.run.model_copy(update={"trades_per_pass": 10**6})}
    )
    one = run_job(one_pass, self_comm(), tmp_path / "one.h5")
    assert_same_results(one.path, many.path)
    lines = progress.getvalue().splitlines()
    assert len(lines) == 8  # one per partition, then the final line
    failed = sum(many.excluded.values())
    assert lines[-1] == (
        f"xiphpc: 7/7 partitions, 1,200/1,200 trades, {lines[-1].split(', ')[2]}, "
        f"ETA 0 s, {failed:,} failed"
    )
    with h5py.File(many.path) as f:
        times = {k: f["diagnostics/partitions"][k][()] for k in ("partition", "start_s", "end_s")}
    assert times["partition"].tolist() == list(range(7))
    assert (np.diff(times["start_s"]) > 0).all() and (times["end_s"] > times["start_s"]).all()
    # One pass for all: every partition shares its interval.
    with h5py.File(one.path) as f:
        starts = f["diagnostics/partitions/start_s"][()]
        ends = f["diagnostics/partitions/end_s"][()]
    assert (starts == starts[0]).all() and (ends == ends[0]).all() and ends[0] > starts[0]
    assert one.n_partitions == 7 and one.n_trades == 1200
    assert one.n_priced + failed == 1200
    stages = [e[1] for e in recorder.events if e[0] == "stage"]
    assert stages == [
        "read inputs",
        "agree plan",
        "index book",
        "price and aggregate",
        "reduce",
    ]
    begin = recorder.events.index(("begin", 7))
    parts = [e[1] for e in recorder.events if e[0] == "partition"]
    assert parts == list(range(7))
    assert recorder.events.index(("partition", 0)) > begin
    assert recorder.events[-1] == ("end", True)


def tree_reference(blocks: np.ndarray) -> np.ndarray:
    """The fixed tree sum written recursively: a node of width ``w`` starting at partition
    ``k`` is its left half plus its right half (the left half alone past the last one)."""
    n = len(blocks)

    def node(k: int, w: int) -> np.ndarray:
        if w == 1:
            return blocks[k]
        half = w // 2
        return node(k, half) + node(k + half, half) if k + half < n else node(k, half)

    width = 1
    while width < n:
        width *= 2
    return node(0, width)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 64, 100])
def test_tree_sum_on_one_rank_follows_the_fixed_tree(n: int) -> None:
    rng = np.random.default_rng(n)
    # Magnitudes over 30 decades: any other order of additions would show in the last bits.
    blocks = rng.normal(size=(n, 4, 3)) * 10.0 ** rng.integers(-15, 15, size=(n, 4, 3))
    share = WorkShare(self_comm(), _plan(list(range(n + 1)), [0, n]))
    singles = [(p, 1, b) for p, b in enumerate(blocks)]
    owner = np.zeros(n, dtype=np.int64)
    got = share.tree_sum(singles, (4, 3), owner)
    np.testing.assert_array_equal(got, tree_reference(blocks))
    # Folded as partitions finish: at most one node per bit of n, and the same sum.
    cube = PartialCube(Nodes(("total",), {"total": ["all"] * 4}), ColumnLayout(("pv",)))
    for p in range(n):
        cube.of(p)[...] = blocks[p]
        cube.fold(p)
    assert len(cube.forest) == bin(n).count("1")
    np.testing.assert_array_equal(share.tree_sum(cube.forest, (4, 3), owner), got)
    # Up to three partitions the tree adds in partition order; from four on it does not.
    if n >= 4:
        sequential = np.zeros((4, 3))
        for b in blocks:
            sequential += b
        assert not np.array_equal(got, sequential)
