"""The report as one self-contained HTML page: inline CSS, figures as inline SVG, the data
of every figure as JSON beside it; nothing is loaded from elsewhere."""

from __future__ import annotations

import html
import json
import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xiphpc.results import open_result

from .figures import Figure
from .sections import Section, Table, Text, build_sections

__all__ = ["Report", "build_report", "figure_data_id", "write_report"]

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0 auto;
       max-width: 1000px; padding: 1em 2em 4em; color: #1c2833; background: #ffffff; }
h1 { border-bottom: 3px solid #2e86c1; padding-bottom: .3em; }
h2 { border-bottom: 1px solid #aab7b8; margin-top: 2em; }
nav ul { columns: 2; list-style: none; padding-left: 0; }
nav a { color: #2e86c1; text-decoration: none; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.85em; }
caption { caption-side: top; text-align: left; font-style: italic; padding-bottom: .3em; }
th, td { border-bottom: 1px solid #e5e8e8; padding: .2em .7em; text-align: left; }
th { background: #f4f6f6; }
td { white-space: nowrap; }
td:last-child { white-space: normal; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.5em 0; }
figure svg { width: 100%; height: auto; }
figcaption { font-size: 0.9em; color: #566573; }
pre { background: #f4f6f6; padding: 1em; overflow-x: auto; font-size: 0.8em; }
"""


def figure_data_id(key: str) -> str:
    """HTML id of the JSON data of figure ``key``."""
    return f"data-{key}"


@dataclass
class Report:
    """A rendered report.

    Attributes
    ----------
    html : str
        The page.
    sections : list of Section
        What it shows, in page order.
    """

    html: str
    sections: list[Section]

    @property
    def figures(self) -> dict[str, Figure]:
        """Every figure by key, in page order."""
        return {b.key: b for s in self.sections for b in s.blocks if isinstance(b, Figure)}


def _json(data: Any) -> str:
    def clean(x):
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [clean(v) for v in x]
        return x

    # "</" would end the script element early.
    return json.dumps(clean(data), allow_nan=False, separators=(",", ":")).replace("</", "<\\/")


def _table(t: Table) -> str:
    numeric = t.numeric or [False] * len(t.columns)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in t.columns)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{html.escape(c)}</td>' if n else f"<td>{html.escape(c)}</td>"
            for c, n in zip(row, numeric, strict=True)
        )
        + "</tr>"
        for row in t.rows
    )
    head_row = f"<thead><tr>{head}</tr></thead>" if any(t.columns) else ""
    return (
        f"<table><caption>{html.escape(t.caption)}</caption>{head_row}<tbody>{body}</tbody></table>"
    )


def _figure(f: Figure, svg: str) -> str:
    return (
        f'<figure id="{f.key}" data-title="{html.escape(f.title)}">{svg}'
        f"<figcaption>{html.escape(f.caption)}</figcaption></figure>\n"
        f'<script type="application/json" id="{figure_data_id(f.key)}">{_json(f.data)}</script>'
    )


def _block(b: Figure | Table | Text, svgs: dict[str, str]) -> str:
    if isinstance(b, Figure):
        return _figure(b, svgs[b.key])
    if isinstance(b, Table):
        return _table(b)
    if b.pre:
        return f"<pre>{html.escape(b.text)}</pre>"
    return f"<p>{html.escape(b.text)}</p>"


def _svg(figure: Figure) -> str:
    return figure.svg()


def render_svgs(figures: list[Figure], workers: int | None = None) -> list[str]:
    """SVG of every figure, drawn in parallel on up to ``workers`` processes (default: the
    CPUs this process may use, at most 8); figures are independent, and drawing them is
    most of the time of a report."""
    if workers is None:
        cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
        workers = min(len(cpus) if cpus else os.cpu_count() or 1, 8)
    workers = min(workers, len(figures))
    if workers < 2:
        return [f.svg() for f in figures]
    # A fork server that has imported matplotlib starts workers quickly, and unlike a plain
    # fork is safe in a process that holds threads or an MPI library.
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["xiphpc.report.figures"])
    else:
        ctx = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            return list(pool.map(_svg, figures))
    except (OSError, BrokenProcessPool):
        # No processes to be had (a sandbox, a daemon), or a worker died: draw here, where
        # an error in a figure is raised with its own traceback.
        return [f.svg() for f in figures]


def render_page(title: str, subtitle: str, sections: list[Section]) -> str:
    """The HTML page of ``sections``."""
    figures = [b for s in sections for b in s.blocks if isinstance(b, Figure)]
    svgs = dict(zip((f.key for f in figures), render_svgs(figures), strict=True))
    nav = "".join(f'<li><a href="#{s.id}">{html.escape(s.title)}</a></li>' for s in sections)
    body = "\n".join(
        f'<section id="{s.id}"><h2>{html.escape(s.title)}</h2>\n'
        + "\n".join(_block(b, svgs) for b in s.blocks)
        + "</section>"
        for s in sections
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n<body>"
        f"<header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>"
        f"<nav><ul>{nav}</ul></nav>\n{body}\n</body></html>\n"
    )


def build_report(result: str | Path, *, top: int = 10, failed: int = 20) -> Report:
    """The report of a result file.

    Raises
    ------
    xiphpc.results.ResultError
        The file is missing or is not a complete result file.
    """
    with open_result(result) as r:
        sections = build_sections(r, top=top, failed=failed)
        a = r.attrs
        title = f"Risk report: {a.get('name', Path(result).stem)}"
        if "merged_from" in a:
            title += f" and {len(a['merged_from']) - 1} more merged"
        subtitle = (
            f"valuation date {a.get('valuation_date', '')}, base currency {r.base_currency}, "
            f"{int(a.get('n_trades', 0)):,} trades; {Path(result)}"
        )
    return Report(render_page(title, subtitle, sections), sections)


def write_report(result: str | Path, out: str | Path, **kw) -> Report:
    """Write the report of ``result`` to ``out`` (HTML); see :func:`build_report`."""
    report = build_report(result, **kw)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report.html, encoding="utf-8")
    return report
