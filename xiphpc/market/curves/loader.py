"""Reading the optional market sections of the cross-asset products (format in
:mod:`xiphpc.market.data`): curves from discount factors or par quotes, index (projection)
curves, rate vols, vol surfaces, credit curves and commodities.

Smile anchors: an equity vol surface may state ``reference_spot`` and an FX delta surface
``reference_spot`` and ``reference_forwards`` (one per expiry), the market the smile's
moneyness or deltas are measured against (:mod:`xiphpc.market.curves.surfaces`); without them the
surface is anchored at the spot and curves of the market it is read with. Written markets
state them, so a market written after a scenario shift reads back with the same smiles.

Functions take the market reader (``_Reader`` of :mod:`xiphpc.market.data`) so that every bad
field becomes one ``Problem(file, field, message)`` and loading goes on to report the rest.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from xiphpc.io.text import brief

from .bootstrap import (
    Deposit,
    Fra,
    Future,
    OisSwap,
    Swap,
    bootstrap_curve,
    pillar_tenors,
    quote_pricer,
)
from .calendar import add_tenor, tenor_months
from .credit import HazardCurve, bootstrap_hazard, cds_maturities, cds_periods
from .curve import INTERPOLATIONS, Curve, CurveQuotes
from .daycount import DAY_COUNTS
from .surfaces import RATE_VOL_KINDS, DeltaSurface, MoneynessSurface, RateVolSurface

__all__ = [
    "Commodity",
    "CreditCurve",
    "FuturesCurve",
    "fx_smile",
    "read_curve",
    "read_extra_sections",
    "extra_sections_to_dict",
]

#: Keys of the optional sections this module reads.
EXTRA_KEYS = (
    "index_curves",
    "rate_vols",
    "vol_surfaces",
    "fx_vol_surfaces",
    "credit_curves",
    "commodities",
)


@dataclass(frozen=True)
class FuturesCurve:
    """Futures prices by expiry (years), linear in time between expiries, flat outside."""

    expiries: np.ndarray
    prices: np.ndarray

    def price(self, t: np.ndarray) -> np.ndarray:
        """Futures price for delivery at times ``t`` (years, shape ``(n,)``)."""
        return np.interp(t, self.expiries, self.prices)


@dataclass(frozen=True)
class Commodity:
    """A commodity: trade currency, futures curve and lognormal vols (a term structure)."""

    currency: str
    futures: FuturesCurve
    vol: Any


@dataclass(frozen=True)
class CreditCurve:
    """A reference entity: the currency its CDS trade in and its hazard curve.

    ``quote_tenors`` name the CDS par spreads the hazard curve was bootstrapped from, one
    per pillar (maturities: the valuation date plus each tenor, unadjusted); empty when the
    hazard rates were given.
    """

    currency: str
    hazard: HazardCurve
    quote_tenors: tuple[str, ...] = ()


_QUOTE_FIELDS = {
    "deposit": {"tenor": str, "rate": float, "day_count": str},
    "fra": {"start_months": int, "end_months": int, "rate": float, "day_count": str},
    "future": {"start": str, "price": float, "months": int, "day_count": str},
    "swap": {
        "tenor": str,
        "rate": float,
        "fixed_months": int,
        "fixed_day_count": str,
        "float_months": int,
        "float_day_count": str,
    },
    "ois": {"tenor": str, "rate": float, "months": int, "day_count": str},
}
_QUOTE_TYPES = {"deposit": Deposit, "fra": Fra, "future": Future, "swap": Swap, "ois": OisSwap}
_REQUIRED = {
    "deposit": ("tenor", "rate"),
    "fra": ("start_months", "end_months", "rate"),
    "future": ("start", "price"),
    "swap": ("tenor", "rate"),
    "ois": ("tenor", "rate"),
}


def _quote(r, q: Any, field: str):
    if not isinstance(q, dict) or q.get("type") not in _QUOTE_FIELDS:
        r.bad(field, f"expected a table with 'type' one of {list(_QUOTE_FIELDS)}, got {brief(q)}")
        return None
    kind = q["type"]
    spec = _QUOTE_FIELDS[kind]
    unknown = sorted(set(q) - set(spec) - {"type"})
    if unknown:
        r.bad(field, f"unknown keys {unknown} for a {kind}; accepted: {sorted(spec)}")
        return None
    args: dict[str, Any] = {}
    ok = True
    for key in _REQUIRED[kind]:
        if key not in q:
            r.bad(f"{field}.{key}", "missing")
            ok = False
    for key, value in q.items():
        if key == "type":
            continue
        f = f"{field}.{key}"
        want = spec[key]
        if want is float:
            v = r.number(value, f)
            ok = ok and v is not None
            args[key] = v
        elif want is int:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                r.bad(f, f"expected a whole number of months, got {brief(value)}")
                ok = False
            args[key] = value
        else:
            if not isinstance(value, str):
                r.bad(f, f"expected a string, got {brief(value)}")
                ok = False
            elif key.endswith("day_count") and value not in DAY_COUNTS:
                r.bad(f, f"unknown day count {brief(value)}; accepted: {list(DAY_COUNTS)}")
                ok = False
            elif key == "tenor":
                try:
                    if kind == "deposit":
                        add_tenor(np.array([np.datetime64(0, "D")]), value)
                    else:
                        tenor_months(value)
                except ValueError as exc:
                    r.bad(f, str(exc))
                    ok = False
            elif key == "start":
                try:
                    dt.date.fromisoformat(value)
                except ValueError:
                    r.bad(f, f"expected YYYY-MM-DD, got {brief(value)}")
                    ok = False
            args[key] = value
    return _QUOTE_TYPES[kind](**args) if ok else None


def read_curve(
    r,
    spec: Any,
    field: str,
    vdate: dt.date,
    discount: Curve | None = None,
    discount_name: str | None = None,
):
    """A curve from zero-rate pillars, discount-factor pillars or par quotes.

    A bootstrapped curve keeps its instruments (:class:`~xiphpc.market.curves.curve.CurveQuotes`)
    and the market name of ``discount``, ``discount_name``. Returns ``None`` (with problems
    recorded) when the entry is unusable.
    """
    if not isinstance(spec, dict):
        r.bad(field, f"expected a table, got {brief(spec)}")
        return None
    interp = spec.get("interpolation")
    if interp is not None and interp not in INTERPOLATIONS:
        r.bad(
            f"{field}.interpolation",
            f"unknown interpolation {brief(interp)}; accepted: {list(INTERPOLATIONS)}",
        )
        return None
    rest = {k: v for k, v in spec.items() if k not in ("interpolation", "bootstrapped_from")}
    if "bootstrapped_from" in spec:
        if "quotes" in rest:
            r.bad(f"{field}.bootstrapped_from", "given with 'quotes': the quotes say it already")
            return None
        curve = read_curve(r, rest | ({"interpolation": interp} if interp else {}), field, vdate)
        if curve is None:
            return None
        return _with_quotes(
            r,
            spec["bootstrapped_from"],
            f"{field}.bootstrapped_from",
            curve,
            vdate,
            discount,
            discount_name,
        )
    if "quotes" in rest:
        extra = sorted(set(rest) - {"quotes"})
        if extra:
            r.bad(field, f"unknown keys {extra} beside 'quotes'")
        quotes = rest["quotes"]
        if not isinstance(quotes, list) or not quotes:
            r.bad(f"{field}.quotes", "expected a non-empty list of quotes")
            return None
        inst = [_quote(r, q, f"{field}.quotes[{i}]") for i, q in enumerate(quotes)]
        if any(i is None for i in inst):
            return None
        try:
            curve = bootstrap_curve(
                vdate, inst, interpolation=interp or "loglinear_discount", discount=discount
            )
            return replace(
                curve,
                quotes=CurveQuotes(tuple(inst), discount_name, pillar_tenors(vdate, inst)),
            )
        except ValueError as exc:
            r.bad(f"{field}.quotes", f"cannot bootstrap: {exc}")
            return None
    if "discount_factors" in rest:
        got = r.pillars(rest, field, "tenors", "discount_factors", positive_y=True)
        if got is None:
            return None
        return Curve.from_discount_factors(got[0], got[1], interp or "loglinear_discount")
    got = r.pillars(rest, field, "tenors", "zero_rates", positive_y=False)
    if got is None:
        return None
    return Curve(got[0], got[1], interp or "linear_zero")


def _grid(r, spec: Any, field: str, axis: str, optional: tuple[str, ...] = ()):
    keys = {"expiries", axis, "vols"}
    if (
        not isinstance(spec, dict)
        or set(spec) - keys - {"type", *optional}
        or not keys <= set(spec)
    ):
        r.bad(
            field,
            f"expected a table with {sorted(keys)} (optional: {list(optional)}), got {brief(spec)}",
        )
        return None
    out = []
    for key in ("expiries", axis):
        xs = spec[key]
        if not isinstance(xs, list) or not xs:
            r.bad(f"{field}.{key}", "expected a non-empty list of numbers")
            return None
        vals = [r.number(x, f"{field}.{key}[{i}]") for i, x in enumerate(xs)]
        if any(v is None for v in vals):
            return None
        arr = np.array(vals)
        if np.any(np.diff(arr) <= 0.0) or (key == "expiries" and arr[0] <= 0.0):
            r.bad(f"{field}.{key}", "must be strictly increasing (expiries > 0)")
            return None
        out.append(arr)
    vols = spec["vols"]
    shape = (out[0].size, out[1].size)
    if (
        not isinstance(vols, list)
        or len(vols) != shape[0]
        or any(not isinstance(row, list) or len(row) != shape[1] for row in vols)
    ):
        r.bad(f"{field}.vols", f"expected {shape[0]} rows of {shape[1]} vols")
        return None
    grid = [
        [r.number(v, f"{field}.vols[{i}][{j}]", positive=True) for j, v in enumerate(row)]
        for i, row in enumerate(vols)
    ]
    if any(v is None for row in grid for v in row):
        return None
    return out[0], out[1], np.array(grid, dtype=np.float64)


def _with_quotes(
    r,
    meta: Any,
    field: str,
    curve: Curve,
    vdate: dt.date,
    discount: Curve | None,
    discount_name: str | None,
):
    """``curve`` (given by its pillars) with the instruments it was bootstrapped from, once
    they are shown to reprice at their quotes on it (to 1e-9)."""
    if not isinstance(meta, dict) or not isinstance(meta.get("quotes"), list):
        r.bad(field, "expected a table with a list 'quotes' (and 'discount', a curve name)")
        return None
    unknown = sorted(set(meta) - {"quotes", "discount"})
    if unknown:
        r.bad(field, f"unknown keys {unknown}; accepted: 'quotes', 'discount'")
        return None
    if meta.get("discount") != discount_name:
        r.bad(
            f"{field}.discount",
            f"{brief(meta.get('discount'))}: the curve is discounted on {discount_name!r} here",
        )
        return None
    inst = [_quote(r, q, f"{field}.quotes[{i}]") for i, q in enumerate(meta["quotes"])]
    if any(i is None for i in inst):
        return None
    if len(inst) != curve.times.size:
        r.bad(f"{field}.quotes", f"{len(inst)} quotes for {curve.times.size} pillars")
        return None
    try:
        _, quotes, reprice = quote_pricer(vdate, inst)
        err = float(np.max(np.abs(reprice(curve, discount) - quotes)))
    except ValueError as exc:
        r.bad(f"{field}.quotes", str(exc))
        return None
    if not err <= 1e-9:
        r.bad(f"{field}.quotes", f"the pillars reprice the quotes only to {err:.2e}")
        return None
    return replace(
        curve, quotes=CurveQuotes(tuple(inst), discount_name, pillar_tenors(vdate, inst))
    )


def _spread_tenors(r, meta: Any, field: str, times: np.ndarray, vdate: dt.date):
    """The CDS tenors hazard pillars were bootstrapped from (``()`` when not given), checked
    to end at the pillars; None (problem recorded) when they do not."""
    if meta is None:
        return ()
    if not isinstance(meta, list) or not all(isinstance(t, str) for t in meta):
        r.bad(field, f"expected a list of CDS tenors ('5Y'), got {brief(meta)}")
        return None
    if len(meta) != times.size:
        r.bad(field, f"{len(meta)} tenors for {times.size} hazard pillars")
        return None
    try:
        ends = cds_periods(vdate, cds_maturities(vdate, meta)).maturity
    except ValueError as exc:
        r.bad(field, str(exc))
        return None
    if not np.allclose(ends, times, rtol=0.0, atol=1e-9):
        r.bad(field, "the tenors do not end at the hazard pillars")
        return None
    return tuple(meta)


def _credit(r, spec: Any, field: str, vdate: dt.date, fx: dict, curves: dict):
    keys = {"currency", "recovery", "spread", "spreads", "hazard_rates", "bootstrapped_from"}
    if not isinstance(spec, dict):
        r.bad(field, f"expected a table, got {brief(spec)}")
        return None
    unknown = sorted(set(spec) - keys)
    if unknown:
        r.bad(field, f"unknown keys {unknown}; accepted: {sorted(keys)}")
        return None
    ccy = spec.get("currency")
    if not isinstance(ccy, str) or ccy not in curves or ccy not in fx:
        r.bad(f"{field}.currency", f"{brief(ccy)} has no curve and FX rate in this market")
        return None
    rec = r.number(spec.get("recovery", 0.4), f"{field}.recovery")
    if rec is None or not 0.0 <= rec < 1.0:
        if rec is not None:
            r.bad(f"{field}.recovery", f"must be in [0, 1), got {brief(rec)}")
        return None
    forms = [k for k in ("spread", "spreads", "hazard_rates") if k in spec]
    if len(forms) != 1:
        r.bad(field, "give exactly one of 'spread' (flat, 5Y), 'spreads' or 'hazard_rates'")
        return None
    disc = curves[ccy]
    if not isinstance(disc, Curve):
        disc = Curve(np.asarray(disc.tenors), np.asarray(disc.zero_rates), "linear_zero")
    if forms[0] == "hazard_rates":
        got = r.pillars(
            spec["hazard_rates"], f"{field}.hazard_rates", "tenors", "hazards", positive_y=True
        )
        if got is None:
            return None
        tenors = _spread_tenors(
            r, spec.get("bootstrapped_from"), f"{field}.bootstrapped_from", got[0], vdate
        )
        if tenors is None:
            return None
        return CreditCurve(ccy, HazardCurve(got[0], got[1], rec), tenors)
    if "bootstrapped_from" in spec:
        r.bad(f"{field}.bootstrapped_from", "only beside 'hazard_rates'")
        return None
    if forms[0] == "spread":
        s = r.number(spec["spread"], f"{field}.spread", positive=True)
        if s is None:
            return None
        tenors, spreads = ["5Y"], [s]
    else:
        sp = spec["spreads"]
        if (
            not isinstance(sp, dict)
            or set(sp) != {"tenors", "spreads"}
            or not isinstance(sp["tenors"], list)
            or not isinstance(sp["spreads"], list)
            or len(sp["tenors"]) != len(sp["spreads"])
            or not sp["tenors"]
        ):
            r.bad(
                f"{field}.spreads",
                "expected {'tenors': ['1Y', ...], 'spreads': [...]} of equal, non-zero length",
            )
            return None
        tenors = sp["tenors"]
        spreads = [
            r.number(x, f"{field}.spreads.spreads[{i}]", positive=True)
            for i, x in enumerate(sp["spreads"])
        ]
        if any(x is None for x in spreads):
            return None
    try:
        hazard = bootstrap_hazard(
            vdate, cds_maturities(vdate, tenors), np.array(spreads), rec, disc
        )
    except (ValueError, TypeError, AttributeError) as exc:
        r.bad(f"{field}.spreads", f"cannot bootstrap hazard rates: {exc}")
        return None
    return CreditCurve(ccy, hazard, tuple(str(t) for t in tenors))


def _commodity(r, spec: Any, field: str, fx: dict):
    keys = {"currency", "futures", "vol"}
    if not isinstance(spec, dict) or set(spec) != keys:
        r.bad(field, f"expected a table with exactly {sorted(keys)}, got {brief(spec)}")
        return None
    ccy = spec["currency"]
    if not isinstance(ccy, str) or ccy not in fx:
        r.bad(f"{field}.currency", f"{brief(ccy)} has no FX rate in this market")
        return None
    got = r.pillars(spec["futures"], f"{field}.futures", "expiries", "prices", positive_y=True)
    vol = r.vol(spec["vol"], f"{field}.vol")
    if got is None or vol is None:
        return None
    return Commodity(ccy, FuturesCurve(*got), vol)


def read_extra_sections(r, doc: dict, vdate: dt.date, fx: dict, curves: dict) -> dict:
    """The optional sections of ``doc`` as keyword arguments of ``Market``."""
    out: dict[str, dict] = {k: {} for k in EXTRA_KEYS}
    for name, spec in r.table(doc, "index_curves", "index_curves", required=False).items():
        f = f"index_curves.{name}"
        ccy = name.split("-", 1)[0]
        if "-" not in name or ccy not in curves:
            r.bad(
                f,
                "an index name starts with its currency and a dash (USD-LIBOR-3M), and "
                "that currency needs a curve",
            )
            continue
        disc = curves[ccy] if isinstance(curves[ccy], Curve) else None
        c = read_curve(
            r, spec, f, vdate, discount=disc, discount_name=ccy if disc is not None else None
        )
        if c is not None:
            out["index_curves"][name] = c
    for ccy, spec in r.table(doc, "rate_vols", "rate_vols", required=False).items():
        f = f"rate_vols.{ccy}"
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind not in RATE_VOL_KINDS:
            r.bad(f"{f}.type", f"expected one of {list(RATE_VOL_KINDS)}, got {brief(kind)}")
            continue
        g = _grid(r, spec, f, "tenors")
        if g is not None:
            out["rate_vols"][ccy] = RateVolSurface(kind, *g)
    equities = doc.get("equities") if isinstance(doc.get("equities"), dict) else {}
    for name, spec in r.table(doc, "vol_surfaces", "vol_surfaces", required=False).items():
        f = f"vol_surfaces.{name}"
        g = _grid(r, spec, f, "moneyness", ("reference_spot",))
        if g is not None:
            # An equity's smile is anchored at its stated reference spot, else at the spot
            # of this market.
            eq = equities.get(name)
            spot = spec.get("reference_spot", eq.get("spot") if isinstance(eq, dict) else None)
            ref = (
                r.number(spot, f"{f}.reference_spot", positive=True)
                if spot is not None
                else float("nan")
            )
            if ref is not None:
                out["vol_surfaces"][name] = MoneynessSurface(*g, reference=ref)
    for pair, spec in r.table(doc, "fx_vol_surfaces", "fx_vol_surfaces", required=False).items():
        f = f"fx_vol_surfaces.{pair}"
        g = _grid(r, spec, f, "deltas", ("reference_spot", "reference_forwards"))
        if g is None:
            continue
        if g[1][0] <= 0.0 or g[1][-1] >= 1.0:
            r.bad(f"{f}.deltas", "call deltas must lie in (0, 1)")
            continue
        fore, dom = pair[:3], pair[3:]
        if len(pair) != 6 or not all(c in fx and c in curves for c in (fore, dom)):
            r.bad(f, "both currencies of the pair need an FX rate and a curve")
            continue
        surface = DeltaSurface(*g)
        if "reference_forwards" in spec or "reference_spot" in spec:
            got = r.pillars(
                {"expiries": spec["expiries"], "forwards": spec.get("reference_forwards")},
                f"{f}.reference_forwards",
                "expiries",
                "forwards",
                positive_y=True,
            )
            spot = r.number(spec.get("reference_spot"), f"{f}.reference_spot", positive=True)
            if got is not None and spot is not None:
                out["fx_vol_surfaces"][pair] = surface.with_reference(spot, got[1])
            continue
        out["fx_vol_surfaces"][pair] = fx_smile(surface, fx, curves, pair)
    for name, spec in r.table(doc, "credit_curves", "credit_curves", required=False).items():
        c = _credit(r, spec, f"credit_curves.{name}", vdate, fx, curves)
        if c is not None:
            out["credit_curves"][name] = c
    for name, spec in r.table(doc, "commodities", "commodities", required=False).items():
        c = _commodity(r, spec, f"commodities.{name}", fx)
        if c is not None:
            out["commodities"][name] = c
    return out


def fx_smile(surface: DeltaSurface, fx: dict, curves: dict, pair: str) -> DeltaSurface:
    """``surface`` anchored at the pair's spot and forwards (both curves) of this market."""
    fore, dom = pair[:3], pair[3:]
    spot = fx[fore] / fx[dom]
    t = surface.expiries
    drift = curves[dom].zero_rate(t) - curves[fore].zero_rate(t)
    return surface.with_reference(spot, spot * np.exp(drift * t))


def _vol_dict(v) -> Any:
    return {"expiries": v.expiries.tolist(), "vols": v.vols.tolist()}


def extra_sections_to_dict(market) -> dict:
    """The optional sections of ``market`` in their JSON form (hazard curves as hazard
    rates, bootstrapped curves as their pillars); empty sections are left out."""
    out: dict[str, Any] = {
        "index_curves": {n: c.to_dict() for n, c in market.index_curves.items()},
        "rate_vols": {c: s.to_dict() for c, s in market.rate_vols.items()},
        "vol_surfaces": {n: s.to_dict() for n, s in market.vol_surfaces.items()},
        "fx_vol_surfaces": {p: s.to_dict() for p, s in market.fx_vol_surfaces.items()},
        "credit_curves": {
            n: {
                "currency": c.currency,
                **c.hazard.to_dict(),
                **({"bootstrapped_from": list(c.quote_tenors)} if c.quote_tenors else {}),
            }
            for n, c in market.credit_curves.items()
        },
        "commodities": {
            n: {
                "currency": c.currency,
                "futures": {
                    "expiries": c.futures.expiries.tolist(),
                    "prices": c.futures.prices.tolist(),
                },
                "vol": _vol_dict(c.vol),
            }
            for n, c in market.commodities.items()
        },
    }
    return {k: v for k, v in out.items() if v}
