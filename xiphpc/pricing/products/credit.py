"""Credit default swaps on the market's credit curves, under a model chosen per trade
(column ``model``):

- ``isda`` (the default): the ISDA CDS Standard Model the market quotes upfronts with
  (conventions in :mod:`xiphpc.market.curves.isda`, kernel
  :mod:`xiphpc.pricing.kernels.credit_isda`): standard IMM premium dates, step-in ``T + 1``,
  cash settlement ``T + 3`` business days, the whole first premium paid, protection and
  default accrual integrated exactly on piecewise-flat hazard and forward rates;
- ``midpoint``: the mid-point model (conventions in :mod:`xiphpc.market.curves.credit`):
  premium periods from the valuation date, default at each period's mid-point.

Both discount on the CDS currency's curve and take survival from piecewise-flat hazard
rates. Quantity: notional (signed). ``protection = "buy"`` receives the protection leg and
pays the contractual ``spread``. Measures: ``pv`` (under ``isda`` the dirty value: every
remaining premium counted whole, the premium accrued to the step-in date included); ``rho``
the PV change for +1bp on the discount curve's zero rates (symmetric difference), hazard
rates held; ``theta`` the one-day change with curves held fixed as functions of time;
``delta``, ``gamma``, ``vega`` are 0. Par spreads, upfronts, accrued premium and the
credit-spread sensitivity are given by :func:`cds_analytics`, conventional (quoted) spreads by
:func:`conventional_spreads` (they are not engine measures).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

from xiphpc.io.text import unique_inverse
from xiphpc.market.curve_states import CurveStates
from xiphpc.market.curves.credit import HazardCurve, cds_periods
from xiphpc.market.curves.isda import isda_periods
from xiphpc.market.curves.loader import CreditCurve
from xiphpc.market.data import Market
from xiphpc.pricing.inputs import per_name, per_pair
from xiphpc.pricing.kernels.credit import (
    CdsOutputs,
    CdsTerms,
    PremiumPeriods,
    cds_parallel,
    cds_serial,
)
from xiphpc.pricing.kernels.credit_isda import (
    IsdaOutputs,
    IsdaPeriods,
    IsdaTerms,
    isda_parallel,
    isda_serial,
)
from xiphpc.pricing.kernels.rates import Moves, allocate_outputs, moves
from xiphpc.pricing.status import Status

from .base import Column, Table
from .rates import CurveProduct, memo_schedules, rate_checks

__all__ = [
    "CDS_MODELS",
    "CONVENTIONAL_RECOVERY",
    "DEFAULT_CDS_MODEL",
    "CreditDefaultSwap",
    "cds_analytics",
    "cds_models",
    "conventional_hazards",
    "conventional_spreads",
]

#: Pricing models of the ``model`` column.
CDS_MODELS = ("isda", "midpoint")
#: Model of a trade whose ``model`` is empty: the one the market quotes upfronts with.
DEFAULT_CDS_MODEL = "isda"
#: Recovery rate of the conventional spread: the standard one of senior unsecured debt.
CONVENTIONAL_RECOVERY = 0.4


def cds_models(table: Table) -> np.ndarray:
    """Model of each trade (:data:`CDS_MODELS`), the default for an empty or absent
    ``model``, shape ``(n,)``."""
    if "model" not in table.columns:
        return np.full(len(table), DEFAULT_CDS_MODEL)
    values = np.asarray(table["model"]).astype(str)
    return np.where(values == "", DEFAULT_CDS_MODEL, values)


class _Results(NamedTuple):
    """Per unit notional: ``values`` shape ``(n, J, V)``; of move 0 in state 0, shape
    ``(n,)``: ``par_spread``, (clean) ``annuity``, ``settlement_df`` (1 under the mid-point
    model, settled today) and the ``accrued`` ACT/360 fraction (0 under the mid-point
    model)."""

    values: np.ndarray
    par_spread: np.ndarray
    annuity: np.ndarray
    settlement_df: np.ndarray
    accrued: np.ndarray


def _schedules(table: Table, market: Market):
    vd = market.valuation_date
    isda = np.flatnonzero(cds_models(table) == "isda")
    mid = np.flatnonzero(cds_models(table) == "midpoint")
    return (
        isda,
        isda_periods(vd, table["maturity"][isda]),
        mid,
        cds_periods(vd, table["maturity"][mid]),
    )


def _run(
    table: Table,
    market: Market,
    states: CurveStates,
    mv: Moves,
    parallel: bool,
) -> _Results:
    """Values per unit notional under each move in each state, and the analytics of move 0
    in state 0 (:class:`_Results`)."""
    n = len(table)
    names = [str(u) for u in unique_inverse(table["underlying"])[0]]
    credit = np.searchsorted(np.array(names), table["underlying"]).astype(np.int64)
    hazards = [market.credit_curves[u].hazard for u in names]
    ccys = [str(c) for c in unique_inverse(table["currency"])[0]]
    disc = np.searchsorted(np.array(ccys), table["currency"]).astype(np.int64)
    rows_isda, p_isda, rows_mid, p_mid = memo_schedules(
        table,
        market,
        "credit_default_swap",
        ("maturity", *(("model",) if "model" in table.columns else ())),
        lambda: _schedules(table, market),
    )
    recovery = np.array([h.recovery for h in hazards])[credit]
    sign = np.where(table["protection"] == "buy", 1.0, -1.0)
    spread = table["spread"]
    yc = states.yield_curves(ccys, [market.curves[c] for c in ccys])
    hc = states.hazard_curves(names, hazards)
    res = _Results(
        np.empty((n, mv.horizon.size, len(states))),
        np.empty(n),
        np.empty(n),
        np.ones(n),
        np.zeros(n),
    )
    if rows_mid.size:
        r = rows_mid
        out = allocate_outputs(CdsOutputs, r.size, mv, len(states))
        kernel = cds_parallel if parallel else cds_serial
        terms = CdsTerms(disc[r], credit[r], recovery[r], spread[r], sign[r])
        kernel(yc, hc, terms, PremiumPeriods.of(p_mid), mv, out)
        res.values[r] = out.values
        res.par_spread[r] = out.par_spread
        res.annuity[r] = out.annuity
    if rows_isda.size:
        r = rows_isda
        out = allocate_outputs(IsdaOutputs, r.size, mv, len(states))
        kernel = isda_parallel if parallel else isda_serial
        terms = IsdaTerms(
            disc[r], credit[r], recovery[r], spread[r], sign[r], p_isda.maturity, p_isda.accrued
        )
        kernel(yc, hc, terms, IsdaPeriods.of(p_isda), mv, out)
        res.values[r] = out.values
        res.par_spread[r] = out.par_spread
        res.annuity[r] = out.annuity
        res.settlement_df[r] = out.settlement_df
        res.accrued[r] = p_isda.accrued
    return res


class CreditDefaultSwap(CurveProduct):
    """Single-name CDS with a running spread: ISDA standard model or mid-point model."""

    name = "credit_default_swap"
    description = "single-name credit default swap (ISDA standard model or mid-point model)"
    columns = (
        Column("underlying", "str", "", "reference entity: a credit curve of the market"),
        Column("protection", "choice", "", "buy or sell protection", choices=("buy", "sell")),
        Column("spread", "float", "decimal per year", "contractual running spread"),
        Column("maturity", "date", "ISO date", "scheduled termination date"),
        Column(
            "model",
            "choice",
            "",
            f"pricing model; empty: {DEFAULT_CDS_MODEL}",
            required=False,
            choices=CDS_MODELS,
        ),
    )
    cost_per_trade = 6.1

    def check(self, table: Table, market: Market):
        curves = market.credit_curves
        known = per_name(table["underlying"], lambda u: u in curves, bool)
        ccy_ok = per_pair(
            table["underlying"],
            table["currency"],
            lambda u, c: u not in curves or curves[u].currency == c,
        )
        negative = ~np.isnan(table["spread"]) & (table["spread"] < 0.0)
        return rate_checks(table, "spread") + [
            (~known, Status.UNKNOWN_UNDERLYING, "underlying: no credit curve of that name"),
            (~ccy_ok, Status.BAD_VALUE, "currency differs from the credit curve's currency"),
            (negative, Status.BAD_VALUE, "spread: negative"),
        ]

    def unit_values(self, table, market, states, mv, parallel):
        return _run(table, market, states, mv, parallel).values, None


def cds_analytics(table: Table, market: Market) -> dict[str, np.ndarray]:
    """Par spreads, upfronts and risk of the CDS of a ``credit_default_swap`` table.

    Returns
    -------
    dict of str to ndarray, each shape ``(n,)``
        ``par_spread`` (decimal per year): the spread of zero upfront (under ``isda``) or of
        zero PV (``midpoint``); ``risky_annuity``: the premium leg per unit spread and
        notional, accrual on default included, less (under ``isda``) the accrued premium
        paid back at cash settlement, discounted; ``cs01``: PV change, scaled by quantity,
        for the par spread moving +1bp, to first order (risky annuity held):
        ``sign * risky_annuity * 1e-4 * quantity``, ``sign`` +1 for bought protection.
        Amounts in the trade currency, scaled by quantity, for the holder: ``dirty_pv``
        (the engine's ``pv``); ``accrued``, the premium accrued from the period start to
        the step-in date (negative for bought protection; 0 under ``midpoint``, whose first
        period starts today); ``clean_pv = dirty_pv - accrued``; ``upfront``, the clean value
        at cash settlement, ``dirty_pv / P(settlement) - accrued`` (the points upfront of a
        new trade times its notional; paid by the protection buyer when positive for the
        buyer); ``cash_settlement = upfront + accrued``, the amount that changes hands
        then. Under ``midpoint`` settlement is today and ``upfront = clean_pv = dirty_pv``.
    """
    out = _run(table, market, CurveStates.today(), moves(), False)
    q = table["quantity"]
    sign = np.where(table["protection"] == "buy", 1.0, -1.0)
    dirty = out.values[:, 0, 0] * q
    accrued = -sign * table["spread"] * out.accrued * q
    cash = dirty / out.settlement_df
    return {
        "par_spread": out.par_spread,
        "risky_annuity": out.annuity,
        "cs01": sign * out.annuity * 1e-4 * q,
        "dirty_pv": dirty,
        "accrued": accrued,
        "clean_pv": dirty - accrued,
        "upfront": cash - accrued,
        "cash_settlement": cash,
    }


def _flat_upfronts(
    table: Table, market: Market, hazard: np.ndarray, recovery: float
) -> tuple[np.ndarray, np.ndarray]:
    """Upfront per unit notional from the buyer's side and par spread of each CDS of
    ``table`` on its own flat hazard curve ``hazard[i]``, shape ``(n,)`` each."""
    n = len(table)
    names = np.array([f"flat:{i}" for i in range(n)])
    curves = {
        str(names[i]): CreditCurve(
            str(table["currency"][i]), HazardCurve(np.ones(1), hazard[i : i + 1], recovery)
        )
        for i in range(n)
    }
    flat = Table(table.product, {**table.columns, "underlying": names}, table.missing)
    out = _run(
        flat,
        dataclasses.replace(market, credit_curves=curves),
        CurveStates.today(),
        moves(),
        False,
    )
    sign = np.where(table["protection"] == "buy", 1.0, -1.0)
    # Per unit notional, buyer's side: dirty / P(settlement) + spread * accrued.
    upfront = sign * out.values[:, 0, 0] / out.settlement_df + table["spread"] * out.accrued
    return upfront, out.par_spread


def conventional_hazards(
    table: Table, market: Market, *, recovery: float = CONVENTIONAL_RECOVERY, tol: float = 1e-12
) -> np.ndarray:
    """Flat hazard rates, at recovery ``recovery``, on which each CDS of a
    ``credit_default_swap`` table has the same upfront as on the market's curves (each trade
    under its own model), shape ``(n,)``, per year.

    Secant steps on the hazard rate, started from the credit triangle, until the upfront per
    unit notional is within ``tol``; NaN where they do not get there in 100 steps.
    """
    n = len(table)
    if n == 0:
        return np.zeros(0)
    an = cds_analytics(table, market)
    sign = np.where(table["protection"] == "buy", 1.0, -1.0)
    target = sign * an["upfront"] / table["quantity"]
    x0 = np.maximum(an["par_spread"], 1e-6) / (1.0 - recovery)
    x1 = 1.01 * x0
    f0 = _flat_upfronts(table, market, x0, recovery)[0] - target
    f1 = _flat_upfronts(table, market, x1, recovery)[0] - target
    for _ in range(100):
        live = (np.abs(f1) > tol) & (f1 != f0) & np.isfinite(f1)
        if not live.any():
            break
        step = np.where(live, f1 * (x1 - x0) / np.where(live, f1 - f0, 1.0), 0.0)
        # A flat hazard stays positive: a step through zero halves the rate instead.
        x2 = np.where(x1 - step > 0.0, x1 - step, 0.5 * x1)
        x0, f0 = np.where(live, x1, x0), np.where(live, f1, f0)
        x1 = np.where(live, x2, x1)
        f1 = np.where(live, _flat_upfronts(table, market, x1, recovery)[0] - target, f1)
    return np.where(np.abs(f1) <= tol, x1, np.nan)


def conventional_spreads(
    table: Table, market: Market, *, recovery: float = CONVENTIONAL_RECOVERY, tol: float = 1e-12
) -> np.ndarray:
    """Conventional (quoted) spreads of the CDS of a ``credit_default_swap`` table, shape
    ``(n,)``, decimal per year: the par spread of each CDS on its flat hazard curve of
    :func:`conventional_hazards` (QuantLib's ``CreditDefaultSwap.conventionalSpread``); NaN
    where that has none."""
    hazard = conventional_hazards(table, market, recovery=recovery, tol=tol)
    ok = np.isfinite(hazard)
    par = _flat_upfronts(table, market, np.where(ok, hazard, 0.01), recovery)[1]
    return np.where(ok, par, np.nan)
