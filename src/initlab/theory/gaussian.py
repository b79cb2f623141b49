"""Gaussian expectations by quadrature: E[f(u)] for u ~ N(0, q), and E[f(u1) g(u2)] for a pair.

One dimension: Gauss-Legendre on [-12, 0] and [0, 12] with the normal density in the weights.
The halves meet at 0, where ReLU-like activations have their kink (and their derivatives a
step), so those cost no accuracy: a plain Gauss-Hermite rule converges slowly across a kink.

Two dimensions (the correlation map of Poole et al. 2016): with
``u1 = sqrt(q1) z1`` and ``u2 = sqrt(q2) (c z1 + sqrt(1 - c^2) z2)``, z1 and z2 independent
N(0, 1), the pair has covariance ``[[q1, c sqrt(q1 q2)], [c sqrt(q1 q2), q2]]``. The outer
integral over z1 uses the split rule above; the inner one over z2 is split where u2 = 0, i.e.
at ``z2 = -c z1 / sqrt(1 - c^2)``, so both kinks sit on rule boundaries. Against the closed
forms (ReLU's arc-cosine kernel, Cho & Saul 2009; erf's arcsin kernel, Williams 1997; linear)
both rules agree to about 1e-12.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

_LIMIT = 12.0  # P(|z| > 12) ~ 4e-33: nothing beyond it matters in double precision
_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _split_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for E over z ~ N(0, 1): n-point Gauss-Legendre on [-12, 0], [0, 12]."""
    x, w = np.polynomial.legendre.leggauss(n)
    z = (x + 1.0) * (_LIMIT / 2)
    wz = w * (_LIMIT / 2) * np.exp(-0.5 * z * z) / _SQRT_2PI
    nodes, weights = np.concatenate([-z[::-1], z]), np.concatenate([wz[::-1], wz])
    return nodes, weights / weights.sum()  # integrates constants exactly (1 - sum was ~1e-14)


#: Quadrature nodes and weights for E over z ~ N(0, 1): 2 x 200-point Gauss-Legendre.
NODES, WEIGHTS = _split_rule(200)


@functools.cache
def _legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(n)


def _pieces(edges: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n-point Gauss-Legendre nodes and normal-density weights on consecutive intervals.

    edges : (..., k + 1) -> nodes, weights : (..., n k), weights summing to 1.
    """
    x, wx = _legendre(n)
    lo, length = edges[..., :-1, None], np.diff(edges, axis=-1)[..., None]
    z = (lo + length * (x + 1.0) / 2).reshape(*edges.shape[:-1], -1)
    w = (length * wx / 2).reshape(z.shape) * np.exp(-0.5 * z * z)
    return z, w / w.sum(axis=-1, keepdims=True)


def gaussian_expectation(fn: Callable[[np.ndarray], np.ndarray], q: float) -> float:
    """E[fn(sqrt(q) z)] for z ~ N(0, 1), by 2 x 200-point Gauss-Legendre quadrature.

    The two halves meet at 0, so kinks and steps there (ReLU, its derivative) cost no accuracy.

    >>> round(gaussian_expectation(lambda x: x**2, 4.0), 12)
    4.0
    """
    return float(np.dot(WEIGHTS, fn(math.sqrt(q) * NODES)))


def expectation(fn: Callable[[np.ndarray], np.ndarray], q) -> np.ndarray:
    """E[fn(sqrt(q) z)] for every entry of ``q`` at once (q : any shape -> same shape).

    >>> expectation(lambda x: x**2, np.array([1.0, 3.0])).round(12)
    array([1., 3.])
    """
    q = np.asarray(q, dtype=float)
    return fn(np.sqrt(q)[..., None] * NODES) @ WEIGHTS


def gaussian_moments(fn: Callable[[np.ndarray], np.ndarray], q: float) -> tuple[float, float]:
    """Mean and variance of fn(sqrt(q) z), z ~ N(0, 1)."""
    return mean_var(fn(math.sqrt(q) * NODES))


def mean_var(y: np.ndarray) -> tuple[float, float]:
    """Mean and variance over the quadrature nodes (exactly 0 for a constant ``y``)."""
    d = y - y[y.size // 2]  # shifted, so rounding in the weights' sum cannot fake a spread
    shift = float(np.dot(WEIGHTS, d))
    return float(y[y.size // 2]) + shift, max(float(np.dot(WEIGHTS, d * d)) - shift * shift, 0.0)


def bivariate_expectation(f: Callable[[np.ndarray], np.ndarray],
                          g: Callable[[np.ndarray], np.ndarray], q1, q2, c,
                          n: int = 64) -> np.ndarray:
    """E[f(u1) g(u2)] for a Gaussian pair with variances q1, q2 and correlation c.

    u1 = sqrt(q1) z1, u2 = sqrt(q2) (c z1 + sqrt(1 - c^2) z2) (module docstring for the rule).
    q1, q2, c : broadcastable arrays (P,) or scalars -> (P,) or a scalar array.
    n: nodes per piece (4 outer pieces, 2 inner ones). With 64, errors against the closed forms
    stay below 1e-9 for q up to 50; 32 is 4x faster and good to ~1e-7 for q up to 5.

    >>> q = 2.0; c = 0.3   # linear: E[u1 u2] = q c
    >>> float(bivariate_expectation(lambda x: x, lambda x: x, q, q, c).round(12))
    0.6
    """
    q1, q2, c = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (q1, q2, c)))
    shape = q1.shape
    q1, q2, c = (v.reshape(-1, 1, 1) for v in (q1, q2, c))
    c = np.clip(c, -1.0, 1.0)
    s = np.sqrt(np.maximum(1.0 - c * c, 0.0))[:, 0]  # (P, 1)
    # Outer pieces [-12, -w, 0, w, 12]: the inner integral changes over |z1| ~ s near 0
    w = np.clip(8.0 * s, 1e-6, _LIMIT / 2)
    zero = np.zeros_like(w)
    z1, w1 = _pieces(np.concatenate([zero - _LIMIT, -w, zero, w, zero + _LIMIT], axis=-1), n)
    outer = f(np.sqrt(q1[..., 0]) * z1)  # (P, n1)
    # The inner integral for each (point, z1 node), a row of 2n nodes: a block of rows at a
    # time, so its arrays stay in the cache (each row's value is its own elementwise work and
    # a sum along that row: the same bits as all rows at once)
    c_r, s_r, sq_r = (np.repeat(v.reshape(-1), z1.shape[-1]) for v in (c, s, np.sqrt(q2)))
    z_r, step = z1.reshape(-1), max(1, CHUNK // (2 * n))
    inner = np.concatenate([_inner(g, c_r[k:k + step], s_r[k:k + step], sq_r[k:k + step],
                                   z_r[k:k + step], n) for k in range(0, z1.size, step)]
                           or [np.zeros(0)]).reshape(z1.shape)
    value = np.sum(w1 * outer * inner, axis=-1)
    return value.reshape(shape)


#: Quadrature values that :func:`bivariate_expectation` works on at once (128 KiB of floats:
#: a chunk that stays in the CPU's cache).
CHUNK = 1 << 14


def _inner(g, c, s, sq, z1, n: int) -> np.ndarray:
    """Sum over the inner rule of g(u2) for rows of (c, s = sqrt(1 - c^2), sqrt(q2), z1),
    each (rows,): the kink of g at u2 = 0 sits at z2 = -c z1 / s, a rule boundary."""
    c, s, sq, z1 = c[:, None], s[:, None], sq[:, None], z1[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(s > 0, -c * z1 / np.where(s > 0, s, 1.0), 0.0)
    t = np.clip(t, -_LIMIT, _LIMIT)  # inner pieces [-12, t, 12]
    z2, w2 = _pieces(np.concatenate([np.full_like(t, -_LIMIT), t, np.full_like(t, _LIMIT)],
                                    axis=-1), n)
    inner = g(sq * (c * z1 + s * z2))  # (rows, 2n)
    inner *= w2
    return inner.sum(axis=-1)


def legendre_pieces(edges: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for E over z ~ N(0, 1) restricted to consecutive intervals, n-point
    Gauss-Legendre on each, per row of ``edges`` (..., k + 1) -> (..., n k) each, weights
    summing to 1: the rule of :func:`bivariate_expectation`'s inner integral, for callers that
    split at their own kinks (the torch bridge's interpreter splits where x = 0)."""
    return _pieces(edges, n)
