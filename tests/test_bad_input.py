"""Every kind of bad trade is flagged, excluded and counted; bad job files stop with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import valid_trades, write_job
from test_black_scholes_quantlib import mpmath_bs

from xiphpc.cli.main import main
from xiphpc.pricing.status import Status
from xiphpc.synth.generate import generate_market

HEADER = (
    "trade_id,desk,book,counterparty,currency,quantity,underlying,option_type,strike,expiry,vol"
)
GOOD = "D1,B1,CP1,USD,10,ACME,call,180,2027-06-30,"
# trade id, row (without id), expected status
ROWS = [
    ("ok-1", GOOD, Status.OK),
    ("missing", "D1,B1,CP1,USD,10,ACME,call,,2027-06-30,", Status.MISSING_FIELD),
    ("nan", "D1,B1,CP1,USD,10,ACME,call,nan,2027-06-30,", Status.NOT_A_NUMBER),
    ("neg-vol", "D1,B1,CP1,USD,10,ACME,call,180,2027-06-30,-0.2", Status.NON_POSITIVE_VOL),
    ("zero-vol", "D1,B1,CP1,USD,10,ACME,call,180,2027-06-30,0", Status.NON_POSITIVE_VOL),
    ("neg-strike", "D1,B1,CP1,USD,10,ACME,put,-5,2027-06-30,", Status.NON_POSITIVE_PRICE),
    ("bad-spot", "D1,B2,CP1,USD,10,BADSPOT,put,5,2027-06-30,", Status.NON_POSITIVE_PRICE),
    ("expired", "D1,B1,CP1,USD,10,ACME,call,180,2026-01-02,", Status.EXPIRED),
    ("expires-today", "D1,B1,CP1,USD,10,ACME,call,180,2026-11-24,", Status.EXPIRED),
    ("ccy", "D1,B1,CP1,XYZ,10,ACME,call,180,2027-06-30,", Status.UNKNOWN_CURRENCY),
    ("und", "D1,B1,CP1,USD,10,NOSUCH,call,180,2027-06-30,", Status.UNKNOWN_UNDERLYING),
    ("ok-1", GOOD, Status.DUPLICATE_ID),
    ("type", "D1,B1,CP1,USD,10,ACME,straddle,180,2027-06-30,", Status.BAD_VALUE),
    ("date", "D1,B1,CP1,USD,10,ACME,call,180,2027-13-45,", Status.BAD_VALUE),
    ("ok-2", "D2,B3,CP2,USD,-3,ACME,put,150,2028-01-31,0.3", Status.OK),
]


@pytest.fixture
def bad_job(tmp_path: Path) -> Path:
    folder = tmp_path / "book"
    folder.mkdir()
    lines = [HEADER] + [f"{tid},{row}" for tid, row, _ in ROWS]
    (folder / "equity_option.csv").write_text("\n".join(lines) + "\n")
    doc = generate_market(3).to_dict()
    doc["equities"]["BADSPOT"] = {
        "currency": "USD",
        "spot": -1.0,
        "dividend_yield": 0.0,
        "vol": 0.2,
    }
    (tmp_path / "market.json").write_text(json.dumps(doc))
    return write_job(
        tmp_path, portfolio='path = "book"', market='path = "market.json"', run="partitions = 4"
    )


def test_run_flags_every_bad_trade(bad_job: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.h5"
    res = CliRunner().invoke(main, ["run", str(bad_job), "--out", str(out)])
    assert res.exit_code == 0, res.output
    with h5py.File(out) as f:
        status = f["trades/status"][()]
        reason = [r.decode() for r in f["trades/reason"][()]]
        ids = [t.decode() for t in f["trades/trade_id"][()]]
        pv = f["trades/pv"][()]
        total = f["aggregates/total"]
        assert ids == [r[0] for r in ROWS]
        assert [Status(s) for s in status] == [r[2] for r in ROWS], list(
            zip(ids, reason, strict=True)
        )
        ok = status == 0
        assert all(reason[i] == "" for i in np.flatnonzero(ok))
        assert all(reason[i] for i in np.flatnonzero(~ok))
        assert np.isnan(pv[~ok]).all() and np.isfinite(pv[ok]).all()
        assert int(total["n_trades"][0]) == 2
        assert int(total["n_excluded"][0]) == len(ROWS) - 2
        assert total["pv"][0] == pytest.approx(pv[ok].sum(), rel=1e-14)
    assert "excluded 13" in res.output
    assert "duplicate_id 1" in res.output


def test_engine_price_is_black_scholes_on_market_inputs(bad_job: Path, tmp_path: Path) -> None:
    """The position measures of a trade equal the closed form on the interpolated market."""
    out = tmp_path / "r.h5"
    CliRunner().invoke(main, ["run", str(bad_job), "--out", str(out)], catch_exceptions=False)
    m = generate_market(3)
    with h5py.File(out) as f:
        got = {k: f[f"trades/{k}"][-1] for k in ("pv", "delta", "gamma", "vega", "theta", "rho")}
    tau = (np.datetime64("2028-01-31") - np.datetime64("2026-11-24")).astype(float) / 365.0
    eq = m.equities["ACME"]
    r = float(m.curves["USD"].zero_rate(np.array([tau]))[0])
    pv, delta, gamma, vega, theta, rho = mpmath_bs(
        eq.spot, 150.0, tau, r, eq.dividend_yield, 0.3, -1.0
    )
    q, s = -3.0, eq.spot
    want = {
        "pv": pv * q,
        "delta": delta * s * q,
        "gamma": gamma * s * s / 100 * q,
        "vega": vega / 100 * q,
        "theta": theta / 365 * q,
        "rho": rho * 1e-4 * q,
    }
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-10), k


def test_validate_lists_every_trade_and_exits_2(bad_job: Path) -> None:
    res = CliRunner().invoke(main, ["validate", str(bad_job)])
    assert res.exit_code == 2
    for tid, _, st in ROWS:
        if st != Status.OK:
            assert f"(trade {tid})" in res.output
    assert "equity_option.csv: row 2: missing_field: strike: missing (trade missing)" in res.output


def test_validate_clean_job(tmp_path: Path) -> None:
    job = write_job(tmp_path, portfolio="generate = { trades = 500, seed = 1 }")
    res = CliRunner().invoke(main, ["validate", str(job)])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ({"run": "partitons = 4"}, "run.partitons: unknown key"),
        ({"run": "partitions = 0"}, "run.partitions"),
        ({"portfolio": 'path = "nowhere.h5"'}, "portfolio.path"),
        ({"market": 'path = "nowhere.json"'}, "market.path"),
        ({"portfolio": None}, "portfolio: Field required"),
        ({"aggregation": 'levels = ["desk", "region"]'}, "unknown levels ['region']"),
        ({"market": 'generate = { seed = 1 }\npath = "m.json"'}, "exactly one of"),
    ],
)
def test_bad_job_file_exits_2_before_computing(tmp_path: Path, edit, expected) -> None:
    job = write_job(tmp_path, **edit)
    for cmd in ("run", "validate"):
        res = CliRunner().invoke(main, [cmd, str(job)])
        assert res.exit_code == 2, res.output
        assert expected in res.output, res.output
        assert str(job) in res.output
    assert not (tmp_path / "job.h5").exists()


def test_not_toml_and_valuation_date_mismatch(tmp_path: Path, market_file: Path) -> None:
    job = tmp_path / "x.toml"
    job.write_text("name = \n")
    res = CliRunner().invoke(main, ["run", str(job)])
    assert res.exit_code == 2 and "not valid TOML" in res.output
    job = write_job(tmp_path, market=f'path = "{market_file}"')
    job.write_text('valuation_date = "2026-11-25"\n' + job.read_text())
    res = CliRunner().invoke(main, ["run", str(job)])
    assert res.exit_code == 2 and "differs from the market's 2026-11-24" in res.output


def test_bad_portfolio_tables(tmp_path: Path, market_file: Path) -> None:
    folder = tmp_path / "book"
    folder.mkdir()
    (folder / "equity_option.csv").write_text("trade_id,desk,colour\nT1,D,red\n")
    (folder / "swaptoin.csv").write_text("trade_id\nT2\n")
    job = write_job(tmp_path, portfolio='path = "book"', market=f'path = "{market_file}"')
    res = CliRunner().invoke(main, ["run", str(job)])
    assert res.exit_code == 2
    assert "equity_option.csv: strike: required column is absent" in res.output
    assert "equity_option.csv: colour: unknown column" in res.output
    assert "swaptoin.csv: unknown product 'swaptoin'" in res.output


def test_duplicate_reason_is_whole_when_it_is_the_only_problem(tmp_path: Path) -> None:
    """A slice of trades whose only problem is a repeated id: the reason is not cut to the
    width of the (empty) reasons validation found."""
    from xiphpc.synth.generate import write_portfolio_hdf5

    m = generate_market(3)
    table = valid_trades("equity_option", m, 400, 3, 40)
    table.columns["trade_id"] = table["trade_id"].copy()
    table.columns["trade_id"][7] = table["trade_id"][3]
    write_portfolio_hdf5({"equity_option": table}, tmp_path / "book.h5")
    job = write_job(tmp_path, portfolio=f'path = "{tmp_path / "book.h5"}"', run="partitions = 2")
    out = tmp_path / "r.h5"
    res = CliRunner().invoke(main, ["run", str(job), "--out", str(out)])
    assert res.exit_code == 0, res.output
    with h5py.File(out) as f:
        assert f["trades/reason"][7].decode() == "trade_id: duplicate of an earlier trade"
    res = CliRunner().invoke(main, ["validate", str(job)])
    assert res.exit_code == 2 and "trade_id: duplicate of an earlier trade" in res.output
