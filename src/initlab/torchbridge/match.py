"""Which known initializer a weight tensor was drawn from, judged from its values alone.

Each candidate law (PyTorch's default for Linear/Conv, He, Glorot/Xavier, LeCun, in their
uniform and normal forms and both fan modes, at the tensor's own fans) is tested against the
weights with a Kolmogorov-Smirnov test of the values against the candidate's CDF, which checks
shape and scale at once: a 1% error in the std moves the CDF by at most 0.0024, a factor sqrt(2)
(He against LeCun) by 0.1. Uniform candidates must also hold every value inside their bound,
and normal ones (from 100 values on) reach beyond the bound of a uniform of their std.
The first candidate (commonest first) with p > ``ALPHA`` wins; orthogonal matrices are
recognised exactly (W W^T = gain^2 I over the flattened trailing dims), constants, eye and
dirac by their values.

PyTorch's default (torch 2.x ``nn.Linear.reset_parameters``): ``kaiming_uniform_(w, a=sqrt(5))``,
that is gain sqrt(2 / (1 + 5)) = sqrt(1/3) and bound gain sqrt(3 / fan_in) = 1 / sqrt(fan_in).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats
from scipy.special import kolmogorov, ndtr

from initlab.init import fans

ALPHA = 1e-3  # a candidate is rejected when the KS test's p-value falls below this
MIN_VALUES = 32  # fewer weights than this cannot tell the laws apart
MAX_VALUES = 50_000  # the KS test uses at most this many values (evenly strided)
ASYMPTOTIC = 1000  # from this many values on, the KS p-value comes from Kolmogorov's limit
SCREEN = 256  # order statistics a candidate is first tested at (a lower bound of the KS D)
BRACKET = 2048  # order statistics an upper bound of the KS D is taken at before the full test
TORCH_DEFAULT = "torch default: kaiming_uniform(a=sqrt(5))"


def candidates(shape) -> list[tuple[str, str, float]]:
    """(name, "normal" | "uniform", std) of every known fan-based law at ``shape``, commonest
    first: where a small tensor fits several (their stds a few percent apart), the first wins."""
    fan_in, fan_out = fans(shape)
    avg = (fan_in + fan_out) / 2
    out = [(TORCH_DEFAULT, "uniform", 1 / math.sqrt(3 * fan_in)),
           ("he", "normal", math.sqrt(2 / fan_in)),
           ("xavier_uniform", "uniform", math.sqrt(1 / avg)),
           ("xavier_normal", "normal", math.sqrt(1 / avg)),
           ("kaiming_uniform(nonlinearity=relu)", "uniform", math.sqrt(2 / fan_in)),
           ("lecun_normal", "normal", math.sqrt(1 / fan_in)),
           ("lecun_uniform", "uniform", math.sqrt(1 / fan_in)),
           ("kaiming_normal(mode=fan_out, nonlinearity=relu)", "normal", math.sqrt(2 / fan_out)),
           ("kaiming_uniform(mode=fan_out, nonlinearity=relu)", "uniform",
            math.sqrt(2 / fan_out)),
           ("xavier_uniform(gain=5/3)", "uniform", 5 / 3 * math.sqrt(1 / avg)),
           ("xavier_normal(gain=5/3)", "normal", 5 / 3 * math.sqrt(1 / avg))]
    return out


def _cdf(dist: str, std: float):
    """The CDF of the zero-mean normal or uniform law of this std (plain functions: scipy's
    frozen distributions cost more to build than the test itself)."""
    if dist == "normal":
        return lambda x: ndtr(x / std)
    bound = math.sqrt(3) * std
    return lambda x: np.clip((x + bound) / (2 * bound), 0.0, 1.0)


def _fits(values: np.ndarray, dist: str, std: float) -> float:
    """KS p-value of ``values`` (sorted) against the zero-mean law (0 when a uniform bound is
    broken). The statistic as ``scipy.stats.kstest`` computes it, on values sorted once for
    all candidates; its p-value from the exact distribution (``kstwo``) below
    ``ASYMPTOTIC`` values, from Kolmogorov's limit (``kstwobign``, whose survival function is
    ``scipy.special.kolmogorov``) above, where the two agree to well within the decision's
    margin and the exact one costs milliseconds per call.
    A candidate already rejected at ``SCREEN`` order statistics returns that bound's p-value
    (an upper bound of the full test's, below ``ALPHA``) without the CDF at every value."""
    rejected = _screen(values, dist, std)
    return rejected if rejected is not None else _full(values, dist, std)


def _full(values: np.ndarray, dist: str, std: float) -> float:
    """The KS p-value from the CDF at every value (see :func:`_fits`)."""
    cdf = _cdf(dist, std)(values)
    n = values.size
    d = max(float(np.max(np.arange(1, n + 1) / n - cdf)), float(np.max(cdf - np.arange(n) / n)))
    if n < ASYMPTOTIC:
        return float(stats.kstwo.sf(d, n))
    return float(kolmogorov(d * math.sqrt(n)))


def _screen(values: np.ndarray, dist: str, std: float) -> float | None:
    """An upper bound (below ``ALPHA / 10``) of the p-value where the law is rejected without
    the full test: a broken uniform bound, a normal sample that never leaves it, or the KS
    statistic's lower bound at ``SCREEN`` order statistics (D is at least its largest term
    there); None where the full test must decide."""
    top = max(-float(values[0]), float(values[-1]))
    if dist == "uniform" and top > math.sqrt(3) * std * (1 + 1e-6):
        return 0.0
    if dist == "normal" and values.size >= 100 and top < 1.05 * math.sqrt(3) * std:
        return 0.0  # 100 normal draws all within 1.82 std: probability 0.931^100 < 1e-3
    n = values.size
    if n < ASYMPTOTIC:
        return None
    at = np.linspace(0, n - 1, SCREEN).astype(np.int64)
    cdf = _cdf(dist, std)(values[at])
    low = max(float(np.max((at + 1) / n - cdf)), float(np.max(cdf - at / n)))
    bound = float(kolmogorov(low * math.sqrt(n)))  # >= the p-value of D
    return bound if bound < ALPHA / 10 else None  # a margin far beyond rounding


def _passes(values: np.ndarray, dist: str, std: float) -> bool:
    """Whether the KS test keeps the law (p > ``ALPHA``): the decision of ``_fits(...) >
    ALPHA``, taken where it can be from bounds of D at ``BRACKET`` order statistics x_a < x_b
    of the sorted values. Between them every term of D is at most (b + 1) / n - F(x_a) or
    F(x_b) - a / n (F rises, the ranks rise), so the largest of those bounds D from above and
    its p-value the full test's from below: above ``10 ALPHA`` (a margin far beyond the
    CDF's rounding) the law is kept without the CDF at all 50,000 values (1 ms each)."""
    if _screen(values, dist, std) is not None:
        return False
    n = values.size
    if n >= ASYMPTOTIC and n > BRACKET:
        at = np.linspace(0, n - 1, BRACKET).astype(np.int64)
        cdf = _cdf(dist, std)(values[at])
        high = max(float(np.max((at[1:] + 1) / n - cdf[:-1])),
                   float(np.max(cdf[1:] - at[:-1] / n)))
        if float(kolmogorov(high * math.sqrt(n))) > 10 * ALPHA:
            return True
    return _full(values, dist, std) > ALPHA


def _orthonormal(rows: np.ndarray) -> bool:
    """Whether the rows are orthogonal with equal norms (to float32 rounding)."""
    gram = rows @ rows.T
    c = float(np.mean(np.diag(gram)))
    return c > 0 and float(np.max(np.abs(gram - c * np.eye(len(gram))))) <= 1e-4 * c


def _exact(w: np.ndarray, lo: float, hi: float) -> str | None:
    """constant / eye / dirac / orthogonal, recognised from the values themselves (in the
    weight's own dtype, without a copy at its full shape: an identity of a VGG classifier's
    shape alone would be 0.8 GB). lo, hi: the least and greatest value (NaN if any is)."""
    flat = w.reshape(w.shape[0], -1)
    first = flat.flat[0]
    if lo == hi:
        return {0.0: "zeros", 1.0: "ones"}.get(float(first), f"constant({float(first):.4g})")
    # the cheap test first: counting the nonzeros reads the whole weight (10 ms for 9M values)
    if w.ndim == 2 and np.all(np.diagonal(w) == 1) and np.count_nonzero(w) == min(w.shape):
        return "eye"
    if w.ndim >= 3:
        centre = (slice(None), slice(None), *(k // 2 for k in w.shape[2:]))
        ones = np.count_nonzero(w[centre] == 1)
        if ones == min(w.shape[:2]) and np.count_nonzero(w) == ones:
            return "dirac"
    rows, cols = flat.shape
    if min(rows, cols) >= 2 and rows * cols <= 1 << 24:
        tall = flat if rows <= cols else flat.T
        if _orthonormal(tall[:16].astype(np.float64)) and \
                _orthonormal(tall.astype(np.float64)):  # 16 rows first: cheap rejection
            c = float(np.mean(np.sum(tall * tall, axis=1)))
            gain = math.sqrt(c)
            return "orthogonal" if abs(gain - 1) < 1e-3 else f"orthogonal(gain={gain:.4g})"
    return None


def match_init(weight) -> str:
    """Name the initializer a weight of shape (out, in, *kernel) matches, or ``"unknown"``.

    weight: a torch tensor or NumPy array with at least 2 dims. Returns an initlab spec where
    one exists (``he``, ``xavier_uniform``, ``orthogonal(gain=1.414)``, ``normal(std=0.02)``),
    ``"torch default: kaiming_uniform(a=sqrt(5))"`` for PyTorch's own default, or
    ``"unknown"`` (also for fewer than 32 values, too few to tell the laws apart).

    >>> import numpy as np
    >>> match_init(np.random.default_rng(0).normal(0, (2 / 256) ** 0.5, (128, 256)))
    'he'
    """
    w = weight.detach().cpu().numpy() if hasattr(weight, "detach") else np.asarray(weight)
    if not np.issubdtype(w.dtype, np.floating) or w.dtype == np.float16:
        w = w.astype(np.float32)
    if w.ndim < 2:
        return "unknown"
    lo, hi = float(w.min()), float(w.max())  # NaN propagates: finite bounds, finite values
    exact = _exact(w, lo, hi)
    if exact is not None:
        return exact
    values = w.ravel()
    if values.size < MIN_VALUES or not (math.isfinite(lo) and math.isfinite(hi)):
        return "unknown"
    if values.size > MAX_VALUES:
        values = values[:: math.ceil(values.size / MAX_VALUES)]
    # sorted in the weight's dtype, then widened: the same values in the same order (float32
    # sorts in half the time of float64)
    values = np.sort(values).astype(np.float64)
    for name, dist, std in candidates(w.shape):
        if _passes(values, dist, std):
            return name
    std = float(values.std())
    if std > 0 and abs(values.mean()) < 4 * std / math.sqrt(values.size):
        if _passes(values, "normal", std):
            return f"normal(std={std:.3g})"
        if _passes(values, "uniform", float(np.abs(values).max()) / math.sqrt(3)):
            bound = float(np.abs(values).max())
            return f"uniform({-bound:.3g}, {bound:.3g})"
    return "unknown"
