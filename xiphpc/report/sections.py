"""What the report holds: sections of tables, figures and text read from a result file.

A section that does not apply to the file (no historical simulation, no failed trades, ...)
is left out. Figures carry the numbers they show (:class:`~xiphpc.report.figures.Figure`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from xiphpc.pricing.status import Status
from xiphpc.results import STAGES, Result

from .figures import (
    Figure,
    bars,
    grouped_bars,
    heatmaps,
    histograms,
    paired_bars,
    timeline,
)

__all__ = ["SECTION_TITLES", "Section", "Table", "Text", "build_sections"]

#: Every section a report can have, in page order: id -> heading.
SECTION_TITLES = {
    "summary": "Summary",
    "totals": "Totals and largest nodes",
    "historical": "Historical simulation",
    "stress": "Stress scenarios",
    "sensitivities": "Sensitivities",
    "run": "Run",
    "failed": "Failed trades",
}

#: Curve and vol kinds of the ladders, with the words the report uses for them.
CURVE_KINDS = {
    "ir": "rate curves (zero-rate pillars)",
    "cs": "credit curves (hazard-rate pillars)",
    "cmd": "commodity futures curves",
}
VOL_KINDS = {
    "eqvol": "equity vols",
    "fxvol": "FX vols",
    "cmdvol": "commodity vols",
    "irvol": "rate vols (normal)",
    "irlvol": "rate vols (lognormal)",
}
RATE_VOL_KINDS = ("irvol", "irlvol")
SPOT_KINDS = {"fx": "FX rates", "eq": "equity spots"}

#: Label prefixes of the quotes of bootstrapped curves in the par table.
QUOTE_PREFIXES = ("irpar:", "cspar:")


@dataclass
class Table:
    """A table: ``rows`` of formatted cells under ``columns``; ``numeric`` columns are right
    aligned."""

    caption: str
    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool] = field(default_factory=list)


@dataclass
class Text:
    """A paragraph, or preformatted text when ``pre``."""

    text: str
    pre: bool = False


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Figure | Table | Text]


def _num(x: float, digits: int = 2) -> str:
    if not np.isfinite(x):
        return "n/a"
    return f"{x:,.{digits}f}" if abs(x) < 1e15 else f"{x:.6e}"


def _node(key) -> str:
    """A node key for display: trades without an underlying have an empty key."""
    return str(key) or "(none)"


def _floats(values) -> list:
    """Plain floats for the data of a figure (None for NaN, which JSON cannot hold)."""
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(values, dtype=float)]


def _top(values: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` largest ``|values|``, largest first (ties in file order)."""
    return np.argsort(-np.abs(values), kind="stable")[:n]


def build_sections(r: Result, *, top: int = 10, failed: int = 20) -> list[Section]:
    """The sections of the report of ``r`` that apply to it, in page order.

    Parameters
    ----------
    top : int
        Nodes listed and drawn per aggregation level, and nodes per stress chart.
    failed : int
        Failed trades listed.
    """
    builders: list[Callable[[], Section | None]] = [
        lambda: _summary(r),
        lambda: _totals(r, top),
        lambda: _historical(r),
        lambda: _stress(r, top),
        lambda: _sensitivities(r, top),
        lambda: _run(r),
        lambda: _failed(r, failed),
    ]
    return [s for s in (b() for b in builders) if s is not None]


def _section(key: str, blocks: list) -> Section:
    return Section(key, SECTION_TITLES[key], blocks)


# -- summary and totals -----------------------------------------------------------------


def _summary(r: Result) -> Section:
    a = r.attrs
    total = r.aggregates("total")
    rows = [
        ["job", str(a.get("name", ""))],
        ["result file", str(r.path)],
        ["valuation date", str(a.get("valuation_date", ""))],
        ["base currency", r.base_currency],
        ["trades", f"{int(a.get('n_trades', 0)):,}"],
        ["priced", f"{int(total['n_trades'].iloc[0]):,}"],
        ["excluded", f"{int(total['n_excluded'].iloc[0]):,}"],
        ["ranks", str(a.get("n_ranks", ""))],
        ["partitions", str(a.get("n_partitions", ""))],
        ["aggregation levels", ", ".join(r.levels)],
        ["market", str(a.get("market", ""))],
    ]
    if "merged_from" in a:
        # Portfolio and times are those of the first part: list the parts instead.
        rows.append(["merged from", ", ".join(map(str, a["merged_from"]))])
    else:
        rows += [[k, str(a.get(k, ""))] for k in ("portfolio", "started", "finished")]
    return _section("summary", [Table("The run at a glance.", ["", ""], rows)])


def _totals(r: Result, top: int) -> Section:
    total = r.aggregates("total")
    units = {m: str(r.file[f"aggregates/total/{m}"].attrs.get("unit", "")) for m in r.measures}
    blocks: list = [
        Table(
            f"Totals over priced trades, in {r.base_currency}.",
            ["measure", "total", "unit"],
            [[m, _num(float(total[m].iloc[0])), units[m]] for m in r.measures],
            [False, True, False],
        )
    ]
    rank_by = "pv" if "pv" in r.measures else r.measures[0]
    for level in r.levels[1:]:
        df = r.aggregates(level)
        idx = _top(df[rank_by].to_numpy(), top)
        shown = df.iloc[idx]
        blocks.append(
            Table(
                f"Largest {level} nodes by |{rank_by}| ({len(shown)} of {len(df)}), "
                f"in {r.base_currency}.",
                [level, *r.measures, "trades", "excluded"],
                [
                    [_node(k)]
                    + [_num(float(row[m])) for m in r.measures]
                    + [f"{int(row['n_trades']):,}", f"{int(row['n_excluded']):,}"]
                    for k, row in shown.iterrows()
                ],
                [False] + [True] * (len(r.measures) + 2),
            )
        )
    return _section("totals", blocks)


# -- historical simulation and stresses -------------------------------------------------


def _histogram_panel(name: str, pnl: np.ndarray, var: float, es: float) -> dict:
    edges = np.histogram_bin_edges(pnl, bins="auto")
    counts, _ = np.histogram(pnl, bins=edges)
    return {
        "name": name,
        "counts": [int(c) for c in counts],
        "edges": _floats(edges),
        "var": float(var),
        "es": float(es),
        # Losses are positive in VaR and ES; on the P&L axis they sit at minus the loss.
        "var_at": -float(var),
        "es_at": -float(es),
    }


def _historical(r: Result) -> Section | None:
    if not r.has("scenarios/historical"):
        return None
    levels = r.risk_levels("scenarios/historical")
    attrs = r.file["scenarios/historical"].attrs
    vc, ec = float(attrs["var_confidence"]), float(attrs["es_confidence"])
    base = r.base_currency
    pnl_total = r.scenario_pnl("total")
    n_s = pnl_total.shape[1]
    first, last = pnl_total.columns[0].date(), pnl_total.columns[-1].date()
    blocks: list = [
        Text(
            f"{n_s} one-day historical moves ending {first} to {last}, applied to today's "
            f"market; VaR at {vc:.1%} and expected shortfall at {ec:.1%}, losses positive, "
            f"in {base}."
        )
    ]
    held = "scenarios/historical/held_factors"
    if held in r.file and r.file[held].shape[0]:
        names = [h.decode() for h in r.file[held][()]]
        blocks.append(
            Text(
                f"{len(names)} factors lack history and are held at today's level: "
                + ", ".join(names[:20])
                + (" ..." if len(names) > 20 else "")
            )
        )
    shown_levels = [lv for lv in ("total", "desk") if lv in levels]
    rows = []
    for level in shown_levels:
        ve = r.var_es(level)
        for key, row in ve.iterrows():
            rows.append(
                [
                    f"{level}: {_node(key)}",
                    _num(row["var"]),
                    _num(row["es"]),
                    str(row["var_date"].date()),
                    ", ".join(str(d.date()) for d in row["es_dates"][:3]),
                ]
            )
    blocks.append(
        Table(
            f"VaR and ES by node ({base}); the VaR date is the scenario at the VaR quantile.",
            ["node", f"VaR {vc:.1%}", f"ES {ec:.1%}", "VaR date", "worst ES dates"],
            rows,
            [False, True, True, False, False],
        )
    )
    ve_total = r.var_es("total")
    pnl = pnl_total.iloc[0].to_numpy()
    blocks.append(
        Figure(
            key="hist-total",
            title="Historical P&L of the whole portfolio",
            caption=f"Distribution of the portfolio P&L over {n_s} historical scenarios, with "
            f"the {vc:.1%} VaR and {ec:.1%} ES drawn at minus the loss.",
            xlabel=f"P&L ({base})",
            ylabel="scenarios (count)",
            data={
                "level": "total",
                "panels": [
                    _histogram_panel("all", pnl, ve_total["var"].iloc[0], ve_total["es"].iloc[0])
                ],
            },
            draw=histograms,
            panel_height=3.6,
        )
    )
    if "desk" in levels:
        desk = r.scenario_pnl("desk")
        ve = r.var_es("desk")
        blocks.append(
            Figure(
                key="hist-desk",
                title="Historical P&L by desk",
                caption=f"P&L distribution of each desk over the same {n_s} scenarios, with "
                "its own VaR (solid) and ES (dashed).",
                xlabel=f"P&L ({base})",
                ylabel="scenarios (count)",
                data={
                    "level": "desk",
                    "panels": [
                        _histogram_panel(
                            _node(k), desk.loc[k].to_numpy(), ve.loc[k, "var"], ve.loc[k, "es"]
                        )
                        for k in desk.index
                    ],
                },
                draw=histograms,
                columns=3,
                panel_height=2.2,
            )
        )
    order = np.argsort(pnl, kind="stable")[: min(10, n_s)]
    var_date = ve_total["var_date"].iloc[0]
    tail = set(ve_total["es_dates"].iloc[0])
    blocks.append(
        Table(
            f"The worst scenarios of the whole portfolio ({base}).",
            ["date", "P&L", "in the ES tail", "VaR scenario"],
            [
                [
                    str(pnl_total.columns[i].date()),
                    _num(pnl[i]),
                    "yes" if pnl_total.columns[i] in tail else "",
                    "yes" if pnl_total.columns[i] == var_date else "",
                ]
                for i in order
            ],
            [False, True, False, False],
        )
    )
    return _section("historical", blocks)


def _stress(r: Result, top: int) -> Section | None:
    if not r.has("scenarios/stress"):
        return None
    base = r.base_currency
    total = r.scenario_pnl("total", "stress")
    blocks: list = [
        Table(
            f"Stress P&L of the whole portfolio ({base}).",
            ["scenario", "P&L"],
            [[str(n), _num(float(v))] for n, v in total.iloc[0].items()],
            [False, True],
        )
    ]
    levels = r.risk_levels("scenarios/stress")
    # The table above holds the total; draw it only when there is no other level.
    for level in levels[1:] or levels:
        df = r.scenario_pnl(level, "stress")
        worst = np.abs(df.to_numpy()).max(axis=1) if df.shape[1] else np.zeros(len(df))
        shown = df.iloc[_top(worst, top)]
        blocks.append(
            Figure(
                key=f"stress-{level}",
                title=f"Stress P&L by {level}",
                caption=f"P&L of each stress scenario for the {len(shown)} {level} nodes with "
                f"the largest stress P&L in absolute value (of {len(df)}).",
                xlabel=f"P&L ({base})",
                ylabel=level,
                data={
                    "level": level,
                    "panels": [
                        {
                            "name": level,
                            "labels": [_node(k) for k in shown.index],
                            "series": [str(c) for c in df.columns],
                            "values": [_floats(row) for row in shown.to_numpy()],
                        }
                    ],
                },
                draw=grouped_bars,
                panel_height=max(2.0, 0.25 * len(shown) * max(1, df.shape[1]) ** 0.5),
            )
        )
    return _section("stress", blocks)


# -- sensitivities ----------------------------------------------------------------------


def _tenor(label: str) -> str:
    """Last part of a factor label: ``"ir:EUR:10Y" -> "10Y"``, ``"irvol:USD:1Yx5Y" ->
    "1Yx5Y"``."""
    return label.rsplit(":", 1)[-1]


_TENOR_YEARS = {"D": 1.0 / 365.0, "W": 7.0 / 365.0, "M": 1.0 / 12.0, "Y": 1.0}


def _years(tenor: str) -> float:
    """Years of a tenor label of :func:`xiphpc.market.factors.tenor_label` (``"3M"``,
    ``"1098D"``); labels of another form sort last."""
    try:
        return float(tenor[:-1]) * _TENOR_YEARS[tenor[-1]]
    except (KeyError, ValueError, IndexError):
        return np.inf


def _grid_panel(
    name: str, labels, rows, cols, value: dict[str, float], years: dict[str, float] | None = None
) -> dict:
    """A matrix panel: ``rows`` x ``cols`` (one entry of each per factor of ``labels``);
    rows in order of appearance, columns (tenor labels) by length (``years`` of a column
    where given, else read from its label). A cell holds the sum of the ``value`` of its
    factors (0 for factors without a sensitivity) and None where no factor falls in it."""
    rows, cols = list(rows), list(cols)
    row_names = list(dict.fromkeys(rows))
    years = years or {}
    col_names = sorted(dict.fromkeys(cols), key=lambda c: (years.get(c, _years(c)), c))
    ri = {n: i for i, n in enumerate(row_names)}
    ci = {n: i for i, n in enumerate(col_names)}
    matrix: list[list[float | None]] = [[None] * len(col_names) for _ in row_names]
    for lab, rw, cl in zip(list(labels), rows, cols, strict=True):
        cell = matrix[ri[rw]][ci[cl]]
        matrix[ri[rw]][ci[cl]] = (cell or 0.0) + float(value.get(lab, 0.0))
    return {"name": name, "rows": row_names, "columns": col_names, "values": matrix}


def _sensitivities(r: Result, top: int) -> Section | None:
    if not r.has("sensitivities"):
        return None
    base = r.base_currency
    fac = r.factors()
    sens = r.sensitivities("total")
    value = dict(zip(sens["factor"].astype(str), sens["value"], strict=True))
    labels = fac["label"].to_numpy()
    kind = fac["kind"].astype(str).to_numpy()
    name = fac["name"].astype(str).to_numpy()
    pillar = (
        fac["pillar"].to_numpy(dtype=np.float64) if "pillar" in fac else np.full(len(fac), np.nan)
    )
    unit = dict(zip(kind.tolist(), fac["unit"].astype(str).tolist(), strict=True))
    blocks: list = []
    idx = _top(sens["value"].to_numpy(), top)
    blocks.append(
        Table(
            f"The largest sensitivities of the whole portfolio ({base} per factor unit).",
            ["factor", "value", "unit"],
            [
                [
                    str(sens["factor"].iloc[i]),
                    _num(sens["value"].iloc[i]),
                    str(sens["unit"].iloc[i]),
                ]
                for i in idx
            ],
            [False, True, False],
        )
    )

    # One heatmap per kind of curve and of vol surface: kinds differ in unit.
    for k, text in {**CURVE_KINDS, **VOL_KINDS}.items():
        m = kind == k
        if not m.any():
            continue
        is_vol = k in VOL_KINDS
        # Rate vol nodes are "<expiry>x<tenor>": by expiry, summed over the swap tenors. A
        # curve pillar is its tenor, quoted ones included ("3Mx6M", an FRA), placed by its
        # time (the earliest of the curves').
        if k in RATE_VOL_KINDS:
            column = [_tenor(x).split("x")[0] for x in labels[m]]
            years = None
        else:
            column = [_tenor(x) for x in labels[m]]
            years = {}
            for c, t in zip(column, pillar[m], strict=True):
                if np.isfinite(t):
                    years[c] = min(years.get(c, np.inf), float(t))
        panel = _grid_panel(text, labels[m], name[m], column, value, years)
        what = "vol expiry of each surface" if is_vol else "pillar of each curve"
        if k in RATE_VOL_KINDS:
            note = "; rate vols are summed over the swap tenors."
        elif is_vol:
            note = "."
        else:
            note = "; blank cells are tenors the curve does not have."
        blocks.append(
            Figure(
                key=f"{'vega' if is_vol else 'ladder'}-{k}",
                title=f"{'Vega by expiry' if is_vol else 'Buckets by tenor'}: {text}",
                caption=f"Sensitivity of the whole portfolio to each {what} ({base} {unit[k]})"
                + note,
                xlabel="expiry" if is_vol else "pillar (tenor)",
                ylabel="surface" if is_vol else "curve",
                clabel=f"{'vega' if is_vol else 'sensitivity'} ({base} {unit[k]})",
                data={"level": "total", "kind": k, "panels": [panel]},
                draw=heatmaps,
                panel_height=max(1.6, 0.25 * len(panel["rows"]) + 0.4),
            )
        )
    for k in RATE_VOL_KINDS:
        m = kind == k
        if not m.any():
            continue
        panels = []
        for ccy in dict.fromkeys(name[m].tolist()):
            sub = labels[m & (name == ccy)]
            # Nodes come by expiry, then tenor: rows are the expiries in that order.
            expiry, tenor = zip(*(_tenor(x).split("x") for x in sub), strict=True)
            panels.append(_grid_panel(ccy, sub, expiry, tenor, value))
        blocks.append(
            Figure(
                key=f"vega-grid-{k}",
                title=f"Rate vol vega by expiry and tenor: {VOL_KINDS[k]}",
                caption=f"Sensitivity of the whole portfolio to each node of each currency's "
                f"swaption vol grid ({base} {unit[k]}).",
                xlabel="swap tenor",
                ylabel="option expiry",
                clabel=f"vega ({base} {unit[k]})",
                data={"level": "total", "kind": k, "panels": panels},
                draw=heatmaps,
                columns=3,
                panel_height=2.6,
            )
        )
    spot_panels = []
    spot_units = set()
    for k, text in SPOT_KINDS.items():
        m = kind == k
        if m.any():
            spot_units.add(unit[k])
            spot_panels.append(
                {
                    "name": text,
                    "labels": labels[m].tolist(),
                    "values": [float(value.get(x, 0.0)) for x in labels[m]],
                }
            )
    if spot_panels:
        u = " / ".join(sorted(spot_units))
        blocks.append(
            Figure(
                key="spots",
                title="Spot sensitivities",
                caption=f"Sensitivity of the whole portfolio to each FX rate and equity spot "
                f"({base} {u}).",
                xlabel=f"sensitivity ({base} {u})",
                ylabel="factor",
                data={"level": "total", "panels": spot_panels},
                draw=bars,
                columns=2,
                panel_height=max(2.0, 0.22 * max(len(p["labels"]) for p in spot_panels)),
            )
        )
    par = _par_panels(r, labels, kind, name, value)
    if par:
        blocks.append(
            Figure(
                key="par-vs-zero",
                title="Par-quote buckets beside pillar buckets",
                caption="For each curve bootstrapped from quotes, the sensitivity to each "
                f"pillar (zero or hazard rate) beside the sensitivity to the quote that set it "
                f"({base} per 1bp).",
                xlabel="pillar / quote",
                ylabel=f"sensitivity ({base} per 1bp)",
                data={"level": "total", "panels": par},
                draw=paired_bars,
                columns=3,
                panel_height=2.6,
            )
        )
    return _section("sensitivities", blocks)


def _par_panels(r: Result, labels, kind, name, value) -> list[dict]:
    """Panels of :func:`~xiphpc.report.figures.paired_bars`, one per quoted curve."""
    if not r.has("par_sensitivities"):
        return []
    pf = r.factors(par=True)
    par_labels = pf["label"].to_numpy()
    # The par table has one entry per rate and hazard pillar, in factor order.
    pillars = np.flatnonzero(np.isin(kind, ("ir", "cs")))
    if pillars.size != par_labels.size:
        return []
    ps = r.sensitivities("total", par=True)
    par_value = dict(zip(ps["factor"].astype(str), ps["value"], strict=True))
    panels = []
    curves = [(str(kind[i]), str(name[i])) for i in pillars]
    for curve in dict.fromkeys(curves):
        pos = [j for j, c in enumerate(curves) if c == curve]
        quotes = par_labels[pos]
        if not any(str(q).startswith(QUOTE_PREFIXES) for q in quotes):
            continue
        zero = labels[pillars[pos]]
        panels.append(
            {
                "name": curve[1],
                "zero_labels": [_tenor(z) for z in zero],
                "zero_factors": zero.tolist(),
                "zero": [float(value.get(z, 0.0)) for z in zero],
                "par_labels": quotes.tolist(),
                "par": [float(par_value.get(q, 0.0)) for q in quotes],
            }
        )
    return panels


# -- the run ----------------------------------------------------------------------------


def _run(r: Result) -> Section:
    a = r.attrs
    blocks: list = []
    if r.has_diagnostics("ranks"):
        blocks += _run_figures(r)
    started, finished = a.get("started"), a.get("finished")
    if started and finished and "merged_from" not in a:
        wall = (
            dt.datetime.fromisoformat(finished) - dt.datetime.fromisoformat(started)
        ).total_seconds()
        n = int(a.get("n_trades", 0))
        blocks.append(
            Text(
                f"{n:,} trades in {wall:,.1f} s of wall time: {n / wall:,.0f} trades per second "
                f"on {int(a.get('n_ranks', 1))} rank(s) of {int(a.get('threads_per_rank', 1))} "
                "thread(s)."
            )
        )
    versions = sorted(k for k in a if k.startswith("version_"))
    if versions:
        blocks.append(
            Table(
                "Versions of the software that computed the results.",
                ["package", "version"],
                [[k.removeprefix("version_"), str(a[k])] for k in versions],
            )
        )
    if a.get("job_text"):
        first = "of the first part " if "merged_from" in a else ""
        blocks.append(Text(f"Job file {first}{a.get('job_file', '')}:"))
        blocks.append(Text(str(a["job_text"]), pre=True))
    return _section("run", blocks)


def _run_figures(r: Result) -> list:
    ranks = r.rank_times()
    merged = bool((ranks["part"] >= 0).any())

    def row_name(part: int, rank: int) -> str:
        return f"part {part} rank {rank}" if merged else f"rank {rank}"

    ids = [(int(p), int(k)) for p, k in zip(ranks["part"], ranks["rank"], strict=True)]
    names = [row_name(p, k) for p, k in ids]
    row_of = {pk: i for i, pk in enumerate(ids)}
    if r.has_diagnostics("partitions"):
        parts = r.partition_times()
        segments = [
            [row_of[(int(p), int(k))], float(s), float(e), str(int(q))]
            for p, k, q, s, e in zip(
                parts["part"],
                parts["rank"],
                parts["partition"],
                parts["start_s"],
                parts["end_s"],
                strict=True,
            )
        ]
        title, xlabel = "Partitions per rank", "time from the start of the run (s)"
        caption = "When each rank priced each of its partitions, one bar per partition."
    else:
        segments = []
        for i, row in ranks.iterrows():
            t = 0.0
            for stage in STAGES:
                segments.append([i, t, t + float(row[stage]), stage])
                t += float(row[stage])
        title, xlabel = "Stages per rank", "time from the rank's start (s)"
        caption = (
            "Time each rank spent reading, computing, reducing and writing, in order (the "
            "file holds no per-partition times)."
        )
    blocks: list = [
        Figure(
            key="timeline",
            title=title,
            caption=caption,
            xlabel=xlabel,
            ylabel="rank",
            data={"panels": [{"name": "", "rows": names, "segments": segments}]},
            draw=timeline,
            panel_height=max(1.6, 0.35 * len(names)),
        ),
    ]
    compute = ranks["compute_s"].to_numpy()
    trades = ranks["trades"].to_numpy()
    cost = None
    if "partitions/cost" in r.file and not merged:
        owner = r.file["partitions/rank"][()]
        cost = np.bincount(owner, weights=r.file["partitions/cost"][()], minlength=len(ranks))
    shares = {"trades": trades, "compute time": compute}
    if cost is not None:
        shares["planned cost"] = cost
    # Percent of each column's total, ranks x measures.
    percent = np.column_stack(
        [100.0 * v / v.sum() if v.sum() > 0 else np.zeros(len(v)) for v in shares.values()]
    )
    blocks.append(
        Figure(
            key="balance",
            title="Balance across ranks",
            caption="Each rank's share of the trades, of the planned cost of the partitions and "
            "of the compute time; a balanced run has equal shares of compute time.",
            xlabel="share of the run's total (%)",
            ylabel="rank",
            data={
                "panels": [
                    {
                        "name": "",
                        "labels": names,
                        "series": list(shares),
                        "values": [_floats(row) for row in percent],
                    }
                ]
            },
            draw=grouped_bars,
            panel_height=max(1.6, 0.3 * len(names) * len(shares)),
        )
    )
    rows = []
    for i, row in ranks.iterrows():
        rows.append(
            [
                names[i],
                f"{int(row['trades']):,}",
                f"{int(row['partitions']):,}",
                *(f"{row[s]:.3f}" for s in STAGES),
                _num(row["trades"] / row["compute_s"], 0) if row["compute_s"] > 0 else "n/a",
                _num(cost[int(row["rank"])], 0) if cost is not None else "",
            ]
        )
    blocks.append(
        Table(
            "Per-rank load: trades, partitions, stage times (s), trades per second of "
            "compute and the planned cost of the rank's partitions.",
            [
                "rank",
                "trades",
                "partitions",
                "read",
                "compute",
                "reduce",
                "write",
                "trades/s",
                "planned cost",
            ],
            rows,
            [False] + [True] * 8,
        )
    )
    if compute.size and compute.mean() > 0:
        blocks.append(
            Text(
                f"Balance: the slowest rank computed {compute.max() / compute.mean():.2f} times "
                f"the mean compute time; the largest rank held {trades.max() / trades.mean():.2f} "
                "times the mean number of trades."
            )
        )
    return blocks


# -- failed trades ----------------------------------------------------------------------


def _failed(r: Result, limit: int) -> Section | None:
    n_bad = int(r.aggregates("total")["n_excluded"].iloc[0])
    if n_bad == 0:
        return None
    g = r.file["trades"]
    if "status" not in g:
        return _section(
            "failed",
            [Text(f"{n_bad:,} trades were excluded; the file holds no per-trade results.")],
        )
    status = g["status"][()]
    codes, counts = np.unique(status[status != 0], return_counts=True)
    reasons = [Status(int(c)).label for c in codes]
    idx = np.flatnonzero(status)[:limit]
    cells = {
        c: [x.decode("utf-8") for x in g[c][idx]] if c in g else [""] * idx.size
        for c in ("trade_id", "product", "desk", "reason")
    }
    rows = []
    for j, i in enumerate(idx):
        reason = cells["reason"][j]
        rows.append(
            [
                f"{int(i):,}",
                cells["trade_id"][j],
                cells["product"][j],
                cells["desk"][j],
                Status(int(status[i])).label,
                reason.split(":", 1)[0] if ":" in reason else "",
                reason,
            ]
        )
    return _section(
        "failed",
        [
            Figure(
                key="failed-reasons",
                title="Excluded trades by reason",
                caption=f"Number of the {n_bad:,} excluded trades per reason; they are flagged "
                "in /trades/status and left out of every aggregate.",
                xlabel="trades (count)",
                ylabel="reason",
                data={
                    "panels": [
                        {"name": "", "labels": reasons, "values": [float(c) for c in counts]}
                    ]
                },
                draw=bars,
                panel_height=max(1.6, 0.3 * len(reasons)),
            ),
            Table(
                "Excluded trades by reason.",
                ["reason", "trades"],
                [[x, f"{int(c):,}"] for x, c in zip(reasons, counts, strict=True)],
                [False, True],
            ),
            Table(
                f"The first {idx.size} excluded trades (row in /trades, field and reason).",
                ["row", "trade id", "product", "desk", "status", "field", "reason"],
                rows,
                [True, False, False, False, False, False, False],
            ),
        ],
    )
