"""Human-readable summaries of result files (``xiphpc show`` and the end of ``xiphpc run``)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from xiphpc.config.errors import JobError, Problem
from xiphpc.pricing.products import REGISTRY
from xiphpc.pricing.status import Status

__all__ = ["read_level", "summarize", "table_rows"]


def read_level(f: h5py.File, level: str) -> tuple[list[str], dict[str, np.ndarray]]:
    """Keys and columns of one aggregation level of an open result file."""
    g = f["aggregates"][level]
    keys = [k.decode() for k in g["key"][()]]
    return keys, {name: g[name][()] for name in g if name != "key"}


def _fmt(x: float) -> str:
    return f"{x:,.2f}" if abs(x) < 1e15 else f"{x:.6e}"


def _risk_lines(f: h5py.File, base: str, top: int) -> list[str]:
    lines: list[str] = []
    # The par table repeats the pillars of unquoted curves: list its quotes only.
    for group, title, prefixes in (
        ("sensitivities", "top risk factors", ("",)),
        ("par_sensitivities", "top par quotes", ("irpar:", "cspar:")),
    ):
        if f"{group}/total" not in f:
            continue
        g = f[f"{group}/total"]
        factor = [x.decode() for x in g["factor"][()]]
        shown = np.array([x.startswith(prefixes) for x in factor], dtype=bool)
        if not shown.any():
            continue
        value = np.where(shown, g["value"][()], 0.0)
        units = dict(
            zip(
                (x.decode() for x in f[f"{group}/factors/label"][()]),
                (x.decode() for x in f[f"{group}/factors/unit"][()]),
                strict=True,
            )
        )
        lines.append(f"{title} ({base}):")
        for i in np.argsort(-np.abs(value), kind="stable")[: min(2 * top, int(shown.sum()))]:
            lines.append(f"  {factor[i]:<24} {_fmt(value[i]):>20}  {units[factor[i]]}")
    if "scenarios/historical/total" in f:
        h = f["scenarios/historical"]
        n = h["dates"].shape[0]
        lines.append(
            f"historical simulation, {n} scenarios to {h['dates'][-1].decode()} ({base}): "
            f"VaR {h.attrs['var_confidence']:.1%}, ES {h.attrs['es_confidence']:.1%}"
        )
        if "held_factors" in h and h["held_factors"].shape[0]:
            held = [x.decode() for x in h["held_factors"][()]]
            lines.append(
                f"  {len(held)} factors held at today's level (no history), e.g. "
                f"{', '.join(held[:3])}"
            )
        for level in ("total", "desk"):
            if level not in h:
                continue
            g = h[level]
            for k, key in enumerate(g["key"][()]):
                lines.append(
                    f"  {level}:{key.decode():<20} VaR {_fmt(g['var'][k]):>18}  "
                    f"ES {_fmt(g['es'][k]):>18}  VaR date {g['var_date'][k].decode()}"
                )
    if "scenarios/stress/total" in f:
        names = [x.decode() for x in f["scenarios/stress/names"][()]]
        pnl = f["scenarios/stress/total/pnl"][0]
        lines.append(f"stress scenarios, total P&L ({base}):")
        for name, x in zip(names, pnl, strict=True):
            lines.append(f"  {name:<44} {_fmt(x):>20}")
    return lines


def _part_bounds(f: h5py.File) -> np.ndarray:
    """First trade of each part of a merged file (and the end), else ``[0, n]``; a merged
    file keeps each part's ``diagnostics/partNNN_ranks``, whose trades add up to the part."""
    n = int(f["trades/product"].shape[0])
    parts = sorted(k for k in f.get("diagnostics", {}) if k.endswith("_ranks") and k != "ranks")
    if "merged_from" not in f.attrs or not parts:
        return np.array([0, n])
    sizes = [int(f["diagnostics"][k]["trades"][()].sum()) for k in parts]
    return np.concatenate(([0], np.cumsum(sizes)))


def table_rows(f: h5py.File, idx: np.ndarray) -> list[tuple[str, int]]:
    """Product and row within its product table (counted from 1, as ``xiphpc validate``
    counts) of the trades at ``/trades`` indices ``idx``.

    Each run writes its product tables one after the other in registry order, so a trade's
    row is its distance from the first trade of its product in its part (found by bisection,
    reading a few cells of ``/trades/product``).
    """
    product = f["trades/product"]
    order = {name.encode(): k for k, name in enumerate(REGISTRY)}
    bounds = _part_bounds(f)
    out = []
    for i in np.asarray(idx, dtype=np.int64):
        part = int(np.searchsorted(bounds, i, side="right")) - 1
        lo, hi = int(bounds[part]), int(i)
        name = product[i]
        rank = order.get(name, -1)
        # First index in [lo, i] whose product comes no earlier than the trade's own.
        while lo < hi:
            mid = (lo + hi) // 2
            if order.get(product[mid], -1) < rank:
                lo = mid + 1
            else:
                hi = mid
        out.append((name.decode(), int(i) - lo + 1))
    return out


def summarize(path: str | Path, *, top: int = 5, failed: int = 10) -> str:
    """Totals, largest books, per-rank balance and failed trades of a result file.

    Raises
    ------
    JobError
        The file cannot be read, is not a result file or was not completely written.
    """
    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise JobError([Problem(str(path), "", f"cannot open as HDF5: {exc}")]) from exc
    try:
        with f:
            return _summarize(f, path, top, failed)
    except JobError:
        raise
    except (KeyError, RuntimeError, OSError, ValueError, TypeError) as exc:
        # A damaged file, or another HDF5 file without the groups of a result.
        raise JobError(
            [Problem(str(path), "", f"not a readable result file ({type(exc).__name__}: {exc})")]
        ) from exc


def _summarize(f: h5py.File, path: Path, top: int, failed: int) -> str:
    if not f.attrs.get("complete", False):
        raise JobError([Problem(str(path), "complete", "the file was not completely written")])
    a = f.attrs
    base = a["base_currency"]
    measures = a["measures"].split(",")
    lines = [
        f"{a['name']}: {int(a['n_trades']):,} trades, valuation date {a['valuation_date']}, "
        f"{int(a['n_ranks'])} rank(s), {int(a['n_partitions'])} partitions",
        f"  file {path}",
    ]
    keys, total = read_level(f, "total")
    n_ok, n_bad = int(total["n_trades"][0]), int(total["n_excluded"][0])
    lines.append(f"  priced {n_ok:,}, excluded {n_bad:,}")
    lines.append(f"totals ({base}):")
    for m in measures:
        lines.append(f"  {m:<6} {_fmt(float(total[m][0])):>24}")
    if "book" in f["aggregates"] and "pv" in measures:
        bkeys, books = read_level(f, "book")
        order = np.argsort(-np.abs(books["pv"]), kind="stable")[:top]
        lines.append(f"largest books by |pv| ({base}):")
        for i in order:
            lines.append(
                f"  {bkeys[i]:<24} pv {_fmt(books['pv'][i]):>20}  "
                f"trades {int(books['n_trades'][i]):,}"
            )
    diag = [f[k] for k in ("diagnostics/ranks",) if k in f]
    diag += [v for k, v in f.get("diagnostics", {}).items() if k.endswith("_ranks")]
    if diag:
        lines.append("per-rank balance (trades, seconds read/compute/reduce/write):")
    for d in diag:
        for j in range(d["rank"].shape[0]):
            lines.append(
                f"  rank {int(d['rank'][j]):>3}: {int(d['trades'][j]):>10,}  "
                f"{d['read_s'][j]:.3f} / {d['compute_s'][j]:.3f} / {d['reduce_s'][j]:.3f} / "
                f"{d['write_s'][j]:.3f}"
            )
    lines += _risk_lines(f, base, top)
    if "status" in f["trades"] and n_bad:
        status = f["trades/status"][()]
        codes, counts = np.unique(status[status != 0], return_counts=True)
        lines.append(
            "excluded trades by reason: "
            + ", ".join(
                f"{Status(int(c)).label} {int(k):,}" for c, k in zip(codes, counts, strict=True)
            )
        )
        idx = np.flatnonzero(status)[:failed]
        ids = f["trades/trade_id"][idx]
        why = f["trades/reason"][idx]
        where = table_rows(f, idx)
        for (product, row), t, r in zip(where, ids, why, strict=True):
            lines.append(f"  {t.decode():<14} {product} row {row:,}: {r.decode()}")
        if n_bad > failed:
            lines.append(f"  ... and {n_bad - failed:,} more (see /trades/status)")
    return "\n".join(lines)
