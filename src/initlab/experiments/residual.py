"""The depth study of residual MLPs without normalization: which initialization trains how deep.

Residual MLPs (``mlp(..., residual=True)``: Dense(in -> width), L blocks x <- x + alpha B(x) of
``branch`` Dense layers, Dense(width -> classes)) on standardized digits, one model of R
replicas per (depth, optimizer, learning rate): every scheme x seed is a replica drawn from
the seed's stream (the schemes share their base draws; :mod:`initlab.init.residual`), a scheme
with a norm in the branch (``he+batchnorm``) is a model of its own
(:mod:`initlab.experiments.replicas`). For every scheme, depth and seed the study measures at
initialization the stream's std entering each block (and after the last) on the first
``probe`` training examples, next to :mod:`initlab.theory.residual`'s prediction, and the norm
of the first block's parameter gradient; after training, the final training loss and accuracy
and whether the run diverged (a non-finite loss: a float32 stream overflows after ~160 He
blocks, 3^(L/2) > 3.4e38, and is reported as diverged). ``best`` is the grid's best learning
rate per scheme, depth and optimizer over the seeds: the fewest diverged seeds, then the
lowest mean final loss.

A (scheme, depth) *trained* when, with some optimizer, its best learning rate has no diverged
seed and a mean final loss under half the loss of the uniform guess, ln(classes) / 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from initlab.errors import InitlabError, check_float_dtype
from initlab.experiments.common import get_dataset, output_layer
from initlab.experiments.config import Config, at_least, nonempty, option, positive, seed_check
from initlab.experiments.propagate_results import one_blas_thread
from initlab.experiments.registry import Experiment
from initlab.experiments.replicas import Group, Recipe, train_groups
from initlab.experiments.residual_results import (  # noqa: F401  (public names here too)
    BestRow,
    ResidualResult,
    ResidualRun,
    StreamTheory,
    best_rows,
)
from initlab.experiments.shared_options import (
    activation_option,
    config_of,
    data_path_option,
    dataset_option,
    dtype_option,
    seeds_problem,
)
from initlab.statistics import finite_or_none as _finite

#: The study's names of schemes -> init specs; any other init spec is accepted too, and a
#: ``+batchnorm`` / ``+layernorm`` suffix puts that norm in the branch.
SCHEMES = {"he": "he", "fixup": "fixup", "skipinit": "skipinit", "rezero": "rezero",
           "scaled": "scaled_residual", "scaled2": "scaled_residual(factor=2)",
           "zero_init": "zero_init_residual"}
NORMS = {"": None, "batchnorm": "batch", "layernorm": "layer"}
OPTIMIZERS = {"sgd": "momentum(0.9)", "adam": "adam"}
#: Sizes that --quick and --full change where they are not given: (default, quick, full).
SIZES = {"depths": ((4, 16, 64, 256), (4, 16, 64), (4, 16, 64, 256, 1000)),
         "seeds": (2, 2, 3), "iterations": (60, 30, 300)}
_DATA, _NET, _GRID = "data", "network", "training grid"


def parse_scheme(name: str) -> tuple[str, str | None]:
    """(init spec, norm) of a study scheme such as ``fixup``, ``scaled`` or ``he+batchnorm``."""
    from initlab.init import get_initializer

    base, _, suffix = str(name).strip().partition("+")
    if suffix not in NORMS:
        raise InitlabError(f"unknown norm {suffix!r} in scheme {name!r}; valid suffixes: "
                           "+batchnorm, +layernorm")
    spec = SCHEMES.get(base.lower(), base)
    try:
        get_initializer(spec)
    except InitlabError:
        raise InitlabError(f"unknown residual scheme {name!r}; valid: {', '.join(SCHEMES)} or "
                           f"any init spec, each with an optional +batchnorm or +layernorm"
                           ) from None
    return spec, NORMS[suffix]


def _schemes_check(names) -> str | None:
    if not names:
        return "must name at least one scheme"
    for name in names:
        parse_scheme(name)
    return None


def _alpha_check(value) -> str | None:
    return None if value is None or math.isfinite(value) else "must be a finite number"


def _sizes_help(name: str) -> str:
    d, q, f = SIZES[name]
    return f"default {d}, --quick {q}, --full {f}".replace("(", "").replace(")", "")


@dataclass(frozen=True)
class ResidualConfig(Config):
    """Every option of ``initlab residual`` (and of :func:`run_residual`); the sizes left None
    follow from ``quick`` / ``full`` (:data:`SIZES`) when the Config is made."""

    dataset: str = dataset_option("digits", group=_DATA)
    data: Path | None = data_path_option(group=_DATA)
    train_size: int | None = option(None, "train on a subset of this size", check=at_least(1),
                                    group=_DATA)
    data_seed: int = option(0, "seed of the data split and the minibatch order",
                            check=seed_check, group=_DATA)
    depths: tuple[int, ...] | None = option(None, f"residual blocks L ({_sizes_help('depths')})",
                                            check=lambda v: nonempty(v) or at_least(1)(v),
                                            group=_NET)
    schemes: tuple[str, ...] = option(
        ("he", "fixup", "skipinit", "scaled", "he+batchnorm"),
        f"schemes: {', '.join(SCHEMES)} or init specs, +batchnorm/+layernorm for a norm in the "
        "branch", check=_schemes_check, group=_NET, metavar="NAMES")
    width: int = option(64, "units of the stream and the branches", check=at_least(1),
                        group=_NET)
    branch: int = option(2, "Dense layers per branch (m)", check=at_least(1), group=_NET)
    order: str = option("post", "post: Dense [norm] act ... Dense [norm]; pre: [norm] act "
                        "Dense ...", choices=("post", "pre"), group=_NET)
    activation: str = activation_option("relu", group=_NET)
    alpha: float | None = option(None, "a fixed multiplier for the schemes that set none",
                                 check=_alpha_check, group=_NET)
    optimizer: tuple[str, ...] = option(("sgd", "adam"), "sgd (momentum 0.9) and/or adam",
                                        choices=tuple(OPTIMIZERS), group=_GRID)
    sgd_lr: tuple[float, ...] = option((0.01, 0.05), "learning rates of sgd",
                                       check=lambda v: nonempty(v) or positive(v), group=_GRID)
    adam_lr: tuple[float, ...] = option((0.001, 0.003), "learning rates of adam",
                                        check=lambda v: nonempty(v) or positive(v), group=_GRID)
    seeds: int | None = option(None, f"seeds per point ({_sizes_help('seeds')})",
                               check=at_least(1), group=_GRID)
    seed: int = option(0, "first weight seed", check=seed_check, group=_GRID)
    iterations: int | None = option(None, f"training steps ({_sizes_help('iterations')})",
                                    check=at_least(1), group=_GRID)
    batch: int = option(64, "minibatch size", check=at_least(2), group=_GRID)
    probe: int = option(256, "training examples the stream is measured on at init",
                        check=at_least(2), group=_GRID)
    dtype: str = dtype_option(group=_GRID)
    quick: bool = option(False, "smaller runs: depths, seeds and steps take their --quick "
                         "values where not given")
    full: bool = option(False, "larger runs (their --full values where not given)")

    def __post_init__(self):
        size = 2 if self.full else 1 if self.quick else 0
        for name, values in SIZES.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, values[size])
        super().__post_init__()

    def check(self) -> str | None:
        from initlab.init.residual import residual_rule

        if self.quick and self.full:
            return "give --quick or --full, not both"
        for name in self.schemes:
            spec, norm = parse_scheme(name)
            residual_rule(spec, max(self.depths), self.branch, norm)  # fixup at m = 1, ...
        return seeds_problem(self.seed, self.seeds)


def run_residual(*, progress: bool = False, jobs: int | None = 1,
                 config: ResidualConfig | None = None, **options) -> ResidualResult:
    """Measure every scheme at init and train it over the grid, at every depth.

    The options are :class:`ResidualConfig`'s fields, with its defaults (give ``config`` or
    keywords, not both), e.g. ``run_residual(depths=[4, 64], schemes=["he", "fixup"])``.
    ``jobs``: processes per training call (:func:`initlab.experiments.replicas.train_groups`).
    BLAS runs on one thread in this process: every product is a stack of width x width
    matrices, which a second thread barely speeds up and, on cores shared with other work,
    slows down many times (its evaluation passes over the data run outside ``fit``'s own
    thread limit).
    """
    c = config_of(ResidualConfig, config, options, "run_residual")
    with one_blas_thread():
        return _run(c, progress, jobs)


def standardized(ds) -> tuple[np.ndarray, np.ndarray]:
    """Train and test features standardized per pixel with the training set's mean and std
    (a pixel constant in training, std 0, is only centred)."""
    mean, std = ds.X_train.mean(axis=0), ds.X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (ds.X_train - mean) / std, (ds.X_test - mean) / std


def _run(c: ResidualConfig, progress: bool, jobs: int | None) -> ResidualResult:
    ds = get_dataset(c.dataset, seed=c.data_seed, data=c.data, train_size=c.train_size)
    X, X_test = standardized(ds)
    units, output = output_layer(ds.n_classes)
    sizes = [ds.n_features, c.width, units]
    dt = check_float_dtype(c.dtype).type
    schemes = [parse_scheme(s) for s in c.schemes]
    seeds = list(range(c.seed, c.seed + c.seeds))
    data = (X, ds.y_train, X_test, ds.y_test)
    runs, theory = [], []
    for depth in c.depths:
        model_kw = {"residual": True, "blocks": depth, "branch": c.branch, "order": c.order,
                    "alpha": c.alpha}
        at_init = {}
        for name, (spec, norm) in zip(c.schemes, schemes, strict=True):
            stds, grads = measure_init(spec, norm, seeds, sizes, output, X[:c.probe],
                                       ds.y_train[:c.probe], dt, c.activation, model_kw)
            at_init[name] = (stds, grads)
            theory.append(StreamTheory(name, depth, _theory(spec, norm, stds, c, depth)))
        for opt in c.optimizer:
            for lr in (c.sgd_lr if opt == "sgd" else c.adam_lr):
                fit_kw = {"optimizer": OPTIMIZERS[opt], "lr": lr, "iterations": c.iterations,
                          "batch_size": c.batch, "record_every": c.iterations,
                          "seed": c.data_seed}
                groups = [Group(spec, seeds, norm=norm) for spec, norm in schemes]
                recipe = Recipe(sizes, c.activation, output, dt, fit_kw, curves="train",
                                model=model_kw)
                trained = train_groups(groups, recipe, data, jobs=jobs, progress=progress)
                for g, name in enumerate(c.schemes):
                    part = trained.group(g)
                    for s, seed in enumerate(seeds):
                        runs.append(_one_run(name, depth, opt, lr, seed, part, s,
                                             at_init[name]))
    config = {"dataset": ds.name, "n_train": ds.n_train, "classes": ds.n_classes,
              "sizes": sizes, "depths": list(c.depths), "schemes": list(c.schemes),
              "specs": [f"{s}" + (f" + {n} norm" if n else "") for s, n in schemes],
              "width": c.width, "branch": c.branch, "order": c.order,
              "activation": c.activation, "alpha": c.alpha, "optimizers":
              {o: OPTIMIZERS[o] for o in c.optimizer}, "sgd_lr": list(c.sgd_lr),
              "adam_lr": list(c.adam_lr), "seeds": c.seeds, "seed": c.seed,
              "iterations": c.iterations, "batch": c.batch, "probe": c.probe,
              "dtype": np.dtype(dt).name, "data_seed": c.data_seed}
    return ResidualResult(runs=runs, best=best_rows(runs), theory=theory, config=config)


def _one_run(name, depth, opt, lr, seed, part, s, at_init) -> ResidualRun:
    stds, grads = at_init
    diverged = bool(part.diverged[s])
    loss = float(part.final_loss[s])
    return ResidualRun(scheme=name, depth=depth, optimizer=opt, lr=float(lr), seed=seed,
                       stream_std=[_finite(v) for v in stds[s]],
                       first_grad_norm=_finite(grads[s]),
                       final_loss=None if diverged or not math.isfinite(loss) else loss,
                       final_accuracy=None if diverged else float(part.train[s]),
                       diverged=diverged or not math.isfinite(loss))


def measure_init(spec, norm, seeds, sizes, output, X, y, dtype, activation, model_kw):
    """At init, per seed: the stream's std entering each block and after the last
    (S, L + 1), and the Frobenius norm of the first block's parameter gradient (S,), from one
    training-mode pass over ``X`` (the replicas drawn exactly as training draws them)."""
    from initlab.nn.model import mlp

    model = mlp(sizes, activation, init=[spec] * len(seeds), output=output, seed=seeds,
                dtype=dtype, norm=norm, **model_kw)
    X = model.check_input(X)
    targets = model.loss.targets(y, X.shape[0], model.out_features, model.dtype)
    with np.errstate(all="ignore"):
        h = model.layers[0].forward(X, train=True)
        stds = [np.std(h, axis=(1, 2), dtype=np.float64)]
        for layer in model.layers[1:-1]:
            h = layer.forward(h, train=True)
            stds.append(np.std(h, axis=(1, 2), dtype=np.float64))
        z = model.layers[-1].forward(h, train=True)
        _, grad = model.loss.value_and_grad(z, targets)
        model.backward(grad, input_grad=False)
        sq = sum(np.sum(np.square(p.grad, dtype=np.float64).reshape(len(seeds), -1), axis=1)
                 for p in model.layers[1].parameters())
    return np.stack(stds, axis=1), np.sqrt(sq)


def _theory(spec, norm, stds, c: ResidualConfig, depth: int) -> list:
    """Theory's std per block from the measured block-0 second moment (mean over seeds)."""
    from initlab.theory.residual import scheme_stream_variance

    q0 = float(np.mean(np.square(stds[:, 0])))
    q = scheme_stream_variance(spec, c.activation, depth, c.branch, c.width, q0, c.order,
                               norm, c.alpha)
    return [_finite(v) for v in np.sqrt(q)]


#: How much faster than :func:`~initlab.runtime.budget.mlp_training`'s model this study's
#: training runs: its products are stacks of width x width matrices over R replicas, which
#: run near ten times the FLOPS the model assumes (benchmarks/README.md, "Residual nets").
SPEED = 10.0


def estimate(config: ResidualConfig):
    """Memory and time of the grid, from the sizes: every training call is ``mlp_training``
    of the net's weights (as a chain of its Dense layers, whose activations it counts: an
    evaluation pass keeps every layer's input until the next pass), its time over
    :data:`SPEED`."""
    from initlab.data import expected_size
    from initlab.runtime.budget import Estimate, mlp_training

    c = config
    n_train, n_test, features, classes = expected_size(c.dataset, None, c.train_size, c.data)
    itemsize = np.dtype(c.dtype).itemsize
    replicas = len(c.schemes) * c.seeds
    lrs = sum(len(c.sgd_lr if o == "sgd" else c.adam_lr) for o in c.optimizer)
    seconds, memory = 0.0, 0.0
    for depth in c.depths:
        chain = [features, *[c.width] * (depth * c.branch + 1), classes]
        one = mlp_training(chain, replicas, n_train, n_test, c.batch, c.iterations, 2,
                           itemsize)
        seconds += lrs * one.seconds / SPEED
        memory = max(memory, one.memory)
    return Estimate(memory, seconds, f"training {replicas} residual nets of width {c.width} "
                    f"at depths {list(c.depths)} x {lrs} learning rates for {c.iterations} "
                    "steps")


def figures(result: ResidualResult) -> dict:
    """The stream's std against block per scheme (log scale), and the final loss against
    depth per scheme."""
    from initlab.plots.residual import loss_figure, stream_figure

    return {"stream": stream_figure(result), "loss": loss_figure(result)}


EXPERIMENT = Experiment(name="residual", config=ResidualConfig, run=run_residual,
                        figures=figures, estimate=estimate, jobs=True)
