"""Fast paths of text columns: the one-cast ASCII encode and decode, and ISO dates read from
a column's code points, each against NumPy's element-by-element conversion."""

from __future__ import annotations

import numpy as np
import pytest

from xiphpc.io.portfolio import _iso_dates
from xiphpc.io.text import decode_ascii, encode_utf8, unique_inverse

ALPHABET = np.array(list("abcXYZ019 _-/:."))


def _ascii(n: int, width: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    chars = rng.choice(ALPHABET, (n, width))
    lengths = rng.integers(0, width + 1, n)
    return np.array(
        ["".join(c[:k]) for c, k in zip(chars, lengths, strict=True)], dtype=f"U{width}"
    )


@pytest.mark.parametrize("width", [1, 3, 17])
def test_ascii_encode_and_decode_equal_numpy(width: int) -> None:
    text = _ascii(5_000, width, width)
    data = encode_utf8(text)
    assert data.dtype == np.dtype(f"S{width}")
    np.testing.assert_array_equal(data, np.char.encode(text, "utf-8").astype(f"S{width}"))
    back = decode_ascii(data)
    assert back is not None and back.dtype == text.dtype
    np.testing.assert_array_equal(back, text)
    grid = text.reshape(50, 100)
    np.testing.assert_array_equal(encode_utf8(grid), data.reshape(50, 100))
    np.testing.assert_array_equal(decode_ascii(data.reshape(50, 100)), grid)


def test_non_ascii_takes_the_utf8_path() -> None:
    text = np.array(["Zürich", "東京", "", "plain"])
    data = encode_utf8(text)
    assert [d.decode("utf-8") for d in data] == list(text)
    assert decode_ascii(data) is None


def test_empty_and_zero_width() -> None:
    assert encode_utf8(np.array([], dtype="U3")).shape == (0,)
    np.testing.assert_array_equal(encode_utf8(np.array(["", ""])), np.array([b"", b""]))


def test_iso_dates_equal_numpy_parse() -> None:
    rng = np.random.default_rng(1)
    days = rng.integers(np.datetime64("1000-01-01").astype(int), 120_000, 20_000)
    dates = days.astype("datetime64[D]")
    text = dates.astype("U10")
    np.testing.assert_array_equal(_iso_dates(text), text.astype("datetime64[D]"))


@pytest.mark.parametrize(
    "bad",
    [
        "2023-02-29",
        "2023-04-31",
        "2023-13-01",
        "2023-00-10",
        "2023-01-00",
        "0999-01-01",
        " 2023-1-01",
        "2023/01/01",
        "20230101",
    ],
)
def test_iso_dates_leave_anything_else_to_numpy(bad: str) -> None:
    # None: the column is then read by NumPy, which decides cell by cell.
    assert _iso_dates(np.array(["2024-02-29", bad])) is None


@pytest.mark.parametrize("distinct", [1, 7, 3_000, 50_000])
@pytest.mark.parametrize("kind", ["U", "S"])
def test_unique_inverse_equals_numpy_unique(distinct: int, kind: str) -> None:
    rng = np.random.default_rng(distinct)
    labels = np.array(["", "Zürich", "東京", *(f"L{i:x}" for i in range(distinct))])[:distinct]
    values = labels[rng.integers(0, distinct, 60_000)]
    if kind == "S":
        values = encode_utf8(values)
    uniq, inverse = unique_inverse(values)
    want, want_inverse = np.unique(values, return_inverse=True)
    assert uniq.dtype == want.dtype and inverse.dtype == np.int64
    np.testing.assert_array_equal(uniq, want)
    np.testing.assert_array_equal(inverse, want_inverse)


def test_unique_inverse_of_few_and_of_numbers() -> None:
    for values in (np.array(["b", "a", "b"]), np.array([3.0, 1.0, 3.0]), np.array([], dtype="U2")):
        uniq, inverse = unique_inverse(values)
        want, want_inverse = np.unique(values, return_inverse=True)
        np.testing.assert_array_equal(uniq, want)
        np.testing.assert_array_equal(inverse, want_inverse)
