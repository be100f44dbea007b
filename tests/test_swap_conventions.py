"""Swaps by their index's conventions against QuantLib: IBOR legs with fixing lag, index
tenor and day count (indexed coupons); overnight-indexed swaps compounding in arrears with
lookback, observation shift or lockout and a payment lag; seasoned swaps with past fixings.

QuantLib set-up: the conventions table's row as an ``IborIndex`` or ``OvernightIndex`` on
the same curves (:func:`markets.ql_rates_handles`), ``IborCoupon.createIndexedCoupons()``
(the forward spans the index tenor from the fixing's value date), ``OvernightIndexedSwap``
with the compounding settings, fixings added to the index. Every price is per unit notional.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import sum_rounding
from markets import (
    CALENDARS,
    IBORS,
    OVERNIGHT,
    TODAY,
    VDATE,
    qdate,
    ql_calendar,
    ql_day_count,
    ql_index_of,
    ql_rates_handles,
    ql_schedule,
    rates_curves,
    rates_market,
    trade_table,
)

from xiphpc.market.conventions import INDICES
from xiphpc.market.curves import calendar
from xiphpc.market.fixings import Fixings, parse_fixings
from xiphpc.pricing.products.base import PricingContext
from xiphpc.pricing.products.rates import InterestRateSwap
from xiphpc.pricing.status import Status
from xiphpc.pricing.validation import validate_table

ql = pytest.importorskip("QuantLib")

pytestmark = pytest.mark.usefixtures("quantlib_today")

CTX = PricingContext(valuation_date=VDATE)


def _market():
    """:func:`markets.rates_market` with every currency of the indices on the USD curves:
    the IBOR indices projected on the 3M curve, the overnight ones on the discount curve."""
    m = rates_market()
    disc, proj = m.curves["USD"], m.index_curves["USD-LIBOR-3M"]
    for name in IBORS + OVERNIGHT:
        ccy = INDICES[name].currency
        m.curves[ccy] = disc
        m.fx[ccy] = 1.0
        if name in IBORS:
            m.index_curves[name] = proj
    return m


def _handles():
    disc, proj = rates_curves()
    return ql_rates_handles(disc.zero_rates, proj.zero_rates)


def _fixing_series(name: str, first: np.datetime64, last: np.datetime64, rng) -> dict:
    """Fixings on every fixing-calendar business day of ``[first, last]``."""
    days = np.arange(first, last + 1)
    days = days[calendar(INDICES[name].calendar).is_business_day(days)]
    return dict(
        zip(days.astype(str), np.round(0.03 + 0.01 * rng.random(days.size), 6), strict=True)
    )


@pytest.fixture
def indexed_coupons():
    """QuantLib's IBOR coupons forward over the index tenor (not par coupons)."""
    ql.IborCoupon.createIndexedCoupons()
    yield
    ql.IborCoupon.createAtParCoupons()
    ql.IndexManager.instance().clearHistories()


def _days(rng, lo, hi, n):
    return rng.integers(lo, hi, n).astype("timedelta64[D]")


def _swaps(rng, n, names, start, **cols):
    first = np.where(np.isnat(start) | (start < TODAY), TODAY, start)
    maturity = first + _days(rng, 200, 365 * 15, n)
    c = [INDICES[str(x)] for x in names]
    table = trade_table(
        "interest_rate_swap",
        n,
        currency=np.array([x.currency for x in c]),
        underlying=np.asarray(names),
        pay_receive=rng.choice(["payer", "receiver"], n),
        fixed_rate=rng.uniform(0.01, 0.07, n),
        start=start,
        maturity=maturity,
        fixed_frequency=rng.choice(["6M", "12M"], n),
        spread=rng.uniform(-0.003, 0.003, n),
        calendar=rng.choice(CALENDARS, n),
        **cols,
    )
    # An empty start, as a file gives it: missing, the valuation date.
    table.missing["start"] = np.isnat(table["start"])
    return table


def _cal(table, i):
    c = str(table["calendar"][i])
    return c or str(table["currency"][i])


def _start(table, i):
    s = table["start"][i]
    return TODAY if np.isnat(s) else s


def _ql_ibor_swap(table, i, hd, index):
    cal = _cal(table, i)
    start, mat = _start(table, i), table["maturity"][i]
    fixed = ql.FixedRateLeg(
        ql_schedule(start, mat, int(table["fixed_frequency"][i][:-1]), cal),
        ql_day_count(str(table["fixed_day_count"][i])),
        [1.0],
        [float(table["fixed_rate"][i])],
    )
    floating = ql.IborLeg(
        [1.0],
        ql_schedule(start, mat, int(table["float_frequency"][i][:-1]), cal),
        index,
        ql_day_count(str(table["float_day_count"][i])),
        ql.Following,
        [],
        [],
        [float(table["spread"][i])],
        withIndexedCoupons=True,
    )
    payer = table["pay_receive"][i] == "payer"
    swap = ql.Swap(fixed, floating) if payer else ql.Swap(floating, fixed)
    swap.setPricingEngine(ql.DiscountingSwapEngine(hd))
    # QuantLib's Swap pays its first leg and receives its second.
    return swap.NPV(), len(fixed) + len(floating)


def _check_ibor(table, market, hd, indices):
    got = InterestRateSwap().price(table, market, CTX)
    for i in range(len(table)):
        want, n_terms = _ql_ibor_swap(table, i, hd, indices[str(table["underlying"][i])])
        # Per unit notional, coupons of at most 1 each: one ratio of discount factors, an
        # accrual and a discount factor each, as in QuantLib.
        assert got["pv"][i] == pytest.approx(want, rel=0, abs=sum_rounding(n_terms, 1.0)), i


def test_ibor_swaps_match_quantlib_indexed_coupons(indexed_coupons):
    rng = np.random.default_rng(11)
    n = 1000
    names = rng.choice(IBORS, n)
    start = TODAY + _days(rng, 5, 700, n)
    table = _swaps(
        rng,
        n,
        names,
        start,
        float_frequency=rng.choice(["1M", "3M", "6M"], n),
        fixed_day_count=rng.choice(["30/360", "ACT/360", "ACT/365F"], n),
        float_day_count=rng.choice(["ACT/360", "ACT/365F", "30/360"], n),
    )
    m = _market()
    hd, hp = _handles()
    _check_ibor(table, m, hd, {x: ql_index_of(x, hp) for x in IBORS})


def test_ibor_forward_spans_the_index_tenor_not_the_accrual():
    # A 1M float leg on a 3M index: the coupon pays a 3M forward. Against a par coupon
    # the difference is the curve's slope over the extra two months, well above rounding.
    rng = np.random.default_rng(3)
    table = _swaps(
        rng,
        1,
        ["USD-LIBOR-3M"],
        np.array([TODAY + 30]),
        float_frequency=np.array(["1M"]),
        fixed_day_count=np.array(["30/360"]),
        float_day_count=np.array(["ACT/360"]),
    )
    m = _market()
    m.index_curves["USD-OTHER-3M"] = m.index_curves["USD-LIBOR-3M"]
    par = trade_table(
        "interest_rate_swap", 1, **{**table.columns, "underlying": np.array(["USD-OTHER-3M"])}
    )
    a = InterestRateSwap().price(table, m, CTX)["pv"][0]
    b = InterestRateSwap().price(par, m, CTX)["pv"][0]
    assert abs(a - b) > 1e-5


METHODS = ("plain", "lookback", "observation_shift", "lockout")


def _ql_ois(table, i, hd, index):
    c = INDICES[str(table["underlying"][i])]
    cal = _cal(table, i)
    start, mat = _start(table, i), table["maturity"][i]
    method = str(table["compounding"][i])
    days = int(table["compounding_days"][i])
    look = days if method in ("lookback", "observation_shift") else 0
    lock = days if method == "lockout" else 0
    swap = ql.OvernightIndexedSwap(
        ql.Swap.Payer if table["pay_receive"][i] == "payer" else ql.Swap.Receiver,
        [1.0],
        ql_schedule(start, mat, int(table["fixed_frequency"][i][:-1]), cal),
        float(table["fixed_rate"][i]),
        ql_day_count(str(table["fixed_day_count"][i])),
        [1.0],
        ql_schedule(start, mat, int(table["float_frequency"][i][:-1]), cal),
        index,
        float(table["spread"][i]),
        c.payment_lag,
        ql.Following,
        ql_calendar(cal),
        False,
        ql.RateAveraging.Compound,
        look,
        lock,
        method == "observation_shift",
    )
    swap.setPricingEngine(ql.DiscountingSwapEngine(hd))
    # Rounding grows with the daily factors: at most one per calendar day of the swap.
    n_terms = len(swap.leg(0)) + int((mat - start).astype(int)) + 10
    return swap.NPV(), n_terms


def _ois_table(rng, n, start):
    names = rng.choice(OVERNIGHT, n)
    return _swaps(
        rng,
        n,
        names,
        start,
        float_frequency=rng.choice(["3M", "6M", "12M"], n),
        fixed_day_count=rng.choice(["ACT/360", "ACT/365F"], n),
        float_day_count=np.array([INDICES[str(x)].day_count for x in names]),
        compounding=rng.choice(METHODS, n),
        compounding_days=rng.integers(1, 6, n).astype(np.float64),
    )


def _check_ois(table, market, hd, indices):
    status, reason = validate_table(table, market)
    got = InterestRateSwap().price(table, market, CTX)
    for i in range(len(table)):
        if status[i] != Status.OK:
            # A lockout as long as a (stub) period: QuantLib refuses it too.
            assert status[i] == Status.BAD_VALUE and "lockout" in reason[i], reason[i]
            with pytest.raises(RuntimeError, match="[Ll]ockout"):
                _ql_ois(table, i, hd, indices[str(table["underlying"][i])])
            continue
        want, n_terms = _ql_ois(table, i, hd, indices[str(table["underlying"][i])])
        # Compounded coupons: QuantLib multiplies a factor a day where the products
        # telescope; each factor near 1 is off by a few ulp, 20 eps a term in all.
        assert got["pv"][i] == pytest.approx(want, rel=0, abs=sum_rounding(n_terms, 1.0)), (
            i,
            table["compounding"][i],
        )
    assert np.mean(status == Status.OK) > 0.9


def test_ois_swaps_match_quantlib():
    rng = np.random.default_rng(12)
    n = 1000
    # Starts beyond the longest lookback: no fixing falls before the valuation date.
    start = TODAY + _days(rng, 15, 500, n)
    table = _ois_table(rng, n, start)
    hd, _ = _handles()
    _check_ois(table, _market(), hd, {x: ql_index_of(x, hd) for x in OVERNIGHT})


def test_ois_without_fixings_on_a_spot_start():
    # Empty start: the valuation date; its first fixing is today's, projected when not given.
    rng = np.random.default_rng(13)
    n = 1000
    table = _ois_table(rng, n, np.full(n, np.datetime64("NaT"), dtype="datetime64[D]"))
    table.columns["compounding"] = np.full(n, "plain")
    hd, _ = _handles()
    _check_ois(table, _market(), hd, {x: ql_index_of(x, hd) for x in OVERNIGHT})


def _seasoned_market(rng, names, first):
    m = _market()
    series = {x: _fixing_series(x, first, TODAY, rng) for x in names}
    m.fixings = Fixings.of(series)
    return m, series


def _add_fixings(index, series):
    for d, v in series.items():
        index.addFixing(qdate(np.datetime64(d)), float(v), True)


def test_seasoned_ois_swaps_use_past_fixings():
    rng = np.random.default_rng(14)
    n = 1000
    start = TODAY - _days(rng, 1, 400, n)
    table = _ois_table(rng, n, start)
    m, series = _seasoned_market(rng, OVERNIGHT, TODAY - 430)
    hd, _ = _handles()
    indices = {x: ql_index_of(x, hd) for x in OVERNIGHT}
    try:
        for x in OVERNIGHT:
            _add_fixings(indices[x], series[x])
        _check_ois(table, m, hd, indices)
    finally:
        ql.IndexManager.instance().clearHistories()


def test_seasoned_ibor_swaps_use_past_fixings(indexed_coupons):
    rng = np.random.default_rng(15)
    n = 1000
    start = TODAY - _days(rng, 0, 400, n)
    names = rng.choice(IBORS, n)
    table = _swaps(
        rng,
        n,
        names,
        start,
        float_frequency=rng.choice(["3M", "6M"], n),
        fixed_day_count=rng.choice(["30/360", "ACT/360"], n),
        float_day_count=rng.choice(["ACT/360", "ACT/365F"], n),
    )
    m, series = _seasoned_market(rng, IBORS, TODAY - 430)
    hd, hp = _handles()
    indices = {x: ql_index_of(x, hp) for x in IBORS}
    for x in IBORS:
        _add_fixings(indices[x], series[x])
    status, reason = validate_table(table, m)
    assert np.all(status == Status.OK), reason[status != 0][:3]
    _check_ibor(table, m, hd, indices)


def test_missing_fixing_is_a_per_trade_error():
    rng = np.random.default_rng(16)
    table = _swaps(
        rng,
        3,
        np.array(["USD-SOFR", "USD-LIBOR-3M", "USD-SOFR"]),
        np.array([TODAY - 40, TODAY - 40, TODAY + 10]),
        float_frequency=np.full(3, "3M"),
        fixed_day_count=np.full(3, "30/360"),
        float_day_count=np.full(3, "ACT/360"),
    )
    m = _market()
    # Fixings up to a week ago: the SOFR days since are missing, and the LIBOR fixing.
    m.fixings = Fixings.of({"USD-SOFR": _fixing_series("USD-SOFR", TODAY - 60, TODAY - 7, rng)})
    status, reason = validate_table(table, m)
    assert list(status) == [Status.MISSING_FIELD, Status.MISSING_FIELD, Status.OK]
    first_missing = calendar("US-SOFR").advance(np.array([TODAY - 7]), 1)[0]
    assert (
        reason[0] == f"fixings: no USD-SOFR fixing on {first_missing} (before the valuation date)"
    )
    assert "USD-LIBOR-3M" in reason[1]


def test_start_on_the_valuation_date_is_not_expired():
    rng = np.random.default_rng(17)
    table = _swaps(
        rng,
        1,
        np.array(["USD-SOFR"]),
        np.array([TODAY]),
        float_frequency=np.full(1, "12M"),
        fixed_day_count=np.full(1, "30/360"),
        float_day_count=np.full(1, "ACT/360"),
    )
    empty = trade_table(
        "interest_rate_swap",
        1,
        **{**table.columns, "start": np.array([np.datetime64("NaT")], dtype="datetime64[D]")},
    )
    empty.missing["start"] = np.array([True])
    for t in (table, empty):
        status, reason = validate_table(t, _market())
        assert status[0] == Status.OK, reason
    # An empty start is the valuation date.
    pv = [InterestRateSwap().price(t, _market(), CTX)["pv"][0] for t in (table, empty)]
    assert pv[0] == pv[1]


def test_lockout_longer_than_a_period_is_a_per_trade_error():
    rng = np.random.default_rng(18)
    table = _swaps(
        rng,
        1,
        np.array(["USD-SOFR"]),
        np.array([TODAY + 5]),
        float_frequency=np.array(["1M"]),
        fixed_day_count=np.array(["30/360"]),
        float_day_count=np.array(["ACT/360"]),
        compounding=np.array(["lockout"]),
        compounding_days=np.array([10.0]),
    )
    table.columns["maturity"] = np.array([TODAY + 5 + 14])
    status, reason = validate_table(table, _market())
    assert status[0] == Status.BAD_VALUE and "lockout" in reason[0]


def test_compounding_days_must_be_whole_and_bounded():
    rng = np.random.default_rng(19)
    table = _swaps(
        rng,
        3,
        np.full(3, "USD-SOFR"),
        np.full(3, TODAY + 5),
        float_frequency=np.full(3, "12M"),
        fixed_day_count=np.full(3, "30/360"),
        float_day_count=np.full(3, "ACT/360"),
        compounding=np.array(["lookback", "lookback", "bogus"]),
        compounding_days=np.array([2.5, 11.0, 2.0]),
    )
    status, reason = validate_table(table, _market())
    assert list(status) == [Status.BAD_VALUE] * 3
    assert "compounding_days" in reason[0] and "compounding_days" in reason[1]
    assert "compounding" in reason[2]


def test_fixings_files_csv_and_json(tmp_path):
    from pathlib import Path

    csv = "index,date,value\nUSD-SOFR,2026-11-20,0.0431\nUSD-SOFR,2026-11-19,0.043\n"
    f = parse_fixings(Path("f.csv"), csv)
    v, found = f.lookup("USD-SOFR", np.array(["2026-11-19", "2026-11-21"], dtype="datetime64[D]"))
    assert v[0] == 0.043 and list(found) == [True, False]
    js = '[{"index": "EUR-ESTR", "date": "2026-11-20", "value": 0.019}]'
    assert parse_fixings(Path("f.json"), js).lookup("EUR-ESTR", np.array([TODAY - 4]))[1][0]
    for bad, what in (
        ("index,date\nA,2026-01-01\n", "header"),
        ("index,date,value\nA,2026-13-01,0.1\n", "line 2, field 'date'"),
        ("index,date,value\nA,2026-01-01,x\n", "line 2, field 'value'"),
        ("index,date,value\nA,2026-01-01,0.1\nA,2026-01-01,0.2\n", "twice"),
    ):
        with pytest.raises(ValueError, match=what):
            parse_fixings(Path("f.csv"), bad)


def test_job_names_a_fixings_file(tmp_path, market_file):
    from conftest import write_job

    from xiphpc.config.job import load_job
    from xiphpc.engine.inputs import load_inputs

    (tmp_path / "fixings.csv").write_text("index,date,value\nUSD-SOFR,2026-11-20,0.0431\n")
    job = write_job(
        tmp_path,
        portfolio="generate = { trades = 10, seed = 1 }",
        market=f'path = "{market_file}"\nfixings = "fixings.csv"',
    )
    market, _ = load_inputs(load_job(job))
    assert market.fixings.lookup("USD-SOFR", np.array([np.datetime64("2026-11-20")]))[1][0]


def test_bad_columns_of_seasoned_swaps_are_flagged_not_raised():
    rng = np.random.default_rng(20)
    n = 5
    table = _swaps(
        rng,
        n,
        np.array(["USD-SOFR", "USD-LIBOR-3M", "USD-SOFR", "USD-SOFR", "USD-SOFR"]),
        np.full(n, TODAY - 30),
        float_frequency=np.array(["7M", "3M", "3M", "3M", "3M"]),
        fixed_day_count=np.full(n, "30/360"),
        float_day_count=np.array(["ACT/360", "ACT/360", "ACT/999", "ACT/360", "ACT/360"]),
        compounding=np.array(["plain", "plain", "plain", "sideways", "plain"]),
    )
    table.columns["maturity"] = np.array(
        [TODAY + 900, TODAY + 900, TODAY + 900, TODAY + 900, np.datetime64("NaT")]
    )
    status, reason = validate_table(table, _market())
    assert list(status[[0, 2, 3]]) == [Status.BAD_VALUE] * 3
    assert "float_frequency" in reason[0] and "float_day_count" in reason[2]
    assert "compounding" in reason[3]
    # No fixings in the market: the valid LIBOR swap lacks its first fixing.
    assert status[1] == Status.MISSING_FIELD and "USD-LIBOR-3M" in reason[1]
    assert status[4] == Status.BAD_VALUE and "maturity" in reason[4]


def test_parallel_and_serial_swap_kernels_agree_bitwise():
    # One loop body compiled twice: the same operations in the same order per trade.
    rng = np.random.default_rng(21)
    n = 60
    table = _ois_table(rng, n, TODAY - _days(rng, 1, 300, n))
    m, _ = _seasoned_market(rng, OVERNIGHT, TODAY - 330)
    serial = InterestRateSwap().price(table, m, PricingContext(valuation_date=VDATE))
    par = InterestRateSwap().price(table, m, PricingContext(valuation_date=VDATE, parallel=True))
    for k in ("pv", "rho", "theta"):
        assert np.array_equal(serial[k], par[k]), k
