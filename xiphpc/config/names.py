"""Names a job file may use for measures and products, without loading the pricing library.

The pricing library (:mod:`xiphpc.pricing.products`) takes its measure table from here and
checks at import that its registry holds exactly :data:`PRODUCT_NAMES`, in this order; so a job
file can be read and checked (``xiphpc slurm submit`` on a login node, say) without numba.
"""

from __future__ import annotations

__all__ = ["MEASURES", "PRODUCT_NAMES"]

#: Measures every pricer returns, with unit and meaning; all in the trade's currency and
#: scaled by quantity. Cash greeks are additive across underlyings.
MEASURES: dict[str, tuple[str, str]] = {
    "pv": ("trade currency", "present value"),
    "delta": ("trade currency", "cash delta: dPV/dS * S, PV change per +100% spot move"),
    "gamma": ("trade currency", "cash gamma: d2PV/dS2 * S^2 / 100, cash-delta change per +1%"),
    "vega": ("trade currency per vol point", "PV change per +0.01 absolute vol"),
    "theta": ("trade currency per day", "PV change per calendar day, market held fixed"),
    "rho": ("trade currency per bp", "PV change per +1bp in the trade currency's zero rates"),
}

#: Product tables, in registry order: the order in which product tables are concatenated into
#: the global trade index, so part of the output layout (append, do not reorder).
PRODUCT_NAMES: tuple[str, ...] = (
    "equity_option",
    "fx_option",
    "equity_forward",
    "fx_forward",
    "interest_rate_swap",
    "forward_rate_agreement",
    "fixed_rate_bond",
    "cap_floor",
    "swaption",
    "credit_default_swap",
    "american_option",
    "barrier_option",
    "digital_option",
    "asian_option",
    "commodity_option",
)
