"""Singular values of the input-output Jacobian of deep random nets at criticality.

Pennington, Schoenholz & Ganguli 2017 ("Resurrecting the sigmoid in deep learning through
dynamical isometry"): at chi_1 = 1 the mean squared singular value of
J = D_L W_L ... D_1 W_1 (D_l = diag(phi'(a_l))) stays 1 at any depth, but its spread does
not: with Gaussian weights it widens with depth; with orthogonal weights and tanh near the
critical point with small q* it stays concentrated (dynamical isometry); ReLU cannot achieve
it, with either kind of weights. The cases here: tanh on the critical line at the run's
sigma_b^2, and ReLU at its critical point (sigma_w^2, sigma_b^2) = (2, 0), each with Gaussian
and orthogonal weights (entries of variance sigma_w^2 / n either way).

J is accumulated layer by layer, J <- D_l W_l J, so no matrix larger than n x n is ever
formed; the depths asked for are snapshots of one deepest net per case.
"""

from __future__ import annotations

import math

import numpy as np

from initlab.experiments.propagate_results import JacobianCase, Quantiles, one_blas_thread
from initlab.init import get_initializer
from initlab.nn.activations import get_activation
from initlab.theory.jacobian import jacobian_mean_square
from initlab.theory.meanfield import critical_sigma_w2, q_star


def _weights(kind: str, sigma_w2: float, width: int, rng) -> np.ndarray:
    if kind == "orthogonal":
        return get_initializer(f"orthogonal(gain={math.sqrt(sigma_w2)!r})")((width, width), rng)
    return rng.standard_normal((width, width)) * math.sqrt(sigma_w2 / width)


def spectra(activation: str, weights: str, sigma_w2: float, sigma_b2: float, depths,
            width: int, q0: float, rng) -> list[JacobianCase]:
    """The Jacobian's singular values at each depth of ``depths`` for one net of the deepest."""
    act = get_activation(activation)
    depths = sorted(set(depths))
    x = rng.standard_normal(width)
    h = x * math.sqrt(q0 * width) / np.linalg.norm(x)
    J = np.eye(width)
    out = []
    with np.errstate(all="ignore"):
        for layer in range(1, depths[-1] + 1):
            W = _weights(weights, sigma_w2, width, rng)
            a = W @ h + math.sqrt(sigma_b2) * rng.standard_normal(width)
            h = act.fn(a)
            J = act.grad(a, h)[:, None] * (W @ J)
            if layer in depths:
                sv = np.linalg.svd(J, compute_uv=False)
                qs = np.quantile(sv, [0.0, 0.05, 0.5, 0.95, 1.0])
                out.append(JacobianCase(
                    weights=weights, activation=activation, depth=layer, width=width,
                    sigma_w2=sigma_w2, sigma_b2=sigma_b2,
                    singular_values=Quantiles(*(float(v) for v in qs)),
                    condition_number=float(sv[0] / sv[-1]) if sv[-1] > 0 else None,
                    mean_square=float(np.mean(sv**2)),
                    mean_square_predicted=jacobian_mean_square(act, sigma_w2, sigma_b2, q0,
                                                               layer),
                    values=sv.tolist()))
    return out


def run_jacobian(*, depths, width: int, sigma_b2: float, seed: int) -> list[JacobianCase]:
    """Gaussian vs orthogonal weights, tanh at criticality (sigma_b2) vs ReLU at (2, 0).

    ``PropagateConfig``'s sigma_b^2 = 1e-3 puts tanh's critical point at sigma_w^2 = 1.19
    with a small q* = 0.107, where its derivative stays near 1 (the regime of Pennington et
    al.'s figures; at larger q* the D_l spread and isometry degrades). Inputs start at the
    length map's fixed point q* (ReLU: q0 = 1, every q is fixed). The values come checked
    from ``PropagateConfig``.
    """
    tanh = get_activation("tanh")
    sw_tanh = float(critical_sigma_w2(tanh, sigma_b2))
    q_tanh = float(q_star(tanh, sw_tanh, sigma_b2))
    # input length so that the first pre-activation already sits at q*: q_1 = sw q0 + sb
    cases = [("tanh", sw_tanh, sigma_b2, (q_tanh - sigma_b2) / sw_tanh), ("relu", 2.0, 0.0, 1.0)]
    streams = np.random.SeedSequence(seed).spawn(4)
    out = []
    with one_blas_thread():
        for k, (name, sw, sb, q0) in enumerate(cases):
            for j, kind in enumerate(("gaussian", "orthogonal")):
                rng = np.random.default_rng(streams[2 * k + j])
                out += spectra(name, kind, sw, sb, depths, width, q0, rng)
    return out
