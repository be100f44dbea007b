"""The Black–Scholes family: European options and forwards whose market inputs are a spot,
a domestic rate, a carry rate (dividend yield or foreign rate) and, for options, a vol.

:class:`BlackScholesOption` and :class:`BlackScholesForward` hold what equity and FX products
share (static arrays, pricing through the fused kernels, scenario revaluation through
:mod:`xiphpc.pricing.kernels.scenario_bs`); a concrete product adds its columns, checks and
:meth:`~xiphpc.pricing.products.base.Product.market_inputs`.
"""

from __future__ import annotations

import numpy as np

from xiphpc.market.data import Market
from xiphpc.pricing.inputs import RateInput, SpotInput, VolInput
from xiphpc.pricing.kernels.black_scholes import (
    OptionInputs,
    allocate_greeks,
    bs_fused_parallel,
    bs_fused_serial,
    forward_parallel,
    forward_serial,
)
from xiphpc.pricing.kernels.scenario_bs import (
    N_FACTORS,
    N_PARAMS,
    bs_scenarios_parallel,
    bs_scenarios_serial,
)

from .base import Column, PricingContext, Product, Revaluation, Table
from .scaling import cash_measures

__all__ = [
    "OPTION_TYPE",
    "VOL_OVERRIDE",
    "BlackScholesForward",
    "BlackScholesOption",
    "bs_scenario_pv",
    "option_inputs",
    "option_static",
    "price_with_kernel",
]


def bs_scenario_pv(
    static: dict[str, np.ndarray],
    inputs: dict,
    fx_in: SpotInput,
    shifts: np.ndarray,
    is_option: bool,
    parallel: bool,
) -> np.ndarray:
    """PV in base currency of every trade under every scenario, shape ``(n, S)``.

    Parameters
    ----------
    static : dict
        ``strike``, ``tau``, ``quantity`` and, for options, ``cp``; shape ``(n,)`` each.
    inputs : dict
        ``spot`` (:class:`SpotInput`), ``rate``, ``carry`` (:class:`RateInput`) and, for
        options, ``vol`` (:class:`VolInput`).
    shifts : ndarray, shape ``(S, F)``
    """
    n = static["strike"].size
    n_f = shifts.shape[1]
    spot: SpotInput = inputs["spot"]
    rate: RateInput = inputs["rate"]
    carry: RateInput = inputs["carry"]
    params = np.zeros((n, N_PARAMS))
    factors = np.full((n, N_FACTORS), n_f, dtype=np.int64)
    params[:, 0] = static["strike"]
    params[:, 1] = static["tau"]
    params[:, 2] = static["cp"] if is_option else 1.0
    params[:, 3] = static["quantity"]
    params[:, 4] = spot.base
    params[:, 5], params[:, 6] = rate.base, rate.w
    params[:, 7], params[:, 8] = carry.base, carry.w
    params[:, 9] = np.nan
    params[:, 10:16] = 1.0
    params[:, 15] = 0.0
    params[:, 16] = fx_in.base
    cols = [spot.num, spot.den, rate.lo, rate.hi, carry.lo, carry.hi]
    if is_option:
        vol: VolInput = inputs["vol"]
        params[:, 9] = np.where(vol.lo >= 0, np.nan, vol.fixed)
        params[:, 10], params[:, 11] = vol.v_lo, vol.v_hi
        params[:, 12], params[:, 13] = vol.t_lo, vol.t_hi
        params[:, 14], params[:, 15] = vol.t, vol.w
        cols += [vol.lo, vol.hi]
    else:
        cols += [np.full(n, -1), np.full(n, -1)]
    cols.append(fx_in.num)
    for j, c in enumerate(cols):
        factors[:, j] = np.where(c >= 0, c, n_f)
    shifts_t = np.zeros((n_f + 1, shifts.shape[0]))
    shifts_t[:n_f] = shifts.T
    out = np.empty((n, shifts.shape[0]))
    kernel = bs_scenarios_parallel if parallel else bs_scenarios_serial
    kernel(params, factors, np.full(n, is_option), shifts_t, out)
    return out


#: The ``option_type`` column of European-style options.
OPTION_TYPE = Column("option_type", "choice", "", "call or put", choices=("call", "put"))
#: The optional per-trade vol that replaces the market's.
VOL_OVERRIDE = Column(
    "vol",
    "float",
    "annualised",
    "vol override; empty uses the market's",
    required=False,
    positive=True,
)


def option_static(table: Table, market: Market) -> dict[str, np.ndarray]:
    """``strike``, ``cp`` (+1 call, -1 put), ``quantity`` and ``tau`` (years to ``expiry``),
    shape ``(n,)`` each, of a table of options."""
    return {
        "strike": table["strike"],
        "cp": np.where(table["option_type"] == "call", 1.0, -1.0),
        "quantity": table["quantity"],
        "tau": market.year_fraction(table["expiry"]),
    }


def option_inputs(static: dict[str, np.ndarray], inputs: dict[str, np.ndarray]) -> OptionInputs:
    """The kernel inputs of options from their static arrays (``strike``, ``tau``, ``cp``)
    and evaluated market inputs (``spot``, ``rate``, ``carry``, ``vol``), shape ``(m,)``."""
    return OptionInputs(
        inputs["spot"],
        static["strike"],
        static["tau"],
        inputs["rate"],
        inputs["carry"],
        inputs["vol"],
        static["cp"],
    )


def price_with_kernel(serial, parallel, static, inputs, ctx: PricingContext) -> dict:
    """Measures of options priced by a kernel with the fused Black–Scholes signature
    ``(spot, strike, tau, rate, carry, vol, cp, pv, delta, gamma, vega, theta, rho)``."""
    out = allocate_greeks(inputs["spot"].size)
    kernel = parallel if ctx.parallel else serial
    kernel(*option_inputs(static, inputs), *out)
    return cash_measures(out, inputs["spot"], static["quantity"], ctx.pv_only)


class BlackScholesOption(Product):
    """European call or put on a table with ``strike``, ``option_type``, ``expiry`` and
    ``quantity``; inputs ``spot``, ``rate``, ``carry`` and ``vol``."""

    revaluation = Revaluation.FUSED_SCENARIOS

    def static(self, table: Table, market: Market) -> dict[str, np.ndarray]:
        return option_static(table, market)

    def value(self, static, inputs, ctx: PricingContext) -> dict[str, np.ndarray]:
        return price_with_kernel(bs_fused_serial, bs_fused_parallel, static, inputs, ctx)

    def value_scenarios(self, static, inputs, fx_in, shifts, ctx: PricingContext) -> np.ndarray:
        return bs_scenario_pv(static, inputs, fx_in, shifts, True, ctx.parallel)


class BlackScholesForward(Product):
    """Forward at ``strike`` on a table with ``expiry`` and ``quantity``; inputs ``spot``,
    ``rate`` and ``carry``."""

    revaluation = Revaluation.FUSED_SCENARIOS

    def static(self, table: Table, market: Market) -> dict[str, np.ndarray]:
        return {
            "strike": table["strike"],
            "quantity": table["quantity"],
            "tau": market.year_fraction(table["expiry"]),
        }

    def value(self, static, inputs, ctx: PricingContext) -> dict[str, np.ndarray]:
        spot = inputs["spot"]
        out = allocate_greeks(spot.size)
        kernel = forward_parallel if ctx.parallel else forward_serial
        kernel(
            spot,
            static["strike"],
            static["tau"],
            inputs["rate"],
            inputs["carry"],
            np.zeros_like(spot),
            np.ones_like(spot),
            *out,
        )
        return cash_measures(out, spot, static["quantity"], ctx.pv_only)

    def value_scenarios(self, static, inputs, fx_in, shifts, ctx: PricingContext) -> np.ndarray:
        return bs_scenario_pv(static, inputs, fx_in, shifts, False, ctx.parallel)
