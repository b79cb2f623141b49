"""Figures of the classic three-layer experiment: cost curves and decision boundaries."""

from __future__ import annotations

import numpy as np

from initlab.plots.common import boundary_height, boundary_panel, color, figure, fit


def cost_figure(result):
    """All inits' training cost against iterations on one plot (log scale: the costs span
    0.69 for zeros to ~0.05 for he)."""
    fig = figure(6.4, 4.0)
    ax = fig.add_subplot()
    its = np.asarray(result.iterations)
    for i, row in enumerate(result.rows):
        costs = np.array([np.nan if c is None else c for c in row.costs], dtype=float)
        ax.plot(its, costs, marker="o", ms=3, color=color(i), label=row.init)
    ax.set(yscale="log", xlabel="iteration", ylabel="training cost (cross-entropy)",
           title=f"Cost per initialization ({result.dataset})")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return fit(fig)


def boundary_figure(result):
    """One decision-boundary panel per init, titled with its train and test accuracy."""
    n = len(result.rows)
    fig = figure(3.6 * n, boundary_height(result.boundary, 3.6, 1.1))
    axes = fig.subplots(1, n, squeeze=False)[0]
    for r, (ax, row) in enumerate(zip(axes, result.rows, strict=True)):
        boundary_panel(ax, result.boundary, r,
                       f"{row.init}: train {row.train_accuracy:.3f}, test {row.test_accuracy:.2f}")
    fig.suptitle(f"Decision boundaries ({result.dataset})")
    return fit(fig)
