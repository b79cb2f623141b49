"""Inside the network at initialization: per-layer activation and gradient statistics.

An MLP ``a_l = h_{l-1} W_l^T + b_l``, ``h_l = phi(a_l)`` (no bias by default) is drawn for every
init, activation and seed and looked at layer by layer: histogram counts on fixed bins, mean,
std, the fractions saturated and exactly zero, the dead units, the pre-activation std; then,
backward from a unit-variance random gradient at the top, the std of dL/dh_l and of dL/dW_l.
Each measured std sits beside :func:`initlab.theory.predict`, and each run gets a
:func:`initlab.verdict.judge` of its numbers. The settings of the presets are those of
*Deep Learning from Scratch* (Saito, O'Reilly Japan 2016, ch. 6.2) and of the Stanford CS231n
lecture on weight initialization. Every option is a field of :class:`ActivationsConfig`.

The nets are :mod:`initlab.nn`'s, run layer by layer by :func:`initlab.nn.probe.probe`; the
draws (named random streams, weights streamed in row blocks) are in
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
from typing import ClassVar

import numpy as np

from initlab.errors import MAX_SEED, InitlabError, check_float_dtype, check_positive_int
from initlab.experiments.config import (
    Config,
    at_least,
    in_range,
    nonempty,
    option,
    seed_check,
    valid,
)
from initlab.experiments.layer_stats import (  # noqa: F401  (public names of this experiment)
    GRAD_EDGES,
    SATURATION,
    ActivationRun,
    ActivationsResult,
    LayerAccumulator,
    LayerStats,
    Moments,
    Recorder,
    accumulators,
    add_forwards,
    add_grads,
    add_weight_grads,
    histogram_edges,
    judge_layers,
    weight_grad_moments,
)
from initlab.experiments.registry import Experiment
from initlab.experiments.shared_options import dtype_option, inits_option, residual_option
from initlab.experiments.weight_draws import (  # noqa: F401  (public names of this experiment)
    BLOCK,
    LayerWeight,
    LayerWeights,
    check_memory,
    default_threads,
    draw_bias,
    draw_input,
    draw_top_gradient,
    draw_weight,
    drawn_whole,
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
from initlab.nn.probe import probe
from initlab.theory import law_moments, predict_normalized_tops, predict_tops

try:  # installed with scikit-learn
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None

ACTIVATION_PRESETS = {
    "saito": {  # Deep Learning from Scratch (Saito, 2016), ch. 6.2
        "init": ["normal(1)", "normal(0.01)", "lecun", "he", "zeros", "ones", "constant(5)"],
        "activation": ["sigmoid", "relu", "tanh"], "depth": 5, "width": 100, "batch": 1000},
    "cs231n": {  # Stanford CS231n, lecture on weight initialization: 10 layers of 4096
        "init": ["normal(0.01)", "normal(0.05)", "lecun", "he"],
        "activation": ["tanh", "relu"], "depth": 10, "width": 4096, "batch": 16},
}
NORM_EPS = 1e-5  # eps of the normalization before each activation (PyTorch's default)
_NET, _RUN = "network", "seeds, precision and histograms"


def _sizes(value) -> str | None:
    return at_least(1)(value) or (
        None if len(value) >= 2 else "must give the input size and at least one layer")


def _range(value) -> str | None:
    if len(value) != 2:
        return "expected LO,HI (two numbers)"
    lo, hi = value
    return None if math.isfinite(lo) and math.isfinite(hi) and lo < hi else (
        "must be finite with lo < hi")


@dataclass(frozen=True)
class ActivationsConfig(Config):
    """Every option of ``initlab activations`` (and of :func:`run_activations`)."""

    PRESETS: ClassVar[dict] = ACTIVATION_PRESETS

    init: tuple[str, ...] = inits_option(("normal(0.01)", "lecun", "he"), group=_NET)
    activation: tuple[str, ...] = option(
        ("tanh", "relu"), "comma-separated activations, e.g. tanh,relu,leaky_relu(0.1)",
        check=lambda v: nonempty(v) or valid(get_activation)(v), group=_NET, metavar="SPECS")
    depth: int | None = option(10, "number of layers", check=at_least(1), group=_NET)
    width: int | None = option(4096, "units per layer and input size", check=at_least(1),
                               group=_NET)
    sizes: tuple[int, ...] | None = option(
        None, "input size then each layer's size, instead of --depth/--width", check=_sizes,
        group=_NET, metavar="N0,N1,...")
    batch: int = option(16, "examples in the input batch", check=at_least(1), group=_NET)
    input: str = option("normal", "input distribution as an init spec (normal: N(0, 1); e.g. "
                        "uniform(-1,1))", check=valid(get_initializer), group=_NET,
                        metavar="SPEC")
    bias: float | None = option(None, "add biases drawn from N(0, STD^2) (default: no bias)",
                                check=in_range(0, math.inf, high_open=True), group=_NET,
                                metavar="STD")
    norm: str | None = option(None, "normalize every pre-activation: batch (over the batch, "
                              "as training-mode BatchNorm) or layer (over the units); default "
                              "none", check=valid(check_norm), group=_NET, metavar="NORM")
    seed: int = option(0, "first seed; nets use seed, seed+1, ...", check=seed_check,
                       group=_RUN)
    seeds: int = option(1, "nets drawn per init", check=at_least(1), group=_RUN)
    dtype: str = dtype_option(group=_RUN)
    no_grad: bool = option(False, "skip the backward pass", group=_RUN)
    bins: int | None = option(None, "histogram bins (default: 30 for sigmoid, else 40)",
                              check=at_least(1), group=_RUN)
    hist_range: tuple[float, ...] | None = option(
        None, "histogram range (default: 0,1 for sigmoid, else -1,1; write --range=-2,2)",
        check=_range, group=_RUN, flag="--range", metavar="LO,HI")
    residual: bool = residual_option("a residual MLP of --depth Dense-act-Dense blocks (--norm "
                                     "in the branch; inits may be fixup, skipinit, ...): the "
                                     "stream per block beside theory, no gradients", group=_NET)

    @classmethod
    def adjust(cls, given: dict, merged: dict) -> dict:
        """``sizes`` given replaces the default (or preset) ``depth`` and ``width``."""
        if given.get("sizes") is not None:
            merged.update({k: None for k in ("depth", "width") if k not in given})
        return merged

    def check(self) -> str | None:
        if self.sizes is not None and (self.depth is not None or self.width is not None):
            return "give either --sizes or --depth/--width, not both"
        if self.sizes is None and (self.depth is None or self.width is None):
            return f"give depth and width, or sizes (got depth={self.depth}, width={self.width})"
        if self.seed + self.seeds - 1 > MAX_SEED:
            return (f"the seeds {self.seed}..{self.seed + self.seeds - 1} pass the largest "
                    f"seed, {MAX_SEED}: lower seed or seeds")
        if check_norm(self.norm) == "batch" and self.batch < 2:
            return f"BatchNorm over the batch needs a batch of at least 2, got {self.batch}"
        from initlab.experiments.residual_activations import residual_problem

        return residual_problem(self)

    @property
    def layer_sizes(self) -> list[int]:
        """[n_0, n_1, ..., n_L]: ``sizes``, or ``depth`` + 1 times ``width``."""
        return list(self.sizes) if self.sizes is not None else [self.width] * (self.depth + 1)


def preset(name: str) -> dict:
    """Keyword arguments of :func:`run_activations` for a published setting (a fresh copy)."""
    return {k: list(v) if isinstance(v, list) else v
            for k, v in ActivationsConfig.preset_values(name).items()}


# ----------------------------------------------------------------------------- one net
def _one_seed(inits, acts, sizes, seed, cfg, accs) -> list:
    """The nets of ``inits`` for one seed, side by side through :func:`initlab.nn.probe.probe`
    with every activation, their statistics into ``accs`` (one
    :func:`~initlab.experiments.layer_stats.accumulators` dict per init), one backward pass
    from each of its top layers. Every weight block is drawn once for all activations, and
    once for all inits with a normal law (:class:`LayerWeights`). Returns, per init, for an
    LSUV init each layer's (rescalings, variance reached) per activation."""
    dt, n = cfg["dtype"], cfg["batch"]

    def weights(layer):
        return LayerWeights(inits, (sizes[layer], sizes[layer - 1]), seed, layer, dt,
                            cfg["keep"], cfg["threads"])

    def bias(layer):
        return draw_bias(cfg["bias"], sizes[layer], seed, layer, dt)

    def top_gradient(layer):
        return draw_top_gradient((n, sizes[layer]), seed, dt)

    rules = [functools.partial(lsuv_scale, **i.lsuv) if i.lsuv else None for i in inits]
    return probe(draw_input(cfg["input"], (n, sizes[0]), seed, dt), weights, acts,
                 max(accs[0]), lsuv=rules, bias=bias if cfg["bias"] else None,
                 norm=cfg["norm"], eps=NORM_EPS, tops=list(accs[0]),
                 top_gradient=top_gradient if cfg["grad"] else None, observer=Recorder(accs))


# ----------------------------------------------------------------------------- the experiment
def _make_config(inits=None, activations=None, grad: bool | None = None, config=None,
                source: str = "run_activations", **options) -> ActivationsConfig:
    """The :class:`ActivationsConfig` of :func:`run_activations`'s arguments: ``config``, or
    the keywords (``inits``, ``activations`` and ``grad`` name the fields ``init``,
    ``activation`` and ``no_grad``; the others are field names, ``preset`` a preset's)."""
    if config is not None:
        if options or inits is not None or activations is not None or grad is not None:
            raise InitlabError(f"give {source} a config or keyword options, not both")
        return config
    for key, value in (("init", inits), ("activation", activations)):
        if value is not None:
            options[key] = [value] if not isinstance(value, (str, list, tuple)) else value
    if grad is not None:
        if not isinstance(grad, bool):
            raise InitlabError(f"grad must be true or false, got {grad!r}")
        options["no_grad"] = not grad
    return ActivationsConfig.from_dict(options, source=source)


def run_activations(inits=None, activations=None, *, progress: bool = False,
                    threads: int | None = None, grad: bool | None = None,
                    config: ActivationsConfig | None = None, **options) -> ActivationsResult:
    """Measure every layer of every (activation, init) MLP at initialization, beside theory.

    The options are :class:`ActivationsConfig`'s fields, with its defaults (give ``config``
    or keywords, not both), e.g. ``run_activations(["lecun", "he"], "tanh", depth=20)``:

    - ``inits``, ``activations``: spec strings (a list, or one comma-separated string).
    - ``depth``, ``width``: ``depth`` layers of ``width`` units on a ``width``-wide input; or
      ``sizes``: [n_0, n_1, ..., n_L], the input size then each layer's (instead of both).
    - ``batch``: N, rows of the (N, n_0) input, drawn from the init-style spec ``input``.
    - ``bias``: None (no bias) or sigma_b: biases drawn from N(0, sigma_b^2).
    - ``seeds``, ``seed``: nets drawn from seeds seed, seed+1, ...; statistics pool over them.
    - ``dtype``: float32 (fast) or float64; ``grad=False`` (or ``no_grad=True``): no backward
      pass.
    - ``bins``, ``hist_range``: histogram bins and (lo, hi); default 30 on (0, 1) for
      sigmoid, else 40 on (-1, 1), as the sources draw them.
    - ``norm``: None, "batch" (normalize each pre-activation over the batch, as training-mode
      BatchNorm with weight 1 and bias 0) or "layer" (over the units, as LayerNorm), eps
      1e-5; theory then follows :func:`initlab.theory.predict_normalized`.

    ``threads``: threads drawing weights (default: :func:`default_threads`, the thread limit
    the process was given, at most 8); the result does not depend on it.

    >>> r = run_activations("he", "relu", depth=3, width=64, batch=8)
    >>> [layer.index for layer in r.runs[0].layers], r.runs[0].verdict.state
    ([1, 2, 3], 'healthy')
    """
    c = _make_config(inits, activations, grad, config, **options)
    return _measure(c, [len(c.layer_sizes) - 1], threads, progress)[0]


def run_activations_by_depth(inits=None, activations=None, *, progress: bool = False,
                             threads: int | None = None, grad: bool | None = None,
                             config: ActivationsConfig | None = None,
                             **options) -> list[ActivationsResult]:
    """:func:`run_activations` at every depth 1..L at once: element d - 1 is what
    ``run_activations(..., depth=d)`` returns (with ``sizes``: ``sizes[:d + 1]``).

    The forward pass of layers 1..d does not depend on the layers above (same streams), so
    one forward pass of the deepest net serves all depths; the gradients, fed in at the top
    layer d, differ, so each depth gets its own backward pass from what that forward pass
    kept: one forward and L backward passes instead of L of each.
    """
    c = _make_config(inits, activations, grad, config, "run_activations_by_depth", **options)
    return _measure(c, list(range(1, len(c.layer_sizes))), threads, progress)


def _measure(c: ActivationsConfig, tops, threads, progress) -> list[ActivationsResult]:
    """The results of the nets ``sizes[:d + 1]`` for each top layer d in ``tops``."""
    if c.residual:  # a residual net: its own path (experiments/residual_activations.py)
        from initlab.experiments.residual_activations import run_residual_activations

        return run_residual_activations(c, tops)
    inits = [get_initializer(s) for s in c.init]
    acts = [get_activation(s) for s in c.activation]
    sizes, seeds = c.layer_sizes, [c.seed + s for s in range(c.seeds)]
    cfg = _settings(c, inits, len(acts), tops, threads)
    edges = [histogram_edges(act, c.bins, c.hist_range) for act in acts]
    accs = [accumulators(acts, edges, tops) for _ in inits]
    inputs, lsuv_runs = _draw(inits, acts, sizes, seeds, cfg, accs, progress)
    theory = _theory(inits, acts, sizes, tops, cfg, inputs, c.bias)
    return [_results(inits, acts, sizes[:d + 1], [a[d] for a in accs], cfg, edges,
                     {key: t[j] for key, t in theory.items()}, inputs.std, seeds,
                     lsuv_runs, c) for j, d in enumerate(tops)]


def _settings(c: ActivationsConfig, inits, n_acts: int, tops, threads) -> dict:
    """What every seed's nets share: dtype, input law, bias, norm, threads, whether the
    weights are kept for the backward pass, and the groups of inits run side by side (as
    many as fit in memory, refused up front when even one does not)."""
    sizes, n, grad, dt = c.layer_sizes, c.batch, not c.no_grad, check_float_dtype(c.dtype)
    threads = check_positive_int(threads, "threads") if threads else default_threads()
    keep = grad and keeps_weights(sizes, dt)
    groups = init_groups(inits, sizes, n, n_acts, dt, grad, threads, keep, len(tops))
    whole = any(drawn_whole(i, (sizes[1], sizes[0])) for i in inits)
    check_memory(sizes, n, n_acts * max(map(len, groups)), dt, grad, whole, threads, keep,
                 len(tops))
    return {"dtype": dt, "batch": n, "input": get_initializer(c.input), "bias": c.bias or 0.0,
            "grad": grad, "threads": threads, "norm": check_norm(c.norm), "keep": keep,
            "groups": groups}


def _draw(inits, acts, sizes, seeds, cfg, accs, progress) -> tuple[Moments, list]:
    """Every seed's nets, group by group, into ``accs``; returns the inputs' moments and,
    per init, per seed, what LSUV did."""
    inputs, lsuv_runs, bar = Moments(), [[] for _ in inits], None
    if progress:
        from initlab.runtime.progress import Progress
        bar = Progress(len(inits) * len(seeds), "activations", "net")
    blas = threadpool_limits(1, "blas") if threadpool_limits else contextlib.nullcontext()
    with blas, np.errstate(over="ignore", invalid="ignore"):
        for s in seeds:
            inputs.add(draw_input(cfg["input"], (cfg["batch"], sizes[0]), s, cfg["dtype"]))
            for group in cfg["groups"]:
                done = _one_seed([inits[i] for i in group], acts, sizes, s, cfg,
                                 [accs[i] for i in group])
                for i, lsuv_done in zip(group, done, strict=True):
                    lsuv_runs[i].append(lsuv_done)
                if bar is not None:
                    bar.update(len(group))
    if bar is not None:
        bar.close()
    return inputs, lsuv_runs


def _theory(inits, acts, sizes, tops, cfg, inputs: Moments, bias) -> dict:
    """Theory's predictions {(activation, init): [one per top]}: the forward recursion runs
    once, for the deepest net."""
    n, norm = cfg["batch"], cfg["norm"]
    moments = law_moments(cfg["input"].law((n, sizes[0])), (n, sizes[0]))
    moments, bias_var = moments or (inputs.mean, inputs.std**2), (bias or 0.0) ** 2
    return {(k, i): (predict_normalized_tops(act, w, sizes, norm, tops, moments, bias_var, n,
                                             eps=NORM_EPS) if norm else
                     predict_tops(act, w, sizes, tops, moments, bias_var, n))
            for k, act in enumerate(acts) for i, init in enumerate(inits)
            for w in [[None if init.lsuv else law_moments(init.law(shape), shape)
                       for shape in zip(sizes[1:], sizes[:-1], strict=False)]]}


def _results(inits, acts, sizes, accs, cfg, edges, theory, input_std, seed_list, lsuv_runs,
             c: ActivationsConfig) -> ActivationsResult:
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
    config = {"sizes": sizes, "batch": n, "input": cfg["input"].spec, "bias": c.bias,
              "seeds": len(seed_list), "seed": c.seed, "dtype": cfg["dtype"].name,
              "grad": grad, "norm": norm}
    return ActivationsResult(runs, config)


def estimate(config: ActivationsConfig):
    """Memory and time of drawing and pushing a batch through every (init, seed) net."""
    from initlab.runtime.budget import stats_at_init

    c, grad = config, not config.no_grad
    sizes, n_acts, nets = c.layer_sizes, len(c.activation), len(c.init) * c.seeds
    memory = estimate_memory(sizes, c.batch, n_acts, c.dtype, grad)
    return stats_at_init(sizes, c.batch, nets, n_acts, grad, memory,
                         f"{nets} nets of {len(sizes) - 1} layers of up to {max(sizes)} units")


def figures(result: ActivationsResult) -> dict:
    """The histogram grids (one per activation) and the stds against depth."""
    from initlab.plots.activations import figures as make_figures

    return make_figures(result)


EXPERIMENT = Experiment(name="activations", config=ActivationsConfig, run=run_activations,
                        figures=figures, estimate=estimate)
