"""Sequential models of R replicas, and :func:`mlp` to build the usual feed-forward net.

A :class:`Sequential` runs its layers in order on a leading replica axis and ends in logits;
its ``loss`` (from ``output``: ``sigmoid`` or ``softmax``) applies the link. All parameters
live in one ``(R, P)`` buffer (each :class:`~initlab.nn.layers.Param` is a view into it), so an
optimizer can update the whole model with a few array operations; see :meth:`flat_parameters`.

>>> model = mlp([2, 10, 5, 1], init=["zeros", "normal(10)", "he"], seed=[3, 3, 3])
>>> model.predict(np.zeros((4, 2))).shape
(3, 4)
"""

from __future__ import annotations

import copy
import functools
import math
import numbers
from itertools import pairwise

import numpy as np

from initlab.errors import InitlabError, check_float_dtype, check_positive_int
from initlab.init.residual import is_residual_scheme
from initlab.nn import parametrization, serialize
from initlab.nn.dropout import Dropout
from initlab.nn.layers import ActivationLayer, Dense, Param, hand_over, replica_rngs
from initlab.nn.losses import get_loss
from initlab.nn.norm import BatchNorm, check_norm, make_norm
from initlab.nn.residual import residual_layers


class Sequential:
    """Layers applied in order to R replicas at once, ending in logits.

    layers: Dense / BatchNorm / LayerNorm / ActivationLayer / Dropout (all layers with
    parameters share R and dtype).
    output: ``sigmoid`` (1 output unit, binary cross-entropy) or ``softmax`` (C >= 2 units).
    rngs: one random stream per replica for dropout masks (default: ``replica_rngs(0, R)``).
    x : (N, in) shared or (R, N, in) -> logits : (R, N, out).
    """

    def __init__(self, layers, output: str = "sigmoid", rngs=None):
        self.layers = list(layers)
        dense = [layer for layer in self.layers if isinstance(layer, Dense)]
        if not dense:
            raise InitlabError("a model needs at least one Dense layer")
        shapes = {(d.weight.value.shape[0], d.weight.value.dtype) for d in dense}
        if len(shapes) != 1:
            raise InitlabError(f"all Dense layers must share replicas and dtype, got {shapes}")
        for a, b in pairwise(dense):
            if a.out_features != b.in_features:
                raise InitlabError(f"layer sizes do not chain: {a!r} then {b!r}")
        self.replicas, self.dtype = shapes.pop()
        for layer in self.layers:  # normalization layers: same replicas and dtype as Dense
            for p in layer.parameters():
                if p.value.shape[0] != self.replicas or p.value.dtype != self.dtype:
                    raise InitlabError(f"{layer!r} holds {p.value.shape[0]} {p.value.dtype} "
                                       f"replicas; the Dense layers {self.replicas} {self.dtype}")
        self.loss = get_loss(output)
        self.loss.check_output(dense[-1].out_features)
        self.output = output
        self.rngs = replica_rngs(0, self.replicas) if rngs is None else list(rngs)
        if len(self.rngs) != self.replicas:
            raise InitlabError(f"got {len(self.rngs)} random streams for {self.replicas} replicas")
        for layer in self.layers:
            if isinstance(layer, Dropout):
                layer.rngs = self.rngs
        hand_over(self.layers)
        self._flatten()

    def _flatten(self) -> None:
        params = self.parameters()
        sizes = [p.value[0].size for p in params]
        flat = np.empty((self.replicas, sum(sizes)), dtype=self.dtype)
        grad = np.zeros_like(flat)
        offset = 0
        for p, size in zip(params, sizes, strict=True):
            value_view = flat[:, offset:offset + size]
            grad_view = grad[:, offset:offset + size]
            value_view.shape = grad_view.shape = p.value.shape  # a view, never a copy
            p.rebind(value_view, grad_view)
            offset += size
        self._flat = Param(flat, "all", decay=False)
        self._flat.grad = grad
        self._flat.lr_scale = _flat_lr_scale(params, sizes, self.dtype)

    # ------------------------------------------------------------------ structure
    @property
    def dense_layers(self) -> list[Dense]:
        return [layer for layer in self.layers if isinstance(layer, Dense)]

    @property
    def in_features(self) -> int:
        return self.dense_layers[0].in_features

    @property
    def out_features(self) -> int:
        return self.dense_layers[-1].out_features

    @property
    def has_dropout(self) -> bool:
        return any(isinstance(la, Dropout) and la.rate > 0 or getattr(la, "has_dropout", False)
                   for la in self.layers)

    @property
    def has_batch_norm(self) -> bool:
        """True when training mode normalizes with batch statistics (BatchNorm layers, also
        inside residual blocks)."""
        return any(isinstance(la, BatchNorm) or getattr(la, "has_batch_norm", False)
                   for la in self.layers)

    @property
    def n_params(self) -> int:
        """Number of trainable values per replica."""
        return self._flat.value.shape[1]

    def parameters(self) -> list[Param]:
        """Every weight and bias, in layer order: [W0, b0, W1, b1, ...], each (R, ...)."""
        return [p for layer in self.layers for p in layer.parameters()]

    def flat_parameters(self) -> list[Param]:
        """All parameters as one Param of shape (R, P) (views of it are :meth:`parameters`)."""
        return [self._flat]

    # ------------------------------------------------------------------ compute
    def forward(self, x: np.ndarray, train: bool = False, keep: bool = True) -> np.ndarray:
        """Logits (R, N, out) of x : (N, in) or (R, N, in); ``train`` turns dropout on and makes
        BatchNorm use (and update) batch statistics; otherwise it uses its running ones.

        keep=False: for a pass that no backward follows (a loss or a prediction): each layer
        drops what it kept for backward once it has run, so every array is freed as soon as
        the next layer has read it and the allocator hands it back still in cache, instead of
        every layer's arrays staying alive until the pass ends."""
        if keep:
            for layer in self.layers:
                x = layer.forward(x, train)
            return x
        for layer in self.layers:
            x = layer.forward(x, train)
            layer.release()
        return x

    def backward(self, grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Backpropagate dloss/dlogits (R, N, out); fills ``param.grad``, returns dloss/dx.

        With ``input_grad=False`` the first layer's input gradient is skipped (returns None).
        """
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            grad = self.layers[i].backward(grad, input_grad or i > 0)
        return grad

    def check_input(self, X, name: str = "X") -> np.ndarray:
        """X as an array of the model's dtype, (N, in) or (R, N, in), finite and non-empty."""
        X = np.asarray(X)
        if X.dtype.kind not in "biuf":
            raise InitlabError(f"{name} must be numeric, got dtype {X.dtype}")
        if X.ndim not in (2, 3) or (X.ndim == 3 and X.shape[0] != self.replicas):
            raise InitlabError(
                f"{name} must be (N, {self.in_features}) or ({self.replicas}, N, "
                f"{self.in_features}), got shape {X.shape}")
        if X.shape[-1] != self.in_features:
            raise InitlabError(f"{name} has {X.shape[-1]} features per example but the model "
                               f"takes {self.in_features}")
        if X.shape[-2] == 0:
            raise InitlabError(f"{name} is empty: need at least one example")
        X = X.astype(self.dtype, copy=False)
        # A finite sum means no NaN or inf (one pass, no boolean copy of a large X); an infinite
        # one may be overflow, so then NaN or inf must show in the min or the max
        with np.errstate(over="ignore", invalid="ignore"):
            total = X.sum() if X.size else 0.0
        if not math.isfinite(total) and not (np.isfinite(X.min()) and np.isfinite(X.max())):
            raise InitlabError(f"{name} contains NaN or inf")
        return X

    def logits(self, X) -> np.ndarray:
        """Logits (R, N, out) in evaluation mode (no dropout, BatchNorm's running statistics),
        after checking X. No backward follows: the layers keep nothing (``keep=False``)."""
        X = self.check_input(X)
        with np.errstate(all="ignore"):
            return self.forward(X, train=False, keep=False)

    def predict_proba(self, X) -> np.ndarray:
        """P(y = 1) : (R, N) for a sigmoid output; class probabilities (R, N, C) for softmax."""
        z = self.logits(X)
        with np.errstate(all="ignore"):
            return self.loss.proba(z)

    def predict(self, X) -> np.ndarray:
        """Predicted labels (R, N): sigmoid(z) > 0.5, or argmax of the softmax."""
        z = self.logits(X)
        with np.errstate(all="ignore"):
            return self.loss.predict(z)

    # ------------------------------------------------------------------ copies
    def select(self, replicas) -> Sequential:
        """A new model holding copies of the given replicas (their weights and random streams).

        ``model.select([r])`` trains exactly as replica r does inside ``model``.
        """
        idx = [replicas] if isinstance(replicas, numbers.Integral) else list(replicas)
        if not idx or any(isinstance(i, bool) or not isinstance(i, numbers.Integral)
                          or not 0 <= i < self.replicas for i in idx):
            raise InitlabError(f"replica indices must be ints in [0, {self.replicas}), got "
                               f"{replicas!r}")
        rngs = [copy.deepcopy(self.rngs[i]) for i in idx]
        return Sequential([layer.select(idx, rngs) for layer in self.layers], self.output, rngs)

    def copy(self) -> Sequential:
        """An independent copy of the whole model."""
        return self.select(range(self.replicas))

    def save(self, path):
        """Write the model to ``path`` (.safetensors or .npz); see :mod:`initlab.nn.serialize`."""
        return serialize.save(self, path)

    def config(self) -> dict:
        """The architecture as plain JSON types (no weights)."""
        return {"replicas": self.replicas, "dtype": np.dtype(self.dtype).name,
                "output": self.output, "layers": [layer.config() for layer in self.layers]}

    def __repr__(self) -> str:
        head = (f"Sequential(replicas={self.replicas}, params={self.n_params} per replica, "
                f"dtype={np.dtype(self.dtype).name}")
        lines = [f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers)]
        tail = f"  output: {self.output} -> {self.loss.description}"
        return "\n".join([head, *lines, tail, ")"])


def _flat_lr_scale(params, sizes, dtype) -> dict | None:
    """The parameters' learning-rate multipliers (a parametrization's) laid out as the flat
    buffer: {optimizer kind: (P,)}; None when no parameter has any."""
    if all(p.lr_scale is None for p in params):
        return None
    kinds = {k for p in params if p.lr_scale for k in p.lr_scale}
    return {k: np.concatenate([np.full(size, 1.0 if p.lr_scale is None else p.lr_scale[k])
                               for p, size in zip(params, sizes, strict=True)]).astype(dtype)
            for k in kinds}


def _dropout_rates(dropout, hidden: int) -> list[float]:
    rates = list(dropout) if isinstance(dropout, (list, tuple)) else [dropout] * hidden
    if len(rates) != hidden:
        raise InitlabError(f"got {len(rates)} dropout rates for {hidden} hidden layers")
    return rates


def mlp(sizes, activation="relu", init="he", output: str = "sigmoid", dropout=0.0,
        replicas: int = 1, seed=0, dtype=np.float64, bias_init="zeros",
        dropout_mode: str = "inverted", norm: str | None = None, momentum: float = 0.1,
        eps: float = 1e-5, residual: bool = False, blocks: int = 1, branch: int = 2,
        order: str = "post", alpha: float | None = None, learn_alpha: bool = False,
        param: str = "sp", base_width: int | None = None) -> Sequential:
    """A feed-forward net: Dense [-> norm] -> activation [-> Dropout] -> ... -> Dense (logits).

    sizes: [in, h1, ..., out]. init: one spec, or one per replica (``["zeros", "he"]``).
    replicas: R (taken from a list given as ``init`` or ``seed`` when left at 1).
    seed: see :func:`~initlab.nn.layers.replica_rngs`; replica r draws W1, W2, ... in order
    from its own stream (biases from ``bias_init``, zeros by default, draw nothing), and later
    its dropout masks from the same stream. A replica built with seed s is bit-identical to a
    one-replica model built with ``seed=[s]``.
    dropout: a rate after every hidden activation, or one rate per hidden layer (0: none);
    dropout_mode: ``inverted`` or ``scaled_at_test``. Layer indices match PyTorch's
    ``nn.Sequential(nn.Linear, act, [nn.Dropout,] nn.Linear, ...)``.
    param: the width parametrization, ``sp`` (the init as given, one learning rate), ``ntk``
    or ``mup``, relative to ``base_width`` (see :mod:`initlab.nn.parametrization`): the
    weights are drawn as under SP, then rescaled, and the layers get their multipliers.

    residual=True: a residual MLP of sizes [in, width, out] instead (no dropout): Dense(in ->
    width), ``blocks`` blocks x <- x + alpha B(x) of ``branch`` Dense layers each (``order``
    ``post``: Dense [norm] act ... Dense [norm]; ``pre``: [norm] act Dense ...; ``norm`` goes
    in the branch), Dense(width -> out); ``alpha``/``learn_alpha`` a multiplier per block, and
    an init may be a residual scheme (``fixup``, ``skipinit``, ``rezero``,
    ``scaled_residual``, ``zero_init_residual``); see
    :func:`initlab.nn.residual.residual_layers`.

    >>> mlp([2, 4, 1], replicas=3)
    Sequential(replicas=3, params=17 per replica, dtype=float64
      (0): Dense(2 -> 4, init=he)
      (1): ActivationLayer(relu)
      (2): Dense(4 -> 1, init=he)
      output: sigmoid -> binary cross-entropy from logits
    )
    """
    sizes = list(sizes) if isinstance(sizes, (list, tuple)) else sizes
    if not isinstance(sizes, list) or len(sizes) < 2:
        raise InitlabError(f"sizes must be a list [in, hidden..., out] of >= 2 ints, got {sizes!r}")
    for s in sizes:
        check_positive_int(s, "every layer size")
    check_positive_int(replicas, "replicas")
    for given in (init, seed):
        if isinstance(given, (list, tuple)) and replicas == 1:
            replicas = len(given)
    dtype = check_float_dtype(dtype)
    rngs = replica_rngs(seed, replicas)
    rates = _dropout_rates(dropout, len(sizes) - 2)
    norm = check_norm(norm)
    inits = init if isinstance(init, (list, tuple)) else [init] * replicas
    if residual:
        if any(rates):
            raise InitlabError("a residual MLP takes no dropout; give dropout=0")
        if param != "sp":  # the width rules are written for plain chains of Dense layers
            raise InitlabError(f"a residual MLP takes param='sp' only, got {param!r}")
        norm_layer = (functools.partial(make_norm, norm, sizes[1], replicas, dtype, momentum,
                                        eps) if norm else None)  # one new layer per call
        return Sequential(residual_layers(sizes, blocks, branch, inits, rngs, dtype, activation,
                                          order, norm_layer, norm, alpha, learn_alpha,
                                          bias_init), output, rngs)
    scheme = next((s for s in inits if is_residual_scheme(s)), None)
    if scheme is not None:
        raise InitlabError(f"{scheme!r} is an initializer for residual nets: build the model "
                           f"with residual=True (--residual on the command line)")
    layers = []
    for i, (n_in, n_out) in enumerate(pairwise(sizes)):
        layers.append(Dense(n_in, n_out, init, rngs, dtype, bias_init))
        if i < len(sizes) - 2:
            if norm is not None:
                layers.append(make_norm(norm, n_out, replicas, dtype, momentum, eps))
            layers.append(ActivationLayer(activation))
            if rates[i]:
                layers.append(Dropout(rates[i], dropout_mode))
    parametrization.apply(layers, param, sizes, base_width)
    return Sequential(layers, output, rngs)


def load(path, seed=0) -> Sequential:
    """Read a model written by :meth:`Sequential.save` (see :mod:`initlab.nn.serialize`).

    ``seed`` seeds the replicas' dropout streams. A truncated, altered or foreign file raises
    InitlabError naming it.
    """
    layers, output, rngs = serialize.read(path, seed)
    try:
        return Sequential(layers, output, rngs)
    except InitlabError as exc:
        raise InitlabError(f"cannot load model file {str(path)!r}: {exc}") from None
