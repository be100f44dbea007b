"""Where each rank's per-trade rows go: rank 0 writes its own rows straight into the result
file (:class:`TradeRows`), every other rank appends them to a part file of its own
(:class:`RankPart`) that rank 0 copies into the result at the end.

No rank waits for another to write (h5py here is not built for parallel HDF5), and a rank
holds no trade rows beyond the pass it is pricing. Every rank also keeps, in its part file,
the rows of tables that are not one row per trade (a trade's non-zero sensitivities, the
reasons of the trades that failed): rank 0 gathers them at the end.

A part is an HDF5 file beside the result, named like the result's temporary files
(:func:`~xiphpc.output.target.temporary_path`), so that a run that dies leaves nothing a
later run does not remove. Layout::

    /blocks                  int64 (k, 2): global first row and row count of each block
    /<name>                  per-trade columns, blocks one after another along axis 0; text
                             as fixed-width UTF-8 bytes at the result's width
    /records/<table>/<name>  rows of a table of their own (not one per trade), appended; a
                             text column as <name>/bytes (uint8, every string's UTF-8
                             bytes, one after another) and <name>/length (int32 per row)
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
from h5py import h5s

from xiphpc.io.text import encode_utf8, utf8_lengths

__all__ = ["COPY_ROWS", "RankPart", "TradeRows", "fixed_width", "write_rows"]

#: Rows of a part copied into the result at a time.
COPY_ROWS = 1 << 16


def fixed_width(values: np.ndarray, width: int) -> np.ndarray:
    """UTF-8 bytes of ``values`` (shape ``(n,)``, str, object or bytes) as ``S<width>``.

    Raises
    ------
    RuntimeError
        A value is longer than ``width`` bytes (the width agreed for its column was not
        that of its longest value): it is not cut short silently.
    """
    raw = encode_utf8(np.asarray(values))
    if raw.dtype.itemsize > width and raw.size and int(utf8_lengths(raw).max()) > width:
        raise RuntimeError(f"a text value is longer than its column's {width} bytes")
    return raw if raw.dtype.itemsize == width else raw.astype(f"S{width}")


def write_rows(ds: h5py.Dataset, start: int, values: np.ndarray) -> None:
    """``ds[start : start + len(values)] = values``, through the low-level interface when
    ``values`` has the dataset's type: a pass writes a dozen columns, and the high-level
    selection costs more than a column's bytes."""
    if values.dtype != ds.dtype or not values.size:
        ds[start : start + values.shape[0]] = values
        return
    values = np.ascontiguousarray(values)
    space = ds.id.get_space()
    space.select_hyperslab((start,) + (0,) * (values.ndim - 1), values.shape)
    ds.id.write(h5s.create_simple(values.shape), space, values)


class TradeRows:
    """The per-trade datasets of the result file, written at global rows.

    Parameters
    ----------
    columns : dict of str to h5py.Dataset
        Result dataset of each column a block may hold, by column name; text datasets of a
        fixed width. ``"values"`` (shape ``(n, M)`` in a block) goes to ``measures``.
    measures : dict of str to h5py.Dataset
        Dataset of each measure, in the order of the columns of ``"values"``.
    pv_base : h5py.Dataset or None
        Written as ``pv * fx_to_base`` with every block that holds both.
    """

    def __init__(
        self,
        columns: dict[str, h5py.Dataset],
        measures: dict[str, h5py.Dataset],
        pv_base: h5py.Dataset | None,
    ) -> None:
        self.columns = columns
        self.measures = measures
        self.pv_base = pv_base
        self.widths = {k: ds.dtype.itemsize for k, ds in columns.items() if ds.dtype.kind == "S"}

    def write(self, start: int, block: dict[str, np.ndarray]) -> None:
        """Write ``block`` (column name to rows, all of one length) at global row ``start``."""
        for name, values in block.items():
            if name == "values":
                # One transposed copy makes every measure's column contiguous.
                by_measure = np.ascontiguousarray(values.T)
                for j, ds in enumerate(self.measures.values()):
                    write_rows(ds, start, by_measure[j])
                continue
            if name in self.widths:
                values = fixed_width(values, self.widths[name])
            write_rows(self.columns[name], start, values)
        if self.pv_base is not None and "values" in block and "pv" in self.measures:
            pv = block["values"][:, list(self.measures).index("pv")]
            write_rows(self.pv_base, start, pv * block["fx_to_base"])


class RankPart:
    """One rank's part file, open for appending.

    Parameters
    ----------
    path : Path
    columns : dict of str to (numpy dtype, tuple of int)
        Per-trade columns: dtype (``S<width>`` for text) and the shape of one row (``()``
        for a plain column).
    """

    def __init__(self, path: Path, columns: dict[str, tuple]) -> None:
        self.path = Path(path)
        # No chunk cache: a part is only appended to, and the caches of its open datasets
        # would hold tens of MB through the run.
        self.file = h5py.File(self.path, "w", rdcc_nbytes=0)
        self.widths = {k: np.dtype(d).itemsize for k, (d, _) in columns.items()}
        # Open datasets by name: looking one up in the file costs more than a small append.
        self.datasets: dict[str, h5py.Dataset] = {}
        self._growing("blocks", np.int64, (2,))
        for name, (dtype, row) in columns.items():
            self._growing(name, dtype, row)

    def _growing(self, name: str, dtype, row: tuple[int, ...]) -> None:
        dtype = np.dtype(dtype)
        per_row = max(1, int(np.prod(row, dtype=np.int64)) * dtype.itemsize)
        chunk_rows = max(1, (1 << 19) // per_row)
        self.datasets[name] = self.file.create_dataset(
            name, (0, *row), dtype, maxshape=(None, *row), chunks=(chunk_rows, *row)
        )

    def _append(self, name: str, values: np.ndarray) -> None:
        ds = self.datasets[name]
        n = ds.shape[0]
        ds.resize(n + values.shape[0], axis=0)
        write_rows(ds, n, values)

    def write(self, start: int, block: dict[str, np.ndarray]) -> None:
        """Add ``block`` (column name to rows, all of one length), trades from global row
        ``start`` on."""
        n = len(next(iter(block.values())))
        self._append("blocks", np.array([[start, n]], dtype=np.int64))
        for name, values in block.items():
            if self.datasets[name].dtype.kind == "S":
                values = fixed_width(values, self.widths[name])
            self._append(name, values)

    def append_records(self, table: str, columns: dict[str, np.ndarray]) -> None:
        """Add rows to ``table``, a table of this part with its own row count; text columns
        (str, object or bytes) are kept as their UTF-8 bytes."""
        for name, values in columns.items():
            key = f"records/{table}/{name}"
            if values.dtype.kind in "USO":
                raw = encode_utf8(values)
                length = utf8_lengths(raw)
                grid = raw.view(np.uint8).reshape(raw.size, raw.dtype.itemsize)
                inside = np.arange(grid.shape[1]) < length[:, None]
                self._record(f"{key}/bytes", grid[inside])
                self._record(f"{key}/length", length.astype(np.int32))
            else:
                self._record(key, values)

    def _record(self, key: str, values: np.ndarray) -> None:
        if key not in self.datasets:
            self._growing(key, values.dtype, values.shape[1:])
        self._append(key, values)

    def close(self) -> None:
        self.file.close()

    @staticmethod
    def records(path: Path, table: str) -> dict[str, np.ndarray]:
        """Every row of ``table`` in the part at ``path`` (empty dict if it has none); text
        columns as ``S<longest>``."""
        with h5py.File(path, "r") as f:
            group = f.get(f"records/{table}")
            if group is None:
                return {}
            out = {}
            for name, item in group.items():
                if isinstance(item, h5py.Group):
                    out[name] = _joined_text(item["bytes"][()], item["length"][()])
                else:
                    out[name] = item[()]
            return out

    @staticmethod
    def gathered(paths: list[str], table: str, dtypes: dict) -> dict[str, np.ndarray]:
        """Every row of ``table`` in the parts at ``paths``, part after part, as one array
        per column of ``dtypes`` (empty of that dtype when no part has a row)."""
        found = [r for r in (RankPart.records(Path(p), table) for p in paths) if r]
        return {
            k: np.concatenate([r[k] for r in found]) if found else np.zeros(0, dtype=dt)
            for k, dt in dtypes.items()
        }

    @staticmethod
    def copy_into(path: Path, rows: TradeRows) -> None:
        """Write every block of the part at ``path`` into the result through ``rows``."""
        with h5py.File(path, "r") as f:
            blocks = _merged(f["blocks"][()])
            if not blocks.size:
                return
            names = [k for k in f if k not in ("blocks", "records")]
            k = 0
            for start, n in blocks.tolist():
                # A stretch of rows is copied a slice at a time: rank 0 holds no more of a
                # part than a pass of its own.
                for a in range(0, n, COPY_ROWS):
                    m = min(COPY_ROWS, n - a)
                    rows.write(start + a, {name: f[name][k + a : k + a + m] for name in names})
                k += n


def _joined_text(data: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Strings of ``length[i]`` bytes each, one after another in ``data`` (uint8), as
    ``S<max(length)>``, shape ``(len(length),)``."""
    width = int(length.max()) if length.size else 0
    grid = np.zeros((length.size, max(width, 1)), dtype=np.uint8)
    grid[np.arange(grid.shape[1]) < length[:, None]] = data
    return grid.view(f"S{grid.shape[1]}").ravel()


def _merged(blocks: np.ndarray) -> np.ndarray:
    """``blocks`` (start, n) with each block that starts where the one before it ends joined
    to it: one write per stretch of consecutive rows."""
    out: list[list[int]] = []
    for start, n in blocks.tolist():
        if out and out[-1][0] + out[-1][1] == start:
            out[-1][1] += n
        else:
            out.append([start, n])
    return np.array(out, dtype=np.int64).reshape(-1, 2)
