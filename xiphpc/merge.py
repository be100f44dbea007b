"""Combine result files of disjoint trade sets (e.g. one per desk) into one."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from .errors import JobError, Problem
from .output import finalize, temporary_path

__all__ = ["merge_results"]

_SAME = ("valuation_date", "base_currency", "measures", "levels")


def merge_results(parts: list[Path], out: Path) -> Path:
    """Concatenate per-trade results and add aggregates, in the order of ``parts``.

    Raises
    ------
    JobError
        A part is unreadable or incomplete, the parts disagree on valuation date, base
        currency, measures or levels, or a trade id occurs in more than one part (its risk
        would be counted twice).
    """
    if not parts:
        raise JobError([Problem("", "PARTS", "no result file to merge")])
    files = []
    problems: list[Problem] = []
    for p in parts:
        try:
            f = h5py.File(p, "r")
        except OSError as exc:
            problems.append(Problem(str(p), "", f"cannot open as HDF5: {exc}"))
            continue
        if not f.attrs.get("complete", False):
            problems.append(Problem(str(p), "complete", "was not completely written"))
        elif "trade_id" not in f["trades"]:
            problems.append(Problem(str(p), "trades", "holds no per-trade results"))
        files.append(f)
    try:
        if problems:
            raise JobError(problems)
        first = files[0]
        for p, f in zip(parts[1:], files[1:], strict=True):
            for key in _SAME:
                if f.attrs[key] != first.attrs[key]:
                    problems.append(
                        Problem(
                            str(p),
                            key,
                            f"{f.attrs[key]!r} differs from {first.attrs[key]!r} in {parts[0]}",
                        )
                    )
        ids = np.concatenate([f["trades/trade_id"][()] for f in files])
        uniq, counts = np.unique(ids, return_counts=True)
        if (counts > 1).any():
            dup = [u.decode() for u in uniq[counts > 1][:5]]
            problems.append(
                Problem(
                    ", ".join(map(str, parts)),
                    "trade_id",
                    f"{int((counts > 1).sum())} trade ids occur in more than one part "
                    f"(e.g. {dup}): merging would count their risk twice",
                )
            )
        if problems:
            raise JobError(problems)
        tmp = temporary_path(out)
        with h5py.File(tmp, "w") as g:
            g.attrs["complete"] = False
            tg = g.create_group("trades")
            for name, ds in first["trades"].items():
                data = np.concatenate([f["trades"][name][()] for f in files])
                new = tg.create_dataset(name, data=data)
                new.attrs.update(dict(ds.attrs))
            ag = g.create_group("aggregates")
            for level in first["aggregates"]:
                keys = sorted({k for f in files for k in f["aggregates"][level]["key"][()]})
                index = {k: i for i, k in enumerate(keys)}
                lg = ag.create_group(level)
                lg.create_dataset("key", data=np.array(keys, dtype="S"))
                for name, ds in first["aggregates"][level].items():
                    if name == "key":
                        continue
                    acc = np.zeros(len(keys), dtype=ds.dtype)
                    for f in files:
                        rows = [index[k] for k in f["aggregates"][level]["key"][()]]
                        acc[rows] += f["aggregates"][level][name][()]
                    new = lg.create_dataset(name, data=acc)
                    new.attrs.update(dict(ds.attrs))
            dg = g.create_group("diagnostics")
            for i, f in enumerate(files):
                f.copy(f["diagnostics/ranks"], dg, name=f"part{i:03d}_ranks")
            g.attrs.update({k: v for k, v in first.attrs.items() if k != "complete"})
            g.attrs["n_trades"] = ids.size
            g.attrs["merged_from"] = [str(p) for p in parts]
            g.attrs["n_ranks"] = max(int(f.attrs["n_ranks"]) for f in files)
            g.attrs["n_partitions"] = sum(int(f.attrs["n_partitions"]) for f in files)
            g.attrs["complete"] = True
    finally:
        for f in files:
            f.close()
    finalize(tmp, out)
    return out
