"""Synthetic portfolios made of independent blocks: any rows generated alone equal the same
rows of the whole portfolio, so each rank of a generated job generates only what it reads."""

from __future__ import annotations

import numpy as np
import pytest

from xiphpc.io.portfolio import GeneratedSource
from xiphpc.pricing.status import Status
from xiphpc.pricing.validation import validate_table
from xiphpc.synth.generate import (
    GENERATION_BLOCK,
    generate_market,
    generate_portfolio,
    product_counts,
)

TRADES = 60_000


@pytest.fixture(scope="module")
def whole():
    return generate_portfolio(TRADES, seed=7, bad_fraction=0.02)


def _equal(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype.kind == "M":
        return np.array_equal(a.view("i8"), b.view("i8"))
    return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


def test_rows_read_alone_equal_the_whole_portfolio(whole) -> None:
    source = GeneratedSource(TRADES, 7, 0.02, generate_market(7).valuation_date)
    assert source.counts() == {p: len(t) for p, t in whole.items()} == product_counts(TRADES)
    for product, table in whole.items():
        n = len(table)
        # Within a block, across a block boundary, an empty range and the whole table.
        for a, b in ((0, n), (3, min(n, 40)), (max(0, n - 5), n), (n // 2, n // 2)):
            part = source.read(product, a, b)
            assert len(part) == b - a
            for column in table.columns:
                assert _equal(table[column][a:b], part[column]), (product, column, a, b)
        if n > GENERATION_BLOCK:
            a = GENERATION_BLOCK - 10
            part = source.read(product, a, a + 20)
            assert _equal(table["trade_id"][a : a + 20], part["trade_id"])


def test_blocks_are_independent_draws(whole) -> None:
    ids = whole["equity_option"]["trade_id"]
    # Ids count through the whole portfolio, products in registry order.
    assert ids[0] == "T00000000"
    strikes = whole["equity_option"]["strike"]
    first, second = strikes[:GENERATION_BLOCK], strikes[GENERATION_BLOCK : 2 * GENERATION_BLOCK]
    assert not np.array_equal(first, second)
    # The deliberate defects of every block are found, of several kinds.
    market = generate_market(7)
    codes = set()
    for table in whole.values():
        status, _ = validate_table(table, market)
        codes |= set(np.unique(status).tolist())
    codes.discard(int(Status.OK))
    assert len(codes) >= 3, codes
