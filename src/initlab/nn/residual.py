"""Residual blocks for R replicas at once: ``x <- x + alpha * B(x)``, without normalization or
with it inside the branch.

A :class:`Residual` block holds a *branch* ``B``: a list of layers (Dense, activation,
BatchNorm/LayerNorm, and Fixup's :class:`ScalarBias`) applied in order; the block adds the
branch's output, times a scalar ``alpha`` per replica, to its input (He et al. 2016, "Deep
residual learning"; "Identity mappings in deep residual networks"). The stream itself is never
passed through an activation, so with ``alpha = 0`` or a branch that outputs 0 the block is the
identity -- the state Fixup, SkipInit and ReZero start from.

Shapes as everywhere in :mod:`initlab.nn`: x, y : (R, N, F) (or a shared (N, F) input);
alpha : (R, 1); a ScalarBias : (R, 1). Backward:

    dx = g + B'(x)^T (alpha g),   dalpha = sum_{n,f} g * B(x),

and the branch's layers write their own parameter gradients. Scalars can be *frozen* per
replica (``learn`` False): their gradient is then 0, so any optimizer leaves them where they
started (SGD moves by lr * 0, Adam by 0 / (sqrt(0) + eps)). That keeps replicas with different
residual schemes (He next to SkipInit's learnable alpha) in one model of R replicas.

>>> from initlab.nn.layers import ActivationLayer, Dense, replica_rngs
>>> rngs = replica_rngs(0, 2)
>>> block = Residual([Dense(3, 3, "he", rngs), ActivationLayer("relu"), Dense(3, 3, "he", rngs)],
...                  alpha=[0.0, 1.0], learn=[True, False])
>>> x = np.ones((2, 4, 3))
>>> bool(np.array_equal(block.forward(x)[0], x[0]))  # alpha 0: the identity
True
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from initlab.errors import InitlabError, check_positive_int, choose
from initlab.init.residual import residual_rule
from initlab.nn.layers import (
    ActivationLayer,
    Dense,
    Dropout,
    Param,
    hand_over,
    layer_from_config,
)
from initlab.nn.norm import BatchNorm, LayerNorm, norm_from_config

ORDERS = ("post", "pre")


def check_alpha(alpha) -> float:
    """A residual multiplier: a finite real number, else InitlabError naming it."""
    if (isinstance(alpha, bool) or not isinstance(alpha, numbers.Real)
            or not math.isfinite(alpha)):
        raise InitlabError(f"the residual multiplier alpha must be a finite number, got {alpha!r}")
    return float(alpha)


def _scalars(values, learn, replicas: int, dtype, name: str) -> tuple[Param, np.ndarray]:
    """A (R, 1) Param of initial ``values`` (one or one per replica) and its (R,) learn mask."""
    values = list(values) if isinstance(values, (list, tuple, np.ndarray)) else [values] * replicas
    learn = list(learn) if isinstance(learn, (list, tuple, np.ndarray)) else [learn] * replicas
    if len(values) != replicas or len(learn) != replicas:
        raise InitlabError(f"{name}: got {len(values)} values and {len(learn)} learn flags for "
                           f"{replicas} replicas")
    array = np.array([[check_alpha(v)] for v in values], dtype=dtype)
    return Param(array, name, decay=False), np.array([bool(v) for v in learn])


class ScalarBias:
    """Fixup's scalar bias (Zhang, Dauphin & Ma 2019, rule 3): y = x + b, one b per replica.

    b : (R, 1), starting at 0; x : (R, N, F) or (N, F) -> y : (R, N, F). Backward: dx = g,
    db = sum_{n,f} g (0 for a replica whose ``learn`` flag is False).
    """

    def __init__(self, replicas: int, value=0.0, learn=True, dtype=np.float64):
        self.bias, self.learn = _scalars(value, learn, replicas, dtype, "bias")

    def parameters(self) -> list[Param]:
        return [self.bias]

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        return x + self.bias.value[:, :, None]

    def backward(self, grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        np.sum(grad, axis=(-2, -1), out=self.bias.grad[:, 0])
        self.bias.grad[~self.learn] = 0.0
        return grad if input_grad else None

    def release(self) -> None:
        """Nothing is kept for backward."""

    def select(self, idx, rngs=None) -> ScalarBias:
        return ScalarBias(len(idx), self.bias.value[idx, 0], self.learn[idx],
                          self.bias.value.dtype)

    def config(self) -> dict:
        return {"type": "scalar_bias", "learn": self.learn.tolist()}

    def __repr__(self) -> str:
        return "ScalarBias()"


class Residual:
    """One residual block for R replicas: y = x + alpha * B(x).

    branch: the layers of B, applied in order (Dense, ActivationLayer, BatchNorm, LayerNorm,
    ScalarBias, Dropout); its first layer takes F features and its last gives F.
    alpha: None (no multiplier: alpha = 1, nothing stored), or the initial multiplier, one
    number or one per replica; learn: whether alpha trains (one flag or one per replica).
    x : (R, N, F) or a shared (N, F) -> y : (R, N, F).
    """

    def __init__(self, branch, alpha=None, learn=False):
        self.branch = list(branch)
        hand_over(self.branch)
        dense = [la for la in self.branch if isinstance(la, Dense)]
        if not dense:
            raise InitlabError("a residual branch needs at least one Dense layer")
        if dense[0].in_features != dense[-1].out_features:
            raise InitlabError(f"a residual branch must map F features to F, got "
                               f"{dense[0].in_features} -> {dense[-1].out_features}")
        w = dense[0].weight.value
        self.alpha, self.learn = (None, None) if alpha is None else _scalars(
            alpha, learn, w.shape[0], w.dtype, "alpha")
        self._out = None
        # a Dense layer last hands out an array nothing else holds: the sum may go into it
        self._fresh = isinstance(self.branch[-1], Dense)

    @property
    def features(self) -> int:
        return self.dense_layers[0].in_features

    @property
    def dense_layers(self) -> list[Dense]:
        return [la for la in self.branch if isinstance(la, Dense)]

    @property
    def has_batch_norm(self) -> bool:
        return any(isinstance(la, BatchNorm) for la in self.branch)

    @property
    def has_dropout(self) -> bool:
        return any(isinstance(la, Dropout) and la.rate > 0 for la in self.branch)

    def parameters(self) -> list[Param]:
        params = [p for la in self.branch for p in la.parameters()]
        return params if self.alpha is None else [*params, self.alpha]

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        h = x
        for layer in self.branch:
            h = layer.forward(h, train)
        if self.alpha is not None:
            self._out = h
            h = h * self.alpha.value[:, :, None]
        elif not self._fresh or (h.shape != x.shape  # equal shapes: no broadcast to check
                                 and h.shape != np.broadcast_shapes(h.shape, x.shape)):
            return x + h
        # h is an array the branch's last Dense layer made for this call (kept from step to
        # step in training) or the product above: the sum goes into it, saving an allocation
        h += x
        return h

    def backward(self, grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        g = grad
        if self.alpha is not None:
            np.einsum("rnf,rnf->r", grad, self._out, out=self.alpha.grad[:, 0])
            self.alpha.grad[~self.learn] = 0.0
            g = grad * self.alpha.value[:, :, None]
        for i in range(len(self.branch) - 1, -1, -1):
            g = self.branch[i].backward(g, input_grad or i > 0)
        if not input_grad:
            return None
        # g is an array the branch made for this call (a layer's input gradient; the first
        # layer of a branch is never one that passes its gradient through unchanged)
        g += grad
        return g

    def release(self) -> None:
        """Drop the arrays the block and its branch kept for backward (a pass that no
        backward follows)."""
        self._out = None
        for layer in self.branch:
            layer.release()

    def select(self, idx, rngs=None) -> Residual:
        alpha = None if self.alpha is None else self.alpha.value[idx, 0]
        return Residual([la.select(idx, rngs) for la in self.branch], alpha,
                        None if self.learn is None else self.learn[idx])

    def config(self) -> dict:
        return {"type": "residual", "branch": [la.config() for la in self.branch],
                "learn_alpha": None if self.learn is None else self.learn.tolist()}

    def __repr__(self) -> str:
        inner = ", ".join(repr(la) for la in self.branch)
        alpha = "" if self.alpha is None else ", alpha"
        return f"Residual([{inner}]{alpha})"


def branch_layers(features: int, depth: int, inits, rngs, dtype, activation, order: str,
                  norm_layer=None, fixup_biases=None, bias_init="zeros") -> list:
    """The layers of one branch of ``depth`` Dense layers over ``features``.

    order ``post``: (Dense [norm] act) x (depth - 1), Dense [norm] -- the norm and activation
    after each Dense, as in the branch of He et al. 2016a (the stream takes no activation);
    ``pre``: ([norm] act Dense) x depth, He et al. 2016b's pre-activation branch.
    norm_layer: a function making one norm layer (None: no normalization).
    fixup_biases: a learn mask (R,) to put a ScalarBias before every Dense and every
    activation (Fixup's rule 3), or None for none. Replica r draws its Dense weights in order
    from ``rngs[r]``.
    """
    replicas = len(rngs)

    def bias():
        return [] if fixup_biases is None else [ScalarBias(replicas, 0.0, fixup_biases, dtype)]

    def dense():
        return [*bias(), Dense(features, features, inits, rngs, dtype, bias_init)]

    def act():
        return [*bias(), ActivationLayer(activation)]

    def normed():
        return [] if norm_layer is None else [norm_layer()]

    layers = []
    for i in range(depth):
        if order == "pre":
            layers += [*normed(), *act(), *dense()]
        else:
            layers += [*dense(), *normed(), *(act() if i < depth - 1 else [])]
    return layers


def residual_layers(sizes, blocks: int, branch: int, inits: list, rngs, dtype, activation,
                    order: str = "post", norm_layer=None, norm: str | None = None, alpha=None,
                    learn_alpha: bool = False, bias_init: str = "zeros") -> list:
    """The layers of a residual MLP: Dense(in -> F), ``blocks`` Residual blocks of ``branch``
    Dense layers over F, Dense(F -> out) (the logits); ``sizes`` = [in, F, out].

    inits: one spec per replica; a residual scheme (``fixup``, ``skipinit``, ...) applies its
    :func:`~initlab.init.residual.residual_rule`: every layer draws the rule's base from the
    replica's stream in order (input, block 1's branch, ..., readout), then the rule scales
    the branch and readout weights, sets alpha and Fixup's scalar biases, and zeroes the last
    norm. alpha / learn_alpha: the multiplier of replicas whose scheme does not set one (None
    and False: none, unless another replica's scheme needs one; then a fixed 1).
    """
    order = choose(order, ORDERS, "residual order")
    blocks = check_positive_int(blocks, "residual blocks")
    branch = check_positive_int(branch, "residual branch layers")
    if len(sizes) != 3:
        raise InitlabError(f"a residual MLP takes sizes [in, width, out], got {sizes!r}")
    if alpha is not None:
        alpha = check_alpha(alpha)
    rules = [residual_rule(s, blocks, branch, norm) for s in inits]
    bases = [rule.base for rule in rules]
    n_in, width, n_out = sizes
    fixup = np.array([rule.fixup_biases for rule in rules])
    alphas = [(1.0 if alpha is None else alpha) if rule.alpha is None else rule.alpha
              for rule in rules]
    learns = [learn_alpha if rule.alpha is None else rule.learn_alpha for rule in rules]
    with_alpha = alpha is not None or learn_alpha or any(r.alpha is not None for r in rules)
    layers = [Dense(n_in, width, bases, rngs, dtype, bias_init)]
    for _ in range(blocks):
        inner = branch_layers(width, branch, bases, rngs, dtype, activation, order, norm_layer,
                              fixup if fixup.any() else None, bias_init)
        dense = [la for la in inner if isinstance(la, Dense)]
        norms = [la for la in inner if isinstance(la, (BatchNorm, LayerNorm))]
        for r, rule in enumerate(rules):
            for layer, scale in zip(dense, rule.branch_scales, strict=True):
                _scale(layer, r, scale)
            if rule.zero_norm:
                norms[-1].weight.value[r] = 0.0
        layers.append(Residual(inner, alphas if with_alpha else None, learns))
    readout = Dense(width, n_out, bases, rngs, dtype, bias_init)
    for r, rule in enumerate(rules):
        _scale(readout, r, rule.readout_scale)
    return [*layers, readout]


def _scale(layer: Dense, r: int, scale: float) -> None:
    """Replica r's weights times ``scale``; a zero layer has a zero bias too (Fixup's rule 1)."""
    if scale != 1.0:
        layer.weight.value[r] *= scale
    if scale == 0.0:
        layer.bias.value[r] = 0.0


def residual_from_config(cfg: dict, arrays: dict, dtype, rngs) -> Residual:
    """Rebuild a Residual block from its :meth:`Residual.config` and its arrays by branch
    arrays stacked over the replicas, named as :func:`residual_arrays` names them:
    ``{"branch.0.weight": (R, ...), ..., "alpha": (R, 1)}``."""
    branch = []
    for j, sub in enumerate(cfg["branch"]):
        kind = sub.get("type")
        if kind in ("batch_norm", "layer_norm"):
            names = (BatchNorm if kind == "batch_norm" else LayerNorm).state_names
            parts = {n: arrays[f"branch.{j}.{n}"] for n in names}
            if "num_batches_tracked" in parts:  # one count per replica, as serialize keeps
                parts["num_batches_tracked"] = int(np.max(parts["num_batches_tracked"]))
            branch.append(norm_from_config(sub, parts))
        elif kind == "scalar_bias":
            value = arrays[f"branch.{j}.bias"]
            branch.append(ScalarBias(value.shape[0], value[:, 0], sub["learn"], dtype))
        elif kind == "dense":
            branch.append(layer_from_config(sub, arrays[f"branch.{j}.weight"],
                                            arrays[f"branch.{j}.bias"]))
        else:
            branch.append(layer_from_config(sub, rngs=rngs))
    learn = cfg.get("learn_alpha")
    alpha = None if learn is None else arrays["alpha"][:, 0]
    return Residual(branch, alpha, learn)


def residual_arrays(block: Residual, r: int) -> dict[str, np.ndarray]:
    """Replica r's arrays of a block, under the names of a PyTorch module holding the branch
    as ``branch`` (an ``nn.Sequential``) and ``alpha`` (shape (1,)): ``branch.j.weight``, ...
    A ScalarBias j is ``branch.j.bias`` (shape (1,))."""
    out = {}
    for j, layer in enumerate(block.branch):
        if isinstance(layer, (BatchNorm, LayerNorm)):
            for name in layer.state_names:
                value = getattr(layer, name)
                out[f"branch.{j}.{name}"] = (np.array(value, dtype=np.int64)
                                             if name == "num_batches_tracked" else
                                             np.ascontiguousarray(
                                                 (value.value if isinstance(value, Param)
                                                  else value)[r]))
        else:
            for p in layer.parameters():
                out[f"branch.{j}.{p.name}"] = np.ascontiguousarray(p.value[r])
    if block.alpha is not None:
        out["alpha"] = np.ascontiguousarray(block.alpha.value[r])
    return out


__all__ = ["ORDERS", "Residual", "ScalarBias", "branch_layers", "check_alpha",
           "residual_arrays", "residual_from_config", "residual_layers"]
