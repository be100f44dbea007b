"""The book: which trades repeat an id and which nodes the levels have, over the whole
portfolio (stage 3, :func:`index_book`), then the rows of each piece of work as it is priced
(:func:`read_book_rows`): what each trade is (ids, desk, book, ...) and its product table
rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from xiphpc.engine.partition import block_rows
from xiphpc.engine.plan import product_offsets
from xiphpc.io.portfolio import PortfolioSource
from xiphpc.io.text import as_str, encode_utf8, unique_inverse, utf8_lengths
from xiphpc.parallel.workshare import WorkShare
from xiphpc.pricing.products import Table
from xiphpc.pricing.validation import distributed_duplicate_mask

__all__ = [
    "DESCRIPTIVE_COLUMNS",
    "INDEX_ROWS",
    "BookIndex",
    "BookPiece",
    "LocalBook",
    "index_book",
    "read_book_rows",
]

#: Rows of a product table read at a time while indexing the book.
INDEX_ROWS = 1 << 16

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
    """The trades of consecutive global rows, in global trade order.

    Attributes
    ----------
    pieces : list of BookPiece
        One per product table the rank has rows of, in registry order.
    duplicate : ndarray of bool, shape ``(n,)``
        True where an earlier trade of the whole portfolio has the same non-empty id.
    text : dict of str to ndarray of str, shape ``(n,)`` each
        The :data:`DESCRIPTIVE_COLUMNS` (``""`` where a product has no such column).
    quantity : ndarray of float64, shape ``(n,)``
    levels : dict of str to ndarray of str, shape ``(n,)`` each
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
    """Each trade's value of aggregation level or text column ``level`` (``""`` where the
    product has none)."""
    if level == "product":
        return np.full(len(table), product)
    if level in table.columns:
        return as_str(table[level])
    return np.full(len(table), "")


@dataclass(frozen=True)
class BookIndex:
    """What the engine must know of the whole portfolio before pricing any of it.

    Attributes
    ----------
    duplicates : ndarray of int64, shape ``(d,)``
        Sorted global rows whose trade id repeats an earlier trade's non-empty id.
    keys : dict of str to list of str
        Sorted values of every aggregation level over the whole portfolio.
    widths : dict of str to int
        UTF-8 bytes of the longest value of each of the :data:`DESCRIPTIVE_COLUMNS` over
        the whole portfolio (at least 1): the width of its per-trade result column.
    """

    duplicates: np.ndarray
    keys: dict[str, list[str]]
    widths: dict[str, int]


def index_book(source: PortfolioSource, share: WorkShare, levels: list[str]) -> BookIndex:
    """Stage 3, index the book: the duplicate ids, the aggregation nodes and the widths of
    the descriptive columns of the whole portfolio, each rank reading the ids, level and
    descriptive columns of an even share of the rows.

    Parameters
    ----------
    levels : list of str
        The job's aggregation levels (without ``"total"``).
    """
    products, offsets = product_offsets(source)
    lo, hi = block_rows(int(offsets[-1]), share.rank, share.size)
    ids, values = [], {lv: set() for lv in levels}
    longest = dict.fromkeys(DESCRIPTIVE_COLUMNS, 0)
    wanted = tuple(dict.fromkeys(("trade_id", *levels, *DESCRIPTIVE_COLUMNS)))
    for k, product in enumerate(products):
        a, b = max(lo, offsets[k]), min(hi, offsets[k + 1])
        # A slice of rows at a time: the text of a slice, not of the rank's whole share,
        # is held at once.
        for r0 in range(int(a), int(b), INDEX_ROWS):
            r1 = min(int(b), r0 + INDEX_ROWS)
            table = source.read(
                product,
                r0 - offsets[k],
                r1 - offsets[k],
                tuple(c for c in wanted if c != "product"),
            )
            # Ids as UTF-8 bytes (a quarter of str's memory) and only the distinct level
            # values of each table: the index holds little per trade beyond the ids.
            ids.append(encode_utf8(table["trade_id"]))
            for c in wanted:
                if c == "product":
                    distinct = [product]
                elif c in values:
                    distinct = _distinct(level_values(c, product, table))
                else:
                    # Only the width of a column that is no level: no need to find its
                    # distinct values.
                    found = ids[-1] if c == "trade_id" else level_values(c, product, table)
                    longest[c] = max(longest[c], _utf8_width(found))
                    continue
                if c in values:
                    values[c].update(distinct)
                if c in longest:
                    longest[c] = max(longest[c], _utf8_width(distinct))
            del table
    rows = np.arange(lo, hi, dtype=np.int64)
    width = max((i.dtype.itemsize for i in ids), default=1)
    mask = distributed_duplicate_mask(
        share.comm,
        np.concatenate([i.astype(f"S{width}") for i in ids]) if ids else np.zeros(0, "S1"),
        rows,
    )
    keys = {lv: share.union_of_strings(sorted(v)) for lv, v in values.items()}
    widths = {c: max(1, share.max(w)) for c, w in longest.items()}
    return BookIndex(share.gather_all_ints(rows[mask]), keys, widths)


def _utf8_width(values: np.ndarray | list[str]) -> int:
    """UTF-8 bytes of the longest string of ``values`` (0 when there is none)."""
    raw = encode_utf8(np.asarray(values, dtype=str) if isinstance(values, list) else values)
    return int(utf8_lengths(raw).max()) if raw.size else 0


def _distinct(values: np.ndarray) -> list[str]:
    """The sorted distinct strings of ``values`` (shape ``(n,)``)."""
    try:
        # Distinct UTF-8 bytes found by hashing, and only they are decoded; bytes sort as
        # their strings do.
        uniq, _ = unique_inverse(encode_utf8(values))
        return [b.decode("utf-8") for b in uniq.tolist()]
    except UnicodeEncodeError:
        return np.unique(values).tolist()


def read_book_rows(
    source: PortfolioSource, lo: int, hi: int, levels: list[str], index: BookIndex
) -> LocalBook:
    """Global rows ``lo:hi`` of the portfolio as a book (local row ``i`` is global ``lo + i``).

    Parameters
    ----------
    levels : list of str
        The job's aggregation levels (without ``"total"``).
    index : BookIndex
        Whose duplicate rows are flagged.
    """
    products, offsets = product_offsets(source)
    n = hi - lo
    pieces = []
    for k, product in enumerate(products):
        a, b = max(lo, offsets[k]), min(hi, offsets[k + 1])
        if a < b:
            table = source.read(product, a - offsets[k], b - offsets[k])
            pieces.append(BookPiece(product, int(a) - lo, table))
    d0, d1 = np.searchsorted(index.duplicates, [lo, hi])
    duplicate = np.zeros(n, dtype=bool)
    duplicate[index.duplicates[d0:d1] - lo] = True

    def joined(name: str) -> np.ndarray:
        # One str array per column, joined from the pieces: no Python object per trade.
        parts = [level_values(name, p.product, p.table) for p in pieces]
        if len(parts) == 1:
            # A pass within one product table: its column as it is, not copied.
            return as_str(parts[0])
        return as_str(np.concatenate(parts)) if parts else np.zeros(0, dtype=str)

    text = {c: joined(c) for c in DESCRIPTIVE_COLUMNS}
    # A level that is also a descriptive column shares its array.
    by_level = {lv: text[lv] if lv in text else joined(lv) for lv in levels}
    quantity = (
        pieces[0].table["quantity"]
        if len(pieces) == 1
        else np.concatenate([p.table["quantity"] for p in pieces])
        if pieces
        else np.zeros(0)
    )
    return LocalBook(pieces, duplicate, text, quantity, by_level)
