"""Every kind of figure the report and the commands draw, from small results: laid out once
(no layout engine left), every label inside the figure and off the other Axes."""

import numpy as np
import pytest
from plot_checks import check_layout

from initlab.experiments.activations import run_activations
from initlab.experiments.classic import run_classic
from initlab.experiments.compare import run_compare
from initlab.experiments.normalize import run_normalize
from initlab.experiments.propagate import run_propagate
from initlab.experiments.regularize import run_regularize
from initlab.plots import classic, compare, normalize, propagate, regularize
from initlab.plots.activations import std_figure
from initlab.plots.sweep import heat_figure, line_figure
from initlab.sweep.summary import heat, lines
from initlab.sweep.table import flat_rows


def test_classic_figures():
    result = run_classic("moons", iterations=2000, record_every=500, boundary_points=20)
    check_layout(classic.cost_figure(result))
    check_layout(classic.boundary_figure(result))


def test_compare_figures():
    result = run_compare(["zeros", "he", "normal(10)"], dataset="xor", layers=[4], seeds=3,
                         iterations=40)
    for make in (compare.loss_figure, compare.accuracy_figure, compare.boundary_figure):
        check_layout(make(result))


@pytest.mark.parametrize("grad", [True, False])
def test_std_against_depth(grad):
    result = run_activations(["normal(0.01)", "he", "zeros"], ["tanh", "relu"], depth=5,
                             width=30, batch=20, seeds=2, grad=grad)
    fig = std_figure(result)
    assert len(fig.axes) == 2 * (3 if grad else 1)
    check_layout(fig)


def test_regularize_and_normalize_figures():
    check_layout(regularize.curves_figure(run_regularize(
        train_size=100, layers=[16], seeds=2, epochs=3)))
    result = run_normalize(scales=[1, 0.1, 0.01, 0.001, 1e-4], train_size=100, layers=[8, 8],
                           seeds=2, epochs=2, batch=50)
    for fig in normalize.figures(result).values():
        check_layout(fig)


def test_propagate_figures():
    result = run_propagate(sigma_w2=[0.8, 1.5, 3.0], depth=6, width=20, seeds=2, jacobian=True,
                           jacobian_depths=(4, 8), jacobian_width=16, trainability=True,
                           depths=[2, 4], train_sigma_w2=[1.0, 2.0],
                           train_options={"steps": 3, "width": 8, "train_size": 64, "batch": 16})
    figs = propagate.figures(result)
    assert list(figs) == ["propagation", "phase", "jacobian", "trainability"]
    for fig in figs.values():
        check_layout(fig)


def test_sweep_figures():
    rng = np.random.default_rng(0)
    points = [{"key": f"{lr}-{d}", "status": "done", "grid": {"lr": lr, "depth": d},
               "records": [{"init": i, "seed": s, "acc": float(rng.uniform())}
                           for i in ("he", "xavier") for s in range(3)]}
              for lr in (0.01, 0.1, 1.0) for d in (2, 4, 8)]
    rows = flat_rows(points)
    check_layout(line_figure(lines(rows, ["lr", "depth"], "lr", "acc", hue="init",
                                   where={"depth": "4"})))
    check_layout(heat_figure(heat(rows, ["lr", "depth"], "lr", "depth", "acc",
                                  where={"init": "he"})))


def test_std_against_depth_says_exactly_which_layers_are_not_drawn():
    """A log axis cannot show a std of 0: each panel's title names the inits and the layers
    whose points are missing, and a curve drawn somewhere is not called "not drawn"."""
    from initlab.experiments.activations import preset

    fig = std_figure(run_activations(**preset("saito")))
    check_layout(fig)
    titles = {ax.get_title().split("\n")[0]: " ".join(ax.get_title().split()[1:])
              for ax in fig.axes if ax.get_title()}
    sig = titles["sigmoid: activations $h_l$"]
    assert "(not drawn, std exactly 0: zeros at layers 1-5; ones, constant(5) at layers 3-5)" \
        in sig
    assert titles["relu: activations $h_l$"].endswith("(not drawn, std exactly 0: zeros at "
                                                       "layers 1-5)")
    assert titles[r"relu: weight gradient $\partial L/\partial W_l$"].endswith(
        "(not drawn, std exactly 0: zeros at layers 1-5; ones, constant(5) at layers 2-4)")
    assert titles[r"tanh: gradient $\partial L/\partial h_l$"].endswith(
        "(not drawn, std exactly 0: zeros, ones, constant(5) at layers 1-4)")
    # zeros' gradients are drawn at the top layer: the legend does not call zeros undrawn
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "zeros" in labels and not any("not drawn" in t for t in labels)
    healthy = std_figure(run_activations(["lecun", "he"], ["tanh"], depth=4, width=30,
                                         batch=20))
    assert not any("not drawn" in ax.get_title() for ax in healthy.axes)
    only_zeros = std_figure(run_activations(["zeros", "he"], ["tanh"], depth=4, width=30,
                                            batch=20, grad=False))
    labels = [t.get_text() for t in only_zeros.legends[0].get_texts()]
    assert "zeros (std 0: not drawn)" in labels
