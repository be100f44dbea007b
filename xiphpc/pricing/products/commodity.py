"""Commodity products: European options on futures (Black-76), and the market inputs that
every option on an equity or a commodity reads.

A commodity underlying is its futures curve: an option expiring at ``T`` is written on the
future for delivery at ``futures_expiry`` (default ``T``) whose price is the curve at that
time. Vols: the trade's own, else the underlying's vol term structure at the option expiry
plus, where the market has a smile surface (``market.vol_surfaces``, by moneyness), the
smile's offset at the strike from its at-the-money vol. Rates: the trade currency's zero rate
to expiry. The trade currency must be the underlying's.

Measures as the equity products (:mod:`xiphpc.pricing.products.scaling`), with the futures price in
the place of the spot: cash delta and gamma on the futures price; ``rho`` with the futures
price held (discounting only, ``-T * PV`` per unit rate). Risk factors (bucketed
sensitivities, scenarios): the trade currency's curve pillars and FX rate, the pillars of the
commodity's futures curve around the delivery (``cmd``, relative) and of its vol term
structure around the expiry (``cmdvol``, absolute). A commodity's smile offset is read at
``strike / futures price`` of the moved market, sticky moneyness (equity smiles are sticky
strike; see :func:`underlying_market_inputs`).
"""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np

from xiphpc.io.text import unique_inverse
from xiphpc.market.data import Market
from xiphpc.market.factors import FactorSet, factor_set
from xiphpc.pricing.inputs import (
    RateInput,
    VolInput,
    no_shift,
    per_name,
    price_input,
    rate_input,
    smile_vol_input,
    vol_input,
)
from xiphpc.pricing.kernels.black76 import black76_parallel, black76_serial
from xiphpc.pricing.kernels.black_scholes import allocate_greeks
from xiphpc.pricing.status import Status

from .base import Column, PricingContext, Product, Revaluation, Table
from .scaling import cash_measures

__all__ = [
    "CommodityOption",
    "add_smile",
    "underlying_checks",
    "underlying_inputs",
    "underlying_market_inputs",
]


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
        (
            ~unknown & (und_ccy_a != ccy),
            Status.BAD_VALUE,
            "currency differs from the underlying's currency (no quanto)",
        ),
        (
            ~unknown & (spot_a <= 0.0),
            Status.NON_POSITIVE_PRICE,
            "underlying: market spot is not positive",
        ),
    ]


def add_smile(vol: VolInput, offset: np.ndarray) -> VolInput:
    """``vol`` with a per-trade smile offset (shape ``(n,)``) added to the two term-structure
    pillars each trade interpolates between (trades on a fixed vol are left alone).

    The offset does not depend on the market (see
    :meth:`~xiphpc.market.curves.surfaces.MoneynessSurface.smile_offset`), so bumps and scenarios of
    the pillars move smile-priced trades as they move at-the-money ones, and every
    revaluation path (per-trade inputs, fused scenario kernels, whole shifted markets) gives
    the same vol. At a pillar expiry the vol is the pillar's plus the offset exactly; between
    pillars the shifted pillars are interpolated in total variance as usual.
    """
    off = np.where(vol.lo >= 0, offset, 0.0)
    return replace(vol, v_lo=vol.v_lo + off, v_hi=vol.v_hi + off)


def underlying_market_inputs(
    table: Table,
    market: Market,
    factors: FactorSet,
    tau: np.ndarray,
    delivery: np.ndarray | None = None,
) -> dict:
    """Per-trade market inputs ``spot``, ``rate``, ``carry`` and ``vol`` of options on an
    equity or a commodity future (:mod:`xiphpc.pricing.inputs`).

    Parameters
    ----------
    table : Table
        With ``underlying``, ``currency``, ``strike`` and ``vol`` columns.
    tau : ndarray, shape ``(n,)``
        Option expiry in years.
    delivery : ndarray, shape ``(n,)``, optional
        Futures delivery times (years) for commodities; ``tau`` when omitted.

    Notes
    -----
    Equity: spot (factor ``eq``) as a one-pillar :class:`~xiphpc.pricing.inputs.PriceInput`,
    dividend yield as carry (not a factor), vol from the equity's term structure (factors
    ``eqvol``) with, where the market has a smile surface, the sticky-strike offset of the
    strike's vol from the at-the-money vol
    (:meth:`~xiphpc.market.curves.surfaces.MoneynessSurface.smile_offset`, :func:`add_smile`).

    Commodity: the futures price for ``delivery`` interpolated between the futures-curve
    pillars (factors ``cmd``, :class:`~xiphpc.pricing.inputs.PriceInput`), carry equal to the rate
    (no drift), vol from the commodity's term structure (factors ``cmdvol``). Where the
    market has a smile surface for the commodity, the offset of the strike's vol from the
    at-the-money vol is added to the term-structure pillars as for equities, but read at the
    moneyness ``strike / futures price`` of the priced market
    (:class:`~xiphpc.pricing.inputs.SmileVolInput`): a sticky-strike offset needs the futures curve
    the smile was quoted against, and a surface holds one reference spot, not a curve. So a
    move of the futures moves the vol along the smile, the same in bumps, scenarios and a
    revaluation on a shifted market.

    A trade's own ``vol`` is fixed: no factor moves it.
    """
    n = len(table)
    delivery = tau if delivery is None else delivery
    names = table["underlying"]
    strike = table["strike"]
    none = np.full(n, -1, dtype=np.int64)
    own = table["vol"]
    div = np.zeros(n)
    offset = np.zeros(n)
    # A name in both sections is read as an equity.
    is_equity = per_name(names, lambda u: u in market.equities, bool)
    is_commodity = ~is_equity & per_name(names, lambda u: u in market.commodities, bool)
    spot = price_input(
        {u: c.futures for u, c in market.commodities.items()},
        "cmd",
        factors,
        np.where(is_commodity, names, ""),
        delivery,
    )
    for name in unique_inverse(names[is_equity])[0]:
        rows = np.flatnonzero(names == name)
        name = str(name)
        eq = market.equities[name]
        spot.p_lo[rows], spot.p_hi[rows], div[rows] = eq.spot, eq.spot, eq.dividend_yield
        spot.lo[rows] = factors.index("eq", name)
        surface = market.vol_surfaces.get(name)
        free = rows[np.isnan(own[rows])]
        if surface is not None and free.size:
            if np.isnan(surface.reference):
                surface = replace(surface, reference=eq.spot)
            offset[free] = surface.smile_offset(tau[free], strike[free])
    rate = rate_input(market, factors, table["currency"], tau)
    # Equities carry their dividend yield; a future carries the rate itself.
    carry = RateInput(
        np.where(is_equity, div, rate.base),
        np.where(is_equity, none, rate.lo),
        np.where(is_equity, none, rate.hi),
        np.where(is_equity, 0.0, rate.w),
    )
    eq_terms = {u: e.vol for u, e in market.equities.items()}
    cmd_terms = {u: c.vol for u, c in market.commodities.items()}
    eq_vol = vol_input(eq_terms, "eqvol", factors, np.where(is_equity, names, ""), tau, own)
    cmd_vol = vol_input(cmd_terms, "cmdvol", factors, np.where(is_commodity, names, ""), tau, own)
    vol = VolInput(
        *(
            np.where(is_commodity, getattr(cmd_vol, f.name), getattr(eq_vol, f.name))
            for f in fields(VolInput)
        )
    )
    vol = smile_vol_input(
        add_smile(vol, offset),
        spot,
        strike,
        market.vol_surfaces,
        np.where(is_commodity, names, ""),
        tau,
    )
    return {"spot": spot, "rate": rate, "carry": carry, "vol": vol}


def underlying_inputs(
    table: Table, market: Market, tau: np.ndarray, delivery: np.ndarray | None = None
) -> tuple[np.ndarray, ...]:
    """Spot (or futures price), rate, carry yield and vol of each trade's underlying, the
    values of :func:`underlying_market_inputs` in today's market, each shape ``(n,)``."""
    inputs = underlying_market_inputs(table, market, factor_set(market), tau, delivery)
    rows = np.arange(len(table))
    return tuple(inputs[k].value(rows, no_shift) for k in ("spot", "rate", "carry", "vol"))


class CommodityOption(Product):
    """European call or put on a commodity future, Black-76. Quantity: units of the
    commodity (futures price units)."""

    name = "commodity_option"
    description = "European option on a commodity future (Black-76)"
    cost_per_trade = 5.3
    revaluation = Revaluation.MARKET_INPUTS
    columns = (
        Column("underlying", "str", "", "commodity name in the market data"),
        Column("option_type", "choice", "", "call or put", choices=("call", "put")),
        Column("strike", "float", "trade currency", "strike price", positive=True),
        Column("expiry", "date", "ISO date", "option expiry"),
        Column(
            "futures_expiry",
            "date",
            "ISO date",
            "delivery of the underlying future; empty: the option expiry",
            required=False,
        ),
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
        not_commodity = np.array(
            [str(u) not in market.commodities for u in table["underlying"]], dtype=bool
        )
        early = ~np.isnat(table["futures_expiry"]) & (table["futures_expiry"] < table["expiry"])
        return [
            (not_commodity, Status.UNKNOWN_UNDERLYING, "underlying: no commodity of that name"),
            *underlying_checks(table, market)[1:],
            (early, Status.BAD_VALUE, "futures_expiry: before the option expiry"),
        ]

    def static(self, table: Table, market: Market) -> dict[str, np.ndarray]:
        return {
            "strike": table["strike"],
            "cp": np.where(table["option_type"] == "call", 1.0, -1.0),
            "quantity": table["quantity"],
            "tau": market.year_fraction(table["expiry"]),
        }

    def market_inputs(self, table: Table, market: Market, factors: FactorSet) -> dict:
        tau = market.year_fraction(table["expiry"])
        fut = table["futures_expiry"]
        delivery = np.where(np.isnat(fut), tau, market.year_fraction(fut))
        return underlying_market_inputs(table, market, factors, tau, delivery)

    def value(self, static, inputs, ctx: PricingContext) -> dict[str, np.ndarray]:
        fwd = inputs["spot"]
        out = allocate_greeks(fwd.size)
        kernel = black76_parallel if ctx.parallel else black76_serial
        kernel(
            fwd, static["strike"], static["tau"], inputs["rate"], inputs["vol"], static["cp"], *out
        )
        return cash_measures(out, fwd, static["quantity"], ctx.pv_only)
