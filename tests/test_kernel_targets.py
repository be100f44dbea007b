"""The serial and the parallel target of every product's kernels write every output, and the
same bits.

Outputs are filled with NaN before each call, so that an output the parallel target fails to
write (numba can drop stores it takes for dead: see
:func:`xiphpc.pricing.kernels._targets.serial_and_parallel`) shows as NaN, not as the stale
values of an earlier call that happened to reuse the memory.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import valid_trades

from xiphpc.market.curve_states import CurveStates
from xiphpc.market.factors import factor_set
from xiphpc.pricing.products import (
    REGISTRY,
    PricingContext,
    Revaluation,
    black_scholes_family,
    commodity,
    credit,
    exotics,
    rates,
)
from xiphpc.synth.generate import generate_market

#: Modules whose pricers allocate kernel outputs, and the allocator each calls.
ALLOCATORS = (
    (rates, "allocate_outputs"),
    (credit, "allocate_outputs"),
    (black_scholes_family, "allocate_greeks"),
    (exotics, "allocate_greeks"),
    (commodity, "allocate_greeks"),
)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_serial_and_parallel_write_every_output(name: str, monkeypatch) -> None:
    captured: list[np.ndarray] = []

    def nan_filled(allocate):
        def allocate_nan(*args):
            out = allocate(*args)
            for a in out:
                a.fill(np.nan)
            captured.extend(out)
            return out

        return allocate_nan

    for module, allocator in ALLOCATORS:
        monkeypatch.setattr(module, allocator, nan_filled(getattr(module, allocator)))
    market = generate_market(5)
    table = valid_trades(name, market, 3000, 5, 24)
    product = REGISTRY[name]
    factors = factor_set(market)
    states = CurveStates(np.random.default_rng(1).normal(0.0, 1e-3, (3, len(factors))), factors)
    runs = []
    for parallel in (False, True):
        captured.clear()
        ctx = PricingContext(seed=1, parallel=parallel, valuation_date=market.valuation_date)
        product.price(table, market, ctx)
        if product.revaluation is Revaluation.CURVE_STATES:
            product.value_states(table, market, states, ctx)
        runs.append([a.copy() for a in captured])
    serial, parallel = runs
    assert serial and len(serial) == len(parallel)
    for s, p in zip(serial, parallel, strict=True):
        assert not np.isnan(s).any()
        np.testing.assert_array_equal(p, s)
