"""What every figure shares: colors per init, new figures, and the decision-boundary panel.

Plot functions take results and return ``matplotlib.figure.Figure`` objects; they never compute
anything the result does not hold. They never touch pyplot: no global state, no window, no
backend switch (Jupyter shows a returned Figure inline; ``fig.savefig`` writes files headless).
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

PALETTE = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3",
           "#8c8c8c", "#ccb974", "#64b5cd"]
_REGIONS = ListedColormap(["#f4c7a8", "#a9c6e8"])
_POINTS = ListedColormap(["#c0392b", "#1f4e9c"])


def color(i: int) -> str:
    """The i-th color of initlab's palette (one per init, the same in every figure)."""
    return PALETTE[i % len(PALETTE)]


def figure(width: float, height: float) -> Figure:
    """A new Figure not registered with pyplot (no global state, nothing pops up)."""
    return Figure(figsize=(width, height), layout="constrained")


def boundary_panel(ax, boundary, replica: int, title: str) -> None:
    """Draw one replica's decision regions and the training points on ``ax``."""
    xs = np.asarray(boundary.xs)
    classes = np.asarray(boundary.classes)[replica]
    ax.contourf(xs, xs, classes, levels=[-0.5, 0.5, 1.5], cmap=_REGIONS)
    X, y = np.asarray(boundary.X), np.asarray(boundary.y)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap=_POINTS, s=9, edgecolors="white", linewidths=0.3)
    ax.set(xlim=(-boundary.lim, boundary.lim), ylim=(-boundary.lim, boundary.lim), title=title,
           xlabel="$x_1$", ylabel="$x_2$", aspect="equal")
