"""Interest-rate products: fixed-vs-float swaps, FRAs, fixed-rate bonds, caps/floors and
European swaptions.

Curves (multi-curve): every trade discounts on its currency's curve (``market.curves``, the
OIS curve where it was bootstrapped from OIS quotes) and projects its floating rate on the
curve of its index, ``underlying``: a name of ``market.index_curves`` (``"USD-LIBOR-3M"``;
index names start with their currency code) or the currency code itself to project on the
discount curve (single curve). The trade currency must be the index's currency.

Conventions, unless the trade's columns say otherwise (see each table): schedules generated
backward from the maturity with a short first period, every date moved by modified
following on the trade's ``calendar`` column (empty: the currency's calendar,
:data:`~xiphpc.market.curves.calendar.CURRENCY_CALENDARS`, weekends only for a currency
without one); payment at each period end; fixed legs annual 30/360, floating legs quarterly
ACT/360. On an index of the conventions table (:mod:`xiphpc.market.conventions`) floating
rates follow the index: fixing lag, tenor and day count of an IBOR index, daily compounding
of an overnight one, and its payment lag (:mod:`xiphpc.market.coupons`) — for swaps, caps'
caplets, FRAs (the index fixing for their start) and swaptions' underlying swaps (which
start the IBOR fixing lag after the exercise date). On any other index, forwards are
projected over each accrual period (par coupons, no fixing lag). A swap, cap or FRA starts
at ``start`` (empty: the valuation date); swaps and caps may have started before it
(seasoned). Fixings dated before the valuation date are read from the market's fixings
(:mod:`xiphpc.market.fixings`), a missing one a per-trade error; caps and FRAs off the
table's indices project such periods from today instead.

Measures, per trade, in the trade currency and scaled by quantity (the notional or face
amount): ``pv``; ``delta``, ``gamma`` are 0 (no spot underlying); ``rho`` is the PV change for
+1bp on the zero rates of both the discount and the projection curve (symmetric difference);
``theta`` the one-day PV change with curves (and vols) held fixed as functions of time; ``vega``
(caps/floors, swaptions) the PV change per vol point of the vol the trade is priced with:
+0.01 for a lognormal (Black) vol, +1bp (0.0001) for a normal (Bachelier) vol.

Risk factors (bucketed sensitivities, scenarios): the pillars of the discount and projection
curves, the FX rate of the trade currency and, for caps/floors and swaptions priced off the
market's rate vol grid, its nodes (:mod:`xiphpc.market.factors`). Every product here values all
curve states of a scenario set or a set of bumps in one kernel call (:class:`CurveProduct`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from xiphpc.io.text import unique_inverse
from xiphpc.market.conventions import IndexConvention
from xiphpc.market.coupons import COMPOUNDING, MAX_COMPOUNDING_DAYS, float_coupons, index_of
from xiphpc.market.curve_states import CurveStates
from xiphpc.market.curves.calendar import (
    CALENDARS,
    CURRENCY_CALENDARS,
    add_months,
    adjust,
    calendar,
    calendar_codes,
)
from xiphpc.market.curves.daycount import DAY_COUNTS, year_fraction
from xiphpc.market.curves.legs import fixed_leg, times_from
from xiphpc.market.data import Market
from xiphpc.market.factors import RATE_VOL_FACTOR
from xiphpc.pricing.inputs import per_name, per_pair
from xiphpc.pricing.kernels.rates import (
    CapOutputs,
    CashflowOutputs,
    Cashflows,
    FixedPeriods,
    FraOutputs,
    FraTerms,
    Moves,
    RateOptionTerms,
    SwapOutputs,
    SwapTerms,
    SwaptionOutputs,
    allocate_outputs,
    bond_yield_serial,
    cap_parallel,
    cap_serial,
    cashflows_parallel,
    cashflows_serial,
    fra_parallel,
    fra_serial,
    measures_from_values,
    moves,
    swap_parallel,
    swap_serial,
    swaption_parallel,
    swaption_serial,
)
from xiphpc.pricing.status import Status

from .base import Column, PricingContext, Product, Revaluation, Table

__all__ = [
    "FREQUENCIES",
    "CapFloor",
    "CurveProduct",
    "FixedRateBond",
    "ForwardRateAgreement",
    "InterestRateSwap",
    "Swaption",
    "bond_analytics",
    "memo_schedules",
    "rate_checks",
]

#: Accepted coupon frequencies, by their period.
FREQUENCIES: dict[str, int] = {"1M": 1, "3M": 3, "6M": 6, "12M": 12}
_TENORS = ("1Y", "2Y", "3Y", "4Y", "5Y", "7Y", "10Y", "15Y", "20Y", "25Y", "30Y")
_VOL_TYPES = ("normal", "lognormal")
_VOL_POINT = {"lognormal": 0.01, "normal": 1e-4}

_INDEX = Column(
    "underlying",
    "str",
    "index name",
    "projection index: a market index curve (e.g. USD-LIBOR-3M) or the currency itself",
)
_PAY_RECEIVE = Column(
    "pay_receive", "choice", "", "payer pays the fixed rate", choices=("payer", "receiver")
)


def _freq(name: str, default: str, what: str) -> Column:
    return Column(
        name,
        "choice",
        "",
        f"{what} period; empty: {default}",
        required=False,
        choices=tuple(FREQUENCIES),
    )


_CALENDAR = Column(
    "calendar",
    "str",
    "",
    "schedule calendar: a calendar name (TARGET, US-SETTLEMENT, ...), a currency code, or "
    "several joined by '+'; empty: the currency's calendar",
    required=False,
)


def _calendar_names(table: Table) -> np.ndarray:
    """Calendar name of each trade, its currency's default where the column is empty."""
    default = per_name(table["currency"], lambda c: CURRENCY_CALENDARS.get(c, "WEEKENDS_ONLY"), str)
    given = table.columns.get("calendar")
    if given is None:
        return default
    given = np.asarray(given).astype(str)
    return np.where(given == "", default, given)


def _known_calendar(name: str) -> bool:
    try:
        calendar(name)
    except ValueError:
        return False
    return True


def _calendar_checks(table: Table) -> list[tuple[np.ndarray, int, Callable[[int], str]]]:
    names = _calendar_names(table)
    bad = per_name(names, lambda n: not _known_calendar(n), bool)
    accepted = (
        f"{list(CALENDARS)}, a currency of {list(CURRENCY_CALENDARS)}, or several joined by '+'"
    )
    return [
        (
            bad,
            Status.BAD_VALUE,
            lambda i: f"calendar: unknown calendar {str(names[i])!r}; accepted: {accepted}",
        )
    ]


def _term_index(name: str) -> IndexConvention | None:
    """Conventions of an IBOR index of the conventions table, None for any other name."""
    c = index_of(name)
    return c if c is not None and not c.overnight else None


def _adjust(dates: np.ndarray, names: np.ndarray, convention: str) -> np.ndarray:
    """``dates`` moved by ``convention`` on each trade's calendar ``names``."""
    code, calendars = calendar_codes(names)
    return adjust(dates, convention, code, calendars)


def _error_checks(err: np.ndarray) -> list[tuple[np.ndarray, int, Callable[[int], str]]]:
    """Checks of the per-trade errors of coupon building (shape ``(n,)``, empty: none): a
    missing past fixing, else a bad value."""
    err = np.asarray(err).astype(str)
    fixing = per_name(err, lambda e: e.startswith("fixings"), bool)
    other = (err != "") & ~fixing
    return [
        (fixing, Status.MISSING_FIELD, lambda i: str(err[i])),
        (other, Status.BAD_VALUE, lambda i: str(err[i])),
    ]


def _built_checks(
    table: Table, checks: list, ok: np.ndarray, errors: Callable[[Table], np.ndarray]
) -> list:
    """``checks`` and those of ``errors(trades)`` (:func:`_error_checks`), run on the trades
    that pass ``checks`` and ``ok`` only (the others cannot be built)."""
    bad = ~ok
    for mask, _, _ in checks:
        bad |= mask
    rows = np.flatnonzero(~bad)
    err = np.full(len(table), "", dtype=object)
    if rows.size:
        err[rows] = errors(table.subset(rows))
    return checks + _error_checks(err)


def _day_count(name: str, default: str, what: str) -> Column:
    return Column(
        name,
        "choice",
        "",
        f"{what} day count; empty: {default}",
        required=False,
        choices=DAY_COUNTS,
    )


_MEMO: dict[tuple, tuple[list, Any]] = {}


def memo_schedules(
    table: Table, market: Market, kind: Any, columns: tuple[str, ...], build: Callable[[], Any]
) -> Any:
    """``build()``, remembered while the same column arrays of ``table`` are priced again on
    the same valuation date (risk revalues one table on many shifted markets; schedules and
    year fractions do not depend on the market data)."""
    # A column the table lacks (an optional one of an in-memory table) reads as empty.
    arrays = [table.columns[c] for c in ("trade_id", *columns) if c in table.columns]
    key = (kind, market.valuation_date, *(id(a) for a in arrays))
    hit = _MEMO.get(key)
    if hit is not None and all(r() is a for r, a in zip(hit[0], arrays, strict=True)):
        return hit[1]
    value = build()
    if len(_MEMO) >= 32:
        _MEMO.clear()

    def forget(_ref, key=key) -> None:
        # The table's arrays are gone: nothing can ask for these schedules again, and a
        # run pricing pass after pass must not keep the schedules of every past pass.
        _MEMO.pop(key, None)

    _MEMO[key] = ([weakref.ref(a, forget) for a in arrays], value)
    return value


def _text(table: Table, name: str, default: str) -> np.ndarray:
    if name not in table.columns:  # an optional column an in-memory table leaves out
        return np.full(len(table), default)
    values = np.asarray(table[name]).astype(str)
    return np.where(values == "", default, values)


def _months(table: Table, name: str, default: str) -> np.ndarray:
    text = _text(table, name, default)
    return per_name(text, FREQUENCIES.__getitem__, np.int64)


def _start(table: Table, market: Market) -> np.ndarray:
    start = table["start"]
    today = np.datetime64(market.valuation_date, "D")
    return np.where(np.isnat(start), today, start)


def _curve_name(market: Market, name: str) -> str:
    """Name of the curve an index projects on: its own (a currency code, a market index
    curve) or, for an overnight index of the conventions table without a curve of its own,
    its currency's (the OIS curve), so that the currency curve's risk factors move it."""
    if name in market.curves or name in getattr(market, "index_curves", {}):
        return name
    conv = index_of(name)
    return conv.currency if conv is not None and conv.overnight else name


def _projection(market: Market, name: str):
    """Projection curve of an index name (:func:`_curve_name`), None if there is none."""
    name = _curve_name(market, name)
    if name in market.curves:
        return market.curves[name]
    return getattr(market, "index_curves", {}).get(name)


def _curve_ids(table: Table, market: Market, states: CurveStates) -> tuple:
    """Packed curves in every state (:class:`~xiphpc.market.curve_states.YieldCurves`) and,
    per trade, the index of its discount and projection curve.

    A currency code names its discount curve, which is also its single-curve projection.
    """
    disc_names = table["currency"]
    proj_names = per_name(table["underlying"], lambda u: _curve_name(market, u), str)
    names = [str(k) for k in unique_inverse(np.concatenate((disc_names, proj_names)))[0]]
    packed = states.yield_curves(names, [_projection(market, n) for n in names])
    disc = np.searchsorted(np.array(names), disc_names).astype(np.int64)
    proj = np.searchsorted(np.array(names), proj_names).astype(np.int64)
    return packed, disc, proj


def _index_checks(table: Table, market: Market) -> list[tuple[np.ndarray, int, str]]:
    und = table["underlying"]
    ccy = table["currency"]
    known = per_name(und, lambda u: _projection(market, u) is not None, bool)
    own_ccy = per_pair(und, ccy, lambda u, c: u == c or u.startswith(f"{c}-"))
    return [
        (~known, Status.UNKNOWN_UNDERLYING, "underlying: no index or currency curve of that name"),
        (known & ~own_ccy, Status.BAD_VALUE, "underlying: index of another currency"),
    ]


def rate_checks(table: Table, name: str) -> list[tuple[np.ndarray, int, str]]:
    """A rate column beyond +-100% per year is taken for a unit error (5 for 5%)."""
    x = table[name]
    bad = ~np.isnan(x) & (np.abs(x) > 1.0)
    return [(bad, Status.BAD_VALUE, f"{name}: beyond +-1 (rates are decimals: 0.05 for 5%)")]


def _order_checks(table: Table, market: Market, first: str, last: str):
    a = _start(table, market) if first == "start" else table[first]
    b = table[last]
    bad = ~np.isnat(a) & ~np.isnat(b) & (b <= a)
    return [(bad, Status.BAD_VALUE, f"{last}: not after {first}")]


def _rates_measures(pv, theta, rho, quantity, vega=None) -> dict[str, np.ndarray]:
    zero = np.zeros_like(pv)
    return {
        "pv": pv * quantity,
        "delta": zero,
        "gamma": zero.copy(),
        "vega": zero.copy() if vega is None else vega * quantity,
        "theta": theta * quantity,
        "rho": rho * quantity,
    }


class CurveProduct(Product):
    """A product whose market is curves only (yield, index, hazard curves and fixed vols).

    One kernel call values its trades under moves and curve states
    (:mod:`xiphpc.pricing.kernels.rates`): today's four moves on today's curves for :meth:`price`,
    or one unshifted move on every curve state for :meth:`value_states` (scenarios,
    bucketed bumps).
    """

    factor_kinds = ("ir", "fx", "cs")
    revaluation = Revaluation.CURVE_STATES

    def unit_values(
        self,
        table: Table,
        market: Market,
        states: CurveStates,
        mv: Moves,
        parallel: bool,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Values per unit notional under each move of ``mv`` in each state, shape
        ``(n, J, V)``, and the vega of move 0 in state 0 per vol point (shape ``(n,)``; None
        for products without a vol)."""
        raise NotImplementedError

    def price(self, table: Table, market: Market, ctx: PricingContext) -> dict[str, np.ndarray]:
        mv = moves(standard=True, pv_only=ctx.pv_only)
        values, vega = self.unit_values(table, market, CurveStates.today(), mv, ctx.parallel)
        pv, rho, theta = measures_from_values(values[:, :, 0])
        return _rates_measures(pv, theta, rho, table["quantity"], vega)

    def value_states(
        self, table: Table, market: Market, states: CurveStates, ctx: PricingContext
    ) -> np.ndarray:
        values, _ = self.unit_values(table, market, states, moves(), ctx.parallel)
        return values[:, 0, :] * table["quantity"][:, None]


_SWAP_COLUMNS = ("fixed_frequency", "float_frequency", "fixed_day_count", "float_day_count")


def _compounding(table: Table) -> tuple[np.ndarray, np.ndarray]:
    """Compounding method and its days per swap, each index's default where empty."""
    und = table["underlying"]
    method = per_name(und, lambda u: c.compounding if (c := index_of(u)) else "plain", object)
    days = per_name(und, lambda u: c.compounding_days if (c := index_of(u)) else 0, np.float64)
    if "compounding" in table.columns:
        given = np.asarray(table["compounding"]).astype(str)
        method = np.where(given == "", method, given)
    if "compounding_days" in table.columns:
        given = np.asarray(table["compounding_days"], dtype=np.float64)
        days = np.where(np.isnan(given), days, given)
    ok = np.isfinite(days) & (days >= 0) & (days <= MAX_COMPOUNDING_DAYS) & (days == np.round(days))
    return method.astype(str), np.where(ok, days, 0).astype(np.int64)


def _indexed_legs(
    table: Table,
    market: Market,
    start: np.ndarray | None = None,
    maturity: np.ndarray | None = None,
):
    """Fixed leg and floating coupons of the swaps of ``table`` by their index's conventions
    (:mod:`xiphpc.market.coupons`), from ``start`` to ``maturity`` (default: the table's
    columns)."""
    vd = market.valuation_date
    start = _start(table, market) if start is None else start
    maturity = table["maturity"] if maturity is None else maturity
    calendars = _calendar_names(table)
    method, days = _compounding(table)
    coupons = float_coupons(
        vd,
        start,
        maturity,
        _months(table, "float_frequency", "3M"),
        _text(table, "float_day_count", "ACT/360"),
        calendars,
        np.asarray(table["underlying"]).astype(str),
        method,
        days,
        market.fixings,
    )
    fx = fixed_leg(
        vd,
        start,
        maturity,
        _months(table, "fixed_frequency", "12M"),
        _text(table, "fixed_day_count", "30/360"),
        calendar=calendars,
        payment_lag=coupons.payment_lag,
    )
    return fx, coupons


_SWAP_MEMO_COLUMNS = (
    "start",
    "maturity",
    "currency",
    "calendar",
    "underlying",
    "compounding",
    "compounding_days",
    *_SWAP_COLUMNS,
)


def _swap_schedules(table: Table, market: Market):
    return memo_schedules(
        table,
        market,
        ("interest_rate_swap", market.fixings),
        _SWAP_MEMO_COLUMNS,
        lambda: _indexed_legs(table, market),
    )


def _compounding_checks(table: Table):
    out = []
    if "compounding_days" in table.columns:
        d = np.asarray(table["compounding_days"], dtype=np.float64)
        bad = ~np.isnan(d) & ((d < 0) | (d > MAX_COMPOUNDING_DAYS) | (d != np.round(d)))
        out.append(
            (
                bad,
                Status.BAD_VALUE,
                lambda i: (
                    f"compounding_days: {d[i]!r} is not a whole number of business "
                    f"days from 0 to {MAX_COMPOUNDING_DAYS}"
                ),
            )
        )
    return out


def _buildable(table: Table, market: Market) -> np.ndarray:
    """Swaps whose schedules can be generated: a maturity after the valuation date and after
    the start, and frequencies, day counts and compounding among their choices or empty (the
    column checks flag the others, by name)."""
    today = np.datetime64(market.valuation_date, "D")
    mat = table["maturity"]
    ok = ~np.isnat(mat) & (mat > today) & (mat > _start(table, market))
    for name, choices in (
        ("fixed_frequency", FREQUENCIES),
        ("float_frequency", FREQUENCIES),
        ("fixed_day_count", DAY_COUNTS),
        ("float_day_count", DAY_COUNTS),
        ("compounding", COMPOUNDING),
    ):
        if name in table.columns:
            v = np.asarray(table[name]).astype(str)
            ok &= (v == "") | np.isin(v, list(choices))
    return ok


class InterestRateSwap(CurveProduct):
    """Fixed-vs-floating interest-rate swap, projected on its index, discounted on its
    currency's curve. Quantity: notional (signed: a negative notional reverses the swap).

    The floating leg follows its index's conventions (:mod:`xiphpc.market.coupons`): an IBOR
    index of the conventions table fixes with the index's fixing lag and projects over the
    index tenor in the index's day count; an overnight index (``USD-SOFR``, ...) makes an
    overnight-indexed swap, compounding daily in arrears by ``compounding``; both pay with
    the index's payment lag. Past fixings come from the market's fixings."""

    name = "interest_rate_swap"
    description = "fixed-vs-float interest-rate or overnight-indexed swap (multi-curve)"
    columns = (
        _INDEX,
        _PAY_RECEIVE,
        Column("fixed_rate", "float", "decimal per year", "fixed coupon rate"),
        Column(
            "start",
            "date",
            "ISO date",
            "effective date, past dates allowed (seasoned swaps); empty: the valuation date",
            required=False,
            future=False,
        ),
        Column("maturity", "date", "ISO date", "termination date (unadjusted)"),
        _freq("fixed_frequency", "12M", "fixed-leg"),
        _freq("float_frequency", "3M", "floating-leg"),
        _day_count("fixed_day_count", "30/360", "fixed-leg"),
        _day_count("float_day_count", "ACT/360", "floating-leg"),
        Column(
            "spread", "float", "decimal per year", "spread over the index; empty: 0", required=False
        ),
        _CALENDAR,
        Column(
            "compounding",
            "choice",
            "",
            "overnight indices: compounding in arrears, plain, lookback, observation_shift "
            "or lockout; empty: the index's default (plain)",
            required=False,
            choices=COMPOUNDING,
        ),
        Column(
            "compounding_days",
            "float",
            "business days",
            "the lookback, shift or lockout in business days (0 to 10); empty: the index's "
            "default (0)",
            required=False,
        ),
    )
    cost_per_trade = 12.0

    def check(self, table: Table, market: Market):
        checks = (
            _index_checks(table, market)
            + _order_checks(table, market, "start", "maturity")
            + rate_checks(table, "fixed_rate")
            + _calendar_checks(table)
            + _compounding_checks(table)
        )
        bad = ~_buildable(table, market)
        for mask, _, _ in checks:
            bad |= mask
        ok = np.flatnonzero(~bad)
        if ok.size:
            # Coupons of the trades that passed: a missing past fixing or a lockout longer
            # than a period is the trade's error.
            _, coupons = _swap_schedules(table.subset(ok), market)
            err = np.full(len(table), "", dtype=object)
            err[ok] = coupons.error
            checks += _error_checks(err)
        return checks

    def unit_values(self, table, market, states, mv, parallel):
        n = len(table)
        curves, disc, proj = _curve_ids(table, market, states)
        fx, coupons = _swap_schedules(table, market)
        sign = np.where(table["pay_receive"] == "payer", 1.0, -1.0)
        terms = SwapTerms(disc, proj, table["fixed_rate"], np.nan_to_num(table["spread"]), sign)
        out = allocate_outputs(SwapOutputs, n, mv, len(states))
        kernel = swap_parallel if parallel else swap_serial
        kernel(curves, terms, FixedPeriods.of(fx), coupons.periods, mv, out)
        return out.values, None


def _fra_terms(table: Table, market: Market):
    """Per FRA: forward start, end (dates), its fraction ``tau``, the known rate (NaN:
    projected), the accrual fraction and the settlement date; and the per-trade errors."""
    n = len(table)
    today = np.datetime64(market.valuation_date, "D")
    names = _calendar_names(table)
    start = _adjust(table["start"], names, "modified_following")
    end = _adjust(table["end"], names, "modified_following")
    und = np.asarray(table["underlying"]).astype(str)
    conv = {str(u): _term_index(str(u)) for u in unique_inverse(und)[0]}
    default = per_name(und, lambda u: conv[u].day_count if conv[u] else "ACT/360", object)
    dc = _text(table, "day_count", "").astype(object)
    dc = np.where(dc == "", default, dc).astype(str)
    accrual = year_fraction(start, end, dc)
    f_start, f_end, tau = start.copy(), end.copy(), accrual.copy()
    known = np.full(n, np.nan)
    error = np.full(n, "", dtype=object)
    for name, c in conv.items():
        if c is None:
            continue
        rows = np.flatnonzero(und == name)
        # The index's fixing for the period starting at ``start`` (QuantLib's
        # ForwardRateAgreement on an IborIndex): fixed ``fixing_lag`` business days before,
        # the forward over the index tenor from the fixing's value date. As the index's
        # own fixingDate, a zero lag moves a start off the index calendar forward (a
        # coupon's fixing moves back).
        cal = calendar(c.calendar)
        fixing = cal.advance_period(start[rows], f"-{c.fixing_lag}D", "following")
        value = cal.advance(fixing, c.fixing_lag)
        mat = cal.advance_period(value, c.tenor, c.convention, end_of_month=c.end_of_month)
        f_start[rows], f_end[rows] = value, mat
        tau[rows] = year_fraction(value, mat, c.day_count)
        rate, found = market.fixings.lookup(name, fixing)
        used = found & (fixing <= today)
        known[rows[used]] = rate[used]
        for k in np.flatnonzero(~found & (fixing < today)):
            error[rows[k]] = f"fixings: no {name} fixing on {fixing[k]} (before the valuation date)"
    return (f_start, f_end, tau, known, accrual, start), error.astype(str)


_FRA_MEMO_COLUMNS = ("underlying", "start", "end", "day_count", "currency", "calendar")


def _fra_schedules(table: Table, market: Market):
    return memo_schedules(
        table,
        market,
        ("forward_rate_agreement", market.fixings),
        _FRA_MEMO_COLUMNS,
        lambda: _fra_terms(table, market),
    )


class ForwardRateAgreement(CurveProduct):
    """FRA on an index: at ``start`` the payer receives ``(F - K) a / (1 + F a)`` per unit
    notional, ``a`` the fraction of ``start`` to ``end`` (both moved by modified following
    on the trade's calendar) in ``day_count``. Quantity: notional.

    ``F`` on an IBOR index of the conventions table (:mod:`xiphpc.market.conventions`) is
    the index fixing for ``start``: fixed ``fixing_lag`` business days before it on the
    index calendar, the forward over the index tenor from the fixing's value date in the
    index's day count (QuantLib's ``ForwardRateAgreement`` on an ``IborIndex``), read from
    the market's fixings when fixed before the valuation date; ``day_count`` defaults to the
    index's. On any other index ``F`` is the forward from ``start`` to ``end`` in
    ``day_count`` (default ACT/360)."""

    name = "forward_rate_agreement"
    description = "forward rate agreement, settled at the start of its period"
    columns = (
        _INDEX,
        _PAY_RECEIVE,
        Column("fixed_rate", "float", "decimal per year", "contract rate"),
        Column("start", "date", "ISO date", "start of the rate period (settlement)"),
        Column("end", "date", "ISO date", "end of the rate period"),
        _day_count("day_count", "the index's (ACT/360 off the conventions table)", "rate period"),
        _CALENDAR,
    )
    cost_per_trade = 1.1

    def check(self, table: Table, market: Market):
        checks = (
            _index_checks(table, market)
            + _order_checks(table, market, "start", "end")
            + rate_checks(table, "fixed_rate")
            + _calendar_checks(table)
        )
        ok = ~np.isnat(table["start"]) & ~np.isnat(table["end"])
        if "day_count" in table.columns:
            v = np.asarray(table["day_count"]).astype(str)
            ok &= (v == "") | np.isin(v, list(DAY_COUNTS))
        return _built_checks(table, checks, ok, lambda t: _fra_schedules(t, market)[1])

    def unit_values(self, table, market, states, mv, parallel):
        n = len(table)
        curves, disc, proj = _curve_ids(table, market, states)
        vd = market.valuation_date
        (f_start, f_end, tau, known, accrual, pay), _ = _fra_schedules(table, market)
        sign = np.where(table["pay_receive"] == "payer", 1.0, -1.0)
        terms = FraTerms(
            disc,
            proj,
            table["fixed_rate"],
            sign,
            times_from(vd, f_start),
            times_from(vd, f_end),
            tau,
            known,
            accrual,
            times_from(vd, pay),
        )
        out = allocate_outputs(FraOutputs, n, mv, len(states))
        kernel = fra_parallel if parallel else fra_serial
        kernel(curves, terms, mv, out)
        return out.values, None


def _bond_cashflows(table: Table, market: Market):
    """Future coupons and redemption per unit face, and the accruing period's start."""
    vd = market.valuation_date
    months = _months(table, "frequency", "6M")
    dc = _text(table, "day_count", "30/360")
    mat = table["maturity"]
    # Roll the schedule back from the maturity to one period before today, so that the
    # period accruing today is a regular one.
    eff = add_months(np.full(mat.shape, np.datetime64(vd, "D")), -months)
    leg = fixed_leg(vd, eff, mat, months, dc, calendar=_calendar_names(table))
    trade = np.repeat(np.arange(len(table)), np.diff(leg.offsets))
    amount = table["coupon"][trade] * leg.accrual
    last = leg.offsets[1:] - 1
    amount[last] += 1.0
    return leg, trade, amount, months, dc


class FixedRateBond(CurveProduct):
    """Fixed-rate bullet bond redeemed at par, priced on its currency's curve (no credit
    spread). Quantity: face amount. Settlement on the valuation date.

    PV is the dirty value of the face amount; :func:`bond_analytics` gives clean and dirty
    prices, accrued interest, yield to maturity and modified duration.
    """

    name = "fixed_rate_bond"
    description = "fixed-rate bullet bond discounted on its currency's curve"
    underlying_column = None
    columns = (
        Column("coupon", "float", "decimal per year", "coupon rate"),
        Column("maturity", "date", "ISO date", "maturity (unadjusted)"),
        _freq("frequency", "6M", "coupon"),
        _day_count("day_count", "30/360", "coupon"),
        _CALENDAR,
    )
    cost_per_trade = 3.1

    def check(self, table: Table, market: Market):
        return rate_checks(table, "coupon") + _calendar_checks(table)

    def unit_values(self, table, market, states, mv, parallel):
        n = len(table)
        ccy = table["currency"]
        names = [str(c) for c in unique_inverse(ccy)[0]]
        curves = states.yield_curves(names, [market.curves[c] for c in names])
        disc = np.searchsorted(np.array(names), ccy).astype(np.int64)
        leg, _, amount, _, _ = memo_schedules(
            table,
            market,
            self.name,
            ("coupon", "maturity", "frequency", "day_count", "currency", "calendar"),
            lambda: _bond_cashflows(table, market),
        )
        out = allocate_outputs(CashflowOutputs, n, mv, len(states))
        kernel = cashflows_parallel if parallel else cashflows_serial
        kernel(curves, disc, Cashflows(leg.offsets, leg.pay, amount), mv, out)
        return out.values, None


def bond_analytics(
    table: Table, market: Market, *, tolerance: float = 1e-14
) -> dict[str, np.ndarray]:
    """Prices and yields of the bonds of a ``fixed_rate_bond`` table.

    Returns
    -------
    dict of str to ndarray, each shape ``(n,)``
        ``dirty`` and ``clean`` price and ``accrued`` interest, per 100 of face;
        ``yield`` to maturity, compounded at the coupon frequency with year fractions in the
        bond's day count (QuantLib's stepwise convention: from the accrual start of the
        current period, then from one payment date to the next); ``modified_duration`` in
        years, ``-(dP/dy) / P`` at that yield.
    """
    n = len(table)
    vd = market.valuation_date
    today = np.datetime64(vd, "D")
    pv = FixedRateBond().price(
        Table(table.product, {**table.columns, "quantity": np.ones(n)}),
        market,
        PricingContext(valuation_date=vd),
    )["pv"]
    leg, trade, amount, months, dc = _bond_cashflows(table, market)
    first = leg.offsets[:-1]
    start0 = leg.start_date[first]
    accrued = table["coupon"] * np.where(
        start0 < today, year_fraction(start0, np.full(n, today), dc), 0.0
    )
    # Stepwise yield times: the first period from today, then payment to payment.
    prev = np.empty_like(leg.end_date)
    prev[1:] = leg.end_date[:-1]
    is_first = np.zeros(trade.size, dtype=bool)
    is_first[first] = True
    dc_p = dc[trade]
    step = np.where(
        is_first,
        year_fraction(leg.start_date, leg.end_date, dc_p)
        - np.where(
            leg.start_date < today,
            year_fraction(leg.start_date, np.full(trade.size, today), dc_p),
            0.0,
        ),
        year_fraction(prev, leg.end_date, dc_p),
    )
    times = np.empty_like(step)
    for i in range(n):
        a, b = leg.offsets[i], leg.offsets[i + 1]
        times[a:b] = np.cumsum(step[a:b])
    ytm = np.empty(n)
    dur = np.empty(n)
    freq = 12.0 / months
    bond_yield_serial(leg.offsets, times, amount, pv, freq.astype(np.float64), tolerance, ytm, dur)
    return {
        "dirty": 100.0 * pv,
        "clean": 100.0 * (pv - accrued),
        "accrued": 100.0 * accrued,
        "yield": ytm,
        "modified_duration": dur,
    }


def _vol_inputs(
    table: Table,
    market: Market,
    states: CurveStates,
    expiry_t: np.ndarray,
    tenor_y: np.ndarray,
):
    """Vol of each trade in each state (shape ``(n, V)``: the trade's own, else the currency's
    rate vol grid, whose nodes the states move), whether it is normal, and its vol point."""
    own = table["vol"]
    kind = _text(table, "vol_type", "").astype("<U9")
    vol = np.repeat(np.array(own, dtype=np.float64)[:, None], len(states), axis=1)
    normal = np.zeros(len(table), dtype=np.int64)
    surfaces = getattr(market, "rate_vols", {})
    for ccy in unique_inverse(table["currency"])[0]:
        rows = np.flatnonzero((table["currency"] == ccy) & np.isnan(own))
        surf = surfaces.get(str(ccy))
        if surf is not None and rows.size:
            vol[rows] = states.grid_vols(
                surf, RATE_VOL_FACTOR[surf.kind], str(ccy), expiry_t[rows], tenor_y[rows]
            )
            kind[rows] = surf.kind
    kind = np.where(kind == "", "normal", kind)
    normal[kind == "normal"] = 1
    point = np.where(normal == 1, _VOL_POINT["normal"], _VOL_POINT["lognormal"])
    return vol, normal, point


def _vol_checks(table: Table, market: Market):
    surfaces = getattr(market, "rate_vols", {})
    has = per_name(table["currency"], lambda c: c in surfaces, bool)
    missing = np.isnan(table["vol"]) & ~has
    return [
        (
            missing,
            Status.UNKNOWN_UNDERLYING,
            "vol: empty and the market has no rate vols for the currency",
        )
    ]


_VOL = Column(
    "vol",
    "float",
    "lognormal: annualised; normal: rate units per sqrt(year)",
    "vol override; empty uses the market's rate vols",
    required=False,
    positive=True,
)
_VOL_TYPE = Column(
    "vol_type",
    "choice",
    "",
    "model of the vol: normal (Bachelier) or lognormal (Black); empty: the "
    "market surface's type, else normal",
    required=False,
    choices=_VOL_TYPES,
)


def _cap_coupons(table: Table, market: Market):
    """Caplet coupons (:class:`~xiphpc.market.coupons.FloatCoupons`): an IBOR index of the
    conventions table's, par coupons (projected from today, no lag) on any other index."""
    n = len(table)
    und = np.asarray(table["underlying"]).astype(str)
    term = per_name(und, lambda u: _term_index(u) is not None, bool)
    dc = _text(table, "day_count", "").astype(object)
    default = per_name(und, lambda u: c.day_count if (c := _term_index(u)) else "ACT/360", object)
    return float_coupons(
        market.valuation_date,
        _start(table, market),
        table["maturity"],
        _months(table, "frequency", "3M"),
        np.where(dc == "", default, dc).astype(str),
        _calendar_names(table),
        np.where(term, und, ""),
        np.full(n, "plain"),
        np.zeros(n, dtype=np.int64),
        market.fixings,
        project_par=True,
    )


_CAP_MEMO_COLUMNS = (
    "underlying",
    "start",
    "maturity",
    "frequency",
    "day_count",
    "currency",
    "calendar",
)


def _cap_schedules(table: Table, market: Market):
    return memo_schedules(
        table,
        market,
        ("cap_floor", market.fixings),
        _CAP_MEMO_COLUMNS,
        lambda: _cap_coupons(table, market),
    )


class CapFloor(CurveProduct):
    """Cap or floor on an index: a strip of caplets/floorlets, one per floating period,
    each priced with Black (lognormal) or Bachelier (normal) at one flat vol per trade, read
    from the rate vol surface at (cap maturity, index tenor), to its fixing date.
    Quantity: notional.

    On an IBOR index of the conventions table the caplets are the index's coupons
    (:mod:`xiphpc.market.coupons`): each fixes ``fixing_lag`` business days of the index
    calendar before its accrual start, its rate the forward over the index tenor from the
    fixing's value date in the index's day count, accrued in ``day_count`` (default the
    index's) and paid with the index's payment lag; a caplet fixed before the valuation date
    reads its fixing from the market's fixings and is worth its intrinsic value. On any
    other index each caplet's rate is the forward over its accrual period, fixing at its
    start (default day count ACT/360), projected from today when that is past."""

    name = "cap_floor"
    factor_kinds = ("ir", "fx", "irvol", "irlvol")
    description = "interest-rate cap or floor (Black or Bachelier caplets)"
    columns = (
        _INDEX,
        Column("cap_floor", "choice", "", "cap or floor", choices=("cap", "floor")),
        Column("strike", "float", "decimal per year", "cap or floor rate"),
        Column(
            "start",
            "date",
            "ISO date",
            "first period start, past dates allowed (seasoned caps); empty: the valuation date",
            required=False,
            future=False,
        ),
        Column("maturity", "date", "ISO date", "last period end (unadjusted)"),
        _freq("frequency", "3M", "caplet"),
        _day_count("day_count", "the index's (ACT/360 off the conventions table)", "caplet"),
        _VOL,
        _VOL_TYPE,
        _CALENDAR,
    )
    cost_per_trade = 18.0

    def check(self, table: Table, market: Market):
        checks = (
            _index_checks(table, market)
            + _order_checks(table, market, "start", "maturity")
            + _vol_checks(table, market)
            + rate_checks(table, "strike")
            + _calendar_checks(table)
        )
        today = np.datetime64(market.valuation_date, "D")
        mat = table["maturity"]
        ok = ~np.isnat(mat) & (mat > today) & (mat > _start(table, market))
        for name, choices in (("frequency", FREQUENCIES), ("day_count", DAY_COUNTS)):
            if name in table.columns:
                v = np.asarray(table[name]).astype(str)
                ok &= (v == "") | np.isin(v, list(choices))
        return _built_checks(table, checks, ok, lambda t: _cap_schedules(t, market).error)

    def unit_values(self, table, market, states, mv, parallel):
        n = len(table)
        curves, disc, proj = _curve_ids(table, market, states)
        months = _months(table, "frequency", "3M")
        coupons = _cap_schedules(table, market)
        t_mat = market.year_fraction(table["maturity"])
        vol, normal, point = _vol_inputs(table, market, states, t_mat, months / 12.0)
        omega = np.where(table["cap_floor"] == "cap", 1.0, -1.0)
        terms = RateOptionTerms(disc, proj, table["strike"], omega, vol, normal)
        out = allocate_outputs(CapOutputs, n, mv, len(states))
        kernel = cap_parallel if parallel else cap_serial
        fix_t = times_from(market.valuation_date, coupons.fixing)
        kernel(curves, terms, coupons.periods, fix_t, mv, out)
        return out.values, out.vega * point


def _swaption_dates(table: Table) -> tuple[np.ndarray, np.ndarray]:
    """Start and (unadjusted) maturity of each swaption's underlying swap: the exercise
    date moved the index's ``fixing_lag`` business days on the index calendar for an IBOR
    index of the conventions table (QuantLib's ``MakeSwaption``: the swap starts on the
    value date of a fixing on the exercise date), the exercise date otherwise."""
    expiry = table["expiry"]
    start = expiry.copy()
    und = np.asarray(table["underlying"]).astype(str)
    for name in unique_inverse(und)[0]:
        c = _term_index(str(name))
        if c is not None:
            rows = np.flatnonzero(und == name)
            # QuantLib's advance by business days: a zero lag moves an exercise date off
            # the index calendar to the next business day.
            cal = calendar(c.calendar)
            start[rows] = cal.advance_period(expiry[rows], f"{c.fixing_lag}D", "following")
    years = per_name(table["tenor"], lambda t: int(t[:-1]), np.int64)
    return start, add_months(start, 12 * years)


def _swaption_schedules(table: Table, market: Market):
    def build():
        start, maturity = _swaption_dates(table)
        return _indexed_legs(table, market, start, maturity)

    return memo_schedules(
        table,
        market,
        ("swaption", market.fixings),
        ("underlying", "expiry", "tenor", "currency", "calendar", *_SWAP_COLUMNS),
        build,
    )


class Swaption(CurveProduct):
    """European swaption, physically settled into a swap: payer (right to pay fixed) or
    receiver. Black (lognormal) or Bachelier (normal) on the forward swap rate with the
    annuity of the fixed leg (multi-curve), to the exercise date. Vol from the rate vol
    surface at (expiry, tenor) unless given. Quantity: notional of the underlying swap.

    The underlying is the swap the swap product builds (:class:`InterestRateSwap`, its
    floating coupons by the index's conventions), on the trade's calendar, starting on the
    exercise date or, on an IBOR index of the conventions table, ``fixing_lag`` business
    days of the index calendar after it (the value date of a fixing on the exercise date,
    as QuantLib's ``MakeSwaption`` builds a standard swaption)."""

    name = "swaption"
    factor_kinds = ("ir", "fx", "irvol", "irlvol")
    description = "European swaption (Black or Bachelier), physical settlement"
    columns = (
        _INDEX,
        Column(
            "payer_receiver",
            "choice",
            "",
            "payer: the right to pay fixed",
            choices=("payer", "receiver"),
        ),
        Column("strike", "float", "decimal per year", "fixed rate of the underlying swap"),
        Column(
            "expiry",
            "date",
            "ISO date",
            "exercise date; the swap starts on it, or on the value date of an IBOR fixing on it",
        ),
        Column("tenor", "choice", "", "length of the underlying swap", choices=_TENORS),
        _freq("fixed_frequency", "12M", "fixed-leg"),
        _freq("float_frequency", "3M", "floating-leg"),
        _day_count("fixed_day_count", "30/360", "fixed-leg"),
        _day_count("float_day_count", "ACT/360", "floating-leg"),
        _VOL,
        _VOL_TYPE,
        _CALENDAR,
    )
    cost_columns = ("tenor",)

    def cost(self, table: Table) -> np.ndarray:
        # Floating periods dominate: four a year. Costs are estimated before validation: an
        # unknown tenor counts as none.
        years = per_name(table["tenor"], lambda t: int(t[:-1]) if t in _TENORS else 0, np.int64)
        return 0.5 + 0.9 * years

    def check(self, table: Table, market: Market):
        checks = (
            _index_checks(table, market)
            + _vol_checks(table, market)
            + rate_checks(table, "strike")
            + _calendar_checks(table)
        )
        ok = ~np.isnat(table["expiry"]) & np.isin(np.asarray(table["tenor"]).astype(str), _TENORS)
        for name in _SWAP_COLUMNS:
            if name in table.columns:
                v = np.asarray(table[name]).astype(str)
                choices = FREQUENCIES if "frequency" in name else DAY_COUNTS
                ok &= (v == "") | np.isin(v, list(choices))
        return _built_checks(table, checks, ok, lambda t: _swaption_schedules(t, market)[1].error)

    def unit_values(self, table, market, states, mv, parallel):
        n = len(table)
        curves, disc, proj = _curve_ids(table, market, states)
        years = per_name(table["tenor"], lambda t: int(t[:-1]), np.float64)
        fx, coupons = _swaption_schedules(table, market)
        t_exp = market.year_fraction(table["expiry"])
        vol, normal, point = _vol_inputs(table, market, states, t_exp, years)
        omega = np.where(table["payer_receiver"] == "payer", 1.0, -1.0)
        terms = RateOptionTerms(disc, proj, table["strike"], omega, vol, normal)
        out = allocate_outputs(SwaptionOutputs, n, mv, len(states))
        kernel = swaption_parallel if parallel else swaption_serial
        kernel(curves, terms, t_exp, FixedPeriods.of(fx), coupons.periods, mv, out)
        return out.values, out.vega * point
