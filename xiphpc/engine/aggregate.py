"""Stage 5, aggregate: sum each partition's trades by node, in row order, into the cube.

Measures are summed in the base currency over priced trades, beside a count of priced and
excluded trades; with a ``[risk]`` section, the trades' bucketed sensitivities and scenario
P&L are summed into the risk columns the same way.
"""

from __future__ import annotations

import numpy as np

from xiphpc.engine.cube import PartialCube
from xiphpc.engine.events import RunState
from xiphpc.engine.price import Batch
from xiphpc.pricing.kernels.aggregate import group_scatter_sum, group_sum
from xiphpc.pricing.products import REGISTRY
from xiphpc.risk.revalue import MAX_ROWS, scenario_pnl, sensitivities

__all__ = ["sum_measures", "sum_risk"]


def sum_measures(
    partitions: range, batch: Batch, members: dict[str, np.ndarray], cube: PartialCube
) -> None:
    """Base-currency measures and the two counters of ``partitions`` (of ``batch``, priced)
    into ``cube``.

    Parameters
    ----------
    members : dict of str to ndarray of int64, shape ``(n,)`` each
        Node row of every trade of the batch at every level (:meth:`Nodes.membership`).
    """
    layout, trades = cube.layout, batch.trades
    for p in partitions:
        rows = batch.rows(p)
        priced = trades.priced[rows]
        values = np.zeros((priced.size, layout.base.stop))
        # Excluded trades contribute exact zeros to the measures and count in n_excluded.
        values[:, layout.measure_columns] = np.where(
            priced[:, None], trades.values[rows] * trades.fx_to_base[rows, None], 0.0
        )
        values[:, layout.n_trades] = priced
        values[:, layout.n_excluded] = ~priced
        include = np.ones(priced.size, dtype=bool)
        for level in cube.nodes.levels:
            group_sum(members[level][rows], values, include, cube.of(p)[:, layout.base])


def sum_risk(run: RunState, partitions: range, members: dict[str, np.ndarray]) -> None:
    """Sensitivities and scenario P&L of the priced trades of ``partitions`` (of the run's
    batch), summed by node
    into the risk columns of ``cube``, each partition in row order.

    Trades are valued in chunks of whole partitions of one product table (at most about
    :data:`~xiphpc.risk.revalue.MAX_ROWS` trade-scenario rows), so that products revalued on
    whole shifted markets pay per chunk, not per partition; a trade's values do not depend on
    the chunk it is in.
    """
    batch, cube = run.batch, run.cube
    book, trades = batch.book, batch.trades
    risk, market, ctx = run.inputs.risk, run.inputs.market, run.ctx
    layout = cube.layout
    shifts = np.concatenate([risk.hist_shifts, risk.stress_shifts])
    per_chunk = max(1, MAX_ROWS // max(1, shifts.shape[0], 16))
    a = batch.rows(partitions.start).start
    b = batch.rows(partitions.stop - 1).stop
    for piece, ta, tb in book.overlapping(a, b):
        spans = []
        for p in partitions:
            rows = batch.rows(p)
            r0, r1 = max(ta, rows.start), min(tb, rows.stop)
            if r0 < r1:
                spans.append((p, r0, r1))
        chunks: list[list[tuple[int, int, int]]] = []
        for span in spans:
            if chunks and sum(r1 - r0 for _, r0, r1 in chunks[-1]) + span[2] - span[1] <= per_chunk:
                chunks[-1].append(span)
            else:
                chunks.append([span])
        product = REGISTRY[piece.product]
        for chunk in chunks:
            rows = np.arange(chunk[0][1], chunk[-1][2])
            rows = rows[trades.priced[rows]]
            if rows.size == 0:
                continue
            sub = piece.table.take(rows - piece.start)
            sens = scen = None
            if risk.bumps is not None:
                fidx, sens = sensitivities(product, sub, market, risk.factors, risk.bumps, ctx)
                cols = np.where(fidx >= 0, fidx + layout.sensitivities.start, -1)
                if trades.sensitivities is not None:
                    kept = (fidx >= 0) & (sens != 0.0)
                    trades.sensitivities.append(
                        (np.repeat(rows, fidx.shape[1])[kept.ravel()], fidx[kept], sens[kept])
                    )
            if shifts.shape[0]:
                scen = scenario_pnl(product, sub, market, risk.factors, shifts, ctx)
                if trades.trade_pnl is not None:
                    trades.trade_pnl[rows] = scen[:, : layout.n_historical]
            for p, r0, r1 in chunk:
                k0, k1 = np.searchsorted(rows, [r0, r1])
                if k0 == k1:
                    continue
                mine = rows[k0:k1]
                sums = cube.of(p)
                for level in cube.nodes.levels:
                    g = members[level][mine]
                    if sens is not None:
                        group_scatter_sum(g, cols[k0:k1], sens[k0:k1], sums)
                    if scen is not None:
                        group_sum(
                            g, scen[k0:k1], np.ones(k1 - k0, dtype=bool), sums[:, layout.scenarios]
                        )
