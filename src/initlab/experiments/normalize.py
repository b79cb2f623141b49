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

import numpy as np

from initlab.errors import InitlabError, check_float_dtype, check_positive_int
from initlab.experiments.common import (
    ACCURACY_CI,
    LossStat,
    Stat,
    format_interval,
    get_dataset,
    output_layer,
    summarize,
    summarize_accuracy,
)
from initlab.nn.model import mlp
from initlab.nn.norm import check_eps, check_momentum, check_norm
from initlab.results import Result, detail
from initlab.train import accuracy, check_batch_norm_batches, fit
from initlab.workers import run_tasks

#: The book's 16 weight scales: np.logspace(0, -4, num=16).
SCALES = [float(s) for s in np.logspace(0, -4, num=16)]


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
        header = ["scale", "norm", "train acc", "95% CI", "test acc", "95% CI", "final loss",
                  "diverged"]
        return header, [[r.scale, r.norm, r.train_accuracy.mean, format_interval(r.train_accuracy),
                         r.test_accuracy.mean, format_interval(r.test_accuracy), r.final_loss.mean,
                         r.diverged] for r in self.rows]

    def footnote(self) -> str:
        return ACCURACY_CI


def _norms(norms) -> list[str]:
    """The variants to train: always ``none`` first, then each requested norm once."""
    items = [norms] if isinstance(norms, str) else list(norms)
    if isinstance(norms, str) and "," in norms:
        items = [s.strip() for s in norms.split(",")]
    out = ["none"]
    for n in items:
        name = check_norm(n) or "none"
        if name not in out:
            out.append(name)
    return out


def _scales(scales) -> list[float]:
    values = SCALES if scales is None else [float(s) for s in scales]
    if not values or not all(np.isfinite(v) and v > 0 for v in values):
        raise InitlabError(f"weight scales must be finite numbers > 0, got {scales!r}")
    return values


def _train_variant(variant, sizes, activation, inits, output, seeds, dtype, momentum, eps,
                   X, y, X_test, y_test, fit_kw):
    """Train one variant's (scale, seed) replicas; return final train and test accuracy (R,),
    train accuracy curves (R, epochs + 1), diverged flags (R,) and the final training loss
    (R,) (run in a worker process when ``jobs`` > 1)."""
    model = mlp(sizes, activation=activation, init=inits, output=output, seed=seeds,
                dtype=dtype, norm=None if variant == "none" else variant, momentum=momentum,
                eps=eps)
    history = fit(model, X, y, **fit_kw)
    train, test = accuracy(model, X, y), accuracy(model, X_test, y_test)
    diverged = np.array([d is not None for d in history.diverged_at])
    # fit's final loss: the whole training set in evaluation mode, NaN where diverged
    return train, test, history.train_accuracy, diverged, history.final_loss


def run_normalize(*, dataset: str = "digits", data=None, train_size: int | None = 1000,
                  layers=(100, 100, 100, 100, 100), activation: str = "relu", scales=None,
                  norms=("batch",), seeds: int = 3, seed: int = 0, data_seed: int = 0,
                  optimizer: str = "sgd", lr: float = 0.01, batch: int = 100,
                  epochs: int = 20, momentum: float = 0.1, eps: float = 1e-5,
                  threshold: float | None = None, dtype: str = "float32", jobs: int = 1,
                  progress: bool = False) -> NormalizeResult:
    """Train every weight scale with and without normalization from ``seeds`` seeds each.

    Args:
        dataset, data, train_size: the data (digits by default; ``mnist`` with ``data``, the
            path of its files) and the training subset's size (1000, as the book).
        layers, activation: hidden sizes and activation (5 x 100 ReLU).
        scales: weight stds (default :data:`SCALES`, 1 down to 1e-4); norms: the normalized
            variants beside ``none``: ``batch``, ``layer`` or both.
        seeds, seed: replica k of every scale is drawn from seed ``seed + k``.
        optimizer, lr, batch, epochs: training (SGD 0.01, batches of 100, 20 epochs).
        momentum, eps: BatchNorm's running-statistics momentum and both norms' eps.
        threshold: mean final train accuracy from which a scale counts as training.
        dtype: float32 (default) or float64.
        jobs: train the variants in this many parallel processes (same results).
    """
    variants, grid = _norms(norms), _scales(scales)
    n_seeds = check_positive_int(seeds, "seeds")
    check_positive_int(epochs, "epochs")
    check_positive_int(batch, "batch")
    momentum, eps = check_momentum(momentum), check_eps(eps)
    dt = check_float_dtype(dtype)
    ds = get_dataset(dataset, seed=data_seed, data=data, train_size=train_size)
    units, output = output_layer(ds.n_classes)
    chance = 1.0 / ds.n_classes
    if threshold is None:
        threshold = (1.0 + chance) / 2
    elif not 0 <= threshold <= 1:
        raise InitlabError(f"threshold must lie in [0, 1], got {threshold!r}")
    sizes = [ds.n_features, *layers, units]
    if "batch" in variants:  # refuse a batch of 1 here, not in a worker process
        check_batch_norm_batches(ds.n_train, batch if batch < ds.n_train else None, False)
    X, Xt = ds.X_train.astype(dt), ds.X_test.astype(dt)
    inits = [f"normal({s!r})" for s in grid for _ in range(n_seeds)]
    replica_seeds = [seed + k for _ in grid for k in range(n_seeds)]
    start = time.perf_counter()
    work = [(variant, sizes, activation, inits, output, replica_seeds, dt.type, momentum, eps,
             X, ds.y_train, Xt, ds.y_test,
             {"optimizer": optimizer, "lr": lr, "epochs": epochs, "batch_size": batch,
              "record_every": -(-ds.n_train // batch), "seed": data_seed,
              "progress": progress and k == 0}) for k, variant in enumerate(variants)]
    n_jobs = min(check_positive_int(jobs, "jobs"), len(work))
    outs = [None] * len(work)
    for k, out in run_tasks(_train_variant, work, n_jobs):
        outs[k] = out
    rows = []
    for variant, (train, test, train_curves, diverged, loss) in zip(
            variants, outs, strict=True):
        for i, scale in enumerate(grid):
            idx = slice(i * n_seeds, (i + 1) * n_seeds)
            final = summarize(loss[idx])
            rows.append(NormRow(
                scale=scale, norm=variant, seeds=n_seeds,
                train_accuracy=summarize_accuracy(train[idx]),
                test_accuracy=summarize_accuracy(test[idx]),
                final_loss=LossStat(final.mean, final.std),
                diverged=int(diverged[idx].sum()), train_curves=train_curves[idx]))
    config = {"dataset": ds.name, "n_train": ds.n_train, "n_test": ds.n_test, "sizes": sizes,
              "activation": activation, "output": output, "scales": grid, "norms": variants,
              "seeds": n_seeds, "seed": seed, "data_seed": data_seed, "optimizer": optimizer,
              "lr": lr, "batch": batch, "epochs": epochs, "momentum": momentum, "eps": eps,
              "bias": "zeros", "dtype": dt.name, "jobs": jobs, "chance": chance,
              "threshold": threshold,
              "seconds": round(time.perf_counter() - start, 2), **ds.params}
    return NormalizeResult(rows=rows, config=config, epochs=list(range(epochs + 1)))
