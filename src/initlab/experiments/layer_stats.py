"""Per-layer statistics of the activation study, pooled over seeds in one pass, and its results.

:class:`Moments` pools count, mean and sum of squared deviations over seeds (Chan, Golub and
LeVeque's pairwise update, 1979) and keeps every seed's own std; :func:`weight_grad_moments`
gives the moments of dL/dW = delta^T h without forming it when that is cheaper; a
:class:`LayerAccumulator` holds one layer's histogram counts, saturated, zero and dead-unit
counts and its moments, and turns them into a :class:`LayerStats` beside theory's prediction.
:func:`add_forwards`, :func:`add_grads` and :func:`add_weight_grads` feed many accumulators
(activations, top layers) at once from one stacked array, with the same numbers as one at a
time: every group's moments and histogram come out bit for bit as for that group alone.
:class:`Recorder` feeds them what :func:`initlab.nn.probe.probe` sees in each layer. The
study's result is an :class:`ActivationsResult` of :class:`ActivationRun` (one per init and
activation: its layers' :class:`LayerStats` and their verdict).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from initlab.errors import InitlabError, check_positive_int
from initlab.lsuv import LsuvResult
from initlab.nn.probe import Observer
from initlab.results import Result, detail
from initlab.verdict import Verdict, judge

#: Saturated outputs (phi' near 0); activations not listed here never count as saturated.
SATURATION = {"tanh": lambda y: np.abs(y) > 0.99, "sigmoid": lambda y: (y < 0.01) | (y > 0.99)}
#: Bins of the gradient histograms (dL/dh_l, fed a unit-variance gradient at the top).
GRAD_EDGES = np.linspace(-4.0, 4.0, 41)


def histogram_edges(act, bins: int | None = None, hist_range=None) -> np.ndarray:
    """The bin edges of activation ``act``'s histograms: ``bins`` bins on ``hist_range``
    (lo, hi); by default 30 on (0, 1) for sigmoid, else 40 on (-1, 1), as the sources draw
    them."""
    n, (lo, hi) = (30, (0.0, 1.0)) if act.name == "sigmoid" else (40, (-1.0, 1.0))
    n = n if bins is None else check_positive_int(bins, "bins")
    if hist_range is not None:
        lo, hi = (float(v) for v in hist_range)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise InitlabError(f"the histogram range must be finite with lo < hi, got {hist_range}")
    return np.linspace(lo, hi, n + 1)


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


@dataclass
class ActivationRun(Result):
    """One (init, activation) pair: its layers and the :class:`~initlab.verdict.Verdict` of
    their numbers (vanishing, exploding, saturated, dead units, or healthy)."""

    init: str
    activation: str
    layers: list[LayerStats]
    verdict: Verdict
    input_std: float | None = detail()
    edges: list | None = detail()
    lsuv: LsuvResult | None = None

    def summary(self) -> str:
        """One line: ``activation / init: verdict``."""
        return f"{self.activation} / {self.init}: {self.verdict.text}"


def judge_layers(layers: list[LayerStats]) -> Verdict:
    """The verdict of one run's layers: stds, saturated and dead fractions, gradient stds."""
    grads = [s.grad_std for s in layers]
    return judge([s.std for s in layers], means=[s.mean for s in layers],
                 saturated=[s.saturated for s in layers], dead=[s.dead for s in layers],
                 grad_stds=None if all(g is None for g in grads) else grads)


@dataclass
class ActivationsResult(Result):
    """Every (activation, init) run, activation-major, and the configuration."""

    runs: list[ActivationRun]
    config: dict | None = detail()

    def run(self, init: str, activation: str) -> ActivationRun:
        """The run of one (init, activation) pair, by their spec strings."""
        for r in self.runs:
            if r.init == init and r.activation == activation:
                return r
        raise InitlabError(f"no run for init {init!r} with activation {activation!r}")

    def records(self) -> list[dict]:
        """One row per (activation, init, layer): the layer's public statistics, the run's
        verdict (``verdict``: its state, ``vanishes_at``, ``explodes_at``), and ``last``
        (true for the output layer, to compare depths)."""
        rows = []
        for r in self.runs:
            layers = r.to_dict()["layers"]
            for k, s in enumerate(layers):
                rows.append({"activation": r.activation, "init": r.init, "layer": s.pop("index"),
                             **s, "verdict": r.verdict.state,
                             "vanishes_at": r.verdict.vanishes_at,
                             "explodes_at": r.verdict.explodes_at,
                             "last": k == len(layers) - 1})
        return rows

    def footnote(self) -> str:
        """Each run's verdict on a line of its own (``activation / init: verdict``), after a
        blank line: what the command line prints under the table."""
        return "\n" + "\n".join(r.summary() for r in self.runs)

    def table(self):
        header = ["activation", "init", "layer", "mean", "std", "theory", "saturated", "zero",
                  "grad std", "theory", "dL/dW std"]
        return header, [[r.activation, r.init, s.index, s.mean, s.std, s.predicted_std,
                         s.saturated, s.zero, s.grad_std, s.predicted_grad_std,
                         s.weight_grad_std] for r in self.runs for s in r.layers]


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
    n, mean, m2 = weight_grad_rows(delta, h)
    return n, float(mean), float(m2)


def weight_grad_rows(delta: np.ndarray, h: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """:func:`weight_grad_moments` of every pair of a stack: delta (..., N, out) and
    h (..., N, in), leading axes broadcast; returns (count, mean (...), m2 (...))."""
    d, x = (np.asarray(a, dtype=np.float64, order="C") for a in (delta, h))
    n = d.shape[-1] * x.shape[-1]
    if d.shape[-2] * (d.shape[-1] + x.shape[-1]) < n:
        s1 = (d.sum(-1)[..., None, :] @ x.sum(-1)[..., :, None])[..., 0, 0]
        gram = (d @ np.swapaxes(d, -1, -2)) * (x @ np.swapaxes(x, -1, -2))
        s2 = gram.reshape(*gram.shape[:-2], -1).sum(-1)
        return n, s1 / n, np.maximum(s2 - s1 * s1 / n, 0.0)
    dw = np.swapaxes(d, -1, -2) @ x
    return (n, *_mean_m2(dw.reshape(-1, n)).reshape(2, *dw.shape[:-2]))


def _mean_m2(v: np.ndarray) -> np.ndarray:
    """(mean, sum of squared deviations) of each row of the float64 (G, M) ``v``, which is
    overwritten (in place: several times faster than fresh arrays at these sizes)."""
    mean = v.mean(axis=1)
    v -= mean[:, None]
    np.square(v, out=v)
    return np.stack([mean, v.sum(axis=1)])


def row_moments(values: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """(count, mean (G,), sum of squared deviations (G,)) of each of the G groups of
    ``values`` (G, ...), in float64: for each group what :meth:`Moments.add` computes."""
    v = np.array(values, dtype=np.float64, order="C").reshape(len(values), -1)
    return (v.shape[1], *_mean_m2(v))


def histogram_rows(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``np.histogram(group, len(edges) - 1, (edges[0], edges[-1]))[0]`` of each of the G
    groups of ``values`` (G, ...), as (G, bins) int64 counts: bin k holds
    edges[k] <= x < edges[k + 1] (the last bin also x = edges[-1]), x compared with the float64
    edges exactly, as NumPy bins them. Each group is sorted once and the edges looked up in it.
    """
    v = values.reshape(len(values), -1)
    low, high = _exact_thresholds(edges, v.dtype)
    out = np.empty((len(v), len(edges) - 1), np.int64)
    for row, sorted_row in zip(out, np.sort(v, axis=1), strict=True):
        below = sorted_row.searchsorted(low)  # values < edges[k] (NaN sorts last)
        below[-1] = sorted_row.searchsorted(high, "right")  # values <= edges[-1]
        np.subtract(below[1:], below[:-1], out=row)
    return out


def _exact_thresholds(edges, dtype) -> tuple[np.ndarray, np.floating]:
    """Edges in ``dtype`` that compare as the float64 ``edges`` do: x < e exactly when
    x < the smallest ``dtype`` value >= e, x <= e when x <= the largest value <= e."""
    e = np.asarray(edges, dtype=np.float64)
    low = e.astype(dtype)
    up = low < e
    low[up] = np.nextafter(low[up], np.inf)
    high = low.dtype.type(e[-1])
    return low, (np.nextafter(high, -np.inf) if high > e[-1] else high)


class LayerAccumulator:
    """One layer's histogram counts and pooled moments for one (init, activation).

    ``forward``: another accumulator whose forward statistics (of h_l and a_l) are this one's
    too: the same layer of a deeper net, drawn from the same streams (the forward pass does
    not depend on the layers above); this one then gathers only the gradients.
    """

    def __init__(self, edges: np.ndarray, act=None, forward: LayerAccumulator | None = None):
        self.grad, self.weight_grad = Moments(), Moments()
        self.grad_counts = np.zeros(len(GRAD_EDGES) - 1, dtype=np.int64)
        self.forward = forward or self
        if forward is None:
            self.edges = edges
            self.saturates = SATURATION.get(act.name) if act is not None else None
            self.act, self.pre = Moments(), Moments()
            self.counts = np.zeros(len(edges) - 1, dtype=np.int64)
            self.below = self.above = self.saturated = self.zero = self.dead = self.units = 0

    def add_forward(self, a: np.ndarray, y: np.ndarray) -> None:
        """Add one seed's pre-activations ``a`` and activations ``y`` (both (N, n))."""
        add_forwards([self.forward], a[None], y[None])

    def add_grad(self, g: np.ndarray) -> None:
        """Add one seed's gradients dL/dh_l (N, n): moments and histogram."""
        add_grads([self], g[None])

    def stats(self, index: int, theory, grad: bool) -> LayerStats:
        """The :class:`LayerStats` of layer ``index`` (1-based) beside ``theory``."""

        def pick(arr, keep=True):
            return None if arr is None or not keep else float(arr[index - 1])

        f = self.forward
        n = max(f.act.n, 1)
        return LayerStats(
            index, f.act.mean, f.act.std, f.saturated / n, f.zero / n,
            pick(theory.std), self.grad.std if grad else None, pick(theory.grad_std, grad),
            _rounding_is_zero(self.weight_grad) if grad else None,
            dead=f.dead / max(f.units, 1),
            pre_std=f.pre.std,
            predicted_pre_std=pick(theory.pre_std),
            predicted_weight_grad_std=pick(theory.weight_grad_std, grad),
            seed_std=f.act.seed_std, seed_grad_std=self.grad.seed_std if grad else None,
            seed_weight_grad_std=self.weight_grad.seed_std if grad else None,
            counts=f.counts, below=f.below, above=f.above,
            grad_counts=self.grad_counts if grad else None)


def accumulators(acts, edges, tops) -> dict:
    """One init's accumulators: {top layer d: [activation][layer]} for the nets of every depth
    d in ``tops``. The forward statistics are gathered once, by the deepest net's
    accumulators (the layers below d do not depend on those above); the others share them
    and gather only their own gradients."""
    deepest = [[LayerAccumulator(edges[k], act) for _ in range(max(tops))]
               for k, act in enumerate(acts)]
    return {d: deepest if d == max(tops) else
            [[LayerAccumulator(None, forward=acc) for acc in per_act[:d]] for per_act in deepest]
            for d in tops}


class Recorder(Observer):
    """Feeds what :func:`initlab.nn.probe.probe` reports to accumulators ``accs``, one
    :func:`accumulators` dict per net: the forward statistics to the deepest top's, the
    gradients of each top to its own."""

    def __init__(self, accs: list[dict]):
        self.accs = accs

    def forward(self, net, layer, a, h):
        per_act = self.accs[net][max(self.accs[net])]
        add_forwards([per_act[k][layer - 1] for k in range(len(h))], a, h)

    def backward(self, net, layer, tops, g, delta, h_prev):
        group = [self.accs[net][d][k][layer - 1] for d in tops for k in range(g.shape[1])]
        add_grads(group, g.reshape(-1, *g.shape[2:]))
        add_weight_grads(group, delta, h_prev)


def add_forwards(accs: list[LayerAccumulator], a: np.ndarray, y: np.ndarray) -> None:
    """One seed's forward statistics for G accumulators at once: ``accs[k]`` gets
    pre-activations ``a[k % len(a)]`` and activations ``y[k]``; a: (1 or G, N, n), y: (G, N, n).
    """
    n, pre_mean, pre_m2 = row_moments(a)
    _, mean, m2 = row_moments(y)
    zero = np.count_nonzero(y == 0, axis=(1, 2))
    dead = np.count_nonzero(~np.any(y != 0, axis=1), axis=1)
    by_edges = {}
    for k, acc in enumerate(accs):
        by_edges.setdefault((acc.edges[0], acc.edges[-1], len(acc.edges)), []).append(k)
    for ks in by_edges.values():
        edges, part = accs[ks[0]].edges, y[ks]
        counts = histogram_rows(part, edges)
        below = np.count_nonzero(part < edges[0], axis=(1, 2))
        above = np.count_nonzero(part > edges[-1], axis=(1, 2))
        for j, k in enumerate(ks):
            acc, p = accs[k], k % len(a)
            acc.pre.add_moments(n, float(pre_mean[p]), float(pre_m2[p]))
            acc.act.add_moments(n, float(mean[k]), float(m2[k]))
            acc.counts += counts[j]
            acc.below += int(below[j])
            acc.above += int(above[j])
            acc.zero += int(zero[k])
            acc.dead += int(dead[k])
            acc.units += y.shape[2]
            if acc.saturates is not None:
                acc.saturated += int(np.count_nonzero(acc.saturates(y[k])))


def add_grads(accs: list[LayerAccumulator], g: np.ndarray) -> None:
    """One seed's gradients dL/dh_l for G accumulators at once: ``accs[k]`` gets g[k]
    (g: (G, N, n)); moments and histogram on :data:`GRAD_EDGES`."""
    n, mean, m2 = row_moments(g)
    counts = histogram_rows(g, GRAD_EDGES)
    for k, acc in enumerate(accs):
        acc.grad.add_moments(n, float(mean[k]), float(m2[k]))
        acc.grad_counts += counts[k]


def add_weight_grads(accs: list[LayerAccumulator], delta: np.ndarray, h: np.ndarray) -> None:
    """One seed's dL/dW = delta^T h for G accumulators at once (:func:`weight_grad_rows`):
    delta (..., N, out) and h (..., N, in) broadcast to G = ``len(accs)`` pairs, in order."""
    n, mean, m2 = weight_grad_rows(delta, h)
    for acc, mk, m2k in zip(accs, mean.ravel(), m2.ravel(), strict=True):
        acc.weight_grad.add_moments(n, float(mk), float(m2k))


ROUNDING = 1e-4  # a spread below this fraction of the mean is float rounding, not a spread


def _rounding_is_zero(m: Moments) -> float:
    """``m.std``, or exactly 0 where it is below ROUNDING |mean|: with constant weights every
    entry of dL/dW is the same number, and only rounding makes them differ."""
    std = m.std
    return 0.0 if math.isfinite(std) and std <= ROUNDING * abs(m.mean) else std
