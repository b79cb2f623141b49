"""Small multiples in one Axes: a grid of framed panels that share their x range.

A figure of dozens of small panels drawn as one Axes each spends most of its time on the Axes
themselves (creating their axis objects, laying them out, drawing their ticks), not on the
data. :class:`PanelGrid` draws such a grid in a single Axes whose own axis is off, measured in
inches: each panel is a framed box, the x ticks are marked under every panel and labeled under
the bottom row, the rows are labeled on the left and the columns titled on top. It looks as a
grid of subplots with a shared x axis and no y ticks does, laid out as constrained layout
lays one out, at a fraction of the cost.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.markers import TICKDOWN
from matplotlib.ticker import MaxNLocator, ScalarFormatter

from initlab.plots.common import figure
from initlab.plots.layout import PAD, PT, text_size

GAP = (0.14, 0.15)  # between panels, inches (width, height)
TICK = 3.5 * PT  # tick length and the gap from a tick to its label (matplotlib's defaults)
LABEL_PAD = 4 * PT  # from a panel's frame to its row label
TITLE_PAD = 6 * PT  # from a panel's frame to the baseline of its title
ASCENT, LINE = 0.93, 1.17  # a line of text in font sizes: above the baseline, whole height


class PanelGrid:
    """``rows`` x ``cols`` framed panels in a new figure of ``width`` x ``height`` inches.

    xlim: the x range every panel shows; row_labels, col_titles: one per row and column;
    title: the figure's title on top. Sizes are font sizes in points. Draw with
    :meth:`stairs` and :meth:`note`; :attr:`fig` is the Figure.
    """

    def __init__(self, width: float, height: float, rows: int, cols: int, xlim, *,
                 row_labels, col_titles, title: str, label_size: float = 8.5,
                 title_size: float = 9, tick_size: float = 7, suptitle_size: float = 10):
        self.fig = fig = figure(width, height, layout=None)
        self.xlim = (float(xlim[0]), float(xlim[1]))
        left = PAD + max(text_size(s, label_size, fig.dpi)[0] for s in row_labels) + LABEL_PAD
        top = PAD + LINE * suptitle_size * PT + PAD + TITLE_PAD + ASCENT * title_size * PT
        bottom = PAD + 2 * TICK + LINE * tick_size * PT
        right = PAD + tick_size * PT
        self.w = (width - left - right - (cols - 1) * GAP[0]) / cols
        self.h = (height - top - bottom - (rows - 1) * GAP[1]) / rows
        self.x0 = [left + j * (self.w + GAP[0]) for j in range(cols)]
        self.y0 = [height - top - self.h - i * (self.h + GAP[1]) for i in range(rows)]
        # One Axes over the whole figure whose data units are inches.
        self.ax = ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        ax.set(xlim=(0, width), ylim=(0, height))
        ax.add_collection(PolyCollection(
            [[(x, y), (x + self.w, y), (x + self.w, y + self.h), (x, y + self.h)]
             for x in self.x0 for y in self.y0],
            facecolors="none", edgecolors="black", linewidths=0.8, zorder=2.5))
        self._ticks(tick_size)
        for i, label in enumerate(row_labels):
            ax.text(left - LABEL_PAD, self.y0[i] + self.h / 2, label, fontsize=label_size,
                    ha="right", va="center")
        for j, label in enumerate(col_titles):
            ax.text(self.x0[j] + self.w / 2, self.y0[0] + self.h + TITLE_PAD, label,
                    fontsize=title_size, ha="center", va="baseline")
        fig.suptitle(title, fontsize=suptitle_size, y=1 - PAD / height, va="top")

    def _x(self, j: int, x) -> np.ndarray:
        """Data x of column j in inches."""
        lo, hi = self.xlim
        return self.x0[j] + (np.asarray(x, dtype=float) - lo) / (hi - lo) * self.w

    def _ticks(self, size: float) -> None:
        """Tick marks under every panel, labeled under the bottom row, where matplotlib's
        automatic locator and default formatter would put them on a panel this wide."""
        lo, hi = self.xlim
        bins = min(max(math.floor(self.w / (3 * size * PT)), 1), 9)
        locs = MaxNLocator(bins, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
        locs = locs[(locs >= lo - 1e-9 * (hi - lo)) & (locs <= hi + 1e-9 * (hi - lo))]
        fmt = ScalarFormatter()
        fmt.create_dummy_axis()
        fmt.axis.set_view_interval(lo, hi)
        labels = fmt.format_ticks(locs)
        xs = np.concatenate([self._x(j, locs) for j in range(len(self.x0))])
        self.ax.plot(np.tile(xs, len(self.y0)), np.repeat(self.y0, xs.size), linestyle="none",
                     marker=TICKDOWN, markersize=TICK / PT, markeredgewidth=0.8, color="black")
        bottom = self.y0[-1] - 2 * TICK
        for j in range(len(self.x0)):
            for x, label in zip(self._x(j, locs), labels, strict=True):
                self.ax.text(x, bottom, label, fontsize=size, ha="center", va="top")

    def stairs(self, i: int, j: int, values, edges, top: float, color, alpha: float = 1.0) -> None:
        """Filled bars of ``values`` between ``edges`` in panel (i, j), whose top is ``top``;
        bars higher than ``top`` are cut at the frame. One polygon with no edge, as
        ``Axes.stairs(fill=True)`` draws it, added without updating data limits (fixed)."""
        v = np.asarray(values, dtype=float)
        v = self.y0[i] + (np.clip(v / top, 0, 1) if top > 0 else np.zeros_like(v)) * self.h
        x = self._x(j, edges)
        base = self.y0[i]
        xs = np.concatenate([[x[0]], np.repeat(x, 2)[1:-1], [x[-1]]])
        ys = np.concatenate([[base], np.repeat(v, 2), [base]])
        self.ax.add_collection(PolyCollection([np.column_stack([xs, ys])], facecolors=color,
                                              edgecolors="none", linewidths=0, alpha=alpha),
                               autolim=False)

    def note(self, i: int, j: int, text: str, left: bool, **kwargs) -> None:
        """``text`` in the top left (or right) corner of panel (i, j)."""
        x = self.x0[j] + (0.04 if left else 0.96) * self.w
        self.ax.text(x, self.y0[i] + 0.95 * self.h, text, ha="left" if left else "right",
                     va="top", **kwargs)
