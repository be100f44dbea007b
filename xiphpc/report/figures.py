"""Figures of the report: what each one shows (its data) and how it is drawn.

A :class:`Figure` carries the numbers it plots in ``data`` and a drawing function that reads
nothing else, so the data embedded beside the picture is the data in the picture. Every
``data`` holds a list of ``panels`` (one subplot each); the figure has one title, axis labels
with units (on the single subplot, or shared by a grid of subplots) and a one-sentence
caption.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure as MplFigure
from matplotlib.ticker import FuncFormatter

__all__ = [
    "Figure",
    "bars",
    "compact",
    "grouped_bars",
    "heatmaps",
    "histograms",
    "paired_bars",
    "timeline",
]

#: Text stays text in the SVG (searchable, small); fixed hash salt and no date make the
#: output reproducible.
_RC = {"svg.fonttype": "none", "svg.hashsalt": "xiphpc", "font.size": 9}

#: Width of a figure (inches) and of one grid column.
WIDTH = 9.0

#: Inches per character and per line of tick-label text (7 to 9 pt), and the characters of
#: a numeric tick label, for the margins of :meth:`Figure._layout`.
_CHAR, _LINE, _NUMBER_CHARS = 0.072, 0.17, 8

#: Colours of the VaR and ES markers and of the stages of a rank.
VAR_COLOUR, ES_COLOUR = "#c0392b", "#8e44ad"
STAGE_COLOURS = {
    "read_s": "#7f8c8d",
    "compute_s": "#2e86c1",
    "reduce_s": "#f39c12",
    "write_s": "#27ae60",
}


@dataclass
class Figure:
    """One figure of the report.

    Attributes
    ----------
    key : str
        Identifier, unique in a report (the HTML id of the figure).
    title, caption : str
        Title drawn on the figure; one sentence shown below it.
    xlabel, ylabel : str
        Axis labels, with units in parentheses where the axis has any.
    data : dict
        ``{"panels": [...], ...}``: everything drawn, as lists and numbers (see the drawing
        functions for the keys of a panel).
    draw : callable
        ``draw(fig, ax_list, figure)``: draws ``figure.data`` on the subplots.
    clabel : str
        Colour-bar label of heatmaps.
    columns : int
        Subplots per row of a grid.
    panel_height : float
        Height (inches) of one row of subplots.
    """

    key: str
    title: str
    caption: str
    xlabel: str
    ylabel: str
    data: dict[str, Any]
    draw: Callable[[MplFigure, list, Figure], None] = field(repr=False)
    clabel: str = ""
    columns: int = 1
    panel_height: float = 3.2

    def render(self) -> MplFigure:
        """The matplotlib figure (not attached to pyplot, so nothing global is kept)."""
        with matplotlib.rc_context(_RC):
            n = len(self.data["panels"])
            cols = max(1, min(self.columns, n))
            rows = max(1, math.ceil(n / cols))
            fig = MplFigure(figsize=(WIDTH, rows * self.panel_height))
            # The Agg canvas measures the text; no pyplot, so no GUI and no global figures.
            FigureCanvasAgg(fig)
            axes = list(fig.subplots(rows, cols, squeeze=False).ravel())
            for ax in axes[n:]:
                ax.remove()
            axes = axes[:n]
            fig.suptitle(self.title, fontweight="bold")
            if n == 1:
                axes[0].set_xlabel(self.xlabel)
                axes[0].set_ylabel(self.ylabel)
            else:
                fig.supxlabel(self.xlabel)
                fig.supylabel(self.ylabel)
            self.draw(fig, axes, self)
            self._layout(fig, axes, rows, cols)
        return fig

    def _layout(self, fig: MplFigure, axes: list, rows: int, cols: int) -> None:
        """Margins from the lengths of the tick labels, in inches, then the figure height
        from the panel height. Measuring every text (constrained layout) would take most of
        the time of the report."""

        def longest(labels) -> int:
            return max((len(t.get_text()) for t in labels), default=0)

        y_chars = max(longest(ax.get_yticklabels()) for ax in axes) or _NUMBER_CHARS
        x_labels = [t for ax in axes for t in ax.get_xticklabels()]
        if any(t.get_rotation() == 90 for t in x_labels):
            tick_h = 0.12 + longest(x_labels) * _CHAR
        else:
            lines = max((t.get_text().count("\n") + 1 for t in x_labels), default=1)
            tick_h = 0.12 + lines * _LINE
        tick_w = 0.12 + min(y_chars, 32) * _CHAR
        colorbar = 1.0 if self.clabel else 0.0
        panel_title = 0.3 if len(axes) > 1 else 0.0
        left, right = tick_w + 0.4, 0.25 + colorbar
        bottom, top = tick_h + 0.4, 0.55 + panel_title
        gap_w, gap_h = tick_w + colorbar + 0.25, tick_h + panel_title + 0.1
        width = (WIDTH - left - right - (cols - 1) * gap_w) / cols
        height = top + bottom + rows * self.panel_height + (rows - 1) * gap_h
        fig.set_size_inches(WIDTH, height)
        fig.subplots_adjust(
            left=left / WIDTH,
            right=1.0 - right / WIDTH,
            bottom=bottom / height,
            top=1.0 - top / height,
            wspace=gap_w / max(width, 0.5),
            hspace=gap_h / self.panel_height,
        )

    def svg(self) -> str:
        """The figure as an SVG document (without the XML prolog, for inlining in HTML)."""
        fig = self.render()
        buf = io.StringIO()
        with matplotlib.rc_context(_RC):
            fig.savefig(buf, format="svg", metadata={"Date": None})
        text = buf.getvalue()
        return text[text.index("<svg") :]


def compact(x: float, _pos=None) -> str:
    """Tick text of an amount: ``-1.25e6 -> "-1.25M"``, three significant digits."""
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:.3g}{suffix}"
    return f"{x:.3g}"


_COMPACT = FuncFormatter(compact)


def _tenor(label: str) -> str:
    return label.rsplit(":", 1)[-1]


def _panel_title(ax, panel: dict, n: int) -> None:
    if n > 1 and panel.get("name"):
        ax.set_title(panel["name"], fontsize=9)


def bars(fig: MplFigure, axes: list, spec: Figure) -> None:
    """Horizontal bars. Panel keys: ``name``, ``labels`` (one per bar, top to bottom),
    ``values``."""
    for ax, p in zip(axes, spec.data["panels"], strict=True):
        y = np.arange(len(p["labels"]))
        values = np.asarray(p["values"], dtype=float)
        ax.barh(y, values, color=np.where(values < 0, "#c0392b", "#2e86c1"))
        ax.set_yticks(y, p["labels"], fontsize=8)
        ax.invert_yaxis()
        ax.axvline(0.0, color="black", lw=0.6)
        ax.grid(axis="x", alpha=0.3)
        ax.xaxis.set_major_formatter(_COMPACT)
        _panel_title(ax, p, len(axes))


def grouped_bars(fig: MplFigure, axes: list, spec: Figure) -> None:
    """Horizontal bars in groups. Panel keys: ``name``, ``labels`` (groups, top to bottom),
    ``series`` (one name per bar of a group) and ``values`` (groups x series)."""
    for ax, p in zip(axes, spec.data["panels"], strict=True):
        values = np.asarray(p["values"], dtype=float).reshape(len(p["labels"]), len(p["series"]))
        n_s = len(p["series"])
        height = 0.8 / n_s
        y = np.arange(len(p["labels"]))
        for j, name in enumerate(p["series"]):
            ax.barh(y - 0.4 + (j + 0.5) * height, values[:, j], height=height, label=name)
        ax.set_yticks(y, p["labels"], fontsize=8)
        ax.invert_yaxis()
        ax.axvline(0.0, color="black", lw=0.6)
        ax.grid(axis="x", alpha=0.3)
        ax.xaxis.set_major_formatter(_COMPACT)
        ax.legend(fontsize=7, loc="best")
        _panel_title(ax, p, len(axes))


def histograms(fig: MplFigure, axes: list, spec: Figure) -> None:
    """P&L histograms with VaR and ES marked as losses. Panel keys: ``name``, ``counts``
    (B,), ``edges`` (B + 1,), ``var_at``, ``es_at`` (P&L where the lines are drawn: minus
    the VaR and ES losses)."""
    for ax, p in zip(axes, spec.data["panels"], strict=True):
        ax.stairs(p["counts"], p["edges"], fill=True, color="#5d6d7e", alpha=0.8)
        ax.axvline(p["var_at"], color=VAR_COLOUR, lw=1.5, label="VaR")
        ax.axvline(p["es_at"], color=ES_COLOUR, lw=1.5, ls="--", label="ES")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7, loc="upper right")
        ax.xaxis.set_major_formatter(_COMPACT)
        _panel_title(ax, p, len(axes))


def heatmaps(fig: MplFigure, axes: list, spec: Figure) -> None:
    """Matrices coloured around zero (blank where the row has no such column). Panel keys:
    ``name``, ``rows``, ``columns`` and ``values`` (rows x columns, None for blank)."""
    for ax, p in zip(axes, spec.data["panels"], strict=True):
        values = np.array(
            [[np.nan if v is None else v for v in row] for row in p["values"]], dtype=float
        )
        bound = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 0.0
        bound = bound if bound > 0.0 else 1.0
        norm = TwoSlopeNorm(vcenter=0.0, vmin=-bound, vmax=bound)
        im = ax.imshow(values, cmap="RdBu_r", norm=norm, aspect="auto", interpolation="none")
        ax.set_xticks(np.arange(len(p["columns"])), p["columns"], fontsize=7, rotation=90)
        ax.set_yticks(np.arange(len(p["rows"])), p["rows"], fontsize=7)
        # The colour bar sits right of its panel, in the margin _layout keeps for it.
        cb = fig.colorbar(im, cax=ax.inset_axes([1.03, 0.0, 0.035, 1.0]))
        cb.set_label(spec.clabel, fontsize=8)
        cb.ax.yaxis.set_major_formatter(_COMPACT)
        cb.ax.tick_params(labelsize=7)
        _panel_title(ax, p, len(axes))


def paired_bars(fig: MplFigure, axes: list, spec: Figure) -> None:
    """Zero-rate (or hazard-rate) buckets beside the par buckets of the same curve. Panel
    keys: ``name``, ``zero_labels``, ``zero``, ``par_labels``, ``par`` (one entry per
    pillar; the k-th quote replaced the k-th pillar)."""
    for ax, p in zip(axes, spec.data["panels"], strict=True):
        x = np.arange(len(p["zero"]))
        ax.bar(x - 0.2, p["zero"], width=0.4, label="pillar (zero or hazard rate)")
        ax.bar(x + 0.2, p["par"], width=0.4, label="par quote")
        ticks = [
            f"{z}\n{_tenor(q)}" for z, q in zip(p["zero_labels"], p["par_labels"], strict=True)
        ]
        ax.set_xticks(x, ticks, fontsize=7)
        ax.axhline(0.0, color="black", lw=0.6)
        ax.grid(axis="y", alpha=0.3)
        ax.yaxis.set_major_formatter(_COMPACT)
        if ax is axes[0]:  # the same two series in every panel
            ax.legend(fontsize=7)
        _panel_title(ax, p, len(axes))


def timeline(fig: MplFigure, axes: list, spec: Figure) -> None:
    """Intervals per row (a rank) on a time axis. Panel keys: ``rows`` (labels, top to
    bottom) and ``segments``: ``[row, start, end, label]`` with ``label`` a stage of
    :data:`STAGE_COLOURS` or a partition number."""
    for ax, p in zip(axes, spec.data["panels"], strict=True):
        seen: set[str] = set()
        for row, start, end, label in p["segments"]:
            if label in STAGE_COLOURS:
                colour, legend = STAGE_COLOURS[label], label.removesuffix("_s")
            else:
                colour, legend = f"C{int(label) % 10}", None
            ax.broken_barh(
                [(start, end - start)],
                (row - 0.4, 0.8),
                facecolors=colour,
                edgecolors="white",
                linewidth=0.5,
                label=legend if legend and legend not in seen else None,
            )
            if legend:
                seen.add(legend)
        ax.set_yticks(np.arange(len(p["rows"])), p["rows"], fontsize=8)
        ax.set_ylim(len(p["rows"]) - 0.5, -0.5)
        ax.grid(axis="x", alpha=0.3)
        if seen:
            # Above the bars, which fill the panel.
            ax.legend(
                fontsize=7,
                ncols=len(seen),
                loc="lower right",
                bbox_to_anchor=(1.0, 1.0),
                frameon=False,
            )
        _panel_title(ax, p, len(axes))
