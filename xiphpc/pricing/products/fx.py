"""FX products on a pair ``FORDOM`` (e.g. ``EURUSD``: USD per EUR): European options
(Garman–Kohlhagen) and outright forwards.

The trade currency must be the pair's quote (domestic) currency; quantity is the notional in
the foreign currency. Rates: domestic and foreign zero rates to expiry from each currency's
curve; ``rho`` is the sensitivity to the domestic curve only. Spot is the cross of the market's
FX rates, vol from the pair's term structure at expiry (or the trade's own ``vol``). Risk
factors: both currencies' FX rates and curve pillars, the pair's vol pillars.

Where the market has a delta surface for the pair (``fx_vol_surfaces``), an option without its
own vol adds the smile at its strike to the pair's vol pillars: the sticky-strike offset of
:meth:`~xiphpc.market.curves.surfaces.DeltaSurface.smile_offset` (forward deltas against the
forwards
the market was loaded with), see :func:`~xiphpc.pricing.products.commodity.add_smile`.
"""

from __future__ import annotations

import numpy as np

from xiphpc.io.text import unique_inverse
from xiphpc.market.curves.loader import fx_smile
from xiphpc.market.data import Market
from xiphpc.market.factors import FactorSet
from xiphpc.pricing.inputs import SpotInput, VolInput, per_name, rate_input, vol_input
from xiphpc.pricing.status import Status

from .base import Column, Table
from .black_scholes_family import VOL_OVERRIDE, BlackScholesForward, BlackScholesOption
from .commodity import add_smile

__all__ = ["FxForward", "FxOption"]

_PAIR = Column("underlying", "str", "FORDOM", "currency pair, quote currency last", ref="fx_pair")
_EXPIRY = Column("expiry", "date", "ISO date", "expiry (option) or settlement (forward)")


def _quote_currency(table: Table, market: Market):
    dom = per_name(table["underlying"], lambda p: p[3:], "U3")
    bad = dom != table["currency"]
    return [(bad, Status.BAD_VALUE, "currency is not the pair's quote currency")]


def _fx_inputs(table: Table, market: Market, factors: FactorSet) -> dict:
    pairs = table["underlying"]
    fore = per_name(pairs, lambda p: p[:3], "U3")
    dom = per_name(pairs, lambda p: p[3:], "U3")
    tau = market.year_fraction(table["expiry"])
    spot = per_name(pairs, lambda p: market.fx[p[:3]] / market.fx[p[3:]])
    num = per_name(fore, lambda f: factors.index("fx", f), np.int64)
    den = per_name(dom, lambda d: factors.index("fx", d), np.int64)
    return {
        "spot": SpotInput(spot, num, den),
        "rate": rate_input(market, factors, dom, tau),
        "carry": rate_input(market, factors, fore, tau),
        "vol": _smile(
            vol_input(market.fx_vols, "fxvol", factors, pairs, tau, table.columns.get("vol")),
            table,
            market,
            tau,
        ),
    }


def _smile(vol: VolInput, table: Table, market: Market, tau: np.ndarray) -> VolInput:
    """``vol`` with the pair's smile at each option's strike, where the market has one."""
    if "strike" not in table.columns or not market.fx_vol_surfaces:
        return vol
    offset = np.zeros(len(table))
    pairs = table["underlying"]
    for pair in unique_inverse(pairs)[0]:
        surface = market.fx_vol_surfaces.get(str(pair))
        if surface is not None:
            if surface.reference_forwards is None:
                # Built in code without an anchor: anchor it at this market.
                surface = fx_smile(surface, market.fx, market.curves, str(pair))
            rows = np.flatnonzero(pairs == pair)
            offset[rows] = surface.smile_offset(tau[rows], table["strike"][rows])
    return add_smile(vol, offset)


class FxOption(BlackScholesOption):
    """European FX call or put (on the foreign currency), Garman–Kohlhagen."""

    name = "fx_option"
    description = "European FX option (Garman-Kohlhagen)"
    cost_per_trade = 2.0
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
        VOL_OVERRIDE,
    )

    def check(self, table: Table, market: Market):
        return _quote_currency(table, market)

    def market_inputs(self, table: Table, market: Market, factors: FactorSet) -> dict:
        return _fx_inputs(table, market, factors)


class FxForward(BlackScholesForward):
    """Outright FX forward: buy (quantity > 0) foreign notional at the contract rate."""

    name = "fx_forward"
    description = "FX outright forward, discounted on both currencies' curves"
    columns = (
        _PAIR,
        Column("strike", "float", "domestic per foreign", "contract rate", positive=True),
        _EXPIRY,
    )
    cost_per_trade = 1.9

    def check(self, table: Table, market: Market):
        return _quote_currency(table, market)

    def market_inputs(self, table: Table, market: Market, factors: FactorSet) -> dict:
        inputs = _fx_inputs(table, market, factors)
        del inputs["vol"]
        return inputs
