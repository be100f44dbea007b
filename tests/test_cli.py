"""The command line through click's CliRunner: gen, run, show, merge, and atomic output."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import assert_same_results, write_job

from xiphpc.cli.main import main
from xiphpc.parallel.mpi import FAULT_ENV
from xiphpc.pricing.products import REGISTRY


def _invoke(*args: str, code: int = 0, **kw) -> str:
    res = CliRunner().invoke(main, list(args), **kw)
    assert res.exit_code == code, res.output + repr(res.exception)
    return res.output


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    h5 = tmp_path / "book.h5"
    csv = tmp_path / "csvbook"
    mkt = tmp_path / "market.json"
    _invoke(
        "gen",
        "portfolio",
        "--trades",
        "2000",
        "--seed",
        "5",
        "--bad-fraction",
        "0.02",
        "--out",
        str(h5),
    )
    _invoke(
        "gen",
        "portfolio",
        "--trades",
        "2000",
        "--seed",
        "5",
        "--bad-fraction",
        "0.02",
        "--out",
        str(csv),
    )
    _invoke("gen", "market", "--seed", "5", "--out", str(mkt))
    return {"h5": h5, "csv": csv, "market": mkt}


def test_gen_writes_every_product(inputs: dict[str, Path]) -> None:
    with h5py.File(inputs["h5"]) as f:
        counts = {k: f["portfolio"][k]["trade_id"].shape[0] for k in f["portfolio"]}
        assert f["portfolio/equity_option/strike"].attrs["unit"]
    assert sum(counts.values()) == 2000
    assert set(counts) == set(REGISTRY)
    assert sorted(p.name for p in inputs["csv"].glob("*.csv")) == sorted(f"{k}.csv" for k in counts)


def test_hdf5_and_csv_portfolios_give_the_same_results(inputs, tmp_path: Path) -> None:
    # Without bad trades: HDF5 cannot tell a missing float from a NaN one, CSV can.
    books = {"h5": tmp_path / "clean.h5", "csv": tmp_path / "clean"}
    out = {}
    for kind in ("h5", "csv"):
        _invoke("gen", "portfolio", "--trades", "2000", "--seed", "5", "--out", str(books[kind]))
        job = write_job(
            tmp_path,
            name=f"j{kind}",
            portfolio=f'path = "{books[kind]}"',
            market=f'path = "{inputs["market"]}"',
        )
        out[kind] = tmp_path / f"{kind}.h5"
        _invoke("run", str(job), "--out", str(out[kind]))
    # Same trades, same numbers; only provenance attributes differ.
    assert_same_results(out["h5"], out["csv"])


def test_run_writes_a_self_describing_file(tmp_path: Path) -> None:
    job = write_job(tmp_path)
    text = _invoke("run", str(job))
    out = tmp_path / "job.h5"
    assert str(out) in text and "totals (USD)" in text and "per-rank balance" in text
    with h5py.File(out) as f:
        for key in (
            "job_text",
            "version_xiphpc",
            "version_numpy",
            "version_numba",
            "version_mpi4py",
            "version_mpi_library",
            "n_ranks",
            "n_partitions",
            "valuation_date",
            "started",
            "finished",
            "status_legend",
        ):
            assert key in f.attrs, key
        assert f.attrs["complete"]
        assert f.attrs["job_text"] == job.read_text()
        for name, ds in f["trades"].items():
            assert "unit" in ds.attrs and ds.attrs["description"], name
        for level in ("total", "desk", "book", "currency", "underlying"):
            g = f["aggregates"][level]
            assert g["pv"].attrs["unit"] == "USD"
            assert g["n_trades"][()].sum() + g["n_excluded"][()].sum() == f.attrs["n_trades"]
        d = f["diagnostics/ranks"]
        assert set(d) >= {"rank", "trades", "read_s", "compute_s", "reduce_s", "write_s"}
        # Level sums equal the total: each trade is in exactly one group per level.
        total = f["aggregates/total/pv"][0]
        for level in ("desk", "book", "currency"):
            assert f[f"aggregates/{level}/pv"][()].sum() == pytest.approx(total, rel=1e-12)
        pv_base = f["trades/pv_base"][()]
        assert np.nansum(pv_base) == pytest.approx(total, rel=1e-12)
    show = _invoke("show", str(out))
    assert "largest books by |pv|" in show and "excluded trades by reason" in show


def test_readable_with_pandas(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    job = write_job(tmp_path)
    _invoke("run", str(job))
    with h5py.File(tmp_path / "job.h5") as f:
        df = pd.DataFrame({k: v[()] for k, v in f["trades"].items()})
    assert len(df) == 3000


def test_crash_leaves_no_file(tmp_path: Path, monkeypatch) -> None:
    job = write_job(tmp_path)
    monkeypatch.setenv(FAULT_ENV, "0:write")
    res = CliRunner().invoke(main, ["run", str(job)])
    assert res.exit_code != 0 and "fault injected" in str(res.exception)
    assert not (tmp_path / "job.h5").exists()
    monkeypatch.setenv(FAULT_ENV, "0:compute")
    res = CliRunner().invoke(main, ["run", str(job)])
    assert res.exit_code != 0
    assert not (tmp_path / "job.h5").exists()


def test_show_refuses_incomplete_file(tmp_path: Path) -> None:
    path = tmp_path / "half.h5"
    with h5py.File(path, "w") as f:
        f.attrs["complete"] = False
    out = _invoke("show", str(path), code=2)
    assert "not completely written" in out


def test_merge_disjoint_parts_and_refuse_overlap(tmp_path: Path, inputs) -> None:
    parts = []
    for i, seed in enumerate((11, 12)):
        folder = tmp_path / f"p{i}"
        folder.mkdir()
        # Different seeds give the same ids; make them disjoint with a per-part id range.
        _invoke(
            "gen",
            "portfolio",
            "--trades",
            "300",
            "--seed",
            str(seed),
            "--out",
            str(folder / "book.h5"),
        )
        with h5py.File(folder / "book.h5", "r+") as f:
            for g in f["portfolio"].values():
                ids = g["trade_id"][()]
                del g["trade_id"]
                g["trade_id"] = np.array([f"P{i}-".encode() + t for t in ids])
        job = write_job(
            folder,
            name=f"part{i}",
            portfolio='path = "book.h5"',
            market=f'path = "{inputs["market"]}"',
        )
        _invoke("run", str(job))
        parts.append(folder / f"part{i}.h5")
    merged = tmp_path / "merged.h5"
    _invoke("merge", "--out", str(merged), *map(str, parts))
    with h5py.File(merged) as m, h5py.File(parts[0]) as a, h5py.File(parts[1]) as b:
        assert m["trades/trade_id"].shape[0] == 600
        np.testing.assert_array_equal(
            m["trades/pv"][()], np.concatenate([a["trades/pv"][()], b["trades/pv"][()]])
        )
        assert m["aggregates/total/pv"][0] == pytest.approx(
            a["aggregates/total/pv"][0] + b["aggregates/total/pv"][0], rel=1e-15
        )
    assert "600 trades" in _invoke("show", str(merged))
    out = _invoke(
        "merge", "--out", str(tmp_path / "twice.h5"), str(parts[0]), str(parts[0]), code=2
    )
    assert "occur in more than one part" in out
    assert not (tmp_path / "twice.h5").exists()
