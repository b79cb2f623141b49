"""Decision boundaries of 2-D classifiers, computed once so that plots only draw.

A :class:`Boundary` holds the training points and, for each replica of a model, the predicted
class on a grid over a rectangle of the plane; :func:`plots.common.boundary_panel` draws one.
The rectangle is the caller's: experiments pass :meth:`Dataset.bounds
<initlab.data.dataset.Dataset.bounds>`, every train and test point with a margin, so a figure
never cuts off its data (the course's moons reach x1 = 2.07).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from initlab.results import Result


@dataclass
class Boundary(Result):
    """Predicted classes on a grid over the rectangle ``xs x ys``.

    xs : (Gx,) and ys : (Gy,) grid coordinates, equally spaced, the same step on both axes;
    classes : (R, Gy, Gx) predicted class at (ys[i], xs[j]); X : (N, 2) and y : (N,) the
    points drawn over it.
    """

    xs: list[float]
    ys: list[float]
    classes: list
    X: list
    y: list

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """``(x_min, x_max, y_min, y_max)`` of the plane the grid covers."""
        return (float(self.xs[0]), float(self.xs[-1]), float(self.ys[0]), float(self.ys[-1]))


def compute_boundary(model, X: np.ndarray, y: np.ndarray,
                     extent: float | tuple[float, float, float, float],
                     points: int = 200) -> Boundary:
    """Predict every replica of ``model`` on a grid over ``extent``.

    ``extent`` is ``(x_min, x_max, y_min, y_max)``, e.g. ``Dataset.bounds()``, or a number L
    for the square [-L, L]^2. The longer side gets ``points`` grid points and the shorter
    side as many as keep the cells square, so a wide plane costs no more than a square one.
    """
    if np.isscalar(extent):
        extent = (-extent, extent, -extent, extent)
    x0, x1, y0, y1 = (float(v) for v in extent)
    width, height = x1 - x0, y1 - y0
    shape = [max(2, round(points * side / max(width, height))) for side in (width, height)]
    xs, ys = np.linspace(x0, x1, shape[0]), np.linspace(y0, y1, shape[1])
    gx, gy = np.meshgrid(xs, ys)
    grid = np.column_stack([gx.ravel(), gy.ravel()]).astype(model.dtype, copy=False)
    classes = model.predict(grid).reshape(-1, len(ys), len(xs)).astype(np.int8)
    return Boundary(xs=xs, ys=ys, classes=classes, X=np.round(X, 5), y=np.asarray(y))
