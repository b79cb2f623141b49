"""Inside the network at initialization: per-layer activation and gradient statistics.

An MLP ``a_l = h_{l-1} W_l^T + b_l``, ``h_l = phi(a_l)`` (no bias by default) is drawn for every
init, activation and seed and looked at layer by layer: histogram counts on fixed bins, mean,
std, the fractions saturated and exactly zero, the dead units, the pre-activation std; then,
backward from a unit-variance random gradient at the top, the std of dL/dh_l and of dL/dW_l.
Each measured std sits beside :func:`initlab.theory.predict`, and each run gets a
:func:`initlab.verdict.judge` of its numbers. The settings of the presets are those of
*Deep Learning from Scratch* (Saito, O'Reilly Japan 2016, ch. 6.2) and of the Stanford CS231n
lecture on weight initialization.

The draws (named random streams, weights streamed in row blocks) are in
:mod:`initlab.experiments.weight_draws`, the per-layer statistics in
:mod:`initlab.experiments.layer_stats`. One draw serves all activations, and statistics pool
all values of all seeds (what theory's ensemble average predicts); per-seed stds are kept for
the figures. BLAS is kept to one thread while the drawing threads run, so the two never
compete. The backward pass draws every block again instead of keeping it, and takes dL/dW's
std from (N, N) Gram matrices, so gradients need no weight-sized memory either.
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass

import numpy as np

from initlab.errors import InitlabError, check_float_dtype, check_positive_int, choose
from initlab.experiments.layer_stats import (  # noqa: F401  (public names of this experiment)
    GRAD_EDGES,
    SATURATION,
    LayerAccumulator,
    LayerStats,
    Moments,
    weight_grad_moments,
)
from initlab.experiments.weight_draws import (  # noqa: F401  (public names of this experiment)
    _BY_BLOCKS,
    BLOCK,
    check_memory,
    draw_bias,
    draw_input,
    draw_top_gradient,
    draw_weight,
    estimate_memory,
    layer_product,
    stream,
)
from initlab.init import get_initializer
from initlab.lsuv import LsuvResult, lsuv_scale
from initlab.nn.activations import get_activation
from initlab.nn.norm import check_norm, normalize, normalize_backward
from initlab.results import Result, detail
from initlab.spec import split_specs
from initlab.theory import law_moments, predict, predict_normalized
from initlab.verdict import Verdict, judge

try:  # installed with scikit-learn
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None

ACTIVATION_PRESETS = {
    "saito": {  # Deep Learning from Scratch (Saito, 2016), ch. 6.2
        "inits": ["normal(1)", "normal(0.01)", "lecun", "he", "zeros", "ones", "constant(5)"],
        "activations": ["sigmoid", "relu", "tanh"], "depth": 5, "width": 100, "batch": 1000},
    "cs231n": {  # Stanford CS231n, lecture on weight initialization: 10 layers of 4096
        "inits": ["normal(0.01)", "normal(0.05)", "lecun", "he"],
        "activations": ["tanh", "relu"], "depth": 10, "width": 4096, "batch": 16},
}
NORM_EPS = 1e-5  # eps of the normalization before each activation (PyTorch's default)


def preset(name: str) -> dict:
    """Keyword arguments of :func:`run_activations` for a published setting (a fresh copy)."""
    choose(name, ACTIVATION_PRESETS, "preset")
    return {k: list(v) if isinstance(v, list) else v
            for k, v in ACTIVATION_PRESETS[name].items()}



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

    def table(self):
        header = ["activation", "init", "layer", "mean", "std", "theory", "saturated", "zero",
                  "grad std", "theory", "dL/dW std"]
        return header, [[r.activation, r.init, s.index, s.mean, s.std, s.predicted_std,
                         s.saturated, s.zero, s.grad_std, s.predicted_grad_std,
                         s.weight_grad_std] for r in self.runs for s in r.layers]


# ----------------------------------------------------------------------------- one net
def _one_seed(init, acts, sizes, seed, cfg, accs) -> None:
    """Forward (and backward) pass of every activation for one (init, seed); adds to ``accs``.
    Returns, for an LSUV init, each layer's (rescalings, variance reached) per activation.

    Activations are stacked, h: (A, N, n_l), so every weight block is drawn once for all A;
    the backward pass keeps h_l and phi'(a_l) of every layer, (A, N, n_l) each.
    """
    dt, n, depth, threads = cfg["dtype"], cfg["batch"], len(sizes) - 1, cfg["threads"]
    x = draw_input(cfg["input"], (n, sizes[0]), seed, dt)
    h = x[None]  # (1, N, n_0): the first layer's product is shared by all activations
    kept_h, kept_d, kept_n = [np.broadcast_to(x, (len(acts), *x.shape))], [], []
    scale, lsuv_done = {}, []
    for layer in range(1, depth + 1):
        shape = (sizes[layer], sizes[layer - 1])
        a = layer_product(init, shape, seed, layer, h.reshape(-1, shape[1]), dt, threads)
        a = a.reshape(h.shape[0], n, shape[0])
        b = draw_bias(cfg["bias"], shape[0], seed, layer, dt) if cfg["bias"] else 0.0
        if init.lsuv:  # LSUV: W <- s W per activation, s from this batch (initlab.lsuv)
            s, var, tries = lsuv_scale(a, b, **init.lsuv)
            scale[layer] = s[:, None, None].astype(dt)
            a *= scale[layer]
            lsuv_done.append(np.broadcast_to([tries, var], (2, len(acts))))
        a += b
        if cfg["norm"]:  # training-mode BatchNorm over the batch / LayerNorm over the units
            a, _, var = normalize(a, cfg["axis"], NORM_EPS)
            kept_n.append((a, var))
        ys, ds = [], []
        for k, act in enumerate(acts):
            ak = a[k % a.shape[0]]
            ys.append(act.fn(ak).astype(dt, copy=False))  # (gelu would promote to float64)
            accs[k][layer - 1].add_forward(ak, ys[-1])
            if cfg["grad"]:
                ds.append(act.grad(ak, ys[-1]).astype(dt, copy=False))
        h = np.stack(ys)
        if cfg["grad"]:
            kept_h.append(h)
            kept_d.append(np.stack(ds))
    if not cfg["grad"]:
        return lsuv_done
    g = np.broadcast_to(draw_top_gradient((n, sizes[-1]), seed, dt), h.shape)
    for layer in range(depth, 0, -1):
        delta = g * kept_d[layer - 1]
        if cfg["norm"]:
            x_hat, var = kept_n[layer - 1]
            delta = normalize_backward(delta, x_hat, var, cfg["axis"], NORM_EPS)
        for k in range(len(acts)):
            accs[k][layer - 1].add_grad(g[k])
            accs[k][layer - 1].weight_grad.add_moments(
                *weight_grad_moments(delta[k], kept_h[layer - 1][k]))
        if layer > 1:
            shape = (sizes[layer], sizes[layer - 1])
            g = layer_product(init, shape, seed, layer, delta.reshape(-1, shape[0]), dt,
                              threads, backward=True).reshape(len(acts), n, shape[1])
            g = g * scale[layer] if layer in scale else g
    return lsuv_done


# ----------------------------------------------------------------------------- the experiment
def _as_list(value, what: str) -> list:
    items = split_specs(value) if isinstance(value, str) else list(value)
    if not items:
        raise InitlabError(f"give at least one {what}")
    return items


def _layer_sizes(depth, width, sizes) -> list[int]:
    if sizes is None:
        return [check_positive_int(width, "width")] * (check_positive_int(depth, "depth") + 1)
    sizes = [check_positive_int(s, "every layer size") for s in sizes]
    if len(sizes) < 2:
        raise InitlabError(f"sizes must give the input size and at least one layer, got {sizes}")
    return sizes


def _edges(act, bins, hist_range) -> np.ndarray:
    n, (lo, hi) = (30, (0.0, 1.0)) if act.name == "sigmoid" else (40, (-1.0, 1.0))
    n = n if bins is None else check_positive_int(bins, "bins")
    if hist_range is not None:
        lo, hi = (float(v) for v in hist_range)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise InitlabError(f"the histogram range must be finite with lo < hi, got {hist_range}")
    return np.linspace(lo, hi, n + 1)


def run_activations(inits=("lecun",), activations=("tanh",), *, depth: int = 10,
                    width: int = 4096, sizes=None, batch: int = 16, input: str = "normal",
                    bias: float | None = None, seeds: int = 1, seed: int = 0,
                    dtype: str = "float32", grad: bool = True, bins: int | None = None,
                    hist_range=None, threads: int | None = None, norm: str | None = None,
                    progress: bool = False) -> ActivationsResult:
    """Measure every layer of every (activation, init) MLP at initialization, beside theory.

    Args:
        inits, activations: spec strings (a list, or one comma-separated string).
        depth, width: ``depth`` layers of ``width`` units on a ``width``-wide input; or
        sizes: [n_0, n_1, ..., n_L], the input size then each layer's (overrides both).
        batch: N, rows of the (N, n_0) input, drawn from the init-style spec ``input``.
        bias: None (no bias) or sigma_b: biases drawn from N(0, sigma_b^2).
        seeds, seed: nets drawn from seeds seed, seed+1, ...; statistics pool over them.
        dtype: float32 (fast) or float64. grad: also run the backward pass.
        bins, hist_range: histogram bins and (lo, hi); default 30 on (0, 1) for sigmoid,
            else 40 on (-1, 1), as the sources draw them.
        threads: threads drawing weights (default: the usable cores, at most 8); the result
            does not depend on it.
        norm: None, "batch" (normalize each pre-activation over the batch, as training-mode
            BatchNorm with weight 1 and bias 0) or "layer" (over the units, as LayerNorm),
            eps 1e-5; theory then follows :func:`initlab.theory.predict_normalized`.

    >>> r = run_activations("he", "relu", depth=3, width=64, batch=8)
    >>> [layer.index for layer in r.runs[0].layers], r.runs[0].verdict.state
    ([1, 2, 3], 'healthy')
    """
    inits = [get_initializer(s) for s in _as_list(inits, "init spec")]
    acts = [get_activation(s) for s in _as_list(activations, "activation")]
    sizes, n = _layer_sizes(depth, width, sizes), check_positive_int(batch, "batch")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InitlabError(f"seed must be an integer >= 0, got {seed!r}")
    seed_list = [seed + s for s in range(check_positive_int(seeds, "seeds"))]
    dt = check_float_dtype(dtype)
    if bias is not None and not (isinstance(bias, (int, float)) and 0 <= bias < math.inf):
        raise InitlabError(f"bias must be None or a finite std >= 0, got {bias!r}")
    edges = [_edges(act, bins, hist_range) for act in acts]
    in_init = get_initializer(input)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = check_positive_int(threads, "threads") if threads else min(8, cores or 1)
    whole = any(i.law((sizes[1], sizes[0])).dist not in _BY_BLOCKS for i in inits)
    check_memory(sizes, n, len(acts), dt, grad, whole, threads)
    norm = check_norm(norm)
    if norm == "batch" and n < 2:
        raise InitlabError(f"BatchNorm over the batch needs a batch of at least 2, got {n}")
    cfg = {"dtype": dt, "batch": n, "input": in_init, "bias": bias or 0.0, "grad": grad,
           "threads": threads, "norm": norm, "axis": -2 if norm == "batch" else -1}
    accs = {(i, k): [LayerAccumulator(edges[k], act) for _ in sizes[1:]]
            for i in range(len(inits)) for k, act in enumerate(acts)}
    inputs = Moments()
    lsuv_runs = [[] for _ in inits]
    bar = None
    if progress:
        from initlab.progress import Progress
        bar = Progress(len(inits) * len(seed_list), "activations", "net")
    blas = threadpool_limits(1, "blas") if threadpool_limits else contextlib.nullcontext()
    with blas, np.errstate(over="ignore", invalid="ignore"):
        for s in seed_list:
            inputs.add(draw_input(in_init, (n, sizes[0]), s, dt))
            for i, init in enumerate(inits):
                lsuv_runs[i].append(_one_seed(init, acts, sizes, s, cfg,
                                              [accs[i, k] for k in range(len(acts))]))
                if bar is not None:
                    bar.update()
    if bar is not None:
        bar.close()
    moments = law_moments(in_init.law((n, sizes[0])), (n, sizes[0]))
    moments = moments or (inputs.mean, inputs.std**2)
    runs = []
    for k, act in enumerate(acts):
        for i, init in enumerate(inits):
            weights = [None if init.lsuv else law_moments(init.law(shape), shape)
                       for shape in zip(sizes[1:], sizes[:-1], strict=False)]
            theory = (predict_normalized(act, weights, sizes, norm, moments, (bias or 0.0) ** 2,
                                         n, eps=NORM_EPS) if norm else
                      predict(act, weights, sizes, moments, (bias or 0.0) ** 2, n))
            layers = [acc.stats(j + 1, theory, grad) for j, acc in enumerate(accs[i, k])]
            runs.append(ActivationRun(
                init.spec, act.spec, layers, judge_layers(layers), input_std=inputs.std,
                edges=edges[k],
                lsuv=LsuvResult.stack(seed_list, [np.array(d)[..., k] for d in lsuv_runs[i]])
                if init.lsuv else None))
    config = {"sizes": sizes, "batch": n, "input": in_init.spec, "bias": bias,
              "seeds": len(seed_list), "seed": seed, "dtype": dt.name, "grad": grad,
              "norm": norm}
    return ActivationsResult(runs, config)
