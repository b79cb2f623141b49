"""The deep-learning course's three-layer "Initialization" experiment, reproduced exactly.

Recipe (deeplearning.ai, "Improving Deep Neural Networks", week 1, "Initialization"
assignment): data from ``make_circles``/``make_moons`` (300 train points
after seed 1, 100 test points after seed 2, noise 0.05); LINEAR -> RELU -> LINEAR -> RELU ->
LINEAR -> SIGMOID with sizes [2, 10, 5, 1]; full-batch gradient descent, lr 0.01, 15000
iterations, binary cross-entropy, cost recorded every 1000 iterations (and, here, after the
last one); each init reseeds a legacy ``RandomState(3)`` and draws W1, W2, W3 in order. The
three inits train together as the three replicas of one model. Costs come from logits, so
they are finite where the published notebook prints ``inf``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from initlab.data import classic_dataset
from initlab.errors import InitlabError
from initlab.experiments.boundary import Boundary, compute_boundary
from initlab.experiments.config import Config, at_least, option, positive
from initlab.experiments.registry import Experiment
from initlab.nn.model import mlp
from initlab.results import Result, detail
from initlab.train import accuracy, fit

#: The course's names for its three inits, and the initlab specs that draw the same numbers.
INITS = {"zeros": "zeros", "random": "normal(10)", "he": "he"}
SIZES = [2, 10, 5, 1]
DATASETS = ("circles", "moons")
#: The published experiments ``initlab reproduce`` knows (its EXPERIMENT argument).
STUDIES = ("coursera",)

_RECIPE = "the recipe (the course's values; others leave the published experiment)"


@dataclass(frozen=True)
class ClassicConfig(Config):
    """Every option of ``initlab reproduce`` (and of :func:`run_classic`). The defaults are
    the course's recipe; the recipe's fields are there to run it shorter (tests, the
    explorer) or coarser, not to reproduce anything else."""

    study: str = option("coursera", "which experiment: coursera (the course's three-layer init "
                        "table)", choices=STUDIES, metavar="EXPERIMENT", positional=True)
    dataset: str = option("circles", "the course's data set", choices=DATASETS)
    iterations: int = option(15000, "full-batch gradient-descent steps", check=at_least(1),
                             group=_RECIPE)
    lr: float = option(0.01, "learning rate", check=positive, group=_RECIPE)
    record_every: int = option(1000, "iterations between recorded costs", check=at_least(1),
                               group=_RECIPE)
    boundary_points: int = option(200, "grid points along the longer side of the decision "
                                  "boundaries' plane", check=at_least(2), group=_RECIPE)


@dataclass
class ClassicRow(Result):
    """One init's outcome: accuracies, the cost every ``record_every`` iterations (each before
    that iteration's update, as the course prints it) and, last, after the last update (also
    ``final_cost``), so the curve ends at the iteration count."""

    init: str
    train_accuracy: float
    test_accuracy: float
    costs: list[float]
    final_cost: float | None = None


@dataclass
class ClassicResult(Result):
    """The accuracy table and cost curves of the three inits on one dataset."""

    dataset: str
    rows: list[ClassicRow]
    iterations: list[int] | None = detail()
    boundary: Boundary | None = detail()
    config: dict | None = detail()

    def table(self):
        header = ["init", "spec", "train accuracy", "test accuracy", "first cost", "final cost"]
        return header, [[r.init, INITS.get(r.init, r.init), r.train_accuracy, r.test_accuracy,
                         r.costs[0], r.final_cost] for r in self.rows]


def run_classic(dataset: str | None = None, *, progress: bool = False,
                config: ClassicConfig | None = None, **options) -> ClassicResult:
    """Train zeros, random (normal(10)) and he on the course's data with its exact recipe.

    The options are :class:`ClassicConfig`'s fields, with its defaults (the course's recipe;
    give ``config`` or keywords, not both), e.g. ``run_classic("moons", iterations=3000)``.

    >>> run_classic("circles").rows[2].train_accuracy   # doctest: +SKIP
    0.9933333333333333
    """
    if config is None:
        if dataset is not None:
            options["dataset"] = dataset
        config = ClassicConfig.from_dict(options, source="run_classic")
    elif options or dataset is not None:
        raise InitlabError("give run_classic a config or keyword options, not both")
    return _run(config, progress)


def _run(c: ClassicConfig, progress: bool) -> ClassicResult:
    """:func:`run_classic` for one checked Config: the three inits as replicas of one model."""
    data = classic_dataset(c.dataset)
    names = list(INITS)
    model = mlp(SIZES, activation="relu", init=[INITS[n] for n in names], output="sigmoid",
                replicas=len(names), seed=[np.random.RandomState(3) for _ in names])
    history = fit(model, data.X_train, data.y_train, optimizer="sgd", lr=c.lr,
                  iterations=c.iterations, record_every=c.record_every, record_accuracy=False,
                  progress=progress)
    train = accuracy(model, data.X_train, data.y_train)
    test = accuracy(model, data.X_test, data.y_test)
    losses = np.asarray(history.loss)
    rows = [ClassicRow(init=n, train_accuracy=float(train[r]), test_accuracy=float(test[r]),
                       costs=losses[r].tolist(), final_cost=float(history.final_loss[r]))
            for r, n in enumerate(names)]
    config = {"dataset": c.dataset, "sizes": SIZES, "activation": "relu", "output": "sigmoid",
              "inits": INITS, "seed": "RandomState(3) per init", "optimizer": "sgd",
              "lr": c.lr, "iterations": c.iterations, "record_every": c.record_every,
              "train": f"make_{c.dataset}(300, noise=0.05, random_state=1)",
              "test": f"make_{c.dataset}(100, noise=0.05, random_state=2)"}
    return ClassicResult(dataset=c.dataset, rows=rows, iterations=list(history.iterations),
                         boundary=compute_boundary(model, data.X_train, data.y_train,
                                                   data.bounds(), points=c.boundary_points),
                         config=config)


def estimate(config: ClassicConfig):
    """Memory and time of training the three nets and of their boundaries' grid."""
    from initlab.runtime.budget import FLOPS, Estimate, mlp_training

    c = config
    replicas = len(INITS)
    train = mlp_training(SIZES, replicas, 300, 100, None, c.iterations,
                         c.iterations // c.record_every + 2, 8,
                         what=f"training {replicas} nets of sizes {SIZES} for {c.iterations} "
                         f"steps and a boundary grid of {c.boundary_points}^2 points")
    # the boundaries: a forward pass of every replica over points^2 grid points, float64,
    # each layer's output and its temporaries (about 3 arrays of the layer's width) alive
    grid = replicas * c.boundary_points ** 2
    weights = sum(a * b for a, b in zip(SIZES, SIZES[1:], strict=False))
    return Estimate(max(train.memory, 8 * 3 * grid * sum(SIZES)),
                    train.seconds + 2 * grid * weights / FLOPS, train.what)


def figures(result: ClassicResult) -> dict:
    """The cost curves and the decision boundaries of the three inits."""
    from initlab.plots.classic import boundary_figure, cost_figure

    return {"costs": cost_figure(result), "boundaries": boundary_figure(result)}


#: Registered as ``reproduce``: the command's name, and the ``experiment`` key of the TOML
#: files it has always dumped (``initlab run`` and sweeps find it by that name).
EXPERIMENT = Experiment(name="reproduce", config=ClassicConfig, run=run_classic,
                        figures=figures, estimate=estimate)
