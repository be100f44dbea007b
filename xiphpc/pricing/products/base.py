"""What a product is to the engine: a table schema, a cost, a validity check and a pricer.

Every product table carries the common columns (:data:`COMMON_COLUMNS`) and its own. A pricer
returns every measure of :data:`MEASURES` per trade, in the trade's currency, already scaled by
the trade's quantity; the engine converts to the base currency, aggregates and writes.

Each product declares how bumps and scenarios revalue it, :attr:`Product.revaluation` (a
:class:`Revaluation`), and implements the methods that path calls; :func:`check_revaluation`
holds the two together and runs on every registry product at import.
"""

from __future__ import annotations

import datetime as dt
import enum
from abc import ABC
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np

from xiphpc.config.names import MEASURES
from xiphpc.io.text import encode_utf8
from xiphpc.market.data import Market
from xiphpc.market.factors import FactorSet, factor_set

__all__ = [
    "COMMON_COLUMNS",
    "MEASURES",
    "Column",
    "PricingContext",
    "Product",
    "Revaluation",
    "Table",
    "check_revaluation",
    "trade_keys",
]

ColumnKind = Literal["str", "float", "date", "choice"]


@dataclass(frozen=True)
class Column:
    """One column of a product table.

    Attributes
    ----------
    name, kind, unit, description
        ``kind`` is ``"str"``, ``"float"`` (float64), ``"date"`` (ISO ``YYYY-MM-DD``, held as
        ``datetime64[D]``) or ``"choice"`` (a string out of ``choices``).
    required
        A trade without a value is flagged ``missing``.
    positive
        A value ``<= 0`` is flagged (``non-positive vol`` for vols, ``non-positive price``
        otherwise).
    ref
        What the value must name in the market: ``"currency"``, ``"equity"`` or ``"fx_pair"``.
    future
        A date column: a date on or before the valuation date is flagged ``expired``.
    """

    name: str
    kind: ColumnKind
    unit: str
    description: str
    required: bool = True
    positive: bool = False
    ref: str | None = None
    choices: tuple[str, ...] = ()
    future: bool = True


COMMON_COLUMNS: tuple[Column, ...] = (
    Column("trade_id", "str", "", "unique trade identifier"),
    Column("desk", "str", "", "trading desk"),
    Column("book", "str", "", "book within the desk"),
    Column("counterparty", "str", "", "counterparty identifier"),
    Column("currency", "str", "ISO 4217", "currency of the trade's PV and greeks", ref="currency"),
    Column(
        "quantity",
        "float",
        "units of underlying (notional in foreign currency for FX)",
        "signed size: positive long, negative short",
    ),
)


def trade_keys(trade_ids: np.ndarray) -> np.ndarray:
    """64-bit FNV-1a hash of each trade id's UTF-8 bytes, shape ``(n,)`` uint64 (ids as str,
    or as their UTF-8 bytes).

    A stable key: the same id gives the same key on every machine, rank and run (Monte Carlo
    draws derive from it; duplicate ids are routed by it).
    """
    raw = encode_utf8(trade_ids)
    width = max(raw.dtype.itemsize, 1)
    octets = raw.astype(f"S{width}").view(np.uint8).reshape(raw.size, width)
    length = np.char.str_len(raw)
    h = np.full(raw.size, 0xCBF29CE484222325, dtype=np.uint64)
    for j in range(width):
        # Bytes beyond an id's length are padding, not part of it.
        h = np.where(j < length, (h ^ octets[:, j]) * np.uint64(0x100000001B3), h)
    return h


@dataclass
class Table:
    """Columns of one product table (structure of arrays), possibly a slice of the file.

    Attributes
    ----------
    product : str
        Registry name of the product.
    columns : dict of str to ndarray
        Each of shape ``(n,)``: ``<U`` strings, float64 or ``datetime64[D]``.
    missing : dict of str to ndarray
        Boolean masks, shape ``(n,)``, of cells that were empty in the source.
    source : str
        File (and table) the rows came from, for messages.
    offset : int
        Row number of the first row within the whole product table.
    """

    product: str
    columns: dict[str, np.ndarray]
    missing: dict[str, np.ndarray] = field(default_factory=dict)
    source: str = "<memory>"
    offset: int = 0

    def __len__(self) -> int:
        return len(self.columns["trade_id"]) if "trade_id" in self.columns else 0

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def take(self, rows: np.ndarray | slice) -> Table:
        """The rows ``rows`` as a new table (offset kept only for slices)."""
        cols = {k: v[rows] for k, v in self.columns.items()}
        miss = {k: v[rows] for k, v in self.missing.items()}
        offset = self.offset + (rows.start or 0) if isinstance(rows, slice) else self.offset
        return Table(self.product, cols, miss, self.source, offset)

    def subset(self, rows: np.ndarray) -> Table:
        """The rows ``rows`` (increasing, distinct) as a table: this very table when they are
        all of its rows, so that what was computed and kept for its arrays (schedules built
        while validating, :func:`~xiphpc.pricing.products.rates.memo_schedules`) is found
        again when pricing."""
        return self if rows.size == len(self) else self.take(rows)


@dataclass(frozen=True)
class PricingContext:
    """What a pricer may use besides the trades and the market.

    Attributes
    ----------
    seed : int
        Job seed; Monte Carlo draws derive from it and the trade id only.
    parallel : bool
        Use the multi-threaded kernels (threads per rank > 1).
    valuation_date : datetime.date
    pv_only : bool
        Only ``pv`` will be read; other measures may be left out of the result.
    """

    seed: int = 0
    parallel: bool = False
    valuation_date: dt.date | None = None
    #: Only ``pv`` is read (scenario revaluation): pricers may skip the greeks.
    pv_only: bool = False


class Revaluation(enum.Enum):
    """How risk (:mod:`xiphpc.risk.revalue`) revalues a product's trades under bumps and
    scenarios, and so which :class:`Product` methods the product implements
    (:attr:`methods`).

    Attributes
    ----------
    MARKET_INPUTS
        The market reaches the kernel only through per-trade inputs
        (:mod:`xiphpc.pricing.inputs`) that know their risk factors: every (trade, bump) and
        (trade, scenario) pair is one row of one :meth:`Product.value` call. Implements
        :meth:`~Product.static`, :meth:`~Product.market_inputs` and :meth:`~Product.value`
        (the default :meth:`Product.price` uses them).
    FUSED_SCENARIOS
        As ``MARKET_INPUTS``, and scenario P&L values every scenario of a trade in one kernel
        call, :meth:`Product.value_scenarios`; bumps take the rows of ``MARKET_INPUTS``.
    CURVE_STATES
        The market is curves only (yield, index and hazard curves, rate vol grids): every
        trade is valued under every curve state (each scenario, or each bump of the factors
        it names) of a :class:`~xiphpc.market.curve_states.CurveStates` in one kernel call,
        :meth:`Product.value_states`, besides :meth:`Product.price`.
    SHIFTED_MARKETS
        :meth:`Product.price` alone, on one whole shifted market per scenario and per bump:
        correct, slower.
    """

    MARKET_INPUTS = "market_inputs"
    FUSED_SCENARIOS = "fused_scenarios"
    CURVE_STATES = "curve_states"
    SHIFTED_MARKETS = "shifted_markets"

    @property
    def methods(self) -> tuple[str, ...]:
        """Names of the :class:`Product` methods that this path calls."""
        return _PATH_METHODS[self]


_INPUT_METHODS = ("static", "market_inputs", "value")
_PATH_METHODS = {
    Revaluation.MARKET_INPUTS: _INPUT_METHODS,
    Revaluation.FUSED_SCENARIOS: (*_INPUT_METHODS, "value_scenarios"),
    Revaluation.CURVE_STATES: ("price", "value_states"),
    Revaluation.SHIFTED_MARKETS: ("price",),
}


class Product(ABC):
    """A product type: subclass, set the class attributes (:attr:`revaluation` among them),
    implement the methods of that path, and register an instance in
    :mod:`xiphpc.pricing.products`."""

    #: Registry name, also the table name in portfolio files (``equity_option.csv``).
    name: ClassVar[str]
    description: ClassVar[str]
    #: Product-specific columns, after the common ones.
    columns: ClassVar[tuple[Column, ...]]
    #: Column naming the underlying risk factor (used by the ``underlying`` aggregation level).
    underlying_column: ClassVar[str | None] = "underlying"
    #: Relative cost of one trade, a European equity option being 1.0; the figures are times
    #: per trade measured on the demo job with risk on (250 scenarios and bucketed
    #: sensitivities). Only ratios between products matter: they balance the partitions.
    cost_per_trade: ClassVar[float] = 1.0
    #: Factor kinds (:mod:`xiphpc.market.factors`) a trade can depend on, None for any: the bumps of
    #: curve-state sensitivities try only factors of these kinds that the trade names.
    factor_kinds: ClassVar[tuple[str, ...] | None] = None
    #: Columns :meth:`cost` reads; empty when the cost is :attr:`cost_per_trade` for all.
    cost_columns: ClassVar[tuple[str, ...]] = ()
    #: How bumps and scenarios revalue the product; it implements the methods of that path.
    revaluation: ClassVar[Revaluation]

    def all_columns(self) -> tuple[Column, ...]:
        """Common columns followed by the product's own."""
        return COMMON_COLUMNS + self.columns

    def cost(self, table: Table) -> np.ndarray:
        """Estimated relative pricing cost per trade, shape ``(n,)``, used to balance
        partitions. Override when cost depends on trade fields (steps, paths)."""
        return np.full(len(table), self.cost_per_trade)

    def check(self, table: Table, market: Market) -> list[tuple[np.ndarray, int, str]]:
        """Product-specific problems beyond the column rules.

        Returns
        -------
        list of (mask, status, reason)
            ``mask`` of shape ``(n,)`` marks the trades with this problem.
        """
        return []

    def static(self, table: Table, market: Market) -> dict[str, np.ndarray]:
        """Numeric per-trade arrays :meth:`value` needs besides market inputs (strike, time
        to expiry, call/put sign, quantity...), each shape ``(n,)``."""
        raise NotImplementedError

    def market_inputs(self, table: Table, market: Market, factors: FactorSet) -> dict:
        """Per-trade market inputs (:mod:`xiphpc.pricing.inputs`) by the names :meth:`value`
        reads."""
        raise NotImplementedError

    def value(
        self, static: dict[str, np.ndarray], inputs: dict[str, np.ndarray], ctx: PricingContext
    ) -> dict[str, np.ndarray]:
        """Every measure of :data:`MEASURES` from static arrays and evaluated market inputs,
        all of shape ``(m,)``: one row per (trade, scenario)."""
        raise NotImplementedError

    def value_scenarios(
        self,
        static: dict[str, np.ndarray],
        inputs: dict,
        fx_in,
        shifts: np.ndarray,
        ctx: PricingContext,
    ) -> np.ndarray:
        """PV in base currency of every trade under every scenario of ``shifts`` (shape
        ``(S, F)``), shape ``(n, S)``, scenarios fused into one kernel call
        (:attr:`Revaluation.FUSED_SCENARIOS`)."""
        raise NotImplementedError

    def value_states(self, table: Table, market: Market, states, ctx: PricingContext) -> np.ndarray:
        """PV of every trade of ``table`` in every state of ``states``
        (:class:`~xiphpc.market.curve_states.CurveStates`), in the trade currency, scaled by
        quantity: shape ``(n, V)`` (:attr:`Revaluation.CURVE_STATES`)."""
        raise NotImplementedError

    def implements(self, method: str) -> bool:
        """Whether the product has its own ``method``, not the placeholder of
        :class:`Product`; the default :meth:`price` counts when the market-input methods
        it calls are implemented."""
        if getattr(type(self), method) is not getattr(Product, method):
            return True
        return method == "price" and all(self.implements(m) for m in _INPUT_METHODS)

    def price(self, table: Table, market: Market, ctx: PricingContext) -> dict[str, np.ndarray]:
        """Every measure of :data:`MEASURES` for every trade of ``table``.

        Called only with valid trades. Returns arrays of shape ``(n,)``, float64, in the
        trade's currency, scaled by quantity.
        """
        from xiphpc.pricing.inputs import no_shift

        inputs = self.market_inputs(table, market, factor_set(market))
        rows = np.arange(len(table))
        evaluated = {k: v.value(rows, no_shift) for k, v in inputs.items()}
        return self.value(self.static(table, market), evaluated, ctx)


def check_revaluation(product: Product) -> None:
    """Check that ``product`` declares a :class:`Revaluation` and implements every method of
    that path.

    Raises
    ------
    TypeError
        Naming the product, its declared path and the missing methods.
    """
    who = f"product {getattr(product, 'name', type(product).__name__)!r}"
    path = getattr(product, "revaluation", None)
    if not isinstance(path, Revaluation):
        raise TypeError(f"{who}: revaluation is {path!r}, not a Revaluation")
    missing = [m for m in path.methods if not product.implements(m)]
    if missing:
        raise TypeError(
            f"{who}: declares revaluation {path.name} but does not implement {', '.join(missing)}"
        )
