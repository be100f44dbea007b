"""Curves bootstrapped from par quotes: deposits, FRAs, futures, IBOR swaps and OIS swaps.

Each quote sets one pillar at its instrument's last date; pillars are solved one by one, in
maturity order, so that the instrument's par rate on the curve equals its quote to within
1e-15 (a secant search, bisection as fallback). Both interpolations of
:class:`~xiphpc.market.curves.curve.Curve` are local (a pillar moves the curve only up to the next
pillar), so the curve reprices every input instrument, not only the last one solved.

Conventions (stated once; all dates on the given calendar, default weekends only):

- Spot date: the valuation date moved by ``spot_lag`` business days (default 0).
- Deposit: from spot to spot + tenor (adjusted); simple rate in its day count (ACT/360).
- FRA ``"3Mx6M"``: starts at spot + 3M (adjusted), ends 3 months after that (adjusted);
  simple forward rate (ACT/360).
- Future: from its start date (an IMM date, see :func:`imm_dates`) to start + 3M (adjusted);
  rate ``(100 - price) / 100``, no convexity adjustment.
- IBOR swap: fixed leg (default annual 30/360) against the projected index (default
  quarterly ACT/360), both from spot to spot + tenor, short front stub, modified following;
  discounted on the discount curve when one is given (multi-curve), else on itself.
- OIS swap: fixed (default annual ACT/360) against daily-compounded overnight over the same
  periods; compounding telescopes, so each period's float amount is ``P(s) / P(e) - 1``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import numpy as np

from .calendar import WEEKENDS_ONLY, Calendar, add_months, add_tenor, tenor_months
from .curve import Curve
from .daycount import year_fraction
from .legs import fixed_leg, float_leg, times_from

__all__ = [
    "Deposit",
    "Fra",
    "Future",
    "OisSwap",
    "Swap",
    "bootstrap_curve",
    "imm_dates",
    "instrument_label",
    "instrument_to_dict",
    "par_rate",
    "pillar_tenors",
    "quote_pricer",
    "quote_tenor",
]


@dataclass(frozen=True)
class Deposit:
    """Cash deposit from spot for ``tenor`` (``"1D"``, ``"1W"``, ``"3M"``) at simple ``rate``."""

    tenor: str
    rate: float
    day_count: str = "ACT/360"


@dataclass(frozen=True)
class Fra:
    """Forward rate agreement ``start`` months after spot for ``end - start`` months."""

    start_months: int
    end_months: int
    rate: float
    day_count: str = "ACT/360"


@dataclass(frozen=True)
class Future:
    """Three-month interest-rate future starting on ``start`` (ISO date) quoted at ``price``."""

    start: str
    price: float
    months: int = 3
    day_count: str = "ACT/360"


@dataclass(frozen=True)
class Swap:
    """Par fixed-vs-IBOR swap of ``tenor`` (``"5Y"``) at fixed ``rate``."""

    tenor: str
    rate: float
    fixed_months: int = 12
    fixed_day_count: str = "30/360"
    float_months: int = 3
    float_day_count: str = "ACT/360"


@dataclass(frozen=True)
class OisSwap:
    """Par fixed-vs-overnight swap of ``tenor`` at fixed ``rate``."""

    tenor: str
    rate: float
    months: int = 12
    day_count: str = "ACT/360"


Instrument = Deposit | Fra | Future | Swap | OisSwap


def imm_dates(after: dt.date, count: int) -> list[dt.date]:
    """The ``count`` IMM dates (third Wednesday of March, June, September, December)
    strictly after ``after``."""
    out: list[dt.date] = []
    y, m = after.year, after.month
    while len(out) < count:
        if m % 3 == 0:
            first = dt.date(y, m, 1)
            wed = first + dt.timedelta(days=(2 - first.weekday()) % 7 + 14)
            if wed > after:
                out.append(wed)
        m += 1
        if m == 13:
            y, m = y + 1, 1
    return out


@dataclass(frozen=True)
class _Priced:
    """An instrument reduced to what its par rate needs."""

    quote: float
    maturity: float
    # Simple-rate instruments (deposit, FRA, future): one period.
    start: float = 0.0
    end: float = 0.0
    tau: float = 1.0
    # Swaps: fixed pay times and accruals, float periods.
    fix_pay: np.ndarray | None = None
    fix_acc: np.ndarray | None = None
    flt_start: np.ndarray | None = None
    flt_end: np.ndarray | None = None
    flt_tau: np.ndarray | None = None
    flt_pay: np.ndarray | None = None
    dates: tuple[np.datetime64, np.datetime64] | None = None


def _d(x) -> np.ndarray:
    return np.array([np.datetime64(x, "D")])


def _reduce(
    inst: Instrument, vdate: dt.date, spot: np.ndarray, calendar: Calendar, convention: str
) -> _Priced:
    adj = calendar.adjust
    if isinstance(inst, Deposit | Fra | Future):
        if isinstance(inst, Deposit):
            start = spot
            end = adj(add_tenor(spot, inst.tenor), convention)
            quote = inst.rate
        elif isinstance(inst, Fra):
            if not 0 <= inst.start_months < inst.end_months:
                raise ValueError(f"FRA needs 0 <= start < end months, got {inst}")
            start = adj(add_months(spot, inst.start_months), convention)
            end = adj(add_months(start, inst.end_months - inst.start_months), convention)
            quote = inst.rate
        else:
            start = adj(_d(inst.start), convention)
            end = adj(add_months(start, inst.months), convention)
            quote = (100.0 - inst.price) / 100.0
        t0, t1 = times_from(vdate, start)[0], times_from(vdate, end)[0]
        tau = year_fraction(start, end, inst.day_count)[0]
        return _Priced(quote, t1, t0, t1, tau, dates=(start[0], end[0]))
    if isinstance(inst, Swap):
        fm, fdc, lm, ldc = (
            inst.fixed_months,
            inst.fixed_day_count,
            inst.float_months,
            (inst.float_day_count),
        )
    else:
        fm, fdc, lm, ldc = inst.months, inst.day_count, inst.months, inst.day_count
    end_raw = add_months(spot, tenor_months(inst.tenor))
    kw = dict(calendar=calendar, convention=convention)
    fx = fixed_leg(vdate, spot, end_raw, fm, fdc, **kw)
    fl = float_leg(vdate, spot, end_raw, lm, ldc, **kw)
    return _Priced(
        inst.rate,
        max(fx.pay[-1], fl.pay[-1]),
        fix_pay=fx.pay,
        fix_acc=fx.accrual,
        flt_start=fl.start,
        flt_end=fl.end,
        flt_tau=fl.tau,
        flt_pay=fl.pay,
        dates=(fx.start_date[0], fx.end_date[-1]),
    )


def _par(p: _Priced, proj: Curve, disc: Curve) -> float:
    if p.fix_pay is None:
        return float((proj.discount(p.start) / proj.discount(p.end) - 1.0) / p.tau)
    annuity = float(np.sum(p.fix_acc * disc.discount(p.fix_pay)))
    fwd_amount = proj.discount(p.flt_start) / proj.discount(p.flt_end) - 1.0
    return float(np.sum(fwd_amount * disc.discount(p.flt_pay))) / annuity


def par_rate(
    inst: Instrument,
    curve: Curve,
    valuation_date: dt.date,
    *,
    discount: Curve | None = None,
    calendar: Calendar = WEEKENDS_ONLY,
    convention: str = "modified_following",
    spot_lag: int = 0,
) -> float:
    """Par rate of ``inst`` projected on ``curve``, discounted on ``discount`` (or ``curve``).

    For a future the par rate is ``(100 - price) / 100``'s counterpart, a rate, not a price.
    """
    spot = calendar.advance(_d(valuation_date), spot_lag)
    p = _reduce(inst, valuation_date, spot, calendar, convention)
    return _par(p, curve, discount or curve)


def instrument_label(inst: Instrument) -> str:
    """Short name of a quote: ``"DEP 3M"``, ``"FRA 3Mx6M"``, ``"FUT 2027-03-17"``,
    ``"SWAP 5Y"``, ``"OIS 5Y"``."""
    if isinstance(inst, Deposit):
        return f"DEP {inst.tenor}"
    if isinstance(inst, Fra):
        return f"FRA {inst.start_months}Mx{inst.end_months}M"
    if isinstance(inst, Future):
        return f"FUT {inst.start}"
    return f"{'OIS' if isinstance(inst, OisSwap) else 'SWAP'} {inst.tenor}"


def quote_tenor(inst: Instrument) -> str | None:
    """The tenor a quote names its pillar by, as the market file gives it: a deposit's, swap's
    or OIS swap's ``tenor`` (``"2Y"``), an FRA's ``"3Mx6M"``; None for a future, which is
    quoted by its start date."""
    if isinstance(inst, Fra):
        return f"{inst.start_months}Mx{inst.end_months}M"
    if isinstance(inst, Future):
        return None
    return inst.tenor


def pillar_tenors(
    valuation_date: dt.date,
    instruments: list[Instrument] | tuple[Instrument, ...],
    *,
    calendar: Calendar = WEEKENDS_ONLY,
    convention: str = "modified_following",
    spot_lag: int = 0,
) -> tuple[str | None, ...]:
    """:func:`quote_tenor` of each instrument in pillar (maturity) order, the order of the
    pillars of :func:`bootstrap_curve`."""
    spot = calendar.advance(_d(valuation_date), spot_lag)
    order = sorted(
        range(len(instruments)),
        key=lambda k: _reduce(instruments[k], valuation_date, spot, calendar, convention).maturity,
    )
    return tuple(quote_tenor(instruments[k]) for k in order)


#: Quote type of each instrument class in market files.
QUOTE_TYPE = {Deposit: "deposit", Fra: "fra", Future: "future", Swap: "swap", OisSwap: "ois"}


def instrument_to_dict(inst: Instrument) -> dict:
    """The instrument as a quote of a market file (``{"type": "ois", "tenor": ...}``)."""
    return {"type": QUOTE_TYPE[type(inst)], **dataclasses.asdict(inst)}


def quote_pricer(
    valuation_date: dt.date,
    instruments: list[Instrument] | tuple[Instrument, ...],
    *,
    calendar: Calendar = WEEKENDS_ONLY,
    convention: str = "modified_following",
    spot_lag: int = 0,
):
    """The instruments of a bootstrap in pillar (maturity) order, and their par rates on
    any curves.

    Returns
    -------
    labels : list of str
        :func:`instrument_label` of each instrument, in pillar order.
    quotes : ndarray, shape ``(k,)``
        Their quotes as rates (:func:`quote_value`), in pillar order.
    reprice : callable
        ``reprice(curve, discount=None)``: par rates (shape ``(k,)``, pillar order) projected
        on ``curve`` and discounted on ``discount`` (or ``curve``). Schedules are built once.
    """
    spot = calendar.advance(_d(valuation_date), spot_lag)
    pairs = sorted(
        ((_reduce(i, valuation_date, spot, calendar, convention), i) for i in instruments),
        key=lambda x: x[0].maturity,
    )
    priced = [p for p, _ in pairs]

    def reprice(curve: Curve, discount: Curve | None = None) -> np.ndarray:
        return np.array([_par(p, curve, discount or curve) for p in priced])

    quotes = np.array([p.quote for p in priced])
    return [instrument_label(i) for _, i in pairs], quotes, reprice


def _solve(f, x0: float) -> float:
    # Secant from two nearby points; bisection on [-1, 1] if the secant wanders off.
    x1 = x0 + 1e-4
    f0, f1 = f(x0), f(x1)
    for _ in range(100):
        if f1 == 0.0:
            return x1
        if f1 == f0:
            break
        x2 = x1 - f1 * (x1 - x0) / (f1 - f0)
        x0, f0 = x1, f1
        x1, f1 = x2, f(x2)
        if abs(f1) <= 1e-15 or abs(x1 - x0) <= 1e-17:
            return x1
        if not -1.0 < x1 < 1.0:
            break
    lo, hi = -1.0, 1.0
    flo = f(lo)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        fm = f(mid)
        if abs(fm) <= 1e-15:
            return mid
        if (fm > 0) == (flo > 0):
            lo, flo = mid, fm
        else:
            hi = mid
    return 0.5 * (lo + hi)


def bootstrap_curve(
    valuation_date: dt.date,
    instruments: list[Instrument],
    *,
    interpolation: str = "loglinear_discount",
    discount: Curve | None = None,
    calendar: Calendar = WEEKENDS_ONLY,
    convention: str = "modified_following",
    spot_lag: int = 0,
) -> Curve:
    """Bootstrap a curve that reprices ``instruments`` at their quotes.

    Parameters
    ----------
    valuation_date : datetime.date
    instruments : list of Deposit, Fra, Future, Swap or OisSwap
        One pillar each, at the instrument's last date; maturities must differ.
    interpolation : str
        ``"loglinear_discount"`` or ``"linear_zero"``.
    discount : Curve, optional
        Exogenous discount curve (e.g. OIS) for the swaps; the curve being built projects.
        Without it the curve discounts itself (single curve, or the OIS curve itself).
    calendar, convention, spot_lag
        See the module docstring.

    Returns
    -------
    Curve
        Pillar times in years ACT/365F from ``valuation_date``.

    Raises
    ------
    ValueError
        With no instruments, two instruments maturing on the same day, or an instrument
        ending on or before the valuation date.
    """
    if not instruments:
        raise ValueError("no instruments to bootstrap from")
    spot = calendar.advance(_d(valuation_date), spot_lag)
    priced = sorted(
        (_reduce(i, valuation_date, spot, calendar, convention) for i in instruments),
        key=lambda p: p.maturity,
    )
    times = np.array([p.maturity for p in priced])
    if times[0] <= 0.0:
        raise ValueError("an instrument ends on or before the valuation date")
    if np.any(np.diff(times) <= 0.0):
        raise ValueError("two instruments mature on the same date; keep one of them")
    zeros = np.zeros(times.size)
    for i, p in enumerate(priced):

        def error(z: float, i: int = i, p: _Priced = p) -> float:
            zeros[i] = z
            c = Curve(times[: i + 1], zeros[: i + 1].copy(), interpolation)
            return _par(p, c, discount or c) - p.quote

        zeros[i] = _solve(error, zeros[i - 1] if i else p.quote)
    return Curve(times, zeros, interpolation)
