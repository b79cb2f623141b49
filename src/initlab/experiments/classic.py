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
from initlab.errors import choose
from initlab.experiments.boundary import Boundary, compute_boundary
from initlab.nn.model import mlp
from initlab.results import Result, detail
from initlab.train import accuracy, fit

#: The course's names for its three inits, and the initlab specs that draw the same numbers.
INITS = {"zeros": "zeros", "random": "normal(10)", "he": "he"}
SIZES = [2, 10, 5, 1]
DATASETS = ("circles", "moons")


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


def run_classic(dataset: str = "circles", *, iterations: int = 15000, lr: float = 0.01,
                record_every: int = 1000, boundary_points: int = 200,
                progress: bool = False) -> ClassicResult:
    """Train zeros, random (normal(10)) and he on the course's data with its exact recipe.

    >>> run_classic("circles").rows[2].train_accuracy   # doctest: +SKIP
    0.9933333333333333
    """
    choose(dataset, DATASETS, "dataset")
    data = classic_dataset(dataset)
    names = list(INITS)
    model = mlp(SIZES, activation="relu", init=[INITS[n] for n in names], output="sigmoid",
                replicas=len(names), seed=[np.random.RandomState(3) for _ in names])
    history = fit(model, data.X_train, data.y_train, optimizer="sgd", lr=lr,
                  iterations=iterations, record_every=record_every, record_accuracy=False,
                  progress=progress)
    train = accuracy(model, data.X_train, data.y_train)
    test = accuracy(model, data.X_test, data.y_test)
    losses = np.asarray(history.loss)
    rows = [ClassicRow(init=n, train_accuracy=float(train[r]), test_accuracy=float(test[r]),
                       costs=losses[r].tolist(), final_cost=float(history.final_loss[r]))
            for r, n in enumerate(names)]
    config = {"dataset": dataset, "sizes": SIZES, "activation": "relu", "output": "sigmoid",
              "inits": INITS, "seed": "RandomState(3) per init", "optimizer": "sgd", "lr": lr,
              "iterations": iterations, "record_every": record_every,
              "train": f"make_{dataset}(300, noise=0.05, random_state=1)",
              "test": f"make_{dataset}(100, noise=0.05, random_state=2)"}
    return ClassicResult(dataset=dataset, rows=rows, iterations=list(history.iterations),
                         boundary=compute_boundary(model, data.X_train, data.y_train,
                                                   data.bounds(), points=boundary_points),
                         config=config)
