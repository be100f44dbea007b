"""Past fixings of rate indices, for coupons fixed before the valuation date.

A fixings file is CSV with the header ``index,date,value`` (one fixing a line) or JSON, a
list of ``{"index": ..., "date": ..., "value": ...}`` objects. Dates are ISO
(``YYYY-MM-DD``), values decimals (0.0431 for 4.31%), index names as the trades name them
(``USD-SOFR``, ``USD-LIBOR-3M``). A job names its file as ``[market] fixings``.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Fixings", "load_fixings", "parse_fixings"]


@dataclass(frozen=True, eq=False)
class Fixings:
    """Fixings by index name: sorted dates (datetime64[D]) and their values (float64).

    Compared and hashed by identity: schedules built on one set of fixings are remembered
    under it."""

    series: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    source: str = "<memory>"

    @classmethod
    def of(cls, rows: dict[str, dict], source: str = "<memory>") -> Fixings:
        """From ``{index: {date: value}}`` (dates as ISO text or dates)."""
        series = {}
        for name, by_date in rows.items():
            d = np.array([np.datetime64(str(k), "D") for k in by_date], dtype="datetime64[D]")
            v = np.array([float(x) for x in by_date.values()], dtype=np.float64)
            order = np.argsort(d)
            series[str(name)] = (d[order], v[order])
        return cls(series, source)

    def lookup(self, index: str, dates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fixings of ``index`` on ``dates`` (datetime64[D], shape ``(n,)``): the values
        (NaN where missing) and whether each was found (bool), both shape ``(n,)``."""
        dates = np.asarray(dates, dtype="datetime64[D]")
        got = self.series.get(str(index))
        if got is None or got[0].size == 0:
            return np.full(dates.shape, np.nan), np.zeros(dates.shape, dtype=bool)
        d, v = got
        at = np.minimum(np.searchsorted(d, dates), d.size - 1)
        found = d[at] == dates
        return np.where(found, v[at], np.nan), found


def _rows_of(path: Path, text: str) -> list[tuple[int, dict]]:
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not JSON ({e})") from None
        if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
            raise ValueError(f"{path}: expected a list of {{index, date, value}} objects")
        return [(i + 1, r) for i, r in enumerate(doc)]
    reader = csv.DictReader(text.splitlines())
    if [h.strip() for h in reader.fieldnames or []] != ["index", "date", "value"]:
        raise ValueError(f"{path}: the first line must be the header index,date,value")
    return [(i + 2, {k.strip(): v for k, v in r.items()}) for i, r in enumerate(reader)]


def parse_fixings(path: Path, text: str) -> Fixings:
    """Fixings from the text of a CSV or JSON fixings file (JSON when ``path`` ends in
    ``.json``).

    Raises
    ------
    ValueError
        For a malformed file, naming the line (CSV) or entry (JSON) and the field: a missing
        field, a bad date, a non-finite or non-numeric value, or one index and date given
        twice with different values.
    """
    rows: dict[str, dict[np.datetime64, float]] = {}
    what = "entry" if path.suffix.lower() == ".json" else "line"
    for number, row in _rows_of(path, text):
        where = f"{path}, {what} {number}"
        for key in ("index", "date", "value"):
            if row.get(key) in (None, ""):
                raise ValueError(f"{where}: field {key!r} missing")
        name = str(row["index"]).strip()
        try:
            day = np.datetime64(str(row["date"]).strip(), "D")
        except ValueError:
            raise ValueError(f"{where}, field 'date': not a date (YYYY-MM-DD)") from None
        try:
            value = float(row["value"])
        except (TypeError, ValueError):
            raise ValueError(f"{where}, field 'value': not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"{where}, field 'value': not finite")
        series = rows.setdefault(name, {})
        if day in series and series[day] != value:
            raise ValueError(f"{where}: {name} on {day} given twice with different values")
        series[day] = value
    return Fixings.of(rows, str(path))


def load_fixings(path: str | Path) -> Fixings:
    """:func:`parse_fixings` of a file.

    Raises
    ------
    ValueError
        For an unreadable or malformed file.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ValueError(f"{path}: cannot read the fixings file ({e.strerror})") from None
    return parse_fixings(path, text)
