"""The product registry: table name -> :class:`~xiphpc.pricing.products.base.Product`.

Adding a product means a kernel in ``xiphpc/pricing/kernels/``, a :class:`Product` subclass (its
table schema, pricer and :class:`Revaluation` path), one line in :data:`REGISTRY` below and
its name at the end of :data:`xiphpc.config.names.PRODUCT_NAMES`, which job files are checked
against without loading this library; each product is checked against its declared path here,
at import. Registry order is the order in which product tables are concatenated into the
global trade index, so it is part of the output layout: append, do not reorder.
"""

from __future__ import annotations

from xiphpc.config.names import PRODUCT_NAMES

from .base import (
    COMMON_COLUMNS,
    MEASURES,
    Column,
    PricingContext,
    Product,
    Revaluation,
    Table,
    check_revaluation,
)
from .commodity import CommodityOption
from .credit import CreditDefaultSwap
from .equity import EquityForward, EquityOption
from .exotics import AmericanOption, AsianOption, BarrierOption, DigitalOption
from .fx import FxForward, FxOption
from .rates import CapFloor, FixedRateBond, ForwardRateAgreement, InterestRateSwap, Swaption

__all__ = [
    "COMMON_COLUMNS",
    "MEASURES",
    "REGISTRY",
    "Column",
    "PricingContext",
    "Product",
    "Revaluation",
    "Table",
    "check_revaluation",
]

REGISTRY: dict[str, Product] = {
    p.name: p
    for p in (
        EquityOption(),
        FxOption(),
        EquityForward(),
        FxForward(),
        InterestRateSwap(),
        ForwardRateAgreement(),
        FixedRateBond(),
        CapFloor(),
        Swaption(),
        CreditDefaultSwap(),
        AmericanOption(),
        BarrierOption(),
        DigitalOption(),
        AsianOption(),
        CommodityOption(),
    )
}

if tuple(REGISTRY) != PRODUCT_NAMES:
    raise ImportError(
        "the product registry and xiphpc.config.names.PRODUCT_NAMES disagree: registry "
        f"{list(REGISTRY)}, config {list(PRODUCT_NAMES)}; list the same products in the same order"
    )

for _product in REGISTRY.values():
    # A product declaring a path whose methods it lacks fails here, not mid-job.
    check_revaluation(_product)
