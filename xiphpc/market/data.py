"""Market data: FX rates, zero curves, equity spots and vols, FX vols.

File format (JSON, one object)::

    {
      "valuation_date": "2026-11-24",
      "base_currency": "USD",
      "fx": {"USD": 1.0, "EUR": 1.0850},
      "curves": {"USD": {"tenors": [0.25, 1, 5, 30], "zero_rates": [0.043, 0.041, 0.039, 0.041]}},
      "equities": {"ACME": {"currency": "USD", "spot": 101.5, "dividend_yield": 0.012,
                            "vol": {"expiries": [0.25, 1, 5], "vols": [0.25, 0.23, 0.22]}}},
      "fx_vols": {"EURUSD": {"expiries": [0.25, 1], "vols": [0.08, 0.085]}}
    }

Conventions, stated once for every product that reads them:

- ``fx[c]`` is the value of one unit of currency ``c`` in the base currency.
- Curve tenors are year fractions ACT/365F from the valuation date; zero rates are continuously
  compounded. Interpolation is linear on zero rates between pillars, flat beyond the first and
  last pillar.
- A vol is a number (flat) or a term structure by expiry (years). Between expiries total
  variance ``vol**2 * t`` is interpolated linearly; beyond the first and last expiry the vol is
  flat.
- An FX pair ``"EURUSD"`` quotes USD per EUR; its spot is ``fx["EUR"] / fx["USD"]``.

Optional sections and forms for the cross-asset products (read by
:mod:`xiphpc.market.curves.loader`; conventions in :mod:`xiphpc.market.curves`)::

    "curves": {"EUR": {"tenors": [1, 5], "discount_factors": [0.98, 0.89],
                       "interpolation": "loglinear_discount"},
               "GBP": {"quotes": [{"type": "deposit", "tenor": "1D", "rate": 0.045},
                                  {"type": "ois", "tenor": "5Y", "rate": 0.041}]}},
    "index_curves": {"USD-LIBOR-3M": {"quotes": [{"type": "deposit", "tenor": "3M", "rate": 0.046},
                                                 {"type": "fra", "start_months": 3,
                                                  "end_months": 6, "rate": 0.045},
                                                 {"type": "future", "start": "2027-03-17",
                                                  "price": 95.6},
                                                 {"type": "swap", "tenor": "5Y", "rate": 0.04}]}},
    "rate_vols": {"USD": {"type": "normal", "expiries": [1, 5], "tenors": [1, 10],
                          "vols": [[0.009, 0.008], [0.0085, 0.0075]]}},
    "vol_surfaces": {"ACME": {"expiries": [0.5, 2], "moneyness": [0.8, 1, 1.2],
                              "vols": [[0.3, 0.25, 0.27], [0.28, 0.24, 0.25]]}},
    "fx_vol_surfaces": {"EURUSD": {"expiries": [0.5], "deltas": [0.25, 0.5, 0.75],
                                   "vols": [[0.085, 0.08, 0.09]]}},
    "credit_curves": {"ACME-SNR": {"currency": "USD", "recovery": 0.4,
                                   "spreads": {"tenors": ["1Y", "5Y"], "spreads": [0.008, 0.012]}}},
    "commodities": {"WTI": {"currency": "USD", "futures": {"expiries": [0.1, 1],
                                                            "prices": [71.2, 69.8]}, "vol": 0.32}}

- A curve is given by zero-rate pillars (as above), by discount-factor pillars, or by par
  quotes it is bootstrapped from (``deposit``, ``fra``, ``future``, ``swap``, ``ois``). Its
  ``interpolation`` is ``linear_zero`` (default for zero rates) or ``loglinear_discount``
  (default for discount factors and quotes). Quotes of a currency curve are bootstrapped on
  their own (OIS discounting); quotes of an index curve project, discounted on the index
  currency's curve (multi-curve). Index names start with their currency and a dash. A curve
  given by pillars may name the quotes it was solved from, ``"bootstrapped_from": {"quotes":
  [...], "discount": "USD"}`` (``discount`` for an index curve only), checked to reprice at
  its pillars to 1e-9: par-rate risk then reports on those quotes. Writing a market
  (``to_dict``) keeps a bootstrapped curve as its pillars plus ``bootstrapped_from``.
- ``rate_vols`` are swaption/cap vols by expiry and underlying tenor (years), ``normal``
  (rate units) or ``lognormal``.
- ``vol_surfaces`` (equities and commodities, by moneyness ``strike / spot`` or ``strike /
  futures price``) and ``fx_vol_surfaces`` (by forward call delta) add a smile for the
  products that read one; the term structures under ``equities`` and ``fx_vols`` stay
  required and serve the products that do not.
- A credit curve is a flat 5Y ``spread``, term ``spreads`` by tenor, or ``hazard_rates``
  (piecewise flat, by tenor in years), with a ``recovery`` rate (default 0.4). Hazard rates
  bootstrapped from spreads may name their CDS tenors, ``"bootstrapped_from": ["1Y", "5Y"]``
  (one per pillar, ending at it), for par-spread risk; written markets keep them.
- A commodity has a futures curve (prices by expiry in years, linear in time, flat outside)
  and a vol term structure.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xiphpc.config.errors import JobError, Problem
from xiphpc.io.text import brief, read_text, rows_by_value

from .curves.loader import (
    EXTRA_KEYS,
    extra_sections_to_dict,
    read_curve,
    read_extra_sections,
)
from .fixings import Fixings

__all__ = ["Market", "TermStructure", "ZeroCurve", "load_market", "market_from_dict"]


@dataclass(frozen=True)
class ZeroCurve:
    """Continuously compounded zero rates at pillars (years), linear between, flat outside."""

    tenors: np.ndarray
    zero_rates: np.ndarray

    def zero_rate(self, t: np.ndarray) -> np.ndarray:
        """Zero rate to times ``t`` (years, shape ``(n,)``); returns shape ``(n,)``."""
        return np.interp(t, self.tenors, self.zero_rates)

    def discount(self, t: np.ndarray) -> np.ndarray:
        """Discount factors to times ``t`` (years, shape ``(n,)``)."""
        return np.exp(-self.zero_rate(t) * t)


@dataclass(frozen=True)
class TermStructure:
    """Lognormal vols by expiry (years): linear in total variance, flat outside the pillars."""

    expiries: np.ndarray
    vols: np.ndarray

    def vol(self, t: np.ndarray) -> np.ndarray:
        """Vol to expiries ``t`` (years, shape ``(n,)``); returns shape ``(n,)``."""
        t = np.asarray(t, dtype=np.float64)
        if self.expiries.size == 1:
            return np.full(t.shape, self.vols[0])
        lo, hi = self.expiries[0], self.expiries[-1]
        tc = np.clip(t, lo, hi)
        var = np.interp(tc, self.expiries, self.vols**2 * self.expiries)
        return np.sqrt(var / tc)


@dataclass(frozen=True)
class Equity:
    """One equity underlying: spot in its currency, continuous dividend yield, vols."""

    currency: str
    spot: float
    dividend_yield: float
    vol: TermStructure


@dataclass
class Market:
    """All market data of one valuation date; every lookup is vectorized over trades."""

    valuation_date: dt.date
    base_currency: str
    fx: dict[str, float]
    curves: dict[str, ZeroCurve]
    equities: dict[str, Equity] = field(default_factory=dict)
    fx_vols: dict[str, TermStructure] = field(default_factory=dict)
    source: str = "<memory>"
    # Optional sections of the cross-asset products (see the module docstring).
    index_curves: dict[str, Any] = field(default_factory=dict)
    rate_vols: dict[str, Any] = field(default_factory=dict)
    vol_surfaces: dict[str, Any] = field(default_factory=dict)
    fx_vol_surfaces: dict[str, Any] = field(default_factory=dict)
    credit_curves: dict[str, Any] = field(default_factory=dict)
    commodities: dict[str, Any] = field(default_factory=dict)
    #: Past fixings of rate indices (:class:`~xiphpc.market.fixings.Fixings`).
    fixings: Fixings = field(default_factory=Fixings)

    # -- lookups --------------------------------------------------------------------------
    def has_currency(self, ccy: str) -> bool:
        """Whether the market has both an FX rate and a curve for ``ccy``."""
        return ccy in self.fx and ccy in self.curves

    def has_fx_pair(self, pair: str) -> bool:
        """Whether ``pair`` (e.g. ``"EURUSD"``) can be priced: both currencies and its vols."""
        return (
            len(pair) == 6
            and self.has_currency(pair[:3])
            and self.has_currency(pair[3:])
            and pair in self.fx_vols
        )

    def fx_to_base(self, ccy: np.ndarray) -> np.ndarray:
        """Value in base currency of one unit of each currency in ``ccy`` (shape ``(n,)``)."""
        return _lookup(ccy, lambda c: self.fx.get(c, math.nan))

    def zero_rate(self, ccy: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Zero rates of the curves of ``ccy`` to times ``t`` (both shape ``(n,)``)."""
        out = np.full(t.shape, math.nan)
        for name, rows in rows_by_value(ccy):
            curve = self.curves.get(name)
            if curve is not None:
                out[rows] = curve.zero_rate(t[rows])
        return out

    def equity_fields(self, names: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, ...]:
        """Spot, dividend yield and vol to ``t`` for each equity in ``names`` (shape ``(n,)``).

        Unknown names give NaN.
        """
        spot = np.full(t.shape, math.nan)
        div = np.full(t.shape, math.nan)
        vol = np.full(t.shape, math.nan)
        for name, rows in rows_by_value(names):
            eq = self.equities.get(name)
            if eq is not None:
                spot[rows] = eq.spot
                div[rows] = eq.dividend_yield
                vol[rows] = eq.vol.vol(t[rows])
        return spot, div, vol

    def fx_pair_fields(self, pairs: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, ...]:
        """Spot (quote per base unit), foreign rate, domestic rate and vol for FX ``pairs``."""
        spot = np.full(t.shape, math.nan)
        r_for = np.full(t.shape, math.nan)
        r_dom = np.full(t.shape, math.nan)
        vol = np.full(t.shape, math.nan)
        for pair, rows in rows_by_value(pairs):
            if len(pair) != 6:
                continue
            fore, dom = pair[:3], pair[3:]
            if fore in self.fx and dom in self.fx:
                spot[rows] = self.fx[fore] / self.fx[dom]
            if fore in self.curves:
                r_for[rows] = self.curves[fore].zero_rate(t[rows])
            if dom in self.curves:
                r_dom[rows] = self.curves[dom].zero_rate(t[rows])
            if pair in self.fx_vols:
                vol[rows] = self.fx_vols[pair].vol(t[rows])
        return spot, r_for, r_dom, vol

    def year_fraction(self, dates: np.ndarray) -> np.ndarray:
        """ACT/365F year fractions from the valuation date to ``dates`` (datetime64[D])."""
        days = (dates - np.datetime64(self.valuation_date, "D")).astype(np.float64)
        return days / 365.0

    def to_dict(self) -> dict[str, Any]:
        """The market as the JSON document :func:`market_from_dict` reads."""
        return {
            "valuation_date": self.valuation_date.isoformat(),
            "base_currency": self.base_currency,
            "fx": dict(self.fx),
            "curves": {
                c: k.to_dict()
                if hasattr(k, "to_dict")
                else {"tenors": k.tenors.tolist(), "zero_rates": k.zero_rates.tolist()}
                for c, k in self.curves.items()
            },
            "equities": {
                n: {
                    "currency": e.currency,
                    "spot": e.spot,
                    "dividend_yield": e.dividend_yield,
                    "vol": {"expiries": e.vol.expiries.tolist(), "vols": e.vol.vols.tolist()},
                }
                for n, e in self.equities.items()
            },
            "fx_vols": {
                p: {"expiries": v.expiries.tolist(), "vols": v.vols.tolist()}
                for p, v in self.fx_vols.items()
            },
            **extra_sections_to_dict(self),
        }


def _lookup(keys: np.ndarray, get) -> np.ndarray:
    out = np.empty(np.shape(keys), dtype=np.float64)
    for key, rows in rows_by_value(keys):
        out[rows] = get(key)
    return out


# -- reading ------------------------------------------------------------------------------


class _Reader:
    """Collects every problem of a market document instead of stopping at the first."""

    def __init__(self, source: str):
        self.source = source
        self.problems: list[Problem] = []

    def bad(self, field: str, message: str) -> None:
        self.problems.append(Problem(self.source, field, message))

    def number(self, value: Any, field: str, *, positive: bool = False) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.bad(field, f"expected a number, got {brief(value)}")
            return None
        x = float(value)
        if not math.isfinite(x):
            self.bad(field, f"must be finite, got {brief(value)}")
            return None
        if positive and x <= 0.0:
            self.bad(field, f"must be > 0, got {brief(value)}")
            return None
        return x

    def table(self, doc: dict, key: str, field: str, *, required: bool = True) -> dict:
        value = doc.get(key, None if required else {})
        if not isinstance(value, dict):
            self.bad(field, "missing" if value is None else f"expected a table, got {brief(value)}")
            return {}
        return value

    def pillars(self, doc: Any, field: str, xkey: str, ykey: str, *, positive_y: bool):
        if not isinstance(doc, dict):
            self.bad(field, f"expected a table with {xkey!r} and {ykey!r}, got {brief(doc)}")
            return None
        unknown = sorted(set(doc) - {xkey, ykey})
        if unknown:
            self.bad(field, f"unknown keys {unknown}; accepted: {xkey!r}, {ykey!r}")
        xs, ys = doc.get(xkey), doc.get(ykey)
        if not isinstance(xs, list) or not isinstance(ys, list) or not xs or len(xs) != len(ys):
            self.bad(field, f"{xkey!r} and {ykey!r} must be non-empty lists of equal length")
            return None
        xv = [self.number(x, f"{field}.{xkey}[{i}]", positive=True) for i, x in enumerate(xs)]
        yv = [self.number(y, f"{field}.{ykey}[{i}]", positive=positive_y) for i, y in enumerate(ys)]
        if any(v is None for v in xv + yv):
            return None
        x = np.array(xv)
        if np.any(np.diff(x) <= 0.0):
            self.bad(f"{field}.{xkey}", "must be strictly increasing")
            return None
        return x, np.array(yv)

    def vol(self, doc: Any, field: str) -> TermStructure | None:
        if isinstance(doc, int | float) and not isinstance(doc, bool):
            v = self.number(doc, field, positive=True)
            return None if v is None else TermStructure(np.array([1.0]), np.array([v]))
        got = self.pillars(doc, field, "expiries", "vols", positive_y=True)
        return None if got is None else TermStructure(*got)


_TOP_KEYS = {"valuation_date", "base_currency", "fx", "curves", "equities", "fx_vols", *EXTRA_KEYS}


def market_from_dict(doc: Any, source: str = "<memory>") -> Market:
    """Build a :class:`Market` from its JSON document, reporting every problem at once.

    Raises
    ------
    JobError
        With one :class:`Problem` per bad field.
    """
    r = _Reader(source)
    if not isinstance(doc, dict):
        raise JobError([Problem(source, "", "expected a JSON object at the top level")])
    unknown = sorted(set(doc) - _TOP_KEYS)
    if unknown:
        r.bad(",".join(unknown), f"unknown keys; accepted: {sorted(_TOP_KEYS)}")
    try:
        vdate = dt.date.fromisoformat(str(doc.get("valuation_date")))
    except ValueError:
        r.bad("valuation_date", f"expected YYYY-MM-DD, got {brief(doc.get('valuation_date'))}")
        vdate = dt.date(1970, 1, 1)
    base = doc.get("base_currency")
    if not isinstance(base, str) or len(base) != 3:
        r.bad("base_currency", f"expected a 3-letter currency code, got {brief(base)}")
        base = "???"
    fx: dict[str, float] = {}
    for ccy, value in r.table(doc, "fx", "fx").items():
        v = r.number(value, f"fx.{ccy}", positive=True)
        if v is not None:
            fx[ccy] = v
    if base in fx and fx[base] != 1.0:
        r.bad(f"fx.{base}", f"the base currency's rate must be 1.0, got {brief(fx[base])}")
    curves: dict[str, ZeroCurve] = {}
    for ccy, spec in r.table(doc, "curves", "curves").items():
        if isinstance(spec, dict) and {
            "discount_factors",
            "quotes",
            "interpolation",
            "bootstrapped_from",
        } & set(spec):
            curve = read_curve(r, spec, f"curves.{ccy}", vdate)
            if curve is not None:
                curves[ccy] = curve
            continue
        got = r.pillars(spec, f"curves.{ccy}", "tenors", "zero_rates", positive_y=False)
        if got is not None:
            curves[ccy] = ZeroCurve(*got)
    equities: dict[str, Equity] = {}
    eq_keys = {"currency", "spot", "dividend_yield", "vol"}
    for name, spec in r.table(doc, "equities", "equities", required=False).items():
        f = f"equities.{name}"
        if not isinstance(spec, dict):
            r.bad(f, f"expected a table, got {brief(spec)}")
            continue
        unknown = sorted(set(spec) - eq_keys)
        if unknown:
            r.bad(f, f"unknown keys {unknown}; accepted: {sorted(eq_keys)}")
        ccy = spec.get("currency")
        if not isinstance(ccy, str) or ccy not in fx:
            r.bad(f"{f}.currency", f"{brief(ccy)} has no FX rate in this market")
        spot = r.number(spec.get("spot"), f"{f}.spot")
        div = r.number(spec.get("dividend_yield", 0.0), f"{f}.dividend_yield")
        vol = r.vol(spec.get("vol"), f"{f}.vol")
        # A non-positive spot is kept so that the trades on it are flagged, not the market.
        if spot is not None and div is not None and vol is not None and isinstance(ccy, str):
            equities[name] = Equity(ccy, spot, div, vol)
    fx_vols: dict[str, TermStructure] = {}
    for pair, spec in r.table(doc, "fx_vols", "fx_vols", required=False).items():
        vol = r.vol(spec, f"fx_vols.{pair}")
        if vol is not None:
            fx_vols[pair] = vol
    extra = read_extra_sections(r, doc, vdate, fx, curves)
    if r.problems:
        raise JobError(r.problems)
    return Market(vdate, base, fx, curves, equities, fx_vols, source, **extra)


def load_market(path: str | Path) -> Market:
    """Read a market JSON file (format in this module's docstring).

    Raises
    ------
    JobError
        The file is missing, not JSON, or has bad fields (each one reported).
    """
    path = Path(path)
    text = read_text(path)
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        # JSONDecodeError is a ValueError, as is an integer of over 4,300 digits.
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise JobError([Problem(str(path), "", f"not valid JSON: {why}")]) from exc
    return market_from_dict(doc, str(path))
