"""What every laid-out figure must satisfy, measured by matplotlib itself on the drawn figure."""

from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg

TOLERANCE = 1.5  # pixels: text metrics of the layout are unhinted, the drawing's hinted


def draw(fig):
    """Draw ``fig`` as ``savefig`` does; return the renderer."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _overlap(a, b) -> bool:
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > TOLERANCE
            and min(a.y1, b.y1) - max(a.y0, b.y0) > TOLERANCE)


def _tick_labels(axis):
    """The tick labels ``axis`` drew (those of its ticks in view)."""
    lo, hi = sorted(axis.get_view_interval())
    slack = 1e-9 * (hi - lo)
    out = []
    for locs, ticks in ((axis.get_majorticklocs(), axis.get_major_ticks),
                        (axis.get_minorticklocs(), axis.get_minor_ticks)):
        for loc, tick in zip(locs, ticks(len(locs)), strict=True):
            if lo - slack <= loc <= hi + slack:
                out += [t for t in (tick.label1, tick.label2) if t.get_visible() and t.get_text()]
    return out


def _texts(ax):
    """The texts drawn around ``ax``: its tick labels, axis labels and title."""
    out = _tick_labels(ax.xaxis) + _tick_labels(ax.yaxis)
    return out + [t for t in (ax.xaxis.label, ax.yaxis.label, ax.title)
                  if t.get_visible() and t.get_text()]


def check_layout(fig) -> None:
    """Every text of ``fig`` lies inside it; no Axes' text enters another Axes' box; an axis
    label clears its own tick labels; the figure's title and legends clear every Axes."""
    assert fig.get_layout_engine() is None, "laid out once, not at every draw"
    renderer = draw(fig)
    page = fig.bbox
    axes = [ax for ax in fig.axes if ax.get_visible()]
    boxes = [ax.get_window_extent(renderer) for ax in axes]
    for ax in axes:
        for text in _texts(ax):
            box = text.get_window_extent(renderer)
            where = f"{text.get_text()!r} of {ax.get_label() or ax.get_title()!r}"
            assert (box.x0 > -TOLERANCE and box.y0 > -TOLERANCE
                    and box.x1 < page.x1 + TOLERANCE and box.y1 < page.y1 + TOLERANCE), \
                f"{where} leaves the figure: {box}"
            for other, other_box in zip(axes, boxes, strict=True):
                if other is not ax:
                    assert not _overlap(box, other_box), f"{where} runs into another Axes"
        for axis in (ax.xaxis, ax.yaxis):
            if axis.label.get_visible() and axis.label.get_text():
                label = axis.label.get_window_extent(renderer)
                for tick in _tick_labels(axis):
                    assert not _overlap(label, tick.get_window_extent(renderer)), \
                        f"axis label {axis.label.get_text()!r} on its tick labels"
    tops = [t for t in fig.texts if t.get_text()] + list(fig.legends)
    for artist in tops:
        box = artist.get_window_extent(renderer)
        assert box.y1 < page.y1 + TOLERANCE and box.x0 > -TOLERANCE \
            and box.x1 < page.x1 + TOLERANCE, f"{artist} leaves the figure: {box}"
        for ax in axes:
            assert not _overlap(box, ax.get_tightbbox(renderer)), \
                f"{artist} runs into the Axes {ax.get_title()!r}"
    titles = [(ax.title, ax.title.get_window_extent(renderer)) for ax in axes
              if ax.title.get_visible() and ax.title.get_text()]
    for i, (a, box_a) in enumerate(titles):
        for b, box_b in titles[i + 1:]:
            assert not _overlap(box_a, box_b), \
                f"the titles {a.get_text()!r} and {b.get_text()!r} run into each other"
