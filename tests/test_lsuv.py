"""LSUV: unit output variance per layer and replica, orthonormal start, bad arguments."""

import numpy as np
import pytest

from initlab.errors import InitlabError
from initlab.lsuv import lsuv
from initlab.nn import mlp


def layer_output_variances(model, X):
    """Variance of each Dense layer's output, per replica, by a plain forward pass."""
    out, h = [], X
    for layer in model.layers:
        h = layer.forward(h)
        if hasattr(layer, "weight"):
            out.append(h.var(axis=(1, 2)))
    return np.array(out)


@pytest.mark.parametrize("activation", ["relu", "tanh", "selu"])
def test_every_layer_reaches_unit_variance(activation):
    X = np.random.default_rng(0).standard_normal((256, 20)) * 3
    model = mlp([20, 64, 64, 32, 4], activation=activation, output="softmax",
                init=["normal(0.01)", "normal(5)"], seed=[1, 2])
    reached = lsuv(model, X, tol=0.05)
    assert reached.shape == (4, 2)
    assert (np.abs(reached - 1) < 0.05).all()
    np.testing.assert_allclose(layer_output_variances(model, X), reached, rtol=1e-12)


def test_starts_from_orthonormal_weights_and_only_rescales_them():
    X = np.random.default_rng(0).standard_normal((100, 8))
    model = mlp([8, 6, 5, 1], replicas=2, seed=3)
    lsuv(model, X, tol=0.01, max_tries=20)
    for d in model.dense_layers:
        for w in d.weight.value:
            gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
            scale = gram[0, 0]
            np.testing.assert_allclose(gram, scale * np.eye(len(gram)), atol=1e-10 * scale)


def test_max_tries_limits_the_rescaling():
    X = np.random.default_rng(0).standard_normal((50, 5))
    model = mlp([5, 30, 30, 1], activation="relu", seed=0)
    once = lsuv(model.copy(), X, tol=1e-9, max_tries=1)
    many = lsuv(model.copy(), X, tol=1e-9, max_tries=30)
    assert np.abs(many - 1).max() <= np.abs(once - 1).max()
    assert np.abs(many[0] - 1).max() < 1e-9  # the first layer is linear in W: one step suffices


def test_without_orthonormal_keeps_the_directions():
    X = np.random.default_rng(0).standard_normal((50, 5))
    model = mlp([5, 7, 1], init="normal(3)", seed=0)
    w0 = model.layers[0].weight.value.copy()
    lsuv(model, X, orthonormal=False)
    ratio = model.layers[0].weight.value / w0
    np.testing.assert_allclose(ratio, ratio.flat[0])


@pytest.mark.parametrize("kwargs, message", [
    (dict(tol=0), "tol must be a finite number > 0, got 0"),
    (dict(max_tries=0), "max_tries must be a positive integer, got 0"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(InitlabError, match=message):
        lsuv(mlp([2, 3, 1]), np.ones((4, 2)), **kwargs)
    with pytest.raises(InitlabError, match="X has 3 features"):
        lsuv(mlp([2, 3, 1]), np.ones((4, 3)))
