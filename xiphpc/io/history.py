"""Market-data history and the one-day historical scenarios built from it.

File format (HDF5)::

    /dates    (N,)    ISO dates, increasing
    /factors  (F_h,)  factor labels (:mod:`xiphpc.market.factors`), e.g. "ir:USD:5Y", "eq:ACME"
    /levels   (N, F_h) float64: zero rates, FX rates to base, spots, futures prices, vols,
                       hazard rates on each date

Scenario ``k`` is the move from date ``k`` to date ``k + 1`` (N dates give N − 1 scenarios),
labelled with date ``k + 1``: an absolute change for rates, hazard rates and vols, a relative
change (``level[k + 1] / level[k] − 1``) for FX rates, spots and commodity futures prices
(:data:`xiphpc.market.factors.ABSOLUTE_KINDS`). It is applied to today's market. Levels must
be finite, and those of relatively moved factors above zero (:func:`load_history`).

A factor is found in a history by its label or by its alias, its label by pillar time: a
pillar labelled by its quoted tenor (``ir:USD:2Y``) is also read from a history that names it
in days (``ir:USD:731D``), as histories written before such pillars took their tenors do.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from xiphpc.config.errors import JobError, Problem
from xiphpc.market.data import Market
from xiphpc.market.factors import ABSOLUTE_KINDS, FactorSet, factor_levels, factor_set

__all__ = [
    "History",
    "generate_history",
    "historical_shifts",
    "missing_factors",
    "load_history",
    "write_history",
]


@dataclass(frozen=True)
class History:
    """Levels of risk factors on consecutive dates.

    Attributes
    ----------
    dates : ndarray of datetime64[D], shape ``(N,)``
    labels : list of str, length F_h
    levels : ndarray of float64, shape ``(N, F_h)``
    source : str
    """

    dates: np.ndarray
    labels: list[str]
    levels: np.ndarray
    source: str = "<memory>"


def load_history(path: str | Path) -> History:
    """Read a history file and check it.

    Every level must be finite, and a factor moved by ratios (FX rates, spots, futures
    prices: kinds not in :data:`~xiphpc.market.factors.ABSOLUTE_KINDS`) must be above zero on
    every date: a zero or negative level would make the scenario moves around it NaN or
    meaningless, and VaR would be taken over the scenarios that remain.

    Raises
    ------
    JobError
        Naming the file and dataset, and for a bad level the factor and date.
    """
    path = Path(path)
    src = str(path)
    problems: list[Problem] = []
    try:
        with h5py.File(path, "r") as f:
            data = {}
            for key, ndim, kinds in (
                ("dates", 1, "SO"),
                ("factors", 1, "SO"),
                ("levels", 2, "fiu"),
            ):
                obj = f.get(key)
                if obj is None:
                    problems.append(Problem(src, key, "dataset is absent"))
                elif not isinstance(obj, h5py.Dataset):
                    problems.append(Problem(src, key, "is a group; expected a dataset"))
                elif (
                    obj.ndim != ndim
                    or obj.dtype.kind not in kinds
                    or (obj.dtype.kind == "O" and h5py.check_string_dtype(obj.dtype) is None)
                ):
                    what = "strings" if kinds == "SO" else "numbers"
                    problems.append(
                        Problem(
                            src,
                            key,
                            f"has shape {obj.shape} and type {obj.dtype}; expected {ndim}-D {what}",
                        )
                    )
                else:
                    data[key] = obj[()]
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as exc:
        raise JobError(
            [Problem(src, "", f"cannot read as HDF5 (damaged, or not HDF5): {exc}")]
        ) from exc
    if problems:
        raise JobError(problems)
    dates, bad = _dates(data["dates"], src)
    labels, bad_labels = _labels(data["factors"], src)
    problems += bad + bad_labels
    levels = data["levels"].astype(np.float64)
    if problems:
        raise JobError(problems)
    if levels.shape != (dates.size, len(labels)):
        problems.append(
            Problem(
                src,
                "levels",
                f"shape {levels.shape} is not (dates, factors) = ({dates.size}, {len(labels)})",
            )
        )
    elif dates.size < 2:
        problems.append(Problem(src, "dates", "needs at least two dates"))
    elif np.any(np.diff(dates) <= np.timedelta64(0, "D")):
        k = int(np.flatnonzero(np.diff(dates) <= np.timedelta64(0, "D"))[0])
        problems.append(
            Problem(
                src,
                f"dates[{k + 1}]",
                f"{dates[k + 1]} does not follow {dates[k]}: dates must be strictly increasing",
            )
        )
    else:
        problems += _level_problems(dates, labels, levels, src)
    if problems:
        raise JobError(problems)
    return History(dates, labels, levels, src)


def _strings(raw: np.ndarray, src: str, key: str) -> tuple[list[str], list[Problem]]:
    out, problems = [], []
    for i, x in enumerate(raw):
        try:
            out.append(x.decode("utf-8") if isinstance(x, bytes) else str(x))
        except UnicodeDecodeError:
            problems.append(Problem(src, f"{key}[{i}]", f"not UTF-8 text: {bytes(x)!r}"))
            out.append("")
    return out, problems[:5]


def _dates(raw: np.ndarray, src: str) -> tuple[np.ndarray, list[Problem]]:
    """ISO dates (``YYYY-MM-DD`` exactly: ``np.datetime64`` would take "2026" for a date)."""
    text, problems = _strings(raw, src, "dates")
    days = np.zeros(len(text), dtype="datetime64[D]")
    for i, d in enumerate(text):
        try:
            if len(d) != 10:
                raise ValueError
            days[i] = np.datetime64(dt.date.fromisoformat(d), "D")
        except ValueError:
            if len(problems) < 5:
                problems.append(Problem(src, f"dates[{i}]", f"{d!r} is not a date (YYYY-MM-DD)"))
    return days, problems


def _labels(raw: np.ndarray, src: str) -> tuple[list[str], list[Problem]]:
    labels, problems = _strings(raw, src, "factors")
    twice = sorted({lb for lb, k in Counter(labels).items() if k > 1})
    if twice:
        problems.append(Problem(src, "factors", f"listed more than once: {twice[:5]}"))
    return labels, problems


def _level_problems(
    dates: np.ndarray, labels: list[str], levels: np.ndarray, src: str, limit: int = 5
) -> list[Problem]:
    """A problem per bad level (at most ``limit``, then a count): non-finite, or not above
    zero for a factor moved by ratios."""
    relative = np.array([lb.split(":", 1)[0] not in ABSOLUTE_KINDS for lb in labels], dtype=bool)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(levels) | (relative[None, :] & (levels <= 0.0))
    found = np.argwhere(bad)
    problems = []
    for k, j in found[:limit]:
        x = float(levels[k, j])
        why = (
            "is not finite"
            if not np.isfinite(x)
            else "must be > 0: the factor moves by ratios (FX rate, spot, futures price)"
        )
        problems.append(Problem(src, "levels", f"{labels[j]} on {dates[k]}: {x!r} {why}"))
    if len(found) > limit:
        problems.append(Problem(src, "levels", f"... and {len(found) - limit:,} more bad levels"))
    return problems


def write_history(history: History, path: str | Path) -> None:
    """Write ``history`` in the format :func:`load_history` reads."""
    with h5py.File(path, "w") as f:
        f["dates"] = np.char.encode(np.datetime_as_string(history.dates, unit="D"))
        f["factors"] = np.char.encode(np.array(history.labels, dtype=str), "utf-8")
        ds = f.create_dataset("levels", data=history.levels)
        ds.attrs["description"] = "factor levels: zero rates, FX to base, spots, vols"
        f.attrs["description"] = "market-data history for historical simulation"


def missing_factors(history: History, factors: FactorSet) -> list[str]:
    """Labels of the factors of ``factors`` that ``history`` has no levels for, by label or
    by alias (:attr:`~xiphpc.market.factors.FactorSet.aliases`: a history written when a
    quoted pillar was labelled in days)."""
    col = factors.columns(history.labels)
    return [lb for lb, j in zip(factors.labels, col, strict=True) if j < 0]


def historical_shifts(
    history: History, factors: FactorSet, source: str = "", hold_missing: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """One-day shifts of every factor of ``factors``.

    Parameters
    ----------
    hold_missing : bool
        Hold the factors the history lacks at today's level (zero shift in every scenario)
        instead of failing; :func:`missing_factors` lists them.

    Returns
    -------
    shifts : ndarray of float64, shape ``(N - 1, F)``
    dates : ndarray of datetime64[D], shape ``(N - 1,)``
        End date of each one-day move.

    Raises
    ------
    JobError
        A factor of the market is absent from the history (unless ``hold_missing``).
    """
    col = factors.columns(history.labels)
    absent = missing_factors(history, factors)
    if absent and not hold_missing:
        raise JobError(
            [
                Problem(
                    source or history.source,
                    "factors",
                    f"{len(absent)} risk factors of the market have no history, e.g. {absent[:5]}"
                    ' (risk.historical.missing_factors = "hold" holds them at today\'s level)',
                )
            ]
        )
    present = col >= 0
    lv = history.levels[:, np.maximum(col, 0)]
    absolute = factors.absolute
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = lv[1:] / lv[:-1] - 1.0
    shifts = np.where(absolute, lv[1:] - lv[:-1], rel)
    shifts[:, ~present] = 0.0
    return np.ascontiguousarray(shifts), history.dates[1:]


def _business_days_back(end: np.datetime64, n: int) -> np.ndarray:
    days = []
    d = end
    while len(days) < n:
        if np.is_busday(d):
            days.append(d)
        d = d - np.timedelta64(1, "D")
    return np.array(days[::-1], dtype="datetime64[D]")


def _group_moves(
    rng, factors: FactorSet, mask: np.ndarray, market_move: np.ndarray, on_market, on_group
) -> np.ndarray:
    """Standardized fat-tailed moves (shape ``(n, mask.sum())``) of the factors ``mask``
    selects: a loading ``on_market`` on the common move, ``on_group`` on a move shared by
    the pillars of one curve or grid (same kind and name), and their own draw; nothing is
    drawn when ``mask`` selects nothing."""
    n = market_move.shape[0]
    if not mask.any():
        return np.zeros((n, 0))
    t4 = np.sqrt(0.5)  # a t(4) variable has variance 2
    kind = factors.kind[mask]
    own = rng.standard_t(4, size=(n, kind.size)) * t4
    group = np.unique(np.char.add(np.char.add(kind, ":"), factors.name[mask]), return_inverse=True)[
        1
    ].reshape(-1)
    group_move = rng.standard_t(4, size=(n, group.max() + 1)) * t4
    return (
        on_market * market_move
        + on_group * group_move[:, group]
        + np.sqrt(1.0 - on_market**2 - on_group**2) * own
    )


def generate_history(market: Market, days: int, seed: int = 0) -> History:
    """A synthetic history of ``days`` business days ending on the valuation date.

    Daily moves have fat tails (Student t, 4 degrees of freedom) and a common equity factor
    that vols move against; the pillars of one commodity's futures curve, of its vol term
    structure, and the nodes of one currency's rate vol grid also share a factor of their
    own, so that a curve or grid mostly moves as a whole. The last date's levels are today's
    market.
    """
    factors = factor_set(market)
    rng = np.random.default_rng([seed, 0x68697374])
    f = len(factors)
    n = days - 1
    scale = {
        "ir": 0.0004,
        "fx": 0.006,
        "eq": 0.013,
        "eqvol": 0.006,
        "fxvol": 0.004,
        "cs": 0.0002,
        "cmd": 0.018,
        "cmdvol": 0.006,
        "irvol": 0.00015,
        "irlvol": 0.006,
    }
    sd = np.array([scale[k] for k in factors.kind])
    t4 = np.sqrt(0.5)  # a t(4) variable has variance 2
    # Commodity factors, then rate vols, draw after the others, so that a market's other
    # factors get the same history with or without them.
    is_cmd = np.isin(factors.kind, ("cmd", "cmdvol"))
    is_rv = np.isin(factors.kind, ("irvol", "irlvol"))
    rest = ~is_cmd & ~is_rv
    market_move = rng.standard_t(4, size=(n, 1)) * t4
    idio = rng.standard_t(4, size=(n, int(rest.sum()))) * t4
    loading = np.select(
        [factors.kind == "eq", np.isin(factors.kind, ("eqvol", "fxvol"))], [0.7, -0.5], 0.0
    )[rest]
    z = np.empty((n, f))
    z[:, rest] = loading * market_move + np.sqrt(1.0 - loading**2) * idio
    # Futures mildly with equities, commodity vols and rate vols against them; each curve or
    # grid mostly by its own move.
    z[:, is_cmd] = _group_moves(
        rng,
        factors,
        is_cmd,
        market_move,
        np.where(factors.kind[is_cmd] == "cmd", 0.3, -0.3),
        np.where(factors.kind[is_cmd] == "cmd", 0.9, 0.8),
    )
    z[:, is_rv] = _group_moves(rng, factors, is_rv, market_move, -0.2, 0.85)
    moves = z * sd
    today = factor_levels(market, factors)
    levels = np.empty((days, f))
    levels[-1] = today
    absolute = factors.absolute
    is_vol = np.isin(factors.kind, ("eqvol", "fxvol", "cmdvol", "irlvol"))
    is_nvol = factors.kind == "irvol"
    for k in range(n - 1, -1, -1):
        nxt = levels[k + 1]
        prev = np.where(absolute, nxt - moves[k], nxt / (1.0 + moves[k]))
        # Keep vols and hazard rates positive going back in time.
        prev = np.where(factors.kind == "cs", np.maximum(prev, 0.0), prev)
        prev = np.where(is_nvol, np.maximum(prev, 1e-4), prev)
        levels[k] = np.where(is_vol, np.maximum(prev, 0.01), prev)
    dates = _business_days_back(np.datetime64(market.valuation_date, "D"), days)
    return History(dates, list(factors.labels), levels, f"generated(days={days}, seed={seed})")
