"""American options by the Andersen–Lake–Offengenden fixed point
(:mod:`xiphpc.pricing.kernels.american_alo`) against QuantLib's ``QdFpAmericanEngine`` with its
high-precision scheme, and the kernel's own identities."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import valid_trades

from xiphpc.pricing.kernels.american_alo import (
    alo_value,
    american_alo_parallel,
    american_alo_serial,
)
from xiphpc.pricing.products import REGISTRY, PricingContext
from xiphpc.pricing.status import Status
from xiphpc.pricing.validation import validate_table
from xiphpc.synth.generate import generate_market

ql = pytest.importorskip("QuantLib")

#: The accuracy the kernel states, as a fraction of the strike. Budget (measured on 2,500
#: options of the test's ranges, a quarter of them low-vol with r > q, long high-vol or
#: short-dated), each part as the largest change when it alone is refined: Chebyshev
#: interpolation of the boundary with 8 + 1 nodes, spectral in sqrt(tau): 3.0e-6 (12 nodes);
#: 3 Jacobi sweeps of FP-B (6 of FP-A) from the QD+ boundary: 1.5e-6 (10 and 20 sweeps);
#: 4 Halley steps of QD+: 7e-9 (12); Gauss–Legendre with 8 and 24 points under the
#: u = tau sin^2 substitution: 2.2e-6 (16 and 32). The sum, 6.7e-6, bounds the discretisation;
#: all refined at once the kernel is within 2.2e-7 of the reference, whose high-precision
#: scheme (tanh-sinh to 1e-10) is ~1e-9 of the strike; double rounding ~1e-13. Worst seen
#: 2.5e-6.
ACCURACY = 1e-5

_TODAY = ql.Date(15, 1, 2025)


def _quantlib(spot, strike, days, r, q, vol, cp, days_later=0):
    ql.Settings.instance().evaluationDate = _TODAY
    dc = ql.Actual365Fixed()
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(float(spot))),
        ql.YieldTermStructureHandle(ql.FlatForward(_TODAY, float(q), dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(_TODAY, float(r), dc)),
        ql.BlackVolTermStructureHandle(
            ql.BlackConstantVol(_TODAY, ql.NullCalendar(), float(vol), dc)
        ),
    )
    option = ql.VanillaOption(
        ql.PlainVanillaPayoff(ql.Option.Call if cp > 0 else ql.Option.Put, float(strike)),
        ql.AmericanExercise(_TODAY, _TODAY + int(days) - days_later),
    )
    option.setPricingEngine(
        ql.QdFpAmericanEngine(process, ql.QdFpAmericanEngine.highPrecisionScheme())
    )
    return option.NPV()


def _sample(seed: int, n: int):
    rng = np.random.default_rng(seed)
    strike = rng.uniform(20.0, 200.0, n)
    return {
        "spot": strike * rng.uniform(0.5, 2.0, n),
        "strike": strike,
        "days": rng.integers(18, 3651, n),
        "rate": rng.uniform(0.0, 0.1, n),
        "carry": rng.uniform(0.0, 0.1, n),
        "vol": rng.uniform(0.05, 0.9, n),
        "cp": rng.choice([-1.0, 1.0], n),
    }


def _run(kernel, s, greeks=1):
    n = s["spot"].size
    out = [np.full(n, np.nan) for _ in range(6)]
    kernel(
        s["spot"],
        s["strike"],
        s["days"] / 365.0,
        s["rate"],
        s["carry"],
        s["vol"],
        s["cp"],
        greeks,
        *out,
    )
    return out


def test_matches_quantlib_high_precision():
    s = _sample(31, 300)
    # Low vols with the rate above the yield (where FP-A takes over) are rare in a uniform
    # draw: 100 more there; the interpolation error grows with vol^2 T and r T: 60 more with
    # expiries of 7-10 years and vols of 50-90%; and 40 short-dated (18-120 days).
    low = _sample(32, 100)
    low["vol"] = np.random.default_rng(33).uniform(0.05, 0.25, 100)
    low["carry"] = low["rate"] * np.random.default_rng(34).uniform(0.0, 0.6, 100)
    long = _sample(38, 60)
    long["days"] = np.random.default_rng(39).integers(2500, 3651, 60)
    long["vol"] = np.random.default_rng(40).uniform(0.5, 0.9, 60)
    short = _sample(41, 40)
    short["days"] = np.random.default_rng(42).integers(18, 121, 40)
    s = {k: np.concatenate([s[k], low[k], long[k], short[k]]) for k in s}
    pv = _run(american_alo_serial, s, greeks=0)[0]
    for i in range(pv.size):
        ref = _quantlib(
            *(s[k][i] for k in ("spot", "strike", "days", "rate", "carry", "vol", "cp"))
        )
        assert abs(pv[i] - ref) <= ACCURACY * s["strike"][i], (i, pv[i], ref)


def test_rate_far_below_the_yield_is_finite_and_accurate():
    # A put (call: its symmetric put) with 0 < r << q has a boundary B(0+) = r / q near 0,
    # and with a short expiry and low vol every term of the boundary update underflows;
    # scenario shifts of a near-zero curve (JPY) reach this. The early exercise premium is
    # then below (1 - e^{-r tau}) K, so the method's 1e-5 of the strike still holds.
    rng = np.random.default_rng(41)
    n = 80
    rate = 10.0 ** rng.uniform(-12.0, -2.0, n)
    s = {
        "spot": rng.uniform(30.0, 150.0, n),
        "strike": np.full(n, 100.0),
        "days": rng.choice([1, 4, 18, 110, 365, 1825], n),
        "rate": rate,
        "carry": rate + rng.uniform(1e-4, 0.3, n),
        "vol": rng.choice([0.01, 0.03, 0.1, 0.4], n),
        "cp": np.full(n, -1.0),
    }
    calls = {k: v.copy() for k, v in s.items()}
    calls["rate"], calls["carry"], calls["cp"] = s["carry"], s["rate"], np.ones(n)
    s = {k: np.concatenate([s[k], calls[k]]) for k in s}
    pv = _run(american_alo_serial, s, greeks=1)
    assert all(np.isfinite(col).all() for col in pv)
    for i in range(pv[0].size):
        ref = _quantlib(
            *(s[k][i] for k in ("spot", "strike", "days", "rate", "carry", "vol", "cp"))
        )
        assert abs(pv[0][i] - ref) <= ACCURACY * s["strike"][i], (i, pv[0][i], ref)


def test_put_call_symmetry_and_european_limit():
    s = _sample(35, 50)
    t = s["days"] / 365.0
    for i in range(50):
        args = (t[i], s["vol"][i])
        call = alo_value(
            s["spot"][i], s["strike"][i], args[0], s["rate"][i], s["carry"][i], args[1], 1.0
        )
        put = alo_value(
            s["strike"][i], s["spot"][i], args[0], s["carry"][i], s["rate"][i], args[1], -1.0
        )
        # The call is computed as that very put: the same operations, the same bits.
        assert call == put
        # No yield: a call is never exercised early, its value the European one; QuantLib's
        # analytic engine agrees to its normal-CDF accuracy (1e-6 relative, see anchors).
        euro = ql.blackFormula(
            ql.Option.Call,
            float(s["strike"][i]),
            float(s["spot"][i] * np.exp(s["rate"][i] * t[i])),
            float(s["vol"][i] * np.sqrt(t[i])),
            float(np.exp(-s["rate"][i] * t[i])),
        )
        got = alo_value(s["spot"][i], s["strike"][i], t[i], s["rate"][i], 0.0, s["vol"][i], 1.0)
        assert abs(got - euro) <= 1e-6 * max(euro, 1e-8 * s["spot"][i]) + 1e-12 * s["spot"][i]


def test_greeks_are_differences_of_the_value():
    s = _sample(36, 40)
    out = _run(american_alo_serial, s)
    t = s["days"] / 365.0
    for i in range(40):
        spot, k, r, q, v, cp = (s[x][i] for x in ("spot", "strike", "rate", "carry", "vol", "cp"))

        def val(sp=spot, tau=t[i], rr=r, vv=v, k=k, q=q, cp=cp):
            return alo_value(sp, k, tau, rr, q, vv, cp)

        # Delta, gamma, vega, rho: the kernel's central differences (steps 1e-4 spot, 1e-6)
        # against ones ten times wider. The value is smooth in each input (fixed nodes and
        # sweeps), so the two differ by the wider step's truncation, h^2/6 |V'''| (and
        # h^2/12 |V''''| for gamma), bounded with V''' <= |V''| * 10 / (spot vol sqrt t)
        # (each derivative of a Black–Scholes-type value brings about 1/(spot sd)), plus the
        # rounding of the narrower one, 4 ulp-scale value errors (1e-13 of the strike) / h.
        sd = v * np.sqrt(t[i])
        hs = 1e-3 * spot
        d_ref = (val(spot + hs) - val(spot - hs)) / (2 * hs)
        g_ref = (val(spot + hs) - 2 * val() + val(spot - hs)) / hs**2
        scale3 = 10.0 / (spot * sd)
        rnd = 1e-13 * k
        assert abs(out[1][i] - d_ref) <= hs**2 / 6 * (abs(g_ref) + 1e-6) * scale3 + rnd / (
            1e-4 * spot
        ), i
        assert abs(out[2][i] - g_ref) <= hs**2 / 12 * (abs(g_ref) + 1e-6) * scale3**2 + (
            4 * rnd / (1e-4 * spot) ** 2
        ), i
        # Vega and rho: steps 1e-5 against 1e-6; third derivatives in vol and rate of a value
        # of size <= strike are below strike * t^1.5 * 1e3 here (t <= 10, vol >= 5%).
        h = 1e-5
        third = k * (1.0 + t[i]) ** 1.5 * 1e3
        vega_ref = (val(vv=v + h) - val(vv=v - h)) / (2 * h)
        rho_ref = (val(rr=r + h) - val(rr=r - h)) / (2 * h)
        assert abs(out[3][i] - vega_ref) <= h**2 / 6 * third + rnd / 1e-6, i
        assert abs(out[5][i] - rho_ref) <= h**2 / 6 * third + rnd / 1e-6, i
        # Theta: the one-day change on the base boundary; each of the two values is within
        # the stated accuracy of QuantLib's, so their difference within twice it (x 365).
        later = _quantlib(spot, k, s["days"][i], r, q, v, cp, days_later=1)
        now = _quantlib(spot, k, s["days"][i], r, q, v, cp)
        assert abs(out[4][i] - 365 * (later - now)) <= 365 * 2 * ACCURACY * k, i


def test_domain_outside_the_method():
    # Put with r <= 0 <= q: never exercised early, the European value; q < r < 0: the European
    # value floored by the exercise value.
    euro = alo_value(100.0, 100.0, 2.0, -0.01, 0.01, 0.3, -1.0)
    t, r, q, v = 2.0, -0.01, 0.01, 0.3
    fwd = 100.0 * np.exp((r - q) * t)
    ref = ql.blackFormula(ql.Option.Put, 100.0, fwd, v * np.sqrt(t), np.exp(-r * t))
    assert abs(euro - ref) <= 1e-10 * 100.0
    deep = alo_value(50.0, 100.0, 2.0, -0.01, -0.03, 0.2, -1.0)
    assert deep == pytest.approx(50.0, abs=1e-12) or deep > 50.0


def test_serial_and_parallel_targets_bitwise():
    s = _sample(37, 500)
    for greeks in (0, 1):
        a = _run(american_alo_serial, s, greeks)
        b = _run(american_alo_parallel, s, greeks)
        for x, y in zip(a[: 6 if greeks else 1], b[: 6 if greeks else 1], strict=True):
            assert not np.isnan(x).any()
            np.testing.assert_array_equal(x, y)


def test_model_column():
    market = generate_market(5)
    table = valid_trades("american_option", market, 3000, 5, 40)
    model = table["model"].astype("<U20")
    assert (model == "bjerksund_stensland").any() and (model == "").any()
    product = REGISTRY["american_option"]
    ctx = PricingContext(valuation_date=market.valuation_date)
    mixed = product.price(table, market, ctx)
    table.columns["model"] = np.full(len(table), "alo")
    alo = product.price(table, market, ctx)
    table.columns["model"] = np.full(len(table), "bjerksund_stensland")
    bs = product.price(table, market, ctx)
    fast = model == "bjerksund_stensland"
    for key in mixed:
        np.testing.assert_array_equal(mixed[key][fast], bs[key][fast])
        np.testing.assert_array_equal(mixed[key][~fast], alo[key][~fast])
    table.columns["model"] = np.where(np.arange(len(table)) == 0, "binomial", "alo")
    table.missing["model"] = np.zeros(len(table), dtype=bool)
    status, reason = validate_table(table, market)
    assert status[0] == Status.BAD_VALUE and "model" in reason[0] and "binomial" in reason[0]
    assert (status[1:] == 0).all()
