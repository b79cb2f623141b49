"""Learning-rate transfer: does the best learning rate stay put as the net widens?

After Yang et al. 2022 ("Tensor Programs V", Fig. 1 and 3): the training loss after a fixed
number of steps against the learning rate, one curve per width, under SP and muP. Under SP
with Adam the optimum moves to smaller rates as the net widens; under muP it stays, so a
rate tuned at the base width transfers. Every (parametrization, optimizer, width) is one model
of R = learning rates x seeds replicas trained together (each replica with its own rate; the
replicas of one seed share their initial weights and every replica the minibatch order).

Per width: the optimum (argmin of the mean final loss over seeds) with the range of the
seeds' own argmins as its uncertainty, and a steadier statistic, the smallest learning rate
whose loss falls below ``threshold`` (interpolated on log lr between grid points, geometric
mean over seeds): the argmin is quantized by the grid and flat near the optimum, the
threshold rate moves smoothly. Drift: the ratio of each statistic at the widest to the
narrowest width; "within the noise" when the two widths' seed ranges overlap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from initlab.errors import check_float_dtype
from initlab.experiments.common import get_dataset, output_layer
from initlab.experiments.config import Config, at_least, option, positive, seed_check, valid
from initlab.experiments.registry import Experiment
from initlab.experiments.replicas import processes, run_work
from initlab.experiments.shared_options import (
    activation_option,
    base_width_option,
    config_of,
    data_means_mnist,
    data_path_option,
    dataset_option,
    dtype_option,
    params_option,
    seeds_problem,
    widths_problem,
)
from initlab.init import get_initializer
from initlab.nn.model import mlp
from initlab.optim import get_optimizer
from initlab.results import Result
from initlab.runtime.workers import run_tasks
from initlab.train import fit

_NET, _TRAIN = "network", "training"
OPTIMIZERS = ("adam", "sgd")


@dataclass(frozen=True)
class TransferConfig(Config):
    """Every option of ``initlab width transfer`` (and of :func:`run_transfer`)."""

    dataset: str = dataset_option("digits", group=_TRAIN)
    data: Path | None = data_path_option(group=_TRAIN)
    train_size: int | None = option(None, "training examples (default: all)",
                                    check=at_least(1), group=_TRAIN)
    widths: tuple[int, ...] = option((64, 128, 256, 512, 1024), "widths (hidden sizes)",
                                     check=at_least(1), group=_NET, metavar="N1,N2,...")
    base_width: int | None = base_width_option(group=_NET)
    params: tuple[str, ...] = params_option(("sp", "mup"), group=_NET)
    depth: int = option(2, "hidden layers of the MLP", check=at_least(1), group=_NET)
    activation: str = activation_option("relu", group=_NET)
    init: str = option("he", "init spec of the SP net (muP and NTK rescale it)",
                       check=valid(get_initializer), group=_NET, metavar="SPEC")
    optimizers: tuple[str, ...] = option(OPTIMIZERS, "adam, sgd or both", choices=OPTIMIZERS,
                                         group=_TRAIN, metavar="O1,O2")
    adam_lrs: tuple[float, ...] = option(tuple(2.0**k for k in range(-14, -4)),
                                         "Adam's learning-rate grid", check=positive,
                                         group=_TRAIN, metavar="LR1,LR2,...")
    sgd_lrs: tuple[float, ...] = option(tuple(2.0**k for k in range(-6, 1)),
                                        "SGD's learning-rate grid", check=positive,
                                        group=_TRAIN, metavar="LR1,LR2,...")
    steps: int = option(100, "training steps", check=at_least(1), group=_TRAIN)
    batch: int = option(32, "minibatch size", check=at_least(1), group=_TRAIN)
    seeds: int = option(3, "seeds per learning rate", check=at_least(1), group=_TRAIN)
    seed: int = option(0, "first seed (weights); the minibatch order uses data_seed",
                       check=seed_check, group=_TRAIN)
    data_seed: int = option(0, "seed of the minibatch order", check=seed_check, group=_TRAIN)
    threshold: float = option(0.3, "training loss that the threshold rate must reach",
                              check=positive, group=_TRAIN)
    dtype: str = dtype_option(group=_TRAIN)

    @classmethod
    def adjust(cls, given: dict, merged: dict) -> dict:
        """``data`` with the digits data set means MNIST files (as ``--data`` always has)."""
        return data_means_mnist(merged)

    def check(self) -> str | None:
        for name in ("adam_lrs", "sgd_lrs"):
            if len(set(getattr(self, name))) < 2:
                return f"'{name}' needs at least two distinct learning rates"
        return seeds_problem(self.seed, self.seeds) or widths_problem(self.widths,
                                                                      self.base_width)


@dataclass
class RunRow(Result):
    """One trained net: its parametrization, optimizer, width, rate and seed."""

    param: str
    optimizer: str
    width: int
    lr: float
    seed: int
    final_loss: float | None
    diverged: bool


@dataclass
class OptimumRow(Result):
    """The best rate at one width: argmin of the mean loss over seeds (``lr``), the range of
    the seeds' own argmins (``lr_low``, ``lr_high``), the mean loss there, and the threshold
    rate (geometric mean over seeds; None where it is off the grid for a seed: see
    :func:`threshold_rate`)."""

    param: str
    optimizer: str
    width: int
    lr: float
    lr_low: float
    lr_high: float
    loss: float | None
    threshold_lr: float | None


@dataclass
class DriftRow(Result):
    """From the narrowest to the widest width: the factor the optimum moved by, whether it is
    within the noise (the seed ranges overlap), and the factor of the threshold rate."""

    param: str
    optimizer: str
    factor: float
    within_noise: bool
    threshold_factor: float | None


@dataclass
class TransferResult(Result):
    runs: list[RunRow]
    optimum: list[OptimumRow]
    drift: list[DriftRow]
    config: dict

    def table(self):
        header = ["param", "optimizer", "width", "best lr", "seed range", "loss there",
                  "threshold lr"]
        return header, [[o.param, o.optimizer, o.width, o.lr, f"{o.lr_low:.3g}..{o.lr_high:.3g}",
                         o.loss, o.threshold_lr] for o in self.optimum]

    def footnote(self) -> str:
        return "\n".join(
            f"{d.param}, {d.optimizer}: the optimum moves x{d.factor:.3g} from width "
            f"{min(self.config['widths'])} to {max(self.config['widths'])}"
            f"{' (within the noise)' if d.within_noise else ''}; the threshold rate x"
            f"{'n/a' if d.threshold_factor is None else format(d.threshold_factor, '.3g')}"
            for d in self.drift)


def _train(c: TransferConfig, param: str, optimizer: str, width: int, data, progress: bool):
    """Final losses (lrs, seeds) of one model of len(lrs) x seeds replicas."""
    X, y, n_in, units, output = data
    lrs = getattr(c, f"{optimizer}_lrs")
    seeds = list(range(c.seed, c.seed + c.seeds))
    model = mlp([n_in, *[width] * c.depth, units], activation=c.activation, init=c.init,
                output=output, seed=seeds * len(lrs), dtype=check_float_dtype(c.dtype),
                param=param, base_width=c.base_width or min(c.widths))
    rates = np.repeat(np.asarray(lrs, dtype=float), len(seeds))
    history = fit(model, X, y, optimizer=get_optimizer(optimizer, rates), iterations=c.steps,
                  batch_size=c.batch, seed=c.data_seed, record_every=c.steps,
                  progress=progress)
    return history.final_loss.reshape(len(lrs), len(seeds))


def run_transfer(*, progress: bool = False, jobs: int | None = 1,
                 config: TransferConfig | None = None, **options) -> TransferResult:
    """The learning-rate sweep per width (:class:`TransferConfig`'s fields as keywords, or
    ``config``); ``jobs`` processes share the (param, optimizer, width) models."""
    c = config_of(TransferConfig, config, options, "run_transfer")
    ds = get_dataset(c.dataset, seed=c.data_seed, data=c.data, train_size=c.train_size)
    units, output = output_layer(ds.n_classes)
    dt = check_float_dtype(c.dtype)
    data = (ds.X_train.astype(dt), ds.y_train, ds.n_features, units, output)
    keys = [(p, o, w) for p in c.params for o in c.optimizers
            for w in sorted(c.widths, reverse=True)]  # the widest first: they take longest
    tasks = [(c, p, o, w, data, progress and k == 0) for k, (p, o, w) in enumerate(keys)]
    losses = {}
    work = sum(run_work([ds.n_features, *[w] * c.depth, units],
                        len(getattr(c, f"{o}_lrs")) * c.seeds, ds.n_train,
                        {"iterations": c.steps, "batch_size": c.batch})
               for _, o, w in keys)
    for k, out in run_tasks(_train, tasks, processes(jobs, work, 2 * len(tasks))):
        losses[keys[k]] = out
    runs = [RunRow(p, o, w, lr, seed, float(losses[p, o, w][i, j]),
                   not math.isfinite(losses[p, o, w][i, j]))
            for p in c.params for o in c.optimizers for w in sorted(c.widths)
            for i, lr in enumerate(getattr(c, f"{o}_lrs"))
            for j, seed in enumerate(range(c.seed, c.seed + c.seeds))]
    optimum, drift = summarize(c, losses)
    config = {**c.to_dict(), "dataset": ds.name, "n_train": ds.n_train,
              "base_width": c.base_width or min(c.widths)}
    return TransferResult(runs=runs, optimum=optimum, drift=drift, config=config)


def threshold_rate(lrs: np.ndarray, loss: np.ndarray, threshold: float) -> float | None:
    """The smallest rate of ascending ``lrs`` at which ``loss`` (NaN: diverged) falls below
    ``threshold``, interpolated linearly in (log lr, log loss) from the rate before it; None
    when it is not on the grid: no rate reaches the threshold, or already the smallest does
    (then the rate lies somewhere below the grid)."""
    below = np.flatnonzero(np.nan_to_num(loss, nan=np.inf) < threshold)
    if below.size == 0 or below[0] == 0:
        return None
    i = int(below[0])
    if not np.isfinite(loss[i - 1]):
        return float(lrs[i])
    a, b = math.log(loss[i - 1]), math.log(loss[i])
    frac = (a - math.log(threshold)) / (a - b)
    return float(math.exp(math.log(lrs[i - 1]) + frac * math.log(lrs[i] / lrs[i - 1])))


def _optimum(c: TransferConfig, p: str, o: str, w: int, loss: np.ndarray) -> OptimumRow:
    """The optimum at one width from its final losses (lrs, seeds)."""
    lrs = np.asarray(getattr(c, f"{o}_lrs"), dtype=float)
    order = np.argsort(lrs)
    lrs, loss = lrs[order], np.where(np.isfinite(loss[order]), loss[order], np.inf)
    mean = loss.mean(axis=1)
    best = int(np.argmin(mean))
    own = lrs[np.argmin(loss, axis=0)]
    rates = [threshold_rate(lrs, np.where(np.isinf(col), np.nan, col), c.threshold)
             for col in loss.T]
    thr = None if None in rates else float(np.exp(np.mean(np.log(rates))))
    return OptimumRow(p, o, w, float(lrs[best]), float(own.min()), float(own.max()),
                      float(mean[best]) if np.isfinite(mean[best]) else None, thr)


def summarize(c: TransferConfig, losses: dict) -> tuple[list[OptimumRow], list[DriftRow]]:
    """The optimum per (param, optimizer, width) and the drift per (param, optimizer)."""
    optimum, drift = [], []
    lo, hi = min(c.widths), max(c.widths)
    for p in c.params:
        for o in c.optimizers:
            rows = {w: _optimum(c, p, o, w, losses[p, o, w]) for w in sorted(c.widths)}
            optimum += rows.values()
            a, b = rows[lo], rows[hi]
            overlap = a.lr_low <= b.lr_high and b.lr_low <= a.lr_high
            thr = (None if a.threshold_lr is None or b.threshold_lr is None
                   else b.threshold_lr / a.threshold_lr)
            drift.append(DriftRow(p, o, b.lr / a.lr, overlap, thr))
    return optimum, drift


def estimate(config: TransferConfig):
    """Memory and time of every (param, optimizer, width) model's training."""
    from initlab.data import expected_size
    from initlab.runtime.budget import Estimate, mlp_training

    c = config
    n_train, _, features, classes = expected_size(c.dataset, None, c.train_size)
    memory = seconds = 0.0
    for o in c.optimizers:
        r = len(getattr(c, f"{o}_lrs")) * c.seeds
        for w in c.widths:
            one = mlp_training([features, *[w] * c.depth, classes], r, n_train, 0, c.batch,
                               c.steps, 1, itemsize=np.dtype(c.dtype).itemsize)
            memory, seconds = max(memory, one.memory), seconds + one.seconds
    return Estimate(memory, seconds * len(c.params),
                    f"the learning-rate sweep of {len(c.params)} x {len(c.optimizers)} x "
                    f"{len(c.widths)} models")


def figures(result: TransferResult) -> dict:
    """Final loss against learning rate, one curve per width, per (param, optimizer)."""
    from initlab.plots.width import transfer_figure

    return {"transfer": transfer_figure(result)}


EXPERIMENT = Experiment(name="width-transfer", config=TransferConfig, run=run_transfer,
                        figures=figures, estimate=estimate, jobs=True)
