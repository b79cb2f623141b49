"""Layers: numerical-gradient checks, replica broadcasting, random streams, no in-place edits."""

import copy

import numpy as np
import pytest

from initlab.errors import InitlabError
from initlab.init import get_initializer
from initlab.nn import buffers
from initlab.nn.dropout import Dropout
from initlab.nn.layers import ActivationLayer, Dense, Param, replica_rngs

ACTIVATIONS = ["sigmoid", "tanh", "relu", "leaky_relu(0.1)", "elu(0.7)", "selu", "gelu",
               "softplus", "identity", "erf"]


def away_from_zero(shape, seed=0):
    """Inputs at least 0.05 away from 0, where relu-like functions have their kink."""
    x = np.random.default_rng(seed).standard_normal(shape)
    return np.where(np.abs(x) < 0.05, 0.5, x)


def check_layer_gradients(layer, x, numgrad, train=False, reset=None):
    """Compare backward() with central differences of sum(w * forward(x)) for x and params."""
    if reset:
        reset()
    w = np.random.default_rng(1).standard_normal(layer.forward(x, train).shape)

    def f():
        if reset:
            reset()
        return float(np.sum(w * layer.forward(x, train)))

    if reset:
        reset()
    layer.forward(x, train)
    dx = layer.backward(w)
    grads = {p.name: p.grad.copy() for p in layer.parameters()}
    if dx.ndim > x.ndim:  # a shared input: dx[r] is replica r's part of the gradient
        dx = dx.sum(axis=0)
    np.testing.assert_allclose(dx, numgrad(f, x), rtol=1e-6, atol=1e-8)
    for p in layer.parameters():
        np.testing.assert_allclose(grads[p.name], numgrad(f, p.value), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("replicas", [1, 2])
@pytest.mark.parametrize("out", [3, 1])
@pytest.mark.parametrize("shared_input", [True, False])
def test_dense_gradients(numgrad, shared_input, out, replicas):
    # one output unit (dx as an outer product) and one replica (dW written in place) take
    # their own paths
    layer = Dense(4, out, init=["he", "normal(0.5)"][:replicas], rngs=replica_rngs(0, replicas))
    layer.bias.value = np.random.default_rng(2).standard_normal((replicas, out))
    x = away_from_zero((5, 4) if shared_input else (replicas, 5, 4))
    check_layer_gradients(layer, x, numgrad)


def test_dense_in_a_flat_buffer_writes_its_gradients_into_the_views():
    from initlab.nn import mlp

    for replicas in (1, 3):
        model = mlp([3, 4, 1], replicas=replicas, seed=1)
        x = away_from_zero((6, 3))
        dense = model.layers[0]
        dense.backward(dense.forward(x, True) * 0 + 1.0)
        flat = model.flat_parameters()[0].grad
        assert np.shares_memory(dense.weight.grad, flat)
        for r in range(replicas):
            np.testing.assert_allclose(dense.weight.grad[r], np.ones((4, 6)) @ x, rtol=1e-13)
            np.testing.assert_allclose(dense.bias.grad[r], np.full(4, 6.0), rtol=1e-13)


def test_dense_forward_matches_per_replica_formula():
    layer = Dense(4, 3, init="he", rngs=replica_rngs(7, 3), bias_init="normal(1)")
    x = np.random.default_rng(0).standard_normal((6, 4))
    y = layer.forward(x)
    assert y.shape == (3, 6, 3)
    for r in range(3):
        expected = x @ layer.weight.value[r].T + layer.bias.value[r]
        np.testing.assert_allclose(y[r], expected, rtol=1e-13)


@pytest.mark.parametrize("train", [False, True])
@pytest.mark.parametrize("spec", ACTIVATIONS)
def test_activation_layer_gradients(numgrad, spec, train):
    check_layer_gradients(ActivationLayer(spec), away_from_zero((2, 5, 3)), numgrad, train)


def test_relu_layer_in_training_equals_the_activation_for_every_shape_and_layout():
    layer = ActivationLayer("relu")
    x = away_from_zero((2, 3, 5)).swapaxes(1, 2)  # the layout Dense returns
    for arr in (x, np.ascontiguousarray(x), x[:, :2], x.astype(np.float32)):
        y = layer.forward(arr, train=True)
        assert y.dtype == arr.dtype
        np.testing.assert_array_equal(y, np.maximum(arr, 0))
    assert layer._zeros.shape == (2, 5, 3)
    layer.forward(np.ones((4, 4)), train=False)  # evaluation sets do not replace the buffer
    assert layer._zeros.shape == (2, 5, 3)


@pytest.mark.parametrize("mode", ["inverted", "scaled_at_test"])
def test_dropout_gradients_with_a_fixed_mask(numgrad, mode):
    layer = Dropout(0.4, mode)
    start = replica_rngs(3, 2)

    def reset():  # the same masks for every evaluation
        layer.rngs = copy.deepcopy(start)

    check_layer_gradients(layer, away_from_zero((2, 6, 5)), numgrad, train=True, reset=reset)
    check_layer_gradients(layer, away_from_zero((2, 6, 5)), numgrad, train=False)


def test_dropout_masks_follow_the_rule_and_the_streams():
    rate = 0.3
    layer = Dropout(rate, rngs=replica_rngs([11, 12], 2))
    x = np.ones((2, 400, 50))
    y = layer.forward(x, train=True)
    for r, seed in enumerate([11, 12]):
        keep = np.random.default_rng(seed).random((400, 50)) > rate  # keep where u > rate
        np.testing.assert_allclose(y[r], keep / (1 - rate), rtol=1e-15)
    assert abs(np.mean(y > 0) - (1 - rate)) < 0.01
    assert np.array_equal(layer.forward(x, train=False), x)  # inverted: identity at test time


def test_scaled_at_test_dropout_is_the_non_inverted_form():
    layer = Dropout(0.2, mode="scaled_at_test", rngs=replica_rngs(0, 1))
    x = np.full((1, 100, 10), 2.0)
    assert set(np.unique(layer.forward(x, train=True))) <= {0.0, 2.0}
    np.testing.assert_allclose(layer.forward(x, train=False), 1.6)


def test_dropout_with_legacy_random_state_matches_rand():
    layer = Dropout(0.5, rngs=[np.random.RandomState(1)])
    y = layer.forward(np.ones((3, 4)), train=True)
    keep = np.random.RandomState(1).random_sample((3, 4)) > 0.5
    np.testing.assert_array_equal(y[0], keep * 2.0)


@pytest.mark.parametrize("layer", [
    Dense(3, 2, rngs=replica_rngs(0, 2)), ActivationLayer("tanh"),
    Dropout(0.5, rngs=replica_rngs(0, 2))])
def test_layers_do_not_modify_their_inputs(layer):
    x = np.random.default_rng(0).standard_normal((2, 4, 3 if isinstance(layer, Dense) else 2))
    x0 = x.copy()
    y = layer.forward(x, train=True)
    g = np.ones_like(y)
    layer.backward(g)
    assert np.array_equal(x, x0)
    assert np.array_equal(g, np.ones_like(y))


@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("layer", [Dense(3, 2, rngs=replica_rngs(0, 2)), Dense(3, 1),
                                   ActivationLayer("relu")])
def test_training_steps_reuse_their_large_arrays_evaluation_does_not(layer, shared):
    dense = isinstance(layer, Dense)
    width, replicas = (layer.in_features, layer.weight.value.shape[0]) if dense else (2, 2)
    x = np.random.default_rng(0).standard_normal((40, width) if shared else (replicas, 40, width))
    for keep_bytes, kept in ((1 << 30, False), (0, True)):  # small arrays are not kept
        buffers.KEEP_BYTES = keep_bytes
        outs, grads = [], []
        for train in (True, True, False, False):
            y = layer.forward(x, train)
            outs.append(y)
            grads.append(layer.backward(np.ones_like(y)))
        for arrays in (outs, grads):
            # with kept arrays, a training step's result is overwritten by the next one
            assert np.shares_memory(arrays[0], arrays[1]) == kept
            assert not np.shares_memory(arrays[2], arrays[3])
            assert not np.shares_memory(arrays[1], arrays[2])
            np.testing.assert_array_equal(arrays[1], arrays[2])
    buffers.KEEP_BYTES = 1 << 17


def test_training_with_kept_arrays_gives_the_same_model(monkeypatch):
    from initlab.nn import mlp
    from initlab.train import fit

    X = away_from_zero((30, 3))
    y = (X[:, 0] > 0).astype(int)
    models = []
    for keep_bytes in (1 << 30, 0):
        monkeypatch.setattr(buffers, "KEEP_BYTES", keep_bytes)
        model = mlp([3, 6, 5, 1], replicas=2, seed=4)
        fit(model, X, y, lr=0.3, iterations=20, batch_size=8)
        models.append(model)
    for a, b in zip(*(m.parameters() for m in models), strict=True):
        np.testing.assert_array_equal(a.value, b.value)


def test_replica_streams_do_not_depend_on_the_number_of_replicas():
    three = Dense(5, 4, rngs=replica_rngs(9, 3)).weight.value
    five = Dense(5, 4, rngs=replica_rngs(9, 5)).weight.value
    assert np.array_equal(three, five[:3])
    assert not np.array_equal(three[0], three[1])


def test_replica_rngs_copies_generators_so_each_replica_starts_fresh():
    rs = np.random.RandomState(3)
    w = Dense(2, 3, init="normal(10)", rngs=replica_rngs([rs] * 2, 2)).weight.value
    np.testing.assert_array_equal(w[0], w[1])
    np.testing.assert_array_equal(w[0], np.random.RandomState(3).randn(3, 2) * 10)
    assert rs.randn() == np.random.RandomState(3).randn()  # the caller's stream is untouched


def test_dense_float32_and_initializer_per_replica():
    rngs = replica_rngs([1, 2], 2)
    layer = Dense(6, 4, init=["zeros", "xavier_uniform"], rngs=rngs, dtype=np.float32)
    assert layer.weight.value.dtype == np.float32 and layer.bias.value.dtype == np.float32
    assert not layer.weight.value[0].any()
    expected = get_initializer("xavier_uniform")((4, 6), np.random.default_rng(2), dtype=np.float32)
    np.testing.assert_array_equal(layer.weight.value[1], expected)
    assert layer.forward(np.ones((3, 6), np.float32)).dtype == np.float32


def test_param_assignment_writes_in_place_and_checks_the_shape():
    p = Param(np.zeros((1, 2, 2)), "weight", decay=True)
    arr = p.value
    p.value = np.ones((1, 2, 2))
    assert arr is p.value and arr.sum() == 4
    with pytest.raises(InitlabError, match=r"expected shape \(1, 2, 2\)"):
        p.value = np.ones((2, 2))


@pytest.mark.parametrize("kwargs, message", [
    (dict(rate=1.0), "dropout rate must be a number in"),
    (dict(rate=-0.1), "dropout rate must be a number in"),
    (dict(rate=0.5, mode="sideways"), "unknown dropout mode 'sideways'; valid: inverted"),
])
def test_bad_dropout_arguments(kwargs, message):
    with pytest.raises(InitlabError, match=message):
        Dropout(**kwargs)


@pytest.mark.parametrize("seed, message", [
    (-1, "seed must be >= 0"), ([1, 2], "got 2 seeds for 3 replicas"),
    ("abc", "seed must be an int"), ([1, "x", 2], "each replica seed must be"),
    (np.random.RandomState(0), "one RandomState cannot seed 3 replicas"),
])
def test_bad_seeds(seed, message):
    with pytest.raises(InitlabError, match=message):
        replica_rngs(seed, 3)


def test_unknown_activation_lists_the_valid_ones():
    with pytest.raises(InitlabError, match="unknown activation 'swish'; valid: .*relu"):
        ActivationLayer("swish")


def test_dense_from_arrays_validates_shapes():
    with pytest.raises(InitlabError, match=r"Dense needs float weight \(R, out, in\)"):
        Dense.from_arrays(np.zeros((2, 3)), np.zeros(2))


def test_last_input_and_output_are_what_the_last_forward_saw():
    """The public view of a forward pass's cache (the explorer reads a layer's output)."""
    dense, act = Dense(3, 2, init="he", rngs=replica_rngs(0, 2)), ActivationLayer("tanh")
    assert dense.last_input is None and act.last_output is None
    x = np.random.default_rng(0).standard_normal((2, 5, 3))
    y = act.forward(dense.forward(x))
    assert dense.last_input is x and np.array_equal(act.last_output, y)
