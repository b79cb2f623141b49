"""The overfitting study: a deep net on a small training set, with and without regularization.

After *Deep Learning from Scratch* (Saito, O'Reilly Japan 2016, ch. 6.4: a deep net on 300
MNIST images, weight decay, dropout as in Srivastava et al., JMLR 2014), made general: the
same net trained from the same seeds four ways,
none / L2(lambda) / dropout(rate) / both, each variant as S replicas of one model. The result
holds train and test accuracy curves per variant and the final train-test gap over seeds.
Regularization works when it narrows the gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from initlab.errors import check_float_dtype
from initlab.experiments.common import get_dataset, output_layer, record_every
from initlab.experiments.config import Config, at_least, option, positive, seed_check, valid
from initlab.experiments.registry import Experiment
from initlab.experiments.replicas import Group, Recipe, summarize_group, train_groups
from initlab.experiments.shared_options import (
    activation_option,
    base_width_option,
    config_of,
    data_means_mnist,
    data_path_option,
    dataset_option,
    dtype_option,
    length_problem,
    norm_option,
    one_length,
    optimizer_option,
    param_option,
    param_problem,
    seeds_problem,
)
from initlab.init import get_initializer
from initlab.lsuv import LsuvResult
from initlab.nn.norm import check_norm
from initlab.results import Result, detail
from initlab.statistics import ACCURACY_CI, Stat, summarize

_DATA, _NET = "data", "network and training"


def _open_unit(value) -> str | None:
    return None if 0 < value < 1 else "must lie in (0, 1)"


@dataclass(frozen=True)
class RegularizeConfig(Config):
    """Every option of ``initlab regularize`` (and of :func:`run_regularize`)."""

    dataset: str = dataset_option("digits", group=_DATA)
    data: Path | None = data_path_option(group=_DATA)
    train_size: int | None = option(300, "training examples (the subset the net overfits)",
                                    check=at_least(1), group=_DATA)
    n_samples: int | None = option(None, "examples of a generated data set (train and test)",
                                   check=at_least(1), group=_DATA)
    noise: float | None = option(None, "noise of a generated 2-D data set", check=at_least(0),
                                 group=_DATA)
    data_seed: int = option(0, "seed of the data subset and the minibatch order",
                            check=seed_check, group=_DATA)
    layers: tuple[int, ...] = option((100, 100, 100, 100, 100), "hidden layer sizes",
                                     check=at_least(1), group=_NET, metavar="N1,N2,...")
    activation: str = activation_option("relu", group=_NET)
    init: str = option("he", "init spec of every variant", check=valid(get_initializer),
                       group=_NET, metavar="SPEC")
    l2: float = option(0.01, "L2 weight decay lambda of the l2 and both variants",
                       check=positive, group=_NET)
    dropout: float = option(0.2, "dropout rate after each hidden layer of the dropout and "
                            "both variants", check=_open_unit, group=_NET)
    dropout_mode: str = option("inverted", "inverted, or the non-inverted form that scales "
                               "at test time", choices=("inverted", "scaled_at_test"),
                               group=_NET)
    norm: str | None = norm_option(group=_NET)
    seeds: int = option(5, "seeds per variant", check=at_least(1), group=_NET)
    seed: int = option(0, "first weight seed; the seeds are seed, seed+1, ...",
                       check=seed_check, group=_NET)
    optimizer: str = optimizer_option(group=_NET)
    lr: float = option(0.1, "learning rate", check=positive, group=_NET)
    batch: int | None = option(128, "minibatch size", check=at_least(1), group=_NET)
    epochs: int | None = option(200, "passes over the data", check=at_least(1), group=_NET)
    iterations: int | None = option(None, "training steps, instead of --epochs",
                                    check=at_least(1), group=_NET)
    dtype: str = dtype_option(group=_NET)
    param: str = param_option(group=_NET)
    base_width: int | None = base_width_option(group=_NET)

    @classmethod
    def adjust(cls, given: dict, merged: dict) -> dict:
        """``data`` with the digits data set means MNIST files (as ``--data`` always has);
        ``iterations`` alone replace the epochs; neither (both None) means the default
        epochs."""
        return one_length(cls, given, data_means_mnist(merged), "epochs")

    def check(self) -> str | None:
        return seeds_problem(self.seed, self.seeds) or length_problem(
            self.iterations, self.epochs) or param_problem(self.param, self.base_width,
                                                           self.layers)


@dataclass
class VariantRow(Result):
    """One regularization variant over all seeds (``lsuv``: what LSUV did, for an ``lsuv``
    init; rescaled on the first ``batch`` training examples)."""

    variant: str
    l2: float
    dropout: float
    seeds: int
    train_accuracy: Stat
    test_accuracy: Stat
    gap: Stat
    train_curves: list | None = detail()
    test_curves: list | None = detail()
    lsuv: LsuvResult | None = None


@dataclass
class RegularizeResult(Result):
    """Rows per variant and the configuration; curves in saved files."""

    rows: list[VariantRow]
    config: dict
    iterations: list[int] | None = detail()

    def table(self):
        header = ["variant", "l2", "dropout", "train acc", "test acc", "gap", "+-95%"]
        return header, [[r.variant, r.l2, r.dropout, r.train_accuracy.mean, r.test_accuracy.mean,
                         r.gap.mean, r.gap.ci95] for r in self.rows]

    def footnote(self) -> str:
        return ("+-95%: Student-t half-width of the gap over seeds. " + ACCURACY_CI
                + " (in results.json)")


def variants(l2: float, dropout: float) -> list[tuple[str, float, float]]:
    """(name, l2, dropout) of the four variants."""
    return [("none", 0.0, 0.0), (f"l2({l2:g})", l2, 0.0), (f"dropout({dropout:g})", 0.0, dropout),
            ("both", l2, dropout)]


def run_regularize(*, progress: bool = False, jobs: int | None = 1,
                   config: RegularizeConfig | None = None, **options) -> RegularizeResult:
    """Train the four variants from ``seeds`` seeds each on a ``train_size`` subset.

    The options are :class:`RegularizeConfig`'s fields, with its defaults (give ``config`` or
    keywords, not both), e.g. ``run_regularize(seeds=3, epochs=50)``. Dropout follows each
    hidden activation; L2 adds (lambda / 2) sum W^2 over the weights (not over normalization
    parameters). ``norm``: None, "batch" or "layer" between each hidden linear layer and its
    activation, in every variant. ``dtype``: float32 (default, as ``compare`` and
    ``normalize`` train) or float64. ``iterations`` replace the epochs.

    ``jobs``: train the variants in this many processes, each variant whole in one of them
    (the same numbers; see :func:`initlab.experiments.replicas.processes`).
    """
    return _run(config_of(RegularizeConfig, config, options, "run_regularize"), progress, jobs)


def _run(c: RegularizeConfig, progress: bool, jobs: int | None) -> RegularizeResult:
    """:func:`run_regularize` for one checked Config: one group of seeds per variant."""
    plan = variants(c.l2, c.dropout)
    dt = check_float_dtype(c.dtype)
    ds = get_dataset(c.dataset, seed=c.data_seed, n_samples=c.n_samples, noise=c.noise,
                     data=c.data, train_size=c.train_size)
    units, output = output_layer(ds.n_classes)
    sizes = [ds.n_features, *c.layers, units]
    every = record_every(ds.n_train, c.iterations, c.epochs, c.batch, 40)
    fit_kw = {"optimizer": c.optimizer, "lr": c.lr, "iterations": c.iterations,
              "epochs": c.epochs, "batch_size": c.batch, "record_every": every,
              "seed": c.data_seed}
    seeds = range(c.seed, c.seed + c.seeds)
    groups = [Group(c.init, seeds, norm=c.norm, dropout=rate, l2=lam) for _, lam, rate in plan]
    recipe = Recipe(sizes, c.activation, output, dt.type, fit_kw,
                    model={"dropout_mode": c.dropout_mode, "param": c.param,
                           "base_width": c.base_width})
    trained = train_groups(groups, recipe, (ds.X_train, ds.y_train, ds.X_test, ds.y_test),
                           jobs=jobs, progress=progress)
    rows = []
    for g, (name, lam, rate) in enumerate(plan):
        part = trained.group(g)
        stats = summarize_group(part)
        rows.append(VariantRow(
            variant=name, l2=lam, dropout=rate, seeds=c.seeds,
            train_accuracy=stats["train_accuracy"], test_accuracy=stats["test_accuracy"],
            gap=summarize(part.train - part.test), train_curves=part.train_curves,
            test_curves=part.test_curves, lsuv=part.lsuv))
    config = {"dataset": ds.name, "n_train": ds.n_train, "n_test": ds.n_test, "sizes": sizes,
              "activation": c.activation, "init": c.init, "output": output, "l2": c.l2,
              "dropout": c.dropout, "dropout_mode": c.dropout_mode, "norm": check_norm(c.norm),
              "dtype": dt.name,
              "seeds": c.seeds, "seed": c.seed,
              "data_seed": c.data_seed,
              "optimizer": c.optimizer, "lr": c.lr, "batch": c.batch, "epochs": c.epochs,
              "iterations": c.iterations, "record_every": every}
    return RegularizeResult(rows=rows, config=config, iterations=trained.iterations)


def estimate(config: RegularizeConfig):
    """Memory and time of the four variants' training, from the sizes."""
    from initlab.data import expected_size
    from initlab.runtime.budget import Estimate, mlp_training, steps_of

    c = config
    n_train, n_test, features, classes = expected_size(c.dataset, c.n_samples, c.train_size)
    sizes = [features, *c.layers, 1 if classes == 2 else classes]
    steps = steps_of(n_train, c.iterations, c.epochs, c.batch)
    one = mlp_training(sizes, c.seeds, n_train, n_test, c.batch, steps, 40,
                       itemsize=np.dtype(c.dtype).itemsize)
    return Estimate(one.memory, 4 * one.seconds,
                    f"training 4 x {c.seeds} nets of sizes {sizes} for {steps} steps")


def figures(result: RegularizeResult) -> dict:
    """The train and test accuracy curves of every variant."""
    from initlab.plots.regularize import curves_figure

    return {"curves": curves_figure(result)}


EXPERIMENT = Experiment(name="regularize", config=RegularizeConfig, run=run_regularize,
                        figures=figures, estimate=estimate, jobs=True)
