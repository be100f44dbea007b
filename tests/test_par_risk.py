"""Par-rate and par-spread buckets against re-bootstrapping the market.

The reference for the sensitivity to one quote is its definition: move that quote by +-1bp
in the market file, bootstrap every curve again (the OIS curve, the index curve discounted
on it, the hazard curve bootstrapped on it) and reprice the trades. The engine instead
bumps the pillars and maps the pillar sensitivities through the inverse bootstrap Jacobian.
The two agree to second order in the bump: the tolerance, 1e-7 of the largest bucket,
covers the central differences' third-order terms of 1bp moves.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from xiphpc.market.data import market_from_dict
from xiphpc.market.factors import factor_set
from xiphpc.pricing.products import REGISTRY, PricingContext, Table
from xiphpc.risk.par import par_buckets
from xiphpc.risk.revalue import bump_sizes, sensitivities

CTX = PricingContext()
TODAY = np.datetime64("2026-11-24", "D")


def _doc() -> dict:
    return {
        "valuation_date": "2026-11-24",
        "base_currency": "USD",
        "fx": {"USD": 1.0},
        "curves": {
            "USD": {
                "quotes": [
                    {"type": "deposit", "tenor": "1D", "rate": 0.043},
                    {"type": "ois", "tenor": "1Y", "rate": 0.041},
                    {"type": "ois", "tenor": "3Y", "rate": 0.0385},
                    {"type": "ois", "tenor": "5Y", "rate": 0.038},
                    {"type": "ois", "tenor": "10Y", "rate": 0.039},
                ]
            }
        },
        "index_curves": {
            "USD-TERMSOFR-3M": {
                "quotes": [
                    {"type": "deposit", "tenor": "3M", "rate": 0.045},
                    {"type": "fra", "start_months": 3, "end_months": 6, "rate": 0.044},
                    {"type": "future", "start": "2027-06-16", "price": 95.7},
                    {"type": "swap", "tenor": "2Y", "rate": 0.041},
                    {"type": "swap", "tenor": "5Y", "rate": 0.040},
                    {"type": "swap", "tenor": "10Y", "rate": 0.0405},
                ]
            }
        },
        "credit_curves": {
            "ACME-SNR": {
                "currency": "USD",
                "recovery": 0.4,
                "spreads": {"tenors": ["1Y", "3Y", "5Y"], "spreads": [0.008, 0.010, 0.012]},
            }
        },
    }


def _table(product: str, n: int, **cols) -> Table:
    base = {
        "trade_id": np.array([f"T{i}" for i in range(n)]),
        "desk": np.full(n, "D"),
        "book": np.full(n, "B"),
        "counterparty": np.full(n, "C"),
        "currency": np.full(n, "USD"),
        "quantity": np.array([1e6, -2e6, 3e6, 1.5e6][:n]),
    }
    return Table(product, {**base, **cols})


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
    fidx, sens = sensitivities(pr, table, market, fs, bump_sizes(fs, 1e-4, 1e-3, 1e-3, 1e-3), CTX)
    dense = np.zeros((len(table), len(fs)))
    for i in range(len(table)):
        live = fidx[i] >= 0
        dense[i, fidx[i][live]] = sens[i][live]
    pb = par_buckets(market, fs)
    par = pb.apply(dense)
    quoted = [j for j, lb in enumerate(pb.labels) if lb.startswith(("irpar:", "cspar:"))]
    # Every pillar of this market comes from a quote.
    assert len(quoted) == len(pb.labels) == 5 + 6 + 3
    worst = 0.0
    scale = np.abs(par).max()
    for j in quoted:
        moved = [
            pr.price(table, market_from_dict(_move_quote(doc, pb.labels[j], h), "m"), CTX)["pv"]
            for h in (1e-4, -1e-4)
        ]
        ref = 0.5 * (moved[0] - moved[1])
        worst = max(worst, float(np.max(np.abs(par[:, j] - ref))))
    assert worst <= 1e-7 * scale, (worst, scale)
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
        # Pillars written as discount factors come back to the last bit or two.
        np.testing.assert_allclose(b.transform, a.transform, rtol=0.0, atol=1e-11)


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
