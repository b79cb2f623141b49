"""Every decision-boundary figure draws all of its data: the plane covers every train and
test point with a margin (the course's moons reach x1 = 2.07, beyond a fixed [-1.5, 1.5]^2)."""

from __future__ import annotations

import numpy as np
import pytest
from plot_checks import check_layout

from initlab.data.builtin import classic_dataset


def _axes_cover(fig, data) -> None:
    """Every panel of ``fig``, in its limits and in the grid it colours, holds every train
    and test point of ``data`` strictly inside, with some room at each edge."""
    points = np.concatenate([data.X_train, data.X_test])
    lo, hi = points.min(axis=0), points.max(axis=0)
    panels = [ax for ax in fig.axes if ax.collections]
    assert panels
    for ax in panels:
        (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
        assert x0 < lo[0] and x1 > hi[0] and y0 < lo[1] and y1 > hi[1], (ax.get_title(), lo, hi)
        inside = ((points[:, 0] > x0) & (points[:, 0] < x1)
                  & (points[:, 1] > y0) & (points[:, 1] < y1))
        assert inside.all(), f"{(~inside).sum()} of {len(points)} points outside the plane"


@pytest.mark.parametrize("name", ["moons", "circles"])
def test_classic_boundary_figure_draws_every_train_and_test_point(name):
    from initlab.experiments.classic import run_classic
    from initlab.plots.classic import boundary_figure

    result = run_classic(name, iterations=200, record_every=100, boundary_points=30)
    data = classic_dataset(name)
    fig = boundary_figure(result)
    _axes_cover(fig, data)
    check_layout(fig)  # the plane's own aspect, and every label still on the page
    b = result.boundary
    x0, x1, y0, y1 = b.extent
    points = np.concatenate([data.X_train, data.X_test])
    assert x0 < points[:, 0].min() and x1 > points[:, 0].max()
    assert y0 < points[:, 1].min() and y1 > points[:, 1].max()


@pytest.mark.parametrize("name", ["moons", "circles"])
def test_compare_boundary_figure_draws_every_train_and_test_point(name):
    from initlab.experiments.compare import run_compare
    from initlab.plots.compare import boundary_figure

    result = run_compare(["he"], dataset=name, classic=True, seeds=1, iterations=50,
                         lr=0.05, layers=[4])
    fig = boundary_figure(result)
    _axes_cover(fig, classic_dataset(name))
    check_layout(fig)


def test_grid_cells_are_square_and_span_the_extent():
    """A wide plane gets fewer rows than columns, so a cell is as tall as it is wide."""
    from initlab import mlp
    from initlab.experiments.boundary import compute_boundary

    model = mlp([2, 3, 1], activation="relu", init="he", seed=0)
    X = np.array([[-1.0, -0.5], [2.0, 1.0]])
    b = compute_boundary(model, X, np.array([0, 1]), (-1.25, 2.25, -0.75, 1.25), points=71)
    xs, ys = np.asarray(b.xs), np.asarray(b.ys)
    assert (xs[0], xs[-1], ys[0], ys[-1]) == (-1.25, 2.25, -0.75, 1.25)
    assert len(xs) == 71 and np.asarray(b.classes).shape == (1, len(ys), len(xs))
    assert abs((xs[1] - xs[0]) - (ys[1] - ys[0])) < 0.1 * (xs[1] - xs[0])
    square = compute_boundary(model, X, np.array([0, 1]), 1.5, points=20)
    assert square.extent == (-1.5, 1.5, -1.5, 1.5)
    assert np.asarray(square.classes).shape == (1, 20, 20)


def test_report_caption_quotes_the_plane_it_draws():
    """The report's moons section said "plot range [-1.5, 1.5]" whatever the plane was."""
    from initlab.report.sections import SECTIONS, Settings, run_section

    moons = next(s for s in SECTIONS if s.id == "classic-moons")
    section, result = run_section(moons, Settings(quick=True))
    caption = next(c for c, _ in section.figures if c.startswith("Decision boundaries"))
    x0, x1, y0, y1 = result.boundary.extent
    assert f"x1 from {x0:.2f} to {x1:.2f}, x2 from {y0:.2f} to {y1:.2f}" in caption
    assert x1 > 2.07  # the moons' rightmost point, cut off by the old fixed plane
