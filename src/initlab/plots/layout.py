"""Lay a figure out from what its text will be, without drawing it first.

Constrained layout finds each Axes' margins by laying out and measuring every tick, label and
title it will draw (twice), and ``savefig`` then draws the whole figure once more before the
real drawing; for the report's figures that cost more than the drawing itself. :func:`place`
computes the same margins from the text alone: each axis' tick labels from its own locator and
formatter, the titles and axis labels, the figure's title and its legends outside the Axes,
sized with the font's metrics. It sets the GridSpec's margins and spacing once, so saving
draws once.

It handles figures whose Axes all sit in one GridSpec, with tick labels on the left and
bottom only and legends inside the Axes or outside the figure's right or bottom edge; for any
other figure it returns False and the caller lays it out another way.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from matplotlib import rcParams
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.font_manager import FontProperties
from matplotlib.gridspec import GridSpec
from matplotlib.textpath import text_to_path
from matplotlib.ticker import NullLocator

PT = 1 / 72  # inches per point
PAD = 3 * PT  # around each Axes' decorations and the figure's edge, as constrained layout
SPACE = 0.02  # between Axes at least, a fraction of the figure spread over the gaps (likewise)
LINESPACING = 1.2  # matplotlib's default between the baselines of a text's lines


@lru_cache(maxsize=4096)
def _extent(text: str, size: float) -> tuple[float, float]:
    """(width, height) in inches of one line of ``text`` at ``size`` points (math text where
    it has ``$``); the height is at least that of a line of plain text."""
    math = text.count("$") >= 2 and text.count("$") % 2 == 0
    prop = FontProperties(size=size)
    width, height, _ = text_to_path.get_text_width_height_descent(text, prop, ismath=math)
    line = text_to_path.get_text_width_height_descent("lp", prop, ismath=False)[1]
    return width * PT, max(height, line) * PT


def _size(text: str, size: float) -> tuple[float, float]:
    """(width, height) in inches of a text of one or more lines."""
    lines = [_extent(line, size) for line in text.split("\n")]
    line = _extent("lp", size)[1]
    return (max(w for w, _ in lines),
            sum(h for _, h in lines) + (len(lines) - 1) * (LINESPACING - 1) * line)


def _tick_labels(axis) -> tuple[list[str], list[float], float, float]:
    """The tick labels ``axis`` will draw (major and minor), their positions as fractions of
    the axis, their font size and their distance from the spine (inches)."""
    labels, where, size, pad = [], [], 0.0, 0.0
    lo, hi = sorted(axis.get_view_interval())
    transform = axis.get_transform()
    t_lo, t_hi = transform.transform([lo, hi])
    for minor in (False, True):
        if isinstance(axis.get_minor_locator() if minor else axis.get_major_locator(),
                      NullLocator):
            continue
        tick = (axis.get_minor_ticks if minor else axis.get_major_ticks)(1)[0]
        if not tick.label1.get_visible():
            continue
        locs = np.asarray(axis.get_minorticklocs() if minor else axis.get_majorticklocs())
        pos = (transform.transform(locs) - t_lo) / (t_hi - t_lo) if locs.size else locs
        keep = (pos > -1e-9) & (pos < 1 + 1e-9)
        formatter = axis.get_minor_formatter() if minor else axis.get_major_formatter()
        for text, p in zip(formatter.format_ticks(locs[keep]), pos[keep], strict=True):
            if text:
                labels.append(text)
                where.append(float(p))
        size = max(size, tick.label1.get_fontsize())
        pad = max(pad, (tick.get_tick_padding() + tick.get_pad()) * PT)
    return labels, where, size, pad


def _label(axis) -> float:
    """Space an axis label takes across its axis (inches): its lines and its pad."""
    text = axis.label.get_text()
    if not text or not axis.label.get_visible():
        return 0.0
    return _size(text, axis.label.get_fontsize())[1] + axis.labelpad * PT


def _overhangs(ax) -> tuple[float, float, float, float]:
    """How far ``ax``'s decorations reach beyond its box (left, bottom, right, top), inches."""
    box = ax.get_position()
    width, height = ax.get_figure().get_size_inches()
    w, h = box.width * width, box.height * height
    left = bottom = right = top = 0.0
    labels, where, size, pad = _tick_labels(ax.yaxis)
    y_ticks = ax.yaxis.get_major_ticks(1)[0].get_tick_padding() * PT
    left = y_ticks
    if labels:
        left = pad + max(_size(s, size)[0] for s in labels)
        half = max(_size(s, size)[1] for s in labels) / 2
        bottom = max(half - min(where) * h, 0)
        top = max(half - (1 - max(where)) * h, 0)
    left += _label(ax.yaxis)
    labels, where, size, pad = _tick_labels(ax.xaxis)
    low = ax.xaxis.get_major_ticks(1)[0].get_tick_padding() * PT
    if labels:
        low = pad + max(_size(s, size)[1] for s in labels)
        for text, p in zip(labels, where, strict=True):
            half = _size(text, size)[0] / 2
            left = max(left, half - p * w)
            right = max(right, half - (1 - p) * w)
    bottom = max(bottom, low + _label(ax.xaxis))
    title = ax.get_title()
    if title and ax.title.get_visible():
        top = max(top, _size(title, ax.title.get_fontsize())[1]
                  + rcParams["axes.titlepad"] * PT)
    return left, bottom, right, top


def _placeable(fig) -> bool:
    """Whether :func:`place` can lay ``fig`` out (see the module's docstring)."""
    specs = [ax.get_subplotspec() for ax in fig.axes]
    if not specs or any(s is None for s in specs):
        return False
    grid = specs[0].get_gridspec()
    if not isinstance(grid, GridSpec) or any(s.get_gridspec() is not grid for s in specs):
        return False
    if any(getattr(grid, k) is not None for k in ("left", "right", "top", "bottom")):
        return False  # margins of its own, which the figure's would not move
    if fig.get_layout_engine() is not None:
        return False
    if any(text.get_text() != fig.get_suptitle() for text in fig.texts):
        return False  # a figure text other than the title: where it goes is unknown here
    for ax in fig.axes:
        ticks = ax.xaxis.get_major_ticks(1)[0], ax.yaxis.get_major_ticks(1)[0]
        if any(t.label2.get_visible() for t in ticks):
            return False
        if ax.get_legend() and ax.get_legend().get_bbox_to_anchor() is not ax.bbox:
            return False
    return True


def placeable(fig) -> bool:
    """Whether :func:`place` can lay ``fig`` out: all its Axes in one GridSpec, tick labels
    left and bottom only, no legend anchored outside its Axes, no figure text but the
    title, legends of the figure at its right or bottom edge, and no layout engine."""
    if not _placeable(fig):
        return False
    return all(side is not None for side in _legend_sides(fig))


def _legend_sides(fig):
    """Per figure legend: ("right" or "bottom", its width or height in inches), or None."""
    if not fig.legends:
        return []
    renderer = RendererAgg(1, 1, fig.dpi)
    width, height = fig.get_size_inches()
    out = []
    for legend in fig.legends:
        box = legend.get_window_extent(renderer).transformed(fig.dpi_scale_trans.inverted())
        out.append(("right", box.width) if box.x0 > width / 2 else
                   ("bottom", box.height) if box.y1 < height / 2 else None)
    return out


def place(fig) -> None:
    """Set the figure's margins and the spacing of its Axes so every decoration fits (only
    for a figure that is :func:`placeable`)."""
    width, height = fig.get_size_inches()
    rows, cols = fig.axes[0].get_subplotspec().get_gridspec().get_geometry()
    right_legend = bottom_legend = 0.0
    for side, size in _legend_sides(fig):
        if side == "right":
            right_legend = max(right_legend, size + PAD)
        else:
            bottom_legend = max(bottom_legend, size + PAD)
    suptitle = 0.0
    for text in fig.texts:  # the figure's title (see _placeable): at the top edge
        suptitle = _size(text.get_text(), text.get_fontsize())[1] + PAD
        text.set(y=1 - PAD / height, verticalalignment="top")
    for _ in range(2):  # tick labels depend a little on the Axes' sizes: measure again
        lefts, rights = np.zeros(cols + 1), np.zeros(cols + 1)
        bottoms, tops = np.zeros(rows + 1), np.zeros(rows + 1)
        for ax in fig.axes:
            if not ax.get_visible():
                continue
            spec = ax.get_subplotspec()
            left, bottom, right, top = _overhangs(ax)
            lefts[spec.colspan.start] = max(lefts[spec.colspan.start], left)
            rights[spec.colspan.stop] = max(rights[spec.colspan.stop], right)
            tops[spec.rowspan.start] = max(tops[spec.rowspan.start], top)
            bottoms[spec.rowspan.stop] = max(bottoms[spec.rowspan.stop], bottom)
        left = PAD + lefts[0]
        right = PAD + rights[cols] + right_legend
        top = PAD + suptitle + tops[0]
        bottom = PAD + bottoms[rows] + bottom_legend
        wgap = (rights[1:cols] + lefts[1:cols]).max(initial=0) + 2 * max(
            PAD, SPACE / 2 / cols * width)
        hgap = (bottoms[1:rows] + tops[1:rows]).max(initial=0) + 2 * max(
            PAD, SPACE / 2 / rows * height)
        cell_w = (width - left - right - (cols - 1) * wgap) / cols
        cell_h = (height - top - bottom - (rows - 1) * hgap) / rows
        if cell_w <= 0 or cell_h <= 0:  # decorations larger than the figure: do what fits
            cell_w, cell_h = max(cell_w, 0.1 * width / cols), max(cell_h, 0.1 * height / rows)
        fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height,
                            top=1 - top / height, wspace=wgap / cell_w, hspace=hgap / cell_h)
    return True
