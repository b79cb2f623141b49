"""One way to train a grid of replicas over processes, and to summarize it per group.

compare (inits x seeds), normalize (weight scales x seeds, per normalization) and regularize
(seeds per regularization variant) all train groups of replicas that differ only in their
weights. A :class:`Group` is one init spec drawn from a list of seeds, with the options its
model and its training share (norm, dropout, L2); :func:`train_groups` trains a list of groups
on one data set with one :class:`Recipe` and returns what every replica ended with
(:class:`Trained`); :func:`summarize_group` gives one group's statistics over its seeds.

How: consecutive groups with the same options are one model whose replicas train together (one
vectorized run); its ``lsuv`` replicas are first rescaled on the first minibatch of the
training data (all of it for full-batch training). Each model is one task for the processes
(:func:`cut`); a grid of one model (compare's inits x seeds) is cut into as many contiguous
chunks as there are processes. Every replica draws its weights and dropout masks from its own
stream and all of them share the data and the minibatch order, so a replica trains alike in
any task. Cutting a model changes the shapes of its matrix products, though, and BLAS may
round a product of another shape differently in the last bit (float32 losses of digits nets
cut in two were found 5e-7 apart): several models are therefore never cut, and their numbers
do not depend on where they train.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from initlab.errors import check_positive_int
from initlab.lsuv import LsuvResult, lsuv_from_inits
from initlab.nn.model import mlp
from initlab.runtime.cores import free_cores
from initlab.runtime.workers import run_tasks
from initlab.statistics import LossStat, format_interval, summarize, summarize_accuracy
from initlab.train import accuracy, blas_threads, fit, schedule

#: Work of a whole grid below which :func:`train_groups` trains every replica in its own
#: process whatever ``jobs`` says: multiply-adds plus ten per activation value (the elementwise
#: passes), per example, layer, step and replica. A worker process spends a fixed time starting
#: and importing before it trains, so a second process pays off only past about this much
#: work (the measurements: benchmarks/README.md, "Measurements behind constants").
PROCESS_WORK = 3e9
#: Processes that ``jobs=None`` (the command line's default) trains in, when as many cores
#: are free.
AUTO_JOBS = 2


@dataclass(frozen=True)
class Group:
    """Replicas that differ only in their weights: ``init`` drawn from each of ``seeds``
    (``legacy``: from ``RandomState(seed)``, as the deep-learning course reseeds, else from
    the seed's Generator), with the normalization, dropout rate and L2 lambda they share."""

    init: str
    seeds: tuple[int, ...]
    norm: str | None = None
    dropout: float = 0.0
    l2: float = 0.0
    legacy: bool = False

    def __post_init__(self):
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))

    def options(self) -> tuple:
        """What the replicas of one model must share: groups equal in these train together."""
        return self.norm, self.dropout, self.l2, self.legacy


@dataclass
class Recipe:
    """What every group of a grid shares: the net's ``sizes``, hidden ``activation`` and
    ``output``, the ``dtype``, ``fit``'s keywords (optimizer, lr, iterations or epochs,
    batch_size, replace, record_every and seed, the minibatch order's), the accuracy curves
    recorded (``curves``: "train", "test" or "both") and further :func:`~initlab.nn.model.mlp`
    keywords (``model``: dropout_mode, momentum, eps)."""

    sizes: list[int]
    activation: str
    output: str
    dtype: type
    fit: dict
    curves: str = "both"
    model: dict = field(default_factory=dict)


@dataclass
class Replicas:
    """What training left, per replica (the first axis): final train and test accuracy, final
    loss (NaN where diverged), diverged flags, the loss curves and the accuracy curves that
    were recorded (else None), and for one group what LSUV did, labelled by seed."""

    train: np.ndarray
    test: np.ndarray
    final_loss: np.ndarray
    diverged: np.ndarray
    loss: np.ndarray
    train_curves: np.ndarray | None
    test_curves: np.ndarray | None
    lsuv: LsuvResult | None = None

    def part(self, idx: slice, lsuv: LsuvResult | None = None) -> Replicas:
        """The replicas ``idx``, with their ``lsuv``."""
        cut = [getattr(self, f.name) for f in dataclasses.fields(self)][:-1]
        return Replicas(*(None if a is None else a[idx] for a in cut), lsuv=lsuv)


@dataclass
class Trained:
    """A trained grid: its groups, every replica's :class:`Replicas` in group order, the
    recorded steps, the processes it trained in, per group what LSUV did, and (when asked
    for) the trained models with the index of their first replica."""

    groups: list[Group]
    replicas: Replicas
    iterations: list[int]
    processes: int
    lsuv: list[LsuvResult | None]
    models: list[tuple] | None = None

    def bounds(self, g: int) -> slice:
        """The replicas of group ``g``."""
        start = sum(len(x.seeds) for x in self.groups[:g])
        return slice(start, start + len(self.groups[g].seeds))

    def group(self, g: int) -> Replicas:
        """What the replicas of group ``g`` ended with, in the order of its seeds."""
        return self.replicas.part(self.bounds(g), self.lsuv[g])

    def select(self, replicas: list[int]) -> list:
        """One-replica models of the given replicas (indices in group order); the models must
        have been kept (``train_groups(..., keep_models=True)``)."""
        picked = []
        for r in replicas:
            model, start = next((m, s) for m, s in reversed(self.models) if s <= r)
            picked.append(model.select([r - start]))
        return picked


def summarize_group(part: Replicas) -> dict:
    """One group's statistics over its seeds, as the result rows name them: train and test
    accuracy (:func:`~initlab.experiments.common.summarize_accuracy`), the final loss of the
    runs that did not diverge (mean and std) and how many diverged."""
    final = summarize(part.final_loss)
    return {"train_accuracy": summarize_accuracy(part.train),
            "test_accuracy": summarize_accuracy(part.test),
            "final_loss": LossStat(final.mean, final.std), "diverged": int(part.diverged.sum())}


#: The table columns of :func:`summarize_group`'s statistics (:func:`summary_cells`).
SUMMARY_HEADER = ["train acc", "95% CI", "test acc", "95% CI", "final loss", "diverged"]


def summary_cells(row) -> list:
    """A result row's :func:`summarize_group` statistics as the cells of
    :data:`SUMMARY_HEADER`."""
    return [row.train_accuracy.mean, format_interval(row.train_accuracy),
            row.test_accuracy.mean, format_interval(row.test_accuracy), row.final_loss.mean,
            row.diverged]


def run_work(sizes, replicas: int, n_train: int, fit_kw: dict) -> float:
    """The work of training ``replicas`` nets of ``sizes``, in :data:`PROCESS_WORK`'s units."""
    steps, batch = schedule(n_train, fit_kw.get("iterations"), fit_kw.get("epochs"),
                            fit_kw.get("batch_size"), fit_kw.get("replace", False))
    per_example = sum(a * b + 10 * b for a, b in pairwise(sizes))
    return float(steps) * replicas * (batch or n_train) * per_example


def processes(jobs: int | None, work: float, replicas: int) -> int:
    """How many processes train a grid: one for a run under :data:`PROCESS_WORK`; else
    ``jobs`` (``None``: :data:`AUTO_JOBS`, or as many cores as
    :func:`~initlab.runtime.cores.free_cores` finds idle if fewer: processes beyond those would
    only wait), at most one per two replicas (one replica is not worth a process)."""
    if work < PROCESS_WORK:
        return 1
    if jobs is None:
        jobs = min(AUTO_JOBS, free_cores())
    return max(1, min(jobs, replicas // 2))


@dataclass(frozen=True)
class Piece:
    """Consecutive replicas of one model that one task trains: the index of the first (in
    group order), their inits and seeds, and the options of their groups."""

    start: int
    inits: tuple[str, ...]
    seeds: tuple[int, ...]
    group: Group


def cut(groups: list[Group], n_processes: int) -> list[Piece]:
    """The tasks of a grid trained in ``n_processes`` processes: each model (a run of
    consecutive groups with the same options) whole; a grid of one model is cut into
    ``n_processes`` contiguous chunks of about equal size instead."""
    owner = [g for g in groups for _ in g.seeds]
    inits = [g.init for g in owner]
    seeds = [s for g in groups for s in g.seeds]
    cuts = [0, *[r for r in range(1, len(owner)) if owner[r].options() != owner[r - 1].options()],
            len(owner)]
    if len(cuts) == 2:
        cuts = sorted({int(b) for b in np.linspace(0, len(owner), n_processes + 1)})
    return [Piece(a, tuple(inits[a:b]), tuple(seeds[a:b]), owner[a]) for a, b in pairwise(cuts)]


def train_piece(piece: Piece, recipe: Recipe, data: tuple, progress: bool, keep: bool):
    """Build, LSUV-rescale and train one piece (in a worker process when the grid is split);
    return the model (when ``keep``), fit's history, the final train and test accuracies, and
    what LSUV did (replicas named by their index in group order)."""
    X, y, X_test, y_test = data
    g = piece.group
    streams = [np.random.RandomState(s) for s in piece.seeds] if g.legacy else list(piece.seeds)
    model = mlp(recipe.sizes, activation=recipe.activation, init=list(piece.inits),
                output=recipe.output, dropout=g.dropout, replicas=len(piece.inits),
                seed=streams, dtype=recipe.dtype, norm=g.norm, **recipe.model)
    done = lsuv_from_inits(model, X[:recipe.fit.get("batch_size") or len(X)],
                           names=range(piece.start, piece.start + len(piece.inits)))
    tests = {} if recipe.curves == "train" else {"X_test": X_test, "y_test": y_test}
    history = fit(model, X, y, l2=g.l2, progress=progress,
                  record_accuracy="test" if recipe.curves == "test" else True,
                  **tests, **recipe.fit)
    # the final accuracies under fit's BLAS rule too: small products on one thread, which on
    # shared cores run many times faster than on two (benchmarks/README.md)
    with blas_threads(model, X, max(len(X), len(X_test))):
        train_acc, test_acc = accuracy(model, X, y), accuracy(model, X_test, y_test)
    return model if keep else None, history, train_acc, test_acc, done


def train_groups(groups: list[Group], recipe: Recipe, data: tuple, *, jobs: int | None = 1,
                 progress: bool = False, keep_models: bool = False) -> Trained:
    """Train every replica of ``groups`` on ``data`` = (X, y, X_test, y_test) as ``recipe``
    says, in :func:`processes` processes (``jobs``: asked for; None: automatic), and return
    what each replica ended with. ``progress`` shows every task's bar in one process, the
    first task's in several; ``keep_models`` sends the trained models back for
    :meth:`Trained.select`."""
    groups = list(groups)
    jobs = None if jobs is None else check_positive_int(jobs, "jobs")
    X, y, X_test, y_test = data
    data = (np.asarray(X).astype(recipe.dtype), y, np.asarray(X_test).astype(recipe.dtype),
            y_test)
    total = sum(len(g.seeds) for g in groups)
    n = processes(jobs, run_work(recipe.sizes, total, len(X), recipe.fit), total)
    pieces = cut(groups, n)
    n = min(n, len(pieces))
    work = [(p, recipe, data, progress and (n == 1 or k == 0), keep_models)
            for k, p in enumerate(pieces)]
    parts = [None] * len(pieces)
    for k, out in run_tasks(train_piece, work, n):
        parts[k] = out
    return _merge(groups, pieces, parts, n, keep_models)


def _merge(groups, pieces, parts, n_processes: int, keep: bool) -> Trained:
    """One :class:`Trained` from the pieces' outputs (in global replica order)."""
    histories = [h for _, h, *_ in parts]

    def joined(name: str):
        arrays = [getattr(h, name) for h in histories]
        return None if arrays[0] is None else np.concatenate(arrays)

    replicas = Replicas(
        train=np.concatenate([p[2] for p in parts]), test=np.concatenate([p[3] for p in parts]),
        final_loss=joined("final_loss"),
        diverged=np.array([d is not None for h in histories for d in h.diverged_at]),
        loss=joined("loss"), train_curves=joined("train_accuracy"),
        test_curves=joined("test_accuracy"))
    found = [p[4] for p in parts if p[4] is not None]
    trained = Trained(groups, replicas, list(histories[0].iterations), n_processes, [],
                      [(p[0], s.start) for p, s in zip(parts, pieces, strict=True)]
                      if keep else None)
    for g, group in enumerate(groups):
        span = trained.bounds(g)
        trained.lsuv.append(_lsuv_of(found, span.start, span.stop, group.seeds))
    return trained


def _lsuv_of(found: list[LsuvResult], lo: int, hi: int, seeds) -> LsuvResult | None:
    """The LSUV columns of replicas lo..hi-1 (one group), labelled by their seeds."""
    picked = [r.columns([k for k, name in enumerate(r.replicas) if lo <= name < hi])
              for r in found]
    picked = [r for r in picked if r.replicas]
    if not picked:
        return None
    return LsuvResult([seeds[name - lo] for r in picked for name in r.replicas],
                      np.concatenate([r.iterations for r in picked], axis=1),
                      np.concatenate([r.variance for r in picked], axis=1))


__all__ = ["AUTO_JOBS", "PROCESS_WORK", "Group", "Piece", "Recipe", "Replicas", "Trained", "cut",
           "processes", "run_work", "summarize_group", "train_groups", "train_piece"]
