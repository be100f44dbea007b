"""Combine result files of disjoint trade sets (e.g. one per desk) into one."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from xiphpc.config.errors import JobError, Problem
from xiphpc.risk.var import var_es

from .result_file import finalize, temporary_path
from .schema import (
    AGGREGATES,
    DIAGNOSTICS,
    FACTORS,
    HISTORICAL,
    PAR_SENSITIVITIES,
    PARTITION_DIAGNOSTICS,
    RANK_DIAGNOSTICS,
    SENSITIVITIES,
    STRESS,
    TRADES,
)

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
        elif "trade_id" not in f[TRADES]:
            problems.append(Problem(str(p), TRADES, "holds no per-trade results"))
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
        ids = np.concatenate([f[TRADES]["trade_id"][()] for f in files])
        # A repeated id within one part was flagged by its run; only ids shared between
        # parts would be counted twice.
        per_part = np.concatenate([np.unique(f[TRADES]["trade_id"][()]) for f in files])
        uniq, counts = np.unique(per_part, return_counts=True)
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
        problems += _risk_compatible(parts, files)
        if problems:
            raise JobError(problems)
        tmp = temporary_path(out)
        with h5py.File(tmp, "w") as g:
            g.attrs["complete"] = False
            tg = g.create_group(TRADES)
            for name, ds in first[TRADES].items():
                data = np.concatenate([f[TRADES][name][()] for f in files])
                new = tg.create_dataset(name, data=data)
                new.attrs.update(dict(ds.attrs))
            ag = g.create_group(AGGREGATES)
            for level in first[AGGREGATES]:
                keys = sorted({k for f in files for k in f[AGGREGATES][level]["key"][()]})
                index = {k: i for i, k in enumerate(keys)}
                lg = ag.create_group(level)
                lg.create_dataset("key", data=np.array(keys, dtype="S"))
                for name, ds in first[AGGREGATES][level].items():
                    if name == "key":
                        continue
                    acc = np.zeros(len(keys), dtype=ds.dtype)
                    for f in files:
                        rows = [index[k] for k in f[AGGREGATES][level]["key"][()]]
                        acc[rows] += f[AGGREGATES][level][name][()]
                    new = lg.create_dataset(name, data=acc)
                    new.attrs.update(dict(ds.attrs))
            _merge_risk(files, g)
            dg = g.create_group(DIAGNOSTICS)
            for i, f in enumerate(files):
                f.copy(f[RANK_DIAGNOSTICS], dg, name=f"part{i:03d}_ranks")
                if PARTITION_DIAGNOSTICS in f:
                    f.copy(f[PARTITION_DIAGNOSTICS], dg, name=f"part{i:03d}_partitions")
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


def _risk_compatible(parts: list[Path], files: list[h5py.File]) -> list[Problem]:
    """Parts must carry the same risk results on the same factors, dates and stresses."""
    problems = []
    first = files[0]
    checks = {
        SENSITIVITIES: f"{SENSITIVITIES}/{FACTORS}/label",
        PAR_SENSITIVITIES: f"{PAR_SENSITIVITIES}/{FACTORS}/label",
        HISTORICAL: f"{HISTORICAL}/dates",
        STRESS: f"{STRESS}/names",
    }
    for group, key in checks.items():
        for p, f in zip(parts[1:], files[1:], strict=True):
            if (group in f) != (group in first):
                problems.append(Problem(str(p), group, f"present in only some parts ({parts[0]})"))
            elif group in f and not np.array_equal(f[key][()], first[key][()]):
                problems.append(Problem(str(p), key, f"differs from {parts[0]}"))
    if HISTORICAL in first:
        for p, f in zip(parts[1:], files[1:], strict=True):
            for a in ("var_confidence", "es_confidence"):
                if f[HISTORICAL].attrs[a] != first[HISTORICAL].attrs[a]:
                    problems.append(Problem(str(p), f"{HISTORICAL}.{a}", "differs"))
    return problems


def _merge_tidy(files: list[h5py.File], g: h5py.File, name: str) -> None:
    """Sum the ``{node, factor, value}`` tables of group ``name`` by (node, factor)."""
    first = files[0]
    sg = g.create_group(name)
    sg.attrs.update(dict(first[name].attrs))
    first.copy(first[f"{name}/{FACTORS}"], sg, name=FACTORS)
    labels = list(first[f"{name}/{FACTORS}/label"][()])
    for level in first[name]:
        if level == FACTORS:
            continue
        acc: dict[tuple[bytes, int], float] = {}
        for f in files:
            h = f[name][level]
            for node, fac, v in zip(h["node"][()], h["factor"][()], h["value"][()], strict=True):
                key = (node, labels.index(fac))
                acc[key] = acc.get(key, 0.0) + v
        keys = sorted(acc)
        lg = sg.create_group(level)
        lg.attrs.update(dict(first[name][level].attrs))
        lg["node"] = np.array([k[0] for k in keys], dtype="S") if keys else np.zeros(0, "S1")
        lg["factor"] = (
            np.array([labels[k[1]] for k in keys], dtype="S") if keys else np.zeros(0, "S1")
        )
        lg["value"] = np.array([acc[k] for k in keys], dtype=np.float64)
        lg["value"].attrs.update(dict(first[name][level]["value"].attrs))


def _merge_risk(files: list[h5py.File], g: h5py.File) -> None:
    """Sum sensitivities and scenario P&L by node; recompute VaR and ES from the sums."""
    first = files[0]
    for name in (SENSITIVITIES, PAR_SENSITIVITIES):
        if name in first:
            _merge_tidy(files, g, name)
    for group in (HISTORICAL, STRESS):
        if group not in first:
            continue
        src = first[group]
        dst = g.require_group(group)
        dst.attrs.update(dict(src.attrs))
        for name, obj in src.items():
            if isinstance(obj, h5py.Dataset) and name != "trade_pnl":
                dst.create_dataset(name, data=obj[()])
        if all("trade_pnl" in f[group] for f in files):
            dst.create_dataset(
                "trade_pnl",
                data=np.concatenate([f[group]["trade_pnl"][()] for f in files]),
                compression="gzip",
            )
        for level, lgroup in src.items():
            if not isinstance(lgroup, h5py.Group):
                continue
            keys = sorted({k for f in files for k in f[group][level]["key"][()]})
            index = {k: i for i, k in enumerate(keys)}
            pnl = np.zeros((len(keys), lgroup["pnl"].shape[1]))
            for f in files:
                rows = [index[k] for k in f[group][level]["key"][()]]
                pnl[rows] += f[group][level]["pnl"][()]
            out = dst.create_group(level)
            out["key"] = np.array(keys, dtype="S")
            out["pnl"] = pnl
            out["pnl"].attrs.update(dict(lgroup["pnl"].attrs))
            if "var" in lgroup:
                dates = src["dates"][()]
                var, es, var_s, es_s = var_es(
                    pnl, src.attrs["var_confidence"], src.attrs["es_confidence"]
                )
                out["var"], out["es"] = var, es
                out["var_date"], out["es_dates"] = dates[var_s], dates[es_s]
