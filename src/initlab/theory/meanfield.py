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


def _root(fn, lo, hi, f_lo, f_hi, iterations: int = 40):
    """Vectorized Illinois (regula falsi) root finding on brackets [lo, hi] where fn changes
    sign (f_lo > 0 > f_hi or the reverse); keeps the bracket, converges superlinearly."""
    lo, hi, f_lo, f_hi = (np.array(v, dtype=float) for v in (lo, hi, f_lo, f_hi))
    side = np.zeros(lo.shape)
    for _ in range(iterations):
        if np.all((np.abs(hi - lo) <= 1e-15 * np.maximum(np.abs(lo), 1.0)) | (f_lo == 0)
                  | (f_hi == 0)):
            break
        denom = f_hi - f_lo
        x = np.where(denom != 0, (lo * f_hi - hi * f_lo) / np.where(denom != 0, denom, 1.0),
                     (lo + hi) / 2)
        x = np.clip(x, np.minimum(lo, hi), np.maximum(lo, hi))
        fx = fn(x)
        same_lo = np.sign(fx) == np.sign(f_lo)
        # replace the endpoint on fx's side; halve the other's value if it was kept twice
        f_hi = np.where(same_lo & (side == 1), f_hi / 2, f_hi)
        f_lo = np.where(~same_lo & (side == -1), f_lo / 2, f_lo)
        lo, f_lo = np.where(same_lo, x, lo), np.where(same_lo, fx, f_lo)
        hi, f_hi = np.where(same_lo, hi, x), np.where(same_lo, f_hi, fx)
        side = np.where(same_lo, 1, -1)
    return np.where(np.abs(f_lo) < np.abs(f_hi), lo, hi)


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
    def gap(log_q):  # relative, so the bracket's ends at 1e-300 and 1e300 stay comparable
        q = np.exp(log_q)
        mapped = length_map(act, q, sw, sb)
        return (mapped - q) / np.maximum(q, mapped)

    g_lo, g_hi = gap(lo), gap(hi)
    q = np.exp(_root(gap, lo, hi, g_lo, g_hi))
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
    # q* = 0 stands for the limit q -> 0+ (phi'(0+) for ReLU's step)
    return sigma_w2 * expectation(lambda x: d(x) ** 2, np.clip(q, _Q_MIN, _Q_MAX))


def correlation_map(act, c, q, sigma_w2, sigma_b2=0.0, n: int = 64) -> np.ndarray:
    """c_{l+1} from c_l and q_l: (sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2) / q_{l+1}.

    >>> from initlab.nn.activations import get_activation
    >>> round(float(correlation_map(get_activation("relu"), 0.0, 1.0, 2.0)) * math.pi, 9)
    1.0
    """
    q = np.clip(np.asarray(q, dtype=float), _Q_MIN, _Q_MAX)
    cross = bivariate_expectation(act.fn, act.fn, q, q, c, n)
    return (sigma_w2 * cross + sigma_b2) / length_map(act, q, sigma_w2, sigma_b2)


def c_star(act, sigma_w2, sigma_b2=0.0, q=None) -> np.ndarray:
    """The stable fixed point of the correlation map at q*: 1 in the ordered phase
    (chi_1 <= 1), else the root of c = f(c) in [0, 1); broadcasts.

    f is increasing with f(0) >= 0 and, in the chaotic phase, f(c) < c just below 1, so
    bisection on [0, 1) finds the root (odd phi without bias: c* = 0).
    """
    sw, sb = np.broadcast_arrays(np.asarray(sigma_w2, float), np.asarray(sigma_b2, float))
    shape, sw, sb = sw.shape, sw.ravel(), sb.ravel()
    q = q_star(act, sw, sb) if q is None else np.broadcast_to(np.asarray(q, float), shape).ravel()
    out = np.ones(sw.shape)
    top = 1.0 - 1e-9
    chaotic = (q > 0) & (q < math.inf)
    chaotic[chaotic] = chi_1(act, sw[chaotic], sb[chaotic], q[chaotic]) > 1.0
    if chaotic.any():
        w, b, qq = sw[chaotic], sb[chaotic], q[chaotic]
        below = correlation_map(act, np.full(w.shape, top), qq, w, b, n=32) < top  # else 1
        def gap(c):  # 32 nodes per piece: c* to ~1e-8, which is all the bisection needs
            return correlation_map(act, c, qq, w, b, n=32) - c

        lo, hi = np.zeros(w.shape), np.full(w.shape, top)
        root = _root(gap, lo, hi, gap(lo), gap(hi), iterations=25)
        out[chaotic] = np.where(below & (gap(lo) > 0), root, np.where(below, 0.0, 1.0))
    return out.reshape(shape)


def depth_scales(act, sigma_w2: float, sigma_b2: float = 0.0, q: float | None = None,
                 c: float | None = None) -> tuple[float, float, float]:
    """(xi_q, xi_c, chi_c): the depth scales of the length and correlation maps at their
    fixed points, and the correlation map's slope chi_c there (inf where a slope is >= 1)."""
    q = float(q_star(act, sigma_w2, sigma_b2)) if q is None else q
    c = float(c_star(act, sigma_w2, sigma_b2, q)) if c is None else c
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
    none in [low, high]); broadcasts over ``sigma_b2``. The first crossing of chi_1 = 1 on a
    geometric grid is refined by bisection.

    >>> from initlab.nn.activations import get_activation
    >>> round(float(critical_sigma_w2(get_activation("tanh"), 0.0)), 4)
    1.0

    (tanh at sigma_b^2 = 0: chi_1 - 1 grows only like (sigma_w^2 - 1)^2 above 1, so the
    root is found to ~1e-5 there; elsewhere to ~1e-12.)
    """
    sb = np.atleast_1d(np.asarray(sigma_b2, dtype=float)).ravel()
    grid = np.geomspace(low, high, 24)  # chi_1 rises with sigma_w^2: a coarse grid brackets
    chis = chi_1(act, grid[None, :], sb[:, None]) - 1.0  # (B, 24)
    cross = (chis[:, :-1] < 0) & (chis[:, 1:] >= 0)
    found = cross.any(axis=1)
    k = np.argmax(cross, axis=1)
    rows = np.arange(sb.size)

    def gap(log_s):
        return chi_1(act, np.exp(log_s), sb) - 1.0

    root = _root(gap, np.log(grid[k]), np.log(grid[k + 1]), chis[rows, k], chis[rows, k + 1],
                 iterations=30)
    out = np.where(found, np.exp(root), np.nan)
    return out.reshape(np.shape(sigma_b2))


def iterate(act, sigma_w2, sigma_b2, q0: float, c0: float | None, depth: int):
    """q_l and c_l for layers l = 1..depth from inputs of length q0 and correlation c0.

    sigma_w2, sigma_b2 : scalars or arrays (S,) -> q, c : (depth,) or (S, depth)
    (c is None when c0 is None: the length map alone is cheap, the correlation map is not).

    >>> from initlab.nn.activations import get_activation
    >>> q, c = iterate(get_activation("identity"), 1.0, 0.5, 1.0, None, 3)
    >>> q.round(12).tolist(), c
    ([1.5, 2.0, 2.5], None)
    """
    sw, sb = np.broadcast_arrays(np.asarray(sigma_w2, float), np.asarray(sigma_b2, float))
    sw, sb = np.atleast_1d(sw), np.atleast_1d(sb)
    scalar = np.ndim(sigma_w2) == 0 and np.ndim(sigma_b2) == 0
    q = sw * q0 + sb
    c = None if c0 is None else (sw * q0 * c0 + sb) / q
    qs, cs = [q], [c]
    moving = np.ones(np.shape(q), dtype=bool)  # c still changing by more than 1e-12
    for _ in range(depth - 1):
        if c0 is not None and moving.any():  # 32 nodes per piece: ~1e-7 is plenty here
            c = np.array(c, dtype=float)
            new = correlation_map(act, c[moving], q[moving], sw[moving], sb[moving], n=32)
            moving_now = np.abs(new - c[moving]) > 1e-12
            c[moving] = new
            moving[moving] = moving_now
        q = length_map(act, q, sw, sb)
        qs.append(q)
        cs.append(c)
    q_out = np.stack(qs, axis=-1)
    c_out = None if c0 is None else np.stack(cs, axis=-1)
    if scalar:
        return q_out[0], None if c_out is None else c_out[0]
    return q_out, c_out


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


def mean_fields(act, sigma_w2, sigma_b2: float = 0.0) -> list[MeanField]:
    """:func:`mean_field` for every sigma_w^2 of a list (fixed points found together)."""
    check_activation(act)
    sw = np.atleast_1d(np.asarray(sigma_w2, dtype=float))
    q = q_star(act, sw, sigma_b2)
    c = c_star(act, sw, sigma_b2, q)
    chi = chi_1(act, sw, sigma_b2, q)
    out = []
    for w, qq, cc, ch in zip(sw, q, c, chi, strict=True):
        xi_q, xi_c, chi_c = depth_scales(act, float(w), sigma_b2, float(qq), float(cc))
        out.append(MeanField(float(w), float(sigma_b2), float(qq), float(cc), float(ch), chi_c,
                             xi_q, xi_c))
    return out


def mean_field(act, sigma_w2: float, sigma_b2: float = 0.0) -> MeanField:
    """q*, c*, chi_1, chi_c, xi_q and xi_c at one point of the phase diagram.

    >>> from initlab.nn.activations import get_activation
    >>> mf = mean_field(get_activation("tanh"), 4.0, 0.05)
    >>> mf.chi_1 > 1 and mf.c_star < 1   # chaotic: nearby inputs decorrelate
    True
    """
    check_activation(act)
    q = float(q_star(act, sigma_w2, sigma_b2))
    c = float(c_star(act, sigma_w2, sigma_b2, q))
    xi_q, xi_c, chi_c = depth_scales(act, sigma_w2, sigma_b2, q, c)
    return MeanField(float(sigma_w2), float(sigma_b2), q, c,
                     float(chi_1(act, sigma_w2, sigma_b2, q)), chi_c, xi_q, xi_c)
