"""Stage 2, agree the partition plan: cost estimates of an even share of the trades per
rank, agreed into one plan from block totals (:mod:`xiphpc.engine.partition`)."""

from __future__ import annotations

import numpy as np

from xiphpc.config.job import RunSpec
from xiphpc.engine.partition import block_rows, plan_partitions_distributed
from xiphpc.io.portfolio import PortfolioSource
from xiphpc.parallel.mpi import Comm
from xiphpc.parallel.workshare import WorkShare
from xiphpc.pricing.products import REGISTRY

__all__ = ["TRADE_OVERHEAD_COST", "agree_plan", "product_offsets"]

#: Cost of handling one trade apart from pricing it, in the units of ``Product.cost``.
TRADE_OVERHEAD_COST = 0.4


def product_offsets(source: PortfolioSource) -> tuple[list[str], np.ndarray]:
    """Product tables in trade order and the global row where each starts.

    Returns
    -------
    products : list of str
    offsets : ndarray of int64, shape ``(len(products) + 1,)``
        Table ``k`` holds global rows ``offsets[k]:offsets[k + 1]``.
    """
    counts = source.counts()
    products = list(counts)
    offsets = np.concatenate(([0], np.cumsum([counts[p] for p in products]))).astype(np.int64)
    return products, offsets


def agree_plan(source: PortfolioSource, comm: Comm, run: RunSpec) -> WorkShare:
    """The partition plan of the portfolio (as many partitions as ``run`` asks for the
    number of trades) and this rank's share of it.

    Each rank reads the cost columns of its :func:`~xiphpc.engine.partition.block_rows`
    only; the plan equals the serial one to the last bit whatever the rank count.
    """
    products, offsets = product_offsets(source)
    n_total = int(offsets[-1])
    c0, c1 = block_rows(n_total, comm.Get_rank(), comm.Get_size())
    pieces = []
    for k, p in enumerate(products):
        a, b = max(c0, offsets[k]), min(c1, offsets[k + 1])
        if a < b:
            pr = REGISTRY[p]
            pieces.append(
                pr.cost(source.read(p, a - offsets[k], b - offsets[k], pr.cost_columns))
                if pr.cost_columns
                else np.full(b - a, pr.cost_per_trade)
            )
    cost = np.concatenate(pieces) if pieces else np.zeros(0)
    # Reading, validating and aggregating a trade costs about the same for every product: a
    # fixed share beside the product's own pricing cost keeps cheap trades from piling up.
    plan = plan_partitions_distributed(
        comm, cost + TRADE_OVERHEAD_COST, c0, n_total, run.n_partitions(n_total)
    )
    return WorkShare(comm, plan)
