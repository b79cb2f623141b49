"""Lay a figure out from what its text will be, without drawing it first.

Constrained layout finds each Axes' margins by laying out and measuring every tick, label and
title it will draw (twice), and ``savefig`` then draws the whole figure once more before the
real drawing; for the report's figures that cost more than the drawing itself. :func:`place`
computes the same margins from the text alone: each axis' tick labels from its own locator and
formatter, the titles and axis labels, the figure's title and its legends outside the Axes,
sized with the font's metrics. It sets the figure's margins and spacing once, so saving draws
once. The spacing follows constrained layout's: 3 points around each Axes' decorations and at
the figure's edge, and 2% of the figure between neighbours at least.

It handles figures whose Axes all sit in the cells of one GridSpec (a colorbar made with
``fig.colorbar(..., ax=ax)`` shares its Axes' cell), with x tick labels at the bottom, legends
inside the Axes or at the figure's right or bottom edge, and no figure text but its title;
:func:`placeable` says whether a figure is one.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from matplotlib import rcParams
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.font_manager import FontProperties
from matplotlib.gridspec import GridSpec
from matplotlib.ticker import NullLocator

PT = 1 / 72  # inches per point
PAD = 3 * PT  # around each Axes' decorations and at the figure's edge
SPACE = 0.02  # between neighbouring Axes at least, a fraction of the figure spread over the gaps
PASSES = 16  # at most: two settle a plain grid, up to ten a fixed-aspect Axes (boundaries)
SETTLED = 0.005  # inches: margins that move less than this (half a pixel at 100 dpi) stay
CYCLE = 4  # passes: where margins never settle, the widest of this many last ones are kept


@lru_cache(maxsize=4)
def _renderer(dpi: float) -> RendererAgg:
    """A renderer that only measures text, as the drawing at ``dpi`` will (kept, so that its
    parsed math text is too)."""
    return RendererAgg(1, 1, dpi)


@lru_cache(maxsize=4096)
def text_size(text: str, size: float, dpi: float) -> tuple[float, float]:
    """(width, height) in inches of one line of ``text`` at ``size`` points in the default
    font, drawn at ``dpi`` (math text where it has ``$`` pairs), as a tick label's."""
    math = text.count("$") >= 2 and text.count("$") % 2 == 0
    measure = _renderer(dpi).get_text_width_height_descent
    width, height, _ = measure(text, FontProperties(size=size), ismath=math)
    line = measure("lp", FontProperties(size=size), ismath=False)[1]
    return width / dpi, max(height, line) / dpi  # as tall as a line at least, as drawn


def _extent(text) -> tuple[float, float]:
    """(width, height) in inches of a Text artist of the figure, as it will be drawn."""
    dpi = text.get_figure(root=True).dpi
    box = text.get_window_extent(_renderer(dpi))
    return box.width / dpi, box.height / dpi


def _tick_labels(axis) -> tuple[list[tuple[float, float]], list[float], float]:
    """The tick labels ``axis`` will draw, major and minor: their (width, height) in inches,
    their places as fractions of the axis, and their distance from the spine (inches)."""
    sizes, where, pad = [], [], 0.0
    dpi = axis.get_figure(root=True).dpi
    lo, hi = sorted(axis.get_view_interval())
    transform = axis.get_transform()
    t_lo, t_hi = transform.transform([lo, hi])
    for minor in (False, True):
        locator = axis.get_minor_locator() if minor else axis.get_major_locator()
        tick = (axis.get_minor_ticks if minor else axis.get_major_ticks)(1)[0]
        shown = [t for t in (tick.label1, tick.label2) if t.get_visible()]
        if isinstance(locator, NullLocator) or not shown:
            continue
        locs = np.asarray(locator())
        pos = (transform.transform(locs) - t_lo) / (t_hi - t_lo) if locs.size else locs
        keep = (pos > -1e-9) & (pos < 1 + 1e-9)
        formatter = axis.get_minor_formatter() if minor else axis.get_major_formatter()
        for text, p in zip(formatter.format_ticks(locs[keep]), pos[keep], strict=True):
            if text:
                sizes.append(text_size(text, shown[0].get_fontsize(), dpi))
                where.append(float(p))
        pad = max(pad, (tick.get_tick_padding() + tick.get_pad()) * PT)
    return sizes, where, pad


def _label(axis) -> float:
    """Space an axis label takes across its axis (inches): its lines and its pad."""
    if not axis.label.get_text() or not axis.label.get_visible():
        return 0.0
    width, height = _extent(axis.label)
    return (width if axis.axis_name == "y" else height) + axis.labelpad * PT


def _reach(axis) -> tuple[float, list, list]:
    """How far from its spine ``axis``' ticks and tick labels reach (inches), and the
    labels' sizes and places (see :func:`_tick_labels`)."""
    sizes, where, pad = _tick_labels(axis)
    reach = axis.get_major_ticks(1)[0].get_tick_padding() * PT
    across = 0 if axis.axis_name == "y" else 1  # a label's width on a y axis, else height
    if sizes:
        reach = max(reach, pad + max(size[across] for size in sizes))
    return reach, sizes, where


def _overhangs(ax, w: float, h: float) -> np.ndarray:
    """How far ``ax``'s decorations reach beyond its ``w`` x ``h`` inch box: (left, bottom,
    right, top, title) in inches; the last is how far a title wider than the box reaches
    out on either side (kept off the figure's edges only, as constrained layout lets titles
    be wider than their Axes)."""
    out = np.zeros(5)  # left, bottom, right, top, title
    side = 2 if ax.yaxis.get_label_position() == "right" else 0
    reach, sizes, where = _reach(ax.yaxis)
    out[side] = reach + _label(ax.yaxis)
    if sizes:  # the end labels stick out by half their height
        half = max(sh for _, sh in sizes) / 2
        out[1] = max(half - min(where) * h, 0)
        out[3] = max(half - (1 - max(where)) * h, 0)
    reach, sizes, where = _reach(ax.xaxis)
    out[1] = max(out[1], reach + _label(ax.xaxis))
    for (sw, _), p in zip(sizes, where, strict=True):  # and by half their width
        out[0] = max(out[0], sw / 2 - p * w)
        out[2] = max(out[2], sw / 2 - (1 - p) * w)
    if ax.get_title() and ax.title.get_visible():
        width, height = _extent(ax.title)
        out[3] = max(out[3], height + rcParams["axes.titlepad"] * PT)
        out[4] = max((width - w) / 2, 0)
    return out


def _pin_labels(ax, w: float, h: float) -> None:
    """Put ``ax``'s axis labels where matplotlib would, beyond the tick labels, and keep them
    there: found at every draw, that place costs as much again as drawing the ticks."""
    reach = _reach(ax.xaxis)[0] + ax.xaxis.labelpad * PT
    ax.xaxis.set_label_coords(0.5, -reach / h)
    reach = _reach(ax.yaxis)[0] + ax.yaxis.labelpad * PT
    right = ax.yaxis.get_label_position() == "right"
    ax.yaxis.set_label_coords(1 + reach / w if right else -reach / w, 0.5)


def _box(ax, renderer):
    """The box ``ax`` will be drawn in, in figure fractions: as at drawing, where a fixed
    aspect or a locator (a colorbar's) makes it smaller than its place."""
    locator = ax.get_axes_locator()
    ax.apply_aspect(locator(ax, renderer) if locator else None)
    return ax.get_position(original=False)


def _legends(fig) -> list[tuple[str, float]] | None:
    """Per legend of the figure: ("right" or "bottom", its width or height in inches); None
    if one is elsewhere."""
    if not fig.legends:
        return []
    width, height = fig.get_size_inches()
    out = []
    for legend in fig.legends:
        box = legend.get_window_extent(_renderer(fig.dpi))
        box = box.transformed(fig.dpi_scale_trans.inverted())
        if box.x0 > width / 2:
            out.append(("right", box.width))
        elif box.y1 < height / 2:
            out.append(("bottom", box.height))
        else:
            return None
    return out


def _grid(fig) -> GridSpec | None:
    """The one GridSpec all of ``fig``'s Axes sit in, if there is one and it has no margins
    of its own (which the figure's would not move)."""
    specs = [ax.get_subplotspec() for ax in fig.axes]
    if not specs or any(s is None for s in specs):
        return None
    grids = {s.get_topmost_subplotspec().get_gridspec() for s in specs}
    grid = grids.pop()
    if grids or not isinstance(grid, GridSpec):
        return None
    if any(getattr(grid, k) is not None for k in ("left", "right", "top", "bottom")):
        return None
    return grid


def placeable(fig) -> bool:
    """Whether :func:`place` can lay ``fig`` out (see the module's docstring)."""
    if fig.get_layout_engine() is not None or _grid(fig) is None:
        return False
    if any(text.get_text() != fig.get_suptitle() for text in fig.texts):
        return False  # a figure text other than the title: where it goes is unknown here
    for ax in fig.axes:
        if ax.xaxis.get_major_ticks(1)[0].label2.get_visible():
            return False
        if ax.get_legend() and ax.get_legend().get_bbox_to_anchor() is not ax.bbox:
            return False  # anchored outside its Axes
    return _legends(fig) is not None


def _margins(fig, rows: int, cols: int, extra: np.ndarray, renderer) -> np.ndarray | None:
    """(left, right, bottom, top, column gap, row gap) in inches that clear every Axes'
    decorations where the Axes sit now, with ``extra`` (left, bottom, right, top) for the
    legends and the title; None where they leave the Axes under a tenth of their share."""
    width, height = fig.get_size_inches()
    lefts, rights = np.zeros(cols + 1), np.zeros(cols + 1)
    bottoms, tops = np.zeros(rows + 1), np.zeros(rows + 1)
    titles = np.zeros(2)  # titles wider than their Axes, at the left and right edges
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        spec = ax.get_subplotspec().get_topmost_subplotspec()
        cell, box = spec.get_position(fig), _box(ax, renderer)
        # the Axes' overhangs, less how far inside its cell its box is
        out = _overhangs(ax, box.width * width, box.height * height)
        inset = np.array([(box.x0 - cell.x0) * width, (box.y0 - cell.y0) * height,
                          (cell.x1 - box.x1) * width, (cell.y1 - box.y1) * height])
        out[:4] -= inset
        c0, c1, r0, r1 = (spec.colspan.start, spec.colspan.stop, spec.rowspan.start,
                          spec.rowspan.stop)
        lefts[c0], rights[c1] = max(lefts[c0], out[0]), max(rights[c1], out[2])
        tops[r0], bottoms[r1] = max(tops[r0], out[3]), max(bottoms[r1], out[1])
        if c0 == 0:
            titles[0] = max(titles[0], out[4] - inset[0])
        if c1 == cols:
            titles[1] = max(titles[1], out[4] - inset[2])
    left = PAD + max(lefts[0], titles[0]) + extra[0]
    right = PAD + max(rights[cols], titles[1]) + extra[2]
    bottom, top = PAD + bottoms[rows] + extra[1], PAD + tops[0] + extra[3]
    wgap = (rights[1:cols] + lefts[1:cols]).max(initial=0) + 2 * max(
        PAD, SPACE / 2 / cols * width)
    hgap = (bottoms[1:rows] + tops[1:rows]).max(initial=0) + 2 * max(
        PAD, SPACE / 2 / rows * height)
    if (width - left - right - (cols - 1) * wgap < 0.1 * width
            or height - top - bottom - (rows - 1) * hgap < 0.1 * height):
        return None
    return np.array([left, right, bottom, top, wgap, hgap])


def _adjust(fig, margins: np.ndarray, rows: int, cols: int) -> None:
    """Set the figure's subplot parameters to ``margins`` (see :func:`_margins`)."""
    width, height = fig.get_size_inches()
    left, right, bottom, top, wgap, hgap = margins
    cell_w = (width - left - right - (cols - 1) * wgap) / cols
    cell_h = (height - top - bottom - (rows - 1) * hgap) / rows
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height,
                        top=1 - top / height, wspace=wgap / cell_w, hspace=hgap / cell_h)


def place(fig) -> None:
    """Set the figure's margins and the spacing of its Axes so every decoration fits (for a
    figure that is :func:`placeable`; it has no layout engine, so this stays as set)."""
    width, height = fig.get_size_inches()
    rows, cols = _grid(fig).get_geometry()
    extra = np.zeros(4)  # left, bottom, right, top: for the legends and the title
    for side, size in _legends(fig):
        extra[2 if side == "right" else 1] = max(extra[2 if side == "right" else 1], size + PAD)
    for text in fig.texts:  # the figure's title (see placeable): at the top edge
        extra[3] = _extent(text)[1] + PAD
        text.set(y=1 - PAD / height, verticalalignment="top")
    renderer = _renderer(fig.dpi)
    # Tick labels depend a little on the Axes' sizes, and an Axes of fixed aspect moves inside
    # its cell when the cell changes shape: measure again until the margins stay put. Where
    # they do not (a title wider than its Axes and a tick locator that thins out as the Axes
    # shrinks can take turns), the widest of the last few are kept: room to spare, nothing cut.
    seen = []
    for _ in range(PASSES):
        margins = _margins(fig, rows, cols, extra, renderer)
        if margins is None:
            return  # decorations about as large as the figure: nothing sensible to set
        _adjust(fig, margins, rows, cols)
        if seen and np.abs(margins - seen[-1]).max() < SETTLED:
            break
        seen.append(margins)
    else:
        _adjust(fig, np.max(seen[-CYCLE:], axis=0), rows, cols)
    for ax in fig.axes:
        if ax.get_visible():
            box = _box(ax, renderer)
            _pin_labels(ax, box.width * width, box.height * height)
