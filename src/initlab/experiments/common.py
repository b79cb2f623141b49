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

from initlab.data import Dataset, classic_dataset, load_dataset
from initlab.errors import InitlabError
from initlab.results import Result
from initlab.train import schedule
from initlab.verdict import t975


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

    def interval(self) -> tuple[float, float] | None:
        """(low, high) of the 95% interval of the mean; None without one (fewer than 2 seeds)."""
        if self.low is not None and self.high is not None:
            return self.low, self.high
        if self.mean is None or self.ci95 is None:
            return None
        return self.mean - self.ci95, self.mean + self.ci95


@dataclass
class LossStat(Result):
    """Mean and standard deviation of the final loss (on the whole training set after
    training, see :attr:`initlab.train.History.final_loss`) over the runs that did not
    diverge."""

    mean: float | None
    std: float | None


#: How accuracy intervals are computed, as printed under the tables.
ACCURACY_CI = ("95% intervals of accuracies: Wilson score interval with the seeds' effective "
               "sample size p(1-p)/Var(mean) and Student t (S-1 df); inside [0, 1]")


def _finite(values) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    return v[np.isfinite(v)]


def summarize(values) -> Stat:
    """:class:`Stat` of the finite ``values``: mean, std (ddof 1), t-interval half-width
    t_{0.975, n-1} s / sqrt(n) (Student, 1908). Equal values give an exact 0 std (no rounding
    residue such as 1e-17)."""
    v = _finite(values)
    if v.size == 0:
        return Stat(None, None, None)
    if v.size == 1 or np.ptp(v) == 0:
        return Stat(float(v[0]), 0.0, None if v.size == 1 else 0.0)
    std = float(v.std(ddof=1))
    half = float(t975(v.size - 1) * std / math.sqrt(v.size))
    mean = float(v.mean())
    return Stat(mean, std, half, mean - half, mean + half)


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
    t = t975(v.size - 1)
    centre = (p + t * t / (2 * n)) / (1 + t * t / n)
    half = t / (1 + t * t / n) * math.sqrt(p * (1 - p) / n + t * t / (4 * n * n))
    return Stat(p, base.std, None, max(0.0, centre - half), min(1.0, centre + half))


def format_stat(stat: Stat, digits: int = 3) -> str:
    """'mean +- half-width' (Student-t intervals) or 'mean [low, high]' (accuracies' Wilson
    intervals); just the mean without an interval, 'n/a' without a mean."""
    if stat.mean is None:
        return "n/a"
    text, bounds = f"{stat.mean:.{digits}f}", stat.interval()
    if bounds is None:
        return text
    if stat.ci95 is not None:
        return f"{text} +- {stat.ci95:.{digits}f}"
    return f"{text} [{bounds[0]:.{digits}f}, {bounds[1]:.{digits}f}]"


def format_interval(stat: Stat) -> str:
    """``[low, high]`` of a stat for tables, or "-" without one."""
    bounds = stat.interval()
    if bounds is None:
        return "-"
    return f"[{bounds[0]:.4g}, {bounds[1]:.4g}]"


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
