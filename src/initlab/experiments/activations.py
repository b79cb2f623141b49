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
:mod:`initlab.experiments.layer_stats`. One draw serves all activations and all inits whose
law is a scaled normal (lecun, he, normal(s), ...), and statistics pool all values of all
seeds (what theory's ensemble average predicts); per-seed stds are kept for the figures.
BLAS is kept to one thread while the drawing threads run, so the two never compete. The
backward pass of a large net draws every block again instead of keeping it (a small one
keeps its weights, :func:`~initlab.experiments.weight_draws.keeps_weights`), and takes
dL/dW's std from (N, N) Gram matrices, so gradients need no weight-sized memory either.
:func:`run_activations_by_depth` gives every depth 1..L of one setting from one forward pass.
"""

from __future__ import annotations

import contextlib
import functools
import math
from dataclasses import dataclass

import numpy as np

from initlab.errors import InitlabError, check_float_dtype, check_positive_int, choose
from initlab.experiments.layer_stats import (  # noqa: F401  (public names of this experiment)
    GRAD_EDGES,
    SATURATION,
    LayerAccumulator,
    LayerStats,
    Moments,
    add_forwards,
    add_grads,
    add_weight_grads,
    weight_grad_moments,
)
from initlab.experiments.weight_draws import (  # noqa: F401  (public names of this experiment)
    _BY_BLOCKS,
    BLOCK,
    LayerWeight,
    LayerWeights,
    check_memory,
    default_threads,
    draw_bias,
    draw_input,
    draw_top_gradient,
    draw_weight,
    estimate_memory,
    init_groups,
    keeps_weights,
    layer_product,
    stream,
)
from initlab.init import get_initializer
from initlab.lsuv import LsuvResult, lsuv_scale
from initlab.nn.activations import get_activation
from initlab.nn.norm import check_norm
from initlab.nn.probe import Observer, probe
from initlab.results import Result, detail
from initlab.spec import split_specs
from initlab.theory import law_moments, predict_normalized_tops, predict_tops
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
class _Recorder(Observer):
    """Feeds what :func:`initlab.nn.probe.probe` reports to the accumulators ``accs``
    ([init][top layer][activation][layer]); the forward statistics go to the deepest top's."""

    def __init__(self, accs):
        self.accs = accs

    def forward(self, net, layer, a, h):
        per_act = self.accs[net][max(self.accs[net])]
        add_forwards([per_act[k][layer - 1] for k in range(len(h))], a, h)

    def backward(self, net, layer, tops, g, delta, h_prev):
        group = [self.accs[net][d][k][layer - 1] for d in tops for k in range(g.shape[1])]
        add_grads(group, g.reshape(-1, *g.shape[2:]))
        add_weight_grads(group, delta, h_prev)


def _one_seed(inits, acts, sizes, seed, cfg, accs) -> list:
    """The nets of ``inits`` for one seed, side by side through :func:`initlab.nn.probe.probe`
    with every activation, their statistics into ``accs`` ([init][top layer][activation]
    [layer]), one backward pass from each top layer of ``accs[0]``. Every weight block is
    drawn once for all activations, and once for all inits with a normal law
    (:class:`LayerWeights`). Returns, per init, for an LSUV init each layer's (rescalings,
    variance reached) per activation."""
    dt, n = cfg["dtype"], cfg["batch"]

    def weights(layer):
        return LayerWeights(inits, (sizes[layer], sizes[layer - 1]), seed, layer, dt,
                            cfg["keep"], cfg["threads"])

    def bias(layer):
        return draw_bias(cfg["bias"], sizes[layer], seed, layer, dt)

    def top_gradient(layer):
        return draw_top_gradient((n, sizes[layer]), seed, dt)

    return probe(draw_input(cfg["input"], (n, sizes[0]), seed, dt), weights, acts,
                 max(accs[0]), lsuv=[functools.partial(lsuv_scale, **i.lsuv) if i.lsuv else None
                                     for i in inits],
                 bias=bias if cfg["bias"] else None, norm=cfg["norm"], eps=NORM_EPS,
                 tops=list(accs[0]), top_gradient=top_gradient if cfg["grad"] else None,
                 observer=_Recorder(accs))


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
        threads: threads drawing weights (default: :func:`default_threads`, the thread limit
            the process was given, at most 8); the result does not depend on it.
        norm: None, "batch" (normalize each pre-activation over the batch, as training-mode
            BatchNorm with weight 1 and bias 0) or "layer" (over the units, as LayerNorm),
            eps 1e-5; theory then follows :func:`initlab.theory.predict_normalized`.

    >>> r = run_activations("he", "relu", depth=3, width=64, batch=8)
    >>> [layer.index for layer in r.runs[0].layers], r.runs[0].verdict.state
    ([1, 2, 3], 'healthy')
    """
    sizes = _layer_sizes(depth, width, sizes)
    return _measure(inits, activations, sizes, [len(sizes) - 1], batch=batch, input=input,
                    bias=bias, seeds=seeds, seed=seed, dtype=dtype, grad=grad, bins=bins,
                    hist_range=hist_range, threads=threads, norm=norm, progress=progress)[0]


def run_activations_by_depth(inits=("lecun",), activations=("tanh",), *, depth: int = 10,
                             width: int = 4096, sizes=None, **options) -> list[ActivationsResult]:
    """:func:`run_activations` at every depth 1..L at once: element d - 1 is what
    ``run_activations(..., depth=d)`` returns (with ``sizes``: ``sizes[:d + 1]``).

    The forward pass of layers 1..d does not depend on the layers above (same streams), so
    one forward pass of the deepest net serves all depths; the gradients, fed in at the top
    layer d, differ, so each depth gets its own backward pass from what that forward pass
    kept: one forward and L backward passes instead of L of each. ``options``: those of
    :func:`run_activations`.
    """
    sizes = _layer_sizes(depth, width, sizes)
    return _measure(inits, activations, sizes, list(range(1, len(sizes))), **options)


def _measure(inits, activations, sizes, tops, *, batch: int = 16, input: str = "normal",
             bias: float | None = None, seeds: int = 1, seed: int = 0, dtype: str = "float32",
             grad: bool = True, bins: int | None = None, hist_range=None,
             threads: int | None = None, norm: str | None = None,
             progress: bool = False) -> list[ActivationsResult]:
    """The results of the nets ``sizes[:d + 1]`` for each top layer d in ``tops``."""
    inits = [get_initializer(s) for s in _as_list(inits, "init spec")]
    acts = [get_activation(s) for s in _as_list(activations, "activation")]
    n = check_positive_int(batch, "batch")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InitlabError(f"seed must be an integer >= 0, got {seed!r}")
    seed_list = [seed + s for s in range(check_positive_int(seeds, "seeds"))]
    dt = check_float_dtype(dtype)
    if bias is not None and not (isinstance(bias, (int, float)) and 0 <= bias < math.inf):
        raise InitlabError(f"bias must be None or a finite std >= 0, got {bias!r}")
    edges = [_edges(act, bins, hist_range) for act in acts]
    in_init = get_initializer(input)
    threads = check_positive_int(threads, "threads") if threads else default_threads()
    whole = any(i.law((sizes[1], sizes[0])).dist not in _BY_BLOCKS for i in inits)
    keep = grad and keeps_weights(sizes, dt)
    groups = init_groups(inits, sizes, n, len(acts), dt, grad, threads, keep, len(tops))
    check_memory(sizes, n, len(acts) * max(map(len, groups)), dt, grad, whole, threads, keep,
                 len(tops))
    norm = check_norm(norm)
    if norm == "batch" and n < 2:
        raise InitlabError(f"BatchNorm over the batch needs a batch of at least 2, got {n}")
    cfg = {"dtype": dt, "batch": n, "input": in_init, "bias": bias or 0.0, "grad": grad,
           "threads": threads, "norm": norm, "axis": -2 if norm == "batch" else -1,
           "keep": keep}
    # accs[i][d][k][l]: init i, top layer d, activation k, layer l + 1; the forward
    # statistics are gathered once, by the deepest net's accumulators
    accs = []
    for _ in inits:
        deepest = [[LayerAccumulator(edges[k], act) for _ in range(max(tops))]
                   for k, act in enumerate(acts)]
        accs.append({d: deepest if d == max(tops) else
                     [[LayerAccumulator(None, forward=acc) for acc in per_act[:d]]
                      for per_act in deepest] for d in tops})
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
            for group in groups:
                done = _one_seed([inits[i] for i in group], acts, sizes, s, cfg,
                                 [accs[i] for i in group])
                for i, lsuv_done in zip(group, done, strict=True):
                    lsuv_runs[i].append(lsuv_done)
                if bar is not None:
                    bar.update(len(group))
    if bar is not None:
        bar.close()
    moments = law_moments(in_init.law((n, sizes[0])), (n, sizes[0]))
    moments, bias_var = moments or (inputs.mean, inputs.std**2), (bias or 0.0) ** 2
    # theory for every top at once: the forward recursion runs once, for the deepest net
    theory = {(k, i): (predict_normalized_tops(act, w, sizes, norm, tops, moments, bias_var, n,
                                               eps=NORM_EPS) if norm else
                       predict_tops(act, w, sizes, tops, moments, bias_var, n))
              for k, act in enumerate(acts) for i, init in enumerate(inits)
              for w in [[None if init.lsuv else law_moments(init.law(shape), shape)
                         for shape in zip(sizes[1:], sizes[:-1], strict=False)]]}
    return [_results(inits, acts, sizes[:d + 1], [a[d] for a in accs], cfg, edges,
                     {key: t[j] for key, t in theory.items()}, inputs.std, seed_list,
                     lsuv_runs, bias, seed) for j, d in enumerate(tops)]


def _results(inits, acts, sizes, accs, cfg, edges, theory, input_std, seed_list, lsuv_runs,
             bias, seed) -> ActivationsResult:
    """The :class:`ActivationsResult` of the net ``sizes`` from its accumulators ([init]
    [activation][layer]) and theory's predictions ({(activation, init): Prediction})."""
    n, norm, grad = cfg["batch"], cfg["norm"], cfg["grad"]
    runs = []
    for k, act in enumerate(acts):
        for i, init in enumerate(inits):
            layers = [acc.stats(j + 1, theory[k, i], grad) for j, acc in enumerate(accs[i][k])]
            lsuv = LsuvResult.stack(seed_list, [np.array(d)[:len(sizes) - 1, ..., k]
                                                for d in lsuv_runs[i]]) if init.lsuv else None
            runs.append(ActivationRun(
                init.spec, act.spec, layers, judge_layers(layers), input_std=input_std,
                edges=edges[k], lsuv=lsuv))
    config = {"sizes": sizes, "batch": n, "input": cfg["input"].spec, "bias": bias,
              "seeds": len(seed_list), "seed": seed, "dtype": cfg["dtype"].name, "grad": grad,
              "norm": norm}
    return ActivationsResult(runs, config)
