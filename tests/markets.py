"""Markets and trades that several test modules price: one valuation date and its QuantLib
date, trade tables with the common columns, the multi-curve rates market (and its QuantLib
twin), and the par quotes of the USD curves and ACME credit curve of market files.

QuantLib is imported where it is used, so that modules without it can import this one.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from xiphpc.market.curves import Curve
from xiphpc.market.data import Market
from xiphpc.pricing.products.base import Table

VDATE = dt.date(2026, 11, 24)
TODAY = np.datetime64(VDATE, "D")


def qdate(d):
    """The QuantLib date of a date (anything ``np.datetime64`` reads)."""
    import QuantLib as ql

    y, m, day = str(np.datetime64(d, "D")).split("-")
    return ql.Date(int(day), int(m), int(y))


def trade_table(
    product: str,
    n: int,
    *,
    ids: str = "T{i}",
    desk: str = "D",
    book: str = "B",
    counterparty: str = "C",
    currency: str = "USD",
    quantity: float | np.ndarray = 1.0,
    **cols: np.ndarray,
) -> Table:
    """A table of ``n`` trades of ``product``: the common columns (ids from the format
    ``ids``, one desk, book, counterparty and currency, ``quantity`` a scalar or shape
    ``(n,)``) and the product's own ``cols``, which may replace any of them."""
    base = {
        "trade_id": np.array([ids.format(i=i) for i in range(n)]),
        "desk": np.full(n, desk),
        "book": np.full(n, book),
        "counterparty": np.full(n, counterparty),
        "currency": np.full(n, currency),
        "quantity": np.full(n, quantity, dtype=np.float64),
    }
    return Table(product, {**base, **cols})


# --- the multi-curve rates market priced against QuantLib ---------------------------------

#: Pillars of both rates curves (days from VDATE).
PILLAR_DAYS = np.array([7, 30, 91, 182, 365, 730, 1095, 1826, 2556, 3652, 5478, 7305, 10957])


def rates_curves() -> tuple[Curve, Curve]:
    """The USD discount curve (linear on zero rates) and the 3M projection curve (log-linear
    on discount factors), on :data:`PILLAR_DAYS`."""
    t = PILLAR_DAYS / 365.0
    disc = Curve(t, 0.030 + 0.008 * np.log1p(t) - 0.002 * np.sin(t), "linear_zero")
    proj = Curve(t, 0.034 + 0.009 * np.log1p(t) - 0.002 * np.sin(t), "loglinear_discount")
    return disc, proj


def rates_market(rate_vols: dict | None = None) -> Market:
    """USD on :func:`rates_curves`: discount curve ``USD``, index curve ``USD-LIBOR-3M``."""
    disc, proj = rates_curves()
    return Market(
        VDATE,
        "USD",
        {"USD": 1.0},
        {"USD": disc},
        index_curves={"USD-LIBOR-3M": proj},
        rate_vols=rate_vols or {},
    )


def ql_rates_handles(disc_zero: np.ndarray, proj_zero: np.ndarray, spread: float = 0.0):
    """QuantLib handles ``(discount, projection)`` of curves shaped as :func:`rates_curves`
    with the given pillar zero rates, both moved by the zero ``spread`` if non-zero."""
    import QuantLib as ql

    today = qdate(VDATE)
    dates = [today] + [today + int(d) for d in PILLAR_DAYS]
    # QuantLib extrapolates zero rates linearly; an extra far pillar makes them flat, as
    # the products' linear-on-zero curves are.
    z = [float(disc_zero[0]), *map(float, disc_zero), float(disc_zero[-1])]
    qd = ql.ZeroCurve(
        dates + [today + 365 * 100],
        z,
        ql.Actual365Fixed(),
        ql.NullCalendar(),
        ql.Linear(),
        ql.Continuous,
    )
    t = PILLAR_DAYS / 365.0
    qp = ql.DiscountCurve(dates, [1.0, *map(float, np.exp(-proj_zero * t))], ql.Actual365Fixed())
    qd.enableExtrapolation()
    qp.enableExtrapolation()
    hd, hp = ql.YieldTermStructureHandle(qd), ql.YieldTermStructureHandle(qp)
    if spread:
        moved = ql.QuoteHandle(ql.SimpleQuote(spread))
        hd = ql.YieldTermStructureHandle(ql.ZeroSpreadedTermStructure(hd, moved))
        hp = ql.YieldTermStructureHandle(ql.ZeroSpreadedTermStructure(hp, moved))
    return hd, hp


# --- par quotes of market files ---------------------------------------------------------------

#: USD OIS curve: the overnight deposit and OIS par rates by tenor.
USD_OIS_RATES = {"1D": 0.043, "1Y": 0.041, "3Y": 0.0385, "5Y": 0.038, "10Y": 0.039}
#: USD-TERMSOFR-3M index curve: swap par rates by tenor (after the money-market quotes).
SOFR_3M_SWAP_RATES = {"2Y": 0.041, "5Y": 0.040, "10Y": 0.0405}
#: ACME-SNR CDS par spreads by tenor.
ACME_SPREADS = {"1Y": 0.008, "3Y": 0.010, "5Y": 0.012}


def usd_ois_quotes(tenors: tuple[str, ...]) -> list[dict]:
    """Market-file quotes of the USD OIS curve at ``tenors`` (1D is the deposit)."""
    return [
        {"type": "deposit" if t == "1D" else "ois", "tenor": t, "rate": USD_OIS_RATES[t]}
        for t in tenors
    ]


def sofr_3m_quotes(swap_tenors: tuple[str, ...], **swap_fields) -> list[dict]:
    """Market-file quotes of the USD-TERMSOFR-3M curve: 3M deposit, 3Mx6M FRA, the June 2027
    future, then swaps at ``swap_tenors`` (with ``swap_fields`` such as a day count)."""
    return [
        {"type": "deposit", "tenor": "3M", "rate": 0.045},
        {"type": "fra", "start_months": 3, "end_months": 6, "rate": 0.044},
        {"type": "future", "start": "2027-06-16", "price": 95.7},
    ] + [
        {"type": "swap", "tenor": t, "rate": SOFR_3M_SWAP_RATES[t], **swap_fields}
        for t in swap_tenors
    ]


def acme_credit(tenors: tuple[str, ...]) -> dict:
    """Market-file entry of the ACME-SNR credit curve (USD, 40% recovery) from its par
    spreads at ``tenors``."""
    return {
        "currency": "USD",
        "recovery": 0.4,
        "spreads": {"tenors": list(tenors), "spreads": [ACME_SPREADS[t] for t in tenors]},
    }


#: The day counts of the products, in the order the tests draw them.
DAY_COUNTS = ("ACT/360", "ACT/365F", "30/360", "ACT/ACT ISDA")


def ql_day_count(name: str):
    """The QuantLib day counter of a day-count name of the products."""
    import QuantLib as ql

    return {
        "ACT/360": ql.Actual360,
        "ACT/365F": ql.Actual365Fixed,
        "30/360": lambda: ql.Thirty360(ql.Thirty360.BondBasis),
        "ACT/ACT ISDA": lambda: ql.ActualActual(ql.ActualActual.ISDA),
    }[name]()


def ql_ibor_index(projection, months: int = 3, day_count: str = "ACT/360"):
    """A QuantLib Ibor index projected on ``projection`` (a handle): no fixing days, the
    products' calendar and convention, so that each coupon's forward spans its accrual."""
    import QuantLib as ql

    return ql.IborIndex(
        "USD-LIBOR",
        ql.Period(months, ql.Months),
        0,
        ql.USDCurrency(),
        ql.WeekendsOnly(),
        ql.ModifiedFollowing,
        False,
        ql_day_count(day_count),
        projection,
    )


def ql_index_of(name: str, handle):
    """The QuantLib index of a row of the conventions table
    (:data:`xiphpc.market.conventions.INDICES`) projected on ``handle``: an
    ``OvernightIndex`` or an ``IborIndex`` with the row's fixing lag, calendar, tenor,
    convention, end-of-month rule and day count."""
    import QuantLib as ql

    from xiphpc.market.conventions import INDICES

    c = INDICES[name]
    dc = ql_day_count(c.day_count)
    if c.overnight:
        return ql.OvernightIndex(name, 0, ql.USDCurrency(), ql_calendar(c.calendar), dc, handle)
    convention = {"following": ql.Following, "modified_following": ql.ModifiedFollowing}
    return ql.IborIndex(
        name,
        ql.Period(c.tenor),
        c.fixing_lag,
        ql.USDCurrency(),
        ql_calendar(c.calendar),
        convention[c.convention],
        c.end_of_month,
        dc,
        handle,
    )


def ql_calendar(name: str):
    """The QuantLib calendar of a calendar name of :mod:`xiphpc.market.curves.calendar` (or
    of a currency's default calendar); ``+`` joins them (``JoinHolidays``)."""
    import QuantLib as ql

    from xiphpc.market.curves import CURRENCY_CALENDARS

    twins = {
        "US-SETTLEMENT": lambda: ql.UnitedStates(ql.UnitedStates.Settlement),
        "US-SOFR": lambda: ql.UnitedStates(ql.UnitedStates.SOFR),
        "TARGET": lambda: ql.TARGET(),
        "UK": lambda: ql.UnitedKingdom(ql.UnitedKingdom.Settlement),
        "JP": lambda: ql.Japan(),
        "CH": lambda: ql.Switzerland(),
        "CA": lambda: ql.Canada(ql.Canada.Settlement),
        "AU": lambda: ql.Australia(ql.Australia.Settlement),
        "WEEKENDS_ONLY": lambda: ql.WeekendsOnly(),
    }
    parts = [p.strip().upper() for p in name.split("+")]
    cals = [twins[CURRENCY_CALENDARS.get(p, p)]() for p in parts]
    out = cals[0]
    for c in cals[1:]:
        out = ql.JointCalendar(out, c, ql.JoinHolidays)
    return out


def ql_schedule(start, end, months: int, calendar: str = "WEEKENDS_ONLY"):
    """The products' schedule in QuantLib: backward, modified following, termination
    adjusted, no end-of-month rule; ``calendar`` a name :func:`ql_calendar` reads."""
    import QuantLib as ql

    return ql.Schedule(
        qdate(start),
        qdate(end),
        ql.Period(int(months), ql.Months),
        ql_calendar(calendar),
        ql.ModifiedFollowing,
        ql.ModifiedFollowing,
        ql.DateGeneration.Backward,
        False,
    )


#: IBOR and overnight indices of the conventions table, and the calendar names (empty: the
#: currency's) that the convention tests draw from.
IBORS = ("USD-LIBOR-3M", "EUR-EURIBOR-6M", "GBP-LIBOR-6M", "JPY-TIBOR-3M", "EUR-EURIBOR-3M")
OVERNIGHT = ("USD-SOFR", "EUR-ESTR", "GBP-SONIA", "CHF-SARON", "JPY-TONA")
CALENDARS = ["", "", "TARGET", "US-SOFR", "UK", "USD+EUR", "WEEKENDS_ONLY"]
