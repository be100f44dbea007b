"""Stage 4, price: validate each trade, flag duplicates, and price the valid ones with their
product's kernels; every measure in the trade currency, per trade."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xiphpc.engine.book import LocalBook
from xiphpc.market.data import Market
from xiphpc.pricing.products import REGISTRY, PricingContext
from xiphpc.pricing.status import Status
from xiphpc.pricing.validation import validate_table

__all__ = ["Batch", "TradeResults", "price_rows"]

DUPLICATE_REASON = "trade_id: duplicate of an earlier trade"
NON_FINITE_REASON = "pricing gave a non-finite result"


@dataclass(frozen=True)
class TradeResults:
    """Per-trade results of a rank's trades, filled chunk by chunk.

    Attributes
    ----------
    measures : tuple of str
    values : ndarray of float64, shape ``(n, M)``
        Measures in the trade currency; NaN where the trade is not priced.
    status : ndarray of int8, shape ``(n,)``
        :class:`~xiphpc.pricing.status.Status` codes.
    reason : ndarray of object, shape ``(n,)``
        Field and value that made the trade invalid; ``""`` when priced.
    fx_to_base : ndarray of float64, shape ``(n,)``
        Base currency per unit of trade currency.
    trade_pnl : ndarray of float64, shape ``(n, S)``, or None
        Historical scenario P&L per trade in the base currency, when the job asks for it.
    sensitivities : list of (ndarray, ndarray, ndarray), or None
        Non-zero sensitivities per trade, when the job asks for them: blocks of local row
        (int64), factor index (int64) and value (float64, base currency per reporting
        unit), each shape ``(k,)``.
    """

    measures: tuple[str, ...]
    values: np.ndarray
    status: np.ndarray
    reason: np.ndarray
    fx_to_base: np.ndarray
    trade_pnl: np.ndarray | None = None
    sensitivities: list | None = None

    @classmethod
    def empty(
        cls,
        n: int,
        measures: tuple[str, ...],
        n_trade_pnl: int | None,
        sensitivities: bool = False,
    ) -> TradeResults:
        """Results of ``n`` trades before pricing (all zero, status ok)."""
        return cls(
            measures,
            np.zeros((n, len(measures))),
            np.zeros(n, dtype=np.int8),
            np.full(n, "", dtype=object),
            np.full(n, np.nan),
            None if n_trade_pnl is None else np.full((n, n_trade_pnl), np.nan),
            [] if sensitivities else None,
        )

    def failed_reasons(self, rows: slice) -> tuple[np.ndarray, np.ndarray]:
        """The trades of local ``rows`` that have a reason (the failed ones): their offsets
        within ``rows`` (int64, shape ``(k,)``) and their reasons (object, shape ``(k,)``)."""
        reason = self.reason[rows]
        failed = np.flatnonzero(reason != "")
        return failed, reason[failed]

    def sensitivities_of(self, rows: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The kept sensitivities of local ``rows``: (local row, factor, value), ordered by
        row then factor."""
        blocks = self.sensitivities
        if not blocks:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        row, factor, value = (np.concatenate([b[j] for b in blocks]) for j in range(3))
        ordered = (np.diff(row) > 0) | ((np.diff(row) == 0) & (np.diff(factor) > 0))
        if len(blocks) > 1 or not ordered.all():
            # Joined and ordered once per pass, not once per partition asking for its rows.
            order = np.lexsort((factor, row))
            row, factor, value = row[order], factor[order], value[order]
            blocks[:] = [(row, factor, value)]
        a, b = np.searchsorted(row, [rows.start, rows.stop])
        return row[a:b], factor[a:b], value[a:b]

    @property
    def priced(self) -> np.ndarray:
        """True where the trade was priced, shape ``(n,)``."""
        return self.status == Status.OK


@dataclass(frozen=True)
class Batch:
    """Consecutive partitions priced together (a pass): their trades and results.

    Attributes
    ----------
    partitions : range
    lo : int
        Global row of the first trade; local row ``i`` is global ``lo + i``.
    book : LocalBook
    trades : TradeResults
    bounds : ndarray of int64, shape ``(P + 1,)``
        The plan's partition bounds (global rows).
    """

    partitions: range
    lo: int
    book: LocalBook
    trades: TradeResults
    bounds: np.ndarray

    def __len__(self) -> int:
        return len(self.book)

    def rows(self, partition: int) -> slice:
        """Local rows of ``partition`` (one of :attr:`partitions`)."""
        return slice(
            int(self.bounds[partition]) - self.lo, int(self.bounds[partition + 1]) - self.lo
        )


def price_rows(
    book: LocalBook, a: int, b: int, market: Market, ctx: PricingContext, out: TradeResults
) -> None:
    """Validate and price local rows ``a:b`` of ``book`` into ``out``.

    A trade's results depend on the trade and the market only, never on the other rows of
    the call, so any cut of the rows into calls gives the same numbers.
    """
    for piece, r0, r1 in book.overlapping(a, b):
        table = piece.table.take(slice(r0 - piece.start, r1 - piece.start))
        st, why = validate_table(table, market)
        # Object dtype: a fixed-width str array would cut the reasons set below.
        why = why.astype(object)
        dup = book.duplicate[r0:r1] & (st == Status.OK)
        st[dup] = Status.DUPLICATE_ID
        why[dup] = DUPLICATE_REASON
        values = out.values[r0:r1]
        ok = np.flatnonzero(st == Status.OK)
        if ok.size:
            priced = REGISTRY[piece.product].price(table.subset(ok), market, ctx)
            block = np.column_stack([priced[m] for m in out.measures])
            bad = ~np.isfinite(block).all(axis=1)
            st[ok[bad]] = Status.PRICING_FAILED
            why[ok[bad]] = NON_FINITE_REASON
            block[bad] = np.nan
            values[ok] = block
        values[st != Status.OK] = np.nan
        out.status[r0:r1] = st
        out.reason[r0:r1] = why
        out.fx_to_base[r0:r1] = market.fx_to_base(table["currency"])
