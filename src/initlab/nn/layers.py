"""Layers for R replicas at once: Dense and activation layers (Dropout: :mod:`initlab.nn.dropout`).

Every layer works on a leading replica axis: parameters are ``(R, ...)`` and activations
``(R, N, features)``; the network input may also be ``(N, features)``, shared by all replicas
(broadcast in the first matrix product, never copied R times). A layer's ``forward(x, train)``
caches what its ``backward(grad)`` needs; ``backward`` returns the input gradient and writes the
parameter gradients into ``param.grad``. Incoming arrays are never modified, with one exception
a model arranges (:func:`hand_over`): a ReLU layer right after a Dense layer in a model writes
its output over that layer's output, which nothing else holds, and its input gradient over the
gradient the Dense layer after it returns. In training mode (``train=True``) Dense and ReLU
layers write their outputs, and then their input gradients, into arrays kept from their
previous training call: what one training step returned is overwritten by the next one
(evaluation mode always returns new arrays).

Randomness is per replica: replica ``r`` draws its initial weights and its dropout masks from its
own stream ``rngs[r]`` (see :func:`replica_rngs`), so replicas are independent of one another and
of how many of them share a model.

>>> layer = Dense(3, 2, init="he", rngs=replica_rngs(0, 4))
>>> layer.forward(np.ones((5, 3))).shape
(4, 5, 2)
"""

from __future__ import annotations

import numpy as np

from initlab.errors import InitlabError
from initlab.init import get_initializer
from initlab.nn import buffers
from initlab.nn.activations import Activation, get_activation
from initlab.nn.dropout import Dropout
from initlab.rng import replica_rngs


class Param:
    """A trainable array with its gradient.

    value : (R, ...) -- owned by its model; assigning ``.value`` writes into the existing array
    (so optimizers and views into a model's flat buffer stay attached). grad : same shape.
    ``decay`` marks weights (True) as opposed to biases for L2 regularization. ``lr_scale``:
    None, or per optimizer kind the multiplier of its learning rate (a float, or one per
    value along the last axes), which a width parametrization sets
    (:mod:`initlab.nn.parametrization`).
    """

    __slots__ = ("_value", "grad", "name", "decay", "lr_scale")

    def __init__(self, value: np.ndarray, name: str, decay: bool):
        self._value = value
        self.grad = np.zeros_like(value)
        self.name = name
        self.decay = decay
        self.lr_scale = None

    @property
    def value(self) -> np.ndarray:
        return self._value

    @value.setter
    def value(self, new) -> None:
        new = np.asarray(new)
        if new.shape != self._value.shape:
            raise InitlabError(f"{self.name}: expected shape {self._value.shape}, got {new.shape}")
        self._value[...] = new

    def rebind(self, value: np.ndarray, grad: np.ndarray) -> None:
        """Point this parameter at ``value``/``grad`` (views into a model's flat buffers)."""
        value[...] = self._value
        self._value, self.grad = value, grad

    def __repr__(self) -> str:
        return f"Param({self.name}, shape={self._value.shape}, dtype={self._value.dtype})"


def _per_replica(spec, replicas: int, what: str) -> list:
    specs = list(spec) if isinstance(spec, (list, tuple)) else [spec] * replicas
    if len(specs) != replicas:
        raise InitlabError(f"got {len(specs)} {what} specs for {replicas} replicas")
    return specs


class Dense:
    """Fully connected layer for R replicas: y = x W^T + b.

    weight : (R, out, in) (PyTorch's (out, in) per replica), bias : (R, out);
    x : (N, in) or (R, N, in) -> y : (R, N, out).
    Backward: dW = g^T x, db = sum_n g, dx = g W, with g : (R, N, out). dx is (R, N, in) even
    for a shared input: dx[r] is replica r's part (their sum is the gradient of the summed loss).

    init: one spec or one per replica. rngs: one Generator or RandomState per replica, used
    (and advanced) as is; default ``replica_rngs(0, R)``. Replica r draws
    ``init[r]((out, in), rngs[r])`` and then its bias from the same stream (``bias_init``
    ``zeros``, the default, draws nothing; an init that sets the bias itself, such as
    ``torch_default``, draws it from its own law instead, as ``nn.Linear`` does).
    """

    def __init__(self, in_features: int, out_features: int, init="he", rngs=None,
                 dtype=np.float64, bias_init="zeros"):
        if rngs is None:
            rngs = replica_rngs(0, len(init) if isinstance(init, (list, tuple)) else 1)
        replicas = len(rngs)
        inits = [get_initializer(s) for s in _per_replica(init, replicas, "init")]
        bias = get_initializer(bias_init)
        shape = (int(out_features), int(in_features))
        weight = np.empty((replicas, *shape), dtype=dtype)
        bias_v = np.empty((replicas, shape[0]), dtype=dtype)
        for r, rng in enumerate(rngs):
            weight[r] = inits[r](shape, rng, dtype=dtype)
            own_bias = inits[r].bias_law(shape)  # torch_default sets the bias too
            bias_v[r] = (bias((shape[0],), rng, dtype=dtype) if own_bias is None
                         else own_bias.sample((shape[0],), rng, np.dtype(dtype).type))
        self._setup(weight, bias_v, [i.spec for i in inits], bias.spec)

    @classmethod
    def from_arrays(cls, weight, bias, init=None, bias_init="zeros") -> Dense:
        """A Dense layer holding copies of ``weight : (R, out, in)`` and ``bias : (R, out)``."""
        weight, bias = np.array(weight), np.array(bias)
        if weight.ndim != 3 or bias.shape != weight.shape[:2] or weight.dtype.kind != "f":
            raise InitlabError(
                f"Dense needs float weight (R, out, in) and bias (R, out), got {weight.shape} "
                f"{weight.dtype} and {bias.shape}")
        layer = cls.__new__(cls)
        init = _per_replica(init or "custom", weight.shape[0], "init")
        layer._setup(weight, bias.astype(weight.dtype), list(init), bias_init)
        return layer

    def _setup(self, weight, bias, inits, bias_init):
        self.weight = Param(weight, "weight", decay=True)
        self.bias = Param(bias, "bias", decay=False)
        self.inits, self.bias_init = inits, bias_init
        # y = (multiplier x) W^T + b: the muP readout's 1/width multiplier (mup's MuReadout)
        self.multiplier = 1.0
        self._x = self._ones = None
        self._keep, self._kept = False, {}

    @property
    def in_features(self) -> int:
        return self.weight.value.shape[2]

    @property
    def last_input(self) -> np.ndarray | None:
        """The input x of the last forward pass (None before one), as backward uses it."""
        return self._x

    @property
    def out_features(self) -> int:
        return self.weight.value.shape[1]

    def parameters(self) -> list[Param]:
        return [self.weight, self.bias]

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        if self.multiplier != 1.0:
            x = x * self.multiplier
        self._x = x
        # Computed as y^T = W x^T + b: the result is stored (R, out, N), so the bias add and the
        # bias-gradient sum run along the long N axis; a transposed view is returned. In
        # training a large result goes into an array kept from the previous step.
        w = self.weight._value
        r, n_out, n_in = w.shape
        self._keep = keep = train and (
            r * (n_out if n_out > n_in else n_in) * x.shape[-2] * w.itemsize >= buffers.KEEP_BYTES
            and x.dtype == w.dtype and (x.ndim == 2 or x.shape[0] == r))
        if x.ndim == 2:  # a shared input: one (R out, in) @ (in, N) product, not R small ones
            w2 = w.reshape(r * n_out, n_in)
            if keep:
                out = buffers.kept(self._kept, "y", (r, n_out, x.shape[-2]), w.dtype)
                yt = np.matmul(w2, x.T, out=out.reshape(r * n_out, -1)).reshape(out.shape)
            else:
                yt = (w2 @ x.T).reshape(r, n_out, -1)
        elif keep:
            yt = np.matmul(w, x.swapaxes(-1, -2),
                           out=buffers.kept(self._kept, "y", (r, n_out, x.shape[-2]), w.dtype))
        else:
            yt = np.matmul(w, x.swapaxes(-1, -2))
        yt += self.bias._value[:, :, None]
        return yt.swapaxes(-1, -2)

    def backward(self, grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        gt = grad.swapaxes(-1, -2)
        x, w = self._x, self.weight._value
        if x.ndim == 2:  # dW of all replicas as one (R out, N) @ (N, in) product
            r, n_out, n_in = w.shape
            dw, g2 = self.weight.grad, gt.reshape(r * n_out, -1)
            if dw.flags.c_contiguous:  # one replica: the product goes straight into dW
                np.matmul(g2, x, out=dw.reshape(r * n_out, n_in))
            else:
                dw[...] = (g2 @ x).reshape(dw.shape)
        else:
            np.matmul(gt, x, out=self.weight.grad)
        # db = g^T 1: a matrix-vector product (BLAS) rather than a reduction along short rows,
        # which NumPy does slowly (benchmarks/README.md, "Measurements behind constants")
        ones = self._ones
        if ones is None or ones.shape[0] != gt.shape[-1] or ones.dtype != gt.dtype:
            ones = self._ones = buffers.ones_vector(gt.shape[-1], gt.dtype)
        np.matmul(gt, ones, out=self.bias.grad)
        if not input_grad:
            return None
        wt = w.swapaxes(-1, -2)
        # one output unit: dx is an outer product, a broadcast multiply
        op = np.multiply if w.shape[1] == 1 else np.matmul
        if self._keep and gt.dtype == w.dtype:
            out = buffers.kept(self._kept, "dx", (w.shape[0], w.shape[2], gt.shape[-1]), w.dtype)
            dx = op(wt, gt, out=out)
        else:
            dx = op(wt, gt)
        if self.multiplier != 1.0:
            dx *= self.multiplier
        return dx.swapaxes(-1, -2)

    def release(self) -> None:
        """Drop the input kept for backward (a pass that no backward follows)."""
        self._x = None

    def select(self, idx, rngs=None) -> Dense:
        layer = Dense.from_arrays(self.weight.value[idx], self.bias.value[idx],
                                  [self.inits[i] for i in idx], self.bias_init)
        layer.multiplier = self.multiplier
        layer.weight.lr_scale, layer.bias.lr_scale = self.weight.lr_scale, self.bias.lr_scale
        return layer

    def config(self) -> dict:
        extra = {} if self.multiplier == 1.0 else {"multiplier": self.multiplier}
        if self.weight.lr_scale is not None or self.bias.lr_scale is not None:
            # a width parametrization's learning-rate multipliers train on after a reload
            extra["lr_scale"] = {"weight": _plain_scale(self.weight.lr_scale),
                                 "bias": _plain_scale(self.bias.lr_scale)}
        return {"type": "dense", "in_features": self.in_features,
                "out_features": self.out_features, "init": list(self.inits),
                "bias_init": self.bias_init, **extra}

    def __repr__(self) -> str:
        shown = self.inits[0] if len(set(self.inits)) == 1 else self.inits
        return f"Dense({self.in_features} -> {self.out_features}, init={shown})"


class ActivationLayer:
    """An elementwise nonlinearity as a layer: y = phi(x); backward: dx = g * phi'(x).

    x, y, g : (R, N, features) (or (N, features) before the first Dense layer).
    ``overwrite_input`` / ``overwrite_grad`` (set by the model holding the layer, see
    :func:`hand_over`): a ReLU layer may write its output over x, and its input gradient over
    g; the values are the same, and one array fewer is made and streamed through memory.
    """

    def __init__(self, activation: str | Activation = "relu"):
        self.activation = get_activation(activation)
        self._relu = self.activation.name == "relu"
        self._x = self._y = self._zeros = self._zeros_key = None
        self._keep, self._kept = False, {}
        self.overwrite_input = self.overwrite_grad = False

    @property
    def last_output(self) -> np.ndarray | None:
        """The output y of the last forward pass (None before one)."""
        return self._y

    def parameters(self) -> list[Param]:
        return []

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        if not self._relu:
            self._x, self._keep = x, False
            self._y = self.activation.fn(x)
            return self._y
        # max(x, 0) against zeros laid out as x (see zeros_as); a training step's zeros are
        # found again by one comparison, an evaluation pass's are a view made for it
        key = (x.shape, x.strides, x.dtype)
        if key == self._zeros_key:
            zeros = self._zeros
        else:
            zeros = buffers.zeros_as(x)
            if zeros is None:  # too large to share: the layer's own zeros in training
                zeros = np.zeros_like(x) if train else x.dtype.type(0)
            if train:
                self._zeros, self._zeros_key = zeros, key
        self._x = None  # ReLU's backward needs its output only
        self._keep = train and x.nbytes >= buffers.KEEP_BYTES
        if self.overwrite_input:
            self._y = np.maximum(x, zeros, out=x)
        elif self._keep:
            self._y = np.maximum(x, zeros, out=buffers.kept(self._kept, "y", x.shape, x.dtype, x))
        else:
            self._y = np.maximum(x, zeros)
        return self._y

    def backward(self, grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        if not input_grad:
            return None
        if self._relu:  # phi' = [y > 0]: one comparison instead of building a float mask
            if self.overwrite_grad and grad.dtype == self._y.dtype:
                return np.multiply(grad, self._y > 0, out=grad)
            if self._keep and grad.dtype == self._y.dtype:
                return np.multiply(grad, self._y > 0,
                                   out=buffers.kept(self._kept, "dx", grad.shape, grad.dtype, grad))
            return grad * (self._y > 0)
        return grad * self.activation.grad(self._x, self._y)

    def release(self) -> None:
        """Drop the arrays kept for backward (a pass that no backward follows)."""
        self._x = self._y = None

    def select(self, idx, rngs=None) -> ActivationLayer:
        return ActivationLayer(self.activation)

    def config(self) -> dict:
        return {"type": "activation", "spec": self.activation.spec or self.activation.name}

    def __repr__(self) -> str:
        return f"ActivationLayer({self.activation.spec or self.activation.name})"


def hand_over(layers) -> None:
    """Mark the ReLU layers of a model's layer list (or a residual branch) that may write over
    the arrays they are handed: their input when a Dense layer comes just before them (its
    output, which nothing else holds: Dense keeps its input, not its output) and their
    gradient when a Dense layer comes just after them (its input gradient, made for the
    call). Any other neighbour (a norm layer, dropout, the model's input) leaves the arrays
    alone: only a Dense layer is known to hand over arrays nothing else holds."""
    for i, layer in enumerate(layers):
        if isinstance(layer, ActivationLayer):
            layer.overwrite_input = i > 0 and isinstance(layers[i - 1], Dense)
            layer.overwrite_grad = i + 1 < len(layers) and isinstance(layers[i + 1], Dense)


def _plain_scale(scale):
    """A Param's ``lr_scale`` as JSON values (per optimizer kind: a float or a list)."""
    if scale is None:
        return None
    return {kind: float(v) if np.ndim(v) == 0 else np.asarray(v).tolist()
            for kind, v in scale.items()}


def layer_from_config(cfg: dict, weight=None, bias=None, rngs=None):
    """Rebuild a layer from its :meth:`config` dict (a Dense layer from its saved arrays)."""
    kind = cfg.get("type") if isinstance(cfg, dict) else None
    if kind == "dense":
        shape = (cfg["out_features"], cfg["in_features"])
        if weight is None or bias is None or weight.shape[1:] != shape:
            got = None if weight is None else weight.shape
            raise InitlabError(f"dense layer {shape} does not match the weight array {got}")
        layer = Dense.from_arrays(weight, bias, cfg["init"], cfg.get("bias_init", "zeros"))
        layer.multiplier = float(cfg.get("multiplier", 1.0))
        scales = cfg.get("lr_scale") or {}
        for param, key in ((layer.weight, "weight"), (layer.bias, "bias")):
            if scales.get(key) is not None:
                param.lr_scale = {kind: v if isinstance(v, float) else np.asarray(v)
                                  for kind, v in scales[key].items()}
        return layer
    if kind == "activation":
        return ActivationLayer(cfg["spec"])
    if kind == "dropout":
        return Dropout(cfg["rate"], cfg.get("mode", "inverted"), rngs)
    raise InitlabError(f"unknown layer type {kind!r}; valid: activation, dense, dropout")


__all__ = ["ActivationLayer", "Dense", "Param", "hand_over", "layer_from_config",
           "replica_rngs"]
