"""Text input files (job files, CSV tables, market data): UTF-8, read whole, every failure a
:class:`~xiphpc.config.errors.JobError` naming the file and, for bad bytes, the line."""

from __future__ import annotations

import reprlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from xiphpc.config.errors import JobError, Problem

__all__ = [
    "as_str",
    "brief",
    "decode_ascii",
    "decode_utf8",
    "encode_utf8",
    "read_text",
    "rows_by_value",
    "unique_inverse",
    "utf8_lengths",
]

_BRIEF = reprlib.Repr()
_BRIEF.maxlevel = 3
_BRIEF.maxstring = 60
_BRIEF.maxother = 60
_BRIEF.maxlist = _BRIEF.maxtuple = _BRIEF.maxdict = _BRIEF.maxset = 6


def brief(value: object) -> str:
    """``repr(value)`` cut to a line: a value quoted in a message may be a whole nested
    document (and a deep one would exhaust the recursion of the plain ``repr``)."""
    return _BRIEF.repr(value)


def decode_utf8(data: bytes, source: str) -> str:
    """``data`` as UTF-8 text (a leading byte-order mark dropped).

    Raises
    ------
    JobError
        Naming the first byte that is not UTF-8, its line and column.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise JobError(
            [
                Problem(
                    source,
                    f"line {line}",
                    f"not UTF-8 text: byte 0x{data[exc.start]:02x} at column {column} (save the "
                    "file as UTF-8)",
                )
            ]
        ) from None


def read_text(path: str | Path, what: str = "") -> str:
    """The UTF-8 text of file ``path``; ``what`` ("job file") qualifies the read error."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        label = f"cannot read {what}" if what else "cannot read"
        raise JobError([Problem(str(path), "", f"{label}: {exc.strerror}")]) from exc
    return decode_utf8(data, str(path))


def as_str(values: np.ndarray) -> np.ndarray:
    """``values`` as a ``str`` array, the array itself when it is one already: NumPy's
    ``astype(str)`` copies a ``str`` array element by element (a tenth of a second per
    million strings)."""
    return np.asarray(values, dtype=str)


def _code_points(values: np.ndarray) -> np.ndarray:
    """The UCS-4 code points of ``str`` array ``values``, shape ``values.shape + (width,)``."""
    values = np.ascontiguousarray(values)
    width = values.dtype.itemsize // 4
    return values.view(np.uint32).reshape(*values.shape, width)


def encode_utf8(values: np.ndarray) -> np.ndarray:
    """UTF-8 bytes (``S`` dtype, the width of the longest) of str ``values``, any shape; bytes
    are returned as they are.

    The width is that of ``values``' dtype, as NumPy's ``astype("S")`` makes it.
    """
    values = np.asarray(values)
    if values.dtype.kind == "S":
        return values
    text = as_str(values)
    width = text.dtype.itemsize // 4
    if width:
        points = _code_points(text)
        if points.size == 0 or points.max() < 0x80:
            # ASCII, the common case: its UTF-8 bytes are its code points, narrowed in one
            # cast instead of encoded element by element.
            return points.astype(np.uint8).view(f"S{width}").reshape(text.shape)
    try:
        return text.astype("S")
    except UnicodeEncodeError:
        return np.char.encode(text, "utf-8")


def rows_by_value(values: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    """Each distinct value of ``values`` (shape ``(n,)``) in sorted order, as ``str``, with
    its rows (int64, increasing): one stable sort of the codes instead of a pass over the
    rows per value."""
    uniq, inverse = unique_inverse(values)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(uniq.size + 1))
    for i, value in enumerate(uniq.tolist()):
        yield str(value), order[bounds[i] : bounds[i + 1]]


def utf8_lengths(raw: np.ndarray) -> np.ndarray:
    """Bytes of each fixed-width UTF-8 string of ``raw`` (``S`` dtype, shape ``(n,)``), the
    zero bytes after its end not counted; int64, shape ``(n,)``."""
    return np.strings.str_len(raw).astype(np.int64)


def decode_ascii(data: np.ndarray) -> np.ndarray | None:
    """``str`` array of fixed-width bytes ``data`` (``S`` dtype, any shape) when every byte is
    ASCII, as ``data.astype("U")`` makes it; None when a byte is not (decode those as UTF-8).
    """
    data = np.ascontiguousarray(data)
    width = data.dtype.itemsize
    if width == 0:
        return None
    grid = data.view(np.uint8).reshape(*data.shape, width)
    if grid.size and grid.max() >= 0x80:
        return None
    # An ASCII byte is its own code point: widened in one cast, no per-element decode.
    return grid.astype(np.uint32).view(f"U{width}").reshape(data.shape)


#: Below this many values sorting them costs less than hashing them.
_HASH_FROM = 1024


def unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` of a 1-D array, the inverse flat: the same
    sorted distinct values and the same inverse, found for text by hashing each string's
    code points once (:func:`~xiphpc.pricing.kernels.keys.factorize_rows`) and sorting only
    the distinct ones.

    Parameters
    ----------
    values : ndarray, shape ``(n,)``

    Returns
    -------
    uniq : ndarray, shape ``(k,)``
        Sorted distinct values, of ``values``' dtype.
    inverse : ndarray of int64, shape ``(n,)``
        ``uniq[inverse]`` equals ``values``.
    """
    values = np.asarray(values)
    if values.dtype.kind not in "US" or values.size < _HASH_FROM or values.dtype.itemsize == 0:
        uniq, inverse = np.unique(values, return_inverse=True)
        return uniq, inverse.reshape(-1).astype(np.int64, copy=False)
    from xiphpc.pricing.kernels.keys import factorize_rows

    values = np.ascontiguousarray(values.reshape(-1))
    unit = np.uint32 if values.dtype.kind == "U" else np.uint8
    grid = values.view(unit).reshape(values.size, -1)
    slots = np.full(1 << int(2 * values.size - 1).bit_length(), -1, dtype=np.int64)
    codes = np.empty(values.size, dtype=np.int64)
    first = np.empty(values.size, dtype=np.int64)
    k = factorize_rows(grid, slots, codes, first)
    found = values[first[:k]]
    order = np.argsort(found, kind="stable")
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k)
    return found[order], rank[codes]
