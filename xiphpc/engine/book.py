"""Stage 3, read the local book: this rank's rows of every product table, what each trade is
(ids, desk, book, ...), and which ids repeat an earlier trade anywhere in the portfolio."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from xiphpc.engine.plan import product_offsets
from xiphpc.io.portfolio import PortfolioSource
from xiphpc.parallel.workshare import WorkShare
from xiphpc.pricing.products import Table
from xiphpc.pricing.validation import distributed_duplicate_mask

__all__ = ["DESCRIPTIVE_COLUMNS", "BookPiece", "LocalBook", "read_local_book"]

#: Text columns that say what each trade is, written per trade beside its results.
DESCRIPTIVE_COLUMNS = (
    "product",
    "trade_id",
    "desk",
    "book",
    "counterparty",
    "currency",
    "underlying",
)


@dataclass(frozen=True)
class BookPiece:
    """The rows of one product table that a rank owns.

    Attributes
    ----------
    product : str
    start : int
        Local row of the first trade of ``table``.
    table : Table
    """

    product: str
    start: int
    table: Table

    @property
    def stop(self) -> int:
        return self.start + len(self.table)


@dataclass(frozen=True)
class LocalBook:
    """This rank's trades, in global trade order.

    Attributes
    ----------
    pieces : list of BookPiece
        One per product table the rank has rows of, in registry order.
    duplicate : ndarray of bool, shape ``(n,)``
        True where an earlier trade of the whole portfolio has the same non-empty id.
    text : dict of str to ndarray of object, shape ``(n,)`` each
        The :data:`DESCRIPTIVE_COLUMNS` (``""`` where a product has no such column).
    quantity : ndarray of float64, shape ``(n,)``
    levels : dict of str to ndarray of object, shape ``(n,)`` each
        Each trade's value of every aggregation level of the job.
    """

    pieces: list[BookPiece]
    duplicate: np.ndarray
    text: dict[str, np.ndarray]
    quantity: np.ndarray
    levels: dict[str, np.ndarray]

    def __len__(self) -> int:
        return self.duplicate.size

    def overlapping(self, a: int, b: int) -> Iterator[tuple[BookPiece, int, int]]:
        """Each piece with rows in local ``a:b``, and the local sub-range ``(r0, r1)``."""
        for piece in self.pieces:
            r0, r1 = max(a, piece.start), min(b, piece.stop)
            if r0 < r1:
                yield piece, r0, r1


def level_values(level: str, product: str, table: Table) -> np.ndarray:
    """Each trade's value of aggregation ``level`` (``""`` where the product has none)."""
    if level == "product":
        return np.full(len(table), product)
    if level in table.columns:
        return table[level].astype(str)
    return np.full(len(table), "")


def read_local_book(source: PortfolioSource, share: WorkShare, levels: list[str]) -> LocalBook:
    """Read this rank's rows and flag duplicate ids across the whole portfolio.

    Parameters
    ----------
    levels : list of str
        The job's aggregation levels (without ``"total"``).
    """
    products, offsets = product_offsets(source)
    lo, hi = share.lo, share.hi
    n = hi - lo
    pieces = []
    for k, product in enumerate(products):
        a, b = max(lo, offsets[k]), min(hi, offsets[k + 1])
        if a < b:
            table = source.read(product, a - offsets[k], b - offsets[k])
            pieces.append(BookPiece(product, int(a) - lo, table))
    ids = [p.table["trade_id"] for p in pieces]
    duplicate = distributed_duplicate_mask(
        share.comm,
        np.concatenate(ids) if ids else np.zeros(0, dtype=str),
        np.arange(lo, hi, dtype=np.int64),
    )
    text = {c: np.full(n, "", dtype=object) for c in DESCRIPTIVE_COLUMNS}
    quantity = np.full(n, np.nan)
    by_level = {lv: np.full(n, "", dtype=object) for lv in levels}
    for piece in pieces:
        rows, table = slice(piece.start, piece.stop), piece.table
        text["product"][rows] = piece.product
        for c in DESCRIPTIVE_COLUMNS[1:]:
            if c in table.columns:
                text[c][rows] = table[c]
        quantity[rows] = table["quantity"]
        for lv in levels:
            by_level[lv][rows] = level_values(lv, piece.product, table)
    return LocalBook(pieces, duplicate, text, quantity, by_level)
