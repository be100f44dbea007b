"""Portfolio sources: product tables read from HDF5 or CSV, or generated.

Layouts:

- HDF5: one group per product under ``/portfolio`` (``/portfolio/equity_option/strike``...),
  one 1-D dataset per column; strings as UTF-8, dates as ISO strings, missing floats NaN,
  missing strings empty.
- CSV: a folder with one ``<product>.csv`` per product, UTF-8 (a byte-order mark is
  allowed), header row of column names; an empty cell is a missing value, an empty line is
  skipped.

Rows are numbered from 1 within each product table, the header not counted (row 1 of a CSV
table is its second line): ``xiphpc validate`` and ``xiphpc show`` both say "row N" so.
A file that cannot be read as a table (bad bytes, a cell over the CSV module's 131,072
characters, an HDF5 column that is not one value per trade, a damaged HDF5 file) stops the job
with a :class:`~xiphpc.config.errors.JobError` naming the file, the column or the line.

A source can read any row range of a table, so that each rank reads only its own trades
(HDF5 reads exactly those rows; a CSV file is checked whole when opened, keeping where each
row starts, and only the rows read are parsed into columns and typed).
"""

from __future__ import annotations

import contextlib
import csv
import gc
import io
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
from h5py import h5d, h5s

from xiphpc.config.errors import JobError, Problem
from xiphpc.pricing.kernels.busdays import days_from_civil
from xiphpc.pricing.products import REGISTRY, Column, Table

from .text import as_str, decode_ascii, decode_utf8

__all__ = [
    "CsvSource",
    "GeneratedSource",
    "Hdf5Source",
    "PortfolioSource",
    "SelectedSource",
    "open_portfolio",
    "table_from_strings",
]


class PortfolioSource(ABC):
    """Where the product tables of a portfolio come from."""

    description: str

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """Number of trades per product present, in registry order."""

    @abstractmethod
    def read(
        self,
        product: str,
        start: int = 0,
        stop: int | None = None,
        columns: tuple[str, ...] | None = None,
    ) -> Table:
        """Rows ``start:stop`` of a product table, all columns or only ``columns``."""


def _decode(data: np.ndarray, source: str, column: str, first_row: int) -> np.ndarray:
    """UTF-8 bytes to str; ASCII, the common case, without a per-element decode.

    Raises
    ------
    JobError
        A cell is not UTF-8, naming the column and its row (counted from 1).
    """
    text = decode_ascii(data)
    if text is not None:
        return text
    try:
        return data.astype("U")
    except UnicodeDecodeError:
        pass
    out = np.empty(data.shape, dtype=object)
    for i, cell in enumerate(data):
        try:
            out[i] = cell.decode("utf-8")
        except UnicodeDecodeError:
            raise JobError(
                [
                    Problem(
                        source, column, f"row {first_row + i + 1}: not UTF-8 text: {bytes(cell)!r}"
                    )
                ]
            ) from None
    return out.astype(str)


#: What h5py raises for a damaged or foreign file, depending on where the damage is.
_HDF5_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError)


@contextlib.contextmanager
def _hdf5_errors(source: str) -> Iterator[None]:
    """Turn the errors of reading a damaged HDF5 file into one problem naming it."""
    try:
        yield
    except JobError:
        raise
    except _HDF5_ERRORS as exc:
        raise JobError(
            [Problem(source, "", f"cannot read as HDF5 (damaged, or not HDF5): {exc}")]
        ) from exc


def _column_problem(obj: object) -> str | None:
    """Why an HDF5 object cannot be a portfolio column (one number or string per trade)."""
    if not isinstance(obj, h5py.Dataset):
        return "is a group; expected a dataset, one value per trade"
    if obj.ndim != 1:
        return f"has shape {obj.shape}; expected one value per trade (a 1-D dataset)"
    kind = obj.dtype.kind
    if kind == "V":
        return f"has a compound type {obj.dtype}; expected numbers or strings"
    if kind == "O" and h5py.check_string_dtype(obj.dtype) is None:
        return "holds variable-length sequences; expected numbers or strings"
    if kind not in "biufSO":
        return f"has type {obj.dtype}; expected numbers or strings"
    return None


def _has_space(text: np.ndarray) -> bool:
    """Whether any string of ``text`` (``str``, shape ``(n,)``) holds a space: most columns
    hold none, and one look at their code points costs less than looking at each end."""
    if text.size == 0 or text.dtype.itemsize == 0:
        return False
    return bool((np.ascontiguousarray(text).view(np.uint32) == ord(" ")).any())


def _convert(col: Column, raw: np.ndarray, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Typed column and missing mask from strings, shape ``(n,)`` each."""
    text = as_str(raw)
    # Strip only where needed: np.char.strip is a per-element Python-level call.
    if _has_space(text) and (
        np.char.startswith(text, " ").any() or np.char.endswith(text, " ").any()
    ):
        text = np.char.strip(text)
    missing = text == ""
    if col.kind == "float":
        values = np.full(text.shape, np.nan)
        ok = ~missing
        try:
            values[ok] = text[ok].astype(np.float64)
        except ValueError:
            for i in np.flatnonzero(ok):
                try:
                    values[i] = float(text[i])
                except ValueError:
                    values[i] = np.nan
        return values, missing
    if col.kind == "date":
        values = np.full(text.shape, np.datetime64("NaT"), dtype="datetime64[D]")
        ok = ~missing
        iso = _iso_dates(text[ok])
        if iso is not None:
            values[ok] = iso
            return values, missing
        try:
            # One conversion for the column; only a column with a bad date goes cell by cell.
            values[ok] = text[ok].astype("datetime64[D]")
            return values, missing
        except ValueError:
            pass
        for i in np.flatnonzero(ok):
            try:
                values[i] = np.datetime64(text[i], "D")
            except ValueError:
                values[i] = np.datetime64("NaT")
        return values, missing
    return text, missing


#: Code units of ``YYYY-MM-DD`` that hold digits.
_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9]


def _iso_dates(text: np.ndarray) -> np.ndarray | None:
    """``text`` (``str`` or UTF-8 bytes, shape ``(n,)``) as ``datetime64[D]`` when every cell
    is a valid ``YYYY-MM-DD`` date (year 1000 on), as ``astype("datetime64[D]")`` reads it;
    None otherwise (that conversion then decides, cell by cell where it fails).

    NumPy parses a date string by string; here the digits are read from the code units of
    the whole column at once, and the day number is the proleptic Gregorian calendar's.
    """
    unit = {"U": np.uint32, "S": np.uint8}.get(text.dtype.kind)
    if unit is None or text.dtype.itemsize != 10 * np.dtype(unit).itemsize or text.size == 0:
        return None
    points = np.ascontiguousarray(text).view(unit).reshape(-1, 10)
    # A code unit below "0" wraps round past 9.
    digits = points[:, _DIGITS] - unit(ord("0"))
    if (
        (digits > 9).any()
        or (points[:, 4] != ord("-")).any()
        or (points[:, 7] != ord("-")).any()
        or (digits[:, 0] == 0).any()
    ):
        return None
    digits = digits.astype(np.int64)
    year = np.ascontiguousarray(digits[:, :4] @ np.array([1000, 100, 10, 1], dtype=np.int64))
    month = np.ascontiguousarray(digits[:, 4] * 10 + digits[:, 5])
    day = np.ascontiguousarray(digits[:, 6] * 10 + digits[:, 7])
    days = np.empty(year.size, dtype=np.int64)
    if not days_from_civil(year, month, day, days):
        return None
    return days.view("datetime64[D]")


def _date_column(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Dates and missing mask of UTF-8 bytes ``raw`` (``S``, shape ``(n,)``) when every
    cell is empty or a valid ``YYYY-MM-DD`` date: what :func:`_convert` makes of them
    without decoding them; None otherwise."""
    missing = raw == b""
    iso = _iso_dates(raw[~missing] if missing.any() else raw)
    if iso is None:
        return None
    values = np.full(raw.shape, np.datetime64("NaT"), dtype="datetime64[D]")
    values[~missing] = iso
    return values, missing


def table_from_strings(
    product: str,
    raw: dict[str, np.ndarray],
    source: str,
    offset: int = 0,
    columns: tuple[str, ...] | None = None,
) -> Table:
    """Type the string columns ``raw`` of one product table after its schema (only
    ``columns`` of it, when given)."""
    schema = {c.name: c for c in REGISTRY[product].all_columns()}
    if columns is not None:
        schema = {k: v for k, v in schema.items() if k in columns}
    cols: dict[str, np.ndarray] = {}
    missing: dict[str, np.ndarray] = {}
    n = len(next(iter(raw.values()))) if raw else 0
    for name, col in schema.items():
        if name not in raw:
            raw_col = np.full(n, "", dtype=str)
        else:
            raw_col = raw[name]
        cols[name], missing[name] = _convert(col, raw_col, source)
    return Table(product, cols, missing, source, offset)


def _check_columns(product: str, names: list[str], source: str) -> list[Problem]:
    schema = REGISTRY[product].all_columns()
    known = {c.name for c in schema}
    problems = [
        Problem(source, c.name, "required column is absent")
        for c in schema
        if c.required and c.name not in names
    ]
    problems += [
        Problem(source, n, f"unknown column; accepted: {sorted(known)}")
        for n in names
        if n not in known
    ]
    return problems


class Hdf5Source(PortfolioSource):
    """Product tables in one HDF5 file (``/portfolio/<product>/<column>``)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.description = str(self.path)
        problems: list[Problem] = []
        self._counts: dict[str, int] = {}
        self._columns: dict[str, list[str]] = {}
        with _hdf5_errors(str(self.path)), h5py.File(self.path, "r") as f:
            group = f.get("portfolio")
            if not isinstance(group, h5py.Group):
                raise JobError([Problem(str(self.path), "/portfolio", "group is absent")])
            for name in group:
                src = f"{self.path}:/portfolio/{name}"
                if name not in REGISTRY:
                    problems.append(
                        Problem(src, name, f"unknown product; accepted: {list(REGISTRY)}")
                    )
                    continue
                table = group[name]
                if not isinstance(table, h5py.Group):
                    problems.append(Problem(src, "", "is a dataset; expected a group of columns"))
                    continue
                cols = list(table)
                problems += _check_columns(name, cols, src)
                lengths = {}
                for c in cols:
                    why = _column_problem(table[c])
                    if why is None:
                        lengths[c] = table[c].shape[0]
                    else:
                        problems.append(Problem(src, c, why))
                problems += _length_problems(lengths, src)
                self._counts[name] = max(lengths.values(), default=0)
                self._columns[name] = list(lengths)
        if problems:
            raise JobError(problems)
        self._counts = {k: self._counts[k] for k in REGISTRY if k in self._counts}

    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def read(self, product, start=0, stop=None, columns=None) -> Table:
        src = f"{self.path}:/portfolio/{product}"
        schema = {c.name: c for c in REGISTRY[product].all_columns()}
        if columns is not None:
            schema = {k: v for k, v in schema.items() if k in columns}
        n_all = self._counts[product]
        stop = n_all if stop is None else min(stop, n_all)
        start = min(start, stop)
        raw: dict[str, np.ndarray] = {}
        typed: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        with _hdf5_errors(src), h5py.File(self.path, "r") as f:
            for name in self._columns[product]:
                if name not in schema:
                    continue
                data = _read_rows(f, f"portfolio/{product}/{name}", start, stop)
                if data.dtype.kind in "SO":
                    data = np.asarray(data, dtype="S")
                    dates = _date_column(data) if schema[name].kind == "date" else None
                    if dates is not None:
                        typed[name] = dates
                        continue
                    data = _decode(data, src, name, start)
                raw[name] = data
        cols, missing = {}, {}
        n = stop - start
        for name, col in schema.items():
            if name in typed:
                cols[name], missing[name] = typed[name]
                continue
            data = raw.get(name, np.full(n, "" if col.kind != "float" else np.nan))
            if col.kind == "float" and data.dtype.kind == "f":
                # HDF5 has no empty cell: a NaN float is a missing value.
                cols[name] = data.astype(np.float64, copy=False)
                missing[name] = np.isnan(cols[name])
            else:
                cols[name], missing[name] = _convert(col, data, src)
        return Table(product, cols, missing, src, start)


def _read_rows(f: h5py.File, path: str, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` of the 1-D dataset at ``path`` of ``f``.

    A fixed-size column is read through the low-level interface: opening a dataset by its
    path there costs a fraction of looking it up as a :class:`h5py.Dataset`, which a pass
    would otherwise pay for every column.
    """
    dataset = h5d.open(f.id, path.encode())
    if dataset.dtype.kind == "O":
        return h5py.Dataset(dataset)[start:stop]
    out = np.empty(stop - start, dtype=dataset.dtype)
    if out.size:
        space = dataset.get_space()
        space.select_hyperslab((start,), (out.size,))
        dataset.read(h5s.create_simple((out.size,)), space, out)
    return out


def _length_problems(lengths: dict[str, int], source: str) -> list[Problem]:
    """One problem per column whose length differs from ``trade_id``'s (or, without one,
    from the most common length)."""
    if len(set(lengths.values())) <= 1:
        return []
    ref = "trade_id" if "trade_id" in lengths else None
    n = lengths[ref] if ref else Counter(lengths.values()).most_common(1)[0][0]
    against = f"trade_id has {n:,}" if ref else f"most columns have {n:,}"
    return [
        Problem(source, c, f"has {k:,} rows, {against}: columns differ in length")
        for c, k in lengths.items()
        if k != n
    ]


class CsvSource(PortfolioSource):
    """Product tables as ``<product>.csv`` files in one folder.

    Every file is parsed when the source is made, so that a malformed one stops the job
    before any work, but only where each row starts is kept: the rows read are parsed again
    into columns and typed, so that each rank does so for its own rows only.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.description = str(self.folder)
        self._tables: dict[str, _CsvTable] = {}
        problems: list[Problem] = []
        if not self.folder.is_dir():
            raise JobError([Problem(str(self.folder), "", "is not a folder of CSV files")])
        files = sorted(self.folder.glob("*.csv"))
        if not files:
            raise JobError([Problem(str(self.folder), "", "holds no .csv file")])
        for path in files:
            product = path.stem
            if product not in REGISTRY:
                problems.append(
                    Problem(
                        str(path), "", f"unknown product {product!r}; accepted: {list(REGISTRY)}"
                    )
                )
                continue
            try:
                table = _read_csv(product, path)
            except JobError as exc:
                problems += exc.problems
                continue
            if table is not None:
                self._tables[product] = table
        if problems:
            raise JobError(problems)

    def counts(self) -> dict[str, int]:
        return {k: len(self._tables[k]) for k in REGISTRY if k in self._tables}

    def read(self, product, start=0, stop=None, columns=None) -> Table:
        table = self._tables[product]
        stop = len(table) if stop is None else min(stop, len(table))
        start = min(start, stop)
        # Every conversion is cell by cell: typing a slice gives the rows that typing the
        # whole table and slicing it would.
        return table_from_strings(
            product, table.cells(start, stop, columns), table.source, start, columns
        )


class _CsvTable:
    """A parsed CSV product table: its text and where each row starts in it, so that any
    rows are parsed again into columns without the rows before them.

    Parameters
    ----------
    text : str
        The file's text.
    header : list of str
        Column names (stripped), one per cell of a row.
    bounds : ndarray of int64, shape ``(n + 1,)``
        Row ``i`` (counted from 0 after the header) lies in ``text[bounds[i]:bounds[i + 1]]``,
        with any empty lines before it.
    source : str
        The file, for messages.
    """

    def __init__(self, text: str, header: list[str], bounds: np.ndarray, source: str) -> None:
        self.text = text
        self.header = header
        self.bounds = bounds
        self.source = source

    def __len__(self) -> int:
        return self.bounds.size - 1

    def cells(
        self, start: int, stop: int, names: tuple[str, ...] | None = None
    ) -> dict[str, np.ndarray]:
        """Rows ``start:stop`` as a ``str`` column per header name (only ``names``, when
        given), shape ``(stop - start,)`` each."""
        chunk = self.text[self.bounds[start] : self.bounds[stop]]
        keep = [j for j, h in enumerate(self.header) if names is None or h in names]
        found = _plain_cells(chunk, stop - start, len(self.header), keep)
        if found is not None:
            return {self.header[j]: c for j, c in zip(keep, found, strict=True)}
        with _no_cycle_collection():
            # A row starts where the parser ended the row before it: parsing from there
            # reads what parsing the whole file read.
            rows = [r for r in csv.reader(io.StringIO(chunk, newline=""), strict=True) if r]
            columns = list(zip(*rows, strict=True)) if rows else [()] * len(self.header)
            del rows
        return {self.header[j]: np.array(columns[j], dtype=str) for j in keep}


def _plain_cells(
    chunk: str, n_rows: int, n_columns: int, keep: list[int]
) -> list[np.ndarray] | None:
    """Columns ``keep`` of ``n_rows`` CSV rows of ``n_columns`` cells each (checked already)
    when ``chunk`` is plain ASCII: no quote, NUL, empty line or carriage return but before
    a newline, so that a comma or a line end ends every cell, as the CSV parser reads them;
    None otherwise.

    The cells are cut from the bytes of the whole chunk at once instead of as a Python
    string each.
    """
    data = np.frombuffer(chunk.encode("utf-8"), dtype=np.uint8)
    cr = data == ord("\r")
    if cr.any():
        # A line may end in CR LF, as the parser reads it; a CR elsewhere it reads apart.
        if cr[-1] or (data[1:][cr[:-1]] != ord("\n")).any():
            return None
        data = data[~cr]
    if data.size and data[-1] != ord("\n"):
        data = np.append(data, np.uint8(ord("\n")))
    if (
        data.size == 0
        or data.max() >= 0x80
        or np.isin(data, np.frombuffer(b'"\x00', dtype=np.uint8)).any()
        or data[0] == ord("\n")
    ):
        return None
    newline = data == ord("\n")
    if (newline[1:] & newline[:-1]).any():
        return None
    ends = np.flatnonzero(newline | (data == ord(",")))
    if ends.size != n_rows * n_columns:
        return None
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = (ends - starts).reshape(n_rows, n_columns)
    starts = starts.reshape(n_rows, n_columns)
    columns = []
    for j in keep:
        width = int(lengths[:, j].max()) if n_rows else 0
        if width == 0:
            columns.append(np.full(n_rows, "", dtype=str))
            continue
        offset = np.arange(width)
        inside = offset < lengths[:, j, None]
        grid = np.zeros((n_rows, width), dtype=np.uint8)
        grid[inside] = data[(starts[:, j, None] + offset)[inside]]
        columns.append(decode_ascii(grid.view(f"S{width}").ravel()))
    return columns


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Hold off Python's cycle collector: every parsed row is a list, and as they pile up
    each collection would walk all of them again, for none can be garbage."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read_csv(product: str, path: Path) -> _CsvTable | None:
    """One CSV product table, parsed and checked; None when it has no ``trade_id`` column
    (reported by :func:`_check_columns`).

    Raises
    ------
    JobError
        The file cannot be read, is not UTF-8 or not CSV, or its header or rows are malformed.
    """
    src = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise JobError([Problem(src, "", f"cannot read: {exc.strerror}")]) from exc
    text = decode_utf8(data, src)
    read = 0

    def lines() -> Iterator[str]:
        # The characters the parser has taken so far: where its next row starts.
        nonlocal read
        for line in io.StringIO(text, newline=""):
            read += len(line)
            yield line

    reader = csv.reader(lines(), strict=True)
    header: list[str] | None = None
    ends: list[int] = []
    ragged: list[tuple[int, int]] = []
    try:
        for row in reader:
            # An empty line is not a trade.
            if not row:
                continue
            if header is None:
                header = [h.strip() for h in row]
            elif len(row) != len(header):
                ragged.append((reader.line_num, len(row)))
            ends.append(read)
    except csv.Error as exc:
        raise JobError([Problem(src, f"line {reader.line_num}", f"not valid CSV: {exc}")]) from None
    if header is None:
        raise JobError([Problem(src, "", "is empty (no header row)")])
    problems = _check_columns(product, header, src)
    twice = sorted({h for h in header if header.count(h) > 1})
    problems += [Problem(src, h, "column appears more than once") for h in twice]
    if ragged:
        line, cells = ragged[0]
        also = f" (also lines {[x[0] for x in ragged[1:6]]})" if len(ragged) > 1 else ""
        problems.append(
            Problem(src, f"line {line}", f"has {cells} cells, the header {len(header)}{also}")
        )
    if problems:
        raise JobError(problems)
    if "trade_id" not in header:
        return None
    return _CsvTable(text, header, np.array(ends, dtype=np.int64), src)


class GeneratedSource(PortfolioSource):
    """A synthetic portfolio generated from a seed, only the rows read (the same rows on
    every rank that reads them; :func:`xiphpc.synth.generate.generate_rows`)."""

    #: Generated blocks kept per source: a pass reads a few consecutive blocks.
    KEEP_BLOCKS = 8

    def __init__(self, trades: int, seed: int, bad_fraction: float, valuation_date):
        from xiphpc.synth.generate import generate_market, product_counts

        self.description = f"generated(trades={trades}, seed={seed}, bad_fraction={bad_fraction})"
        self._args = {"trades": trades, "seed": seed, "bad_fraction": bad_fraction}
        self._market = generate_market(seed, valuation_date)
        self._counts = product_counts(trades)
        self._blocks: dict[tuple[str, int], dict[str, np.ndarray]] = {}

    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def _block(self, product: str, block: int) -> dict[str, np.ndarray]:
        from xiphpc.synth.generate import generate_block

        key = (product, block)
        if key not in self._blocks:
            if len(self._blocks) >= self.KEEP_BLOCKS:
                self._blocks.pop(next(iter(self._blocks)))
            self._blocks[key] = generate_block(product, block, market=self._market, **self._args)
        return self._blocks[key]

    def read(self, product, start=0, stop=None, columns=None) -> Table:
        from xiphpc.synth.generate import generate_rows

        stop = self._counts[product] if stop is None else stop
        raw = generate_rows(
            product,
            start,
            stop,
            market=self._market,
            block_source=lambda b: self._block(product, b),
            **self._args,
        )
        if columns is not None:
            raw = {k: v for k, v in raw.items() if k in columns}
        return table_from_strings(product, raw, f"generated:{product}", start)


class SelectedSource(PortfolioSource):
    """Only some product tables of another source."""

    def __init__(self, inner: PortfolioSource, products: list[str]):
        self.inner = inner
        self.products = set(products)
        self.description = f"{inner.description} [products: {', '.join(products)}]"

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in self.inner.counts().items() if k in self.products}

    def read(self, product, start=0, stop=None, columns=None) -> Table:
        return self.inner.read(product, start, stop, columns)


def open_portfolio(path: Path) -> PortfolioSource:
    """Open an HDF5 file or a folder of CSV files."""
    path = Path(path)
    if path.is_dir():
        return CsvSource(path)
    if not path.exists():
        raise JobError([Problem(str(path), "", "does not exist")])
    return Hdf5Source(path)
