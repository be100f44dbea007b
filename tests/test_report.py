"""xiphpc report: every figure shows the numbers of the result file it claims to show, the page
is self-contained and renders in a real browser, and results without risk or merged from
parts have reports too."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner
from result_samples import sample

from xiphpc.cli.main import main
from xiphpc.pricing.status import Status
from xiphpc.report import build_report
from xiphpc.report.page import Report, figure_data_id, render_svgs
from xiphpc.report.sections import SECTION_TITLES, build_sections
from xiphpc.results import open_result

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, tuple[Path, Report]]:
    out = {}
    for kind in ("risk", "merged", "plain"):
        path = sample(kind, tmp_path_factory)
        out[kind] = (path, build_report(path))
    return out


def _text(values: np.ndarray) -> list[str]:
    return [x.decode("utf-8") for x in values]


def _node(key: str) -> str:
    return key or "(none)"


def _sens(f: h5py.File, group: str = "sensitivities") -> dict[str, float]:
    g = f[f"{group}/total"]
    return dict(zip(_text(g["factor"][()]), g["value"][()], strict=True))


# -- figures equal the file -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["risk", "merged"])
def test_histograms_are_the_scenario_pnl_with_var_and_es(reports, kind: str) -> None:
    path, rep = reports[kind]
    with h5py.File(path) as f:
        h = f["scenarios/historical"]
        for key, level in (("hist-total", "total"), ("hist-desk", "desk")):
            panels = rep.figures[key].data["panels"]
            keys = _text(h[level]["key"][()])
            assert [p["name"] for p in panels] == [_node(k) for k in keys]
            for i, p in enumerate(panels):
                pnl = h[level]["pnl"][i]
                edges = np.histogram_bin_edges(pnl, bins="auto")
                np.testing.assert_array_equal(p["edges"], edges)
                np.testing.assert_array_equal(p["counts"], np.histogram(pnl, bins=edges)[0])
                assert sum(p["counts"]) == pnl.size
                assert p["var"] == h[level]["var"][i] and p["es"] == h[level]["es"][i]
                # Losses are positive: the lines sit at minus the loss on the P&L axis.
                assert p["var_at"] == -h[level]["var"][i] and p["es_at"] == -h[level]["es"][i]
    # What is drawn is the data: the histogram's steps and the VaR/ES lines of the figure.
    fig = rep.figures["hist-total"]
    ax = fig.render().axes[0]
    p = fig.data["panels"][0]
    values, edges, _ = ax.patches[0].get_data()
    np.testing.assert_array_equal(values, p["counts"])
    np.testing.assert_array_equal(edges, p["edges"])
    assert [line.get_xdata()[0] for line in ax.lines] == [p["var_at"], p["es_at"]]


def test_worst_scenarios_table_lists_the_lowest_pnl(reports) -> None:
    path, rep = reports["risk"]
    section = next(s for s in rep.sections if s.id == "historical")
    table = next(b for b in section.blocks if getattr(b, "caption", "").startswith("The worst"))
    with h5py.File(path) as f:
        h = f["scenarios/historical"]
        pnl = h["total/pnl"][0]
        order = np.argsort(pnl, kind="stable")[: len(table.rows)]
        assert [row[0] for row in table.rows] == [_text(h["dates"][()])[i] for i in order]
        var_date = h["total/var_date"][0].decode()
        assert [row[0] for row in table.rows if row[3] == "yes"] == [var_date]


def test_stress_bars_are_the_stress_pnl_of_the_largest_nodes(reports) -> None:
    path, rep = reports["risk"]
    with h5py.File(path) as f:
        s = f["scenarios/stress"]
        for level in ("desk", "book"):
            p = rep.figures[f"stress-{level}"].data["panels"][0]
            assert p["series"] == _text(s["names"][()])
            keys = [_node(k) for k in _text(s[level]["key"][()])]
            pnl = s[level]["pnl"][()]
            rows = [keys.index(label) for label in p["labels"]]
            np.testing.assert_array_equal(p["values"], pnl[rows])
            # The largest |P&L| first, and no node left out is larger than one shown.
            worst = np.abs(pnl).max(axis=1)
            assert list(worst[rows]) == sorted(worst[rows], reverse=True)
            left_out = np.delete(worst, rows)
            assert left_out.size == 0 or left_out.max() <= worst[rows].min()


def _expected_grid(f: h5py.File, kind: str, column) -> dict[tuple[str, str], float | None]:
    """``(name, column) -> sum of the total sensitivities`` of the factors of ``kind``."""
    fac = f["sensitivities/factors"]
    sens = _sens(f)
    cells: dict[tuple[str, str], list[float]] = {}
    for lab, k, name in zip(
        _text(fac["label"][()]), _text(fac["kind"][()]), _text(fac["name"][()]), strict=True
    ):
        if k == kind:
            cells.setdefault((name, column(lab)), []).append(sens.get(lab, 0.0))
    return cells


def _assert_cells(panel: dict, cells: dict) -> None:
    seen = 0
    for i, row in enumerate(panel["rows"]):
        for j, col in enumerate(panel["columns"]):
            got = panel["values"][i][j]
            terms = cells.get((row, col))
            if terms is None:
                assert got is None, (row, col)
                continue
            seen += 1
            # A cell sums its factors (rate vols: the swap tenors of an expiry); summed in
            # another order the result may differ by at most (n - 1) * eps * sum |terms|.
            bound = (len(terms) - 1) * np.finfo(float).eps * np.abs(terms).sum()
            assert abs(got - sum(terms)) <= bound, (row, col)
    assert seen == len(cells)


@pytest.mark.parametrize(
    "key", ["ladder-ir", "ladder-cs", "ladder-cmd", "vega-eqvol", "vega-fxvol", "vega-irvol"]
)
def test_ladders_are_the_sensitivities_by_curve_and_tenor(reports, key: str) -> None:
    path, rep = reports["risk"]
    kind = key.split("-")[1]
    (panel,) = rep.figures[key].data["panels"]
    with h5py.File(path) as f:
        cells = _expected_grid(f, kind, lambda lab: lab.rsplit(":", 1)[1].split("x")[0])
    _assert_cells(panel, cells)


def test_rate_vol_grid_is_the_sensitivity_of_each_node(reports) -> None:
    path, rep = reports["risk"]
    panels = rep.figures["vega-grid-irvol"].data["panels"]
    with h5py.File(path) as f:
        cells = _expected_grid(f, "irvol", lambda lab: lab.rsplit(":", 1)[1])
    assert [p["name"] for p in panels] == list(dict.fromkeys(name for name, _ in cells))
    for p in panels:
        mine = {
            (row, col): cells[(p["name"], f"{row}x{col}")]
            for row in p["rows"]
            for col in p["columns"]
            if (p["name"], f"{row}x{col}") in cells
        }
        _assert_cells(p, mine)


def test_spots_and_par_buckets_are_the_sensitivity_tables(reports) -> None:
    path, rep = reports["risk"]
    with h5py.File(path) as f:
        sens, par = _sens(f), _sens(f, "par_sensitivities")
        par_labels = _text(f["par_sensitivities/factors/label"][()])
    for p in rep.figures["spots"].data["panels"]:
        assert p["values"] == [sens.get(lab, 0.0) for lab in p["labels"]]
    panels = rep.figures["par-vs-zero"].data["panels"]
    quoted = {lab.split(":")[1] for lab in par_labels if lab.startswith(("irpar:", "cspar:"))}
    assert {p["name"] for p in panels} == quoted and quoted
    for p in panels:
        assert p["zero"] == [sens.get(lab, 0.0) for lab in p["zero_factors"]]
        assert p["par"] == [par.get(lab, 0.0) for lab in p["par_labels"]]
        assert len(p["zero"]) == len(p["par"])


def test_rank_timeline_and_balance_are_the_diagnostics(reports, tmp_path: Path) -> None:
    path, rep = reports["risk"]
    with h5py.File(path) as f:
        d = {k: v[()] for k, v in f["diagnostics/ranks"].items()}
        parts = {k: v[()] for k, v in f["diagnostics/partitions"].items()}
    # The engine records every partition's pass: that is the timeline.
    segs = rep.figures["timeline"].data["panels"][0]["segments"]
    assert segs == [
        [int(r), float(a), float(b), str(p)]
        for r, p, a, b in zip(
            parts["rank"], parts["partition"], parts["start_s"], parts["end_s"], strict=True
        )
    ]
    # A file without per-partition times (an older one) gets the per-rank stage times.
    copy = tmp_path / "without-partitions.h5"
    copy.write_bytes(path.read_bytes())
    with h5py.File(copy, "r+") as f:
        del f["diagnostics/partitions"]
    with open_result(copy) as r:
        run = next(s for s in build_sections(r) if s.id == "run")
    fig = next(b for b in run.blocks if getattr(b, "key", "") == "timeline")
    p = fig.data["panels"][0]
    assert p["rows"] == [f"rank {r}" for r in d["rank"]]
    for i in range(d["rank"].size):
        mine = [s for s in p["segments"] if s[0] == i]
        assert [s[3] for s in mine] == ["read_s", "compute_s", "reduce_s", "write_s"]
        for s in mine:
            assert s[2] - s[1] == pytest.approx(d[s[3]][i], rel=1e-12, abs=1e-12)
    balance = rep.figures["balance"].data["panels"][0]
    shares = np.array(balance["values"])
    col = balance["series"].index("trades")
    np.testing.assert_allclose(shares[:, col], 100.0 * d["trades"] / d["trades"].sum(), rtol=1e-15)
    # Merged: one row per rank of each part.
    merged = reports["merged"][1].figures["timeline"].data["panels"][0]
    assert merged["rows"] == ["part 0 rank 0", "part 1 rank 0"]


def test_partition_times_when_present_are_the_timeline(reports, tmp_path: Path) -> None:
    path, _ = reports["risk"]
    copy = tmp_path / "with-partitions.h5"
    copy.write_bytes(path.read_bytes())
    with h5py.File(copy, "r+") as f:
        n = int(f.attrs["n_partitions"])
        del f["diagnostics/partitions"]
        g = f.create_group("diagnostics/partitions")
        g["rank"] = np.zeros(n, dtype=np.int64)
        g["partition"] = np.arange(n)
        g["start_s"] = 0.5 * np.arange(n)
        g["end_s"] = 0.5 * np.arange(n) + 0.4
    with open_result(copy) as r:
        run = next(s for s in build_sections(r) if s.id == "run")
    fig = next(b for b in run.blocks if getattr(b, "key", "") == "timeline")
    assert fig.title == "Partitions per rank"
    segs = fig.data["panels"][0]["segments"]
    assert segs == [[0, 0.5 * i, 0.5 * i + 0.4, str(i)] for i in range(n)]


def test_failed_trades_by_reason_are_the_status_column(reports) -> None:
    path, rep = reports["risk"]
    with h5py.File(path) as f:
        status = f["trades/status"][()]
        ids = _text(f["trades/trade_id"][()])
        reason = _text(f["trades/reason"][()])
    codes, counts = np.unique(status[status != 0], return_counts=True)
    p = rep.figures["failed-reasons"].data["panels"][0]
    assert p["labels"] == [Status(int(c)).label for c in codes]
    assert p["values"] == counts.tolist()
    section = next(s for s in rep.sections if s.id == "failed")
    first = section.blocks[-1]
    bad = np.flatnonzero(status)[: len(first.rows)]
    assert [row[1] for row in first.rows] == [ids[i] for i in bad]
    assert [row[6] for row in first.rows] == [reason[i] for i in bad]
    assert [row[5] for row in first.rows] == [reason[i].split(":")[0] for i in bad]


# -- every figure, the page, the sections -----------------------------------------------


@pytest.mark.parametrize("kind", ["risk", "merged", "plain"])
def test_every_figure_has_title_axis_labels_with_units_and_caption(reports, kind: str) -> None:
    _, rep = reports[kind]
    assert rep.figures
    for key, fig in rep.figures.items():
        assert fig.title and fig.xlabel and fig.ylabel, key
        assert fig.caption.endswith(".") and fig.caption.count(". ") == 0, key
        # The value axis (or the colour bar) names its unit.
        assert re.search(r"\(.+\)", fig.xlabel + fig.ylabel + fig.clabel), key
        # Drawn: the SVG keeps text as text, so the labels are in the page.
        m = re.search(rf'<figure id="{key}"[^>]*>(.*?)</figure>', rep.html, re.S)
        assert m, key
        svg, caption = m.group(1).split("</svg>")
        for text in (fig.title, fig.xlabel, fig.ylabel, fig.clabel):
            assert html.escape(text, quote=False) in svg, (key, text)
        assert f"<figcaption>{html.escape(fig.caption)}</figcaption>" in caption, key


@pytest.mark.parametrize("kind", ["risk", "merged", "plain"])
def test_page_is_self_contained_and_embeds_each_figures_data(reports, kind: str) -> None:
    _, rep = reports[kind]
    page = rep.html
    assert not re.search(r"<(script|img|link|iframe)[^>]*\s(src|href)=", page)
    # Only references inside the page (SVG clip paths: url(#id)).
    assert "@import" not in page and not re.search(r"url\((?!#)", page)
    for key, fig in rep.figures.items():
        m = re.search(
            rf'<script type="application/json" id="{figure_data_id(key)}">(.*?)</script>',
            page,
            re.S,
        )
        assert m, key
        assert json.loads(m.group(1)) == json.loads(json.dumps(fig.data)), key
        assert re.search(rf'<figure id="{key}"[^>]*><svg', page), key
    assert re.findall(r"<h2>(.*?)</h2>", page) == [s.title for s in rep.sections]


def test_sections_that_do_not_apply_are_left_out(reports) -> None:
    ids = {k: [s.id for s in rep.sections] for k, (_, rep) in reports.items()}
    assert ids["risk"] == list(SECTION_TITLES)
    assert ids["merged"] == list(SECTION_TITLES)
    assert ids["plain"] == ["summary", "totals", "run", "failed"]
    merged = reports["merged"][1]
    summary = next(s for s in merged.sections if s.id == "summary").blocks[0]
    assert any(row[0] == "merged from" for row in summary.rows)


# -- the command ------------------------------------------------------------------------


def test_command_writes_beside_the_result_and_fails_cleanly(reports, tmp_path: Path) -> None:
    path, _ = reports["plain"]
    result = tmp_path / "plain.h5"
    result.write_bytes(path.read_bytes())
    res = CliRunner().invoke(main, ["report", str(result)])
    assert res.exit_code == 0, res.output
    assert res.output.strip() == str(tmp_path / "plain.html")
    assert (tmp_path / "plain.html").read_text().startswith("<!DOCTYPE html>")
    res = CliRunner().invoke(main, ["report", str(tmp_path / "nowhere.h5")])
    assert res.exit_code == 2
    assert "nowhere.h5: no such file" in res.output and "Traceback" not in res.output


@pytest.mark.parametrize("missing", ["matplotlib", "pandas"])
def test_command_without_the_extra_says_how_to_install(monkeypatch, missing: str) -> None:
    monkeypatch.setitem(sys.modules, missing, None)  # makes "import <missing>" fail
    res = CliRunner().invoke(main, ["report", "any.h5"])
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and missing in lines[0] and "pip install 'xiphpc[report]'" in lines[0]


# -- a real browser ---------------------------------------------------------------------


@pytest.mark.skipif(CHROMIUM is None, reason="needs headless Chromium (Debian package chromium)")
def test_page_renders_in_headless_chromium(reports, tmp_path: Path) -> None:
    from matplotlib.image import imread

    _, rep = reports["risk"]
    page = tmp_path / "report.html"
    page.write_text(rep.html, encoding="utf-8")
    base = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    shot = tmp_path / "shot.png"
    subprocess.run(
        [*base, f"--screenshot={shot}", "--window-size=1200,2400", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    pixels = imread(shot)[..., :3].mean(axis=2)
    # A blank page is one colour (variance 0); text, tables and figures on white make the
    # grey levels spread, and leave many pixels that are not white.
    assert pixels.std() > 0.05
    assert (pixels < 0.9).mean() > 0.01
    dom = subprocess.run(
        [*base, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    headings = re.findall(r"<h2>(.*?)</h2>", dom)
    assert headings == [s.title for s in rep.sections] == list(SECTION_TITLES.values())
    # Every figure was parsed as SVG by the browser, with its title as text.
    assert len(re.findall(r"<svg\b", dom)) == len(rep.figures)
    for fig in rep.figures.values():
        assert f'<figure id="{fig.key}"' in dom


def test_figures_drawn_on_several_processes_equal_those_drawn_here(reports) -> None:
    figures = list(reports["plain"][1].figures.values())
    assert render_svgs(figures, workers=2) == render_svgs(figures, workers=1)
