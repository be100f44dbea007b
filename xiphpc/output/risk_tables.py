"""Risk results in the HDF5 file: sensitivities by node and factor, scenario P&L, VaR, ES.

Layout::

    /sensitivities/factors/{label,kind,name,pillar,unit,bump}   one row per risk factor
    /sensitivities/<level>/{node,factor,value}     tidy: one row per (node, factor), non-zero
    /par_sensitivities/factors/{label,unit}        one row per rate or hazard quote
    /par_sensitivities/<level>/{node,factor,value} the same, on the quotes (par_risk)
    /scenarios/historical/dates                    (S,) end date of each one-day move
    /scenarios/historical/<level>/{key,pnl,var,es,var_date,es_dates}
    /scenarios/historical/trade_pnl                (n_trades, S), only when asked for
    /scenarios/stress/names                        (T,)
    /scenarios/stress/<level>/{key,pnl}            pnl (G, T)
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from xiphpc.engine.cube import ColumnLayout, Nodes
from xiphpc.output.schema import (
    FACTORS,
    HISTORICAL,
    PAR_SENSITIVITIES,
    SENSITIVITIES,
    STRESS,
    TRADE_PNL,
)
from xiphpc.risk.par import ParBuckets
from xiphpc.risk.revalue import FACTOR_UNIT_TEXT, RiskSetup
from xiphpc.risk.var import var_es

__all__ = ["create_trade_pnl", "write_risk"]


def _strings(values) -> np.ndarray:
    return np.char.encode(np.asarray(values, dtype=str), "utf-8")


def create_trade_pnl(path: Path, n_trades: int, n_scenarios: int, base: str) -> None:
    """Create the chunked, compressed per-trade P&L dataset (NaN for excluded trades)."""
    with h5py.File(path, "r+") as f:
        ds = f.create_dataset(
            TRADE_PNL,
            shape=(n_trades, n_scenarios),
            dtype="f8",
            chunks=(max(1, min(n_trades, 1024)), n_scenarios),
            compression="gzip",
            compression_opts=4,
            fillvalue=np.nan,
        )
        ds.attrs["unit"] = base
        ds.attrs["description"] = "P&L of each trade under each historical scenario"


def write_risk(
    f: h5py.File,
    risk: RiskSetup,
    nodes: Nodes,
    layout: ColumnLayout,
    sums: np.ndarray,
    base: str,
    par: ParBuckets | None = None,
) -> None:
    """Write sensitivities, scenario P&L and VaR/ES of every node of every level.

    Parameters
    ----------
    nodes : Nodes
        Rows of ``sums``: the nodes of every level.
    layout : ColumnLayout
        Columns of ``sums``: the risk blocks are read through its named slices.
    sums : ndarray, shape ``(G, C)``
        Reduced sums of the whole portfolio.
    par : ParBuckets, optional
        Map of the rate and hazard pillar sensitivities to par quotes; with it the
        sensitivities are also written on the quotes.
    """
    fs = risk.factors
    if risk.bumps is not None:
        sg = f.create_group(SENSITIVITIES)
        sg.attrs["description"] = (
            f"bucketed sensitivities in {base}: central differences, PV change per reporting "
            "unit of each factor (see factors/unit)"
        )
        fg = sg.create_group(FACTORS)
        fg["label"] = _strings(fs.labels)
        fg["kind"] = _strings(fs.kind)
        fg["name"] = _strings(fs.name)
        fg["pillar"] = fs.pillar
        fg["pillar"].attrs["unit"] = "years (NaN for spots)"
        fg["unit"] = _strings([FACTOR_UNIT_TEXT[k] for k in fs.kind])
        fg["bump"] = risk.bumps
        fg["bump"].attrs["description"] = "bump size: absolute for ir/vols, relative for fx/eq"
        sens = sums[:, layout.sensitivities]
        _tidy_levels(sg, nodes, sens, fs.labels, base)
        if par is not None:
            pg = f.create_group(PAR_SENSITIVITIES)
            pg.attrs["description"] = (
                f"sensitivities in {base} to the par quotes of bootstrapped curves (rates per "
                "1bp of par rate, CDS per 1bp of par spread) through the bootstrap Jacobian; "
                "pillars of curves given without quotes stand for themselves"
            )
            pf = pg.create_group(FACTORS)
            pf["label"] = _strings(par.labels)
            pf["unit"] = _strings(par.units)
            _tidy_levels(pg, nodes, par.apply(sens), par.labels, base)
    if layout.n_historical:
        hg = f.require_group(HISTORICAL)
        hg["dates"] = _strings(np.datetime_as_string(risk.hist_dates, unit="D"))
        hg["held_factors"] = _strings(list(risk.held)) if risk.held else np.zeros(0, dtype="S1")
        hg["held_factors"].attrs["description"] = (
            "factors the history lacks, held at today's level in every scenario"
        )
        hg.attrs.update(
            {
                "var_confidence": risk.var_confidence,
                "es_confidence": risk.es_confidence,
                "description": "one-day historical moves applied to today's market; losses are "
                "positive in var/es",
            }
        )
        _scenario_levels(hg, nodes, sums[:, layout.historical], base, risk, risk.hist_dates)
    if layout.n_stresses:
        tg = f.create_group(STRESS)
        tg["names"] = _strings(risk.stress_names)
        _scenario_levels(tg, nodes, sums[:, layout.stresses], base, None, None)


def _tidy_levels(group, nodes: Nodes, values, labels, base) -> None:
    """One ``{node, factor, value}`` table per level: the non-zero entries of ``values``
    (shape ``(G, K)``, rows the nodes of all levels, columns ``labels``)."""
    keys = nodes.keys
    for lv in nodes.levels:
        block = values[nodes.rows(lv)]
        node, factor = np.nonzero(block)
        g = group.create_group(lv)
        g["node"] = (
            _strings(np.array(keys[lv], dtype=str)[node]) if node.size else np.zeros(0, dtype="S1")
        )
        g["factor"] = _strings(np.array(labels)[factor]) if factor.size else np.zeros(0, dtype="S1")
        g["value"] = block[node, factor]
        g["value"].attrs["unit"] = f"{base} per factor unit"
        g.attrs["description"] = f"one row per ({lv}, factor) with a non-zero sensitivity"


def _scenario_levels(group, nodes: Nodes, pnl_all, base, risk, dates) -> None:
    keys = nodes.keys
    for lv in nodes.levels:
        pnl = pnl_all[nodes.rows(lv)]
        g = group.create_group(lv)
        g["key"] = _strings(keys[lv])
        g["pnl"] = pnl
        g["pnl"].attrs["unit"] = base
        g["pnl"].attrs["description"] = "P&L per node (rows, as key) and scenario (columns)"
        if risk is None:
            continue
        var, es, var_s, es_s = var_es(pnl, risk.var_confidence, risk.es_confidence)
        g["var"] = var
        g["es"] = es
        g["var"].attrs["unit"] = g["es"].attrs["unit"] = base
        g["var_date"] = _strings(np.datetime_as_string(dates[var_s], unit="D"))
        g["es_dates"] = _strings(np.datetime_as_string(dates[es_s], unit="D"))
        g["es_dates"].attrs["description"] = "dates of the ES tail scenarios, worst first"
