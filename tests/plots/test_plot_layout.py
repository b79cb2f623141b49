"""Figures laid out once from their text (plots.layout, plots.common.fit) keep every label
inside the figure and off the other Axes, measured on the drawn figure by matplotlib."""

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from plot_checks import check_layout, draw

from initlab.plots.common import figure, fit
from initlab.plots.layout import place, placeable


def busy_grid():
    """2 x 3 Axes with what the report's figures have: log axes over many decades, long and
    math-text labels, titles of two lines, a legend at the right, a figure title."""
    fig = figure(11, 6)
    axes = fig.subplots(2, 3)
    x = np.arange(1, 11)
    for k, ax in enumerate(axes.flat):
        ax.plot(x, 10.0 ** (k - 4 * x), "o-", label="a rather long label (std 0)")
        ax.set_yscale("log")
        ax.set_title(f"panel {k}: activations $h_l$\n(exactly 0 at some layers, not drawn)",
                     fontsize=8.5)
        ax.set_xlabel("layer")
    axes[0, 0].set_ylabel("$q_l$ (length of the pre-activations)")
    axes[1, 0].set_ylabel("std")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside right upper")
    fig.suptitle("Std against depth (16 x 512 input, 10 layers of 512, 1 seed)")
    return fig


def test_a_busy_grid_is_placed_from_its_text_and_nothing_overlaps():
    fig = busy_grid()
    fig.set_layout_engine(None)
    assert placeable(fig)
    fig.set_layout_engine("constrained")
    check_layout(fit(fig))
    ax = fig.axes[0]
    assert ax.get_position().x0 < 0.15 and fig.axes[2].get_position().x1 < 0.85  # legend room


def test_the_layout_is_computed_once_and_saving_draws_once(monkeypatch):
    fig = fit(busy_grid())
    calls = []
    original = type(fig).draw
    monkeypatch.setattr(type(fig), "draw", lambda self, r: (calls.append(1), original(self, r)))
    FigureCanvasAgg(fig).print_png(__import__("io").BytesIO())
    fig.savefig(__import__("io").BytesIO(), format="png")
    assert len(calls) == 2  # one draw per save; a layout engine would add a dry run each
    positions = [ax.get_position().bounds for ax in fig.axes]
    draw(fig)
    assert [ax.get_position().bounds for ax in fig.axes] == positions  # frozen


def test_shared_axes_hidden_cells_and_a_legend_below():
    fig = figure(9, 4.3)
    axes = fig.subplots(2, 4, sharex=True, sharey=True)
    for k, ax in enumerate(axes.flat):
        if k == 7:
            ax.set_visible(False)
            continue
        ax.plot([0, 20], [0.1, 0.9], "--", label="no normalization" if k == 0 else None)
        ax.set_title(f"std = {10.0 ** -k:.3g}", fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    for ax in axes[:, 0]:
        ax.set_ylabel("train accuracy")
    fig.legend(loc="outside lower center", ncol=3)
    fig.suptitle("Training with weights N(0, std$^2$)")
    check_layout(fit(fig))


def test_colorbars_sharing_their_maps_cell():
    fig = figure(6.5, 4.6, layout=None)
    ax = fig.subplots()
    mesh = ax.pcolormesh(np.linspace(0.5, 4, 12), np.linspace(0, 0.3, 10),
                         np.random.default_rng(0).normal(size=(10, 12)))
    fig.colorbar(mesh, ax=ax, label="ln $\\chi_1$  (< 0 ordered, > 0 chaotic)")
    fig.colorbar(mesh, ax=ax, label="measured $c_L$")
    ax.set(xlabel="$\\sigma_w^2$", ylabel="$\\sigma_b^2$", title="Order to chaos")
    assert placeable(fig)
    check_layout(fit(fig))


def test_figures_it_cannot_place_are_laid_out_by_constrained_layout_once():
    fig = figure(6, 4)
    ax = fig.subplots()
    ax.plot([1, 2], [3, 4], label="curve")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13))  # below the Axes: unknown here
    ax.set_xlabel("x")
    fig.set_layout_engine(None)
    assert not placeable(fig)
    fig.set_layout_engine("constrained")
    fit(fig)
    assert fig.get_layout_engine() is None
    renderer = draw(fig)
    assert ax.get_legend().get_window_extent(renderer).y0 >= -1  # made room for it


def test_place_changes_the_margins_to_fit_the_text():
    fig = figure(6, 4, layout=None)
    ax = fig.subplots()
    ax.set_ylabel("a label\nof three\nlines")
    ax.set_yticks([0, 1], ["a very long tick label", "b"])
    place(fig)
    renderer = draw(fig)
    assert ax.get_tightbbox(renderer).x0 == pytest.approx(3 / 72 * fig.dpi, abs=3)
    check_layout(fig)
