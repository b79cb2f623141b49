"""Variance propagation through a net with a normalization before every activation.

For ``a_l = h_{l-1} W_l^T + b_l``, ``a_hat_l = norm(a_l)``, ``h_l = phi(a_hat_l)`` with i.i.d.
zero-mean weights of variance ``v_l``, the normalization removes whatever scale the weights
gave: the pre-activation's variance over the normalized axis is ``s_l``, and afterwards

    Var(a_hat_l) = s_l / (s_l + eps)   (1 unless s_l is as small as eps),

so the activations' moments are those of phi(z), z ~ N(0, s_l / (s_l + eps)), whatever the
init. BatchNorm normalizes each unit over the batch: a unit's bias and its mean over the batch
are removed, so s_l = n_{l-1} v_l Var_batch(h_{l-1}); LayerNorm normalizes each example over
its units: s_l = n_{l-1} v_l E[h_{l-1}^2] + sigma_b^2. (Ioffe & Szegedy 2015; Ba et al. 2016.)

Backward, the normalization divides the gradient by sqrt(s_l + eps) (and projects it off the
normalized axis's mean and x_hat, which this approximation neglects):

    E[delta_l^2] = E[phi'(a_hat)^2] E[g_l^2] / (s_l + eps),   E[g_{l-1}^2] = n_l v_l E[delta_l^2].

For ReLU with BatchNorm that is a growth of pi / (pi - 1) per layer going down, the
large-batch gradient explosion of Yang et al. 2019 ("A Mean Field Theory of Batch
Normalization"), whatever the init. The forward line is the mean-field recursion with the
normalization's exact effect on the variance; the backward line is the approximation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from initlab.theory.gaussian import gaussian_expectation, gaussian_moments
from initlab.theory.variance import NONE, Prediction


def predict_normalized(activation, weights: Sequence[tuple[float, float] | None],
                       sizes: Sequence[int], norm: str, input_moments=(0.0, 1.0),
                       bias_var: float = 0.0, batch: int = 1, grad_var: float = 1.0,
                       eps: float = 1e-5) -> Prediction:
    """Predict every layer's statistics with ``norm`` ("batch" or "layer") before phi.

    Args as :func:`initlab.theory.predict`; ``pre_std`` is the std of the normalized
    pre-activation a_hat_l; ``batch`` is also the axis BatchNorm normalizes over.
    Weights with a nonzero mean (constants) give :data:`initlab.theory.NONE`.
    """
    if len(weights) != len(sizes) - 1:
        return NONE
    return predict_normalized_tops(activation, weights, sizes, norm, [len(weights)],
                                   input_moments, bias_var, batch, grad_var, eps)[0]


def predict_normalized_tops(activation, weights, sizes, norm: str, tops: Sequence[int],
                            input_moments=(0.0, 1.0), bias_var: float = 0.0, batch: int = 1,
                            grad_var: float = 1.0, eps: float = 1e-5) -> list[Prediction]:
    """:func:`predict_normalized` of the net of the first d layers for each d of ``tops``,
    the same numbers; the forward recursion runs once, for the deepest of them."""
    ok = [d for d in tops if 0 <= d <= len(sizes) - 1 and norm in ("batch", "layer")
          and not any(w is None or w[0] != 0 for w in weights[:d])]
    if not ok:
        return [NONE for _ in tops]
    depth = max(ok)

    def d2(x):
        return activation.grad(x, activation.fn(x)) ** 2

    q, mean, var, m2, dphi2, s = (np.zeros(depth) for _ in range(6))
    prev_var, prev_m2 = input_moments[1], input_moments[0] ** 2 + input_moments[1]
    for i, (_, v) in enumerate(weights[:depth]):
        s[i] = sizes[i] * v * (prev_var if norm == "batch" else prev_m2)
        if norm == "layer":
            s[i] += bias_var
        q[i] = s[i] / (s[i] + eps)
        mean[i], var[i] = gaussian_moments(activation.fn, q[i])
        m2[i] = var[i] + mean[i] ** 2
        dphi2[i] = gaussian_expectation(d2, q[i])
        prev_var, prev_m2 = var[i], m2[i]
    out = {}
    for top in ok:  # the net of layers 1..top: its gradient enters at layer top
        grad2, wgrad2 = np.zeros(top), np.zeros(top)
        g2 = grad_var
        for i in range(top - 1, -1, -1):
            grad2[i] = g2
            delta2 = dphi2[i] * g2 / (s[i] + eps)
            # BatchNorm's delta sums to 0 over the batch, so h's mean drops out of delta^T h
            below = (var if norm == "batch" else m2)[i - 1] if i else (
                input_moments[1] if norm == "batch" else input_moments[0] ** 2 + input_moments[1])
            wgrad2[i] = batch * delta2 * below
            g2 = sizes[i + 1] * weights[i][1] * delta2
        out[top] = Prediction(np.sqrt(q[:top]), mean[:top].copy(), np.sqrt(var[:top]),
                              np.sqrt(grad2), np.sqrt(wgrad2))
    return [out.get(d, NONE) for d in tops]


__all__ = ["predict_normalized", "predict_normalized_tops"]
