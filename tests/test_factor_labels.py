"""Labels of risk factors: pillars of bootstrapped curves by the tenors the market file
quoted, the labels by time kept as aliases (history files, exact stress patterns)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
from markets import acme_credit, sofr_3m_quotes, usd_ois_quotes

from xiphpc.io.history import generate_history, historical_shifts, missing_factors
from xiphpc.market.data import market_from_dict
from xiphpc.market.factors import factor_set, pillar_labels, tenor_label
from xiphpc.risk.revalue import stress_shifts


def _doc() -> dict:
    return {
        "valuation_date": "2026-11-24",
        "base_currency": "USD",
        "fx": {"USD": 1.0},
        "curves": {
            "USD": {"quotes": usd_ois_quotes(("1D", "1Y", "3Y", "5Y", "10Y"))},
            # Pillars given as times: labelled by time.
            "EUR": {"tenors": [0.5, 731 / 365], "zero_rates": [0.02, 0.025]},
        },
        "index_curves": {"USD-TERMSOFR-3M": {"quotes": sofr_3m_quotes(("2Y", "5Y", "10Y"))}},
        "credit_curves": {"ACME-SNR": acme_credit(("1Y", "3Y", "5Y"))},
    }


def _labels(fs, prefix: str) -> list[str]:
    return [lb for lb in fs.labels if lb.startswith(prefix)]


def test_quoted_pillars_take_their_tenors() -> None:
    market = market_from_dict(_doc(), "m.json")
    fs = factor_set(market)
    assert _labels(fs, "ir:USD:") == [f"ir:USD:{t}" for t in ("1D", "1Y", "3Y", "5Y", "10Y")]
    # The 2026-11-24 + 2Y swap matures 731 days out; the June 2027 future is quoted by date
    # and keeps its days.
    sofr = _labels(fs, "ir:USD-TERMSOFR-3M:")
    future_days = tenor_label(market.index_curves["USD-TERMSOFR-3M"].times[2])
    assert future_days.endswith("D")
    assert [lb.rsplit(":", 1)[1] for lb in sofr] == ["3M", "3Mx6M", future_days, "2Y", "5Y", "10Y"]
    assert _labels(fs, "cs:ACME-SNR:") == [f"cs:ACME-SNR:{t}" for t in ("1Y", "3Y", "5Y")]
    assert _labels(fs, "ir:EUR:") == ["ir:EUR:6M", "ir:EUR:731D"]
    # Aliases: the labels by pillar time, whatever the label.
    for lb, alias, kind, name, t in zip(
        fs.labels, fs.aliases, fs.kind, fs.name, fs.pillar, strict=True
    ):
        if kind in ("ir", "cs"):
            assert alias == f"{kind}:{name}:{tenor_label(t)}", lb
    assert "ir:USD-TERMSOFR-3M:731D" in fs.aliases
    # A market written and read back (pillars with 'bootstrapped_from') keeps the labels.
    again = market_from_dict(json.loads(json.dumps(market.to_dict())), "again.json")
    assert factor_set(again).labels == fs.labels


def test_labels_by_time_where_quoted_tenors_repeat() -> None:
    times = np.array([1.0, 731 / 365])
    assert pillar_labels(times, ("1Y", "1Y")) == (["1Y", "731D"], ["1Y", "731D"])
    assert pillar_labels(times, ("1Y",)) == (["1Y", "731D"], ["1Y", "731D"])
    assert pillar_labels(times, (None, "2Y")) == (["1Y", "2Y"], ["1Y", "731D"])


def test_stress_patterns_match_labels_and_exact_aliases() -> None:
    fs = factor_set(market_from_dict(_doc(), "m.json"))
    usd = np.array([lb.startswith("ir:USD:") for lb in fs.labels])
    np.testing.assert_array_equal(fs.match("ir:USD:*"), usd)
    two_y = fs.match("ir:USD-TERMSOFR-3M:2Y")
    assert two_y.sum() == 1
    np.testing.assert_array_equal(fs.match("ir:USD-TERMSOFR-3M:731D"), two_y)
    # Wildcards select by label only.
    assert not fs.match("ir:USD-TERMSOFR-3M:7*D").any()
    shift = stress_shifts(fs, {"cs:ACME-SNR:1826D": 0.001, "ir:*": 0.0001}, "s", "job.toml")
    assert shift[fs.labels.index("cs:ACME-SNR:5Y")] == 0.001
    assert shift[fs.labels.index("cs:ACME-SNR:3Y")] == 0.0
    assert np.all(shift[np.char.startswith(np.array(fs.labels), "ir:")] == 0.0001)


def test_histories_labelled_in_days_are_read() -> None:
    market = market_from_dict(_doc(), "m.json")
    fs = factor_set(market)
    history = generate_history(market, 30, seed=4)
    assert history.labels == fs.labels
    by_label, dates = historical_shifts(history, fs)
    # The same history as written before quoted pillars took their tenors.
    old = dataclasses.replace(history, labels=list(fs.aliases))
    assert old.labels != history.labels
    assert missing_factors(old, fs) == []
    by_alias, dates_old = historical_shifts(old, fs)
    np.testing.assert_array_equal(by_alias, by_label)
    np.testing.assert_array_equal(dates_old, dates)


def test_factor_set_kept_with_its_market_until_a_section_changes() -> None:
    from xiphpc.synth.generate import generate_market

    market = generate_market(3)
    first = factor_set(market)
    assert factor_set(market) is first
    # A curve replaced (as a scenario or a loader does) makes the factors again, and they
    # equal the ones made from scratch.
    usd = market.curves["USD"]
    market.curves["USD"] = dataclasses.replace(
        usd,
        tenors=np.append(usd.tenors, usd.tenors[-1] + 5.0),
        zero_rates=np.append(usd.zero_rates, usd.zero_rates[-1]),
    )
    again = factor_set(market)
    assert again is not first and len(again) == len(first) + 1
    assert again.labels == factor_set(dataclasses.replace(market)).labels
