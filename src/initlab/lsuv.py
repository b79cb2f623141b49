"""LSUV: layer-sequential unit-variance initialization (Mishkin & Matas 2015).

"All you need is a good init": start from orthonormal weights, then, layer by layer on one
batch of data, divide each Dense layer's weights by the standard deviation of its output until
the output variance is within ``tol`` of 1:

    W <- W / sqrt(Var(x W^T + b))   while |Var - 1| >= tol, at most max_tries times

Every replica is scaled on its own (its own orthonormal draw, from its own random stream).

>>> from initlab.nn import mlp
>>> model = mlp([20, 50, 50, 1], activation="tanh")
>>> var = lsuv(model, np.random.default_rng(0).standard_normal((200, 20)))
>>> bool(np.all(np.abs(var - 1) < 0.1))
True
"""

from __future__ import annotations

import numbers

import numpy as np

from initlab.errors import InitlabError, check_positive_int
from initlab.init import get_initializer
from initlab.nn.layers import Dense


def lsuv(model, X, tol: float = 0.1, max_tries: int = 10, orthonormal: bool = True) -> np.ndarray:
    """Rescale ``model``'s Dense weights in place so each layer's output has unit variance on X.

    X : (N, in) or (R, N, in), one data batch. orthonormal: first redraw every weight matrix as
    ``orthogonal`` from the replica's own stream (the paper's step 1).
    Returns the output variance each Dense layer reached, (n_dense_layers, R); a layer whose
    output has zero or non-finite variance is left as it is.
    """
    X = model.check_input(X)
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not 0 < tol < np.inf:
        raise InitlabError(f"tol must be a finite number > 0, got {tol!r}")
    check_positive_int(max_tries, "max_tries")
    ortho = get_initializer("orthogonal")
    reached = []
    h = X
    with np.errstate(all="ignore"):
        for layer in model.layers:
            if not isinstance(layer, Dense):
                h = layer.forward(h, train=False)
                continue
            w = layer.weight.value
            if orthonormal:
                shape = w.shape[1:]
                for r, rng in enumerate(model.rngs):
                    w[r] = ortho(shape, rng, dtype=w.dtype)
            h_next = layer.forward(h)
            var = h_next.var(axis=(-2, -1))
            for _ in range(max_tries):
                todo = (np.abs(var - 1.0) >= tol) & np.isfinite(var) & (var > 0)
                if not todo.any():
                    break
                w[todo] /= np.sqrt(var[todo])[:, None, None].astype(w.dtype)
                h_next = layer.forward(h)
                var = h_next.var(axis=(-2, -1))
            reached.append(var.astype(np.float64))
            h = h_next
    return np.array(reached)
