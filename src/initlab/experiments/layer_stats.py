"""Per-layer statistics of the activation study, pooled over seeds in one pass.

:class:`Moments` pools count, mean and sum of squared deviations over seeds (Chan, Golub and
LeVeque's pairwise update, 1979) and keeps every seed's own std; :func:`weight_grad_moments`
gives the moments of dL/dW = delta^T h without forming it when that is cheaper; a
:class:`LayerAccumulator` holds one layer's histogram counts, saturated, zero and dead-unit
counts and its moments, and turns them into a :class:`LayerStats` beside theory's prediction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from initlab.results import Result, detail

#: Saturated outputs (phi' near 0); activations not listed here never count as saturated.
SATURATION = {"tanh": lambda y: np.abs(y) > 0.99, "sigmoid": lambda y: (y < 0.01) | (y > 0.99)}
#: Bins of the gradient histograms (dL/dh_l, fed a unit-variance gradient at the top).
GRAD_EDGES = np.linspace(-4.0, 4.0, 41)


@dataclass
class LayerStats(Result):
    """One layer (``index`` 1-based) of one run: measured statistics beside theory's.

    mean, std, saturated, zero: of h_l over all units, examples and seeds; dead: the fraction
    of units whose output is 0 for the whole batch (over units and seeds); grad_std: of
    dL/dh_l; weight_grad_std: of the entries of dL/dW_l = delta_l^T h_{l-1}, summed over the
    batch, for a top gradient dL/dh_L of unit variance. Detail fields (saved files only):
    pre-activation std, per-seed stds, histogram counts and the values below/above the bins;
    grad_counts: the histogram of dL/dh_l on :data:`GRAD_EDGES` (values outside: first/last
    bin not included, as for ``counts``).
    """

    index: int
    mean: float
    std: float
    saturated: float
    zero: float
    predicted_std: float | None
    grad_std: float | None = None
    predicted_grad_std: float | None = None
    weight_grad_std: float | None = None
    dead: float | None = None
    pre_std: float | None = detail()
    predicted_pre_std: float | None = detail()
    predicted_weight_grad_std: float | None = detail()
    seed_std: list | None = detail()
    seed_grad_std: list | None = detail()
    seed_weight_grad_std: list | None = detail()
    counts: list | None = detail()
    below: int | None = detail()
    above: int | None = detail()
    grad_counts: list | None = detail()


class Moments:
    """Count, mean and sum of squared deviations, pooled over seeds (Chan et al.'s update);
    every seed's own std is kept in ``seed_std``."""

    def __init__(self):
        self.n, self.mean, self.m2, self.seed_std = 0, 0.0, 0.0, []

    def add(self, values: np.ndarray) -> None:
        v = np.asarray(values, dtype=np.float64).ravel()
        mean = float(v.mean())
        self.add_moments(v.size, mean, float(np.square(v - mean).sum()))

    def add_moments(self, n: int, mean: float, m2: float) -> None:
        self.seed_std.append(math.sqrt(m2 / n) if math.isfinite(m2) else math.nan)
        total, shift = self.n + n, mean - self.mean
        self.m2 += m2 + shift * shift * self.n * n / total
        self.mean += shift * n / total
        self.n = total

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / self.n) if self.n and math.isfinite(self.m2) else math.nan


def weight_grad_moments(delta: np.ndarray, h: np.ndarray) -> tuple[int, float, float]:
    """(count, mean, sum of squared deviations) of the entries of dW = delta^T h.

    delta: (N, out), h: (N, in). Where N (out + in) < out in, dW is never formed: its sum of
    squares is sum((delta delta^T) * (h h^T)), from two (N, N) Gram matrices.
    """
    d, x = delta.astype(np.float64), h.astype(np.float64)
    n = d.shape[1] * x.shape[1]
    if d.shape[0] * (d.shape[1] + x.shape[1]) < n:
        s1 = float(d.sum(1) @ x.sum(1))
        s2 = float(np.sum((d @ d.T) * (x @ x.T)))
        return n, s1 / n, max(s2 - s1 * s1 / n, 0.0)
    dw = d.T @ x
    mean = float(dw.mean())
    return n, mean, float(np.square(dw - mean).sum())


class LayerAccumulator:
    """One layer's histogram counts and pooled moments for one (init, activation)."""

    def __init__(self, edges: np.ndarray, act=None):
        self.edges = edges
        self.saturates = SATURATION.get(act.name) if act is not None else None
        self.act, self.pre, self.grad, self.weight_grad = (Moments() for _ in range(4))
        self.counts = np.zeros(len(edges) - 1, dtype=np.int64)
        self.grad_counts = np.zeros(len(GRAD_EDGES) - 1, dtype=np.int64)
        self.below = self.above = self.saturated = self.zero = self.dead = self.units = 0

    def add_forward(self, a: np.ndarray, y: np.ndarray) -> None:
        """Add one seed's pre-activations ``a`` and activations ``y`` (both (N, n))."""
        self.pre.add(a)
        self.act.add(y)
        lo, hi = self.edges[0], self.edges[-1]
        self.counts += np.histogram(y, len(self.edges) - 1, (lo, hi))[0]
        self.below += int(np.count_nonzero(y < lo))
        self.above += int(np.count_nonzero(y > hi))
        self.zero += int(np.count_nonzero(y == 0))
        self.dead += int(np.count_nonzero(~np.any(y != 0, axis=0)))
        self.units += y.shape[1]
        if self.saturates is not None:
            self.saturated += int(np.count_nonzero(self.saturates(y)))

    def add_grad(self, g: np.ndarray) -> None:
        """Add one seed's gradients dL/dh_l (N, n): moments and histogram."""
        self.grad.add(g)
        self.grad_counts += np.histogram(g, len(GRAD_EDGES) - 1,
                                         (GRAD_EDGES[0], GRAD_EDGES[-1]))[0]

    def stats(self, index: int, theory, grad: bool) -> LayerStats:
        """The :class:`LayerStats` of layer ``index`` (1-based) beside ``theory``."""

        def pick(arr, keep=True):
            return None if arr is None or not keep else float(arr[index - 1])

        n = max(self.act.n, 1)
        return LayerStats(
            index, self.act.mean, self.act.std, self.saturated / n, self.zero / n,
            pick(theory.std), self.grad.std if grad else None, pick(theory.grad_std, grad),
            _rounding_is_zero(self.weight_grad) if grad else None,
            dead=self.dead / max(self.units, 1),
            pre_std=self.pre.std,
            predicted_pre_std=pick(theory.pre_std),
            predicted_weight_grad_std=pick(theory.weight_grad_std, grad),
            seed_std=self.act.seed_std, seed_grad_std=self.grad.seed_std if grad else None,
            seed_weight_grad_std=self.weight_grad.seed_std if grad else None,
            counts=self.counts, below=self.below, above=self.above,
            grad_counts=self.grad_counts if grad else None)


ROUNDING = 1e-4  # a spread below this fraction of the mean is float rounding, not a spread


def _rounding_is_zero(m: Moments) -> float:
    """``m.std``, or exactly 0 where it is below ROUNDING |mean|: with constant weights every
    entry of dL/dW is the same number, and only rounding makes them differ."""
    std = m.std
    return 0.0 if math.isfinite(std) and std <= ROUNDING * abs(m.mean) else std
