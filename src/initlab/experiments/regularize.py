"""The overfitting study: a deep net on a small training set, with and without regularization.

After *Deep Learning from Scratch* (Saito, O'Reilly Japan 2016, ch. 6.4: a deep net on 300
MNIST images, weight decay, dropout as in Srivastava et al., JMLR 2014), made general: the
same net trained from the same seeds four ways,
none / L2(lambda) / dropout(rate) / both, each variant as S replicas of one model. The result
holds train and test accuracy curves per variant and the final train-test gap over seeds.
Regularization works when it narrows the gap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from initlab.errors import InitlabError, check_float_dtype, check_positive_int, check_seed
from initlab.experiments.common import (
    ACCURACY_CI,
    Stat,
    get_dataset,
    output_layer,
    record_every,
    summarize,
    summarize_accuracy,
)
from initlab.lsuv import LsuvResult, lsuv_from_inits
from initlab.nn.model import mlp
from initlab.nn.norm import check_norm
from initlab.results import Result, detail
from initlab.train import accuracy, fit


@dataclass
class VariantRow(Result):
    """One regularization variant over all seeds (``lsuv``: what LSUV did, for an ``lsuv``
    init; rescaled on the first ``batch`` training examples)."""

    variant: str
    l2: float
    dropout: float
    seeds: int
    train_accuracy: Stat
    test_accuracy: Stat
    gap: Stat
    train_curves: list | None = detail()
    test_curves: list | None = detail()
    lsuv: LsuvResult | None = None


@dataclass
class RegularizeResult(Result):
    """Rows per variant and the configuration; curves in saved files."""

    rows: list[VariantRow]
    config: dict
    iterations: list[int] | None = detail()

    def table(self):
        header = ["variant", "l2", "dropout", "train acc", "test acc", "gap", "+-95%"]
        return header, [[r.variant, r.l2, r.dropout, r.train_accuracy.mean, r.test_accuracy.mean,
                         r.gap.mean, r.gap.ci95] for r in self.rows]

    def footnote(self) -> str:
        return ("+-95%: Student-t half-width of the gap over seeds. " + ACCURACY_CI
                + " (in results.json)")


def variants(l2: float, dropout: float) -> list[tuple[str, float, float]]:
    """(name, l2, dropout) of the four variants."""
    if not (l2 > 0 and math.isfinite(l2)):
        raise InitlabError(f"l2 must be a finite number > 0, got {l2}")
    if not 0 < dropout < 1:
        raise InitlabError(f"dropout must lie in (0, 1), got {dropout}")
    return [("none", 0.0, 0.0), (f"l2({l2:g})", l2, 0.0), (f"dropout({dropout:g})", 0.0, dropout),
            ("both", l2, dropout)]


def run_regularize(*, dataset: str = "digits", train_size: int | None = 300,
                   layers=(100, 100, 100, 100, 100), activation: str = "relu", init: str = "he",
                   l2: float = 0.01, dropout: float = 0.2, seeds: int = 5, seed: int = 0,
                   data_seed: int = 0,
                   optimizer: str = "sgd", lr: float = 0.1, batch: int | None = 128,
                   epochs: int | None = 200, iterations: int | None = None,
                   n_samples: int | None = None, noise: float | None = None, data=None,
                   dropout_mode: str = "inverted", norm: str | None = None,
                   dtype: str = "float32", progress: bool = False) -> RegularizeResult:
    """Train the four variants from ``seeds`` seeds each on a ``train_size`` subset.

    Dropout follows each hidden activation; L2 adds (lambda / 2) sum W^2 over the weights
    (not over normalization parameters). norm: None, "batch" or "layer" between each hidden
    linear layer and its activation, in every variant. dtype: float32 (default, as ``compare``
    and ``normalize`` train) or float64.
    """
    n_seeds = check_positive_int(seeds, "seeds")
    check_seed(seed, "seed", n_seeds)
    check_seed(data_seed, "data_seed")
    plan = variants(l2, dropout)
    dt = check_float_dtype(dtype)
    ds = get_dataset(dataset, seed=data_seed, n_samples=n_samples, noise=noise, data=data,
                     train_size=train_size)
    units, output = output_layer(ds.n_classes)
    sizes = [ds.n_features, *layers, units]
    if iterations is not None:
        epochs = None
    every = record_every(ds.n_train, iterations, epochs, batch, 40)
    X, Xt = ds.X_train.astype(dt), ds.X_test.astype(dt)
    rows, steps = [], None
    for name, lam, rate in plan:
        model = mlp(sizes, activation=activation, init=init, output=output, dropout=rate,
                    dropout_mode=dropout_mode, replicas=n_seeds, norm=norm,
                    seed=[seed + s for s in range(n_seeds)], dtype=dt)
        done = lsuv_from_inits(model, X[:batch or ds.n_train],
                               names=[seed + s for s in range(n_seeds)])
        history = fit(model, X, ds.y_train, optimizer=optimizer, lr=lr,
                      iterations=iterations, epochs=epochs, batch_size=batch, l2=lam,
                      record_every=every, X_test=Xt, y_test=ds.y_test, seed=data_seed,
                      progress=progress, record_accuracy=True)
        train = accuracy(model, X, ds.y_train)
        test = accuracy(model, Xt, ds.y_test)
        steps = list(history.iterations)
        rows.append(VariantRow(
            variant=name, l2=lam, dropout=rate, seeds=n_seeds,
            train_accuracy=summarize_accuracy(train), test_accuracy=summarize_accuracy(test),
            gap=summarize(train - test),
            train_curves=np.asarray(history.train_accuracy, dtype=float),
            test_curves=np.asarray(history.test_accuracy, dtype=float), lsuv=done))
    config = {"dataset": ds.name, "n_train": ds.n_train, "n_test": ds.n_test, "sizes": sizes,
              "activation": activation, "init": init, "output": output, "l2": l2,
              "dropout": dropout, "dropout_mode": dropout_mode, "norm": check_norm(norm),
              "dtype": dt.name,
              "seeds": n_seeds, "seed": seed,
              "data_seed": data_seed,
              "optimizer": optimizer, "lr": lr, "batch": batch, "epochs": epochs,
              "iterations": iterations, "record_every": every}
    return RegularizeResult(rows=rows, config=config, iterations=steps)
