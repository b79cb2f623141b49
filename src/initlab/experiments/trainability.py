"""Which (sigma_w^2, depth) can be trained: the trainability phase diagram beside 6 xi_c.

Schoenholz et al. 2017 ("Deep information propagation", Fig. 4/5) train tanh nets of many
depths from weights N(0, sigma_w^2 / n) and biases N(0, sigma_b^2) and find that training
succeeds only below a depth of about 6 xi_c(sigma_w^2), the correlation depth scale of the
mean-field maps, which diverges at the edge of chaos. Here: a grid of sigma_w^2 by depth,
tanh, width 100, plain SGD for a fixed number of steps on scikit-learn's digits (no
download); the measure is the training accuracy after training, over seeds. The grid points
that share a depth are the replicas of one model (every sigma_w^2 x every seed), trained
together in one vectorized run.
"""

from __future__ import annotations

import math

import numpy as np

from initlab.experiments.common import get_dataset, output_layer
from initlab.experiments.propagate_results import (
    DepthPoint,
    MeanStd,
    SeedRun,
    TrainPoint,
    one_blas_thread,
)
from initlab.nn.activations import get_activation
from initlab.nn.model import mlp
from initlab.theory.meanfield import mean_fields
from initlab.train import accuracy, fit

#: The grid's data set (its options are fields of ``PropagateConfig``): the sizes of
#: ``PropagateConfig``'s estimate are its sizes.
DATASET = "digits"


def six_xi_c(act, sigma_w2, sigma_b2: float, points: int = 80) -> list[DepthPoint]:
    """6 xi_c on a fine sigma_w^2 grid spanning ``sigma_w2`` (None where xi_c is infinite;
    one point when ``sigma_w2`` holds one value, as in one cell of a sweep)."""
    ws = np.unique(np.linspace(min(sigma_w2), max(sigma_w2), points))
    return [DepthPoint(mf.sigma_w2, 6 * mf.xi_c if math.isfinite(mf.xi_c) else None)
            for mf in mean_fields(act, ws, sigma_b2)]


def run_trainability(*, sigma_w2: list[float], sigma_b2: float, depths, activation: str,
                     seed: int, width: int, steps: int, lr: float, batch: int, seeds: int,
                     train_size: int, progress: bool = False):
    """Train every (sigma_w^2, depth) of the grid, ``seeds`` nets each, of ``width`` units for
    ``steps`` SGD steps at rate ``lr`` in minibatches of ``batch`` on ``train_size`` digits;
    return (points, the 6 xi_c curve, the configuration used). The values come checked from
    ``PropagateConfig``."""
    cfg = {"width": width, "steps": steps, "lr": lr, "batch": batch, "seeds": seeds,
           "dataset": DATASET, "train_size": train_size}
    ds_list = sorted(set(depths))
    act = get_activation(activation)
    ds = get_dataset(DATASET, seed=seed, train_size=train_size)
    units, output = output_layer(ds.n_classes)
    X = ds.X_train.astype(np.float32)
    inits = [f"variance_scaling(scale={sw!r}, mode=fan_in, distribution=untruncated_normal)"
             for sw in sigma_w2 for _ in range(seeds)]
    bias = f"normal({math.sqrt(sigma_b2)!r})" if sigma_b2 > 0 else "zeros"
    with one_blas_thread():
        trained = [_train(depth, ds, act, inits, bias, units, output, sigma_w2, seeds, cfg,
                          seed, X, progress) for depth in ds_list]
    points = []
    for depth, (acc, diverged) in zip(ds_list, trained, strict=True):
        for i, sw in enumerate(sigma_w2):
            std = float(acc[i].std(ddof=1)) if seeds > 1 else 0.0
            runs = [SeedRun(seed + s, float(acc[i, s]), bool(diverged[i, s]))
                    for s in range(seeds)]
            points.append(TrainPoint(sigma_w2=sw, depth=depth,
                                     train_accuracy=MeanStd(float(acc[i].mean()), std),
                                     diverged=int(diverged[i].sum()), seeds=runs))
    used = {**cfg, "sigma_w2": sigma_w2, "sigma_b2": sigma_b2, "depths": ds_list,
            "activation": act.spec or act.name, "n_train": ds.n_train}
    return points, six_xi_c(act, sigma_w2, sigma_b2), used


def train_accuracy(model, X, y, chunk: int = 250) -> np.ndarray:
    """accuracy(model, X, y) : (R,), computed over slices of ``chunk`` examples."""
    correct = sum(accuracy(model, X[i:i + chunk], y[i:i + chunk]) * len(y[i:i + chunk])
                  for i in range(0, len(y), chunk))
    return correct / len(y)


def _train(depth, ds, act, inits, bias, units, output, sws, n_seeds, cfg, seed, X, progress):
    """One depth: every (sigma_w^2, seed) as a replica of one model; accuracies (S, seeds)."""
    sizes = [ds.n_features, *[cfg["width"]] * depth, units]
    model = mlp(sizes, activation=act, init=inits, output=output, bias_init=bias,
                seed=[seed + s for _ in sws for s in range(n_seeds)], dtype=np.float32)
    history = fit(model, X, ds.y_train, lr=cfg["lr"], iterations=cfg["steps"],
                  batch_size=cfg["batch"], record_every=cfg["steps"], seed=seed,
                  record_accuracy=False, progress=progress)
    # in slices of examples: a forward pass keeps every layer's input (R x N x width each)
    acc = train_accuracy(model, X, ds.y_train).reshape(len(sws), n_seeds)
    diverged = np.array([d is not None for d in history.diverged_at]).reshape(acc.shape)
    return acc, diverged
