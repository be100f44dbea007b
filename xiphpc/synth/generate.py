"""Synthetic portfolios and market data, consistent with each other, from a seed.

The universe (currencies, equities, FX pairs) is fixed so that any generated portfolio is
covered by any generated market; the seed moves the market levels and the trades.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import h5py
import numpy as np

from xiphpc.io.portfolio import table_from_strings
from xiphpc.market.conventions import INDICES
from xiphpc.market.curves import (
    Curve,
    DeltaSurface,
    MoneynessSurface,
    RateVolSurface,
    add_months,
    bootstrap_hazard,
)
from xiphpc.market.curves import calendar as named_calendar
from xiphpc.market.curves.credit import cds_maturities
from xiphpc.market.curves.isda import previous_imm_date
from xiphpc.market.curves.loader import Commodity, CreditCurve, FuturesCurve, fx_smile
from xiphpc.market.data import Equity, Market, TermStructure, ZeroCurve
from xiphpc.pricing.products import REGISTRY, Table

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

#: Projection index of each currency: name and its spread over the discount curve.
_INDICES = {
    "USD": ("USD-TERMSOFR-3M", 0.0012),
    "EUR": ("EUR-EURIBOR-6M", 0.0020),
    "GBP": ("GBP-SONIA-3M", 0.0008),
    "JPY": ("JPY-TIBOR-3M", 0.0010),
    "CHF": ("CHF-SARON-3M", 0.0006),
}
#: Credit name -> (currency, 5Y spread, recovery).
_CREDITS = {
    "ACME-SNR": ("USD", 0.0085, 0.4),
    "GLOBEX-SNR": ("USD", 0.0160, 0.4),
    "INITECH-SUB": ("USD", 0.0420, 0.2),
    "AURORA-SNR": ("EUR", 0.0110, 0.4),
    "THAMES-SNR": ("GBP", 0.0130, 0.4),
    "FUJI-SNR": ("JPY", 0.0060, 0.35),
}
#: Commodity -> (currency, front futures price, futures slope per year, vol).
_COMMODITIES = {
    "WTI": ("USD", 71.5, -0.035, 0.34),
    "BRENT": ("USD", 75.8, -0.03, 0.31),
    "NATGAS": ("USD", 3.15, 0.06, 0.55),
    "GOLD": ("USD", 2650.0, 0.045, 0.16),
}
_FUTURES_EXPIRIES = np.array([1 / 12, 0.25, 0.5, 1.0, 2.0, 3.0])
_MONEYNESS = np.array([0.6, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5])
_DELTAS = np.array([0.1, 0.25, 0.5, 0.75, 0.9])
_RATE_VOL_TENORS = np.array([1.0, 2.0, 5.0, 10.0, 30.0])
_SWAPTION_TENORS = ("1Y", "2Y", "5Y", "10Y", "20Y", "30Y")

#: Product mix of a generated portfolio (fractions of the trade count).
PRODUCT_MIX = {
    "equity_option": 0.30,
    "fx_option": 0.15,
    "equity_forward": 0.10,
    "fx_forward": 0.10,
    "interest_rate_swap": 0.08,
    "forward_rate_agreement": 0.03,
    "fixed_rate_bond": 0.05,
    "cap_floor": 0.03,
    "swaption": 0.03,
    "credit_default_swap": 0.04,
    "american_option": 0.03,
    "barrier_option": 0.02,
    "digital_option": 0.02,
    "asian_option": 0.0025,
    "commodity_option": 0.0175,
}
_DESKS = {
    "equity_option": ("EQ-VOL-US", "EQ-VOL-EU", "EQ-VOL-ASIA"),
    "fx_option": ("FX-OPTIONS",),
    "equity_forward": ("EQ-DELTA1",),
    "fx_forward": ("FX-SPOT-FWD",),
    "interest_rate_swap": ("IR-SWAPS",),
    "forward_rate_agreement": ("IR-SWAPS",),
    "fixed_rate_bond": ("IR-BONDS",),
    "cap_floor": ("IR-VOL",),
    "swaption": ("IR-VOL",),
    "credit_default_swap": ("CREDIT",),
    "american_option": ("EQ-EXOTICS",),
    "barrier_option": ("EQ-EXOTICS",),
    "digital_option": ("EQ-EXOTICS",),
    "asian_option": ("EQ-EXOTICS", "COMMODITIES"),
    "commodity_option": ("COMMODITIES",),
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
    extra = _cross_asset_market(seed, valuation_date, fx, curves, equities, fx_vols)
    return Market(
        valuation_date, "USD", fx, curves, equities, fx_vols, f"generated(seed={seed})", **extra
    )


def _smile(atm: np.ndarray, x: np.ndarray, skew: float, curve: float) -> np.ndarray:
    """Vols ``(len(atm), len(x))``: the ATM term structure times a skew and smile in ``x``."""
    return np.round(atm[:, None] * (1.0 + skew * (1.0 - x) + curve * (1.0 - x) ** 2), 5)


def _cross_asset_market(seed, vdate, fx, curves, equities, fx_vols) -> dict:
    # A stream of its own, so that the sections above stay what they were for a seed.
    rng = np.random.default_rng([seed, 0x78617373])
    index_curves = {
        name: Curve(curves[ccy].tenors, np.round(curves[ccy].zero_rates + basis, 6))
        for ccy, (name, basis) in _INDICES.items()
    }
    level = {"USD": 0.0095, "EUR": 0.0080, "GBP": 0.0090, "JPY": 0.0040, "CHF": 0.0050}
    rate_vols = {
        ccy: RateVolSurface(
            "normal",
            _VOL_EXPIRIES[2:7].copy(),
            _RATE_VOL_TENORS.copy(),
            np.round(
                v
                * float(np.exp(0.05 * rng.normal()))
                * (1.0 - 0.15 * np.log1p(_VOL_EXPIRIES[2:7]))[:, None]
                * (1.0 - 0.05 * np.log1p(_RATE_VOL_TENORS))[None, :],
                6,
            ),
        )
        for ccy, v in level.items()
    }
    # Equity smiles: the ATM column is the equity's term structure, a downward skew around it.
    vol_surfaces = {
        name: MoneynessSurface(
            e.vol.expiries.copy(),
            _MONEYNESS.copy(),
            _smile(e.vol.vols, _MONEYNESS, 0.35, 0.4),
            reference=e.spot,
        )
        for name, e in equities.items()
    }
    fx_vol_surfaces = {
        pair: fx_smile(
            DeltaSurface(
                ts.expiries.copy(), _DELTAS.copy(), _smile(ts.vols, 2.0 * _DELTAS, 0.02, 0.3)
            ),
            fx,
            curves,
            pair,
        )
        for pair, ts in fx_vols.items()
    }
    credit_curves = {}
    tenors = ("1Y", "3Y", "5Y", "10Y")
    mats = cds_maturities(vdate, tenors)
    for name, (ccy, s5, rec) in _CREDITS.items():
        s5 = s5 * float(np.exp(0.1 * rng.normal()))
        spreads = np.round(s5 * np.array([0.55, 0.8, 1.0, 1.15]), 6)
        disc = curves[ccy]
        disc = Curve(disc.tenors, disc.zero_rates)
        credit_curves[name] = CreditCurve(
            ccy, bootstrap_hazard(vdate, mats, spreads, rec, disc), tenors
        )
    commodities = {}
    for name, (ccy, front, slope, vol) in _COMMODITIES.items():
        f0 = front * float(np.exp(0.05 * rng.normal()))
        prices = np.round(f0 * np.exp(slope * _FUTURES_EXPIRIES), 4)
        term = np.round(vol * (1.0 + 0.2 * np.exp(-2.0 * _FUTURES_EXPIRIES)), 5)
        commodities[name] = Commodity(
            ccy,
            FuturesCurve(_FUTURES_EXPIRIES.copy(), prices),
            TermStructure(_FUTURES_EXPIRIES.copy(), term),
        )
        vol_surfaces[name] = MoneynessSurface(
            _FUTURES_EXPIRIES.copy(), _MONEYNESS.copy(), _smile(term, _MONEYNESS, -0.1, 0.5)
        )
    return dict(
        index_curves=index_curves,
        rate_vols=rate_vols,
        vol_surfaces=vol_surfaces,
        fx_vol_surfaces=fx_vol_surfaces,
        credit_curves=credit_curves,
        commodities=commodities,
    )


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


def _pick(rng, options, n: int) -> np.ndarray:
    options = np.asarray(options)
    return options[rng.integers(0, options.size, size=n)]


def _notional(rng, n: int, lo: float = 13.0, hi: float = 18.0) -> np.ndarray:
    return np.round(rng.choice([-1, 1], size=n) * np.exp(rng.uniform(lo, hi, size=n)), -3)


def _dates(rng, market: Market, n: int, lo_days: int, hi_days: int) -> np.ndarray:
    return np.datetime64(market.valuation_date, "D") + rng.integers(lo_days, hi_days, size=n)


def _optional_dates(rng, dates: np.ndarray, share: float) -> np.ndarray:
    """``dates`` as text, a ``share`` of them left empty (the product's default)."""
    text = dates.astype(str).astype(object)
    text[rng.random(dates.size) < share] = ""
    return text.astype(str)


def _spot_starts(market: Market, index: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Swaps and caps on an IBOR index of the conventions table start, when ``start`` is
    empty, on the spot date (the fixing lag after the valuation date): their first fixing
    is then today's, projected, and the book needs no past fixings."""
    out = start.copy().astype(object)
    today = np.array([np.datetime64(market.valuation_date, "D")])
    for name in np.unique(index):
        c = INDICES.get(str(name))
        if c is None or c.overnight or c.fixing_lag == 0:
            continue
        cal = named_calendar(c.calendar)
        spot = cal.advance(cal.adjust(today, "following"), c.fixing_lag)[0]
        out[(index == name) & (start == "")] = str(spot)
    return out.astype(str)


def _rate_rows(rng, market: Market, n: int, product: str) -> dict[str, np.ndarray]:
    ccy = _pick(rng, list(_INDICES), n)
    index = np.array([_INDICES[c][0] for c in ccy])
    start = _optional_dates(rng, _dates(rng, market, n, 30, 730), 0.7)
    mat = _dates(rng, market, n, 760, 365 * 30)
    level = np.array(
        [
            float(market.index_curves.get(i, market.curves[c]).zero_rate(np.array([5.0]))[0])
            for i, c in zip(index, ccy, strict=True)
        ]
    )
    rate = np.round(level + rng.normal(0.0, 0.005, size=n), 5)
    cols = {"currency": ccy, "underlying": index, "quantity": _notional(rng, n)}
    if product == "interest_rate_swap":
        cols |= {
            "pay_receive": _pick(rng, ["payer", "receiver"], n),
            "fixed_rate": rate,
            "start": _spot_starts(market, index, start),
            "maturity": mat,
            "fixed_frequency": _pick(rng, ["", "12M", "6M"], n),
            "float_frequency": _pick(rng, ["", "3M", "6M"], n),
            "fixed_day_count": _pick(rng, ["", "30/360", "ACT/360"], n),
            "float_day_count": _pick(rng, ["", "ACT/360", "ACT/365F"], n),
            "spread": np.where(rng.random(n) < 0.8, np.nan, np.round(rng.normal(0, 0.001, n), 5)),
        }
    elif product == "forward_rate_agreement":
        fra_start = _dates(rng, market, n, 30, 730)
        cols |= {
            "pay_receive": _pick(rng, ["payer", "receiver"], n),
            "fixed_rate": rate,
            "start": fra_start,
            "end": add_months(fra_start, _pick(rng, [3, 6], n)),
            "day_count": _pick(rng, ["", "ACT/360", "ACT/365F"], n),
        }
    elif product == "cap_floor":
        cols |= {
            "cap_floor": _pick(rng, ["cap", "floor"], n),
            "strike": np.round(level + rng.normal(0.0, 0.01, size=n), 4),
            "start": _spot_starts(market, index, start),
            "maturity": _dates(rng, market, n, 760, 365 * 12),
            "frequency": _pick(rng, ["", "3M", "6M"], n),
            "day_count": np.full(n, ""),
            "vol": np.full(n, np.nan),
            "vol_type": np.full(n, ""),
        }
    else:  # swaption
        cols |= {
            "payer_receiver": _pick(rng, ["payer", "receiver"], n),
            "strike": np.round(level + rng.normal(0.0, 0.008, size=n), 4),
            "expiry": _dates(rng, market, n, 30, 365 * 10),
            "tenor": _pick(rng, _SWAPTION_TENORS, n),
            "fixed_frequency": np.full(n, ""),
            "float_frequency": np.full(n, ""),
            "fixed_day_count": np.full(n, ""),
            "float_day_count": np.full(n, ""),
            "vol": np.full(n, np.nan),
            "vol_type": np.full(n, ""),
        }
    return cols


def _bond_rows(rng, market: Market, n: int) -> dict[str, np.ndarray]:
    return {
        "currency": _pick(rng, list(_CURRENCIES), n),
        "coupon": np.round(rng.uniform(0.0, 0.07, size=n), 4),
        "maturity": _dates(rng, market, n, 60, 365 * 30),
        "frequency": _pick(rng, ["", "6M", "12M"], n),
        "day_count": _pick(rng, ["", "30/360", "ACT/ACT ISDA"], n),
        "quantity": np.round(rng.choice([-1, 1], size=n) * np.exp(rng.uniform(11, 16, n)), -3),
    }


def _cds_rows(rng, market: Market, n: int) -> dict[str, np.ndarray]:
    name = _pick(rng, list(_CREDITS), n)
    return {
        "currency": np.array([_CREDITS[u][0] for u in name]),
        "underlying": name,
        "protection": _pick(rng, ["buy", "sell"], n),
        # Standard running coupons, the rest paid up front (in the PV).
        "spread": _pick(rng, [0.01, 0.05], n),
        # Standard maturities: IMM dates from 6M to 10Y, on and off the run.
        "maturity": _pick(rng, _imm_maturities(market.valuation_date, 182, 365 * 10), n),
        # Mostly the default (ISDA) model, some trades on the mid-point model.
        "model": _pick(rng, ["", "", "isda", "midpoint"], n),
        "quantity": _notional(rng, n, 14.0, 17.0),
    }


def _imm_maturities(vdate, lo_days: int, hi_days: int) -> np.ndarray:
    """The IMM dates (20 Mar/Jun/Sep/Dec) from ``lo_days`` to ``hi_days`` after ``vdate``."""
    first = np.datetime64(previous_imm_date(vdate), "D")
    k = np.arange(4 * (hi_days // 365 + 2))
    imm = add_months(np.full(k.size, first), 3 * k)
    gap = (imm - np.datetime64(vdate, "D")).astype(np.int64)
    return imm[(gap >= lo_days) & (gap <= hi_days)]


def _exotic_rows(rng, market: Market, n: int, product: str) -> dict[str, np.ndarray]:
    names = list(_EQUITIES) + list(_COMMODITIES)
    und = _pick(rng, names, n)
    expiry = _expiries(rng, market.valuation_date, n, 3.0)
    tau = (expiry - np.datetime64(market.valuation_date, "D")).astype(float) / 365.0
    spot = np.array(
        [
            market.equities[u].spot
            if u in market.equities
            else float(market.commodities[u].futures.price(np.array([t]))[0])
            for u, t in zip(und, tau, strict=True)
        ]
    )
    ccy = np.array(
        [
            market.equities[u].currency if u in market.equities else market.commodities[u].currency
            for u in und
        ]
    )
    cols = {
        "currency": ccy,
        "underlying": und,
        "option_type": _pick(rng, ["call", "put"], n),
        "strike": np.round(spot * np.exp(rng.normal(0.0, 0.15, size=n)), 4),
        "expiry": expiry,
        "vol": np.full(n, np.nan),
        "quantity": np.round(rng.choice([-1, 1], size=n) * np.exp(rng.uniform(2, 7, size=n))),
    }
    if product == "american_option":
        # Every fifth trade on the fast approximation, the rest on the default model; no draws,
        # so the other columns and products keep their random streams.
        cols["model"] = np.where(np.arange(n) % 5 == 4, "bjerksund_stensland", "")
    elif product == "barrier_option":
        kind = _pick(rng, ["down_in", "up_in", "down_out", "up_out"], n)
        down = np.isin(kind, ["down_in", "down_out"])
        level = np.where(down, rng.uniform(0.6, 0.95, n), rng.uniform(1.05, 1.5, n))
        cols |= {
            "barrier": np.round(spot * level, 4),
            "barrier_type": kind,
            "rebate": np.where(
                rng.random(n) < 0.7, np.nan, np.round(0.02 * spot * rng.random(n), 4)
            ),
        }
    elif product == "digital_option":
        cols |= {
            "payoff": _pick(rng, ["cash", "asset"], n),
            "cash": np.where(rng.random(n) < 0.5, np.nan, np.round(0.1 * spot, 2)),
        }
    elif product == "asian_option":
        cols |= {
            "fixings": _pick(rng, [4.0, 6.0, 12.0], n),
            "averaging_start": np.full(n, ""),
            "paths": np.full(n, 1000.0),
        }
    return cols


def _commodity_rows(rng, market: Market, n: int) -> dict[str, np.ndarray]:
    cols = _exotic_rows(rng, market, n, "commodity_option")
    und = _pick(rng, list(_COMMODITIES), n)
    expiry = cols["expiry"]
    tau = (expiry - np.datetime64(market.valuation_date, "D")).astype(float) / 365.0
    fut = np.array(
        [
            float(market.commodities[u].futures.price(np.array([t]))[0])
            for u, t in zip(und, tau, strict=True)
        ]
    )
    cols |= {
        "currency": np.full(n, "USD"),
        "underlying": und,
        "strike": np.round(fut * np.exp(rng.normal(0.0, 0.12, size=n)), 4),
        "futures_expiry": _optional_dates(rng, add_months(expiry, 1), 0.5),
    }
    return cols


_ROWS = {
    "equity_option": lambda rng, m, n: _equity_rows(rng, m, n, True),
    "equity_forward": lambda rng, m, n: _equity_rows(rng, m, n, False),
    "fx_option": lambda rng, m, n: _fx_rows(rng, m, n, True),
    "fx_forward": lambda rng, m, n: _fx_rows(rng, m, n, False),
    "interest_rate_swap": lambda rng, m, n: _rate_rows(rng, m, n, "interest_rate_swap"),
    "forward_rate_agreement": lambda rng, m, n: _rate_rows(rng, m, n, "forward_rate_agreement"),
    "fixed_rate_bond": _bond_rows,
    "cap_floor": lambda rng, m, n: _rate_rows(rng, m, n, "cap_floor"),
    "swaption": lambda rng, m, n: _rate_rows(rng, m, n, "swaption"),
    "credit_default_swap": _cds_rows,
    "american_option": lambda rng, m, n: _exotic_rows(rng, m, n, "american_option"),
    "barrier_option": lambda rng, m, n: _exotic_rows(rng, m, n, "barrier_option"),
    "digital_option": lambda rng, m, n: _exotic_rows(rng, m, n, "digital_option"),
    "asian_option": lambda rng, m, n: _exotic_rows(rng, m, n, "asian_option"),
    "commodity_option": _commodity_rows,
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


#: Rows of a product table drawn from one random stream: any block of rows is generated
#: alone, so a rank generates only the rows it reads.
GENERATION_BLOCK = 1 << 14


def product_counts(trades: int) -> dict[str, int]:
    """Trades of each product in a portfolio of ``trades`` (:data:`PRODUCT_MIX`), in
    registry order."""
    counts = {p: int(trades * f) for p, f in PRODUCT_MIX.items()}
    counts["equity_option"] += trades - sum(counts.values())
    return {p: counts[p] for p in REGISTRY if p in counts}


def generate_block(
    product: str,
    block: int,
    *,
    trades: int,
    seed: int,
    bad_fraction: float,
    market: Market,
) -> dict[str, np.ndarray]:
    """Rows ``block * GENERATION_BLOCK`` onwards (up to one block) of ``product``'s table in
    a portfolio of ``trades``, as text columns (shape ``(n,)`` each).

    Each block draws from a stream of its own, ``(seed, product, block)``; trade ids count
    through the whole portfolio (products in registry order).
    """
    counts = product_counts(trades)
    index = list(counts).index(product)
    first = block * GENERATION_BLOCK
    n = max(0, min(GENERATION_BLOCK, counts[product] - first))
    rng = np.random.default_rng([seed, 0x707466, index, block])
    id_start = sum(list(counts.values())[:index]) + first
    cols = _common(rng, product, n, id_start) | _ROWS[product](rng, market, n)
    raw = {k: _as_text(v) for k, v in cols.items()}
    if bad_fraction > 0 and n:
        bad = np.flatnonzero(rng.random(n) < bad_fraction)
        # Defect kinds cycle from a point that moves with the product and the block, so
        # every kind turns up in a portfolio of a few blocks.
        n_defect = 3 * index + 5 * block
        for i in bad:
            column, value = _DEFECTS[n_defect % len(_DEFECTS)]
            skip = 1
            while column not in raw:
                # The product has no such column: the next defect it can have.
                column, value = _DEFECTS[(n_defect + skip) % len(_DEFECTS)]
                skip += 1
            if column == "trade_id":
                value = raw["trade_id"][i - 1] if i > 0 else raw["trade_id"][i]
            raw[column] = raw[column].astype(object)
            raw[column][i] = value
            n_defect += 1
        raw = {k: v.astype(str) for k, v in raw.items()}
    return raw


def generate_rows(
    product: str,
    start: int,
    stop: int,
    *,
    trades: int,
    seed: int = 0,
    bad_fraction: float = 0.0,
    market: Market,
    block_source=None,
) -> dict[str, np.ndarray]:
    """Rows ``start:stop`` of ``product``'s table, as text columns; only the blocks they
    overlap are generated (by ``block_source(block)`` when given: a cache of
    :func:`generate_block`)."""
    first = start // GENERATION_BLOCK
    # At least one block, so that an empty table still has its columns.
    blocks = range(first, max(first + 1, -(-stop // GENERATION_BLOCK)))
    make = block_source or (
        lambda b: generate_block(
            product, b, trades=trades, seed=seed, bad_fraction=bad_fraction, market=market
        )
    )
    parts = [make(b) for b in blocks]
    cut = slice(start - blocks.start * GENERATION_BLOCK, stop - blocks.start * GENERATION_BLOCK)
    return {k: np.concatenate([p[k] for p in parts]).astype(str)[cut] for k in parts[0]}


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

    Notes
    -----
    The tables are made of blocks of :data:`GENERATION_BLOCK` rows (:func:`generate_rows`):
    rows ``a:b`` of a table are the same whether the whole table or only they are generated.
    """
    market = market or generate_market(seed, valuation_date)
    return {
        product: table_from_strings(
            product,
            generate_rows(
                product, 0, n, trades=trades, seed=seed, bad_fraction=bad_fraction, market=market
            ),
            f"generated:{product}",
        )
        for product, n in product_counts(trades).items()
    }


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
    """Write product tables in the layout :class:`~xiphpc.io.portfolio.Hdf5Source` reads."""
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
        with (folder / f"{product}.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(names)
            w.writerows(zip(*text, strict=True))
