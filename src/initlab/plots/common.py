"""What every figure shares: colors per init, new figures and their layout, log tick labels,
and the decision-boundary panel.

Plot functions take results and return ``matplotlib.figure.Figure`` objects (of the subclass
:class:`Figure`, which Jupyter shows inline by itself); they never compute anything the result
does not hold. They never touch pyplot: no global state, no window, no backend switch
(``fig.savefig`` writes files headless; :func:`encode` is the bytes of a figure file).
"""

from __future__ import annotations

import io
import re

import numpy as np
from matplotlib import figure as mpl_figure
from matplotlib.colors import ListedColormap
from matplotlib.ticker import Locator, LogFormatterSciNotation, LogLocator

from initlab.plots.layout import place, placeable

PALETTE = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3",
           "#8c8c8c", "#ccb974", "#64b5cd"]
#: Class 0 and class 1 in decision-boundary figures: regions, points (the explorer's too).
CLASS_REGIONS, CLASS_POINTS = ("#f4c7a8", "#a9c6e8"), ("#c0392b", "#1f4e9c")
_REGIONS = ListedColormap(list(CLASS_REGIONS))
_POINTS = ListedColormap(list(CLASS_POINTS))
_SUPERSCRIPT = str.maketrans("-0123456789", "\N{SUPERSCRIPT MINUS}\u2070\u00b9\u00b2\u00b3"
                             "\u2074\u2075\u2076\u2077\u2078\u2079")


def color(i: int) -> str:
    """The i-th color of initlab's palette (one per init, the same in every figure)."""
    return PALETTE[i % len(PALETTE)]


class Figure(mpl_figure.Figure):
    """A matplotlib Figure that a notebook shows as an image with no ``%matplotlib inline``.

    Jupyter shows an object as an image where it has ``_repr_png_``; matplotlib's Figure has
    none, and relies on IPython's inline backend, which registers a display formatter for all
    Figures when ``%matplotlib inline`` runs or pyplot is imported in a kernel. initlab never
    imports pyplot, so without the magic its figures showed as ``<Figure size ... with 1
    Axes>`` (in ``jupyter nbconvert --execute`` too). The method is on initlab's own figures
    only, rather than a formatter registered with IPython, which would change how the user's
    other figures display and be global state this package keeps out of. Where the inline
    backend is on, its formatter, registered for every Figure, comes first: one image either
    way. PNG only (no ``_repr_svg_``): a notebook would store both.
    """

    def _repr_png_(self) -> bytes:
        """The figure as PNG at its own dpi (matplotlib's default 100; ``fig.set_dpi`` changes
        it), as :func:`encode` writes it."""
        return encode(self, "png", self.dpi)


def encode(fig: mpl_figure.Figure, fmt: str = "png", dpi: float | None = None) -> bytes:
    """The bytes of ``fig`` as a ``fmt`` file (png, svg, pdf, or any format matplotlib writes)
    at ``dpi`` (None: the figure's own). PNG goes through :func:`png_bytes` (RGB where every
    pixel is opaque: smaller files)."""
    dpi = fig.dpi if dpi is None else dpi
    if fmt == "png":
        return png_bytes(fig, dpi=dpi)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi)
    return buf.getvalue()


#: zlib level of the embedded PNGs. With the pixels as RGB (the figures are opaque), level 3
#: encodes the report's 23 figures in half the time of matplotlib's RGBA at its default 6, in
#: files 5% smaller (RGB at 6: a further 3% smaller, 1.5 times as long).
PNG_COMPRESSION = 3


def png_bytes(fig, dpi: int = 100) -> bytes:
    """A matplotlib Figure as PNG bytes (laid out when it was made: plots.common.fit): RGB
    when every pixel is opaque (an alpha channel of 255s only makes the file larger)."""
    from PIL import Image

    raw = io.BytesIO()
    fig.savefig(raw, format="rgba", dpi=dpi)
    size = tuple(int(v * dpi) for v in fig.get_size_inches())  # as the Agg canvas sizes it
    if len(raw.getvalue()) != 4 * size[0] * size[1]:  # not the size expected: let it encode
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, pil_kwargs={"compress_level": PNG_COMPRESSION})
        return buf.getvalue()
    image = Image.frombuffer("RGBA", size, raw.getbuffer(), "raw", "RGBA", 0, 1)
    if image.getchannel("A").getextrema() == (255, 255):
        image = image.convert("RGB")
    buf = io.BytesIO()
    image.save(buf, format="png", compress_level=PNG_COMPRESSION, dpi=(dpi, dpi))
    return buf.getvalue()



def figure(width: float, height: float, layout: str | None = "constrained") -> Figure:
    """A new Figure not registered with pyplot (no global state, nothing pops up), to be laid
    out by :func:`fit` once it is drawn on. ``layout=None`` suits a figure that places its
    Axes itself, or one whose colorbars should share their Axes' cell (see plots.layout)."""
    return Figure(figsize=(width, height), layout=layout)


def fit(fig: mpl_figure.Figure) -> mpl_figure.Figure:
    """Lay ``fig`` out now, once, and keep that layout (every plot function ends with it).

    A layout engine left on the figure runs at every draw, and ``savefig`` then draws twice;
    constrained layout's two passes of measuring every tick, label and title cost more than
    the drawing itself. Here the margins are computed from the figure's text
    (:mod:`initlab.plots.layout`) where the figure is a plain grid of Axes, and otherwise by
    running constrained layout once; the engine is removed either way, so saving draws once.
    Titles get a fixed place (the automatic one measures both axes again at every draw, to
    clear tick labels at the top, which no figure has), as do axis labels where the margins
    were computed; log axes get plain-text tick labels (:class:`PlainLogFormatter`) and
    only the ticks in view (:class:`InViewLocator`). A figure changed afterwards can be laid
    out again with ``fig.set_layout_engine("constrained")`` (its axis labels stay put).
    """
    for ax in fig.axes:
        if ax.get_title():  # a fixed position: the automatic one measures both axes again
            ax.set_title(ax.get_title(), y=1.0, fontsize=ax.title.get_fontsize())
        for axis in (ax.xaxis, ax.yaxis):
            _log_axis(axis)
    engine = fig.get_layout_engine()
    fig.set_layout_engine(None)
    if placeable(fig):
        place(fig)
    elif engine is not None and fig.axes:
        fig.set_layout_engine(engine)
        # Spines only add the tick length, which the tick labels cover: not worth measuring.
        spines = [s for ax in fig.axes for s in ax.spines.values() if s.get_in_layout()]
        for spine in spines:
            spine.set_in_layout(False)
        engine.execute(fig)
        for spine in spines:
            spine.set_in_layout(True)
        fig.set_layout_engine(None)
    return fig


class PlainLogFormatter(LogFormatterSciNotation):
    """matplotlib's log-axis tick labels (10⁻³, 2×10⁻¹) written as plain text.

    The default labels are math text, which every figure parses again when it is drawn (a few
    milliseconds a label, and a log axis has many); Unicode superscripts look the same.
    """

    def __call__(self, x, pos=None) -> str:
        label = super().__call__(x, pos)
        math = re.fullmatch(r"\$\\mathdefault\{(.*)\}\$", label)
        if math is None:
            return label
        text = re.sub(r"\^\{(-?\d+)\}", lambda m: m.group(1).translate(_SUPERSCRIPT),
                      math.group(1))
        return text.replace(r"\times", "\N{MULTIPLICATION SIGN}")


class InViewLocator(Locator):
    """The ticks of ``locator`` that lie in the axis' view.

    A log axis' locator also returns the ticks of the decades around the view, and matplotlib
    makes a tick (five artists) for each before it leaves those out of the drawing.
    """

    def __init__(self, locator: Locator):
        self.locator = locator

    def set_axis(self, axis) -> None:
        super().set_axis(axis)
        self.locator.set_axis(axis)

    def __call__(self) -> np.ndarray:
        locs = np.asarray(self.locator())
        lo, hi = sorted(self.axis.get_view_interval())
        return locs[(locs >= lo * (1 - 1e-10)) & (locs <= hi * (1 + 1e-10))]

    def tick_values(self, vmin, vmax):
        return self.locator.tick_values(vmin, vmax)

    def nonsingular(self, v0, v1):
        return self.locator.nonsingular(v0, v1)

    def view_limits(self, vmin, vmax):
        return self.locator.view_limits(vmin, vmax)


#: Minor ticks of a log axis that spans at least :data:`WIDE_DECADES` decades: at 2 and 5
#: times each power of the base instead of matplotlib's 2, 3, ..., 9. Those unlabeled ticks
#: were most of the report's ticks (257 and 284 in its two std-against-depth figures), and
#: a tick costs about a millisecond to make and draw. Beyond 10 decades matplotlib draws no
#: minor ticks, and that is kept.
WIDE_MINOR = (2.0, 5.0)
WIDE_DECADES = 2.0


def _log_axis(axis) -> None:
    """On a log ``axis``: matplotlib's default tick labels as :class:`PlainLogFormatter`
    with the same settings (a formatter set on purpose, e.g. plain numbers, is kept), minor
    ticks at :data:`WIDE_MINOR` only where the view spans :data:`WIDE_DECADES` to 10 decades,
    and only the ticks in view made (:class:`InViewLocator`)."""
    if axis.get_scale() != "log":
        return
    base = axis.get_transform().base
    lo, hi = sorted(axis.get_view_interval())
    minor = axis.get_minor_locator()
    if type(minor) is LogLocator and 0 < lo and (
            WIDE_DECADES <= np.log(hi / lo) / np.log(base) <= 10):
        axis.set_minor_locator(LogLocator(base, subs=WIDE_MINOR))
    for old, put in ((axis.get_major_formatter(), axis.set_major_formatter),
                     (axis.get_minor_formatter(), axis.set_minor_formatter)):
        if type(old) is LogFormatterSciNotation:
            put(PlainLogFormatter(base, labelOnlyBase=old.labelOnlyBase,
                                  minor_thresholds=old.minor_thresholds))
    for old, put in ((axis.get_major_locator(), axis.set_major_locator),
                     (axis.get_minor_locator(), axis.set_minor_locator)):
        if isinstance(old, LogLocator):
            put(InViewLocator(old))


#: Inches of a boundary panel's width taken by the y tick labels and the y label.
_BOUNDARY_YLABELS = 0.7


def boundary_height(boundary, panel_width: float, text_height: float) -> float:
    """Height in inches of a row of boundary panels ``panel_width`` inches wide: the plane
    drawn with equal axes at its own aspect, plus ``text_height`` inches of titles and x labels
    (a wide plane, such as moons', would otherwise leave empty bands above and below)."""
    x0, x1, y0, y1 = boundary.extent
    return text_height + (panel_width - _BOUNDARY_YLABELS) * (y1 - y0) / (x1 - x0)


def boundary_panel(ax, boundary, replica: int, title: str) -> None:
    """Draw one replica's decision regions and the training points on ``ax``, over the
    boundary's whole plane (:attr:`~initlab.experiments.boundary.Boundary.extent`)."""
    classes = np.asarray(boundary.classes)[replica]
    ax.contourf(boundary.xs, boundary.ys, classes, levels=[-0.5, 0.5, 1.5], cmap=_REGIONS)
    X, y = np.asarray(boundary.X), np.asarray(boundary.y)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap=_POINTS, s=9, edgecolors="white", linewidths=0.3)
    x0, x1, y0, y1 = boundary.extent
    ax.set(xlim=(x0, x1), ylim=(y0, y1), title=title, xlabel="$x_1$", ylabel="$x_2$",
           aspect="equal")
