"""Risk factors: the market quantities that bumps and scenarios move.

A market exposes one factor per

- ``ir:<CCY>:<tenor>`` zero-rate pillar — absolute shift (0.0001 = 1bp);
- ``fx:<CCY>`` FX rate to the base currency (not for the base itself) — relative shift
  (0.01 = +1%);
- ``eq:<NAME>`` equity spot — relative shift;
- ``eqvol:<NAME>:<expiry>`` equity vol pillar — absolute shift (0.01 = one vol point);
- ``fxvol:<PAIR>:<expiry>`` FX vol pillar — absolute shift.

A flat vol is one pillar. Factor order (and so the columns of every sensitivity and
scenario array) is: rates by currency then tenor, FX, equities, equity vols, FX vols, names
sorted.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from dataclasses import dataclass

import numpy as np

from .market import Equity, Market, TermStructure, ZeroCurve

__all__ = ["ABSOLUTE_KINDS", "FactorSet", "factor_set", "shifted_market", "tenor_label"]

#: Kinds shifted by adding; the others are shifted relatively (multiplied by 1 + shift).
ABSOLUTE_KINDS = ("ir", "eqvol", "fxvol")


def tenor_label(years: float) -> str:
    """``0.25 -> "3M"``, ``5.0 -> "5Y"``, ``1/12 -> "1M"``, else days (``"45D"``)."""
    months = years * 12.0
    if abs(months - round(months)) < 1e-6 and round(months) > 0:
        m = int(round(months))
        return f"{m // 12}Y" if m % 12 == 0 else f"{m}M"
    return f"{int(round(years * 365))}D"


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
    """

    labels: list[str]
    kind: np.ndarray
    name: np.ndarray
    pillar: np.ndarray
    first: dict[tuple[str, str], int]

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
        """Boolean mask, shape ``(F,)``, of labels matching a shell-style pattern."""
        return np.array([fnmatch.fnmatchcase(lb, pattern) for lb in self.labels], dtype=bool)


def factor_set(market: Market) -> FactorSet:
    """All factors of ``market``."""
    labels: list[str] = []
    kind: list[str] = []
    name: list[str] = []
    pillar: list[float] = []
    first: dict[tuple[str, str], int] = {}

    def add(k: str, n: str, p: float, label: str) -> None:
        first.setdefault((k, n), len(labels))
        labels.append(label)
        kind.append(k)
        name.append(n)
        pillar.append(p)

    for ccy in sorted(market.curves):
        for t in market.curves[ccy].tenors:
            add("ir", ccy, float(t), f"ir:{ccy}:{tenor_label(t)}")
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
    return FactorSet(labels, np.array(kind), np.array(name), np.array(pillar), first)


def shifted_market(market: Market, factors: FactorSet, shift: np.ndarray) -> Market:
    """A copy of ``market`` with every factor moved by ``shift`` (shape ``(F,)``).

    Vols are floored at 1e-8: a scenario cannot make a vol negative.
    """

    def block(kind: str, name: str, n: int) -> np.ndarray:
        i = factors.index(kind, name)
        return shift[i : i + n] if i >= 0 else np.zeros(n)

    curves = {
        c: ZeroCurve(k.tenors, k.zero_rates + block("ir", c, k.tenors.size))
        for c, k in market.curves.items()
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
    return dataclasses.replace(market, curves=curves, fx=fx, equities=equities, fx_vols=fx_vols)
