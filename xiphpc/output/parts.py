"""Per-rank part files: each rank streams its trades' rows to a file of its own as its
partitions finish, and rank 0 joins the parts into the one result file at the end.

No rank waits for another to write (h5py here is not built for parallel HDF5), and a rank
holds no trade rows beyond the pass it is pricing. A part is an HDF5 file beside the result,
named like the result's temporary files (:func:`~xiphpc.output.target.temporary_path`), so
that a run that dies leaves nothing a later run does not remove. Layout::

    /blocks            int64 (k, 2): global first row and row count of each block appended
    /<name>            numeric columns, blocks one after another along axis 0
    /text/<name>/bytes uint8: each block's strings as fixed-width rows of the UTF-8 bytes
                       of its longest string (zero bytes after each string's end), one
                       block after another
    /text/<name>/width int32: bytes of each row of each block (one per row of /blocks)
    /records/<table>/<name>  rows of a table of their own (not one per trade), appended

Text goes in at the width of each block because a fixed-width column would need the widest
string of the whole run before the first row is written. A block's rows are the result's
fixed-width strings cut short, so joining copies them as bytes.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from xiphpc.output.result_file import write_strings

__all__ = ["RankPart", "text_grid"]


def text_grid(values: np.ndarray) -> np.ndarray:
    """UTF-8 bytes of ``values`` (shape ``(n,)``, str or object), one row per string, zero
    bytes after its end.

    Returns
    -------
    ndarray of uint8, shape ``(n, w)``
        ``w``: bytes of the longest string (0 when all are empty).
    """
    raw = np.ascontiguousarray(write_strings(np.asarray(values)))
    grid = raw.view(np.uint8).reshape(raw.size, raw.dtype.itemsize)
    # A fixed-width string ends before its trailing zero bytes.
    return grid[:, : int(np.char.str_len(raw).max()) if raw.size else 0]


class RankPart:
    """One rank's part file, open for appending.

    Parameters
    ----------
    path : Path
    numeric : dict of str to (numpy dtype, tuple of int)
        Numeric columns: dtype and the shape of one row (``()`` for a plain column).
    text : list of str
        Text columns.
    """

    def __init__(self, path: Path, numeric: dict[str, tuple], text: list[str]) -> None:
        self.path = Path(path)
        # No chunk cache: a part is only appended to, and the caches of its open datasets
        # would hold tens of MB through the run.
        self.file = h5py.File(self.path, "w", rdcc_nbytes=0)
        self.widths = dict.fromkeys(text, 1)
        # Open datasets by name: looking one up in the file costs more than a small append.
        self.datasets: dict[str, h5py.Dataset] = {}
        self.datasets["blocks"] = self.file.create_dataset(
            "blocks", (0, 2), np.int64, maxshape=(None, 2), chunks=(256, 2)
        )
        for name, (dtype, row) in numeric.items():
            self._growing(name, dtype, row)
        for name in text:
            self._growing(f"text/{name}/bytes", np.uint8, ())
            self._growing(f"text/{name}/width", np.int32, ())

    def _growing(self, name: str, dtype, row: tuple[int, ...]) -> None:
        chunk_rows = max(1, (1 << 16) // max(1, int(np.prod(row, dtype=np.int64))))
        self.datasets[name] = self.file.create_dataset(
            name, (0, *row), dtype, maxshape=(None, *row), chunks=(chunk_rows, *row)
        )

    def _append(self, name: str, values: np.ndarray) -> None:
        ds = self.datasets[name]
        n = ds.shape[0]
        ds.resize(n + values.shape[0], axis=0)
        ds[n:] = values

    def append(
        self, start: int, n: int, numeric: dict[str, np.ndarray], text: dict[str, np.ndarray]
    ) -> None:
        """Add a block of ``n`` consecutive trades whose first global row is ``start``."""
        self._append("blocks", np.array([[start, n]], dtype=np.int64))
        for name, values in numeric.items():
            self._append(name, values)
        for name, values in text.items():
            grid = text_grid(values)
            self._append(f"text/{name}/bytes", np.ascontiguousarray(grid).ravel())
            self._append(f"text/{name}/width", np.array([grid.shape[1]], dtype=np.int32))
            self.widths[name] = max(self.widths[name], grid.shape[1])

    def append_records(self, table: str, columns: dict[str, np.ndarray]) -> None:
        """Add rows to ``table``, a table of this part with its own row count."""
        for name, values in columns.items():
            key = f"records/{table}/{name}"
            if key not in self.datasets:
                self._growing(key, values.dtype, values.shape[1:])
            self._append(key, values)

    def close(self) -> None:
        self.file.close()

    @staticmethod
    def records(path: Path, table: str) -> dict[str, np.ndarray]:
        """Every row of ``table`` in the part at ``path`` (empty dict if it has none)."""
        with h5py.File(path, "r") as f:
            group = f.get(f"records/{table}")
            return {} if group is None else {k: group[k][()] for k in group}

    @staticmethod
    def copy_into(path: Path, out: dict[str, h5py.Dataset], widths: dict[str, int]) -> None:
        """Write every block of the part at ``path`` into the result datasets ``out`` (by
        column name) at the blocks' global rows, text at the agreed ``widths``."""
        with h5py.File(path, "r") as f:
            appended = f["blocks"][()]
            blocks = _merged(appended)
            offsets = np.concatenate(([0], np.cumsum(blocks[:, 1])))
            for name, ds in out.items():
                if name in widths:
                    text = f[f"text/{name}"]
                    values = _fixed_width(
                        text["bytes"][()], appended[:, 1], text["width"][()], widths[name]
                    )
                else:
                    values = f[name][()]
                for (start, n), k in zip(blocks, offsets[:-1], strict=True):
                    ds[start : start + n] = values[k : k + n]


def _fixed_width(data: np.ndarray, rows: np.ndarray, width: np.ndarray, out_width: int):
    """The strings of a part's text column as ``S<out_width>``, shape ``(sum(rows),)``.

    Parameters
    ----------
    data : ndarray of uint8
        The column's bytes: block ``b`` is ``rows[b]`` rows of ``width[b]`` bytes.
    rows, width : ndarray of int, shape ``(k,)`` each
        Rows and bytes per row of each block; ``width <= out_width``.
    """
    out = np.zeros((int(rows.sum()), out_width), dtype=np.uint8)
    r = b = 0
    for n, w in zip(rows.tolist(), width.tolist(), strict=True):
        # Each row's bytes land at the start of the wider row; the rest stays zero padding.
        out[r : r + n, :w] = data[b : b + n * w].reshape(n, w)
        r, b = r + n, b + n * w
    return out.view(f"S{out_width}").ravel()


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
