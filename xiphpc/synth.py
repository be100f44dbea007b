"""Synthetic portfolios and market data, consistent with each other, from a seed.

The universe (currencies, equities, FX pairs) is fixed so that any generated portfolio is
covered by any generated market; the seed moves the market levels and the trades.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import h5py
import numpy as np

from .market import Equity, Market, TermStructure, ZeroCurve
from .portfolio import table_from_strings
from .products import REGISTRY, Table

__all__ = [
    "DEFAULT_VALUATION_DATE",
    "generate_market",
    "generate_portfolio",
    "write_portfolio_csv",
    "write_portfolio_hdf5",
]

DEFAULT_VALUATION_DATE = dt.date(2026, 11, 24)

#: Currency -> (value in USD, short rate, long rate); JPY and CHF start below zero.
_CURRENCIES = {
    "USD": (1.0, 0.043, 0.041),
    "EUR": (1.085, 0.021, 0.027),
    "GBP": (1.27, 0.045, 0.042),
    "JPY": (0.0067, -0.001, 0.015),
    "CHF": (1.13, -0.0025, 0.009),
}
_EQUITIES = {
    # name: (currency, spot, dividend yield, base vol)
    "ACME": ("USD", 182.0, 0.006, 0.28),
    "GLOBEX": ("USD", 97.5, 0.018, 0.24),
    "INITECH": ("USD", 41.2, 0.0, 0.41),
    "UMBRELLA": ("USD", 265.0, 0.011, 0.22),
    "STARK": ("USD", 512.0, 0.004, 0.31),
    "WAYNE": ("USD", 133.0, 0.021, 0.19),
    "HOOLI": ("USD", 1420.0, 0.0, 0.35),
    "SOYLENT": ("USD", 12.4, 0.035, 0.47),
    "AURORA": ("EUR", 64.0, 0.031, 0.21),
    "BRIOCHE": ("EUR", 118.0, 0.024, 0.18),
    "CASSIS": ("EUR", 22.7, 0.042, 0.26),
    "DANUBE": ("EUR", 305.0, 0.015, 0.23),
    "THAMES": ("GBP", 8.9, 0.047, 0.2),
    "MERSEY": ("GBP", 31.0, 0.029, 0.25),
    "FUJI": ("JPY", 3150.0, 0.019, 0.27),
    "SAKURA": ("JPY", 912.0, 0.025, 0.24),
    "MATTER": ("CHF", 88.0, 0.028, 0.17),
    "ALPEN": ("CHF", 412.0, 0.022, 0.16),
}
_PAIRS = {
    "EURUSD": 0.075,
    "GBPUSD": 0.085,
    "USDJPY": 0.1,
    "USDCHF": 0.08,
    "EURGBP": 0.065,
    "EURJPY": 0.105,
}
_TENORS = np.array([1 / 12, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 15.0, 20.0, 30.0])
_VOL_EXPIRIES = np.array([1 / 12, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0])

#: Product mix of a generated portfolio (fractions of the trade count).
PRODUCT_MIX = {"equity_option": 0.45, "fx_option": 0.25, "equity_forward": 0.15, "fx_forward": 0.15}
_DESKS = {
    "equity_option": ("EQ-VOL-US", "EQ-VOL-EU", "EQ-VOL-ASIA"),
    "fx_option": ("FX-OPTIONS",),
    "equity_forward": ("EQ-DELTA1",),
    "fx_forward": ("FX-SPOT-FWD",),
}


def generate_market(seed: int = 0, valuation_date: dt.date = DEFAULT_VALUATION_DATE) -> Market:
    """A market covering every currency, equity and FX pair of generated portfolios."""
    rng = np.random.default_rng([seed, 0x6D6B74])
    fx, curves = {}, {}
    for ccy, (level, short, long) in _CURRENCIES.items():
        fx[ccy] = 1.0 if ccy == "USD" else round(level * float(np.exp(0.03 * rng.normal())), 6)
        shape = short + (long - short) * (1.0 - np.exp(-_TENORS / 4.0))
        noise = 0.0005 * rng.normal(size=_TENORS.size)
        curves[ccy] = ZeroCurve(_TENORS.copy(), np.round(shape + noise, 6))
    equities = {}
    for name, (ccy, spot, div, vol) in _EQUITIES.items():
        s = round(spot * float(np.exp(0.1 * rng.normal())), 4)
        # Short-dated vols above long-dated, as is typical for equity.
        term = vol * (1.0 + 0.15 * np.exp(-_VOL_EXPIRIES)) * float(np.exp(0.05 * rng.normal()))
        equities[name] = Equity(ccy, s, div, TermStructure(_VOL_EXPIRIES.copy(), np.round(term, 5)))
    fx_vols = {
        pair: TermStructure(
            _VOL_EXPIRIES.copy(), np.round(v * (1.0 + 0.1 * np.log1p(_VOL_EXPIRIES)), 5)
        )
        for pair, v in _PAIRS.items()
    }
    return Market(valuation_date, "USD", fx, curves, equities, fx_vols, f"generated(seed={seed})")


def _books(rng: np.random.Generator, desk: str, n: int) -> np.ndarray:
    # Zipf-like book sizes: a few large books and a long tail, as on real desks.
    n_books = max(1, min(40, n // 50 + 1))
    weights = 1.0 / np.arange(1, n_books + 1) ** 1.1
    idx = rng.choice(n_books, size=n, p=weights / weights.sum())
    return np.array([f"{desk}-B{i + 1:02d}" for i in idx]) if n else np.array([], dtype=str)


def _expiries(rng: np.random.Generator, vdate: dt.date, n: int, max_years: float) -> np.ndarray:
    years = np.exp(rng.uniform(np.log(7 / 365), np.log(max_years), size=n))
    days = np.maximum(1, np.round(years * 365)).astype("timedelta64[D]")
    return np.datetime64(vdate, "D") + days


def _common(rng, product: str, n: int, start_id: int) -> dict[str, np.ndarray]:
    desks = np.array(_DESKS[product])[rng.integers(0, len(_DESKS[product]), size=n)]
    books = np.empty(n, dtype=object)
    for d in np.unique(desks):
        rows = desks == d
        books[rows] = _books(rng, str(d), int(rows.sum()))
    return {
        "trade_id": np.array([f"T{start_id + i:08d}" for i in range(n)]),
        "desk": desks,
        "book": books.astype(str),
        "counterparty": np.array([f"CP{c:04d}" for c in rng.zipf(1.6, size=n) % 500]),
    }


def _equity_rows(rng, market: Market, n: int, option: bool) -> dict[str, np.ndarray]:
    names = np.array(list(_EQUITIES))
    und = names[rng.integers(0, names.size, size=n)]
    spot = np.array([market.equities[u].spot for u in und])
    cols = {
        "currency": np.array([market.equities[u].currency for u in und]),
        "underlying": und,
        "strike": np.round(spot * np.exp(rng.normal(0.0, 0.2, size=n)), 2),
        "expiry": _expiries(rng, market.valuation_date, n, 10.0 if option else 3.0),
        "quantity": np.round(rng.choice([-1, 1], size=n) * np.exp(rng.uniform(2, 8, size=n))),
    }
    if option:
        cols["option_type"] = np.where(rng.random(n) < 0.5, "call", "put")
        cols["vol"] = np.full(n, np.nan)
    return cols


def _fx_rows(rng, market: Market, n: int, option: bool) -> dict[str, np.ndarray]:
    pairs = np.array(list(_PAIRS))
    pair = pairs[rng.integers(0, pairs.size, size=n)]
    spot = np.array([market.fx[p[:3]] / market.fx[p[3:]] for p in pair])
    cols = {
        "currency": np.array([p[3:] for p in pair]),
        "underlying": pair,
        "strike": np.round(spot * np.exp(rng.normal(0.0, 0.05, size=n)), 6),
        "expiry": _expiries(rng, market.valuation_date, n, 5.0 if option else 2.0),
        "quantity": np.round(rng.choice([-1, 1], size=n) * np.exp(rng.uniform(11, 16, size=n)), -3),
    }
    if option:
        cols["option_type"] = np.where(rng.random(n) < 0.5, "call", "put")
        cols["vol"] = np.full(n, np.nan)
    return cols


_ROWS = {
    "equity_option": lambda rng, m, n: _equity_rows(rng, m, n, True),
    "equity_forward": lambda rng, m, n: _equity_rows(rng, m, n, False),
    "fx_option": lambda rng, m, n: _fx_rows(rng, m, n, True),
    "fx_forward": lambda rng, m, n: _fx_rows(rng, m, n, False),
}

#: Deliberate defects, applied in turn to the trades chosen to be bad: (column, value).
_DEFECTS = (
    ("strike", ""),  # missing field
    ("strike", "nan"),  # not a number
    ("vol", "-0.2"),  # negative vol (options only; forwards fall through to the next)
    ("strike", "-5"),  # non-positive strike
    ("expiry", "2020-01-01"),  # past expiry
    ("currency", "XYZ"),  # unknown currency
    ("underlying", "NOSUCH"),  # unknown underlying
    ("trade_id", None),  # duplicate id: copy of the previous trade's id
)


def generate_portfolio(
    trades: int,
    *,
    seed: int = 0,
    bad_fraction: float = 0.0,
    valuation_date: dt.date = DEFAULT_VALUATION_DATE,
    market: Market | None = None,
) -> dict[str, Table]:
    """Product tables of a synthetic portfolio of ``trades`` trades.

    Parameters
    ----------
    trades : int
        Total number of trades, split by :data:`PRODUCT_MIX`.
    seed : int
        Same seed, same portfolio.
    bad_fraction : float
        Fraction of trades given one deliberate defect each (missing field, NaN, negative
        vol, non-positive strike, past expiry, unknown currency or underlying, duplicate id).
    market : Market, optional
        Market the strikes are set around; the one of ``generate_market(seed)`` by default.
    """
    market = market or generate_market(seed, valuation_date)
    rng = np.random.default_rng([seed, 0x707466])
    counts = {p: int(trades * f) for p, f in PRODUCT_MIX.items()}
    counts["equity_option"] += trades - sum(counts.values())
    tables: dict[str, Table] = {}
    start = 0
    n_defect = 0
    for product in REGISTRY:
        if product not in counts:
            continue
        n = counts[product]
        cols = _common(rng, product, n, start) | _ROWS[product](rng, market, n)
        raw = {k: _as_text(v) for k, v in cols.items()}
        if bad_fraction > 0 and n:
            bad = np.flatnonzero(rng.random(n) < bad_fraction)
            for i in bad:
                column, value = _DEFECTS[n_defect % len(_DEFECTS)]
                if column not in raw:
                    column, value = _DEFECTS[(n_defect + 1) % len(_DEFECTS)]
                if column == "trade_id":
                    value = raw["trade_id"][i - 1] if i > 0 else raw["trade_id"][i]
                raw[column] = raw[column].astype(object)
                raw[column][i] = value
                n_defect += 1
            raw = {k: v.astype(str) for k, v in raw.items()}
        tables[product] = table_from_strings(product, raw, f"generated:{product}")
        start += n
    return tables


def _as_text(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        out = np.array([repr(float(v)) for v in values], dtype=object)
        out[np.isnan(values)] = ""
        return out.astype(str)
    return values.astype(str)


def _text_column(table: Table, name: str) -> np.ndarray:
    values = table[name]
    miss = table.missing.get(name)
    if values.dtype.kind == "M":
        text = np.datetime_as_string(values, unit="D").astype(object)
        text[np.isnat(values)] = "bad-date"
        if miss is not None:
            text[miss] = ""
        return text.astype(str)
    if values.dtype.kind == "f":
        text = _as_text(values).astype(object)
        text[np.isnan(values) & ~(miss if miss is not None else False)] = "nan"
        return text.astype(str)
    return values.astype(str)


def write_portfolio_hdf5(tables: dict[str, Table], path: Path) -> None:
    """Write product tables in the layout :class:`~xiphpc.portfolio.Hdf5Source` reads."""
    with h5py.File(path, "w") as f:
        root = f.create_group("portfolio")
        for product, table in tables.items():
            g = root.create_group(product)
            g.attrs["description"] = REGISTRY[product].description
            for col in REGISTRY[product].all_columns():
                if col.kind == "float":
                    # A missing float is NaN in HDF5; a not-a-number value cannot be told apart.
                    g.create_dataset(col.name, data=table[col.name])
                else:
                    text = _text_column(table, col.name)
                    g.create_dataset(col.name, data=np.char.encode(text, "utf-8"))
                g[col.name].attrs["unit"] = col.unit
                g[col.name].attrs["description"] = col.description


def write_portfolio_csv(tables: dict[str, Table], folder: Path) -> None:
    """Write one ``<product>.csv`` per table into ``folder``."""
    import csv

    folder.mkdir(parents=True, exist_ok=True)
    for product, table in tables.items():
        names = [c.name for c in REGISTRY[product].all_columns()]
        text = [_text_column(table, n) for n in names]
        with (folder / f"{product}.csv").open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(names)
            w.writerows(zip(*text, strict=True))
