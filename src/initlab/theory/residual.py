"""The variance of a residual stream block by block: x_{l+1} = x_l + alpha B(x_l).

The branch's output is uncorrelated with its input at initialization (its last weights are
zero-mean and drawn independently of x), so second moments add (Yang & Schoenholz 2017,
"Mean field residual networks: on the edge of chaos"):

    q_{l+1} = q_l + alpha^2 b(q_l),

with b(q) the branch's output second moment for an input of second moment q, by the
recursions of :mod:`initlab.theory.variance` through its layers (a Dense layer of weights with
second moment s^2 / fan_in multiplies by s^2; an activation maps q to E[phi(sqrt(q) z)^2]; a
BatchNorm or LayerNorm with weight gamma gives gamma^2 whatever comes in). So:

- He without normalization, post-order branch Dense-ReLU-Dense: b(q) = 2 q, q grows x3 per
  block (exponentially; a float32 stream overflows after ~160 blocks); pre-order
  ReLU-Dense-ReLU-Dense: b(q) = q, x2 per block;
- Fixup, SkipInit, ReZero, zero_init_residual: b = 0 or alpha = 0, the identity at init;
- scaled by 1/sqrt(c L): q_L = q_0 (1 + g / (c L))^L <= q_0 e^(g / c), bounded in depth;
- a norm last in the branch: b = gamma^2 = 1, so q grows linearly, q_l = q_0 + l.
"""

from __future__ import annotations

import numpy as np

from initlab.init.registry import get_initializer
from initlab.init.residual import residual_rule
from initlab.theory.gaussian import gaussian_expectation


def branch_second_moment(activation, weights2, q: float, order: str = "post",
                         norm: str | None = None, norm_gain2: float = 1.0) -> float:
    """b(q): the second moment of a branch's output for an input of second moment ``q``.

    weights2: s_i^2 = fan_in E[w^2] of each Dense layer in order; order ``post`` (Dense [norm]
    act ... Dense [norm]) or ``pre`` ([norm] act Dense ...); norm_gain2: the squared weight of
    the branch's last norm (0 under zero_init_residual).
    """
    # imported here: importing initlab.nn builds the whole engine, which the theory's other
    # users (the PyTorch bridge's interpreter) never need
    from initlab.nn.activations import get_activation

    act = get_activation(activation)

    def phi2(v):
        if v > 0:
            return gaussian_expectation(lambda x: act.fn(x) ** 2, v)
        return float(act.fn(np.zeros(1))[0] ** 2)  # a zeroed norm: phi(0) everywhere

    m = len(weights2)
    for i, s2 in enumerate(weights2):
        last = i == m - 1
        if order == "pre":
            q = s2 * phi2(norm_gain2 if norm and last else 1.0 if norm else q)
        else:
            q = s2 * q
            if norm:
                q = norm_gain2 if last else 1.0
            if not last:
                q = phi2(q)
    return float(q)


def stream_variance(activation, weights2, blocks: int, q0: float, alpha: float = 1.0,
                    order: str = "post", norm: str | None = None,
                    norm_gain2: float = 1.0) -> np.ndarray:
    """q_0, ..., q_L: the stream's second moment entering each block and after the last
    (``blocks + 1`` values), by q_{l+1} = q_l + alpha^2 b(q_l) (module docstring). Overflow
    past float64 shows as inf, never as an error."""
    out = np.empty(blocks + 1)
    out[0] = q = float(q0)
    with np.errstate(over="ignore"):
        for block in range(blocks):
            if np.isfinite(q):
                q = q + alpha**2 * branch_second_moment(activation, weights2, q, order, norm,
                                                        norm_gain2)
            out[block + 1] = q
    return out


def scheme_stream_variance(spec: str, activation, blocks: int, branch: int, width: int,
                           q0: float, order: str = "post", norm: str | None = None,
                           alpha: float | None = None) -> np.ndarray:
    """:func:`stream_variance` of a residual MLP whose init is ``spec`` (a residual scheme or
    a plain initializer; :func:`initlab.init.residual.residual_rule`), its branch Dense layers
    width x width; ``alpha``: the multiplier of a scheme that sets none (None: 1)."""
    rule = residual_rule(spec, blocks, branch, norm)
    mean, var = get_initializer(rule.base).law((width, width)).moments((width, width))
    s2 = width * (var + mean**2)
    weights2 = [s2 * scale**2 for scale in rule.branch_scales]
    a = rule.alpha if rule.alpha is not None else (1.0 if alpha is None else alpha)
    return stream_variance(activation, weights2, blocks, q0, a, order, norm,
                           0.0 if rule.zero_norm else 1.0)


__all__ = ["branch_second_moment", "scheme_stream_variance", "stream_variance"]
