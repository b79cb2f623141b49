"""Compare initializations across many seeds, all trained together as replicas of one model.

Every (init, seed) pair is one replica of a single model, so "3 inits x 30 seeds" is one
vectorized run. Seed ``s`` draws the weights of every init (common random numbers: the inits
differ only in their formula); the data and the minibatch order come from ``data_seed``, the
same for every replica, so seeds vary the weights and nothing else. Each init's row
reports mean, std and a 95% Student-t confidence interval of its accuracies over seeds, its
final loss, and how many of its runs diverged. Diverged runs stay in the accuracy statistics
with whatever their frozen weights predict, and are counted in ``diverged``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from initlab.data import Dataset, classic_dataset, load_dataset
from initlab.errors import InitlabError, check_positive_int
from initlab.experiments.boundary import Boundary, compute_boundary
from initlab.init import get_initializer
from initlab.nn.model import mlp
from initlab.results import Result, detail
from initlab.train import accuracy, fit

PRESETS = {
    "coursera": {  # REFERENCES.md section 1, over seeds (legacy RandomState(3), (4), ...)
        "dataset": "circles", "layers": [10, 5], "activation": "relu",
        "inits": ["zeros", "normal(10)", "he"], "optimizer": "sgd", "lr": 0.01,
        "iterations": 15000, "batch": None, "seed": 3, "legacy_seeds": True, "classic": True,
    },
    "saito": {  # REFERENCES.md section 2's companion training experiment
        "dataset": "digits", "layers": [100, 100, 100, 100], "activation": "relu",
        "inits": ["normal(0.01)", "lecun", "he"], "optimizer": "sgd", "lr": 0.01,
        "iterations": 2000, "batch": 128, "replace": True,
    },
}


@dataclass
class Stat(Result):
    """Mean, standard deviation (ddof 1) and 95% confidence half-width over seeds."""

    mean: float | None
    std: float | None
    ci95: float | None


@dataclass
class LossStat(Result):
    """Mean and standard deviation of the final loss over the runs that did not diverge."""

    mean: float | None
    std: float | None


def summarize(values) -> Stat:
    """:class:`Stat` of the finite ``values``: mean, std (ddof 1), t-interval half-width."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return Stat(None, None, None)
    if v.size == 1:
        return Stat(float(v[0]), 0.0, None)
    std = float(v.std(ddof=1))
    half = stats.t.ppf(0.975, v.size - 1) * std / math.sqrt(v.size)
    return Stat(float(v.mean()), std, float(half))


@dataclass
class CompareRow(Result):
    """One init over all seeds."""

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


@dataclass
class CompareResult(Result):
    """Rows per init, the configuration, and (in saved files) curves and boundaries."""

    rows: list[CompareRow]
    config: dict
    iterations: list[int] | None = detail()
    boundary: Boundary | None = detail()

    def table(self):
        header = ["init", "seeds", "train acc", "+-95%", "test acc", "+-95%", "final loss",
                  "diverged"]
        return header, [[r.init, r.seeds, r.train_accuracy.mean, r.train_accuracy.ci95,
                         r.test_accuracy.mean, r.test_accuracy.ci95, r.final_loss.mean,
                         r.diverged] for r in self.rows]


def get_dataset(dataset: str, *, classic: bool = False, seed: int = 0, **kwargs) -> Dataset:
    """The course's exact circles/moons when ``classic``, else :func:`load_dataset`."""
    if classic:
        extra = {k: v for k, v in kwargs.items() if v is not None}
        if extra:
            raise InitlabError(f"the course's fixed data sets take no {', '.join(extra)}")
        return classic_dataset(dataset)
    return load_dataset(dataset, seed=seed, **kwargs)


def output_layer(n_classes: int) -> tuple[int, str]:
    """(units, output) of the last layer: one sigmoid unit for 2 classes, else softmax."""
    return (1, "sigmoid") if n_classes == 2 else (n_classes, "softmax")


def replica_seeds(seed: int, n_seeds: int, n_inits: int, legacy: bool) -> list:
    """Seeds of the replicas (init-major): seed + s for every init, as ints or legacy
    ``RandomState`` streams (the course's reseeding)."""
    if legacy:
        return [np.random.RandomState(seed + s) for _ in range(n_inits) for s in range(n_seeds)]
    return [seed + s for _ in range(n_inits) for s in range(n_seeds)]


def run_compare(inits, *, dataset: str = "moons", layers=(10, 5), activation: str = "relu",
                seeds: int = 10, seed: int = 0, data_seed: int = 0, iterations: int | None = None,
                epochs: int | None = None, lr: float = 0.01, optimizer: str = "sgd",
                batch: int | None = None, replace: bool = False, l2: float = 0.0,
                dropout: float = 0.0, record_every: int | None = None,
                n_samples: int | None = None, noise: float | None = None, data=None,
                train_size: int | None = None, dtype: str = "float64",
                legacy_seeds: bool = False, classic: bool = False,
                progress: bool = False) -> CompareResult:
    """Train every init in ``inits`` from ``seeds`` seeds and summarize them over seeds.

    Args:
        inits: init spec strings, e.g. ``["zeros", "normal(10)", "he"]``.
        layers: hidden layer sizes; the input and output sizes come from the data.
        seeds: seeds per init; replica (init i, seed s) is drawn from seed ``seed + s``.
        data_seed: seed of the generated data, its split and the minibatch order.
        iterations / epochs: training length (one of them; default 1000 iterations).
        batch: minibatch size (None: full batch); ``replace`` samples with replacement.
        legacy_seeds: draw weights from ``RandomState(seed + s)`` as the course does.
        classic: use the course's exact circles/moons data.
    """
    inits = [get_initializer(s).spec for s in inits]
    if not inits:
        raise InitlabError("give at least one init spec")
    n_seeds = check_positive_int(seeds, "seeds")
    if iterations is None and epochs is None:
        iterations = 1000
    data_kw = {"n_samples": n_samples, "noise": noise, "data": data, "train_size": train_size}
    ds = get_dataset(dataset, classic=classic, seed=data_seed, **data_kw)
    units, output = output_layer(ds.n_classes)
    sizes = [ds.n_features, *layers, units]
    dt = np.dtype(dtype).type
    model = mlp(sizes, activation=activation, init=[s for s in inits for _ in range(n_seeds)],
                output=output, dropout=dropout, replicas=len(inits) * n_seeds,
                seed=replica_seeds(seed, n_seeds, len(inits), legacy_seeds), dtype=dt)
    if iterations is not None:
        length = iterations
    else:
        length = epochs * math.ceil(ds.n_train / (batch or ds.n_train))
    every = record_every or max(1, length // 50)
    history = fit(model, ds.X_train.astype(dt), ds.y_train, optimizer=optimizer, lr=lr,
                  iterations=iterations, epochs=epochs, batch_size=batch, replace=replace,
                  l2=l2, record_every=every, X_test=ds.X_test.astype(dt), y_test=ds.y_test,
                  seed=data_seed, progress=progress, record_accuracy=True)
    train = accuracy(model, ds.X_train.astype(dt), ds.y_train)
    test = accuracy(model, ds.X_test.astype(dt), ds.y_test)
    loss = np.asarray(history.loss, dtype=float)
    test_curves = (np.asarray(history.test_accuracy, dtype=float)
                   if history.test_accuracy is not None else None)
    rows, medians = [], []
    for i, spec in enumerate(inits):
        idx = slice(i * n_seeds, (i + 1) * n_seeds)
        diverged = [d is not None for d in history.diverged_at[idx]]
        final = np.where(diverged, np.nan, loss[idx, -1])
        order = np.argsort(test[idx], kind="stable")
        median = int(order[(n_seeds - 1) // 2])
        medians.append(i * n_seeds + median)
        rows.append(CompareRow(
            init=spec, seeds=n_seeds, train_accuracy=summarize(train[idx]),
            test_accuracy=summarize(test[idx]),
            final_loss=LossStat(summarize(final).mean, summarize(final).std),
            diverged=int(sum(diverged)), loss_curves=loss[idx],
            test_curves=None if test_curves is None else test_curves[idx],
            train_per_seed=train[idx], test_per_seed=test[idx], median_seed=seed + median))
    boundary = None
    if ds.is_2d:
        lim = float(np.ceil(np.abs(ds.bounds(0.2)).max() * 2) / 2)
        boundary = compute_boundary(model.select(medians), ds.X_train, ds.y_train, lim=lim)
    config = {"dataset": ds.name, "n_train": ds.n_train, "n_test": ds.n_test,
              "sizes": sizes, "activation": activation, "output": output, "inits": inits,
              "seeds": n_seeds, "seed": seed, "data_seed": data_seed,
              "legacy_seeds": legacy_seeds,
              "optimizer": optimizer, "lr": lr, "iterations": iterations, "epochs": epochs,
              "batch": batch, "replace": replace, "l2": l2, "dropout": dropout,
              "dtype": np.dtype(dt).name, "record_every": every, **ds.params}
    return CompareResult(rows=rows, config=config, iterations=list(history.iterations),
                         boundary=boundary)
