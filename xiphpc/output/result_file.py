"""The HDF5 result file: per-trade results, aggregates, diagnostics and metadata.

Layout (every dataset has ``unit`` and ``description`` attributes)::

    /trades/<column>              one row per trade, in input order (product tables in
                                  registry order, rows in file order)
    /aggregates/<level>/key       group names of the level ("total" has one group, "all")
    /aggregates/<level>/<measure> base-currency sums over priced trades
    /aggregates/<level>/n_trades, n_excluded
    /partitions/{start,stop,cost,rank}   rank: the rank that priced the partition
    /diagnostics/ranks/{rank,trades,partitions,peak_memory_b,read_s,compute_s,reduce_s,
                        write_s}
    /diagnostics/partitions/{rank,partition,start_s,end_s}   one row per partition
    attrs: job_text, job_file, name, valuation_date, base_currency, versions, n_ranks,
           n_partitions, started, finished, status_legend, complete

The file is written under a temporary name next to the target and renamed into place when
complete, so a crash never leaves a file at the target path; readers should still check the
``complete`` attribute. The temporary name, the lock and the clean-up after failures are those
of :mod:`xiphpc.output.target`.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from .target import finalize, temporary_path

__all__ = [
    "TRADE_COLUMNS",
    "create_result",
    "create_trade_columns",
    "finalize",
    "temporary_path",
]

#: Per-trade columns other than measures: (name, unit, description).
TRADE_COLUMNS = (
    ("product", "", "product table the trade came from"),
    ("trade_id", "", "trade identifier"),
    ("desk", "", "trading desk"),
    ("book", "", "book"),
    ("counterparty", "", "counterparty"),
    ("currency", "ISO 4217", "trade currency of pv and greeks"),
    ("underlying", "", "underlying risk factor (empty where the product has none)"),
    ("quantity", "as in the portfolio", "signed trade size"),
    ("status", "", "0 priced; otherwise why the trade was excluded (see status_legend)"),
    ("reason", "", "field and value that made the trade invalid; empty when priced"),
    ("fx_to_base", "base currency per trade currency", "FX rate used for the aggregates"),
)


def create_result(path: Path, n_trades: int, columns: dict[str, tuple], write_trades: bool):
    """Create the file with every per-trade dataset of ``columns`` at its global shape.

    Parameters
    ----------
    columns : dict
        ``name -> (dtype, unit, description)``, as for :func:`create_trade_columns`.
    """
    with h5py.File(path, "w") as f:
        f.attrs["complete"] = False
        g = f.create_group("trades")
        if not write_trades:
            g.attrs["omitted"] = "per-trade results were not requested ([output] trades)"
            return
        create_trade_columns(g, n_trades, columns)


def create_trade_columns(group: h5py.Group, n_trades: int, columns: dict[str, tuple]) -> None:
    """Create per-trade datasets of shape ``(n_trades,)`` in ``group``.

    Parameters
    ----------
    columns : dict
        ``name -> (dtype, unit, description)``; a dtype ``("S", width)`` makes a fixed-width
        UTF-8 string dataset.
    """
    for name, (dtype, unit, desc) in columns.items():
        if isinstance(dtype, tuple):
            # Fixed-width bytes holding UTF-8 text; HDF5 will not convert NumPy bytes
            # into a UTF-8-tagged type.
            dt = np.dtype(f"S{dtype[1]}")
        else:
            dt = np.dtype(dtype)
        ds = group.create_dataset(name, shape=(n_trades,), dtype=dt)
        ds.attrs["unit"] = unit
        if isinstance(dtype, tuple):
            ds.attrs["encoding"] = "utf-8"
        ds.attrs["description"] = desc
