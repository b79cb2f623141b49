"""Statistics over seeds: means with 95% intervals, the test of two means and of two spreads.

- :class:`Stat` / :func:`summarize`: mean, std and the Student-t interval of a quantity over
  seeds (Gosset, "The probable error of a mean", Biometrika 1908); :func:`summarize_accuracy`:
  Wilson's score interval for accuracies, inside [0, 1];
- :func:`separated`: two intervals that do not overlap, the test the report uses before it
  calls two means different;
- :func:`spreads_differ` / :func:`f_test_p`: the two-sided F-test of two spreads (Snedecor's F);
- :func:`t975`: Student's 97.5% point, computed here without importing scipy.stats.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from initlab.errors import InitlabError
from initlab.results import Result


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


def finite_or_none(x) -> float | None:
    """``x`` as a float, or None where it is NaN or infinite (JSON has no such numbers)."""
    x = float(x)
    return x if math.isfinite(x) else None


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


@functools.cache
def t975(dof: int) -> float:
    """The two-sided 95% point of Student's t with ``dof`` (an int >= 1) degrees of freedom,
    ``scipy.stats.t.ppf(0.975, dof)`` to within 1e-12 relative (tested), computed here because
    importing scipy.special or scipy.stats costs a quarter to half a second of start-up of
    every command that reports an interval. Cached: the explorer judges thousands of nets.

    With theta = atan(t / sqrt(dof)), P(|T| < t) is a finite sum of powers of cos(theta)
    (Abramowitz & Stegun 26.7.3-4) whose derivative in theta is 2 Gamma((dof+1)/2) /
    (sqrt(pi) Gamma(dof/2)) cos(theta)^(dof-1): decreasing, so Newton's method in theta from
    the normal quantile (always below t's) rises monotonically to the root.
    """
    dof = int(dof)
    if dof < 1:
        raise InitlabError(f"degrees of freedom must be >= 1, got {dof}")
    scale = 2 * math.exp(math.lgamma((dof + 1) / 2) - math.lgamma(dof / 2)) / math.sqrt(math.pi)
    theta = math.atan(1.959963984540054 / math.sqrt(dof))  # the normal's 97.5% point
    for _ in range(100):
        c = math.cos(theta)
        step = (0.95 - _two_sided_t(theta, dof)) / (scale * c ** (dof - 1))
        theta += step
        if abs(step) <= 1e-16 * theta:
            break
    return math.sqrt(dof) * math.tan(theta)


def _two_sided_t(theta: float, dof: int) -> float:
    """P(|T| < sqrt(dof) tan(theta)) for Student's T with ``dof`` degrees of freedom."""
    c2, s = math.cos(theta) ** 2, math.sin(theta)
    terms, term = [], 1.0
    if dof % 2:  # 2/pi (theta + sin cos (1 + 2/3 cos^2 + 2*4/(3*5) cos^4 + ...)), dof - 2 powers
        for k in range(1, (dof - 1) // 2):
            terms.append(term)
            term *= c2 * (2 * k) / (2 * k + 1)
        if dof > 1:
            terms.append(term)
        return 2 / math.pi * (theta + s * math.cos(theta) * math.fsum(terms))
    for k in range(1, dof // 2):  # sin (1 + 1/2 cos^2 + 1*3/(2*4) cos^4 + ...), dof - 2 powers
        terms.append(term)
        term *= c2 * (2 * k - 1) / (2 * k)
    terms.append(term)
    return s * math.fsum(terms)


def spreads_differ(a, b, level: float = 0.05) -> bool | None:
    """Two-sided F-test of equal variances of the finite values ``a`` and ``b`` (None when
    either has fewer than 2 values or both have no spread)."""
    a, b = (np.asarray(v, dtype=float) for v in (a, b))
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size < 2 or b.size < 2:
        return None
    va, vb = a.var(ddof=1), b.var(ddof=1)
    if va == vb:
        return False
    if va == 0 or vb == 0:
        return True
    return bool(f_test_p(va / vb, a.size - 1, b.size - 1) < level)


def f_test_p(f: float, dfn: int, dfd: int) -> float:
    """Two-sided p-value of the variance ratio ``f`` with (dfn, dfd) degrees of freedom:
    2 min(P(F <= f), P(F >= f)) for Snedecor's F.

    The two tails are scipy.special's ``fdtr`` and ``fdtrc``, what ``scipy.stats.f.cdf`` and
    ``.sf`` compute with, without importing scipy.stats (half a second of start-up).

    >>> round(f_test_p(1.0, 4, 4), 12)
    1.0
    """
    from scipy.special import fdtr, fdtrc  # here, not at the top: start-up time counts

    return float(2 * min(fdtr(dfn, dfd, f), fdtrc(dfn, dfd, f)))
