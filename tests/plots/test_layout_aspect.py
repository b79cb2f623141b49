"""Axes of fixed aspect (decision boundaries) move inside their cells as the margins change:
the layout measures again until its margins settle, so every label stays on the page."""

from __future__ import annotations

import numpy as np
import pytest
from plot_checks import check_layout

from initlab.experiments.boundary import Boundary
from initlab.plots.common import boundary_panel, figure, fit


def _boundary(extent) -> Boundary:
    x0, x1, y0, y1 = extent
    xs, ys = np.linspace(x0, x1, 40), np.linspace(y0, y1, 30)
    X = np.array([[x0 + 0.3, y0 + 0.3], [x1 - 0.3, y1 - 0.3]])
    return Boundary(xs=xs, ys=ys, classes=np.zeros((3, 30, 40), np.int8), X=X, y=[0, 1])


@pytest.mark.parametrize("size, panels, extent, title", [
    # a nearly square plane in a cell a little too short for it (two passes left the x labels
    # below the figure's edge)
    ((10.8, 3.63), 3, (-1.37, 1.34, -1.33, 1.32), "zeros: train 0.500, test 0.50"),
    # a wide plane under a two-line title wider than its Axes: the title's overhang and the
    # y ticks, which thin out as the Axes shrinks, take turns (the y label left the figure)
    ((3.4, 2.476), 1, (-1.327, 2.315, -0.818, 1.308),
     "he: median seed 0\ntest 0.710 (mean over seeds 0.710)"),
])
def test_fixed_aspect_panels_keep_every_label_on_the_page(size, panels, extent, title):
    fig = figure(*size)
    boundary = _boundary(extent)
    for i, ax in enumerate(fig.subplots(1, panels, squeeze=False)[0]):
        boundary_panel(ax, boundary, i, title)
    if panels > 1:
        fig.suptitle("Decision boundaries (circles)")
    check_layout(fit(fig))
