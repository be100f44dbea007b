"""Trade-level checks: which trades can be priced, and why the others cannot.

A trade's status is the first problem found, checked column by column in schema order and then
by the product's own rules; ``reason`` says which field and value. Every number must be finite:
NaN and infinities are flagged here, naming the column, not left for the pricing to meet.
Trades are never dropped: they are written with their status and excluded from the
aggregates.
"""

from __future__ import annotations

import numpy as np

from xiphpc.io.text import encode_utf8
from xiphpc.market.data import Market

from .inputs import per_name
from .products import REGISTRY, Column, Table
from .products.base import trade_keys
from .status import Status

__all__ = ["distributed_duplicate_mask", "duplicate_mask", "validate_table"]


def _known(col: Column, values: np.ndarray, market: Market) -> np.ndarray:
    if col.ref == "currency":
        test = market.has_currency
    elif col.ref == "equity":
        test = market.equities.__contains__
    elif col.ref == "fx_pair":
        test = market.has_fx_pair
    else:
        return np.ones(values.shape, dtype=bool)
    return per_name(values, test, bool).reshape(values.shape)


def validate_table(table: Table, market: Market) -> tuple[np.ndarray, np.ndarray]:
    """Status code and reason of every trade of ``table``.

    Returns
    -------
    status : ndarray of int8, shape ``(n,)``
        :class:`~xiphpc.pricing.status.Status` values.
    reason : ndarray of str, shape ``(n,)``
        Empty for valid trades.
    """
    n = len(table)
    status = np.zeros(n, dtype=np.int8)
    reason = np.full(n, "", dtype=object)

    def flag(mask: np.ndarray, code: Status, why) -> None:
        new = mask & (status == Status.OK)
        if not new.any():
            return
        status[new] = code
        if callable(why):
            for i in np.flatnonzero(new):
                reason[i] = why(i)
        else:
            reason[new] = why

    product = REGISTRY[table.product]
    vdate = np.datetime64(market.valuation_date, "D")
    for col in product.all_columns():
        if col.name not in table.columns:
            continue
        values = table[col.name]
        miss = table.missing.get(col.name, np.zeros(n, dtype=bool))
        name = col.name
        if col.kind == "float":
            nan = np.isnan(values)
            if col.required:
                flag(miss, Status.MISSING_FIELD, f"{name}: missing")
            flag(nan & ~miss, Status.NOT_A_NUMBER, f"{name}: not a number")
            # An infinite value is no more usable than NaN: stop it here, by name, rather
            # than as a non-finite price.
            inf = np.isinf(values)
            flag(
                inf, Status.NOT_A_NUMBER, lambda i, v=values, nm=name: f"{nm}: {v[i]} is not finite"
            )
            if col.positive:
                bad = ~nan & ~inf & (values <= 0.0)
                code = Status.NON_POSITIVE_VOL if name == "vol" else Status.NON_POSITIVE_PRICE
                flag(
                    bad,
                    code,
                    lambda i, v=values, nm=name: f"{nm}: must be > 0, got {float(v[i])!r}",
                )
            if name == "quantity":
                flag(~nan & (values == 0.0), Status.BAD_VALUE, "quantity: zero")
        elif col.kind == "date":
            nat = np.isnat(values)
            if col.required:
                flag(miss, Status.MISSING_FIELD, f"{name}: missing")
            flag(nat & ~miss, Status.BAD_VALUE, f"{name}: not a date (YYYY-MM-DD)")
            flag(
                ~nat & (values <= vdate) & col.future,
                Status.EXPIRED,
                lambda i, v=values, nm=name: (
                    f"{nm}: {v[i]} is not after the valuation date {market.valuation_date}"
                ),
            )
        else:
            if col.required:
                flag(miss, Status.MISSING_FIELD, f"{name}: missing")
            if col.choices:
                bad = ~miss & per_name(values, lambda v, c=col: v not in c.choices, bool)
                flag(
                    bad,
                    Status.BAD_VALUE,
                    lambda i, v=values, c=col: (
                        f"{c.name}: {str(v[i])!r} is not one of {list(c.choices)}"
                    ),
                )
            if col.ref is not None:
                known = _known(col, values, market)
                code = (
                    Status.UNKNOWN_CURRENCY if col.ref == "currency" else Status.UNKNOWN_UNDERLYING
                )
                flag(
                    ~miss & ~known,
                    code,
                    lambda i, v=values, c=col: f"{c.name}: {str(v[i])!r} is not in the market data",
                )
    if n:
        for mask, code, why in product.check(table, market):
            flag(mask, Status(code), why)
    if (
        "underlying" in table.columns
        and product.columns
        and any(c.ref == "equity" for c in product.columns)
    ):
        spot = per_name(
            table["underlying"],
            lambda u: market.equities[u].spot if u in market.equities else np.nan,
        )
        flag(
            spot <= 0.0,
            Status.NON_POSITIVE_PRICE,
            lambda i: (
                f"underlying: market spot of {str(table['underlying'][i])!r} is {float(spot[i])!r}"
            ),
        )
    return status, reason.astype(str)


def distributed_duplicate_mask(comm, ids: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """:func:`duplicate_mask` of a portfolio spread over the ranks of ``comm``, each rank
    holding only its own trades.

    Every id goes, with its global row, to the rank its hash names; that rank marks all but
    the earliest row of each id and answers. Memory and traffic per rank are proportional to
    its share of the trades, not to the portfolio.

    Parameters
    ----------
    ids : ndarray of str or bytes (UTF-8), shape ``(n,)``
        This rank's trade ids.
    rows : ndarray of int64, shape ``(n,)``
        Their global rows (trade order).

    Returns
    -------
    ndarray of bool, shape ``(n,)``
        True where an earlier global row has the same non-empty id.
    """
    from xiphpc.parallel.mpi import allreduce_max, exchange_rows

    raw = encode_utf8(ids)
    width = max(1, allreduce_max(comm, raw.dtype.itemsize if raw.size else 1))
    raw = raw.astype(f"S{width}")
    octets = raw.view(np.uint8).reshape(raw.size, width)
    owner = (trade_keys(raw) % np.uint64(comm.Get_size())).astype(np.int64)
    (got_ids, got_rows), sources, order = exchange_rows(
        comm, owner, octets, np.asarray(rows, dtype=np.int64)
    )
    keys = got_ids.view(f"S{width}").ravel()
    by = np.lexsort((got_rows, keys))
    dup_sorted = np.zeros(keys.size, dtype=bool)
    dup_sorted[1:] = keys[by][1:] == keys[by][:-1]
    flags = np.zeros(keys.size, dtype=np.uint8)
    flags[by] = dup_sorted & (keys[by] != b"")
    (answer,), _, _ = exchange_rows(comm, sources, flags)
    mine = np.zeros(raw.size, dtype=bool)
    mine[order] = answer.astype(bool)
    return mine


def duplicate_mask(ids: np.ndarray) -> np.ndarray:
    """True for every occurrence of a trade id after its first, shape ``(n,)``.

    Parameters
    ----------
    ids : ndarray of str, shape ``(n,)``
        Trade ids in global trade order.
    """
    if ids.size == 0:
        return np.zeros(0, dtype=bool)
    _, first = np.unique(ids, return_index=True)
    dup = np.ones(ids.size, dtype=bool)
    dup[first] = False
    # An empty id is "missing", not a duplicate.
    dup &= ids != ""
    return dup
