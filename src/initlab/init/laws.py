"""Laws and sampling: the distribution an initializer draws from, and its exact moments.

Every initializer turns a shape into a :class:`Law` (fan -> gain -> std); the law both draws
the array and answers, without drawing, the mean and std of its entries. Normals are drawn as
``rng.standard_normal(shape) * std + mean``, so ``RandomState(3)`` reproduces the course's
``randn(out, in) * scale`` bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from initlab.rng import Rng, as_rng

#: std of N(0, 1) truncated to [-2, 2] (Keras' and JAX's truncated-normal correction)
KERAS_TRUNCATION = 0.87962566103423978


@dataclass(frozen=True)
class Law:
    """The distribution an initializer draws from, for one shape.

    dist: constant | normal | uniform | truncated_normal | orthogonal | sparse | eye | dirac.
    std: the formula's sigma (for truncated_normal the std *before* truncation; the std of what
    is drawn is :meth:`moments`); low/high: uniform interval or absolute truncation bounds;
    gain: the gain the formula used (None where it has none).
    """

    dist: str
    std: float | None = None
    mean: float = 0.0
    low: float | None = None
    high: float | None = None
    gain: float | None = None
    value: float = 0.0
    sparsity: float = 0.0
    groups: int = 1

    @property
    def bound(self) -> float | None:
        return (self.high - self.low) / 2 if self.dist == "uniform" else None

    def moments(self, shape) -> tuple[float, float]:
        """Mean and variance of one entry of an array of ``shape`` drawn from this law.

        Truncated normal (a, b the standardized bounds, p the normal density, Z = Phi(b) -
        Phi(a)): mean + std (p(a) - p(b)) / Z, variance std^2 (1 + (a p(a) - b p(b)) / Z -
        ((p(a) - p(b)) / Z)^2). Orthogonal (rows x cols after flattening): W W^T or W^T W is
        gain^2 I, so the mean square is gain^2 min(rows, cols) / (rows cols). Sparse: a fraction
        ceil(sparsity rows) / rows of each column is zero. Eye and dirac: the fraction p of ones
        gives mean p and variance p (1 - p).
        """
        d, size = self.dist, math.prod(shape)
        if d == "constant":
            return self.value, 0.0
        if d == "normal":
            return self.mean, self.std**2
        if d == "uniform":
            return (self.low + self.high) / 2, (self.high - self.low) ** 2 / 12
        if d == "truncated_normal":
            from scipy.special import ndtr  # here, not at the top: start-up time counts

            a, b = (self.low - self.mean) / self.std, (self.high - self.mean) / self.std
            pa, pb = (math.exp(-t * t / 2) / math.sqrt(2 * math.pi) for t in (a, b))
            mass = float(ndtr(b) - ndtr(a))
            shift = (pa - pb) / mass
            var = self.std**2 * (1 + (a * pa - b * pb) / mass - shift**2)
            return self.mean + self.std * shift, var
        if d == "orthogonal":
            rows, cols = shape[0], math.prod(shape[1:])
            return 0.0, self.gain**2 * min(rows, cols) / (rows * cols)
        if d == "sparse":
            return 0.0, self.std**2 * (1 - math.ceil(self.sparsity * shape[0]) / shape[0])
        if d == "eye":
            p = min(shape[0], shape[1]) / size
        elif d == "dirac":
            p = self.groups * min(shape[0] // self.groups, shape[1]) / size
        else:
            raise AssertionError(f"unhandled law {d}")
        return p, p * (1 - p)

    def sample(self, shape: tuple[int, ...], rng, dtype=np.float64) -> np.ndarray:
        """Draw an array of ``shape`` from this law with ``rng``."""
        d = self.dist
        if d == "constant":
            return np.full(shape, self.value, dtype=dtype)
        if d == "eye":
            return np.eye(shape[0], shape[1], dtype=dtype)
        if d == "dirac":
            return _dirac(shape, self.groups, dtype)
        rng = as_rng(rng)
        if d == "normal":
            return _normal(rng, shape, self.std, self.mean, dtype)
        if d == "uniform":
            if isinstance(rng, np.random.Generator) and dtype == np.float32:
                u = rng.random(shape, dtype=np.float32)
                return (u * np.float32(self.high - self.low) + np.float32(self.low))
            return rng.uniform(self.low, self.high, size=shape).astype(dtype, copy=False)
        if d == "truncated_normal":
            from scipy.special import ndtr, ndtri

            lo = ndtr((self.low - self.mean) / self.std)
            hi = ndtr((self.high - self.mean) / self.std)
            x = ndtri(rng.uniform(lo, hi, size=shape)) * self.std + self.mean
            return np.clip(x, self.low, self.high).astype(dtype, copy=False)
        if d == "orthogonal":
            return _orthogonal(rng, shape, self.gain).astype(dtype, copy=False)
        if d == "sparse":
            w = _normal(rng, shape, self.std, 0.0, dtype)
            n_zero = math.ceil(self.sparsity * shape[0])
            order = np.argsort(rng.random(shape), axis=0)[:n_zero]
            np.put_along_axis(w, order, 0.0, axis=0)
            return w
        raise AssertionError(f"unhandled law {d}")

    def standard(self, shape: tuple[int, ...], rng, dtype=np.float64) -> np.ndarray:
        """The standard-normal draw a normal law scales: ``scale(standard(shape, rng, dtype),
        dtype)`` is ``sample(shape, rng, dtype)`` bit for bit, so laws that differ only in
        std and mean can share one draw (float32 with a Generator, else float64)."""
        if self.dist != "normal":
            raise AssertionError(f"only a normal law scales a standard draw, not {self.dist}")
        return _standard(as_rng(rng), shape, dtype)

    def scale(self, z: np.ndarray, dtype=np.float64, out=None) -> np.ndarray:
        """This normal law's entries from a draw of :meth:`standard` (``z`` is not changed;
        ``out``: an array of z's shape and dtype to write them into, when there is no mean)."""
        return _scaled(z, self.std, self.mean, dtype, out=out)


def _standard(rng: Rng, shape, dtype) -> np.ndarray:
    if isinstance(rng, np.random.Generator) and dtype == np.float32:
        return rng.standard_normal(shape, dtype=np.float32)
    return rng.standard_normal(shape)  # randn(*shape)


def _scaled(z: np.ndarray, std: float, mean: float, dtype, out=None):
    if z.dtype == np.float32:  # drawn in float32 (a Generator): scaled in float32
        z = np.multiply(z, np.float32(std), out=out)
    else:  # randn(*shape) * std, bit for bit
        z = np.multiply(z, std, out=out).astype(dtype, copy=False)
    return z + mean if mean else z


def _normal(rng: Rng, shape, std: float, mean: float, dtype) -> np.ndarray:
    z = _standard(rng, shape, dtype)
    return _scaled(z, std, mean, dtype, out=z)


def _orthogonal(rng: Rng, shape, gain: float) -> np.ndarray:
    rows = shape[0]
    cols = math.prod(shape[1:])
    flat = rng.standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))  # makes the distribution uniform (Haar) over orthogonal matrices
    if rows < cols:
        q = q.T
    return (gain * q).reshape(shape)


def _dirac(shape, groups: int, dtype) -> np.ndarray:
    w = np.zeros(shape, dtype=dtype)
    per_group = shape[0] // groups
    centre = tuple(k // 2 for k in shape[2:])
    for g in range(groups):
        for d in range(min(per_group, shape[1])):
            w[(g * per_group + d, d, *centre)] = 1
    return w
