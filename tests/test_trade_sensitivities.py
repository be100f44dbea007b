"""Per-trade sensitivities (``[risk] trade_sensitivities``): kept for every priced trade,
summing to the node sensitivities, restored on resume, and read in the CRIF layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import write_job

from xiphpc.cli.main import main
from xiphpc.config.errors import JobError
from xiphpc.config.job import load_job
from xiphpc.results import CRIF_RISK_TYPES, open_result

RISK = "sensitivities = true\ntrade_sensitivities = true"


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("crif")
    job = write_job(
        folder,
        portfolio="generate = { trades = 2500, seed = 12, bad_fraction = 0.02 }",
        aggregation='levels = ["desk"]',
        risk=RISK,
        run="partitions = 5",
    )
    res = CliRunner().invoke(main, ["run", str(job), "--quiet"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    return folder / "job.h5"


def test_trade_sensitivities_sum_to_the_nodes(result: Path) -> None:
    with open_result(result) as r:
        per_trade = r.trade_sensitivities()
        total = r.sensitivities("total")
        trades = r.trades()
    assert len(per_trade) and (per_trade["value"] != 0).all()
    # Only priced trades, ordered by trade then factor, one row per pair.
    assert (trades["status"].to_numpy()[per_trade["trade"]] == 0).all()
    keys = per_trade["trade"].to_numpy() * 10**6 + per_trade["factor"].cat.codes.to_numpy()
    assert (np.diff(keys) > 0).all()
    assert (per_trade["trade_id"] == trades["trade_id"].to_numpy()[per_trade["trade"]]).all()
    summed = per_trade.groupby("factor", observed=True)["value"].sum()
    want = total.set_index("factor")["value"]
    assert set(summed.index.astype(str)) == set(want.index.astype(str))
    # The same terms added in another order (per partition and node, along the tree): each
    # sum agrees to the rounding of its additions, n eps of the sum of magnitudes.
    magnitude = per_trade["value"].abs().groupby(per_trade["factor"], observed=True).sum()
    count = per_trade.groupby("factor", observed=True).size()
    for factor, value in want.items():
        bound = 2 * count[factor] * np.finfo(float).eps * magnitude[factor]
        assert abs(summed[factor] - value) <= bound, factor


def test_crif_layout(result: Path) -> None:
    with open_result(result) as r:
        crif = r.crif()
        per_trade = r.trade_sensitivities()
    assert list(crif.columns) == [
        "TradeID",
        "RiskType",
        "Qualifier",
        "Bucket",
        "Label1",
        "Label2",
        "Amount",
        "AmountCurrency",
        "AmountUSD",
    ]
    assert len(crif) == len(per_trade)
    assert set(crif["RiskType"]) <= set(CRIF_RISK_TYPES.values())
    rates = crif[crif["RiskType"] == "Risk_IRCurve"]
    assert len(rates) and rates["Qualifier"].str.fullmatch(r"[A-Z]{3}").all()
    assert rates["Label1"].str.fullmatch(r"\d+[dmy]").all()
    assert set(rates["Label2"]) >= {"OIS"}
    fx = crif[crif["RiskType"] == "Risk_FX"]
    assert (fx["Label1"] == "").all() and fx["Qualifier"].str.fullmatch(r"[A-Z]{3}").all()
    np.testing.assert_array_equal(crif["Amount"], per_trade["value"])
    assert (crif["AmountCurrency"] == "USD").all()
    np.testing.assert_array_equal(crif["AmountUSD"], crif["Amount"])


def test_trade_sensitivities_need_sensitivities(tmp_path: Path) -> None:
    job = write_job(tmp_path, risk="trade_sensitivities = true")
    with pytest.raises(JobError, match="trade_sensitivities needs sensitivities = true"):
        load_job(job)
