"""Mean-field signal propagation: the length and correlation maps, chi_1, depth scales.

A deep net with weights W_ij ~ N(0, sigma_w^2 / n) and biases b_i ~ N(0, sigma_b^2),
``a_l = W_l phi(a_{l-1}) + b_l``, is, in the wide limit, described by two maps (Poole et al.
2016, "Exponential expressivity in deep neural networks through transient chaos"; Schoenholz
et al. 2017, "Deep information propagation"). The length of a signal, q_l = E[a_l^2]:

    q_{l+1} = sigma_w^2 E[phi(sqrt(q_l) z)^2] + sigma_b^2                      (length map)

and the correlation c_l between the pre-activations of two inputs of equal length:

    c_{l+1} = (sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2) / q_{l+1},
    (u1, u2) ~ N(0, q_l [[1, c_l], [c_l, 1]])                                  (correlation map)

The first layer sees the inputs themselves: q_1 = sigma_w^2 q_0 + sigma_b^2 with
q_0 = |x|^2 / n_0, and c_1 = (sigma_w^2 q_0 c_0 + sigma_b^2) / q_1.

At the fixed point q*, c = 1 is always a fixed point of the correlation map, with slope

    chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2];

chi_1 < 1: ordered (every pair of inputs ends up equal, c* = 1); chi_1 > 1: chaotic (c* < 1,
nearby inputs decorrelate); chi_1 = 1: the critical line sigma_w^2(sigma_b^2), the edge of
chaos. Near the fixed points, |q_l - q*| ~ exp(-l / xi_q) and |c_l - c*| ~ exp(-l / xi_c) with

    xi_q = -1 / ln(sigma_w^2 E[phi'(u)^2 + phi(u) phi''(u)]) at q*,
    xi_c = -1 / ln(chi_c),  chi_c = sigma_w^2 E[phi'(u1) phi'(u2)] at (q*, c*),

(the first computed as d q_{l+1} / d q_l = sigma_w^2 E[phi(u) phi'(u) u] / q, by Stein's lemma,
so phi'' is never needed). Schoenholz et al. find that a net trains only when its depth is
below about 6 xi_c. xi_c diverges on the critical line.

Every function takes an activation with ``fn(x)`` and ``grad(x, y)`` (an
:class:`initlab.nn.activations.Activation`); the ones below broadcast over arrays of
sigma_w^2 and sigma_b^2, so a whole phase diagram is one call.

>>> from initlab.nn.activations import get_activation
>>> round(float(critical_sigma_w2(get_activation("relu"), 0.0)), 9)
2.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from initlab.errors import InitlabError
from initlab.theory.gaussian import bivariate_expectation, expectation

#: Activations the maps support: every kink or step at 0, where the quadrature splits.
SUPPORTED = ("tanh", "erf", "relu", "leaky_relu", "identity", "sigmoid", "selu", "elu", "gelu",
             "softplus")
_Q_MIN, _Q_MAX = 1e-300, 1e300  # q* below / above these is reported as 0 / inf


def check_activation(activation):
    """Return ``activation`` if the maps support it, else raise naming the supported ones."""
    name = getattr(activation, "name", activation)
    if name not in SUPPORTED:
        raise InitlabError(f"activation {name!r} has no mean-field theory in initlab; choose "
                           f"from {', '.join(SUPPORTED)}")
    return activation


def _phi2(act):
    return lambda x: act.fn(x) ** 2


def _dphi(act):
    return lambda x: act.grad(x, act.fn(x))


def length_map(act, q, sigma_w2, sigma_b2=0.0) -> np.ndarray:
    """q_{l+1} = sigma_w^2 E[phi(sqrt(q_l) z)^2] + sigma_b^2 (arrays broadcast)."""
    q = np.asarray(q, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):  # unbounded phi at q ~ 1e300: inf
        return sigma_w2 * expectation(_phi2(act), np.minimum(q, _Q_MAX)) + sigma_b2


def q_star(act, sigma_w2, sigma_b2=0.0, q0: float = 1.0) -> np.ndarray:
    """The stable fixed point of the length map reached from ``q0`` (0 or inf where q_l
    shrinks to 0 or grows without bound); broadcasts over sigma_w2 and sigma_b2.

    The map is increasing in q, so the iterates move monotonically to the nearest fixed point
    on the side of q0 where the map points; it is found by bisection in log q.

    >>> from initlab.nn.activations import get_activation
    >>> float(q_star(get_activation("relu"), 1.0, 0.5))   # sigma_b^2 / (1 - sigma_w^2 / 2)
    1.0
    """
    sw, sb = np.broadcast_arrays(np.asarray(sigma_w2, float), np.asarray(sigma_b2, float))
    shape, sw, sb = sw.shape, sw.ravel(), sb.ravel()
    at_q0 = length_map(act, np.full(sw.shape, q0), sw, sb) - q0
    up = at_q0 >= 0  # the map points upward at q0
    lo = np.where(up, math.log(q0), math.log(_Q_MIN))
    hi = np.where(up, math.log(_Q_MAX), math.log(q0))
    # g(q) = map(q) - q changes sign from + to - across the fixed point, on both sides of q0
    g_lo = length_map(act, np.exp(lo), sw, sb) - np.exp(lo)
    g_hi = length_map(act, np.exp(hi), sw, sb) - np.exp(hi)
    for _ in range(80):
        mid = (lo + hi) / 2
        g = length_map(act, np.exp(mid), sw, sb) - np.exp(mid)
        pos = g > 0
        lo, hi = np.where(pos, mid, lo), np.where(pos, hi, mid)
    q = np.exp((lo + hi) / 2)
    q = np.where(up & (g_hi > 0), np.inf, q)  # still above the diagonal at 1e300
    q = np.where(~up & (g_lo <= 0), 0.0, q)  # below the diagonal down to 1e-300
    # q0 itself is fixed up to rounding (e.g. ReLU at sigma_w^2 = 2, sigma_b^2 = 0)
    q = np.where(np.abs(at_q0) <= 1e-13 * q0, q0, q)
    return q.reshape(shape)


def chi_1(act, sigma_w2, sigma_b2=0.0, q=None) -> np.ndarray:
    """chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2] (at ``q`` when given); broadcasts.

    >>> from initlab.nn.activations import get_activation
    >>> float(chi_1(get_activation("tanh"), 1.0, 0.0))   # the critical point of tanh
    1.0
    """
    q = q_star(act, sigma_w2, sigma_b2) if q is None else np.asarray(q, dtype=float)
    d = _dphi(act)
    return sigma_w2 * expectation(lambda x: d(x) ** 2, np.clip(q, 0.0, _Q_MAX))


def correlation_map(act, c, q, sigma_w2, sigma_b2=0.0, n: int = 64) -> np.ndarray:
    """c_{l+1} from c_l and q_l: (sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2) / q_{l+1}.

    >>> from initlab.nn.activations import get_activation
    >>> round(float(correlation_map(get_activation("relu"), 0.0, 1.0, 2.0)) * math.pi, 9)
    1.0
    """
    q = np.clip(np.asarray(q, dtype=float), _Q_MIN, _Q_MAX)
    cross = bivariate_expectation(act.fn, act.fn, q, q, c, n)
    return (sigma_w2 * cross + sigma_b2) / length_map(act, q, sigma_w2, sigma_b2)


def c_star(act, sigma_w2: float, sigma_b2: float = 0.0, q: float | None = None) -> float:
    """The stable fixed point of the correlation map at q*: 1 in the ordered phase
    (chi_1 <= 1), else the root of c = f(c) in [0, 1) (one pair of numbers, not arrays)."""
    q = float(q_star(act, sigma_w2, sigma_b2)) if q is None else q
    if not 0 < q < math.inf or float(chi_1(act, sigma_w2, sigma_b2, q)) <= 1.0:
        return 1.0

    def gap(c):
        return float(correlation_map(act, c, q, sigma_w2, sigma_b2)) - c

    top = 1.0 - 1e-9
    if gap(top) >= 0:  # so close to critical that the two fixed points merge
        return 1.0
    # f(0) = (sigma_w^2 E[phi]^2 + sigma_b^2) / q* >= 0, so only rounding makes gap(0) < 0
    # (odd phi without bias: c* = 0)
    if gap(0.0) <= 0:
        return 0.0
    return brentq(gap, 0.0, top, xtol=1e-13, rtol=4 * np.finfo(float).eps)


def depth_scales(act, sigma_w2: float, sigma_b2: float = 0.0, q: float | None = None,
                 c: float | None = None) -> tuple[float, float, float]:
    """(xi_q, xi_c, chi_c): the depth scales of the length and correlation maps at their
    fixed points, and the correlation map's slope chi_c there (inf where a slope is >= 1)."""
    q = float(q_star(act, sigma_w2, sigma_b2)) if q is None else q
    c = c_star(act, sigma_w2, sigma_b2, q) if c is None else c
    qq = min(max(q, _Q_MIN), _Q_MAX)
    d = _dphi(act)
    with np.errstate(over="ignore", invalid="ignore"):
        slope_q = sigma_w2 * float(expectation(lambda x: act.fn(x) * d(x) * x, qq)) / qq
    if c >= 1.0:
        chi_c = float(chi_1(act, sigma_w2, sigma_b2, q))
    else:
        chi_c = sigma_w2 * float(bivariate_expectation(d, d, qq, qq, c))

    def scale(slope):
        return -1.0 / math.log(slope) if 0 < slope < 1 else (0.0 if slope <= 0 else math.inf)

    return scale(slope_q), scale(chi_c), chi_c


def critical_sigma_w2(act, sigma_b2, low: float = 1e-2, high: float = 100.0) -> np.ndarray:
    """The critical line: the sigma_w^2 where chi_1 = 1, for each sigma_b^2 (NaN where there is
    none in [low, high]); broadcasts over ``sigma_b2``.

    >>> from initlab.nn.activations import get_activation
    >>> round(float(critical_sigma_w2(get_activation("tanh"), 0.0)), 9)
    1.0
    """
    sb = np.asarray(sigma_b2, dtype=float)
    grid = np.geomspace(low, high, 64)
    out = np.full(sb.size, np.nan)
    for i, b in enumerate(sb.ravel()):
        chis = chi_1(act, grid, b) - 1.0
        cross = np.flatnonzero((chis[:-1] < 0) & (chis[1:] >= 0))
        if cross.size:
            k = cross[0]
            if chis[k + 1] == 0:
                out[i] = grid[k + 1]
            else:
                out[i] = brentq(lambda s, b=b: float(chi_1(act, s, b)) - 1.0, grid[k],
                                grid[k + 1], xtol=1e-13, rtol=4 * np.finfo(float).eps)
    return out.reshape(sb.shape)


def iterate(act, sigma_w2, sigma_b2, q0: float, c0: float, depth: int):
    """q_l and c_l for layers l = 1..depth from inputs of length q0 and correlation c0.

    sigma_w2, sigma_b2 : scalars or arrays (S,) -> q, c : (depth,) or (S, depth).
    """
    sw, sb = np.broadcast_arrays(np.asarray(sigma_w2, float), np.asarray(sigma_b2, float))
    q = sw * q0 + sb
    c = (sw * q0 * c0 + sb) / q
    qs, cs = [q], [c]
    for _ in range(depth - 1):
        c = correlation_map(act, c, q, sw, sb, n=32)  # beside measurements: ~1e-7 is plenty
        q = length_map(act, q, sw, sb)
        qs.append(q)
        cs.append(c)
    return np.stack(qs, axis=-1), np.stack(cs, axis=-1)


@dataclass(frozen=True)
class MeanField:
    """The mean-field quantities at one (sigma_w^2, sigma_b^2)."""

    sigma_w2: float
    sigma_b2: float
    q_star: float
    c_star: float
    chi_1: float
    chi_c: float
    xi_q: float
    xi_c: float


def mean_field(act, sigma_w2: float, sigma_b2: float = 0.0) -> MeanField:
    """q*, c*, chi_1, chi_c, xi_q and xi_c at one point of the phase diagram.

    >>> from initlab.nn.activations import get_activation
    >>> mf = mean_field(get_activation("tanh"), 4.0, 0.05)
    >>> mf.chi_1 > 1 and mf.c_star < 1   # chaotic: nearby inputs decorrelate
    True
    """
    check_activation(act)
    q = float(q_star(act, sigma_w2, sigma_b2))
    c = c_star(act, sigma_w2, sigma_b2, q)
    xi_q, xi_c, chi_c = depth_scales(act, sigma_w2, sigma_b2, q, c)
    return MeanField(float(sigma_w2), float(sigma_b2), q, c,
                     float(chi_1(act, sigma_w2, sigma_b2, q)), chi_c, xi_q, xi_c)
