"""Every layer of deep MLPs at initialization, seen from inside, for many nets side by side.

:func:`probe` computes what a net made of this package's layers computes, layer after layer::

    Dense (a_l = h_{l-1} W_l^T + b_l) -> [BatchNorm or LayerNorm, weight 1, bias 0, in
    training mode] -> ActivationLayer (h_l = phi(a_l))

forward once, then backward from a gradient dL/dh_d fed in at each top layer d, and hands
every layer's values to an :class:`Observer`: the pre-activations and activations on the way
up, dL/dh_l, dL/da_l (what the Dense layer receives) and the Dense layer's input on the way
down. A net given an LSUV rule has each weight rescaled on this batch, W_l <- s W_l, as
:func:`initlab.lsuv.lsuv` does.

It is the speed path of such a net, for the activation study's sizes (10 layers of 4096):

- the products with W_l come from an operator the caller gives, so the weights may be drawn
  in row blocks and never held whole, and one draw may serve several nets
  (:class:`initlab.experiments.weight_draws.LayerWeights`);
- all activations of one net run side by side, (A, N, n) arrays, in one product per layer;
- one forward pass serves every top layer: the layers below d do not depend on the ones above.

``tests/nn/test_probe.py`` checks it bit for bit against the layers themselves
(:class:`~initlab.nn.layers.Dense`, :class:`~initlab.nn.norm.BatchNorm`,
:class:`~initlab.nn.norm.LayerNorm`, :class:`~initlab.nn.layers.ActivationLayer`) given
products computed as Dense computes them. Dense multiplies as ``W x^T``; an operator that
multiplies as ``x W^T`` (the activation study's) rounds float32 products differently, in the
last bits, and nothing else differs.
"""

from __future__ import annotations

import numpy as np

from initlab.nn.activations import get_activation
from initlab.nn.norm import check_norm, normalize, normalize_backward

#: the axis a normalization averages over: the batch (BatchNorm) or the units (LayerNorm)
NORM_AXIS = {"batch": -2, "layer": -1}


class Observer:
    """What :func:`probe` reports, layer by layer (``layer`` 1-based; ``net`` the net's index).

    forward: ``a`` the input of the activation (after the normalization, if any), (A, N, n)
    or (1, N, n) when every activation shares it (layer 1 without LSUV differences);
    ``h`` the activations, (A, N, n).
    backward: for the top layers ``tops`` (deepest first) at or above ``layer``: ``g`` =
    dL/dh_l and ``delta`` = dL/da_l before the normalization (what the Dense layer receives),
    both (T, A, N, n); ``h_prev`` the Dense layer's input h_{l-1}, (A or 1, N, n_{l-1}).
    The arrays belong to the probe: read them, do not keep or change them.
    """

    def forward(self, net: int, layer: int, a: np.ndarray, h: np.ndarray) -> None:
        """Called once per net and layer, bottom up."""

    def backward(self, net: int, layer: int, tops: list[int], g: np.ndarray,
                 delta: np.ndarray, h_prev: np.ndarray) -> None:
        """Called once per net and layer, top down, when a top gradient is given."""


def probe(x: np.ndarray, weights, activations, depth: int, *, lsuv=(None,), bias=None,
          norm: str | None = None, eps: float = 1e-5, tops=None, top_gradient=None,
          observer: Observer | None = None) -> list[list[np.ndarray]]:
    """Run ``len(lsuv)`` nets of ``depth`` layers on input ``x`` (N, n_0), every activation of
    ``activations`` (specs or :class:`~initlab.nn.activations.Activation`) side by side.

    weights(layer) -> an operator whose ``multiply(jobs, backward=False)`` returns, for each
    ``(net, s)`` of ``jobs``, ``s W^T`` with that net's (out, in) weight of this layer (s:
    (..., N, in)), or backward ``s W`` (s: (..., N, out)), shaped as s with its last axis
    changed. lsuv: per net, None or its LSUV rule ``(a, b) -> (s, variance, rescalings)``
    per leading index of the bias-free products a (:func:`initlab.lsuv.lsuv_scale`).
    bias(layer) -> b_l (every net's), or None for no bias. norm: None, "batch" or "layer".
    tops: the top layers fed a gradient (default: ``depth``); top_gradient(layer) -> dL/dh
    at that top, (N, n_layer), or None: no backward pass.

    Returns, per net, what LSUV did in each layer: (2, A) arrays of (rescalings, variance
    reached); an empty list for a net without LSUV.
    """
    run = _Pass(x, weights, [get_activation(a) for a in activations], list(lsuv), bias,
                NORM_AXIS.get(check_norm(norm)), eps, observer or Observer(),
                top_gradient is not None)
    for layer in range(1, depth + 1):
        run.forward(layer)
    if top_gradient is not None:
        tops = set(tops or [depth])
        for layer in range(max(tops), 0, -1):
            run.backward(layer, top_gradient(layer) if layer in tops else None)
    return run.lsuv_done


class _Pass:
    """The state of one :func:`probe`: per net, what the backward pass needs of each layer
    (h_{l-1}, phi'(a_l), the normalization's x_hat and variance, LSUV's factor)."""

    def __init__(self, x, weights, acts, lsuv, bias, axis, eps, observer, backward: bool):
        self.weights, self.acts, self.lsuv, self.bias = weights, acts, lsuv, bias
        self.axis, self.eps, self.observer, self.dtype = axis, eps, observer, x.dtype
        nets = range(len(lsuv))
        self.hs = [x[None]] * len(lsuv)  # (1, N, n_0): layer 1's product serves every act
        self.kept_h = [[np.broadcast_to(x, (len(acts), *x.shape))] if backward else None
                       for _ in nets]
        self.kept_d, self.kept_n = [[] for _ in nets], [[] for _ in nets]
        self.scale, self.lsuv_done = [{} for _ in nets], [[] for _ in nets]
        self.ops, self.gs, self.tops = {}, [None for _ in nets], []

    def forward(self, layer: int) -> None:
        """Layer ``layer`` of every net: product, LSUV, bias, normalization, activation."""
        dt, op = self.dtype, self.weights(layer)
        self.ops[layer] = op
        products = op.multiply(list(enumerate(self.hs)))
        b = self.bias(layer) if self.bias is not None else 0.0
        for i, a in enumerate(products):
            if self.lsuv[i]:  # W <- s W for each activation's net, s from this batch
                s, var, tries = self.lsuv[i](a, b)
                self.scale[i][layer] = s[:, None, None].astype(dt)
                a *= self.scale[i][layer]
                self.lsuv_done[i].append(np.broadcast_to([tries, var], (2, len(self.acts))))
            a += b
            if self.axis is not None:  # training mode: the batch's (or unit's) statistics
                a, _, var = normalize(a, self.axis, self.eps)
                self.kept_n[i].append((a, var))
            h = self.hs[i] = np.stack([act.fn(a[k % len(a)]).astype(dt, copy=False)
                                       for k, act in enumerate(self.acts)])
            self.observer.forward(i, layer, a, h)
            if self.kept_h[i] is not None:
                self.kept_h[i].append(h)
                self.kept_d[i].append(np.stack([act.grad(a[k % len(a)], h[k]).astype(
                    dt, copy=False) for k, act in enumerate(self.acts)]))

    def backward(self, layer: int, top: np.ndarray | None) -> None:
        """dL/dh_l to dL/dh_{l-1} in every net, for every top at or above ``layer`` at once
        (``top``: the gradient fed in here, if ``layer`` is a top)."""
        if top is not None:  # a net with its top here: its gradient joins, (1, A, N, n)
            top = np.broadcast_to(top, (1, len(self.acts), *top.shape))
            self.gs = [top if g is None else np.concatenate([g, top]) for g in self.gs]
            self.tops.append(layer)
        deltas = []
        for i, g in enumerate(self.gs):
            delta = g * self.kept_d[i][layer - 1]
            if self.axis is not None:
                x_hat, var = self.kept_n[i][layer - 1]
                delta = normalize_backward(delta, x_hat, var, self.axis, self.eps)
            self.observer.backward(i, layer, list(self.tops), g, delta,
                                   self.kept_h[i][layer - 1])
            deltas.append(delta)
        op = self.ops.pop(layer)
        if layer == 1:
            return
        # each top's own product, as its net alone computes it
        parts = op.multiply([(i, part) for i in range(len(deltas)) for part in deltas[i]],
                            backward=True)
        n = len(self.tops)
        for i in range(len(deltas)):
            g = np.stack(parts[i * n:(i + 1) * n])
            self.gs[i] = g * self.scale[i][layer] if layer in self.scale[i] else g


__all__ = ["NORM_AXIS", "Observer", "probe"]
