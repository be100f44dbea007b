"""Equity and commodity options against QuantLib: American (Bjerksund–Stensland), barrier,
digital, arithmetic Asian (Monte Carlo) and Black-76 futures options, and the product layer
around them (vol surfaces, commodity underlyings, reproducible Monte Carlo).

QuantLib set-up: flat ``Actual365Fixed`` curves and vol, expiry at a whole number of days;
inputs are passed as the same year fractions. Tolerances: the same closed form evaluated
twice differs by its terms' rounding (:func:`_value_rounding`); finite-difference greeks
against QuantLib's analytic ones by their truncation and the values' rounding over the step
(:func:`_fd_greek_bounds`); Monte Carlo by ``N_SIGMA`` combined standard errors and the
bias of the fixing dates.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import EPS, sum_rounding
from markets import TODAY, VDATE, trade_table

from xiphpc.market.curves import Curve, MoneynessSurface
from xiphpc.market.curves.loader import Commodity, FuturesCurve
from xiphpc.market.data import Equity, Market, TermStructure
from xiphpc.pricing.kernels.american import american_serial
from xiphpc.pricing.kernels.asian import Draws, Fixings, asian_serial, geometric_asian_value
from xiphpc.pricing.kernels.barrier import KINDS, BarrierTerms, barrier_serial
from xiphpc.pricing.kernels.black_scholes import Greeks, OptionInputs
from xiphpc.pricing.kernels.digital import DigitalPayoff, digital_serial
from xiphpc.pricing.products.base import PricingContext
from xiphpc.pricing.products.commodity import CommodityOption
from xiphpc.pricing.products.exotics import (
    AsianOption,
    BarrierOption,
    DigitalOption,
    asian_monte_carlo,
    trade_keys,
)

ql = pytest.importorskip("QuantLib")

pytestmark = pytest.mark.usefixtures("quantlib_today")

DC = ql.Actual365Fixed()
#: A correct Monte Carlo estimate misses by more than 4 standard errors with probability
#: 6.3e-5: under 1e-3 for the comparisons of a module.
N_SIGMA = 4.0


def _process(s, r, q, v):
    today = ql.Settings.instance().evaluationDate
    return ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(float(s))),
        ql.YieldTermStructureHandle(ql.FlatForward(today, float(q), DC)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, float(r), DC)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), float(v), DC)),
    )


def _sample(seed, n, max_days=3 * 365):
    rng = np.random.default_rng(seed)
    days = rng.integers(20, max_days, n)
    return dict(
        rng=rng,
        days=days,
        tau=days / 365.0,
        spot=rng.uniform(60, 140, n),
        strike=rng.uniform(60, 140, n),
        rate=rng.uniform(-0.01, 0.08, n),
        carry=rng.uniform(-0.01, 0.06, n),
        vol=rng.uniform(0.08, 0.6, n),
        cp=rng.choice([-1.0, 1.0], n),
    )


def _close(mine, ref, scale, rel):
    """``|mine - ref| <= rel * max(|ref|, scale)``: relative, with a floor ``scale`` for
    values that are nearly zero."""
    return abs(mine - ref) <= rel * max(abs(ref), scale)


def _value_rounding(spot, strike):
    """How far two evaluations of one closed form for an option value may differ: up to 6
    terms of at most spot + strike (Bjerksund-Stensland, Reiner-Rubinstein), each within
    10 eps (exps, logs and powers at 4 ulp, normal CDFs to eps absolute, QuantLib's in the
    tails too): :func:`sum_rounding`."""
    return sum_rounding(6, spot + strike)


#: Relative rounding of a closed-form greek, 6 terms of 20 eps, above its unit (below it,
#: QuantLib's tail CDFs are only accurate in absolute terms).
GREEK = 6 * 20 * EPS


def _fd_greek_bounds(value, spot, strike, tau, rate, carry, vol):
    """Bounds of the kernels' central differences against exact ``(delta, gamma, vega,
    rho)``: truncation, h^2/6 of a third derivative, and the rounding ``value`` of the
    values over the step. Spot step h = 1e-4 spot: the third derivative over the first is
    Gamma (1 + |d1| / (vol sqrt(tau))) / (spot |Delta|) <= (1 + |d1|)^2 / (spot vol)^2 tau
    (Mills' ratio n(d) / N(-d) <= 1 + |d|), so 1e-8 (1 + |d1|)^2 / (6 vol^2 tau) relative,
    half that for gamma; vol and rate steps 1e-6, truncation below rounding. Returns
    ``(relative, absolute)`` pairs."""
    sd = vol * np.sqrt(tau)
    d1 = (np.log(spot / strike) + (rate - carry) * tau) / sd + 0.5 * sd
    rel = 1e-8 * (1 + abs(d1)) ** 2 / (6 * sd**2)
    hs = 1e-4 * spot
    return (
        (rel, value / hs),
        (rel / 2, 4 * value / hs**2),
        (0.0, value / 1e-6),
        (0.0, value / 1e-6),
    )


def _qtype(cp):
    return ql.Option.Call if cp > 0 else ql.Option.Put


def test_american_matches_quantlib_bjerksund_stensland():
    s = _sample(21, 150)
    n = s["spot"].size
    # QuantLib refuses calls with r < q < 0 (a double exercise boundary): rates >= 0 here.
    s["rate"], s["carry"] = np.abs(s["rate"]), np.abs(s["carry"])
    out = [np.empty(n) for _ in range(6)]
    american_serial(
        s["spot"], s["strike"], s["tau"], s["rate"], s["carry"], s["vol"], s["cp"], *out
    )
    today = ql.Settings.instance().evaluationDate
    for i in range(n):
        opt = ql.VanillaOption(
            ql.PlainVanillaPayoff(_qtype(s["cp"][i]), float(s["strike"][i])),
            ql.AmericanExercise(today, today + int(s["days"][i])),
        )
        opt.setPricingEngine(
            ql.BjerksundStenslandApproximationEngine(
                _process(s["spot"][i], s["rate"][i], s["carry"][i], s["vol"][i])
            )
        )
        spot = s["spot"][i]
        value = _value_rounding(spot, s["strike"][i])
        assert abs(out[0][i] - opt.NPV()) <= value, i
        if abs(s["rate"][i] - s["carry"][i]) < 1e-3:
            # The approximation's boundary has a kink at r = q (max(1, r/q) in B0): the
            # finite differences straddle it, QuantLib's derivative takes one side.
            continue
        bounds = _fd_greek_bounds(
            value, spot, s["strike"][i], s["tau"][i], s["rate"][i], s["carry"][i], s["vol"][i]
        )
        refs = (opt.delta(), opt.gamma(), opt.vega(), opt.rho())
        for j, ref, (rel, tol) in zip((1, 2, 3, 5), refs, bounds, strict=True):
            assert abs(out[j][i] - ref) <= rel * abs(ref) + tol, (i, j)
        # Theta is the one-day change (times 365): against QuantLib one day closer to expiry.
        later = ql.VanillaOption(
            ql.PlainVanillaPayoff(_qtype(s["cp"][i]), float(s["strike"][i])),
            ql.AmericanExercise(today, today + int(s["days"][i]) - 1),
        )
        later.setPricingEngine(
            ql.BjerksundStenslandApproximationEngine(
                _process(s["spot"][i], s["rate"][i], s["carry"][i], s["vol"][i])
            )
        )
        # The same one-day difference on either side: four values' rounding, times 365.
        assert abs(out[4][i] - 365 * (later.NPV() - opt.NPV())) <= 4 * 365 * value, i


def test_american_accuracy_against_finite_differences():
    """Bjerksund–Stensland (1993) is a lower bound; on this sample (expiries to 3 years, vols
    10-50%, rates and yields 0-8%) it is within 0.2% of the strike of a 800x800
    Crank–Nicolson solution (the stated accuracy of the American pricer). The grid's own
    error, second order, is about a third of its change from 400x400 (Richardson): above
    the solution by at most that change."""
    rng = np.random.default_rng(17)
    n = 30
    spot = rng.uniform(70, 130, n)
    days = rng.integers(30, 3 * 365, n)
    r, q, v = rng.uniform(0, 0.08, n), rng.uniform(0, 0.08, n), rng.uniform(0.1, 0.5, n)
    cp = rng.choice([-1.0, 1.0], n)
    out = [np.empty(n) for _ in range(6)]
    american_serial(spot, np.full(n, 100.0), days / 365.0, r, q, v, cp, *out)
    today = ql.Settings.instance().evaluationDate
    for i in range(n):
        grid = {}
        for size in (400, 800):
            opt = ql.VanillaOption(
                ql.PlainVanillaPayoff(_qtype(cp[i]), 100.0),
                ql.AmericanExercise(today, today + int(days[i])),
            )
            opt.setPricingEngine(
                ql.FdBlackScholesVanillaEngine(_process(spot[i], r[i], q[i], v[i]), size, size)
            )
            grid[size] = opt.NPV()
        err = out[0][i] - grid[800]
        assert -0.2 <= err <= abs(grid[800] - grid[400]), (i, err, grid)


def test_barriers_match_quantlib_analytic_engine():
    s = _sample(22, 400)
    n = s["spot"].size
    rng = s["rng"]
    kind_names = rng.choice(list(KINDS), n)
    kind = np.array([KINDS[k] for k in kind_names], dtype=np.int64)
    down = np.isin(kind_names, ["down_in", "down_out"])
    # Barriers on the not-yet-hit side of the spot.
    barrier = np.where(
        down, s["spot"] * rng.uniform(0.6, 0.99, n), s["spot"] * rng.uniform(1.01, 1.5, n)
    )
    rebate = np.where(rng.random(n) < 0.5, rng.uniform(0.5, 5.0, n), 0.0)
    # QuantLib's rebate term needs mu^2 + 2 r / vol^2 >= 0: keep rates non-negative here.
    rate = np.abs(s["rate"])
    out = [np.empty(n) for _ in range(6)]
    barrier_serial(
        OptionInputs(s["spot"], s["strike"], s["tau"], rate, s["carry"], s["vol"], s["cp"]),
        BarrierTerms(barrier, rebate, kind),
        Greeks(*out),
    )
    qkind = {
        "down_in": ql.Barrier.DownIn,
        "up_in": ql.Barrier.UpIn,
        "down_out": ql.Barrier.DownOut,
        "up_out": ql.Barrier.UpOut,
    }
    today = ql.Settings.instance().evaluationDate
    for i in range(n):
        quote = ql.SimpleQuote(float(s["spot"][i]))
        proc = ql.BlackScholesMertonProcess(
            ql.QuoteHandle(quote),
            ql.YieldTermStructureHandle(ql.FlatForward(today, float(s["carry"][i]), DC)),
            ql.YieldTermStructureHandle(ql.FlatForward(today, float(rate[i]), DC)),
            ql.BlackVolTermStructureHandle(
                ql.BlackConstantVol(today, ql.NullCalendar(), float(s["vol"][i]), DC)
            ),
        )
        opt = ql.BarrierOption(
            qkind[kind_names[i]],
            float(barrier[i]),
            float(rebate[i]),
            ql.PlainVanillaPayoff(_qtype(s["cp"][i]), float(s["strike"][i])),
            ql.EuropeanExercise(today + int(s["days"][i])),
        )
        opt.setPricingEngine(ql.AnalyticBarrierEngine(proc))
        value = _value_rounding(s["spot"][i], s["strike"][i])
        assert abs(out[0][i] - opt.NPV()) <= value, i
        if abs(s["spot"][i] - barrier[i]) > 0.05 * s["spot"][i]:
            # Delta against QuantLib's price moved by the same spot step: the same
            # truncation, so only the four values' rounding over 2 h.
            h = 1e-4 * s["spot"][i]
            quote.setValue(float(s["spot"][i] + h))
            up = opt.NPV()
            quote.setValue(float(s["spot"][i] - h))
            dn = opt.NPV()
            assert abs(out[1][i] - (up - dn) / (2 * h)) <= 4 * value / (2 * h), i


def test_barrier_already_reached():
    one = lambda x: np.array([x], dtype=float)  # noqa: E731
    for kind, expect_rebate in (("down_out", True), ("down_in", False)):
        out = [np.empty(1) for _ in range(6)]
        option = OptionInputs(
            one(90.0), one(100.0), one(0.5), one(0.03), one(0.01), one(0.2), one(1.0)
        )
        barrier_serial(
            option, BarrierTerms(one(95.0), one(2.5), np.array([KINDS[kind]])), Greeks(*out)
        )
        vanilla = [np.empty(1) for _ in range(6)]
        # The asset leg of the call.
        digital_serial(option, DigitalPayoff(one(0.0), np.array([1])), Greeks(*vanilla))
        cash = [np.empty(1) for _ in range(6)]
        digital_serial(option, DigitalPayoff(one(100.0), np.array([0])), Greeks(*cash))
        want = 2.5 if expect_rebate else vanilla[0][0] - cash[0][0]
        # The vanilla's two terms either way.
        assert out[0][0] == pytest.approx(want, rel=0, abs=sum_rounding(2, 90.0 + 100.0))


def test_digitals_match_quantlib():
    s = _sample(23, 300)
    n = s["spot"].size
    rng = s["rng"]
    cash = rng.uniform(1, 20, n)
    asset = rng.integers(0, 2, n)
    out = [np.empty(n) for _ in range(6)]
    digital_serial(
        OptionInputs(*(s[k] for k in ("spot", "strike", "tau", "rate", "carry", "vol", "cp"))),
        DigitalPayoff(cash, asset),
        Greeks(*out),
    )
    today = ql.Settings.instance().evaluationDate
    for i in range(n):
        t, k = _qtype(s["cp"][i]), float(s["strike"][i])
        pay = ql.AssetOrNothingPayoff(t, k) if asset[i] else ql.CashOrNothingPayoff(t, k, cash[i])
        opt = ql.VanillaOption(pay, ql.EuropeanExercise(today + int(s["days"][i])))
        opt.setPricingEngine(
            ql.AnalyticEuropeanEngine(
                _process(s["spot"][i], s["rate"][i], s["carry"][i], s["vol"][i])
            )
        )
        ref = (opt.NPV(), opt.delta(), opt.gamma(), opt.vega(), opt.theta(), opt.rho())
        # Units: spot for the value, vega, theta and rho; 1 for delta, 1/spot for gamma.
        spot = s["spot"][i]
        units = (spot, 1.0, 1.0 / spot, spot, spot, spot)
        for j in range(6):
            assert _close(out[j][i], ref[j], units[j], GREEK), (i, j)


def test_geometric_asian_matches_quantlib():
    s = _sample(24, 40)
    today = ql.Settings.instance().evaluationDate
    for i in range(40):
        n_fix = int(s["rng"].integers(1, 30))
        step = int(s["rng"].integers(3, 40))
        fix_days = [step * (k + 1) for k in range(n_fix)]
        days = fix_days[-1]
        opt = ql.DiscreteAveragingAsianOption(
            ql.Average.Geometric,
            1.0,
            0,
            [today + d for d in fix_days],
            ql.PlainVanillaPayoff(_qtype(s["cp"][i]), float(s["strike"][i])),
            ql.EuropeanExercise(today + days),
        )
        opt.setPricingEngine(
            ql.AnalyticDiscreteGeometricAveragePriceAsianEngine(
                _process(s["spot"][i], s["rate"][i], s["carry"][i], s["vol"][i])
            )
        )
        mine = geometric_asian_value(
            s["spot"][i],
            s["strike"][i],
            s["rate"][i],
            s["carry"][i],
            s["vol"][i],
            s["cp"][i],
            step / 365.0,
            days / 365.0,
            n_fix,
            days / 365.0,
        )
        assert abs(mine - opt.NPV()) <= _value_rounding(s["spot"][i], s["strike"][i]), i


def test_arithmetic_asian_matches_quantlib_monte_carlo():
    cases = [
        (100.0, 100.0, 0.05, 0.02, 0.25, 1.0, 365, 12),
        (90.0, 95.0, 0.03, 0.0, 0.35, -1.0, 730, 24),
        (120.0, 100.0, 0.01, 0.03, 0.15, 1.0, 183, 6),
        (50.0, 55.0, 0.06, 0.01, 0.45, -1.0, 90, 3),
    ]
    today = ql.Settings.instance().evaluationDate
    m = len(cases)
    arr = np.array(cases, dtype=float)
    days = arr[:, 6].astype(int)
    n_fix = arr[:, 7].astype(np.int64)
    # Fixing days that are whole and equally spaced: days divisible by n_fix where it matters.
    tau = days / 365.0
    out = [np.empty(m) for _ in range(7)]
    asian_serial(
        OptionInputs(arr[:, 0], arr[:, 1], tau, arr[:, 2], arr[:, 3], arr[:, 4], arr[:, 5]),
        Fixings(tau / n_fix, tau, n_fix),
        Draws(np.full(m, 40_000, np.int64), np.uint64(7), np.arange(m, dtype=np.uint64)),
        1,
        Greeks(*out[:6]),
        out[6],
    )
    for i, (s0, k, r, q, v, cp, d, nf) in enumerate(cases):
        exact = d * (np.arange(nf) + 1) / nf
        fix = [today + int(round(x)) for x in exact]
        opt = ql.DiscreteAveragingAsianOption(
            ql.Average.Arithmetic,
            0.0,
            0,
            fix,
            ql.PlainVanillaPayoff(_qtype(cp), k),
            ql.EuropeanExercise(today + int(d)),
        )
        opt.setPricingEngine(
            ql.MCDiscreteArithmeticAPEngine(
                _process(s0, r, q, v),
                "pseudorandom",
                requiredSamples=40_000,
                seed=42,
                controlVariate=True,
            )
        )
        se = np.hypot(out[6][i], opt.errorEstimate())
        # QuantLib fixes on whole days, the kernel at equal steps: the average moves by the
        # mean shift dt of the fixings, so the value by at most the forward's drift
        # |r - q| s0 and the vanilla's time decay s0 v / (2 sqrt(T)) per year of shift.
        dt = abs(np.mean(np.round(exact) - exact)) / 365.0
        bias = dt * s0 * (abs(r - q) + v / (2.0 * np.sqrt(d / 365.0)))
        diff = abs(out[0][i] - opt.NPV())
        assert diff <= N_SIGMA * se + bias, (i, out[0][i], opt.NPV(), se, bias)


def _equity_market(**extra) -> Market:
    t = np.array([0.25, 1.0, 5.0])
    eq = {"ACME": Equity("USD", 100.0, 0.01, TermStructure(t, np.array([0.3, 0.25, 0.22])))}
    return Market(
        VDATE, "USD", {"USD": 1.0}, {"USD": Curve(t, np.array([0.03, 0.035, 0.04]))}, eq, **extra
    )


def _table(product, n, **cols):
    return trade_table(product, n, ids="X{i:05d}", quantity=10.0, **cols)


def test_smile_surface_gives_the_vol_at_the_strike():
    # At-the-money column = the equity's term structure; expiry on a pillar (one year).
    surf = MoneynessSurface(
        np.array([0.25, 1.0, 5.0]),
        np.array([0.8, 1.0, 1.2]),
        np.array([[0.36, 0.30, 0.32], [0.30, 0.25, 0.26], [0.25, 0.22, 0.23]]),
        reference=100.0,
    )
    m = _equity_market(vol_surfaces={"ACME": surf})
    n = 3
    cols = dict(
        underlying=np.full(n, "ACME"),
        option_type=np.array(["call", "put", "call"]),
        payoff=np.array(["cash", "asset", "cash"]),
        strike=np.array([85.0, 100.0, 115.0]),
        cash=np.full(n, np.nan),
        expiry=np.full(n, TODAY + 365),
    )
    ctx = PricingContext(valuation_date=VDATE)
    from_surface = DigitalOption().price(
        _table("digital_option", n, vol=np.full(n, np.nan), **cols), m, ctx
    )
    v = surf.vol_at(np.ones(n), cols["strike"], np.full(n, 100.0))
    given = DigitalOption().price(_table("digital_option", n, vol=v, **cols), m, ctx)
    # The same interpolation of the same surface: vols within 4 roundings, the PVs within
    # the vegas (per vol point) times that.
    dv = 4 * EPS * v
    assert np.all(np.abs(from_surface["pv"] - given["pv"]) <= np.abs(given["vega"]) / 0.01 * dv)


def test_commodity_option_is_black76_on_the_futures_curve():
    fut = FuturesCurve(np.array([0.1, 0.5, 2.0]), np.array([70.0, 72.0, 75.0]))
    m = _equity_market(
        commodities={"WTI": Commodity("USD", fut, TermStructure(np.array([1.0]), np.array([0.35])))}
    )
    n = 2
    table = _table(
        "commodity_option",
        n,
        underlying=np.full(n, "WTI"),
        option_type=np.array(["call", "put"]),
        strike=np.array([70.0, 74.0]),
        expiry=np.full(n, TODAY + 146),
        futures_expiry=np.array([TODAY + 146, TODAY + 365]),
        vol=np.full(n, np.nan),
    )
    got = CommodityOption().price(table, m, PricingContext(valuation_date=VDATE))
    today = ql.Settings.instance().evaluationDate
    r = float(m.curves["USD"].zero_rate(np.array([0.4]))[0])
    for i, t_fut in enumerate((0.4, 1.0)):
        f = float(fut.price(np.array([t_fut]))[0])
        proc = ql.BlackProcess(
            ql.QuoteHandle(ql.SimpleQuote(f)),
            ql.YieldTermStructureHandle(ql.FlatForward(today, r, DC)),
            ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), 0.35, DC)),
        )
        opt = ql.VanillaOption(
            ql.PlainVanillaPayoff(_qtype(1 - 2 * i), float(table["strike"][i])),
            ql.EuropeanExercise(today + 146),
        )
        opt.setPricingEngine(ql.AnalyticEuropeanEngine(proc))
        # Black-76, two terms, for 10 units: of at most f + K (value), f (cash delta), and
        # T (f + K) per unit rate (rho, per bp).
        k = float(table["strike"][i])
        pv, delta = sum_rounding(2, f + k) * 10, sum_rounding(2, f) * 10
        rho = sum_rounding(2, t_fut * (f + k)) * 10 * 1e-4
        assert got["pv"][i] == pytest.approx(10 * opt.NPV(), rel=0, abs=pv)
        assert got["delta"][i] == pytest.approx(10 * opt.delta() * f, rel=0, abs=delta)
        # rho holds the futures price: QuantLib's rho plus its dividend rho.
        assert got["rho"][i] == pytest.approx(
            10 * (opt.rho() + opt.dividendRho()) * 1e-4, rel=0, abs=rho
        )


def _asian_table(n, ids, **over):
    cols = dict(
        underlying=np.full(n, "ACME"),
        option_type=np.full(n, "call"),
        strike=np.full(n, 100.0),
        expiry=np.full(n, TODAY + 365),
        fixings=np.full(n, 12.0),
        averaging_start=np.full(n, "NaT", "datetime64[D]"),
        paths=np.full(n, 4000.0),
        vol=np.full(n, np.nan),
    )
    cols.update(over)
    t = _table("asian_option", n, **cols)
    t.columns["trade_id"] = np.asarray(ids)
    return t


def test_asian_monte_carlo_is_reproducible_per_trade():
    m = _equity_market()
    ids = np.array(["A1", "B2", "C3", "D4", "E5"])
    ctx = PricingContext(seed=11, valuation_date=VDATE)
    whole = AsianOption().price(_asian_table(5, ids), m, ctx)
    # Any partition and order of the same trades gives bit-identical results.
    order = np.array([3, 0, 4])
    part = AsianOption().price(_asian_table(3, ids[order]), m, ctx)
    rest = AsianOption().price(
        _asian_table(2, ids[[2, 1]]),
        m,
        PricingContext(seed=11, parallel=True, valuation_date=VDATE),
    )
    assert np.array_equal(part["pv"], whole["pv"][order])
    assert np.array_equal(rest["pv"], whole["pv"][[2, 1]])
    assert len(set(whole["pv"].tolist())) == 5  # each trade has its own draws
    other = AsianOption().price(
        _asian_table(5, ids), m, PricingContext(seed=12, valuation_date=VDATE)
    )
    assert not np.array_equal(other["pv"], whole["pv"])
    pv_only = AsianOption().price(
        _asian_table(5, ids), m, PricingContext(seed=11, pv_only=True, valuation_date=VDATE)
    )
    assert np.array_equal(pv_only["pv"], whole["pv"])


def test_asian_greeks_are_consistent_with_the_price():
    m = _equity_market()
    ctx = PricingContext(seed=3, valuation_date=VDATE)
    t = _asian_table(1, ["Z"], paths=np.array([20_000.0]))
    got = asian_monte_carlo(t, m, ctx)

    def at(spot):
        bumped = Market(
            VDATE,
            "USD",
            m.fx,
            m.curves,
            {"ACME": Equity("USD", spot, 0.01, m.equities["ACME"].vol)},
        )
        return asian_monte_carlo(t, bumped, ctx)["pv"][0]

    # Cash delta (per +100%) is the central 1% difference with the same draws: both halve
    # the difference of two path averages, each summed to paths * eps of the price.
    paths = 20_000
    bump = 0.5 * (at(101.0) - at(99.0))
    pv = abs(got["pv"][0])
    assert got["delta"][0] * 0.01 == pytest.approx(bump, rel=0, abs=2 * paths * EPS * pv)
    assert got["stderr"][0] < 0.002 * abs(got["pv"][0])


def test_trade_keys_are_fnv1a():
    # FNV-1a 64 test vectors (Fowler, Noll, Vo): "" and "a".
    assert trade_keys(np.array(["", "a"])).tolist() == [0xCBF29CE484222325, 0xAF63DC4C8601EC8C]


def test_barrier_product_flags_negative_rebate():
    m = _equity_market()
    t = _table(
        "barrier_option",
        2,
        underlying=np.full(2, "ACME"),
        option_type=np.full(2, "call"),
        strike=np.full(2, 100.0),
        barrier=np.full(2, 80.0),
        barrier_type=np.full(2, "down_out"),
        rebate=np.array([1.0, -1.0]),
        expiry=np.full(2, TODAY + 100),
        vol=np.full(2, np.nan),
    )
    flags = [mask.tolist() for mask, _, _ in BarrierOption().check(t, m) if mask.any()]
    assert flags == [[False, True]]


def test_far_tail_against_mpmath():
    """Deep out-of-the-money digitals to 1e-12 relative against 50-digit arithmetic."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 50
    spot = np.array([100.0, 100.0, 40.0])
    strike = np.array([260.0, 30.0, 130.0])
    tau, rate, carry, vol = np.full(3, 0.5), np.full(3, 0.03), np.full(3, 0.01), np.full(3, 0.2)
    cp = np.array([1.0, -1.0, 1.0])
    out = [np.empty(3) for _ in range(6)]
    option = OptionInputs(spot, strike, tau, rate, carry, vol, cp)
    digital_serial(option, DigitalPayoff(np.ones(3), np.array([0, 0, 1])), Greeks(*out))
    for i in range(3):
        s, k, t = mp.mpf(spot[i]), mp.mpf(strike[i]), mp.mpf(tau[i])
        r, q, v = mp.mpf(rate[i]), mp.mpf(carry[i]), mp.mpf(vol[i])
        d1 = (mp.log(s / k) + (r - q + v * v / 2) * t) / (v * mp.sqrt(t))
        d2 = d1 - v * mp.sqrt(t)
        c = int(cp[i])
        want = s * mp.exp(-q * t) * mp.ncdf(c * d1) if i == 2 else mp.exp(-r * t) * mp.ncdf(c * d2)
        # The tail CDF to 4 ulp and the exps to 4 ulp; d to 4 eps |d|, which moves N(d) by
        # |d| of that relative in the tail: (8 + 4 d^2) eps.
        d = float(d1 if i == 2 else d2)
        assert out[0][i] == pytest.approx(float(want), rel=(8 + 4 * d * d) * EPS, abs=0)
        assert float(want) < 1e-6 * spot[i]


def test_fx_option_reads_the_delta_surface():
    from xiphpc.market.curves import DeltaSurface
    from xiphpc.pricing.products.fx import FxOption

    t = np.array([0.25, 1.0, 3.0])
    curves = {
        "USD": Curve(t, np.array([0.04, 0.042, 0.041])),
        "EUR": Curve(t, np.array([0.02, 0.022, 0.025])),
    }
    expiries = np.array([73 / 365, 1.0])
    smile = np.array([[0.12, 0.10, 0.09, 0.095, 0.11], [0.125, 0.105, 0.095, 0.10, 0.115]])
    surf = DeltaSurface(expiries, np.array([0.1, 0.25, 0.5, 0.75, 0.9]), smile)
    # The at-the-money term structure is the surface's delta-0.5 column.
    m = Market(
        VDATE,
        "USD",
        {"USD": 1.0, "EUR": 1.1},
        curves,
        fx_vols={"EURUSD": TermStructure(expiries, smile[:, 2])},
        fx_vol_surfaces={"EURUSD": surf},
    )
    n = 3
    strike = np.array([1.00, 1.12, 1.25])
    # Expiry on the first pillar: the vol is the smile's at the strike exactly.
    cols = dict(
        underlying=np.full(n, "EURUSD"),
        option_type=np.array(["put", "call", "call"]),
        strike=strike,
        expiry=np.full(n, TODAY + 73),
    )
    ctx = PricingContext(valuation_date=VDATE)
    got = FxOption().price(_table("fx_option", n, vol=np.full(n, np.nan), **cols), m, ctx)
    tau = np.full(n, 73 / 365)
    r_d, r_f = curves["USD"].zero_rate(tau), curves["EUR"].zero_rate(tau)
    vol = surf.vol_at(tau, strike, 1.1 * np.exp((r_d - r_f) * tau))
    assert len(set(np.round(vol, 12))) == 3  # three points of the smile
    today = ql.Settings.instance().evaluationDate
    for i in range(n):
        opt = ql.VanillaOption(
            ql.PlainVanillaPayoff(_qtype(1 if i else -1), float(strike[i])),
            ql.EuropeanExercise(today + 73),
        )
        opt.setPricingEngine(ql.AnalyticEuropeanEngine(_process(1.1, r_d[i], r_f[i], vol[i])))
        # Black-Scholes, two terms of at most spot + strike, for 10 units.
        bound = 10 * sum_rounding(2, 1.1 + strike[i])
        assert got["pv"][i] == pytest.approx(10 * opt.NPV(), rel=0, abs=bound)
