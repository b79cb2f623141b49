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

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from initlab.budget import free_cores
from initlab.errors import MAX_SEED, InitlabError, check_float_dtype, check_positive_int
from initlab.experiments.boundary import Boundary, compute_boundary
from initlab.experiments.common import (  # noqa: F401  (Stat, summarize: public here too)
    ACCURACY_CI,
    LossStat,
    Stat,
    format_interval,
    get_dataset,
    output_layer,
    summarize,
    summarize_accuracy,
)
from initlab.experiments.common import record_every as default_every
from initlab.experiments.config import (
    Config,
    activation_option,
    at_least,
    data_path_option,
    dataset_option,
    dtype_option,
    in_range,
    inits_option,
    norm_option,
    optimizer_option,
    option,
    positive,
    seed_check,
)
from initlab.experiments.registry import Experiment
from initlab.init import get_initializer
from initlab.lsuv import LsuvResult, lsuv_from_inits
from initlab.nn.model import mlp
from initlab.nn.norm import check_norm
from initlab.results import Result, detail
from initlab.train import accuracy, check_batch_norm_batches, fit, schedule
from initlab.workers import run_tasks

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
    record_every: int | None = option(None, "steps between recorded points of the curves "
                                      "(default: about 50 points)", check=at_least(1),
                                      group=_NET)

    @classmethod
    def adjust(cls, given: dict, merged: dict) -> dict:
        """``data`` alone means MNIST files; ``epochs`` alone replaces the iterations; neither
        (both None) means the default iterations."""
        if "data" in given and "dataset" not in given and not merged.get("classic"):
            merged["dataset"] = "mnist"
        if "epochs" in given and "iterations" not in given:
            merged["iterations"] = None
        if merged.get("iterations") is None and merged.get("epochs") is None:
            merged["iterations"] = cls.__dataclass_fields__["iterations"].default
        return merged

    def check(self) -> str | None:
        if self.seed + self.seeds - 1 > MAX_SEED:
            return (f"the seeds {self.seed}..{self.seed + self.seeds - 1} pass the largest "
                    f"seed, {MAX_SEED}: lower seed or seeds")
        if (self.iterations is None) == (self.epochs is None):
            return (f"give iterations or epochs, one of them (got iterations={self.iterations}, "
                    f"epochs={self.epochs})")
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
        header = ["init", "seeds", "train acc", "95% CI", "test acc", "95% CI", "final loss",
                  "diverged"]
        return header, [[r.init, r.seeds, r.train_accuracy.mean, format_interval(r.train_accuracy),
                         r.test_accuracy.mean, format_interval(r.test_accuracy), r.final_loss.mean,
                         r.diverged] for r in self.rows]

    def footnote(self) -> str:
        return ACCURACY_CI


def replica_seeds(seed: int, n_seeds: int, n_inits: int, legacy: bool) -> list:
    """Seeds of the replicas (init-major): seed + s for every init, as ints or legacy
    ``RandomState`` streams (the course's reseeding)."""
    if legacy:
        return [np.random.RandomState(seed + s) for _ in range(n_inits) for s in range(n_seeds)]
    return [seed + s for _ in range(n_inits) for s in range(n_seeds)]


def _train_chunk(inits, seeds, sizes, activation, output, dropout, norm, dtype, ds,
                 fit_kw):
    """Build and train the replicas ``inits``/``seeds``; return the model, history, the
    final train and test accuracies and what LSUV did (run in a worker process when the
    replicas are split). LSUV replicas are rescaled on the first ``batch`` training examples
    (all of them for full-batch training)."""
    model = mlp(sizes, activation=activation, init=inits, output=output, dropout=dropout,
                replicas=len(inits), seed=seeds, dtype=dtype, norm=norm)
    X, Xt = ds.X_train.astype(dtype), ds.X_test.astype(dtype)
    done = lsuv_from_inits(model, X[:fit_kw["batch_size"] or len(X)])
    history = fit(model, X, ds.y_train, X_test=Xt, y_test=ds.y_test, **fit_kw)
    return (model, history, accuracy(model, X, ds.y_train), accuracy(model, Xt, ds.y_test),
            done)


#: Work of a whole run below which :func:`run_compare` trains every replica in its own process
#: whatever ``jobs`` says: multiply-adds plus ten per activation value (the elementwise
#: passes), per example, layer, step and replica. A worker process spends about 0.3 s
#: starting and importing before it trains, so a second one pays off from about half a second
#: of training: on the 2-core machine this was measured on, 60 [2, 10, 5, 1] nets on 300
#: examples took 0.75 s in one process and 0.77 s in two for 500 steps (2.1e9), 1.2 s and
#: 1.0 s for 1000 steps, 2.7 s and 1.9 s for 3000.
PROCESS_WORK = 3e9
#: Processes that ``jobs=None`` (the command line's default) trains in, when as many cores
#: are free.
AUTO_JOBS = 2


def run_work(sizes, replicas: int, n_train: int, fit_kw: dict) -> float:
    """The work of a run in :data:`PROCESS_WORK`'s units."""
    steps, batch = schedule(n_train, fit_kw["iterations"], fit_kw["epochs"],
                            fit_kw["batch_size"], fit_kw["replace"])
    per_example = sum(a * b + 10 * b for a, b in zip(sizes, sizes[1:], strict=False))
    return float(steps) * replicas * (batch or n_train) * per_example


def _train(inits, seeds, jobs: int | None, progress: bool, *args):
    """Train all replicas, split into ``jobs`` contiguous chunks trained in parallel processes
    (one process for a run under :data:`PROCESS_WORK`; ``None``: two, or as many cores as
    :func:`~initlab.budget.free_cores` finds idle if fewer).

    Replicas are independent, so the split changes nothing but the time. Returns the per-chunk
    models with their replica offsets, and the merged loss, test curves, diverged_at and
    accuracies.
    """
    R = len(inits)
    sizes, ds, fit_kw = args[0], args[6], args[-1]
    if run_work(sizes, R, ds.n_train, fit_kw) < PROCESS_WORK:
        jobs = 1
    elif jobs is None:  # processes beyond the cores other tasks leave free would only wait
        jobs = min(AUTO_JOBS, free_cores())
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
        "final_loss": np.concatenate([o[1].final_loss for o in outs]),
        "train": np.concatenate([o[2] for o in outs]),
        "test": np.concatenate([o[3] for o in outs]),
        "iterations": list(history.iterations),
        "lsuv": [(o[4], int(a)) for o, a in zip(outs, bounds, strict=False) if o[4] is not None],
        "processes": n_chunks,
    }
    return [(o[0], int(a)) for o, a in zip(outs, bounds, strict=False)], merged


def _lsuv_of(parts, lo: int, hi: int, seed: int) -> LsuvResult | None:
    """The LSUV columns of global replicas lo..hi-1 (one init), labelled by their seeds."""
    picked = [(p, [k for k, r in enumerate(p.replicas) if lo <= r + start < hi], start)
              for p, start in parts]
    picked = [(p.columns(k), start) for p, k, start in picked if k]
    if not picked:
        return None
    return LsuvResult([seed + r + start - lo for p, start in picked for r in p.replicas],
                      np.concatenate([p.iterations for p, _ in picked], axis=1),
                      np.concatenate([p.variance for p, _ in picked], axis=1))


def _select(chunks, replicas: list[int]):
    """One-replica models of the given global replica indices, from the trained chunks."""
    picked = []
    for g in replicas:
        model, start = next((m, s) for m, s in reversed(chunks) if s <= g)
        picked.append(model.select([g - start]))
    return picked


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

    ``jobs``: train the replicas in this many parallel processes (same results, less time for
    many replicas; each process costs about 0.3 s to start, so a run under
    :data:`PROCESS_WORK` stays in this process). None: :data:`AUTO_JOBS`, or as many as
    :func:`~initlab.budget.free_cores` finds cores no other task is using.
    """
    if config is None:
        if inits is not None:
            options["init"] = [inits] if isinstance(inits, str) else list(inits)
        config = CompareConfig.from_dict(options, source="run_compare")
    elif options or inits is not None:
        raise InitlabError("give run_compare a config or keyword options, not both")
    return _run(config, progress, jobs)


def _run(c: CompareConfig, progress: bool, jobs: int | None) -> CompareResult:
    """:func:`run_compare` for one checked Config."""
    inits = [get_initializer(s).spec for s in c.init]
    n_seeds, seed, data_seed, batch, replace = c.seeds, c.seed, c.data_seed, c.batch, c.replace
    data_kw = {"n_samples": c.n_samples, "noise": c.noise, "data": c.data,
               "train_size": c.train_size}
    ds = get_dataset(c.dataset, classic=c.classic, seed=data_seed, **data_kw)
    units, output = output_layer(ds.n_classes)
    sizes = [ds.n_features, *c.layers, units]
    dt = check_float_dtype(c.dtype).type
    every = c.record_every or default_every(ds.n_train, c.iterations, c.epochs, batch, 50,
                                            replace)
    norm = check_norm(c.norm)
    if norm == "batch":  # refuse a batch of 1 here, not in a worker process
        check_batch_norm_batches(ds.n_train, batch if batch and batch < ds.n_train else None,
                                 replace)
    fit_kw = {"optimizer": c.optimizer, "lr": c.lr, "iterations": c.iterations,
              "epochs": c.epochs, "batch_size": batch, "replace": replace, "l2": c.l2,
              "record_every": every, "seed": data_seed,
              "record_accuracy": "test"}  # only test curves are kept
    chunks, out = _train([s for s in inits for _ in range(n_seeds)],
                         replica_seeds(seed, n_seeds, len(inits), c.legacy_seeds),
                         None if jobs is None else check_positive_int(jobs, "jobs"), progress,
                         sizes, c.activation, output, c.dropout, norm, dt, ds, fit_kw)
    loss, test_curves, train, test = out["loss"], out["test_curves"], out["train"], out["test"]
    rows, medians = [], []
    for i, spec in enumerate(inits):
        idx = slice(i * n_seeds, (i + 1) * n_seeds)
        diverged = [d is not None for d in out["diverged_at"][idx]]
        final = np.where(diverged, np.nan, out["final_loss"][idx])
        order = np.argsort(test[idx], kind="stable")
        median = int(order[(n_seeds - 1) // 2])
        medians.append(i * n_seeds + median)
        rows.append(CompareRow(
            init=spec, seeds=n_seeds, train_accuracy=summarize_accuracy(train[idx]),
            test_accuracy=summarize_accuracy(test[idx]),
            final_loss=LossStat(summarize(final).mean, summarize(final).std),
            diverged=int(sum(diverged)), loss_curves=loss[idx],
            test_curves=None if test_curves is None else test_curves[idx],
            train_per_seed=train[idx], test_per_seed=test[idx], median_seed=seed + median,
            diverged_per_seed=diverged, lsuv=_lsuv_of(out["lsuv"], idx.start, idx.stop, seed)))
    boundary = None
    if ds.is_2d:
        parts = [compute_boundary(m, ds.X_train, ds.y_train, ds.bounds())
                 for m in _select(chunks, medians)]
        boundary = parts[0]
        boundary.classes = np.concatenate([np.asarray(b.classes) for b in parts])
    # the data set's own parameters first: its "seed" is data_seed, not the weights' seed
    config = {**ds.params, "dataset": ds.name, "n_train": ds.n_train, "n_test": ds.n_test,
              "sizes": sizes, "activation": c.activation, "output": output, "inits": inits,
              "seeds": n_seeds, "seed": seed, "data_seed": data_seed,
              "legacy_seeds": c.legacy_seeds,
              "optimizer": c.optimizer, "lr": c.lr, "iterations": c.iterations,
              "epochs": c.epochs, "batch": batch, "replace": replace, "l2": c.l2,
              "dropout": c.dropout, "norm": norm,
              "jobs": jobs, "processes": out["processes"],  # asked for (None: auto), used
              "dtype": np.dtype(dt).name, "record_every": every,
              # the data's own "seed" is data_seed above; "seed" stays the first weight seed
              **{k: v for k, v in ds.params.items() if k != "seed"}}
    return CompareResult(rows=rows, config=config, iterations=out["iterations"],
                         boundary=boundary)


def estimate(config: CompareConfig):
    """Memory and time of training every (init, seed) replica, from the sizes."""
    from initlab.budget import mlp_training, steps_of
    from initlab.data import expected_size

    c = config
    n_train, n_test, features, classes = expected_size(c.dataset, c.n_samples, c.train_size,
                                                       c.data)
    if c.classic:
        n_train, n_test = 300, 100
    sizes = [features, *c.layers, 1 if classes == 2 else classes]
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


EXPERIMENT = Experiment(name="compare", config=CompareConfig,
                        run=lambda config, progress=False, jobs=1: run_compare(
                            config=config, progress=progress, jobs=jobs),
                        figures=figures, estimate=estimate, jobs=True)
