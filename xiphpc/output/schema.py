"""Where everything lives in a result file: each group path named once.

Writers (:mod:`~xiphpc.output.writer`, :mod:`~xiphpc.output.risk_tables`,
:mod:`~xiphpc.output.merge`) and readers take the paths from here, so that a renamed group
changes in one place. The datasets of each group are described in
:mod:`~xiphpc.output.result_file` and :mod:`~xiphpc.output.risk_tables`.
"""

from __future__ import annotations

__all__ = [
    "AGGREGATES",
    "DIAGNOSTICS",
    "FACTORS",
    "HISTORICAL",
    "PARTITIONS",
    "PARTITION_DIAGNOSTICS",
    "PAR_SENSITIVITIES",
    "RANK_DIAGNOSTICS",
    "RISK_GROUPS",
    "SENSITIVITIES",
    "STRESS",
    "TRADES",
    "TRADE_PNL",
    "TRADE_SENSITIVITIES",
]

#: One row per trade, in global trade order.
TRADES = "trades"
#: ``<level>/{key, <measure>..., n_trades, n_excluded}``.
AGGREGATES = "aggregates"
#: The partition plan: ``{start, stop, cost, rank}``.
PARTITIONS = "partitions"
DIAGNOSTICS = "diagnostics"
#: Per-rank trades, partitions and stage seconds.
RANK_DIAGNOSTICS = f"{DIAGNOSTICS}/ranks"
#: Per-partition rank and pass times.
PARTITION_DIAGNOSTICS = f"{DIAGNOSTICS}/partitions"
#: Bucketed sensitivities: ``factors/...`` and ``<level>/{node, factor, value}``.
SENSITIVITIES = "sensitivities"
#: The same on par quotes.
PAR_SENSITIVITIES = "par_sensitivities"
#: Sub-group of the two above describing their factors.
FACTORS = "factors"
#: Historical simulation: ``dates``, ``held_factors``, ``<level>/{key, pnl, var, es, ...}``.
HISTORICAL = "scenarios/historical"
#: Per-trade historical P&L, ``(trades, scenarios)``.
TRADE_PNL = f"{HISTORICAL}/trade_pnl"
#: Per-trade non-zero sensitivities, tidy: ``{trade, factor, value}`` by trade then factor
#: (factor indexes ``sensitivities/factors``).
TRADE_SENSITIVITIES = "trade_sensitivities"
#: Stress scenarios: ``names``, ``<level>/{key, pnl}``.
STRESS = "scenarios/stress"
#: Every risk group a result may hold.
RISK_GROUPS = (SENSITIVITIES, PAR_SENSITIVITIES, HISTORICAL, STRESS)
