"""What the training experiments share: statistics over seeds, their data, output layer, length.

:func:`summarize` gives the mean, standard deviation and 95% Student-t interval of a quantity
over seeds; :func:`separated` says whether two such intervals leave no overlap, the test the
report uses before it calls two means different. The number of training steps comes from
:func:`initlab.train.schedule`, the one place that turns iterations or epochs into steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from initlab.data import Dataset, classic_dataset, load_dataset
from initlab.errors import InitlabError
from initlab.results import Result
from initlab.train import schedule


@dataclass
class Stat(Result):
    """Mean, standard deviation (ddof 1) and 95% confidence half-width over seeds."""

    mean: float | None
    std: float | None
    ci95: float | None

    def interval(self) -> tuple[float, float] | None:
        """(low, high) of the 95% interval of the mean; None without one (fewer than 2 seeds)."""
        if self.mean is None or self.ci95 is None:
            return None
        return self.mean - self.ci95, self.mean + self.ci95


def summarize(values) -> Stat:
    """:class:`Stat` of the finite ``values``: mean, std (ddof 1), t-interval half-width
    t_{0.975, n-1} s / sqrt(n) (Student, 1908)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return Stat(None, None, None)
    if v.size == 1:
        return Stat(float(v[0]), 0.0, None)
    std = float(v.std(ddof=1))
    half = stats.t.ppf(0.975, v.size - 1) * std / math.sqrt(v.size)
    return Stat(float(v.mean()), std, float(half))


def separated(a: Stat, b: Stat) -> bool:
    """True when the 95% intervals of ``a`` and ``b`` do not overlap (a conservative test: a
    difference is only called one when this holds); False when either has no interval."""
    ia, ib = a.interval(), b.interval()
    if ia is None or ib is None:
        return False
    return ia[1] < ib[0] or ib[1] < ia[0]


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


def record_every(n_train: int, iterations: int | None, epochs: int | None,
                 batch: int | None, points: int, replace: bool = False) -> int:
    """Steps between records so that a run of ``iterations`` or ``epochs`` has about
    ``points`` of them (the step count is :func:`initlab.train.schedule`'s)."""
    steps, _ = schedule(n_train, iterations, epochs, batch, replace)
    return max(1, steps // points)
