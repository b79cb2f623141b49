"""Histogram grids drawn as framed panels in one Axes (plots.panels): the same content as a
grid of subplots, laid out inside the figure, ticks where matplotlib would put them."""

import numpy as np
import pytest
from plot_checks import draw

from initlab.experiments.activations import ActivationsResult, run_activations
from initlab.plots.activations import figures
from initlab.plots.common import figure
from initlab.plots.panels import PanelGrid


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    fresh = run_activations(["he", "zeros", "normal(0.01)"], ["relu", "tanh"], depth=3,
                            width=30, batch=20, seeds=2)
    return ActivationsResult.load(fresh.save(tmp_path_factory.mktemp("r") / "r.json"))


def texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_histogram_grid_has_every_title_label_and_note(result):
    figs = figures(result)
    assert list(figs) == ["histograms_relu", "histograms_tanh", "std_vs_depth"]
    fig = figs["histograms_relu"]
    assert len(fig.axes) == 1 and fig.get_layout_engine() is None
    words = texts(fig)
    for title in ("1-layer", "2-layer", "3-layer", "he", "zeros", "normal(0.01)"):
        assert words.count(title) == 1, title
    assert "100% = 0" in words  # zeros: every ReLU output is 0, said in a note
    assert fig.get_suptitle().startswith("relu: activation histograms (20 x 30 input")
    bars = fig.axes[0].collections[1:]
    assert len(bars) == 3 * 3  # one polygon per panel (after the frames)


def test_every_text_inside_the_figure_and_off_the_panels(result):
    fig = figures(result)["histograms_tanh"]
    renderer = draw(fig)
    grid_ax = fig.axes[0]
    frames = grid_ax.collections[0].get_paths()
    panels = [grid_ax.transData.transform(p.vertices) for p in frames]
    for text in [*grid_ax.texts, *fig.texts]:
        box = text.get_window_extent(renderer)
        assert box.x0 >= -1 and box.y0 >= -1 and box.x1 <= fig.bbox.x1 + 1 \
            and box.y1 <= fig.bbox.y1 + 1, text.get_text()
        if text.get_fontsize() == 6.5:  # a note sits inside its panel
            continue
        for xy in panels:  # row labels, titles and tick labels stay off every panel
            (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
            assert min(box.x1, x1) - max(box.x0, x0) <= 1 or \
                min(box.y1, y1) - max(box.y0, y0) <= 1, text.get_text()


def test_ticks_are_those_of_a_subplot_as_wide():
    grid = PanelGrid(8, 3, 2, 4, (-1.06, 1.06), row_labels=["a", "b"],
                     col_titles=list("wxyz"), title="t")
    labels = [t.get_text() for t in grid.ax.texts if t.get_fontsize() == 7]
    fig = figure(8, 3, layout=None)
    ax = fig.add_axes((0, 0, grid.w / 8, 0.5))
    ax.set_xlim(-1.06, 1.06)
    ax.tick_params(labelsize=7)
    draw(fig)
    shown = [t.get_text() for t, loc in zip(ax.get_xticklabels(), ax.get_xticks(), strict=True)
             if -1.06 <= loc <= 1.06]
    assert labels == shown * 4  # under each of the 4 columns of the bottom row
    assert labels[:3] == ["\N{MINUS SIGN}1.0", "\N{MINUS SIGN}0.5", "0.0"]


def test_bars_higher_than_the_top_are_cut_at_the_frame():
    grid = PanelGrid(4, 3, 1, 1, (0, 4), row_labels=["a"], col_titles=["x"], title="t")
    grid.stairs(0, 0, [1.0, 5.0, 0.5, 0.0], np.arange(5.0), top=2.0, color="C0")
    ys = grid.ax.collections[-1].get_paths()[0].vertices[:, 1]
    bottom, height = grid.y0[0], grid.h
    assert ys.min() == pytest.approx(bottom) and ys.max() == pytest.approx(bottom + height)
    assert sorted(set(np.round((ys - bottom) / height, 9))) == [0, 0.25, 0.5, 1]


def test_inspect_row_ticks_label_rows_far_enough_apart():
    # rows 14 and 15 of 41 both labeled printed as "1415"
    from initlab.plots.inspect import _spaced_labels

    labels = _spaced_labels([1, 2, 5, 6, 14, 15, 41], 41)
    assert labels == ["1", "", "5", "", "14", "", "41"]
    assert _spaced_labels([1, 2, 3], 10) == ["1", "2", "3"]  # few rows: every one
