"""Losses computed from logits, per replica: binary and softmax cross-entropy.

The model outputs logits ``z : (R, N, out)``; the loss applies the link (sigmoid or softmax).
Both are written so that no ``exp`` can overflow, for logits of any size (1e4 included):

    binary:  l = softplus(z) - y z = max(z, 0) - y z + log(1 + exp(-|z|)),  dl/dz = sigmoid(z) - y
    softmax: l = logsumexp(z) - z_y,  logsumexp(z) = m + log sum exp(z - m), m = max z,
             dl/dz = softmax(z) - onehot(y)

The reported loss is the mean over the N examples, one value per replica: ``(R,)``; the
gradient is that of the mean, ``(R, N, out)``. Labels are ints: ``y : (N,)`` in {0, 1} for
binary, in [0, C) for softmax.

>>> loss, grad = binary_cross_entropy(np.array([[[1e4], [-1e4]]]), np.array([1, 0]))
>>> loss
array([0.])
"""

from __future__ import annotations

import numpy as np

from initlab.errors import InitlabError, choose
from initlab.nn.activations import expit, sigmoid_unchecked


def check_labels(y, n: int | None, classes: int, name: str = "y") -> np.ndarray:
    """Return ``y`` as an int array (N,), or raise naming the bad label or shape.

    Labels may be ints, bools or integral floats; they must lie in [0, classes).
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise InitlabError(f"{name} must be a 1-D array of N labels, got shape {y.shape}")
    if y.size == 0:
        raise InitlabError(f"{name} is empty: need at least one example")
    if n is not None and y.shape[0] != n:
        raise InitlabError(f"{name} has {y.shape[0]} labels but the data has {n} examples")
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            raise InitlabError(f"{name} contains NaN or inf")
        fractional = y[y != np.round(y)]
        if fractional.size:
            raise InitlabError(f"{name} must hold integer class labels, got {fractional[0]}")
    elif y.dtype.kind not in "biu":
        raise InitlabError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    labels = y.astype(np.int64)
    bad = labels[(labels < 0) | (labels >= classes)]
    if bad.size:
        valid = "0 or 1 (binary output)" if classes == 2 else f"ints in [0, {classes})"
        raise InitlabError(f"label {bad[0]} in {name} is out of range: labels must be {valid}")
    return labels


class BinaryCrossEntropy:
    """Sigmoid output, binary cross-entropy from logits. z : (R, N, 1), t : (N, 1) in {0, 1}."""

    name = "sigmoid"
    description = "binary cross-entropy from logits"

    def check_output(self, n_out: int) -> None:
        if n_out != 1:
            raise InitlabError(f"a sigmoid output needs 1 unit in the last layer, got {n_out}")

    def targets(self, y, n: int | None, n_out: int, dtype) -> np.ndarray:
        """Labels (N,) -> float targets t : (N, 1)."""
        return check_labels(y, n, 2).astype(dtype)[:, None]

    def value(self, z: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Mean loss per replica (R,): mean_n softplus(z) - t z."""
        return (np.logaddexp(0, z) - t * z).mean(axis=(-2, -1))

    def grad(self, z: np.ndarray, t: np.ndarray, errstate: bool = True) -> np.ndarray:
        """d mean-loss / dz = (sigmoid(z) - t) / N, shape of z.

        errstate=False: the caller has silenced NumPy's overflow warning already (``fit``
        does, once for all its steps: entering ``np.errstate`` costs microseconds a step).
        """
        # in float32 within 2 ulps of scipy's expit (or 0 where exp(-z) overflows: below
        # float32's smallest normal, 1.2e-38)
        g = expit(z) if errstate else sigmoid_unchecked(z)
        g -= t
        g *= 1.0 / z.shape[-2]
        return g

    def value_and_grad(self, z: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(:meth:`value`, :meth:`grad`) of one forward pass."""
        return self.value(z, t), self.grad(z, t)

    def proba(self, z: np.ndarray) -> np.ndarray:
        """P(y = 1) = sigmoid(z): (R, N)."""
        return expit(z[..., 0])

    def predict(self, z: np.ndarray) -> np.ndarray:
        """Class 1 where sigmoid(z) > 0.5, else 0: (R, N) ints."""
        return (self.proba(z) > 0.5).astype(np.int64)


class SoftmaxCrossEntropy:
    """Softmax output, cross-entropy from logits. z : (R, N, C), t : (N, C) one-hot."""

    name = "softmax"
    description = "softmax cross-entropy from logits"

    def check_output(self, n_out: int) -> None:
        if n_out < 2:
            raise InitlabError(f"a softmax output needs at least 2 units, got {n_out}")

    def targets(self, y, n: int | None, n_out: int, dtype) -> np.ndarray:
        """Labels (N,) -> one-hot targets t : (N, C)."""
        labels = check_labels(y, n, n_out)
        return np.eye(n_out, dtype=dtype)[labels]

    def value(self, z: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Mean loss per replica (R,): mean_n logsumexp(z_n) - z_{n, y_n}."""
        m = z.max(axis=-1, keepdims=True)
        lse = np.log(np.exp(z - m).sum(axis=-1)) + m[..., 0]
        return (lse - (t * z).sum(axis=-1)).mean(axis=-1)

    def grad(self, z: np.ndarray, t: np.ndarray, errstate: bool = True) -> np.ndarray:
        """d mean-loss / dz = (softmax(z) - t) / N, shape of z. Nothing here can overflow
        (``errstate`` is taken for the binary loss's signature and not needed)."""
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        e /= e.sum(axis=-1, keepdims=True)
        e -= t
        e *= 1.0 / z.shape[-2]
        return e

    def value_and_grad(self, z: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(:meth:`value`, :meth:`grad`) sharing one exp(z - m): the same numbers, one softmax."""
        m = z.max(axis=-1, keepdims=True)
        e = np.exp(z - m)
        total = e.sum(axis=-1, keepdims=True)
        lse = np.log(total[..., 0]) + m[..., 0]
        value = (lse - (t * z).sum(axis=-1)).mean(axis=-1)
        e /= total
        e -= t
        e *= 1.0 / z.shape[-2]
        return value, e

    def proba(self, z: np.ndarray) -> np.ndarray:
        """Class probabilities softmax(z): (R, N, C)."""
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def predict(self, z: np.ndarray) -> np.ndarray:
        """The most likely class: (R, N) ints."""
        return z.argmax(axis=-1)


LOSSES = {"sigmoid": BinaryCrossEntropy, "softmax": SoftmaxCrossEntropy}


def get_loss(output: str):
    """The loss object for a model output: ``sigmoid`` or ``softmax``."""
    return LOSSES[choose(output, LOSSES, "output")]()


def _apply(loss, logits, y):
    z = np.asarray(logits)
    if z.ndim != 3 or z.dtype.kind != "f":
        raise InitlabError(f"logits must be a float array (R, N, out), got shape {z.shape}")
    loss.check_output(z.shape[-1])
    t = loss.targets(y, z.shape[1], z.shape[-1], z.dtype)
    with np.errstate(all="ignore"):  # non-finite logits give a non-finite loss, silently
        return loss.value(z, t), loss.grad(z, t)


def binary_cross_entropy(logits, y) -> tuple[np.ndarray, np.ndarray]:
    """Mean binary cross-entropy per replica from logits, and its gradient.

    logits : (R, N, 1), y : (N,) in {0, 1} -> (loss : (R,), dloss/dlogits : (R, N, 1)).
    """
    return _apply(BinaryCrossEntropy(), logits, y)


def softmax_cross_entropy(logits, y) -> tuple[np.ndarray, np.ndarray]:
    """Mean softmax cross-entropy per replica from logits, and its gradient.

    logits : (R, N, C), y : (N,) in [0, C) -> (loss : (R,), dloss/dlogits : (R, N, C)).
    """
    return _apply(SoftmaxCrossEntropy(), logits, y)
