"""Decision boundaries of 2-D classifiers, computed once so that plots only draw.

A :class:`Boundary` holds the training points and, for each replica of a model, the predicted
class on a square grid; :func:`plots.common.boundary_panel` draws one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from initlab.results import Result


@dataclass
class Boundary(Result):
    """Predicted classes on a grid over ``[-lim, lim]^2``.

    xs : (G,) grid coordinates on both axes; classes : (R, G, G) predicted class at
    (ys[i], xs[j]); X : (N, 2) and y : (N,) the points drawn over it.
    """

    lim: float
    xs: list[float]
    classes: list
    X: list
    y: list


def compute_boundary(model, X: np.ndarray, y: np.ndarray, lim: float = 1.5,
                     points: int = 200) -> Boundary:
    """Predict every replica of ``model`` on a ``points x points`` grid over [-lim, lim]^2."""
    xs = np.linspace(-lim, lim, points)
    gx, gy = np.meshgrid(xs, xs)
    grid = np.column_stack([gx.ravel(), gy.ravel()]).astype(model.dtype, copy=False)
    classes = model.predict(grid).reshape(-1, points, points).astype(np.int8)
    return Boundary(lim=lim, xs=xs, classes=classes, X=np.round(X, 5), y=np.asarray(y))
