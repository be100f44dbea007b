"""Equity products: European options (Black–Scholes, continuous dividend yield) and forwards.

Inputs per trade: spot, dividend yield and vol of the underlying from the market (vol at the
option's expiry, or the trade's own ``vol`` where given); the zero rate of the trade currency's
curve to expiry; time to expiry ACT/365F. The trade currency must be the equity's currency.
"""

from __future__ import annotations

import numpy as np

from ..kernels.black_scholes import (
    allocate_greeks,
    bs_fused_parallel,
    bs_fused_serial,
    forward_parallel,
    forward_serial,
)
from ..market import Market
from .base import Column, PricingContext, Product, Table
from .scaling import cash_measures

__all__ = ["EquityForward", "EquityOption"]

_UNDERLYING = Column("underlying", "str", "", "equity name in the market data", ref="equity")
_EXPIRY = Column("expiry", "date", "ISO date", "expiry (option) or maturity (forward)")


def _currency_matches(table: Table, market: Market) -> list[tuple[np.ndarray, int, str]]:
    from ..status import Status

    names = table["underlying"]
    eq_ccy = np.array([market.equities[n].currency if n in market.equities else "" for n in names])
    bad = (eq_ccy != "") & (eq_ccy != table["currency"])
    return [(bad, Status.BAD_VALUE, "currency differs from the equity's currency (no quanto)")]


def _equity_inputs(table: Table, market: Market):
    tau = market.year_fraction(table["expiry"])
    spot, div, vol = market.equity_fields(table["underlying"], tau)
    rate = market.zero_rate(table["currency"], tau)
    return spot, tau, rate, div, vol


class EquityOption(Product):
    """European call or put on one equity, priced with Black–Scholes."""

    name = "equity_option"
    description = "European equity option (Black-Scholes with continuous dividend yield)"
    columns = (
        _UNDERLYING,
        Column("option_type", "choice", "", "call or put", choices=("call", "put")),
        Column("strike", "float", "trade currency", "strike price", positive=True),
        _EXPIRY,
        Column(
            "vol",
            "float",
            "annualised",
            "vol override; empty uses the market's",
            required=False,
            positive=True,
        ),
    )

    def check(self, table: Table, market: Market):
        return _currency_matches(table, market)

    def price(self, table: Table, market: Market, ctx: PricingContext) -> dict[str, np.ndarray]:
        spot, tau, rate, div, vol = _equity_inputs(table, market)
        own = table["vol"]
        vol = np.where(np.isnan(own), vol, own)
        cp = np.where(table["option_type"] == "call", 1.0, -1.0)
        out = allocate_greeks(len(table))
        kernel = bs_fused_parallel if ctx.parallel else bs_fused_serial
        kernel(spot, table["strike"], tau, rate, div, vol, cp, *out)
        return cash_measures(out, spot, table["quantity"])


class EquityForward(Product):
    """Forward purchase (quantity > 0) or sale of an equity at a fixed price."""

    name = "equity_forward"
    description = "equity forward, discounted on the trade currency's curve"
    columns = (
        _UNDERLYING,
        Column("strike", "float", "trade currency", "agreed forward price", positive=True),
        _EXPIRY,
    )
    cost_per_trade = 0.4

    def check(self, table: Table, market: Market):
        return _currency_matches(table, market)

    def price(self, table: Table, market: Market, ctx: PricingContext) -> dict[str, np.ndarray]:
        spot, tau, rate, div, _ = _equity_inputs(table, market)
        out = allocate_greeks(len(table))
        kernel = forward_parallel if ctx.parallel else forward_serial
        kernel(spot, table["strike"], tau, rate, div, np.zeros_like(spot), np.ones_like(spot), *out)
        return cash_measures(out, spot, table["quantity"])
