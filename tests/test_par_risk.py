"""Par-rate and par-spread buckets against re-bootstrapping the market.

The reference for the sensitivity to one quote is its definition: move that quote by +-1bp
in the market file, bootstrap every curve again (the OIS curve, the index curve discounted
on it, the hazard curve bootstrapped on it) and reprice the trades. The engine instead
bumps the pillars and maps the pillar sensitivities through the inverse bootstrap Jacobian.
The two agree to second order in the bump: the tolerance covers the third-order terms of
the central differences of 1bp moves.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from conftest import EPS, dense_sensitivities
from markets import TODAY, acme_credit, sofr_3m_quotes, trade_table, usd_ois_quotes

from xiphpc.market.data import market_from_dict
from xiphpc.market.factors import factor_set
from xiphpc.pricing.products import REGISTRY, PricingContext, Table
from xiphpc.risk.par import JACOBIAN_BUMP, par_buckets
from xiphpc.risk.revalue import bump_sizes, sensitivities

CTX = PricingContext()


def _doc() -> dict:
    return {
        "valuation_date": "2026-11-24",
        "base_currency": "USD",
        "fx": {"USD": 1.0},
        "curves": {"USD": {"quotes": usd_ois_quotes(("1D", "1Y", "3Y", "5Y", "10Y"))}},
        "index_curves": {"USD-TERMSOFR-3M": {"quotes": sofr_3m_quotes(("2Y", "5Y", "10Y"))}},
        "credit_curves": {"ACME-SNR": acme_credit(("1Y", "3Y", "5Y"))},
    }


def _table(product: str, n: int, **cols) -> Table:
    return trade_table(product, n, quantity=np.array([1e6, -2e6, 3e6, 1.5e6][:n]), **cols)


def _tables() -> dict[str, Table]:
    days = np.array([400, 1200, 2100, 3400]).astype("timedelta64[D]")
    swaps = _table(
        "interest_rate_swap",
        4,
        underlying=np.full(4, "USD-TERMSOFR-3M"),
        pay_receive=np.array(["payer", "receiver", "payer", "payer"]),
        fixed_rate=np.array([0.04, 0.041, 0.039, 0.042]),
        start=np.full(4, np.datetime64("NaT", "D")),
        maturity=TODAY + days,
        fixed_frequency=np.full(4, ""),
        float_frequency=np.full(4, ""),
        fixed_day_count=np.full(4, ""),
        float_day_count=np.full(4, ""),
        spread=np.full(4, np.nan),
    )
    cds = _table(
        "credit_default_swap",
        3,
        underlying=np.full(3, "ACME-SNR"),
        protection=np.array(["buy", "sell", "buy"]),
        spread=np.array([0.01, 0.01, 0.005]),
        maturity=TODAY + days[:3],
    )
    return {"interest_rate_swap": swaps, "credit_default_swap": cds}


def _move_quote(doc: dict, label: str, h: float) -> dict:
    """``doc`` with the quote ``label`` (an irpar:/cspar: label) moved by ``h`` in rate."""
    out = copy.deepcopy(doc)
    kind, name, what = label.split(":")
    if kind == "cspar":
        sp = out["credit_curves"][name]["spreads"]
        sp["spreads"][sp["tenors"].index(what)] += h
        return out
    section = out["curves"] if name in out["curves"] else out["index_curves"]
    for q in section[name]["quotes"]:
        text = {
            "deposit": lambda q: f"DEP {q['tenor']}",
            "fra": lambda q: f"FRA {q['start_months']}Mx{q['end_months']}M",
            "future": lambda q: f"FUT {q['start']}",
            "swap": lambda q: f"SWAP {q['tenor']}",
            "ois": lambda q: f"OIS {q['tenor']}",
        }[q["type"]](q)
        if text == what:
            if q["type"] == "future":
                q["price"] -= 100.0 * h  # the future's rate is (100 - price) / 100
            else:
                q["rate"] += h
            return out
    raise KeyError(label)


@pytest.mark.parametrize("product", ["interest_rate_swap", "credit_default_swap"])
def test_par_buckets_equal_rebootstrapped_quote_moves(product: str) -> None:
    doc = _doc()
    market = market_from_dict(doc, "par.json")
    fs = factor_set(market)
    table = _tables()[product]
    pr = REGISTRY[product]
    h = 1e-4
    fidx, sens = sensitivities(pr, table, market, fs, bump_sizes(fs, h, 1e-3, 1e-3, 1e-3), CTX)
    dense = dense_sensitivities(fidx, sens, len(fs))
    pb = par_buckets(market, fs)
    par = pb.apply(dense)
    quoted = [j for j, lb in enumerate(pb.labels) if lb.startswith(("irpar:", "cspar:"))]
    # Every pillar of this market comes from a quote.
    assert len(quoted) == len(pb.labels) == 5 + 6 + 3
    worst = 0.0
    scale = np.abs(par).max()
    for j in quoted:
        moved = [
            pr.price(table, market_from_dict(_move_quote(doc, pb.labels[j], move), "m"), CTX)["pv"]
            for move in (h, -h)
        ]
        ref = 0.5 * (moved[0] - moved[1])
        worst = max(worst, float(np.max(np.abs(par[:, j] - ref))))
    # Three central differences of step h (the pillar buckets, the bootstrap Jacobian, the
    # reference) each leave h^2/6 of a third derivative, h^2 T^2/6 of the first for cash
    # flows exp(-z T), T up to the last maturity (9.3y here): 3 h^2 T^2/6 of the largest
    # bucket in all.
    t_max = float((table["maturity"] - TODAY).astype(np.float64).max()) / 365.0
    assert worst <= 3 * h**2 * t_max**2 / 6 * scale, (worst, scale)
    # Pillar and quote buckets carry the same total for a parallel move of the quotes to
    # first order; here the check is that the map is not the identity.
    assert not np.allclose(par, dense[:, pb.columns])


def test_unquoted_pillars_stand_for_themselves() -> None:
    from xiphpc.synth.generate import generate_market

    m = generate_market(3)
    fs = factor_set(m)
    pb = par_buckets(m, fs)
    ir = [j for j, f in enumerate(pb.columns) if fs.kind[f] == "ir"]
    # Generated yield curves are pillars, not quotes: identity on their columns.
    np.testing.assert_array_equal(pb.transform[np.ix_(ir, ir)], np.eye(len(ir)))
    assert all(pb.labels[j] == fs.labels[pb.columns[j]] for j in ir)
    # Generated credit curves are bootstrapped from par spreads.
    assert any(lb.startswith("cspar:") for lb in pb.labels)


def test_written_markets_keep_the_quotes_of_bootstrapped_curves() -> None:
    from xiphpc.synth.generate import generate_market

    for market in (market_from_dict(_doc(), "par.json"), generate_market(2)):
        doc = json.loads(json.dumps(market.to_dict()))
        again = market_from_dict(doc, "again.json")
        a, b = par_buckets(market, factor_set(market)), par_buckets(again, factor_set(again))
        assert a.labels == b.labels
        assert any(lb.startswith(("irpar:", "cspar:")) for lb in a.labels)
        # Pillars written as discount factors come back to an ulp or two, which redraws the
        # rounding of every repriced quote: a quote (P(s)/P(e) - 1)/tau of discount factors
        # near 1 is rounded to 2 eps/tau, tau >= 1/360 (one day ACT/360, the 1D deposit).
        # The Jacobian's central differences of step h divide that by h: two independent
        # roundings differ by E = 4 eps 360/h per entry (3.2e-9), and J^-1 moves by
        # J^-1 dJ J^-1, so by at most E (|J^-1| 1)(1' |J^-1|) entry by entry.
        e = 4 * EPS * 360 / JACOBIAN_BUMP
        t = np.abs(a.transform)
        bound = e * np.outer(t.sum(axis=1), t.sum(axis=0))
        assert np.all(np.abs(b.transform - a.transform) <= bound)


@pytest.mark.parametrize(
    ("where", "change", "message"),
    [
        ("index", lambda q: q.pop(), "5 quotes for 6 pillars"),
        ("index", lambda q: q[4].update(rate=0.041), "reprice the quotes only to"),
        ("credit", lambda t: t.pop(), "2 tenors for 3 hazard pillars"),
        ("credit", lambda t: t.__setitem__(0, "2Y"), "do not end at the hazard pillars"),
    ],
)
def test_bad_quote_metadata_names_its_field(where: str, change, message: str) -> None:
    from xiphpc.config.errors import JobError

    doc = json.loads(json.dumps(market_from_dict(_doc(), "par.json").to_dict()))
    if where == "index":
        target = doc["index_curves"]["USD-TERMSOFR-3M"]["bootstrapped_from"]["quotes"]
        field = "index_curves.USD-TERMSOFR-3M.bootstrapped_from"
    else:
        target = doc["credit_curves"]["ACME-SNR"]["bootstrapped_from"]
        field = "credit_curves.ACME-SNR.bootstrapped_from"
    change(target)
    with pytest.raises(JobError) as err:
        market_from_dict(doc, "m.json")
    text = str(err.value)
    assert field in text and message in text, text
