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

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from initlab.data import Dataset, classic_dataset, load_dataset
from initlab.errors import InitlabError, check_positive_int, check_seed
from initlab.experiments.boundary import Boundary, compute_boundary
from initlab.init import get_initializer
from initlab.nn.model import mlp
from initlab.results import Result, detail
from initlab.train import accuracy, fit
from initlab.workers import run_tasks

PRESETS = {
    "coursera": {  # REFERENCES.md section 1, over seeds (legacy RandomState(3), (4), ...)
        "dataset": "circles", "layers": [10, 5], "activation": "relu",
        "inits": ["zeros", "normal(10)", "he"], "optimizer": "sgd", "lr": 0.01,
        "iterations": 15000, "batch": None, "seed": 3, "legacy_seeds": True, "classic": True,
        "dtype": "float64",
    },
    "saito": {  # REFERENCES.md section 2's companion training experiment
        "dataset": "digits", "layers": [100, 100, 100, 100], "activation": "relu",
        "inits": ["normal(0.01)", "lecun", "he"], "optimizer": "sgd", "lr": 0.01,
        "iterations": 2000, "batch": 128, "replace": True,
    },
}


@dataclass
class Stat(Result):
    """Mean, standard deviation (ddof 1) and a 95% confidence interval over seeds.

    ``ci95`` is the Student-t half-width (for unbounded quantities such as a loss or a gap);
    ``low``/``high`` bound the interval itself (for accuracies: the Wilson interval of
    :func:`summarize_accuracy`, which stays inside [0, 1], and ``ci95`` is None).
    """

    mean: float | None
    std: float | None
    ci95: float | None
    low: float | None = None
    high: float | None = None


@dataclass
class LossStat(Result):
    """Mean and standard deviation of the final loss over the runs that did not diverge."""

    mean: float | None
    std: float | None


#: How accuracy intervals are computed, as printed under the tables.
ACCURACY_CI = ("95% intervals of accuracies: Wilson score interval with the seeds' effective "
               "sample size p(1-p)/Var(mean) and Student t (S-1 df); inside [0, 1]")


def _finite(values) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    return v[np.isfinite(v)]


def summarize(values) -> Stat:
    """:class:`Stat` of the finite ``values``: mean, std (ddof 1), t-interval half-width.

    Equal values give an exact 0 std (no rounding residue such as 1e-17).
    """
    v = _finite(values)
    if v.size == 0:
        return Stat(None, None, None)
    if v.size == 1 or np.ptp(v) == 0:
        return Stat(float(v[0]), 0.0, None if v.size == 1 else 0.0)
    std = float(v.std(ddof=1))
    half = stats.t.ppf(0.975, v.size - 1) * std / math.sqrt(v.size)
    mean = float(v.mean())
    return Stat(mean, std, float(half), mean - float(half), mean + float(half))


def summarize_accuracy(values) -> Stat:
    """:class:`Stat` of accuracies over S seeds with a 95% interval that stays in [0, 1].

    Wilson's score interval (Wilson 1927) for the mean accuracy p, with the effective sample
    size n = p (1 - p) / Var(mean) of the seeds (Kish's design effect: the seeds' spread, not
    the test set's size, sets the uncertainty) and the Student t quantile t = t_{0.975, S-1}
    in place of z: centre (p + t^2 / 2n) / (1 + t^2 / n), half-width
    t / (1 + t^2 / n) * sqrt(p (1 - p) / n + t^2 / 4n^2). Seeds that all agree give the point.
    """
    base = summarize(values)
    v = _finite(values)
    if v.size < 2:
        return base
    p = base.mean
    if base.std == 0 or p <= 0 or p >= 1:
        return Stat(p, base.std, None, p, p)
    n = p * (1 - p) / (base.std**2 / v.size)
    t = float(stats.t.ppf(0.975, v.size - 1))
    centre = (p + t * t / (2 * n)) / (1 + t * t / n)
    half = t / (1 + t * t / n) * math.sqrt(p * (1 - p) / n + t * t / (4 * n * n))
    return Stat(p, base.std, None, max(0.0, centre - half), min(1.0, centre + half))


def interval(stat: Stat) -> str:
    """``[low, high]`` of a stat for tables, or "-" without one."""
    if stat.low is None:
        return "-"
    return f"[{stat.low:.4g}, {stat.high:.4g}]"


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
        header = ["init", "seeds", "train acc", "95% CI", "test acc", "95% CI", "final loss",
                  "diverged"]
        return header, [[r.init, r.seeds, r.train_accuracy.mean, interval(r.train_accuracy),
                         r.test_accuracy.mean, interval(r.test_accuracy), r.final_loss.mean,
                         r.diverged] for r in self.rows]

    def footnote(self) -> str:
        return ACCURACY_CI


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


def _train_chunk(inits, seeds, sizes, activation, output, dropout, dtype, ds, fit_kw):
    """Build and train the replicas ``inits``/``seeds``; return the model, history and the
    final train and test accuracies (run in a worker process when the replicas are split)."""
    model = mlp(sizes, activation=activation, init=inits, output=output, dropout=dropout,
                replicas=len(inits), seed=seeds, dtype=dtype)
    X, Xt = ds.X_train.astype(dtype), ds.X_test.astype(dtype)
    history = fit(model, X, ds.y_train, X_test=Xt, y_test=ds.y_test, **fit_kw)
    return model, history, accuracy(model, X, ds.y_train), accuracy(model, Xt, ds.y_test)


def _train(inits, seeds, jobs: int, progress: bool, *args):
    """Train all replicas, split into ``jobs`` contiguous chunks trained in parallel processes.

    Replicas are independent, so the split changes nothing but the time. Returns the per-chunk
    models with their replica offsets, and the merged loss, test curves, diverged_at and
    accuracies.
    """
    R = len(inits)
    n_chunks = max(1, min(jobs, R // 2))  # a chunk of one replica is not worth a process
    bounds = np.linspace(0, R, n_chunks + 1).astype(int)
    work = [(inits[a:b], seeds[a:b], *args[:-1], {**args[-1], "progress": progress and k == 0})
            for k, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False))]
    outs = [None] * n_chunks
    for k, out in run_tasks(_train_chunk, work, n_chunks):
        outs[k] = out
    history = outs[0][1]
    merged = {
        "loss": np.concatenate([np.asarray(o[1].loss, dtype=float) for o in outs]),
        "test_curves": None if history.test_accuracy is None else np.concatenate(
            [np.asarray(o[1].test_accuracy, dtype=float) for o in outs]),
        "diverged_at": [d for o in outs for d in o[1].diverged_at],
        "train": np.concatenate([o[2] for o in outs]),
        "test": np.concatenate([o[3] for o in outs]),
        "iterations": list(history.iterations),
    }
    return [(o[0], int(a)) for o, a in zip(outs, bounds, strict=False)], merged


def _select(chunks, replicas: list[int]):
    """One-replica models of the given global replica indices, from the trained chunks."""
    picked = []
    for g in replicas:
        model, start = next((m, s) for m, s in reversed(chunks) if s <= g)
        picked.append(model.select([g - start]))
    return picked


def run_compare(inits, *, dataset: str = "moons", layers=(10, 5), activation: str = "relu",
                seeds: int = 10, seed: int = 0, data_seed: int = 0, iterations: int | None = None,
                epochs: int | None = None, lr: float = 0.01, optimizer: str = "sgd",
                batch: int | None = None, replace: bool = False, l2: float = 0.0,
                dropout: float = 0.0, record_every: int | None = None,
                n_samples: int | None = None, noise: float | None = None, data=None,
                train_size: int | None = None, dtype: str = "float32",
                legacy_seeds: bool = False, classic: bool = False, jobs: int = 1,
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
        dtype: float32 (default: 3x faster on small layers, and safe for these comparisons)
            or float64 (the course's exact recipe).
        jobs: train the replicas in this many parallel processes (same results, less time
            for many replicas; each process costs about a second to start).
    """
    inits = [get_initializer(s).spec for s in inits]
    if not inits:
        raise InitlabError("give at least one init spec")
    n_seeds = check_positive_int(seeds, "seeds")
    check_seed(seed, "seed", n_seeds)
    check_seed(data_seed, "data_seed")
    if iterations is None and epochs is None:
        iterations = 1000
    data_kw = {"n_samples": n_samples, "noise": noise, "data": data, "train_size": train_size}
    ds = get_dataset(dataset, classic=classic, seed=data_seed, **data_kw)
    units, output = output_layer(ds.n_classes)
    sizes = [ds.n_features, *layers, units]
    dt = np.dtype(dtype).type
    if dt not in (np.float32, np.float64):
        raise InitlabError(f"dtype must be float32 or float64, got {dtype!r}")
    if iterations is not None:
        length = iterations
    else:
        length = epochs * math.ceil(ds.n_train / (batch or ds.n_train))
    every = record_every or max(1, length // 50)
    fit_kw = {"optimizer": optimizer, "lr": lr, "iterations": iterations, "epochs": epochs,
              "batch_size": batch, "replace": replace, "l2": l2, "record_every": every,
              "seed": data_seed, "record_accuracy": True}
    chunks, out = _train([s for s in inits for _ in range(n_seeds)],
                         replica_seeds(seed, n_seeds, len(inits), legacy_seeds),
                         check_positive_int(jobs, "jobs"), progress,
                         sizes, activation, output, dropout, dt, ds, fit_kw)
    loss, test_curves, train, test = out["loss"], out["test_curves"], out["train"], out["test"]
    rows, medians = [], []
    for i, spec in enumerate(inits):
        idx = slice(i * n_seeds, (i + 1) * n_seeds)
        diverged = [d is not None for d in out["diverged_at"][idx]]
        final = np.where(diverged, np.nan, loss[idx, -1])
        order = np.argsort(test[idx], kind="stable")
        median = int(order[(n_seeds - 1) // 2])
        medians.append(i * n_seeds + median)
        rows.append(CompareRow(
            init=spec, seeds=n_seeds, train_accuracy=summarize_accuracy(train[idx]),
            test_accuracy=summarize_accuracy(test[idx]),
            final_loss=LossStat(summarize(final).mean, summarize(final).std),
            diverged=int(sum(diverged)), loss_curves=loss[idx],
            test_curves=None if test_curves is None else test_curves[idx],
            train_per_seed=train[idx], test_per_seed=test[idx], median_seed=seed + median))
    boundary = None
    if ds.is_2d:
        lim = float(np.ceil(np.abs(ds.bounds(0.2)).max() * 2) / 2)
        parts = [compute_boundary(m, ds.X_train, ds.y_train, lim=lim)
                 for m in _select(chunks, medians)]
        boundary = parts[0]
        boundary.classes = np.concatenate([np.asarray(b.classes) for b in parts])
    # the data set's own parameters first: its "seed" is data_seed, not the weights' seed
    config = {**ds.params, "dataset": ds.name, "n_train": ds.n_train, "n_test": ds.n_test,
              "sizes": sizes, "activation": activation, "output": output, "inits": inits,
              "seeds": n_seeds, "seed": seed, "data_seed": data_seed,
              "legacy_seeds": legacy_seeds,
              "optimizer": optimizer, "lr": lr, "iterations": iterations, "epochs": epochs,
              "batch": batch, "replace": replace, "l2": l2, "dropout": dropout, "jobs": jobs,
              "dtype": np.dtype(dt).name, "record_every": every}
    return CompareResult(rows=rows, config=config, iterations=out["iterations"],
                         boundary=boundary)
