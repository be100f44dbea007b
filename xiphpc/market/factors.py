"""Risk factors: the market quantities that bumps and scenarios move.

A market exposes one factor per

- ``ir:<CCY>:<tenor>`` zero-rate pillar of a currency's discount curve, and
  ``ir:<INDEX>:<tenor>`` of a projection (index) curve — absolute shift (0.0001 = 1bp);
- ``fx:<CCY>`` FX rate to the base currency (not for the base itself) — relative shift
  (0.01 = +1%);
- ``eq:<NAME>`` equity spot — relative shift;
- ``eqvol:<NAME>:<expiry>`` equity vol pillar — absolute shift (0.01 = one vol point);
- ``fxvol:<PAIR>:<expiry>`` FX vol pillar — absolute shift;
- ``cs:<ENTITY>:<tenor>`` hazard-rate pillar of a credit curve — absolute shift (0.0001 =
  1bp of hazard rate; a CDS spread moves by about ``(1 - recovery)`` times that);
- ``cmd:<NAME>:<expiry>`` futures-curve pillar of a commodity — relative shift (0.01 = +1%
  of that pillar's price; a price between pillars is interpolated from the moved pillars);
- ``cmdvol:<NAME>:<expiry>`` commodity vol pillar — absolute shift;
- ``irvol:<CCY>:<expiry>x<tenor>`` node of a currency's normal (Bachelier) rate vol grid —
  absolute shift in rate units (0.0001 = 1bp of normal vol) — or ``irlvol:...`` of a
  lognormal (Black) grid — absolute shift (0.01 = one vol point).

Pillars are labelled by their tenor (``3M``, ``5Y``) where their time is a whole number of
months, else in days (``45D``), except where the market file names the tenor a pillar was
quoted at: the pillars of a curve bootstrapped from quotes (``quotes`` or
``bootstrapped_from``) take the quotes' tenors (``ir:USD:2Y`` for a 2-year swap maturing 731
days out, ``ir:USD:3Mx6M`` for an FRA; a future, quoted by date, keeps days), and those of a
credit curve bootstrapped from CDS spreads the CDS tenors (``cs:ACME:5Y``). The label by time
stays an alias of such a factor (:attr:`FactorSet.aliases`): history files and exact stress
patterns written with it still find the factor.

A flat vol is one pillar. Factor order (and so the columns of every sensitivity and
scenario array) is: rates by currency then tenor, FX, equities, equity vols, FX vols, names
sorted, then index curves, credit curves, commodity futures, commodity vols and rate vol
nodes (by expiry, then tenor). Smile shapes are not factors (a smile's offsets ride on the
moved pillars).
"""

from __future__ import annotations

import dataclasses
import fnmatch
from dataclasses import dataclass, field

import numpy as np

from .data import Equity, Market, TermStructure

__all__ = [
    "ABSOLUTE_KINDS",
    "RATE_VOL_FACTOR",
    "FactorSet",
    "curve_pillars",
    "factor_levels",
    "factor_set",
    "pillar_labels",
    "shifted_market",
    "tenor_label",
]

#: Kinds shifted by adding; the others are shifted relatively (multiplied by 1 + shift).
ABSOLUTE_KINDS = ("ir", "eqvol", "fxvol", "cs", "cmdvol", "irvol", "irlvol")

#: Factor kind of the nodes of a rate vol grid, by the grid's kind.
RATE_VOL_FACTOR = {"normal": "irvol", "lognormal": "irlvol"}


def curve_pillars(curve) -> np.ndarray:
    """Pillar times (years) of a zero curve, whichever curve class holds them."""
    return curve.tenors if hasattr(curve, "tenors") else curve.times


def tenor_label(years: float) -> str:
    """``0.25 -> "3M"``, ``5.0 -> "5Y"``, ``1/12 -> "1M"``, else days (``"45D"``)."""
    months = years * 12.0
    if abs(months - round(months)) < 1e-6 and round(months) > 0:
        m = int(round(months))
        return f"{m // 12}Y" if m % 12 == 0 else f"{m}M"
    return f"{int(round(years * 365))}D"


def pillar_labels(times: np.ndarray, quoted=()) -> tuple[list[str], list[str]]:
    """Labels of the pillars at ``times`` (years, shape ``(k,)``) and their labels by time.

    ``quoted``: the tenor each pillar was quoted at (None where quoted by date), in pillar
    order, or empty. A pillar with a quoted tenor is labelled by it, the others by
    :func:`tenor_label`; should the labels of one curve not all differ, all are labelled by
    time.
    """
    by_time = [tenor_label(t) for t in times]
    if len(quoted) != len(by_time):
        return by_time, by_time
    labels = [str(q) if q else lb for q, lb in zip(quoted, by_time, strict=True)]
    if len(set(labels)) != len(labels):
        return by_time, by_time
    return labels, by_time


@dataclass(frozen=True)
class FactorSet:
    """The factors of one market, in a fixed order.

    Attributes
    ----------
    labels : list of str, length F
    kind, name : ndarray of str, shape ``(F,)``
    pillar : ndarray of float64, shape ``(F,)``
        Tenor or expiry in years; NaN for spots.
    first : dict of (kind, name) to int
        Index of the first factor of a curve or surface (pillars follow in order), or of the
        spot factor.
    aliases : list of str, length F
        Each factor's label by its pillar's time (``ir:USD:731D``), the same as its label
        except for pillars labelled by a quoted tenor; empty: none.
    """

    labels: list[str]
    kind: np.ndarray
    name: np.ndarray
    pillar: np.ndarray
    first: dict[tuple[str, str], int]
    aliases: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)

    def index(self, kind: str, name: str) -> int:
        """Index of the (first) factor of ``kind`` and ``name``; -1 if the market has none."""
        return self.first.get((kind, name), -1)

    @property
    def absolute(self) -> np.ndarray:
        """True for factors shifted by adding, shape ``(F,)``."""
        return np.isin(self.kind, ABSOLUTE_KINDS)

    def match(self, pattern: str) -> np.ndarray:
        """Boolean mask, shape ``(F,)``, of labels matching a shell-style pattern; a pattern
        without wildcards (``*?[``) also selects the factor it names by its alias."""
        hit = np.array([fnmatch.fnmatchcase(lb, pattern) for lb in self.labels], dtype=bool)
        if self.aliases and not any(c in pattern for c in "*?["):
            hit |= np.array([a == pattern for a in self.aliases], dtype=bool)
        return hit

    def columns(self, labels: list[str]) -> np.ndarray:
        """For each factor, the position of its label in ``labels`` or, failing that, of its
        alias; -1 where ``labels`` has neither. Shape ``(F,)``."""
        pos = {lb: j for j, lb in enumerate(labels)}
        aliases = self.aliases or self.labels
        return np.array(
            [pos.get(lb, pos.get(a, -1)) for lb, a in zip(self.labels, aliases, strict=True)],
            dtype=np.int64,
        )


_SECTIONS = (
    "curves",
    "fx",
    "equities",
    "fx_vols",
    "index_curves",
    "credit_curves",
    "commodities",
    "rate_vols",
)


def _identity(market: Market) -> tuple:
    # What the factors are made of, by object: a section's entry replaced (markets hold
    # frozen curves and surfaces, replaced, never changed in place) changes it.
    return (market.base_currency,) + tuple(
        tuple((k, id(v)) for k, v in getattr(market, name).items()) for name in _SECTIONS
    )


def factor_set(market: Market) -> FactorSet:
    """All factors of ``market``; made once per market and kept with it while the market's
    curves, surfaces and rates are the same objects (pricing asks for them on every call)."""
    identity = _identity(market)
    kept = market.__dict__.get("_factor_set")
    if kept is not None and kept[0] == identity:
        return kept[1]
    factors = _factor_set(market)
    market.__dict__["_factor_set"] = (identity, factors)
    return factors


def _factor_set(market: Market) -> FactorSet:
    labels: list[str] = []
    aliases: list[str] = []
    kind: list[str] = []
    name: list[str] = []
    pillar: list[float] = []
    first: dict[tuple[str, str], int] = {}

    def add(k: str, n: str, p: float, label: str, alias: str | None = None) -> None:
        first.setdefault((k, n), len(labels))
        labels.append(label)
        aliases.append(alias or label)
        kind.append(k)
        name.append(n)
        pillar.append(p)

    def add_curve(k: str, n: str, times: np.ndarray, quoted) -> None:
        tenors, by_time = pillar_labels(times, quoted)
        for t, lb, a in zip(times, tenors, by_time, strict=True):
            add(k, n, float(t), f"{k}:{n}:{lb}", f"{k}:{n}:{a}")

    def quoted(curve) -> tuple:
        # The quoted tenors of a curve bootstrapped from quotes (CurveQuotes.tenors).
        return getattr(getattr(curve, "quotes", None), "tenors", ())

    for ccy in sorted(market.curves):
        curve = market.curves[ccy]
        add_curve("ir", ccy, curve_pillars(curve), quoted(curve))
    for ccy in sorted(market.fx):
        if ccy != market.base_currency:
            add("fx", ccy, np.nan, f"fx:{ccy}")
    for eq in sorted(market.equities):
        add("eq", eq, np.nan, f"eq:{eq}")
    for eq in sorted(market.equities):
        for t in market.equities[eq].vol.expiries:
            add("eqvol", eq, float(t), f"eqvol:{eq}:{tenor_label(t)}")
    for pair in sorted(market.fx_vols):
        for t in market.fx_vols[pair].expiries:
            add("fxvol", pair, float(t), f"fxvol:{pair}:{tenor_label(t)}")
    for index in sorted(market.index_curves):
        curve = market.index_curves[index]
        add_curve("ir", index, curve_pillars(curve), quoted(curve))
    for entity in sorted(market.credit_curves):
        cc = market.credit_curves[entity]
        add_curve("cs", entity, cc.hazard.times, getattr(cc, "quote_tenors", ()))
    # Appended after every other kind, so that adding commodities moves no existing index.
    for com in sorted(market.commodities):
        for t in market.commodities[com].futures.expiries:
            add("cmd", com, float(t), f"cmd:{com}:{tenor_label(t)}")
    for com in sorted(market.commodities):
        for t in market.commodities[com].vol.expiries:
            add("cmdvol", com, float(t), f"cmdvol:{com}:{tenor_label(t)}")
    for ccy in sorted(market.rate_vols):
        surf = market.rate_vols[ccy]
        k = RATE_VOL_FACTOR[surf.kind]
        for t in surf.expiries:
            for x in surf.tenors:
                add(k, ccy, float(t), f"{k}:{ccy}:{tenor_label(t)}x{tenor_label(x)}")
    return FactorSet(labels, np.array(kind), np.array(name), np.array(pillar), first, aliases)


def shifted_market(market: Market, factors: FactorSet, shift: np.ndarray) -> Market:
    """A copy of ``market`` with every factor moved by ``shift`` (shape ``(F,)``).

    Vols are floored at 1e-8: a scenario cannot make a vol negative.
    """

    def block(kind: str, name: str, n: int) -> np.ndarray:
        i = factors.index(kind, name)
        return shift[i : i + n] if i >= 0 else np.zeros(n)

    def moved(kind: str, name: str, curve):
        # replace() keeps the curve's class and interpolation.
        return dataclasses.replace(
            curve, zero_rates=curve.zero_rates + block(kind, name, curve.zero_rates.size)
        )

    curves = {c: moved("ir", c, k) for c, k in market.curves.items()}
    index_curves = {c: moved("ir", c, k) for c, k in market.index_curves.items()}
    credit_curves = {
        e: dataclasses.replace(
            c,
            hazard=dataclasses.replace(
                c.hazard,
                hazards=np.maximum(c.hazard.hazards + block("cs", e, c.hazard.hazards.size), 0.0),
            ),
        )
        for e, c in market.credit_curves.items()
    }
    fx = {c: v * (1.0 + block("fx", c, 1)[0]) for c, v in market.fx.items()}

    def vols(kind: str, name: str, ts: TermStructure) -> TermStructure:
        return TermStructure(
            ts.expiries, np.maximum(ts.vols + block(kind, name, ts.vols.size), 1e-8)
        )

    equities = {
        n: Equity(
            e.currency,
            e.spot * (1.0 + block("eq", n, 1)[0]),
            e.dividend_yield,
            vols("eqvol", n, e.vol),
        )
        for n, e in market.equities.items()
    }
    fx_vols = {p: vols("fxvol", p, v) for p, v in market.fx_vols.items()}
    commodities = {
        n: dataclasses.replace(
            c,
            futures=dataclasses.replace(
                c.futures,
                prices=c.futures.prices * (1.0 + block("cmd", n, c.futures.prices.size)),
            ),
            vol=vols("cmdvol", n, c.vol),
        )
        for n, c in market.commodities.items()
    }
    rate_vols = {
        c: dataclasses.replace(
            s,
            vols=np.maximum(
                s.vols + block(RATE_VOL_FACTOR[s.kind], c, s.vols.size).reshape(s.vols.shape),
                1e-8,
            ),
        )
        for c, s in market.rate_vols.items()
    }
    return dataclasses.replace(
        market,
        curves=curves,
        fx=fx,
        equities=equities,
        fx_vols=fx_vols,
        index_curves=index_curves,
        credit_curves=credit_curves,
        commodities=commodities,
        rate_vols=rate_vols,
    )


def factor_levels(market: Market, factors: FactorSet) -> np.ndarray:
    """Today's level of every factor (zero rate, FX rate, spot, futures price, vol or hazard
    at its pillar), shape ``(F,)``."""
    out = np.empty(len(factors))
    for ccy, surf in market.rate_vols.items():
        first = factors.index(RATE_VOL_FACTOR[surf.kind], ccy)
        out[first : first + surf.vols.size] = surf.vols.ravel()
    for j, (kind, name, pillar) in enumerate(
        zip(factors.kind, factors.name, factors.pillar, strict=True)
    ):
        if kind in ("irvol", "irlvol"):
            continue
        if kind == "ir":
            curve = market.curves.get(name) or market.index_curves[name]
            out[j] = curve.zero_rates[np.searchsorted(curve_pillars(curve), pillar)]
        elif kind == "fx":
            out[j] = market.fx[name]
        elif kind == "eq":
            out[j] = market.equities[name].spot
        elif kind == "cs":
            h = market.credit_curves[name].hazard
            out[j] = h.hazards[np.searchsorted(h.times, pillar)]
        elif kind == "cmd":
            fut = market.commodities[name].futures
            out[j] = fut.prices[np.searchsorted(fut.expiries, pillar)]
        else:
            if kind == "eqvol":
                ts = market.equities[name].vol
            elif kind == "fxvol":
                ts = market.fx_vols[name]
            else:
                ts = market.commodities[name].vol
            out[j] = ts.vols[np.searchsorted(ts.expiries, pillar)]
    return out
