"""Market-data history and the one-day historical scenarios built from it.

File format (HDF5)::

    /dates    (N,)    ISO dates, increasing
    /factors  (F_h,)  factor labels (:mod:`xiphpc.market.factors`), e.g. "ir:USD:5Y", "eq:ACME"
    /levels   (N, F_h) float64: zero rates, FX rates to base, spots, futures prices, vols,
                       hazard rates on each date

Scenario ``k`` is the move from date ``k`` to date ``k + 1`` (N dates give N − 1 scenarios),
labelled with date ``k + 1``: an absolute change for rates, hazard rates and vols, a relative
change (``level[k + 1] / level[k] − 1``) for FX rates, spots and commodity futures prices
(:data:`xiphpc.market.factors.ABSOLUTE_KINDS`). It is applied to today's market.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from xiphpc.config.errors import JobError, Problem
from xiphpc.market.data import Market
from xiphpc.market.factors import FactorSet, factor_levels, factor_set

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
    """Read a history file; raises :class:`JobError` naming the file and dataset."""
    path = Path(path)
    src = str(path)
    try:
        with h5py.File(path, "r") as f:
            missing = [k for k in ("dates", "factors", "levels") if k not in f]
            if missing:
                raise JobError([Problem(src, k, "dataset is absent") for k in missing])
            dates = np.array([d.decode() for d in f["dates"][()]], dtype="datetime64[D]")
            labels = [x.decode() for x in f["factors"][()]]
            levels = f["levels"][()].astype(np.float64)
    except OSError as exc:
        raise JobError([Problem(src, "", f"cannot read as HDF5: {exc}")]) from exc
    problems = []
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
        problems.append(Problem(src, "dates", "must be strictly increasing"))
    elif not np.isfinite(levels).all():
        bad = sorted({labels[j] for j in np.argwhere(~np.isfinite(levels))[:, 1]})[:5]
        problems.append(Problem(src, "levels", f"non-finite levels for {bad}"))
    if problems:
        raise JobError(problems)
    return History(dates, labels, levels, src)


def write_history(history: History, path: str | Path) -> None:
    """Write ``history`` in the format :func:`load_history` reads."""
    with h5py.File(path, "w") as f:
        f["dates"] = np.char.encode(np.datetime_as_string(history.dates, unit="D"))
        f["factors"] = np.char.encode(np.array(history.labels, dtype=str), "utf-8")
        ds = f.create_dataset("levels", data=history.levels)
        ds.attrs["description"] = "factor levels: zero rates, FX to base, spots, vols"
        f.attrs["description"] = "market-data history for historical simulation"


def missing_factors(history: History, factors: FactorSet) -> list[str]:
    """Labels of the factors of ``factors`` that ``history`` has no levels for."""
    have = set(history.labels)
    return [lb for lb in factors.labels if lb not in have]


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
    col = {lb: j for j, lb in enumerate(history.labels)}
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
    present = np.array([lb in col for lb in factors.labels], dtype=bool)
    lv = history.levels[:, [col.get(lb, 0) for lb in factors.labels]]
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
