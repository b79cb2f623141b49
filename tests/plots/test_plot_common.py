"""plots.common: log tick labels as plain text, only the ticks in view, fixed titles; and the
report's PNGs (report.png_bytes)."""

import io
import re

import numpy as np
import pytest
from matplotlib.ticker import LogFormatterSciNotation, LogLocator
from PIL import Image
from plot_checks import draw

from initlab.plots.common import (
    PNG_COMPRESSION,
    InViewLocator,
    PlainLogFormatter,
    figure,
    fit,
    png_bytes,
)

SUPERSCRIPTS = dict(zip("-0123456789", "\N{SUPERSCRIPT MINUS}⁰¹²³⁴⁵⁶⁷⁸⁹", strict=True))


def as_plain(math: str) -> str:
    """matplotlib's math-text log label written out by hand: 10^{-3} -> 10⁻³."""
    body = math.removeprefix("$\\mathdefault{").removesuffix("}$").replace("\\times", "×")
    return re.sub(r"\^\{(-?\d+)\}", lambda m: "".join(SUPERSCRIPTS[c] for c in m.group(1)),
                  body)


def log_figure(lo: float, hi: float, plain: bool, where=None):
    """A log axis from ``lo`` to ``hi``: laid out by fit (``plain``), else with matplotlib's
    default ticks and labels, placed at ``where``."""
    fig = figure(5, 3)
    ax = fig.add_subplot()
    ax.plot([1, 2], [lo, hi])
    ax.set_yscale("log")
    ax.set_ylim(lo, hi)
    if plain:
        fit(fig)
    else:
        fig.set_layout_engine(None)
        ax.set_position(where)
    draw(fig)
    return ax


def pair(lo: float, hi: float):
    """(default, plain) log axes of the same size (a log axis' ticks depend on its length)."""
    plain = log_figure(lo, hi, True)
    return log_figure(lo, hi, False, plain.get_position()), plain


def shown(axis, which: str) -> list[tuple[float, str]]:
    """(place, label) of each tick ``axis`` drew (in view), major or minor."""
    lo, hi = sorted(axis.get_view_interval())
    locs = axis.get_majorticklocs() if which == "major" else axis.get_minorticklocs()
    ticks = (axis.get_major_ticks if which == "major" else axis.get_minor_ticks)(len(locs))
    return [(round(float(loc), 12), tick.label1.get_text())
            for loc, tick in zip(locs, ticks, strict=True)
            if lo * (1 - 1e-9) <= loc <= hi * (1 + 1e-9)]


@pytest.mark.parametrize("lo, hi", [(1e-7, 1e3), (0.01, 0.5), (0.05, 2.0), (1e-15, 1e12)])
def test_log_axes_draw_the_same_ticks_and_labels_without_math_text(lo, hi):
    default, plain = pair(lo, hi)
    assert type(plain.yaxis.get_major_formatter()) is PlainLogFormatter
    for which in ("major", "minor"):
        want = [(loc, as_plain(text) if text else "") for loc, text in shown(default.yaxis,
                                                                              which)]
        assert shown(plain.yaxis, which) == want
        assert not any("$" in text for _, text in want)


@pytest.mark.parametrize("lo, hi", [(1e-4, 1e2), (0.3, 40.0)])
def test_log_axes_of_2_to_10_decades_keep_the_minor_ticks_at_2_and_5(lo, hi):
    default, plain = pair(lo, hi)
    def mantissa(loc: float) -> float:
        return round(loc / 10 ** np.floor(np.log10(loc)), 6)

    drawn = shown(plain.yaxis, "minor")
    assert drawn and {mantissa(loc) for loc, _ in drawn} == {2.0, 5.0}
    assert drawn == [(loc, as_plain(text) if text else "")
                     for loc, text in shown(default.yaxis, "minor")
                     if mantissa(loc) in (2.0, 5.0)]
    assert shown(plain.yaxis, "major") == [(loc, as_plain(text)) for loc, text
                                           in shown(default.yaxis, "major")]


def test_formatter_examples():
    fmt = PlainLogFormatter()
    assert LogFormatterSciNotation()(1e-3) == "$\\mathdefault{10^{-3}}$"
    assert fmt(1e-3) == "10⁻³" and fmt(1.0) == "10⁰" and fmt(1e12) == "10¹²"
    assert PlainLogFormatter(labelOnlyBase=False)(0.2) == "2×10⁻¹"


def test_in_view_locator_makes_only_the_ticks_drawn():
    default, plain = pair(0.01, 0.5)
    assert isinstance(plain.yaxis.get_minor_locator(), InViewLocator)
    assert len(plain.yaxis.get_minor_ticks()) < len(default.yaxis.get_minor_ticks())
    locs = plain.yaxis.get_minor_locator()()
    assert locs.min() >= 0.01 and locs.max() <= 0.5
    everything = LogLocator(subs="auto").tick_values(0.01, 0.5)
    assert set(np.round(locs, 12)) == {v for v in np.round(everything, 12) if 0.01 <= v <= 0.5}
    assert plain.yaxis.get_minor_locator().nonsingular(5, 1) == (1, 5)  # as LogLocator


def test_titles_keep_their_size_and_a_fixed_place():
    fig = figure(4, 3)
    ax = fig.add_subplot()
    ax.set_title("a title", fontsize=8.5)
    fit(fig)
    assert ax.title.get_fontsize() == 8.5 and ax.title.get_position()[1] == 1.0
    draw(fig)
    assert ax.title.get_position()[1] == 1.0


def saved(fig, **kwargs) -> bytes:
    """``fig`` as matplotlib's own PNG."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, **kwargs)
    return buf.getvalue()


def test_png_bytes_are_the_drawn_pixels_as_rgb_at_the_report_compression():
    fig = figure(3.7, 2.9)
    fig.add_subplot().plot(np.sin(np.linspace(0, 9, 200)))
    data = png_bytes(fit(fig))
    ours, theirs = Image.open(io.BytesIO(data)), Image.open(io.BytesIO(saved(fig)))
    assert ours.size == theirs.size == (370, 290) and ours.mode == "RGB"
    assert np.array_equal(np.asarray(ours), np.asarray(theirs.convert("RGB")))  # lossless
    again = io.BytesIO()
    ours.save(again, format="png", compress_level=PNG_COMPRESSION)
    assert len(again.getvalue()) == pytest.approx(len(data), rel=0.02)
    rgba = saved(fig, pil_kwargs={"compress_level": PNG_COMPRESSION})
    assert len(data) < len(rgba)  # smaller than RGBA at the same level


def test_png_bytes_keeps_transparency():
    fig = figure(2, 1.5)
    fig.patch.set_alpha(0.0)
    fig.add_subplot().plot([0, 1])
    ours = Image.open(io.BytesIO(png_bytes(fit(fig))))
    assert ours.mode == "RGBA"
    assert np.array_equal(np.asarray(ours), np.asarray(Image.open(io.BytesIO(saved(fig)))))
