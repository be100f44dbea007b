"""Equity products: European options (Black–Scholes, continuous dividend yield) and forwards.

Inputs per trade: spot, dividend yield and vol of the underlying from the market (vol at the
option's expiry, or the trade's own ``vol`` where given); the zero rate of the trade currency's
curve to expiry; time to expiry ACT/365F. The trade currency must be the equity's currency.
Risk factors: the equity's spot and vol pillars, the trade currency's curve pillars; the
dividend yield is not a factor.
"""

from __future__ import annotations

import numpy as np

from xiphpc.market.data import Market
from xiphpc.market.factors import FactorSet
from xiphpc.pricing.inputs import RateInput, SpotInput, per_name, rate_input, vol_input
from xiphpc.pricing.status import Status

from .base import Column, Table
from .black_scholes_family import OPTION_TYPE, VOL_OVERRIDE, BlackScholesForward, BlackScholesOption

__all__ = ["EquityForward", "EquityOption"]

_UNDERLYING = Column("underlying", "str", "", "equity name in the market data", ref="equity")
_EXPIRY = Column("expiry", "date", "ISO date", "expiry (option) or maturity (forward)")


def _currency_matches(table: Table, market: Market):
    names = table["underlying"]
    eq_ccy = per_name(
        names, lambda n: market.equities[n].currency if n in market.equities else "", "U3"
    )
    bad = (eq_ccy != "") & (eq_ccy != table["currency"])
    return [(bad, Status.BAD_VALUE, "currency differs from the equity's currency (no quanto)")]


def _equity_inputs(table: Table, market: Market, factors: FactorSet) -> dict:
    n = len(table)
    tau = market.year_fraction(table["expiry"])
    names = table["underlying"]
    spot = per_name(names, lambda u: market.equities[u].spot)
    div = per_name(names, lambda u: market.equities[u].dividend_yield)
    spot_factor = per_name(names, lambda u: factors.index("eq", u), np.int64)
    none = np.full(n, -1)
    inputs = {
        "spot": SpotInput(spot, spot_factor, none),
        "rate": rate_input(market, factors, table["currency"], tau),
        "carry": RateInput(div, none, none, np.zeros(n)),
    }
    surfaces = {u: e.vol for u, e in market.equities.items()}
    own = table.columns.get("vol")
    inputs["vol"] = vol_input(surfaces, "eqvol", factors, names, tau, own)
    return inputs


class EquityOption(BlackScholesOption):
    """European call or put on one equity, priced with Black–Scholes."""

    name = "equity_option"
    description = "European equity option (Black-Scholes with continuous dividend yield)"
    columns = (
        _UNDERLYING,
        OPTION_TYPE,
        Column("strike", "float", "trade currency", "strike price", positive=True),
        _EXPIRY,
        VOL_OVERRIDE,
    )

    def check(self, table: Table, market: Market):
        return _currency_matches(table, market)

    def market_inputs(self, table: Table, market: Market, factors: FactorSet) -> dict:
        return _equity_inputs(table, market, factors)


class EquityForward(BlackScholesForward):
    """Forward purchase (quantity > 0) or sale of an equity at a fixed price."""

    name = "equity_forward"
    description = "equity forward, discounted on the trade currency's curve"
    columns = (
        _UNDERLYING,
        Column("strike", "float", "trade currency", "agreed forward price", positive=True),
        _EXPIRY,
    )
    cost_per_trade = 0.6

    def check(self, table: Table, market: Market):
        return _currency_matches(table, market)

    def market_inputs(self, table: Table, market: Market, factors: FactorSet) -> dict:
        inputs = _equity_inputs(table, market, factors)
        del inputs["vol"]
        return inputs
