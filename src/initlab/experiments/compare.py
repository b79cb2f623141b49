"""Compare initializations across many seeds, all trained together as replicas of one model.

Every (init, seed) pair is one replica of a single model, so "3 inits x 30 seeds" is one
vectorized run. Seed ``s`` draws the weights of every init (common random numbers: the inits
differ only in their formula); the data and the minibatch order come from ``data_seed``, the
same for every replica, so seeds vary the weights and nothing else. Each init's row
reports mean, std and a 95% confidence interval of its accuracies over seeds (Wilson's score
interval with the seeds' effective sample size, inside [0, 1]: :func:`summarize_accuracy`), its
final loss, and how many of its runs diverged. Diverged runs stay in the accuracy statistics
with whatever their frozen weights predict, and are counted in ``diverged``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from initlab.errors import check_float_dtype
from initlab.experiments.boundary import Boundary, compute_boundary
from initlab.experiments.common import get_dataset, output_layer
from initlab.experiments.common import record_every as default_every
from initlab.experiments.config import Config, at_least, in_range, option, positive, seed_check
from initlab.experiments.registry import Experiment
from initlab.experiments.replicas import (
    SUMMARY_HEADER,
    Group,
    Recipe,
    summarize_group,
    summary_cells,
    train_groups,
)
from initlab.experiments.shared_options import (
    activation_option,
    base_width_option,
    config_of,
    data_path_option,
    dataset_option,
    dtype_option,
    inits_option,
    length_problem,
    norm_option,
    one_length,
    optimizer_option,
    param_option,
    param_problem,
    residual_option,
    residual_scheme_problem,
    seeds_problem,
)
from initlab.init import get_initializer
from initlab.lsuv import LsuvResult
from initlab.nn.norm import check_norm
from initlab.results import Result, detail
from initlab.statistics import (  # noqa: F401  (Stat, summarize: public here too)
    ACCURACY_CI,
    LossStat,
    Stat,
    format_interval,
    summarize,
    summarize_accuracy,
)
from initlab.train import check_batch_norm_batches

COMPARE_PRESETS = {
    # the deep-learning course's "Initialization" assignment (deeplearning.ai, "Improving Deep
    # Neural Networks", week 1), over seeds: legacy RandomState(3), (4), ...
    "coursera": {
        "dataset": "circles", "layers": [10, 5], "activation": "relu",
        "init": ["zeros", "normal(10)", "he"], "optimizer": "sgd", "lr": 0.01,
        "iterations": 15000, "batch": None, "seed": 3, "legacy_seeds": True, "classic": True,
        "dtype": "float64",
    },
    # Deep Learning from Scratch (Saito, 2016), ch. 6.2's training comparison on MNIST
    "saito": {
        "dataset": "digits", "layers": [100, 100, 100, 100], "activation": "relu",
        # the book's three inits, and LSUV (Mishkin & Matas 2016) beside them
        "init": ["normal(0.01)", "lecun", "he", "lsuv"], "optimizer": "sgd", "lr": 0.01,
        "iterations": 2000, "batch": 128, "replace": True,
    },
}

_DATA, _NET = "data", "network and training"


@dataclass(frozen=True)
class CompareConfig(Config):
    """Every option of ``initlab compare`` (and of :func:`run_compare`)."""

    PRESETS: ClassVar[dict] = COMPARE_PRESETS

    dataset: str = dataset_option("moons", group=_DATA)
    data: Path | None = data_path_option(group=_DATA)
    classic: bool = option(False, "the course's fixed circles/moons data (300 train, 100 test)",
                           group=_DATA)
    train_size: int | None = option(None, "train on a subset of this size",
                                    check=at_least(1), group=_DATA)
    n_samples: int | None = option(None, "examples of a generated data set (train and test)",
                                   check=at_least(1), group=_DATA)
    noise: float | None = option(None, "noise of a generated 2-D data set", check=at_least(0),
                                 group=_DATA)
    data_seed: int = option(0, "seed of the data and the minibatch order", check=seed_check,
                            group=_DATA)
    layers: tuple[int, ...] = option((10, 5), "hidden layer sizes", check=at_least(1),
                                     group=_NET, metavar="N1,N2,...")
    activation: str = activation_option("relu", group=_NET)
    init: tuple[str, ...] = inits_option(("zeros", "normal(10)", "he"), group=_NET)
    seeds: int = option(10, "seeds per init", check=at_least(1), group=_NET)
    seed: int = option(0, "first weight seed; the seeds are seed, seed+1, ...", check=seed_check,
                       group=_NET)
    legacy_seeds: bool = option(False, "draw weights from legacy RandomState(seed + s), as the "
                                "course does", group=_NET)
    iterations: int | None = option(1000, "training steps", check=at_least(1), group=_NET)
    epochs: int | None = option(None, "passes over the data, instead of --iterations",
                                check=at_least(1), group=_NET)
    lr: float = option(0.01, "learning rate", check=positive, group=_NET)
    optimizer: str = optimizer_option(group=_NET)
    batch: int | None = option(None, "minibatch size (default: full batch)", check=at_least(1),
                               group=_NET)
    replace: bool = option(False, "sample minibatches with replacement", group=_NET)
    l2: float = option(0.0, "L2 weight decay lambda", check=at_least(0), group=_NET)
    dropout: float = option(0.0, "dropout rate after each hidden layer",
                            check=in_range(0, 1, high_open=True), group=_NET)
    norm: str | None = norm_option(group=_NET)
    dtype: str = dtype_option(group=_NET)
    param: str = param_option(group=_NET)
    base_width: int | None = base_width_option(group=_NET)
    record_every: int | None = option(None, "steps between recorded points of the curves "
                                      "(default: about 50 points)", check=at_least(1),
                                      group=_NET)
    residual: bool = residual_option("residual MLPs: Dense(in -> W), --blocks blocks x <- x + "
                                     "B(x) of Dense-act-Dense (--norm in the branch), Dense(W "
                                     "-> out), W the one --layers size (default: the first); "
                                     "inits may be fixup, skipinit, scaled_residual, ...",
                                     group=_NET)
    blocks: int = option(4, "residual blocks, with --residual", check=at_least(1), group=_NET)

    @classmethod
    def adjust(cls, given: dict, merged: dict) -> dict:
        """``data`` alone means MNIST files; ``epochs`` alone replaces the iterations; neither
        (both None) means the default iterations."""
        if "data" in given and "dataset" not in given and not merged.get("classic"):
            merged["dataset"] = "mnist"
        if merged.get("residual") and "layers" not in given:  # a preset's or the default's
            default = {f.name: f.default for f in dataclasses.fields(cls)}["layers"]
            merged["layers"] = tuple(merged.get("layers", default))[:1]
        return one_length(cls, given, merged, "iterations")

    def check(self) -> str | None:
        return (seeds_problem(self.seed, self.seeds)
                or length_problem(self.iterations, self.epochs)
                or residual_scheme_problem(self.init, self.residual) or self._residual_problem()
                or param_problem(self.param, self.base_width, self.layers))

    def _residual_problem(self) -> str | None:
        """What --residual cannot go with (None: nothing)."""
        if not self.residual:
            return None
        if len(self.layers) != 1:
            return (f"--residual takes one --layers size, the stream's width (got "
                    f"{','.join(map(str, self.layers))}); the depth is --blocks")
        if self.dropout:
            return "a residual MLP takes no dropout: leave out --dropout"
        if self.param != "sp":
            return f"--residual takes --param sp only (got --param {self.param})"
        if any(get_initializer(s).lsuv for s in self.init):
            return "--residual does not take lsuv (it rescales plain chains of layers)"
        return None


@dataclass
class CompareRow(Result):
    """One init over all seeds (``lsuv``: per layer and seed, the rescalings and the output
    variance LSUV reached, for an ``lsuv`` init)."""

    init: str
    seeds: int
    train_accuracy: Stat
    test_accuracy: Stat
    final_loss: LossStat
    diverged: int
    loss_curves: list | None = detail()
    test_curves: list | None = detail()
    train_per_seed: list | None = detail()
    test_per_seed: list | None = detail()
    median_seed: int | None = detail()
    diverged_per_seed: list | None = detail()
    lsuv: LsuvResult | None = None


@dataclass
class CompareResult(Result):
    """Rows per init, the configuration, and (in saved files) curves and boundaries."""

    rows: list[CompareRow]
    config: dict
    iterations: list[int] | None = detail()
    boundary: Boundary | None = detail()

    def records(self) -> list[dict]:
        """One row per (init, seed): its train and test accuracy, final loss, diverged."""
        seed = self.config.get("seed", 0)
        out = []
        for r in self.rows:
            if r.test_per_seed is None:  # loaded from the public JSON: per-init rows only
                return super().records()
            losses = np.asarray(r.loss_curves, dtype=float)[:, -1]
            for s in range(r.seeds):
                ok = not (r.diverged_per_seed or [False] * r.seeds)[s]
                out.append({"init": r.init, "seed": seed + s,
                            "train_accuracy": float(r.train_per_seed[s]),
                            "test_accuracy": float(r.test_per_seed[s]),
                            "final_loss": float(losses[s]) if ok else None,
                            "diverged": not ok})
        return out

    def table(self):
        return (["init", "seeds", *SUMMARY_HEADER],
                [[r.init, r.seeds, *summary_cells(r)] for r in self.rows])

    def footnote(self) -> str:
        return ACCURACY_CI


def run_compare(inits=None, *, progress: bool = False, jobs: int | None = 1,
                config: CompareConfig | None = None, **options) -> CompareResult:
    """Train every init in ``inits`` from ``seeds`` seeds and summarize them over seeds.

    The options are :class:`CompareConfig`'s fields, with its defaults (give ``config`` or
    keywords, not both), e.g. ``run_compare(["zeros", "he"], dataset="circles", seeds=30)``:

    - ``layers``: hidden layer sizes; the input and output sizes come from the data.
    - ``seeds``: seeds per init; replica (init i, seed s) is drawn from seed ``seed + s``.
    - ``data_seed``: seed of the generated data, its split and the minibatch order.
    - ``iterations`` / ``epochs``: training length (one of them; default 1000 iterations).
    - ``batch``: minibatch size (None: full batch); ``replace`` samples with replacement.
    - ``legacy_seeds``: draw weights from ``RandomState(seed + s)`` as the course does;
      ``classic``: the course's exact circles/moons data.
    - ``dtype``: float32 (3x faster on small layers, and safe for these comparisons) or
      float64 (the course's exact recipe).
    - ``norm``: None, "batch" or "layer" between each hidden linear layer and its activation.
    - ``residual``: residual MLPs instead (``mlp(..., residual=True, blocks=blocks)``: Dense(in
      -> W), ``blocks`` Dense-act-Dense blocks, readout; ``layers`` is ``[W]``), whose inits may
      be residual schemes (``fixup``, ``skipinit``, ...; refused without ``residual``).

    ``jobs``: train the replicas in this many parallel processes, each a contiguous chunk of
    them (less time for many replicas; a short run stays in this process). The results agree
    up to the last bit of float rounding: see :mod:`initlab.experiments.replicas`. None: as
    many as cores are free, up to two (:func:`initlab.experiments.replicas.processes`).
    """
    if inits is not None:
        options["init"] = [inits] if isinstance(inits, str) else list(inits)
    return _run(config_of(CompareConfig, config, options, "run_compare"), progress, jobs)


def _run(c: CompareConfig, progress: bool, jobs: int | None) -> CompareResult:
    """:func:`run_compare` for one checked Config: one group of seeds per init."""
    inits = [get_initializer(s).spec for s in c.init]
    ds = get_dataset(c.dataset, classic=c.classic, seed=c.data_seed, n_samples=c.n_samples,
                     noise=c.noise, data=c.data, train_size=c.train_size)
    units, output = output_layer(ds.n_classes)
    sizes = [ds.n_features, *c.layers, units]
    model_kw = {"residual": True, "blocks": c.blocks} if c.residual else {}
    dt = check_float_dtype(c.dtype).type
    every = c.record_every or default_every(ds.n_train, c.iterations, c.epochs, c.batch, 50,
                                            c.replace)
    norm = check_norm(c.norm)
    if norm == "batch":  # refuse a batch of 1 here, not in a worker process
        check_batch_norm_batches(ds.n_train, c.batch if c.batch and c.batch < ds.n_train
                                 else None, c.replace)
    fit_kw = {"optimizer": c.optimizer, "lr": c.lr, "iterations": c.iterations,
              "epochs": c.epochs, "batch_size": c.batch, "replace": c.replace,
              "record_every": every, "seed": c.data_seed}
    seeds = range(c.seed, c.seed + c.seeds)
    groups = [Group(spec, seeds, norm=norm, dropout=c.dropout, l2=c.l2, legacy=c.legacy_seeds)
              for spec in inits]
    recipe = Recipe(sizes, c.activation, output, dt, fit_kw, curves="test",  # test curves only
                    model={**model_kw, "param": c.param, "base_width": c.base_width})
    trained = train_groups(groups, recipe, (ds.X_train, ds.y_train, ds.X_test, ds.y_test),
                           jobs=jobs, progress=progress, keep_models=ds.is_2d)
    rows = [_row(spec, trained.group(g), c.seed) for g, spec in enumerate(inits)]
    boundary = None
    if ds.is_2d:  # the median seed of each init
        medians = [trained.bounds(g).start + r.median_seed - c.seed for g, r in enumerate(rows)]
        parts = [compute_boundary(m, ds.X_train, ds.y_train, ds.bounds())
                 for m in trained.select(medians)]
        boundary = parts[0]
        boundary.classes = np.concatenate([np.asarray(b.classes) for b in parts])
    # the data set's own parameters first: its "seed" is data_seed, not the weights' seed
    config = {**ds.params, "dataset": ds.name, "n_train": ds.n_train, "n_test": ds.n_test,
              "sizes": sizes, "activation": c.activation, "output": output, "inits": inits,
              "seeds": c.seeds, "seed": c.seed, "data_seed": c.data_seed,
              "legacy_seeds": c.legacy_seeds,
              "optimizer": c.optimizer, "lr": c.lr, "iterations": c.iterations,
              "epochs": c.epochs, "batch": c.batch, "replace": c.replace, "l2": c.l2,
              "dropout": c.dropout, "norm": norm,
              "residual": c.residual, "blocks": c.blocks if c.residual else None,
              "jobs": jobs, "processes": trained.processes,  # asked for (None: auto), used
              "dtype": np.dtype(dt).name, "record_every": every,
              # the data's own "seed" is data_seed above; "seed" stays the first weight seed
              **{k: v for k, v in ds.params.items() if k != "seed"}}
    return CompareResult(rows=rows, config=config, iterations=trained.iterations,
                         boundary=boundary)


def _row(spec: str, part, seed: int) -> CompareRow:
    """One init's row from its replicas (``part``: :class:`~initlab.experiments.replicas.
    Replicas`, in the order of the seeds ``seed``, ``seed + 1``, ...)."""
    order = np.argsort(part.test, kind="stable")
    return CompareRow(init=spec, seeds=len(part.test), **summarize_group(part),
                      loss_curves=part.loss, test_curves=part.test_curves,
                      train_per_seed=part.train, test_per_seed=part.test,
                      median_seed=seed + int(order[(len(part.test) - 1) // 2]),
                      diverged_per_seed=[bool(d) for d in part.diverged], lsuv=part.lsuv)


def estimate(config: CompareConfig):
    """Memory and time of training every (init, seed) replica, from the sizes."""
    from initlab.data import expected_size
    from initlab.runtime.budget import mlp_training, steps_of

    c = config
    n_train, n_test, features, classes = expected_size(c.dataset, c.n_samples, c.train_size,
                                                       c.data)
    if c.classic:
        n_train, n_test = 300, 100
    hidden = [c.layers[0]] * (2 * c.blocks + 1) if c.residual else list(c.layers)
    sizes = [features, *hidden, 1 if classes == 2 else classes]  # every Dense layer's width
    steps = steps_of(n_train, c.iterations, c.epochs, c.batch)
    replicas = len(c.init) * c.seeds
    itemsize = np.dtype(c.dtype).itemsize
    return mlp_training(sizes, replicas, n_train, n_test, c.batch, steps, 50, itemsize,
                        what=f"training {replicas} nets of sizes {sizes} for {steps} steps")


def figures(result: CompareResult) -> dict:
    """The loss curves, the accuracies, and for 2-D data the median seeds' boundaries."""
    from initlab.plots.compare import accuracy_figure, boundary_figure, loss_figure

    figs = {"loss": loss_figure(result), "accuracy": accuracy_figure(result)}
    if result.boundary is not None:
        figs["boundaries"] = boundary_figure(result)
    return figs


EXPERIMENT = Experiment(name="compare", config=CompareConfig, run=run_compare,
                        figures=figures, estimate=estimate, jobs=True)
