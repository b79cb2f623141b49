"""The "Training" frames: the course's three-layer net trained from six inits, step by step.

For each dataset, one model holds the six inits of :data:`INITS` as replicas, each drawn
from a legacy ``RandomState(3)`` as the deep-learning course draws its weights, and
:func:`initlab.train.fit` trains them together (full-batch gradient descent, lr 0.01,
binary cross-entropy; the recipe of :mod:`initlab.experiments.classic`). At every recorded
step a hook takes, before that step's update: the cost, the train accuracy, per layer the std
of the layer's output (h_1, h_2 after ReLU; the output logit z_3) and of dL/dW_l, and the
predicted class on a square grid (the decision boundary). The last frame is the trained net,
after all its steps. The grid covers every point of the dataset with a margin; the classes
take the report's colours (:data:`initlab.plots.common.CLASS_REGIONS`, ``CLASS_POINTS``).
"""

from __future__ import annotations

import numpy as np

from initlab.data import classic_dataset, load_dataset
from initlab.errors import InitlabError, check_positive_int, choose
from initlab.experiments.boundary import compute_boundary
from initlab.experiments.classic import SIZES
from initlab.explore.encode import encode
from initlab.nn.model import mlp
from initlab.plots.common import CLASS_POINTS, CLASS_REGIONS
from initlab.train import fit

INITS = ["zeros", "normal(0.01)", "normal(1)", "normal(10)", "xavier", "he"]
DATASETS = ("circles", "moons", "spiral")


def dataset(name: str):
    """circles and moons: the course's exact draws; spiral: the Playground's, seed 0, on
    [-1, 1]^2."""
    choose(name, DATASETS, "dataset")
    return classic_dataset(name) if name != "spiral" else load_dataset("spiral", seed=0)


def view(data) -> float:
    """Half-width L of the square [-L, L]^2 a panel draws: every train and test point with
    :meth:`~initlab.data.dataset.Dataset.bounds`' margin (the moons reach x1 = 2.07)."""
    return max(abs(v) for v in data.bounds())


def train_frames(name: str, iterations: int = 15000, every: int = 250, points: int = 80,
                 lr: float = 0.01) -> dict:
    """Train the six inits on dataset ``name``; return the frames, encoded.

    Returns per frame f (steps 0, every, 2 every, ..., iterations: ``every`` must divide
    ``iterations``) and replica r: cost (R, F), accuracy (R, F), act_std and grad_std
    (R, F, 3) for layers 1..3, and the boundary (R, F, points, points) as bits (class 1 where
    set) over ``extent`` = (x0, x1, y0, y1), rows from y0 up.
    """
    check_positive_int(iterations, "iterations")
    check_positive_int(every, "frame interval")
    if iterations % every:
        raise InitlabError(f"frame interval {every} does not divide the {iterations} steps: "
                           f"the last step would not be a frame")
    data = dataset(name)
    lim = view(data)
    model = mlp(SIZES, activation="relu", init=INITS, output="sigmoid",
                seed=[np.random.RandomState(3) for _ in INITS])
    acts, grads, images = [], [], []

    def snapshot(step, m):
        dense = m.dense_layers
        outputs = [m.layers[1].last_output, m.layers[3].last_output,
                   dense[2].forward(dense[2].last_input)]
        acts.append([o.reshape(len(INITS), -1).std(axis=1) for o in outputs])
        grads.append([d.weight.grad.reshape(len(INITS), -1).std(axis=1) for d in dense])
        # predicting on the grid runs a forward pass: after the statistics, never before
        images.append(compute_boundary(m, data.X_train, data.y_train, lim, points).classes)

    # fit records before the updates at 0, every, 2 every, ... and the trained net after the
    # last update: with `every` dividing `iterations` these are exactly the frames
    with np.errstate(all="ignore"):
        history = fit(model, data.X_train, data.y_train, optimizer="sgd", lr=lr,
                      iterations=iterations, record_every=every, on_record=snapshot)
    return {
        "extent": [-lim, lim, -lim, lim], "steps": history.iterations, "points": points,
        "X": np.round(data.X_train, 4).tolist(), "y": data.y_train.tolist(),
        "cost": encode(np.asarray(history.loss)),
        "accuracy": encode(np.asarray(history.train_accuracy)),
        "act_std": encode(np.transpose(acts, (2, 0, 1))),
        "grad_std": encode(np.transpose(grads, (2, 0, 1))),
        "boundary": encode(np.transpose(images, (1, 0, 2, 3)) > 0, "bits"),
    }


def schedule(quick: bool = False, iterations=None, every=None) -> tuple[int, int]:
    """(steps, frame interval): the full course run (15000 steps, a frame every 250), or with
    ``quick`` 2000 steps with a frame every 100; ``iterations``/``every`` override both."""
    base = (2000, 100) if quick else (15000, 250)
    return iterations or base[0], every or base[1]


def build_training(datasets=tuple(DATASETS), quick: bool = False, iterations=None,
                   every=None, points: int = 80) -> dict:
    """Frames of every dataset (see :func:`schedule`), computed here."""
    iterations, every = schedule(quick, iterations, every)
    frames = [train_frames(n, iterations, every, points) for n in datasets]
    return training_data(dict(zip(datasets, frames, strict=True)), iterations)


def training_data(frames: dict, iterations: int) -> dict:
    """The training panel's data around the frames of each dataset."""
    return {"inits": INITS, "lr": 0.01, "iterations": iterations, "sizes": SIZES,
            "class_colours": {"regions": list(CLASS_REGIONS), "points": list(CLASS_POINTS)},
            "datasets": frames}
