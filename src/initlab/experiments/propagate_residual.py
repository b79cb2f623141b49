"""``initlab propagate --residual``: the stream of random residual nets, block by block, beside
:mod:`initlab.theory.residual`.

For every sigma_w^2, ``seeds`` random residual nets of ``depth`` blocks
``x <- x + W2 phi(W1 x)`` (both weights N(0, sigma_w^2 / width), no biases: the branch of
``mlp(..., residual=True)``, post-activation order) receive the batch of
:func:`~initlab.experiments.propagate.input_batch` (length q0, the pair's correlation c0). After
each block the run records the stream's length q_l (mean square over the batch and the units)
and the pair's correlation c_l. As in the plain nets, every sigma_w^2 of a seed shares its
standard-normal draws (common random numbers).

Theory: q_l is :func:`initlab.theory.residual.stream_variance` with branch gains
(sigma_w^2, sigma_w^2) (Yang & Schoenholz 2017: the branch is uncorrelated with the stream, so
second moments add). The correlation follows by the same argument for the pair's covariance:
the branch maps (q, c) to a length q_b and correlation c_b by one step of the plain mean-field
maps from the pre-activation length sigma_w^2 q (:func:`~initlab.theory.meanfield.length_map`,
:func:`~initlab.theory.meanfield.correlation_map`, no bias), and
c_{l+1} = (q_l c_l + q_b c_b) / (q_l + q_b).
"""

from __future__ import annotations

import numpy as np

from initlab.experiments.propagate_results import LayerStat, PropagateRun
from initlab.statistics import finite_or_none as _finite
from initlab.theory.meanfield import correlation_map, length_map
from initlab.theory.residual import stream_variance


def measure_residual(act, sigma_w2, depth: int, width: int, rng, x: np.ndarray):
    """One seed: the stream's q (S, L) and the pair's c (S, L) after each block, from inputs
    ``x`` (batch, width) whose rows 0 and 1 are the pair."""
    scale = np.sqrt(np.asarray(sigma_w2, dtype=float) / width)[:, None, None]
    h = np.broadcast_to(x, (scale.shape[0], *x.shape))
    qs, cs = [], []
    with np.errstate(all="ignore"):
        for _ in range(depth):
            # one 2-D product for every sigma_w^2 and row, as propagate's plain nets
            a = (h.reshape(-1, width) @ rng.standard_normal((width, width)).T).reshape(h.shape)
            y = act.fn(a * scale).reshape(-1, width)
            h = h + (y @ rng.standard_normal((width, width)).T).reshape(h.shape) * scale
            qs.append(np.mean(h * h, axis=(1, 2)))
            h0, h1 = h[:, 0], h[:, 1]
            cs.append(np.sum(h0 * h1, 1) / np.sqrt(np.sum(h0 * h0, 1) * np.sum(h1 * h1, 1)))
    return np.stack(qs, axis=1), np.stack(cs, axis=1)


def predict_residual(act, sigma_w2: float, depth: int, q0: float, c0: float):
    """The theory's q_1..q_L (:func:`~initlab.theory.residual.stream_variance`) and c_1..c_L
    (module docstring); an overflowed length gives inf and its correlation NaN."""
    q = stream_variance(act, [sigma_w2, sigma_w2], depth, q0)
    c = np.empty(depth + 1)
    c[0] = c0
    with np.errstate(all="ignore"):
        for block in range(depth):
            qa = sigma_w2 * q[block]
            if not (np.isfinite(q[block + 1]) and qa > 0):
                c[block + 1:] = np.nan
                break
            qb = float(length_map(act, qa, sigma_w2))
            cb = float(correlation_map(act, c[block], qa, sigma_w2))
            c[block + 1] = (q[block] * c[block] + qb * cb) / (q[block] + qb)
    return q[1:], c[1:]


def residual_runs(act, c, streams, input_batch) -> list[PropagateRun]:
    """Every sigma_w^2 of Config ``c``: the residual nets measured (mean over the seeds'
    ``streams``) beside the theory; the plain nets' fixed points and chi_1 do not apply (None).
    ``input_batch``: :func:`initlab.experiments.propagate.input_batch`."""
    from initlab.experiments.propagate_results import one_blas_thread

    sws = list(c.sigma_w2)
    with one_blas_thread():
        parts = [measure_residual(act, sws, c.depth, c.width, rng,
                                  input_batch(rng, c.batch, c.width, c.q0, c.c0))
                 for rng in streams]
    q_m = np.mean([p[0] for p in parts], axis=0)
    c_m = np.mean([p[1] for p in parts], axis=0)
    runs = []
    for i, sw in enumerate(sws):
        q_p, c_p = predict_residual(act, sw, c.depth, c.q0, c.c0)
        layers = [LayerStat(index=k + 1, q=_finite(q_m[i, k]), q_predicted=_finite(q_p[k]),
                            c=_finite(c_m[i, k]), c_predicted=_finite(c_p[k]))
                  for k in range(c.depth)]
        runs.append(PropagateRun(sigma_w2=sw, sigma_b2=0.0, activation=act.spec or act.name,
                                 q_star=None, c_star=None, chi_1=None, xi_q=None, xi_c=None,
                                 layers=layers))
    return runs


__all__ = ["measure_residual", "predict_residual", "residual_runs"]
