"""Credit default swaps on the market's credit curves (conventions in
:mod:`xiphpc.market.curves.credit`): premium leg with accrual on default, protection leg, mid-point
default timing, survival from piecewise-flat hazard rates, discounting on the CDS currency's
curve.

Quantity: notional (signed). ``protection = "buy"`` receives the protection leg and pays
the contractual ``spread``. Measures: ``pv``; ``rho`` the PV change for +1bp on the
discount curve's zero rates (symmetric difference), hazard rates held; ``theta`` the
one-day change with curves held fixed as functions of time; ``delta``, ``gamma``, ``vega``
are 0. The credit-spread sensitivity and the par spread are given by :func:`cds_analytics`
(they are not engine measures).
"""

from __future__ import annotations

import numpy as np

from xiphpc.market.curve_states import CurveStates
from xiphpc.market.curves.credit import cds_periods
from xiphpc.market.data import Market
from xiphpc.pricing.kernels.credit import (
    CdsOutputs,
    CdsTerms,
    PremiumPeriods,
    cds_parallel,
    cds_serial,
)
from xiphpc.pricing.kernels.rates import Moves, allocate_outputs, moves
from xiphpc.pricing.status import Status

from .base import Column, Table
from .rates import CurveProduct, memo_schedules, rate_checks

__all__ = ["CreditDefaultSwap", "cds_analytics"]


def _run(
    table: Table,
    market: Market,
    states: CurveStates,
    mv: Moves,
    parallel: bool,
) -> CdsOutputs:
    """Values per unit notional under each move in each state (shape ``(n, J, V)``), and
    the par spread and risky annuity of move 0 in state 0 (shape ``(n,)``)."""
    n = len(table)
    names = [str(u) for u in np.unique(table["underlying"])]
    credit = np.searchsorted(np.array(names), table["underlying"]).astype(np.int64)
    hazards = [market.credit_curves[u].hazard for u in names]
    ccys = [str(c) for c in np.unique(table["currency"])]
    disc = np.searchsorted(np.array(ccys), table["currency"]).astype(np.int64)
    p = memo_schedules(
        table,
        market,
        "credit_default_swap",
        ("maturity",),
        lambda: cds_periods(market.valuation_date, table["maturity"]),
    )
    recovery = np.array([h.recovery for h in hazards])[credit]
    sign = np.where(table["protection"] == "buy", 1.0, -1.0)
    out = allocate_outputs(CdsOutputs, n, mv, len(states))
    kernel = cds_parallel if parallel else cds_serial
    kernel(
        states.yield_curves(ccys, [market.curves[c] for c in ccys]),
        states.hazard_curves(names, hazards),
        CdsTerms(disc, credit, recovery, table["spread"], sign),
        PremiumPeriods.of(p),
        mv,
        out,
    )
    return out


class CreditDefaultSwap(CurveProduct):
    """Single-name CDS with a running spread, protection from the valuation date."""

    name = "credit_default_swap"
    description = "single-name credit default swap (mid-point default, accrual on default)"
    columns = (
        Column("underlying", "str", "", "reference entity: a credit curve of the market"),
        Column("protection", "choice", "", "buy or sell protection", choices=("buy", "sell")),
        Column("spread", "float", "decimal per year", "contractual running spread"),
        Column("maturity", "date", "ISO date", "scheduled termination date"),
    )
    cost_per_trade = 6.1

    def check(self, table: Table, market: Market):
        curves = market.credit_curves
        known = np.array([str(u) in curves for u in table["underlying"]], dtype=bool)
        ccy_ok = np.array(
            [
                str(u) not in curves or curves[str(u)].currency == str(c)
                for u, c in zip(table["underlying"], table["currency"], strict=True)
            ],
            dtype=bool,
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
    """Par spreads and risk of the CDS of a ``credit_default_swap`` table.

    Returns
    -------
    dict of str to ndarray, each shape ``(n,)``
        ``par_spread`` (decimal per year); ``risky_annuity`` (premium leg per unit spread
        and notional, accrual on default included); ``cs01``: PV change, scaled by quantity,
        for the par spread moving +1bp, to first order (risky annuity held):
        ``sign * risky_annuity * 1e-4 * quantity``, ``sign`` +1 for bought protection.
    """
    out = _run(table, market, CurveStates.today(), moves(), False)
    sign = np.where(table["protection"] == "buy", 1.0, -1.0)
    return {
        "par_spread": out.par_spread,
        "risky_annuity": out.annuity,
        "cs01": sign * out.annuity * 1e-4 * table["quantity"],
    }
