"""The residual stream's variance: theory (theory/residual.py) beside the measurement at width
512, within 10% per block for every scheme, on average over seeds; and its closed forms."""

import numpy as np
import pytest

from initlab.nn import mlp
from initlab.theory.residual import (
    branch_second_moment,
    scheme_stream_variance,
    stream_variance,
)

CASES = [("he", None, "post", "relu"), ("he", None, "pre", "relu"),
         ("fixup", None, "post", "relu"), ("skipinit", None, "pre", "relu"),
         ("rezero", None, "post", "tanh"), ("scaled_residual", None, "post", "relu"),
         ("scaled_residual(factor=2)", None, "pre", "tanh"), ("he", "batch", "post", "relu"),
         ("he", "layer", "pre", "tanh"), ("zero_init_residual", "batch", "post", "relu")]


def measured(spec, norm, order, act, seed, width=512, blocks=10, n=256):
    """The stream's mean square entering each block and after the last, one seed."""
    X = np.random.default_rng(100 + seed).standard_normal((n, 64))
    model = mlp([64, width, 1], residual=True, blocks=blocks, init=spec, norm=norm,
                order=order, activation=act, seed=seed, dtype=np.float32)
    h = model.layers[0].forward(X, train=True)
    out = [np.mean(np.square(h, dtype=np.float64))]
    for layer in model.layers[1:-1]:
        h = layer.forward(h, train=True)
        out.append(np.mean(np.square(h, dtype=np.float64)))
    return np.array(out)


@pytest.mark.parametrize(("spec", "norm", "order", "act"), CASES)
def test_measured_stream_std_follows_the_theory_within_ten_percent(spec, norm, order, act):
    # One net's gain per block fluctuates by a few percent at width 512 (the mean of ReLU
    # outputs is one direction, whose norm through a random W varies as a chi^2 with 512
    # degrees of freedom); the theory is the expectation over weights, so compare the mean
    # over seeds of measured / predicted variance.
    ratios = []
    for seed in range(6):
        q = measured(spec, norm, order, act, seed)
        theory = scheme_stream_variance(spec, act, 10, 2, 512, q[0], order, norm)
        ratios.append(q / theory)
    err = np.abs(np.sqrt(np.mean(ratios, axis=0)) - 1)
    assert err.max() < 0.10, (spec, err.round(3))


def test_closed_forms():
    # He, Dense-ReLU-Dense: b(q) = 2q, x3 per block; ReLU-Dense-ReLU-Dense: x2
    assert branch_second_moment("relu", [2.0, 2.0], 1.5) == pytest.approx(3.0, rel=1e-12)
    assert branch_second_moment("relu", [2.0, 2.0], 1.5, "pre") == pytest.approx(1.5, rel=1e-12)
    np.testing.assert_allclose(stream_variance("relu", [2.0, 2.0], 5, 1.0), 3.0 ** np.arange(6))
    # a norm last in the branch adds gamma^2 = 1 per block: linear growth
    np.testing.assert_allclose(stream_variance("relu", [2.0, 2.0], 4, 2.0, norm="batch"),
                               2.0 + np.arange(5))
    # scaled by 1/sqrt(L): (1 + 2/L)^L, bounded by e^2
    q = scheme_stream_variance("scaled_residual", "relu", 100, 2, 64, 1.0)
    assert q[-1] == pytest.approx((1 + 2 / 100) ** 100, rel=1e-9) and q[-1] < np.e**2
    for spec in ("fixup", "skipinit", "rezero"):
        np.testing.assert_array_equal(scheme_stream_variance(spec, "relu", 50, 2, 64, 3.0), 3.0)


def test_overflow_is_inf_not_an_error():
    q = scheme_stream_variance("he", "relu", 1000, 2, 64, 1.0)
    assert np.isinf(q[-1]) and np.isfinite(q[100])
