"""The product registry: table name -> :class:`~xiphpc.pricing.products.base.Product`.

Adding a product means a kernel in ``xiphpc/pricing/kernels/``, a :class:`Product` subclass (its
table schema, pricer and :class:`Revaluation` path), one line in ``_PRICERS`` below and its
name at the end of :data:`xiphpc.config.names.PRODUCT_NAMES`, which job files are checked
against without loading this library. A product's module (and so its kernels) is imported, and
the product checked against its declared path, when :data:`REGISTRY` is first asked for it: a
job imports the pricers of the products it holds and no others. Registry order is the order
in which product tables are concatenated into the global trade index, so it is part of the
output layout: append, do not reorder.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator, Mapping

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

#: Product table name -> ``"module:class"`` of its pricer, in registry order.
_PRICERS: dict[str, str] = {
    "equity_option": ".equity:EquityOption",
    "fx_option": ".fx:FxOption",
    "equity_forward": ".equity:EquityForward",
    "fx_forward": ".fx:FxForward",
    "interest_rate_swap": ".rates:InterestRateSwap",
    "forward_rate_agreement": ".rates:ForwardRateAgreement",
    "fixed_rate_bond": ".rates:FixedRateBond",
    "cap_floor": ".rates:CapFloor",
    "swaption": ".rates:Swaption",
    "credit_default_swap": ".credit:CreditDefaultSwap",
    "american_option": ".exotics:AmericanOption",
    "barrier_option": ".exotics:BarrierOption",
    "digital_option": ".exotics:DigitalOption",
    "asian_option": ".exotics:AsianOption",
    "commodity_option": ".commodity:CommodityOption",
}


class _Registry(Mapping[str, Product]):
    """The products by table name, each imported (with its kernels) when first looked up.

    A rank imports and checks only the products its job holds: names, order and membership
    need no import, so that a job of one product does not load the kernels of the others.
    """

    def __init__(self, pricers: dict[str, str]) -> None:
        self._pricers = pricers
        self._loaded: dict[str, Product] = {}
        self._lock = threading.RLock()

    def __getitem__(self, name: str) -> Product:
        product = self._loaded.get(name)
        if product is None:
            product = self._load(name)
        return product

    def _load(self, name: str) -> Product:
        module, _, cls = self._pricers[name].partition(":")
        with self._lock:
            if name not in self._loaded:
                product = getattr(importlib.import_module(module, __name__), cls)()
                if product.name != name:
                    raise ImportError(
                        f"the pricer {self._pricers[name]} of {name!r} names itself "
                        f"{product.name!r}"
                    )
                # A product declaring a path whose methods it lacks fails here, at its
                # first look-up, not mid-job.
                check_revaluation(product)
                self._loaded[name] = product
            return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._pricers)

    def __len__(self) -> int:
        return len(self._pricers)

    def __contains__(self, name: object) -> bool:
        return name in self._pricers

    def __repr__(self) -> str:
        return f"REGISTRY({list(self._pricers)})"


#: Table name -> product, in registry order; a product is imported when first looked up.
REGISTRY: Mapping[str, Product] = _Registry(_PRICERS)

if tuple(REGISTRY) != PRODUCT_NAMES:
    raise ImportError(
        "the product registry and xiphpc.config.names.PRODUCT_NAMES disagree: registry "
        f"{list(REGISTRY)}, config {list(PRODUCT_NAMES)}; list the same products in the same order"
    )
