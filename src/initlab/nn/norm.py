"""Normalization layers for R replicas at once: BatchNorm and LayerNorm.

Both normalize ``x_hat = (x - mean) / sqrt(var + eps)`` (``var`` biased) and then scale and
shift per feature, ``y = weight * x_hat + bias``; BatchNorm takes the mean and variance over the
batch (axis N, per feature), LayerNorm over the features (per example). Semantics follow
PyTorch 2.x ``nn.BatchNorm1d`` and ``nn.LayerNorm`` (Ioffe & Szegedy 2015, "Batch
Normalization"; Ba, Kiros & Hinton 2016, "Layer Normalization").

Shapes: weight, bias, running statistics : (R, F); x : (R, N, F) or (N, F) shared by the
replicas -> y : (R, N, F). The backward pass of a normalization over an axis of n values is

    dx = (1 / sqrt(var + eps)) (g_hat - mean(g_hat) - x_hat mean(g_hat x_hat)),  g_hat = g w,

with the means over that same axis (Ioffe & Szegedy 2015, section 3).

>>> bn = BatchNorm(3, replicas=2)
>>> bn.forward(np.arange(12.0).reshape(4, 3), train=True).std(axis=1).round(3)
array([[1., 1., 1.],
       [1., 1., 1.]])
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from initlab.errors import InitlabError, check_positive_int
from initlab.nn.layers import Param

NORMS = ("batch", "layer")


def check_momentum(momentum) -> float:
    """``momentum`` as a float in [0, 1], else InitlabError naming it."""
    if (isinstance(momentum, bool) or not isinstance(momentum, numbers.Real)
            or not 0 <= momentum <= 1):
        raise InitlabError(f"BatchNorm momentum must be a number in [0, 1], got {momentum!r}")
    return float(momentum)


def check_eps(eps) -> float:
    """``eps`` as a finite float > 0, else InitlabError naming it."""
    if (isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not math.isfinite(eps)
            or eps <= 0):
        raise InitlabError(f"normalization eps must be a finite number > 0, got {eps!r}")
    return float(eps)


def check_norm(norm) -> str | None:
    """A model's ``norm`` option: None (or "none"), "batch" or "layer"."""
    if norm is None or norm == "none":
        return None
    if norm not in NORMS:
        raise InitlabError(f"unknown norm {norm!r}; valid: none, {', '.join(NORMS)}")
    return norm


def normalize(x: np.ndarray, axis: int, eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x_hat, mean, var) with x_hat = (x - mean) / sqrt(var + eps) over ``axis`` (biased var).

    Returns x_hat (shape of x) and mean, var with ``axis`` kept (size 1).
    """
    mean = x.mean(axis=axis, keepdims=True)
    xc = x - mean
    var = np.mean(np.square(xc), axis=axis, keepdims=True)
    inv = 1.0 / np.sqrt(var + x.dtype.type(eps))
    xc *= inv
    return xc, mean, var


def normalize_backward(g_hat: np.ndarray, x_hat: np.ndarray, var: np.ndarray, axis: int,
                       eps: float) -> np.ndarray:
    """dL/dx of x_hat = normalize(x) over ``axis``, from g_hat = dL/dx_hat (module docstring)."""
    inv = 1.0 / np.sqrt(var + x_hat.dtype.type(eps))
    dx = g_hat - g_hat.mean(axis=axis, keepdims=True)
    dx -= x_hat * np.mean(g_hat * x_hat, axis=axis, keepdims=True)
    dx *= inv
    return dx


def _affine(features: int, replicas: int, dtype) -> tuple[Param, Param]:
    f = check_positive_int(features, "normalized features")
    r = check_positive_int(replicas, "replicas")
    weight = Param(np.ones((r, f), dtype=dtype), "weight", decay=False)
    bias = Param(np.zeros((r, f), dtype=dtype), "bias", decay=False)
    return weight, bias


def _as_replicas(x: np.ndarray, replicas: int) -> np.ndarray:
    if x.ndim == 2:  # a shared input: the statistics are the same for every replica
        return np.broadcast_to(x, (replicas, *x.shape))
    return x


class _AffineNorm:
    """What both norms share: a per-feature weight (1) and bias (0), (R, F) each."""

    weight: Param
    bias: Param

    @property
    def num_features(self) -> int:
        return self.weight.value.shape[1]

    def parameters(self) -> list[Param]:
        return [self.weight, self.bias]

    def release(self) -> None:
        """Drop the arrays kept for backward (a pass that no backward follows)."""
        self._cache = None


class BatchNorm(_AffineNorm):
    """Batch normalization over features, as ``torch.nn.BatchNorm1d`` on (N, F) inputs.

    Training: x_hat = (x - mean_N(x)) / sqrt(var_N(x) + eps) with the batch's biased variance,
    y = weight x_hat + bias; then running_mean <- (1 - m) running_mean + m mean_N(x) and
    running_var <- (1 - m) running_var + m var_N(x) N / (N - 1) (unbiased), m = ``momentum``.
    Evaluation: x_hat = (x - running_mean) / sqrt(running_var + eps). Backward in training: the
    formula of the module docstring over N; in evaluation: dx = g weight / sqrt(running_var +
    eps). Parameter gradients: dweight = sum_N g x_hat, dbias = sum_N g.

    weight, bias, running_mean, running_var : (R, F) (starting at 1, 0, 0, 1);
    x : (R, N, F) or (N, F) -> y : (R, N, F). A training batch needs N >= 2 (as in PyTorch).
    """

    state_names = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")

    def __init__(self, num_features: int, replicas: int = 1, momentum: float = 0.1,
                 eps: float = 1e-5, dtype=np.float64):
        self.momentum, self.eps = check_momentum(momentum), check_eps(eps)
        self.weight, self.bias = _affine(num_features, replicas, dtype)
        self.running_mean = np.zeros_like(self.weight.value)
        self.running_var = np.ones_like(self.weight.value)
        self.num_batches_tracked = 0
        self._cache = None

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        x = _as_replicas(x, self.weight.value.shape[0])
        if train:
            n = x.shape[-2]
            if n < 2:
                raise InitlabError(
                    f"BatchNorm in training mode needs at least 2 examples per batch (the "
                    f"variance of 1 value is undefined), got a batch of {n}")
            x_hat, mean, var = normalize(x, -2, self.eps)
            inv = 1.0 / np.sqrt(var + x.dtype.type(self.eps))
            m = self.momentum
            self.running_mean *= 1.0 - m
            self.running_mean += m * mean[:, 0]
            self.running_var *= 1.0 - m
            self.running_var += (m * n / (n - 1)) * var[:, 0]
            self.num_batches_tracked += 1
            self._cache = (x_hat, inv, True)
        else:
            inv = (1.0 / np.sqrt(self.running_var + self.eps))[:, None]
            x_hat = (x - self.running_mean[:, None]) * inv
            self._cache = (x_hat, inv, False)
        y = x_hat * self.weight.value[:, None]
        y += self.bias.value[:, None]
        return y

    def backward(self, grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x_hat, inv, train = self._cache
        prod = grad * x_hat
        np.add.reduce(prod, axis=-2, out=self.weight.grad)
        np.add.reduce(grad, axis=-2, out=self.bias.grad)
        if not input_grad:
            return None
        scale = self.weight.value[:, None] * inv  # (R, 1, F)
        if not train:  # evaluation: a fixed affine map
            return grad * scale
        # The module docstring's formula with g_hat = g w: mean_N(g_hat) = w dbias / N and
        # mean_N(g_hat x_hat) = w dweight / N, which backward has just summed.
        n = grad.dtype.type(grad.shape[-2])
        np.multiply(x_hat, self.weight.grad[:, None] / n, out=prod)
        dx = grad - self.bias.grad[:, None] / n
        dx -= prod
        dx *= scale
        return dx

    def select(self, idx, rngs=None) -> BatchNorm:
        return BatchNorm.from_arrays(
            {"weight": self.weight.value[idx], "bias": self.bias.value[idx],
             "running_mean": self.running_mean[idx], "running_var": self.running_var[idx],
             "num_batches_tracked": self.num_batches_tracked}, self.momentum, self.eps)

    @classmethod
    def from_arrays(cls, arrays: dict, momentum: float = 0.1, eps: float = 1e-5) -> BatchNorm:
        """A BatchNorm holding copies of the (R, F) arrays named in :attr:`state_names`."""
        weight = np.array(arrays["weight"])
        if weight.ndim != 2 or weight.dtype.kind != "f":
            raise InitlabError(f"BatchNorm needs a float weight (R, F), got {weight.shape} "
                               f"{weight.dtype}")
        layer = cls(weight.shape[1], weight.shape[0], momentum, eps, weight.dtype)
        for name in ("weight", "bias", "running_mean", "running_var"):
            value = np.asarray(arrays[name])
            if value.shape != weight.shape:
                raise InitlabError(f"BatchNorm {name} has shape {value.shape}, expected "
                                   f"{weight.shape}")
            target = getattr(layer, name)
            (target.value if isinstance(target, Param) else target)[...] = value
        layer.num_batches_tracked = int(arrays["num_batches_tracked"])
        return layer

    def config(self) -> dict:
        return {"type": "batch_norm", "num_features": self.num_features,
                "momentum": self.momentum, "eps": self.eps}

    def __repr__(self) -> str:
        return f"BatchNorm({self.num_features}, momentum={self.momentum:g}, eps={self.eps:g})"


class LayerNorm(_AffineNorm):
    """Layer normalization over the last axis, as ``torch.nn.LayerNorm(F)``.

    x_hat = (x - mean_F(x)) / sqrt(var_F(x) + eps) per example (biased variance), the same in
    training and evaluation; y = weight x_hat + bias. Backward: the module docstring's formula
    over F; dweight = sum_N g x_hat, dbias = sum_N g.

    weight, bias : (R, F); x : (R, N, F) or (N, F) -> y : (R, N, F).
    """

    state_names = ("weight", "bias")

    def __init__(self, normalized_shape: int, replicas: int = 1, eps: float = 1e-5,
                 dtype=np.float64):
        self.eps = check_eps(eps)
        self.weight, self.bias = _affine(normalized_shape, replicas, dtype)
        self._cache = None

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        x_hat, _, var = normalize(_as_replicas(x, self.weight.value.shape[0]), -1, self.eps)
        self._cache = (x_hat, var)
        y = x_hat * self.weight.value[:, None]
        y += self.bias.value[:, None]
        return y

    def backward(self, grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x_hat, var = self._cache
        np.einsum("rnf,rnf->rf", grad, x_hat, out=self.weight.grad)
        np.add.reduce(grad, axis=-2, out=self.bias.grad)
        if not input_grad:
            return None
        return normalize_backward(grad * self.weight.value[:, None], x_hat, var, -1, self.eps)

    def select(self, idx, rngs=None) -> LayerNorm:
        return LayerNorm.from_arrays({"weight": self.weight.value[idx],
                                      "bias": self.bias.value[idx]}, self.eps)

    @classmethod
    def from_arrays(cls, arrays: dict, eps: float = 1e-5) -> LayerNorm:
        """A LayerNorm holding copies of ``weight`` and ``bias`` (R, F)."""
        weight, bias = np.array(arrays["weight"]), np.asarray(arrays["bias"])
        if weight.ndim != 2 or weight.dtype.kind != "f" or bias.shape != weight.shape:
            raise InitlabError(f"LayerNorm needs float weight and bias (R, F), got "
                               f"{weight.shape} {weight.dtype} and {bias.shape}")
        layer = cls(weight.shape[1], weight.shape[0], eps, weight.dtype)
        layer.weight.value, layer.bias.value = weight, bias
        return layer

    def config(self) -> dict:
        return {"type": "layer_norm", "normalized_shape": self.num_features, "eps": self.eps}

    def __repr__(self) -> str:
        return f"LayerNorm({self.num_features}, eps={self.eps:g})"


def make_norm(norm: str, features: int, replicas: int, dtype, momentum: float = 0.1,
              eps: float = 1e-5):
    """The layer of a model's ``norm`` option ("batch" or "layer") over ``features``."""
    if check_norm(norm) == "batch":
        return BatchNorm(features, replicas, momentum, eps, dtype)
    return LayerNorm(features, replicas, eps, dtype)


def norm_from_config(cfg: dict, arrays: dict):
    """Rebuild a BatchNorm or LayerNorm from its :meth:`config` and its saved arrays."""
    if cfg.get("type") == "batch_norm":
        layer = BatchNorm.from_arrays(arrays, cfg.get("momentum", 0.1), cfg.get("eps", 1e-5))
    else:
        layer = LayerNorm.from_arrays(arrays, cfg.get("eps", 1e-5))
    size = cfg.get("num_features", cfg.get("normalized_shape"))
    if layer.num_features != size:
        raise InitlabError(f"{cfg.get('type')} of {size} features does not match its arrays "
                           f"({layer.num_features})")
    return layer


__all__ = ["NORMS", "BatchNorm", "LayerNorm", "check_norm", "make_norm", "norm_from_config",
           "normalize", "normalize_backward"]
