"""Variance-propagation theory: what initialization predicts for every layer.

For a net ``a_l = h_{l-1} W_l^T + b_l``, ``h_l = phi(a_l)`` with i.i.d. zero-mean weights of
variance ``v_l = sigma_w^2 / fan_in`` and biases of variance ``sigma_b^2``, every pre-activation
is (by the central limit theorem) Gaussian with variance

    q_l = fan_in_l v_l E[h_{l-1}^2] + sigma_b^2,   E[h_l^2] = E[phi(sqrt(q_l) z)^2],

and a gradient ``g_l = dL/dh_l`` shrinks or grows going down by

    E[g_{l-1}^2] = fan_out_l v_l E[phi'(sqrt(q_l) z)^2] E[g_l^2]   (chi = sigma_w^2 E[phi'^2]).

(Poole et al. 2016, "Exponential expressivity in deep neural networks through transient
chaos"; Schoenholz et al. 2017, "Deep information propagation"; the cs231n argument
Var(sum_i w_i x_i) = n Var(w) Var(x).) Gaussian expectations come from
:mod:`initlab.theory.gaussian`.

Weights that are all equal (``zeros``, ``ones``, ``constant(5)``) are covered exactly too: every
unit of a layer then carries the same value, a deterministic function of the input's sum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from initlab.theory.gaussian import (
    NODES,
    WEIGHTS,
    gaussian_expectation,
    gaussian_moments,
    mean_var,
)


def _grad_fn(activation):
    return lambda x: activation.grad(x, activation.fn(x))


def variance_map(activation, q: float, sigma_w2: float, sigma_b2: float = 0.0) -> float:
    """One step of the recursion: q' = sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2.

    >>> from initlab.nn.activations import get_activation
    >>> round(variance_map(get_activation("relu"), 1.0, 2.0), 12)  # He keeps q for ReLU
    1.0
    """
    return sigma_w2 * gaussian_expectation(lambda x: activation.fn(x) ** 2, q) + sigma_b2


def chi(activation, q: float, sigma_w2: float) -> float:
    """The gradient's variance factor per layer: chi = sigma_w^2 E[phi'(sqrt(q) z)^2]."""
    d = _grad_fn(activation)
    return sigma_w2 * gaussian_expectation(lambda x: d(x) ** 2, q)


def law_moments(law, shape) -> tuple[float, float] | None:
    """Mean and variance of one entry drawn from an :class:`initlab.init.Law` at ``shape``
    (:meth:`initlab.init.Law.moments`: truncated normals get their true variance, orthogonal
    matrices mean square gain^2 min(rows, cols) / (rows cols)). None for identity-like laws
    (eye, dirac), whose entries are not independent draws.
    """
    if law.dist in ("eye", "dirac"):
        return None
    return law.moments(shape)


@dataclass(frozen=True)
class Prediction:
    """Predicted per-layer statistics, each of shape (L,) for layers 1..L (None: not covered).

    pre_std: std of a_l; mean, std: of h_l over all units and examples; grad_std: std of
    dL/dh_l from a top gradient of variance ``grad_var``; weight_grad_std: std of the entries
    of dL/dW_l = delta_l^T h_{l-1}, summed over a batch of ``batch`` examples.
    """

    pre_std: np.ndarray | None
    mean: np.ndarray | None
    std: np.ndarray | None
    grad_std: np.ndarray | None
    weight_grad_std: np.ndarray | None


NONE = Prediction(None, None, None, None, None)


def predict(activation, weights: Sequence[tuple[float, float] | None], sizes: Sequence[int],
            input_moments: tuple[float, float] = (0.0, 1.0), bias_var: float = 0.0,
            batch: int = 1, grad_var: float = 1.0) -> Prediction:
    """Predict every layer's statistics of an MLP at initialization.

    Args:
        activation: an :class:`initlab.nn.activations.Activation` (phi and phi').
        weights: per layer l = 1..L, (mean, variance) of one weight entry (see
            :func:`law_moments`).
        sizes: [n_0, n_1, ..., n_L]; layer l has a weight of shape (n_l, n_{l-1}).
        input_moments: (mean, variance) of one input entry (N(0, 1): (0, 1)).
        bias_var: sigma_b^2, the variance of the zero-mean biases (0: no bias).
        batch: examples summed over in the weight gradient.
        grad_var: variance of the random gradient dL/dh_L fed in at the top.

    Zero-mean weights follow the mean-field recursion (module docstring); all-equal weights
    without bias are propagated exactly through the deterministic map of the input's sum; any
    other case (weights with both a mean and a spread, eye) gives :data:`NONE`.
    """
    if len(weights) != len(sizes) - 1:
        return NONE
    return predict_tops(activation, weights, sizes, [len(weights)], input_moments, bias_var,
                        batch, grad_var)[0]


def predict_tops(activation, weights, sizes, tops: Sequence[int],
                 input_moments: tuple[float, float] = (0.0, 1.0), bias_var: float = 0.0,
                 batch: int = 1, grad_var: float = 1.0) -> list[Prediction]:
    """:func:`predict` of the net of the first d layers (``weights[:d]``, ``sizes[:d + 1]``)
    for each d of ``tops``, the same numbers; the forward recursion, which does not depend on
    the layers above, runs once for the deepest of them."""
    out, field = {}, []
    for d in tops:
        w = weights[:d]
        if any(v is None for v in w) or not 0 <= d <= len(sizes) - 1:
            out[d] = NONE
        elif all(mu == 0 for mu, _ in w):
            field.append(d)
        elif all(var == 0 for _, var in w) and bias_var == 0:
            out[d] = _constant(activation, w, sizes[:d + 1], input_moments, batch, grad_var)
        else:
            out[d] = NONE
    if field:
        deepest = max(field)
        out.update(zip(field, _mean_field(activation, weights[:deepest], sizes[:deepest + 1],
                                          input_moments, bias_var, batch, grad_var, field),
                       strict=True))
    return [out[d] for d in tops]


def _mean_field(act, weights, sizes, input_moments, bias_var, batch, grad_var,
                tops) -> list[Prediction]:
    d = _grad_fn(act)
    depth = len(weights)
    q, mean, var, m2, dphi2 = (np.zeros(depth) for _ in range(5))
    prev_m2 = input_moments[0] ** 2 + input_moments[1]
    for i, (_, v) in enumerate(weights):
        q[i] = sizes[i] * v * prev_m2 + bias_var
        mean[i], var[i] = gaussian_moments(act.fn, q[i])
        m2[i] = var[i] + mean[i] ** 2
        dphi2[i] = gaussian_expectation(lambda x: d(x) ** 2, q[i])
        prev_m2 = m2[i]
    out = []
    for top in tops:  # the net of layers 1..top: its gradient enters at layer top
        grad2, wgrad2 = np.zeros(top), np.zeros(top)
        g2 = grad_var
        for i in range(top - 1, -1, -1):
            grad2[i] = g2
            below = m2[i - 1] if i else input_moments[0] ** 2 + input_moments[1]
            wgrad2[i] = batch * g2 * dphi2[i] * below
            g2 = sizes[i + 1] * weights[i][1] * dphi2[i] * g2
        out.append(Prediction(np.sqrt(q[:top]), mean[:top].copy(), np.sqrt(var[:top]),
                              np.sqrt(grad2), np.sqrt(wgrad2)))
    return out


def _constant(act, weights, sizes, input_moments, batch, grad_var) -> Prediction:
    """Weights all equal to c_l: a_l = c_l n_{l-1} h_{l-1} for every unit, exactly."""
    depth = len(weights)
    mu_x, var_x = input_moments
    # the input's sum over its n_0 entries is N(n_0 mu_x, n_0 var_x): one node per value of it
    s = weights[0][0] * (sizes[0] * mu_x + math.sqrt(sizes[0] * var_x) * NODES)
    pre, hs, ds = [], [], []
    for i in range(depth):
        if i:
            s = weights[i][0] * sizes[i] * hs[-1]
        h = act.fn(s)
        pre.append(s)
        hs.append(h)
        ds.append(act.grad(s, h))

    grad2, wgrad2 = np.zeros(depth), np.zeros(depth)
    g2 = np.full_like(NODES, grad_var)  # E[g_l^2 | input], per node
    for i in range(depth - 1, -1, -1):
        top = i == depth - 1  # the random top gradient differs between units; below, it does not
        grad2[i] = np.dot(WEIGHTS, g2)
        delta2 = ds[i] ** 2 * g2
        if top:  # rows of dW differ (random delta); columns equal unless h_{l-1} is the input
            below = hs[i - 1] ** 2 if i else mu_x**2 + var_x
            wgrad2[i] = batch * np.dot(WEIGHTS, delta2 * below)
        else:  # delta is the same for every unit: so is every entry of dW, except at the input
            wgrad2[i] = batch * np.dot(WEIGHTS, delta2) * var_x if i == 0 else 0.0
        g2 = weights[i][0] ** 2 * (sizes[i + 1] if top else sizes[i + 1] ** 2) * delta2
    stats = np.array([mean_var(h) for h in hs])
    return Prediction(np.sqrt([mean_var(a)[1] for a in pre]), stats[:, 0],
                      np.sqrt(stats[:, 1]), np.sqrt(grad2), np.sqrt(wgrad2))
