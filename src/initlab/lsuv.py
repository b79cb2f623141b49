"""LSUV: layer-sequential unit-variance initialization (Mishkin & Matas, ICLR 2016).

"All you need is a good init": start from orthonormal weights, then, layer by layer on one
batch of data, divide each Dense layer's weights by the standard deviation of its output until
the output variance is within ``tol`` of 1:

    W <- W / sqrt(Var(x W^T + b))   while |Var - 1| >= tol, at most max_tries times

Every replica is scaled on its own (its own draw, from its own random stream). Two ways in:
:func:`lsuv` rescales every replica of a built model; :func:`lsuv_from_inits` rescales the
replicas built with the init spec ``lsuv`` / ``lsuv(he)`` (what ``compare``, ``regularize``
and configs use), whose base weights their Dense layers already drew.

>>> from initlab.nn import mlp
>>> model = mlp([20, 50, 50, 1], activation="tanh")
>>> var = lsuv(model, np.random.default_rng(0).standard_normal((200, 20)))
>>> bool(np.all(np.abs(var - 1) < 0.1))
True
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from initlab.errors import InitlabError, check_positive_int
from initlab.init import get_initializer
from initlab.nn.layers import Dense
from initlab.results import Result


@dataclass
class LsuvResult(Result):
    """What LSUV did: per Dense layer and rescaled replica (or seed), the number of rescalings
    and the output variance reached.

    replicas: the replica indices (or seeds) of the columns; iterations, variance: (L, k).
    """

    replicas: list
    iterations: list
    variance: list

    def table(self):
        it, var = np.asarray(self.iterations), np.asarray(self.variance, dtype=float)
        return ["layer", "rescalings (mean)", "rescalings (max)", "variance min",
                "variance max"], [[i + 1, float(it[i].mean()), int(it[i].max()),
                                   float(np.nanmin(var[i])), float(np.nanmax(var[i]))]
                                  for i in range(len(it))]

    @classmethod
    def stack(cls, names, per_net) -> LsuvResult:
        """From one (L, 2) array of (rescalings, variance) rows per net, named ``names``."""
        it, var = np.stack(per_net, axis=-1).transpose(1, 0, 2)
        return cls(list(names), it.astype(int), var)

    def columns(self, idx) -> LsuvResult:
        """The columns ``idx`` (positions, not replica numbers) as a new result."""
        it, var = np.asarray(self.iterations), np.asarray(self.variance, dtype=float)
        return LsuvResult([self.replicas[i] for i in idx], it[:, idx], var[:, idx])


def lsuv_scale(a: np.ndarray, bias=0.0, tol: float = 0.1, max_tries: int = 10):
    """The LSUV factor for one layer from its bias-free pre-activations ``a`` : (..., N, out).

    Scaling the weight by s turns the output into s a + b; s is updated by
    s <- s / sqrt(Var(s a + b)) as in :func:`lsuv`. Leading axes are separate nets.
    Returns (s, variance reached, rescalings), each of shape a.shape[:-2].
    """
    s = np.ones(a.shape[:-2])
    tries = np.zeros(a.shape[:-2], dtype=int)
    with np.errstate(all="ignore"):
        var = np.asarray(a.var(axis=(-2, -1), dtype=np.float64) if np.all(bias == 0) else
                         (a + bias).var(axis=(-2, -1), dtype=np.float64))
        for _ in range(max_tries):
            todo = (np.abs(var - 1.0) >= tol) & np.isfinite(var) & (var > 0)
            if not todo.any():
                break
            s = np.where(todo, s / np.sqrt(np.where(todo, var, 1.0)), s)
            tries += todo
            var = np.asarray((s[..., None, None] * a + bias).var(axis=(-2, -1),
                                                                  dtype=np.float64))
    return s, var, tries


def _check(tol, max_tries) -> None:
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not 0 < tol < np.inf:
        raise InitlabError(f"tol must be a finite number > 0, got {tol!r}")
    check_positive_int(max_tries, "max_tries")


def _rescale(model, X, plan, orthonormal: bool):
    """Run LSUV through ``model`` on X; ``plan(layer)`` gives (which, tol, max_tries), each (R,).

    Returns (variance reached, rescalings), each (n_dense_layers, R).
    """
    X = model.check_input(X)
    ortho = get_initializer("orthogonal")
    reached, counts = [], []
    h = X
    with np.errstate(all="ignore"):
        for layer in model.layers:
            if not isinstance(layer, Dense):
                h = layer.forward(h, train=False)
                continue
            which, tol, max_tries = plan(layer)
            w = layer.weight.value
            if orthonormal:
                for r, rng in enumerate(model.rngs):
                    if which[r]:
                        w[r] = ortho(w.shape[1:], rng, dtype=w.dtype)
            h_next = layer.forward(h)
            var = h_next.var(axis=(-2, -1))
            count = np.zeros(len(which), dtype=int)
            for _ in range(int(max_tries.max(initial=0))):
                todo = (which & (count < max_tries) & (np.abs(var - 1.0) >= tol)
                        & np.isfinite(var) & (var > 0))
                if not todo.any():
                    break
                w[todo] /= np.sqrt(var[todo])[:, None, None].astype(w.dtype)
                count += todo
                h_next = layer.forward(h)
                var = h_next.var(axis=(-2, -1))
            reached.append(var.astype(np.float64))
            counts.append(count)
            h = h_next
    return np.array(reached), np.array(counts)


def lsuv(model, X, tol: float = 0.1, max_tries: int = 10, orthonormal: bool = True) -> np.ndarray:
    """Rescale ``model``'s Dense weights in place so each layer's output has unit variance on X.

    X : (N, in) or (R, N, in), one data batch. orthonormal: first redraw every weight matrix as
    ``orthogonal`` from the replica's own stream (the paper's step 1).
    Returns the output variance each Dense layer reached, (n_dense_layers, R); a layer whose
    output has zero or non-finite variance is left as it is.
    """
    _check(tol, max_tries)
    R = model.replicas
    everyone = (np.ones(R, bool), np.full(R, float(tol)), np.full(R, int(max_tries)))
    return _rescale(model, X, lambda layer: everyone, orthonormal)[0]


def _plan(layer):
    params = [get_initializer(s).lsuv if s != "custom" else None for s in layer.inits]
    which = np.array([p is not None for p in params])
    tol = np.array([p["tol"] if p else 1.0 for p in params], dtype=float)
    tries = np.array([p["max_tries"] if p else 0 for p in params], dtype=int)
    return which, tol, tries


def lsuv_from_inits(model, X, names=None) -> LsuvResult | None:
    """LSUV on the replicas of ``model`` whose init is ``lsuv``/``lsuv(base, tol=, max_tries=)``.

    Their Dense layers already drew the base init from each replica's stream; here each such
    layer is rescaled, in order, on the batch X : (N, in). Other replicas are not touched.
    names: a label per replica for :attr:`LsuvResult.replicas` (default: the indices).
    Returns None when no replica uses LSUV.
    """
    first = model.dense_layers[0]
    which = _plan(first)[0]
    if not which.any():
        return None
    var, tries = _rescale(model, X, _plan, orthonormal=False)
    idx = np.flatnonzero(which)
    names = list(range(model.replicas)) if names is None else list(names)
    return LsuvResult([names[i] for i in idx], tries[:, idx], var[:, idx])
