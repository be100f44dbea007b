"""Market data: interpolation conventions and the errors of a bad market file."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import EPS

from xiphpc.config.errors import JobError
from xiphpc.market.data import TermStructure, ZeroCurve, load_market, market_from_dict
from xiphpc.synth.generate import generate_market


def test_zero_curve_linear_on_zero_rates_flat_outside() -> None:
    c = ZeroCurve(np.array([1.0, 2.0]), np.array([0.01, 0.03]))
    # Flat outside, and halfway between the pillars a product and a sum: 2 eps.
    got = c.zero_rate(np.array([0.5, 1.5, 5.0]))
    np.testing.assert_allclose(got, [0.01, 0.02, 0.03], rtol=2 * EPS, atol=0)
    # On a pillar the exponent is 0.03 * 2 exactly; exp twice, 4 ulp each.
    assert c.discount(np.array([2.0]))[0] == pytest.approx(np.exp(-0.06), rel=8 * EPS, abs=0)


def test_vol_linear_in_total_variance() -> None:
    ts = TermStructure(np.array([1.0, 2.0]), np.array([0.2, 0.3]))
    t = 1.5
    expected = np.sqrt((0.04 * 1.0 + (0.09 * 2.0 - 0.04) * 0.5) / t)
    # Total variances of positive terms, 6 roundings on either side, halved by the root.
    assert ts.vol(np.array([t]))[0] == pytest.approx(expected, rel=8 * EPS, abs=0)
    # Flat outside: sqrt(v^2 t / t), 4 roundings.
    np.testing.assert_allclose(ts.vol(np.array([0.1, 10.0])), [0.2, 0.3], rtol=4 * EPS, atol=0)


def test_round_trip_through_json(tmp_path) -> None:
    m = generate_market(5)
    path = tmp_path / "m.json"
    path.write_text(json.dumps(m.to_dict()))
    back = load_market(path)
    assert back.to_dict() == m.to_dict()


def test_every_bad_field_is_reported() -> None:
    doc = generate_market(1).to_dict()
    doc["fx"]["EUR"] = -1.0
    doc["curves"]["USD"]["tenors"] = [2.0, 1.0] + doc["curves"]["USD"]["tenors"][2:]
    doc["equities"]["ACME"]["vol"] = 0.0
    doc["valuation_date"] = "24/11/2026"
    doc["typo"] = 1
    with pytest.raises(JobError) as err:
        market_from_dict(doc, "m.json")
    text = str(err.value)
    for field in ("fx.EUR", "curves.USD.tenors", "equities.ACME.vol", "valuation_date", "typo"):
        assert f"m.json: {field}" in text, (field, text)


def test_missing_and_unparsable_files(tmp_path) -> None:
    with pytest.raises(JobError, match="cannot read"):
        load_market(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(JobError, match="not valid JSON"):
        load_market(bad)
