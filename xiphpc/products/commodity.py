"""Commodity products: European options on futures (Black-76), and the market inputs that
every option on an equity or a commodity reads.

A commodity underlying is its futures curve: an option expiring at ``T`` is written on the
future for delivery at ``futures_expiry`` (default ``T``) whose price is the curve at that
time. Vols: the trade's own, else the underlying's vol surface (``market.vol_surfaces``, by
moneyness ``strike / reference``) at the option expiry, else its vol term structure. Rates:
the trade currency's zero rate to expiry. The trade currency must be the underlying's.

Measures as the equity products (:mod:`xiphpc.products.scaling`), with the futures price in
the place of the spot: cash delta and gamma on the futures price; ``rho`` with the futures
price held (discounting only, ``-T * PV`` per unit rate).
"""

from __future__ import annotations

import numpy as np

from ..kernels.black76 import black76_parallel, black76_serial
from ..kernels.black_scholes import allocate_greeks
from ..market import Market
from ..status import Status
from .base import Column, PricingContext, Product, Table
from .scaling import cash_measures

__all__ = ["CommodityOption", "underlying_checks", "underlying_inputs"]


def _kind(market: Market, name: str) -> str:
    if name in market.equities:
        return "equity"
    if name in market.commodities:
        return "commodity"
    return ""


def underlying_checks(table: Table, market: Market) -> list[tuple[np.ndarray, int, str]]:
    """Unknown underlyings, currency mismatches and non-positive spots, per trade."""
    names = [str(u) for u in table["underlying"]]
    ccy = table["currency"]
    und_ccy, spot = [], []
    for u in names:
        if u in market.equities:
            und_ccy.append(market.equities[u].currency)
            spot.append(market.equities[u].spot)
        elif u in market.commodities:
            und_ccy.append(market.commodities[u].currency)
            spot.append(1.0)
        else:
            und_ccy.append("")
            spot.append(np.nan)
    und_ccy_a = np.array(und_ccy, dtype=str)
    spot_a = np.array(spot, dtype=np.float64)
    unknown = und_ccy_a == ""
    return [
        (unknown, Status.UNKNOWN_UNDERLYING, "underlying: no equity or commodity of that name"),
        (~unknown & (und_ccy_a != ccy), Status.BAD_VALUE,
         "currency differs from the underlying's currency (no quanto)"),
        (~unknown & (spot_a <= 0.0), Status.NON_POSITIVE_PRICE,
         "underlying: market spot is not positive"),
    ]


def underlying_inputs(
    table: Table, market: Market, tau: np.ndarray, delivery: np.ndarray | None = None
) -> tuple[np.ndarray, ...]:
    """Spot (or futures price), rate, carry yield and vol of each trade's underlying.

    Parameters
    ----------
    table : Table
        With ``underlying``, ``currency``, ``strike`` and ``vol`` columns.
    tau : ndarray, shape ``(n,)``
        Option expiry in years.
    delivery : ndarray, shape ``(n,)``, optional
        Futures delivery times (years) for commodities; ``tau`` when omitted.

    Returns
    -------
    spot, rate, carry_yield, vol : ndarray, each shape ``(n,)``
        For an equity: spot, dividend yield; for a commodity: the futures price and the rate
        itself as carry yield (no drift for a future).
    """
    n = len(table)
    delivery = tau if delivery is None else delivery
    spot, carry, vol = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    rate = market.zero_rate(table["currency"], tau)
    strike = table["strike"]
    for name in np.unique(table["underlying"]):
        rows = np.flatnonzero(table["underlying"] == name)
        name = str(name)
        if name in market.equities:
            eq = market.equities[name]
            spot[rows], carry[rows] = eq.spot, eq.dividend_yield
            term = eq.vol
        elif name in market.commodities:
            com = market.commodities[name]
            spot[rows] = com.futures.price(delivery[rows])
            carry[rows] = rate[rows]
            term = com.vol
        else:
            continue
        surface = market.vol_surfaces.get(name)
        if surface is not None:
            vol[rows] = surface.vol_at(tau[rows], strike[rows], spot[rows])
        else:
            vol[rows] = term.vol(tau[rows])
    own = table["vol"]
    return spot, rate, carry, np.where(np.isnan(own), vol, own)


class CommodityOption(Product):
    """European call or put on a commodity future, Black-76. Quantity: units of the
    commodity (futures price units)."""

    name = "commodity_option"
    description = "European option on a commodity future (Black-76)"
    columns = (
        Column("underlying", "str", "", "commodity name in the market data"),
        Column("option_type", "choice", "", "call or put", choices=("call", "put")),
        Column("strike", "float", "trade currency", "strike price", positive=True),
        Column("expiry", "date", "ISO date", "option expiry"),
        Column("futures_expiry", "date", "ISO date",
               "delivery of the underlying future; empty: the option expiry", required=False),
        Column("vol", "float", "annualised", "vol override; empty uses the market's",
               required=False, positive=True),
    )

    def check(self, table: Table, market: Market):
        not_commodity = np.array([str(u) not in market.commodities for u in table["underlying"]],
                                 dtype=bool)
        early = ~np.isnat(table["futures_expiry"]) & (table["futures_expiry"] < table["expiry"])
        return [
            (not_commodity, Status.UNKNOWN_UNDERLYING, "underlying: no commodity of that name"),
            *underlying_checks(table, market)[1:],
            (early, Status.BAD_VALUE, "futures_expiry: before the option expiry"),
        ]

    def price(self, table: Table, market: Market, ctx: PricingContext) -> dict[str, np.ndarray]:
        tau = market.year_fraction(table["expiry"])
        fut = table["futures_expiry"]
        delivery = np.where(np.isnat(fut), tau, market.year_fraction(fut))
        fwd, rate, _, vol = underlying_inputs(table, market, tau, delivery)
        cp = np.where(table["option_type"] == "call", 1.0, -1.0)
        out = allocate_greeks(len(table))
        kernel = black76_parallel if ctx.parallel else black76_serial
        kernel(fwd, table["strike"], tau, rate, vol, cp, *out)
        return cash_measures(out, fwd, table["quantity"], ctx.pv_only)
