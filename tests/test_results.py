"""xiphpc.results: the DataFrames of a result file hold exactly the values h5py reads."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from result_samples import sample

from xiphpc.results import ResultError, open_result


@pytest.fixture(scope="module")
def risk(tmp_path_factory) -> Path:
    return sample("risk", tmp_path_factory)


@pytest.fixture(scope="module")
def merged(tmp_path_factory) -> Path:
    return sample("merged", tmp_path_factory)


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> Path:
    return sample("plain", tmp_path_factory)


def _text(values: np.ndarray) -> np.ndarray:
    return np.char.decode(values, "utf-8")


def test_trades_equal_the_datasets(risk: Path) -> None:
    with open_result(risk) as r, h5py.File(risk) as f:
        df = r.trades()
        g = f["trades"]
        assert sorted(df.columns) == sorted(g)
        assert len(df) == g["trade_id"].shape[0] == f.attrs["n_trades"]
        for name, ds in g.items():
            values = ds[()]
            if values.dtype.kind == "S":
                np.testing.assert_array_equal(df[name].astype(str).to_numpy(), _text(values))
            else:
                assert df[name].dtype == values.dtype
                np.testing.assert_array_equal(df[name].to_numpy(), values)
        # Repeating text is categorical; distinct ids are plain strings.
        for name in ("desk", "book", "currency", "product", "reason"):
            assert isinstance(df[name].dtype, pd.CategoricalDtype), name
        assert not isinstance(df["trade_id"].dtype, pd.CategoricalDtype)
        assert list(df.columns[:3]) == ["product", "trade_id", "desk"]


@pytest.mark.parametrize("level", ["total", "desk", "book"])
def test_aggregates_equal_the_datasets(risk: Path, level: str) -> None:
    with open_result(risk) as r, h5py.File(risk) as f:
        df = r.aggregates(level)
        g = f["aggregates"][level]
        np.testing.assert_array_equal(df.index.to_numpy(dtype=str), _text(g["key"][()]))
        assert df.index.name == level
        assert list(df.columns) == [*r.measures, "n_trades", "n_excluded"]
        for name in df.columns:
            np.testing.assert_array_equal(df[name].to_numpy(), g[name][()])


@pytest.mark.parametrize("par", [False, True])
@pytest.mark.parametrize("level", ["total", "desk", "book"])
def test_sensitivities_equal_the_tidy_tables(risk: Path, level: str, par: bool) -> None:
    group = "par_sensitivities" if par else "sensitivities"
    with open_result(risk) as r, h5py.File(risk) as f:
        df = r.sensitivities(level, par=par)
        g = f[group][level]
        np.testing.assert_array_equal(df["node"].astype(str).to_numpy(), _text(g["node"][()]))
        np.testing.assert_array_equal(df["factor"].astype(str).to_numpy(), _text(g["factor"][()]))
        np.testing.assert_array_equal(df["value"].to_numpy(), g["value"][()])
        # Factor columns joined by label from the factors table.
        fac = f[group]["factors"]
        row = {lab: i for i, lab in enumerate(fac["label"][()])}
        pos = np.array([row[x] for x in g["factor"][()]])
        np.testing.assert_array_equal(df["unit"].astype(str), _text(fac["unit"][()][pos]))
        if not par:
            np.testing.assert_array_equal(df["kind"].astype(str), _text(fac["kind"][()][pos]))
            np.testing.assert_array_equal(df["pillar"].to_numpy(), fac["pillar"][()][pos])
        assert len(r.factors(par=par)) == fac["label"].shape[0]


@pytest.mark.parametrize("kind", ["historical", "stress"])
@pytest.mark.parametrize("level", ["total", "desk"])
def test_scenario_pnl_equals_the_datasets(risk: Path, level: str, kind: str) -> None:
    with open_result(risk) as r, h5py.File(risk) as f:
        df = r.scenario_pnl(level, kind)
        g = f[f"scenarios/{kind}"]
        np.testing.assert_array_equal(df.to_numpy(), g[level]["pnl"][()])
        np.testing.assert_array_equal(df.index.to_numpy(dtype=str), _text(g[level]["key"][()]))
        if kind == "historical":
            dates = _text(g["dates"][()]).astype("datetime64[D]")
            np.testing.assert_array_equal(df.columns.to_numpy().astype("datetime64[D]"), dates)
        else:
            assert list(df.columns) == list(_text(g["names"][()]))


@pytest.mark.parametrize("path", ["risk", "merged"])
def test_var_es_equal_the_datasets(path: str, request) -> None:
    file = request.getfixturevalue(path)
    with open_result(file) as r, h5py.File(file) as f:
        g = f["scenarios/historical/desk"]
        df = r.var_es("desk")
        np.testing.assert_array_equal(df["var"].to_numpy(), g["var"][()])
        np.testing.assert_array_equal(df["es"].to_numpy(), g["es"][()])
        np.testing.assert_array_equal(
            df["var_date"].to_numpy().astype("datetime64[D]"),
            _text(g["var_date"][()]).astype("datetime64[D]"),
        )
        es_dates = _text(g["es_dates"][()]).astype("datetime64[D]")
        for got, want in zip(df["es_dates"], es_dates, strict=True):
            assert [np.datetime64(d, "D") for d in got] == list(want)
        h = f["scenarios/historical"].attrs
        assert df.attrs == {
            "var_confidence": h["var_confidence"],
            "es_confidence": h["es_confidence"],
        }


def test_rank_times_of_a_run_and_of_a_merged_file(risk: Path, merged: Path) -> None:
    with open_result(risk) as r, h5py.File(risk) as f:
        df = r.rank_times()
        assert (df["part"] == -1).all()
        for name, ds in f["diagnostics/ranks"].items():
            np.testing.assert_array_equal(df[name].to_numpy(), ds[()])
        times = r.partition_times()
        for name, ds in f["diagnostics/partitions"].items():
            np.testing.assert_array_equal(times[name].to_numpy(), ds[()])
        assert times["partition"].tolist() == list(range(int(f.attrs["n_partitions"])))
    with open_result(merged) as r, h5py.File(merged) as f:
        df = r.rank_times()
        assert df["part"].tolist() == [0, 1]
        np.testing.assert_array_equal(
            df["trades"].to_numpy(),
            [f[f"diagnostics/part{i:03d}_ranks/trades"][0] for i in range(2)],
        )
        # Each part's partitions, told apart by the part column.
        times = r.partition_times()
        assert sorted(set(times["part"])) == [0, 1]


def test_context_manager_closes_the_file(risk: Path) -> None:
    with open_result(risk) as r:
        assert r.file.id.valid
    assert not r.file.id.valid


def test_missing_level_names_it_and_lists_the_present_ones(risk: Path) -> None:
    with open_result(risk) as r:
        with pytest.raises(ResultError) as exc:
            r.aggregates("underlying")
        msg = str(exc.value)
        assert "'underlying'" in msg and "present: total, desk, book" in msg and str(risk) in msg
        with pytest.raises(ResultError, match="no level 'factors'"):
            r.sensitivities("factors")
        with pytest.raises(ResultError, match="present: total, desk, book"):
            r.var_es("currency")


def test_absent_risk_and_trades_are_clear_errors(plain: Path, tmp_path: Path) -> None:
    with open_result(plain) as r:
        for call, what in (
            (lambda: r.sensitivities("total"), "holds no sensitivities"),
            (lambda: r.sensitivities("total", par=True), "holds no par sensitivities"),
            (lambda: r.scenario_pnl("total"), "holds no historical scenarios"),
            (lambda: r.scenario_pnl("total", "stress"), "holds no stress scenarios"),
            (lambda: r.var_es("total"), "holds no historical scenarios"),
        ):
            with pytest.raises(ResultError, match=what):
                call()
    # A file from before per-partition times.
    older = tmp_path / "older.h5"
    older.write_bytes(plain.read_bytes())
    with h5py.File(older, "r+") as f:
        del f["diagnostics/partitions"]
    with (
        open_result(older) as r,
        pytest.raises(ResultError, match="diagnostics/partitions: not in the file"),
    ):
        r.partition_times()
    # A run that did not keep per-trade results.
    copy = tmp_path / "no-trades.h5"
    with h5py.File(plain) as src, h5py.File(copy, "w") as dst:
        for k in src:
            if k != "trades":
                src.copy(src[k], dst, name=k)
        dst.attrs.update(dict(src.attrs))
        dst.create_group("trades").attrs["omitted"] = "per-trade results were not requested"
    with open_result(copy) as r, pytest.raises(ResultError, match="were not requested"):
        r.trades()


def test_files_that_are_not_results(tmp_path: Path, plain: Path) -> None:
    with pytest.raises(ResultError, match="no such file"):
        open_result(tmp_path / "nowhere.h5")
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5\n")
    with pytest.raises(ResultError, match="not an HDF5 file"):
        open_result(text)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(ResultError, match="not a result file"):
        open_result(other)
    partial = tmp_path / "partial.h5"
    partial.write_bytes(plain.read_bytes())
    with h5py.File(partial, "r+") as f:
        f.attrs["complete"] = False
    with pytest.raises(ResultError, match="not completely written"):
        open_result(partial)
    # One line, naming the file: what the command line prints.
    with pytest.raises(ResultError) as exc:
        open_result(tmp_path / "nowhere.h5")
    assert str(exc.value) == f"{tmp_path / 'nowhere.h5'}: no such file"


def test_utf8_text_is_decoded(plain: Path, tmp_path: Path) -> None:
    copy = tmp_path / "utf8.h5"
    copy.write_bytes(plain.read_bytes())
    with h5py.File(copy, "r+") as f:
        desk = _text(f["trades/desk"][()]).astype("U32")
        desk[:3] = "DESK-ZÜRICH-Δ"
        del f["trades/desk"]
        f["trades/desk"] = np.char.encode(desk, "utf-8")
    with open_result(copy) as r:
        got = r.trades()["desk"]
    assert list(got[:4].astype(str)) == ["DESK-ZÜRICH-Δ"] * 3 + [desk[3]]
