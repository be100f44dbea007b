"""Options on an equity or a commodity future beyond the European vanilla: American
(Andersen–Lake–Offengenden 2016 fixed point, or Bjerksund–Stensland 1993 per trade), single
barrier with rebate (Reiner–Rubinstein / Haug), digital cash- or asset-or-nothing, and
arithmetic-average Asian (Monte Carlo, geometric control variate).

Underlying: a name of ``market.equities`` (spot, dividend yield) or ``market.commodities``
(the future for delivery at the option's expiry, no drift); vols and rates as
:func:`xiphpc.pricing.products.commodity.underlying_inputs` (the trade's own vol, else the term
structure at expiry plus, where the market has a smile surface, the smile's offset at the
strike: sticky strike for equities, sticky moneyness for commodity futures). Time ACT/365F.

Measures as the equity products (:mod:`xiphpc.pricing.products.scaling`): cash delta and gamma on
the spot (futures price), vega per vol point (+0.01), theta per calendar day, rho per bp on
the trade currency's zero rate (dividend yield or futures price held). The products price
through per-trade market inputs
(:func:`~xiphpc.pricing.products.commodity.underlying_market_inputs`),
so risk bumps and scenarios move only the factors each trade depends on. Greeks of the
American, barrier and Asian options are central finite differences (steps in
:mod:`xiphpc.pricing.kernels.barrier` and :mod:`xiphpc.pricing.kernels.asian`); digitals are
analytic.
"""

from __future__ import annotations

import numpy as np

from xiphpc.market.data import Market
from xiphpc.market.factors import FactorSet
from xiphpc.pricing.kernels.american import american_parallel, american_serial
from xiphpc.pricing.kernels.american_alo import american_alo_parallel, american_alo_serial
from xiphpc.pricing.kernels.asian import (
    Draws,
    Fixings,
    asian_parallel,
    asian_scenarios_parallel,
    asian_scenarios_serial,
    asian_serial,
)
from xiphpc.pricing.kernels.barrier import KINDS, BarrierTerms, barrier_parallel, barrier_serial
from xiphpc.pricing.kernels.black_scholes import allocate_greeks
from xiphpc.pricing.kernels.digital import DigitalPayoff, digital_parallel, digital_serial
from xiphpc.pricing.status import Status

from .base import Column, PricingContext, Product, Revaluation, Table, trade_keys
from .black_scholes_family import (
    OPTION_TYPE,
    VOL_OVERRIDE,
    option_inputs,
    option_static,
)
from .commodity import underlying_checks, underlying_inputs, underlying_market_inputs
from .scaling import cash_measures

__all__ = [
    "AMERICAN_MODELS",
    "AmericanOption",
    "AsianOption",
    "BarrierOption",
    "DigitalOption",
    "asian_monte_carlo",
    "trade_keys",
]

_UNDERLYING = Column("underlying", "str", "", "equity or commodity name in the market data")
_OPTION_TYPE = OPTION_TYPE
_STRIKE = Column("strike", "float", "trade currency", "strike price", positive=True)
_EXPIRY = Column("expiry", "date", "ISO date", "expiry")
_VOL = VOL_OVERRIDE


class _OptionOnUnderlying(Product):
    """What the options of this module share: inputs from the underlying, static arrays."""

    revaluation = Revaluation.MARKET_INPUTS

    def check(self, table: Table, market: Market):
        return underlying_checks(table, market)

    def static(self, table: Table, market: Market) -> dict[str, np.ndarray]:
        return option_static(table, market)

    def market_inputs(self, table: Table, market: Market, factors: FactorSet) -> dict:
        tau = market.year_fraction(table["expiry"])
        return underlying_market_inputs(table, market, factors, tau)


#: Models of the ``model`` column of American options; the first is the default.
AMERICAN_MODELS = ("alo", "bjerksund_stensland")


class AmericanOption(_OptionOnUnderlying):
    """American call or put, exercisable any time until expiry. Per trade ``model``:
    ``alo`` (default), the Andersen–Lake–Offengenden (2016) fixed-point method, within 1e-5
    of the strike of a high-precision solution (:mod:`xiphpc.pricing.kernels.american_alo`);
    ``bjerksund_stensland``, the faster Bjerksund–Stensland (1993) approximation, a lower
    bound off by up to a few percent of the strike at long expiries and high vols
    (:mod:`xiphpc.pricing.kernels.american`)."""

    name = "american_option"
    description = "American option (Andersen-Lake-Offengenden, or Bjerksund-Stensland 1993)"
    columns = (
        _UNDERLYING,
        _OPTION_TYPE,
        _STRIKE,
        _EXPIRY,
        _VOL,
        Column(
            "model",
            "choice",
            "",
            f"pricing model; empty: {AMERICAN_MODELS[0]}",
            required=False,
            choices=AMERICAN_MODELS,
        ),
    )
    cost_per_trade = 72.0
    cost_columns = ("model",)

    def cost(self, table: Table) -> np.ndarray:
        # 72: Bjerksund–Stensland, measured on the demo job. ALO estimated from the kernels'
        # throughput (`xiphpc bench kernels`, American options): about 2x the time of the
        # Bjerksund–Stensland kernel with greeks for pv alone (scenarios), about 10x with
        # greeks; 4x taken.
        fast = np.asarray(table["model"]).astype(str) == "bjerksund_stensland"
        return np.where(fast, self.cost_per_trade, 4.0 * self.cost_per_trade)

    def static(self, table: Table, market: Market) -> dict[str, np.ndarray]:
        model = np.asarray(table["model"]).astype(str)
        return super().static(table, market) | {
            # 1: Bjerksund–Stensland; 0: ALO (also for an empty cell).
            "bs93": (model == "bjerksund_stensland").astype(np.int64),
        }

    def value(self, static, inputs, ctx: PricingContext) -> dict[str, np.ndarray]:
        option = option_inputs(static, inputs)
        out = allocate_greeks(option.spot.size)
        greeks = 0 if ctx.pv_only else 1
        bs93 = static["bs93"] == 1
        if bs93.any():
            # Each model on its rows; results scattered back into the common outputs.
            sub = [np.empty(int(bs93.sum())) for _ in out]
            kernel = american_parallel if ctx.parallel else american_serial
            kernel(*(a[bs93] for a in option), *sub)
            for o, v in zip(out, sub, strict=True):
                o[bs93] = v
        alo = ~bs93
        if alo.any():
            kernel = american_alo_parallel if ctx.parallel else american_alo_serial
            if alo.all():
                kernel(*option, greeks, *out)
            else:
                sub = [np.empty(int(alo.sum())) for _ in out]
                kernel(*(a[alo] for a in option), greeks, *sub)
                for o, v in zip(out, sub, strict=True):
                    o[alo] = v
        return cash_measures(out, option.spot, static["quantity"], ctx.pv_only)


class BarrierOption(_OptionOnUnderlying):
    """European option with one continuously monitored barrier (in or out, up or down) and a
    cash rebate: paid at the hit for out options, at expiry if never hit for in options.
    A barrier already reached makes an out option worth its rebate and an in option a
    European option."""

    name = "barrier_option"
    description = "single-barrier option with rebate (Reiner-Rubinstein, Haug)"
    columns = (
        _UNDERLYING,
        _OPTION_TYPE,
        _STRIKE,
        Column("barrier", "float", "trade currency", "barrier level", positive=True),
        Column(
            "barrier_type",
            "choice",
            "",
            "which side and effect of the barrier",
            choices=tuple(KINDS),
        ),
        Column(
            "rebate", "float", "trade currency", "cash rebate per unit; empty: 0", required=False
        ),
        _EXPIRY,
        _VOL,
    )
    cost_per_trade = 36.0

    def check(self, table: Table, market: Market):
        rebate = table["rebate"]
        return underlying_checks(table, market) + [
            (~np.isnan(rebate) & (rebate < 0.0), Status.BAD_VALUE, "rebate: negative")
        ]

    def static(self, table: Table, market: Market) -> dict[str, np.ndarray]:
        return super().static(table, market) | {
            "barrier": table["barrier"],
            "rebate": np.nan_to_num(table["rebate"]),
            "kind": np.array([KINDS[k] for k in table["barrier_type"]], dtype=np.int64),
        }

    def value(self, static, inputs, ctx: PricingContext) -> dict[str, np.ndarray]:
        option = option_inputs(static, inputs)
        out = allocate_greeks(option.spot.size)
        kernel = barrier_parallel if ctx.parallel else barrier_serial
        kernel(option, BarrierTerms(static["barrier"], static["rebate"], static["kind"]), out)
        return cash_measures(out, option.spot, static["quantity"], ctx.pv_only)


class DigitalOption(_OptionOnUnderlying):
    """European digital: cash-or-nothing pays ``cash`` (default 1) when the option ends in
    the money, asset-or-nothing pays the underlying."""

    name = "digital_option"
    description = "European cash-or-nothing or asset-or-nothing digital option"
    cost_per_trade = 6.6
    columns = (
        _UNDERLYING,
        _OPTION_TYPE,
        Column("payoff", "choice", "", "cash or asset", choices=("cash", "asset")),
        _STRIKE,
        Column(
            "cash",
            "float",
            "trade currency",
            "amount paid by a cash digital; empty: 1",
            required=False,
        ),
        _EXPIRY,
        _VOL,
    )

    def static(self, table: Table, market: Market) -> dict[str, np.ndarray]:
        return super().static(table, market) | {
            "cash": np.where(np.isnan(table["cash"]), 1.0, table["cash"]),
            "asset": (table["payoff"] == "asset").astype(np.int64),
        }

    def value(self, static, inputs, ctx: PricingContext) -> dict[str, np.ndarray]:
        option = option_inputs(static, inputs)
        out = allocate_greeks(option.spot.size)
        kernel = digital_parallel if ctx.parallel else digital_serial
        kernel(option, DigitalPayoff(static["cash"], static["asset"]), out)
        return cash_measures(out, option.spot, static["quantity"], ctx.pv_only)


_DEFAULT_PATHS = 10_000


def _counts(table: Table) -> tuple[np.ndarray, np.ndarray]:
    fixings = table["fixings"]
    paths = np.where(np.isnan(table["paths"]), _DEFAULT_PATHS, table["paths"])
    return fixings, paths


def _asian_static(table: Table, market: Market) -> dict[str, np.ndarray]:
    tau = market.year_fraction(table["expiry"])
    fixings, paths = _counts(table)
    start = table["averaging_start"]
    t0 = np.where(np.isnat(start), 0.0, market.year_fraction(start))
    n_fix = fixings.astype(np.int64)
    return {
        "strike": table["strike"],
        "cp": np.where(table["option_type"] == "call", 1.0, -1.0),
        "quantity": table["quantity"],
        "tau": tau,
        # Fixings at t0 + k (T - t0) / n, k = 1..n: the first one period after the start.
        "t_first": t0 + (tau - t0) / n_fix,
        "n_fix": n_fix,
        "paths": paths.astype(np.int64),
        "key": trade_keys(table["trade_id"]),
    }


def _fixings_and_draws(static, ctx: PricingContext) -> tuple[Fixings, Draws]:
    # The last fixing is at the expiry.
    fixings = Fixings(static["t_first"], static["tau"], static["n_fix"])
    return fixings, Draws(static["paths"], np.uint64(ctx.seed), static["key"])


def _asian_kernel(static, inputs, ctx: PricingContext):
    option = option_inputs(static, inputs)
    out = allocate_greeks(option.spot.size)
    stderr = np.empty(option.spot.size)
    kernel = asian_parallel if ctx.parallel else asian_serial
    greeks = 0 if ctx.pv_only else 1
    kernel(option, *_fixings_and_draws(static, ctx), greeks, out, stderr)
    return out, stderr


def asian_monte_carlo(table: Table, market: Market, ctx: PricingContext) -> dict[str, np.ndarray]:
    """Measures of :class:`AsianOption` trades plus ``stderr``, the Monte Carlo standard
    error of ``pv`` (scaled by quantity, absolute), each shape ``(n,)``."""
    static = _asian_static(table, market)
    spot, rate, carry, vol = underlying_inputs(table, market, static["tau"])
    out, stderr = _asian_kernel(
        static, {"spot": spot, "rate": rate, "carry": carry, "vol": vol}, ctx
    )
    measures = cash_measures(out, spot, table["quantity"])
    measures["stderr"] = stderr * np.abs(table["quantity"])
    return measures


class AsianOption(_OptionOnUnderlying):
    """Arithmetic-average-price Asian call or put, ``fixings`` equally spaced fixings over
    (averaging start, expiry], the last at expiry; Monte Carlo with the geometric-average
    option as control variate, reproducible per trade from the job seed and the trade id
    (:func:`trade_keys`), whatever the partitioning. Under scenarios and bumps every row of a
    trade uses the same draws."""

    name = "asian_option"
    description = "arithmetic-average Asian option (Monte Carlo, geometric control variate)"
    columns = (
        _UNDERLYING,
        _OPTION_TYPE,
        _STRIKE,
        _EXPIRY,
        Column("fixings", "float", "count", "number of averaging fixings", positive=True),
        Column(
            "averaging_start",
            "date",
            "ISO date",
            "start of the averaging period; empty: the valuation date",
            required=False,
        ),
        Column(
            "paths",
            "float",
            "count",
            f"Monte Carlo paths; empty: {_DEFAULT_PATHS}",
            required=False,
            positive=True,
        ),
        _VOL,
    )
    cost_columns = ("fixings", "paths")
    revaluation = Revaluation.FUSED_SCENARIOS

    def cost(self, table: Table) -> np.ndarray:
        fixings, paths = _counts(table)
        # Calibrated on the demo job with risk on: about 0.18 of a European option per path
        # step.
        # Estimated before validation: absurd counts are clipped, not trusted.
        f = np.clip(np.nan_to_num(fixings, nan=1.0), 1.0, 1e4)
        p = np.clip(np.nan_to_num(paths, nan=1.0), 1.0, 1e7)
        return 0.18 * f * p

    def check(self, table: Table, market: Market):
        fixings, paths = _counts(table)
        whole = lambda x: ~np.isnan(x) & ((x != np.round(x)) | (x < 1))  # noqa: E731
        late = ~np.isnat(table["averaging_start"]) & (table["averaging_start"] >= table["expiry"])
        return underlying_checks(table, market) + [
            (whole(fixings), Status.BAD_VALUE, "fixings: not a whole number >= 1"),
            (whole(paths), Status.BAD_VALUE, "paths: not a whole number >= 1"),
            (late, Status.BAD_VALUE, "averaging_start: not before the expiry"),
        ]

    def static(self, table: Table, market: Market) -> dict[str, np.ndarray]:
        return _asian_static(table, market)

    def value_scenarios(self, static, inputs, fx_in, shifts, ctx: PricingContext) -> np.ndarray:
        # Every scenario of a trade in one kernel call: the paths are drawn once per trade.
        n, s = static["tau"].size, shifts.shape[0]
        par = ctx.parallel
        dense = {
            k: inputs[k].dense(0, n, shifts, par).reshape(n, s)
            for k in ("spot", "rate", "carry", "vol")
        }
        pv = np.empty((n, s))
        kernel = asian_scenarios_parallel if par else asian_scenarios_serial
        kernel(option_inputs(static, dense), *_fixings_and_draws(static, ctx), pv)
        return pv * static["quantity"][:, None] * fx_in.dense(0, n, shifts, par).reshape(n, s)

    def value(self, static, inputs, ctx: PricingContext) -> dict[str, np.ndarray]:
        out, _ = _asian_kernel(static, inputs, ctx)
        # With pv_only the kernel skips the bumped revaluations: pv alone is meaningful.
        return cash_measures(out, inputs["spot"], static["quantity"], ctx.pv_only)
