"""FX products on a pair ``FORDOM`` (e.g. ``EURUSD``: USD per EUR): European options
(Garman–Kohlhagen) and outright forwards.

The trade currency must be the pair's quote (domestic) currency; quantity is the notional in
the foreign currency. Rates: domestic and foreign zero rates to expiry from each currency's
curve; ``rho`` is the sensitivity to the domestic curve only. Spot is the cross of the market's
FX rates, vol from the pair's term structure at expiry (or the trade's own ``vol``).
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
from ..status import Status
from .base import Column, PricingContext, Product, Table
from .scaling import cash_measures

__all__ = ["FxForward", "FxOption"]

_PAIR = Column("underlying", "str", "FORDOM", "currency pair, quote currency last", ref="fx_pair")
_EXPIRY = Column("expiry", "date", "ISO date", "expiry (option) or settlement (forward)")


def _quote_currency(table: Table, market: Market):
    pairs = table["underlying"]
    dom = np.array([p[3:] for p in pairs]) if len(pairs) else pairs
    bad = dom != table["currency"]
    return [(bad, Status.BAD_VALUE, "currency is not the pair's quote currency")]


class FxOption(Product):
    """European FX call or put (on the foreign currency), Garman–Kohlhagen."""

    name = "fx_option"
    description = "European FX option (Garman-Kohlhagen)"
    columns = (
        _PAIR,
        Column(
            "option_type",
            "choice",
            "",
            "call or put on the foreign currency",
            choices=("call", "put"),
        ),
        Column("strike", "float", "domestic per foreign", "strike rate", positive=True),
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
        return _quote_currency(table, market)

    def price(self, table: Table, market: Market, ctx: PricingContext) -> dict[str, np.ndarray]:
        tau = market.year_fraction(table["expiry"])
        spot, r_for, r_dom, vol = market.fx_pair_fields(table["underlying"], tau)
        own = table["vol"]
        vol = np.where(np.isnan(own), vol, own)
        cp = np.where(table["option_type"] == "call", 1.0, -1.0)
        out = allocate_greeks(len(table))
        kernel = bs_fused_parallel if ctx.parallel else bs_fused_serial
        kernel(spot, table["strike"], tau, r_dom, r_for, vol, cp, *out)
        return cash_measures(out, spot, table["quantity"])


class FxForward(Product):
    """Outright FX forward: buy (quantity > 0) foreign notional at the contract rate."""

    name = "fx_forward"
    description = "FX outright forward, discounted on both currencies' curves"
    columns = (
        _PAIR,
        Column("strike", "float", "domestic per foreign", "contract rate", positive=True),
        _EXPIRY,
    )
    cost_per_trade = 0.4

    def check(self, table: Table, market: Market):
        return _quote_currency(table, market)

    def price(self, table: Table, market: Market, ctx: PricingContext) -> dict[str, np.ndarray]:
        tau = market.year_fraction(table["expiry"])
        spot, r_for, r_dom, _ = market.fx_pair_fields(table["underlying"], tau)
        out = allocate_greeks(len(table))
        kernel = forward_parallel if ctx.parallel else forward_serial
        kernel(
            spot, table["strike"], tau, r_dom, r_for, np.zeros_like(spot), np.ones_like(spot), *out
        )
        return cash_measures(out, spot, table["quantity"])
