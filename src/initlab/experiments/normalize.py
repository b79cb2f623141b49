"""Normalization forgives a bad weight scale: a grid of scales trained with and without it.

The protocol of Deep Learning from Scratch (Saito 2016, section 6.3.2, the Batch Normalization
experiment): 5 hidden layers of 100 ReLU units, every weight (the output layer's too) drawn
from N(0, std^2) for 16 std values spaced logarithmically from 1 down to 1e-4, biases zero,
1000 training examples, SGD with learning rate 0.01, minibatches of 100, 20 epochs; each
scale trained without normalization and with BatchNorm (Ioffe & Szegedy 2015) between every
hidden linear layer and its ReLU (optionally LayerNorm too, Ba et al. 2016).

Replicas: one model per variant holds every (scale, seed) pair, scale-major, so the whole
grid of a variant is one vectorized run. Seed ``seed + k`` draws the weights of every scale
(common random numbers: the scales differ only in their std), and every replica and variant
sees the same data subset and minibatch order (from ``data_seed``).

Train accuracy is recorded in evaluation mode (BatchNorm on its running statistics) after
every epoch, test accuracy after training; the final loss is the mean training loss in
evaluation mode after training. A scale "trains" when its mean final training accuracy is at
least ``threshold`` (default: halfway from chance, 1 / classes, to 1).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from initlab.errors import InitlabError, check_float_dtype
from initlab.experiments.common import get_dataset, output_layer
from initlab.experiments.config import (
    Config,
    at_least,
    in_range,
    nonempty,
    option,
    positive,
    seed_check,
    valid,
)
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
    data_means_mnist,
    data_path_option,
    dataset_option,
    dtype_option,
    optimizer_option,
    param_option,
    param_problem,
    seeds_problem,
)
from initlab.nn.norm import check_eps, check_momentum, check_norm
from initlab.results import Result, detail
from initlab.statistics import ACCURACY_CI, LossStat, Stat
from initlab.train import check_batch_norm_batches

#: The book's 16 weight scales: np.logspace(0, -4, num=16).
SCALES = [float(s) for s in np.logspace(0, -4, num=16)]


_DATA, _NET = "data", "network and training"


@dataclass(frozen=True)
class NormalizeConfig(Config):
    """Every option of ``initlab normalize`` (and of :func:`run_normalize`)."""

    dataset: str = dataset_option("digits", group=_DATA)
    data: Path | None = data_path_option(group=_DATA)
    train_size: int | None = option(1000, "training examples", check=at_least(1), group=_DATA)
    data_seed: int = option(0, "seed of the data subset and the minibatch order",
                            check=seed_check, group=_DATA)
    norm: tuple[str, ...] = option(("batch",), "normalized variants trained beside 'none': "
                                   "batch, layer, or batch,layer",
                                   check=lambda v: nonempty(v) or valid(check_norm)(v),
                                   group=_NET, metavar="NORM[,NORM]")
    scales: tuple[float, ...] | None = option(None, "weight stds (default: the book's 16 "
                                              "values from 1 down to 1e-4)", check=positive,
                                              group=_NET, metavar="S1,S2,...")
    layers: tuple[int, ...] = option((100, 100, 100, 100, 100), "hidden layer sizes",
                                     check=at_least(1), group=_NET, metavar="N1,N2,...")
    activation: str = activation_option("relu", group=_NET)
    seeds: int = option(3, "seeds per scale", check=at_least(1), group=_NET)
    seed: int = option(0, "first weight seed; the seeds are seed, seed+1, ...",
                       check=seed_check, group=_NET)
    optimizer: str = optimizer_option(group=_NET)
    lr: float = option(0.01, "learning rate", check=positive, group=_NET)
    batch: int = option(100, "minibatch size", check=at_least(1), group=_NET)
    epochs: int = option(20, "passes over the data", check=at_least(1), group=_NET)
    momentum: float = option(0.1, "BatchNorm's running-statistics momentum, in [0, 1]",
                             check=valid(check_momentum), group=_NET)
    eps: float = option(1e-5, "the normalizations' eps, > 0", check=valid(check_eps),
                        group=_NET)
    threshold: float | None = option(None, "mean final train accuracy from which a scale "
                                     "trains (default: halfway from chance to 1)",
                                     check=in_range(0, 1), group=_NET)
    dtype: str = dtype_option(group=_NET)
    param: str = param_option(group=_NET)
    base_width: int | None = base_width_option(group=_NET)

    @classmethod
    def adjust(cls, given: dict, merged: dict) -> dict:
        """``data`` with the digits data set means MNIST files (as ``--data`` always has)."""
        return data_means_mnist(merged)

    def check(self) -> str | None:
        return seeds_problem(self.seed, self.seeds) or param_problem(self.param,
                                                                     self.base_width, self.layers)


@dataclass
class NormRow(Result):
    """One (scale, norm) cell over all seeds; in saved files the train accuracy of each seed
    after every epoch, (S, epochs + 1) (epoch 0: before training)."""

    scale: float
    norm: str
    seeds: int
    train_accuracy: Stat
    test_accuracy: Stat
    final_loss: LossStat
    diverged: int
    train_curves: list | None = detail()


@dataclass
class NormalizeResult(Result):
    """Rows scale-major within each norm (``none`` first), the configuration and the epochs."""

    rows: list[NormRow]
    config: dict
    epochs: list[int] | None = detail()

    @property
    def norms(self) -> list[str]:
        return list(dict.fromkeys(r.norm for r in self.rows))

    def rows_of(self, norm: str) -> list[NormRow]:
        """The rows of one variant, in scale order."""
        rows = [r for r in self.rows if r.norm == norm]
        if not rows:
            raise InitlabError(f"no rows for norm {norm!r}; this result has {self.norms}")
        return rows

    def training_scales(self, norm: str) -> list[float]:
        """The scales whose mean final train accuracy reaches the result's threshold."""
        limit = self.config["threshold"]
        return [r.scale for r in self.rows_of(norm)
                if r.train_accuracy.mean is not None and r.train_accuracy.mean >= limit]

    def table(self):
        return (["scale", "norm", *SUMMARY_HEADER],
                [[r.scale, r.norm, *summary_cells(r)] for r in self.rows])

    def verdict(self) -> list[str]:
        """One line per variant: how many scales train, and which."""
        n, lines = len(self.config["scales"]), []
        for norm in self.norms:
            ok = self.training_scales(norm)
            which = ", ".join(f"{s:.3g}" for s in ok) if ok else "none"
            lines.append(f"{norm}: {len(ok)} of {n} scales train (mean train accuracy >= "
                         f"{self.config['threshold']:.2f}): {which}")
        return lines

    def footnote(self) -> str:
        return ACCURACY_CI + "\n\n" + "\n".join(self.verdict())


def _norms(norms) -> list[str]:
    """The variants to train: always ``none`` first, then each requested norm once."""
    out = ["none"]
    for n in norms:
        name = check_norm(n) or "none"
        if name not in out:
            out.append(name)
    return out


def run_normalize(*, progress: bool = False, jobs: int | None = 1,
                  config: NormalizeConfig | None = None, **options) -> NormalizeResult:
    """Train every weight scale with and without normalization from ``seeds`` seeds each.

    The options are :class:`NormalizeConfig`'s fields, with its defaults (give ``config`` or
    keywords, not both; ``norms`` is a name for ``norm``), e.g.
    ``run_normalize(seeds=3, norms="batch,layer")``:

    - ``dataset``, ``data``, ``train_size``: the data (digits by default; ``mnist`` with
      ``data``, the path of its files) and the training subset's size (1000, as the book).
    - ``layers``, ``activation``: hidden sizes and activation (5 x 100 ReLU).
    - ``scales``: weight stds (default :data:`SCALES`, 1 down to 1e-4); ``norm``: the
      normalized variants beside ``none``: ``batch``, ``layer`` or both.
    - ``seeds``, ``seed``: replica k of every scale is drawn from seed ``seed + k``.
    - ``optimizer``, ``lr``, ``batch``, ``epochs``: training (SGD 0.01, batches of 100, 20
      epochs); ``momentum``, ``eps``: BatchNorm's running-statistics momentum and both
      norms' eps.
    - ``threshold``: mean final train accuracy from which a scale counts as training.

    ``jobs``: train the variants in this many processes, each variant whole in one of them
    (the same numbers; see :func:`initlab.experiments.replicas.processes`).
    """
    if "norms" in options:
        options["norm"] = options.pop("norms")
    return _run(config_of(NormalizeConfig, config, options, "run_normalize"), progress, jobs)


def _run(c: NormalizeConfig, progress: bool, jobs: int | None) -> NormalizeResult:
    """:func:`run_normalize` for one checked Config: one group per (variant, scale)."""
    variants, grid = _norms(c.norm), list(c.scales or SCALES)
    dt = check_float_dtype(c.dtype)
    ds = get_dataset(c.dataset, seed=c.data_seed, data=c.data, train_size=c.train_size)
    units, output = output_layer(ds.n_classes)
    chance = 1.0 / ds.n_classes
    threshold = (1.0 + chance) / 2 if c.threshold is None else c.threshold
    sizes = [ds.n_features, *c.layers, units]
    if "batch" in variants:  # refuse a batch of 1 here, not in a worker process
        check_batch_norm_batches(ds.n_train, c.batch if c.batch < ds.n_train else None, False)
    start = time.perf_counter()
    fit_kw = {"optimizer": c.optimizer, "lr": c.lr, "epochs": c.epochs, "batch_size": c.batch,
              "record_every": -(-ds.n_train // c.batch), "seed": c.data_seed}
    seeds = range(c.seed, c.seed + c.seeds)
    groups = [Group(f"normal({s!r})", seeds, norm=None if v == "none" else v)
              for v in variants for s in grid]
    recipe = Recipe(sizes, c.activation, output, dt.type, fit_kw, curves="train",
                    model={"momentum": c.momentum, "eps": c.eps, "param": c.param,
                           "base_width": c.base_width})
    trained = train_groups(groups, recipe, (ds.X_train, ds.y_train, ds.X_test, ds.y_test),
                           jobs=jobs, progress=progress)
    rows = []
    for g, group in enumerate(groups):
        part = trained.group(g)
        rows.append(NormRow(scale=grid[g % len(grid)], norm=group.norm or "none",
                            seeds=c.seeds, **summarize_group(part),
                            train_curves=part.train_curves))
    config = {"dataset": ds.name, "n_train": ds.n_train, "n_test": ds.n_test, "sizes": sizes,
              "activation": c.activation, "output": output, "scales": grid, "norms": variants,
              "seeds": c.seeds, "seed": c.seed, "data_seed": c.data_seed,
              "optimizer": c.optimizer, "lr": c.lr, "batch": c.batch, "epochs": c.epochs,
              "momentum": c.momentum, "eps": c.eps, "bias": "zeros", "dtype": dt.name,
              "jobs": jobs, "chance": chance, "threshold": threshold,
              "seconds": round(time.perf_counter() - start, 2), **ds.params}
    return NormalizeResult(rows=rows, config=config, epochs=list(range(c.epochs + 1)))


def estimate(config: NormalizeConfig):
    """Memory and time of training every (scale, seed) of every variant, from the sizes."""
    from initlab.data import expected_size
    from initlab.runtime.budget import Estimate, mlp_training, steps_of

    c = config
    n_train, n_test, features, classes = expected_size(c.dataset, None, c.train_size)
    sizes = [features, *c.layers, classes]
    variants = len(_norms(c.norm))
    replicas = len(c.scales or SCALES) * c.seeds
    steps = steps_of(n_train, None, c.epochs, c.batch)
    one = mlp_training(sizes, replicas, n_train, n_test, c.batch, steps, c.epochs + 1,
                       itemsize=np.dtype(c.dtype).itemsize)
    return Estimate(one.memory, variants * one.seconds,
                    f"training {variants} x {replicas} nets of sizes {sizes} for {steps} steps")


def figures(result: NormalizeResult) -> dict:
    """The train accuracy curves per scale and the final accuracies against the scale."""
    from initlab.plots.normalize import figures as make_figures

    return make_figures(result)


EXPERIMENT = Experiment(name="normalize", config=NormalizeConfig, run=run_normalize,
                        figures=figures, estimate=estimate, jobs=True)
