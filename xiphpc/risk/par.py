"""Par-rate and par-spread buckets: sensitivities to the quotes the curves were built from.

A curve bootstrapped from par quotes (deposits, FRAs, futures, swaps, OIS swaps; CDS par
spreads for hazard curves) has one pillar per quote. Bucketed sensitivities are taken on the
pillars ``x`` (zero rates, hazard rates); the quotes ``q`` are functions of the pillars, with
Jacobian ``J[k, p] = dq_k / dx_p``, and the bootstrap is its inverse, so the sensitivity to the
quotes is the chain rule ``s_q = s_x J^-1`` (row vectors). ``J`` is computed once per job by
central differences (1bp) of the quotes repriced on moved curves: a quote of a projection
curve depends on its own pillars and on those of the curve that discounted its swaps; a CDS
spread on its hazard pillars and its currency's discount pillars. A curve given by its
pillars is its own quote (identity rows), so ``s_q`` has one entry per rate or hazard pillar,
in factor order, and sums over nodes like any sensitivity.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from xiphpc.market.curves.bootstrap import quote_pricer
from xiphpc.market.curves.credit import cds_legs, cds_maturities, cds_periods
from xiphpc.market.curves.curve import as_curve
from xiphpc.market.data import Market
from xiphpc.market.factors import FactorSet

from .revalue import FACTOR_UNIT_TEXT

__all__ = ["ParBuckets", "par_buckets"]

#: Pillar move of the Jacobian's central differences (absolute).
JACOBIAN_BUMP = 1e-4


@dataclass(frozen=True)
class ParBuckets:
    """The map from pillar sensitivities to quote sensitivities.

    Attributes
    ----------
    columns : ndarray of int64, shape ``(K,)``
        Factor indices of every rate and hazard pillar (kinds ``ir`` and ``cs``).
    labels, units : list of str, length K
        ``irpar:<curve>:<instrument>`` (per 1bp of par rate) and ``cspar:<entity>:<tenor>``
        (per 1bp of par spread) for quoted curves; the pillar's own factor label and unit
        otherwise.
    transform : ndarray, shape ``(K, K)``
        ``J^-1``: pillar moves per unit quote move.
    """

    columns: np.ndarray
    labels: list[str]
    units: list[str]
    transform: np.ndarray

    def apply(self, sens: np.ndarray) -> np.ndarray:
        """Quote sensitivities from pillar sensitivities (shape ``(G, F)``, PV per 1bp of
        each pillar): shape ``(G, K)``, PV per 1bp of each quote."""
        return sens[:, self.columns] @ self.transform


def _rows_by_differences(quotes, curves: list, firsts: list[int], pos: dict) -> dict:
    """``{(factor, column position): dq/dx}`` columns of every pillar of ``curves``;
    ``quotes(*curves)`` reprices the quotes."""
    cols = {}
    h = JACOBIAN_BUMP
    for c_i, (curve, first) in enumerate(zip(curves, firsts, strict=True)):
        if first < 0:
            continue
        n_p = curve.hazards.size if hasattr(curve, "hazards") else as_curve(curve).times.size
        for p in range(n_p):
            up = list(curves)
            dn = list(curves)
            up[c_i] = _move(curve, p, h)
            dn[c_i] = _move(curve, p, -h)
            cols[pos[first + p]] = (quotes(*up) - quotes(*dn)) / (2.0 * h)
    return cols


def _move(curve, p: int, h: float):
    """``curve`` (a yield curve or a hazard curve) with pillar ``p`` moved by ``h``."""
    if hasattr(curve, "hazards"):
        hz = curve.hazards.copy()
        hz[p] += h
        return dataclasses.replace(curve, hazards=hz)
    c = as_curve(curve)
    z = c.zero_rates.copy()
    z[p] += h
    return dataclasses.replace(c, zero_rates=z)


def par_buckets(market: Market, factors: FactorSet) -> ParBuckets:
    """The pillar-to-quote map of ``market``'s curves (identity where no curve is quoted)."""
    columns = np.flatnonzero(np.isin(factors.kind, ("ir", "cs")))
    pos = {int(f): j for j, f in enumerate(columns)}
    k = columns.size
    jac = np.eye(k)
    labels = [factors.labels[f] for f in columns]
    units = [FACTOR_UNIT_TEXT[str(factors.kind[f])] for f in columns]
    vdate = market.valuation_date

    named = {**market.curves, **market.index_curves}
    for name, curve in sorted(named.items()):
        q = getattr(curve, "quotes", None)
        if q is None:
            continue
        qlabels, _, reprice = quote_pricer(vdate, q.instruments)
        first = factors.index("ir", name)
        curves, firsts = [curve], [first]
        if q.discount:  # the quotes' swaps were discounted on another curve
            curves.append(market.curves[q.discount])
            firsts.append(factors.index("ir", q.discount))
        cols = _rows_by_differences(
            lambda c, *d, reprice=reprice: reprice(c, *(as_curve(x) for x in d)),
            curves,
            firsts,
            pos,
        )
        _set_quotes(
            jac,
            labels,
            units,
            pos,
            first,
            cols,
            [f"irpar:{name}:{x}" for x in qlabels],
            "per 1bp of par rate",
        )

    for name, cc in sorted(market.credit_curves.items()):
        tenors = getattr(cc, "quote_tenors", ())
        if not tenors:
            continue
        periods = cds_periods(vdate, cds_maturities(vdate, tenors))

        def spreads(hazard, disc, periods=periods) -> np.ndarray:
            n = periods.offsets.size - 1
            legs = [cds_legs(periods, i, hazard, as_curve(disc)) for i in range(n)]
            return np.array([prot / ann for prot, ann in legs])

        first = factors.index("cs", name)
        cols = _rows_by_differences(
            spreads,
            [cc.hazard, market.curves[cc.currency]],
            [first, factors.index("ir", cc.currency)],
            pos,
        )
        _set_quotes(
            jac,
            labels,
            units,
            pos,
            first,
            cols,
            [f"cspar:{name}:{t}" for t in tenors],
            "per 1bp of par spread",
        )
    return ParBuckets(columns, labels, units, np.linalg.inv(jac))


def _set_quotes(jac, labels, units, pos, first, cols, quote_labels, unit) -> None:
    """Make the pillars of the curve starting at factor ``first`` its quotes: their identity
    rows of ``jac`` become the quotes' derivatives ``cols`` (:func:`_rows_by_differences`),
    with the quotes' labels and unit."""
    rows = [pos[first + i] for i in range(len(quote_labels))]
    jac[rows, :] = 0.0
    for c, d in cols.items():
        jac[rows, c] = d
    for r, label in zip(rows, quote_labels, strict=True):
        labels[r] = label
        units[r] = unit
