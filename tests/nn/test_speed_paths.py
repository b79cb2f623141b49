"""The speed paths of ``nn`` give the plain path's numbers bit for bit: a ReLU layer writing
over the arrays a model hands it (``layers.hand_over``), the zeros every ReLU layer shares
(``buffers.zeros_as``) and evaluation passes that keep nothing (``Sequential.forward(keep=False)``).
"""

import numpy as np
import pytest

from initlab.nn import buffers
from initlab.nn.buffers import ones_vector, zeros_as
from initlab.nn.layers import ActivationLayer, Dense
from initlab.nn.model import mlp
from initlab.nn.residual import Residual
from initlab.train import fit


def all_layers(model):
    """Every layer of a model, the branches of its residual blocks included."""
    for layer in model.layers:
        yield layer
        if isinstance(layer, Residual):
            yield from layer.branch


def relus(model):
    return [la for la in all_layers(model) if isinstance(la, ActivationLayer)]


def data(n=64, features=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, features))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


MODELS = {
    "plain": dict(sizes=[5, 8, 6, 1], replicas=2, seed=[1, 2]),
    "plain float32 softmax": dict(sizes=[5, 8, 3], output="softmax", dtype=np.float32),
    "batch norm": dict(sizes=[5, 8, 6, 1], norm="batch", replicas=2),
    "dropout": dict(sizes=[5, 8, 6, 1], dropout=0.25, replicas=2),
    "residual": dict(sizes=[5, 6, 1], residual=True, blocks=3, init=["he", "scaled_residual"]),
    "residual pre": dict(sizes=[5, 6, 1], residual=True, blocks=2, branch=3, order="pre",
                         init="skipinit"),
}


@pytest.mark.parametrize("name", MODELS)
def test_a_model_trains_bit_for_bit_as_with_relu_leaving_its_arrays_alone(name):
    X, y = data()
    fast = mlp(**MODELS[name])
    plain = fast.copy()
    assert any(la.overwrite_input or la.overwrite_grad for la in relus(fast))
    for layer in relus(plain):
        layer.overwrite_input = layer.overwrite_grad = False
    kw = dict(optimizer="adam", lr=0.05, iterations=12, batch_size=16, record_every=3,
              X_test=X[:20], y_test=y[:20], seed=5)
    h_fast, h_plain = fit(fast, X, y, **kw), fit(plain, X, y, **kw)
    for a, b in ((h_fast.loss, h_plain.loss), (h_fast.final_loss, h_plain.final_loss),
                 (h_fast.test_accuracy, h_plain.test_accuracy),
                 (fast.flat_parameters()[0].value, plain.flat_parameters()[0].value)):
        assert a.tobytes() == b.tobytes()


def test_relu_writes_only_over_arrays_a_dense_layer_made():
    normed = mlp([5, 8, 6, 1], norm="batch")  # Dense, BatchNorm, ReLU: BatchNorm keeps its output
    assert [(la.overwrite_input, la.overwrite_grad) for la in relus(normed)] == [(False, True)] * 2
    pre = mlp([5, 6, 1], residual=True, blocks=1, branch=2, order="pre")  # ReLU, Dense, ReLU, Dense
    assert [(la.overwrite_input, la.overwrite_grad) for la in relus(pre)] == [
        (False, True), (True, True)]
    post = mlp([5, 6, 1], residual=True, blocks=1, init="fixup")  # ScalarBias before the ReLU
    assert [(la.overwrite_input, la.overwrite_grad) for la in relus(post)] == [(False, False)]

    model = mlp([5, 8, 6, 1], replicas=2)
    X = data()[0]
    X0 = X.copy()
    model.forward(X, train=True)
    first, act = model.layers[0], model.layers[1]
    assert np.array_equal(X, X0)  # the model's input is never written over
    assert np.shares_memory(act.last_output, model.layers[2].last_input)
    g = model.backward(np.ones((2, len(X), 1)))
    assert g.shape == (2, len(X), 5) and first.last_input is X


def test_a_relu_on_its_own_leaves_its_arrays_alone():
    layer = ActivationLayer("relu")
    x = np.random.default_rng(0).standard_normal((2, 4, 3))
    x0 = x.copy()
    y = layer.forward(x, train=True)
    g = np.ones_like(y)
    layer.backward(g)
    assert np.array_equal(x, x0) and np.array_equal(g, np.ones_like(y))


def test_zeros_as_follows_the_layout_and_shares_one_read_only_buffer(monkeypatch):
    x = np.ones((2, 3, 7), np.float32).swapaxes(1, 2)  # the layout Dense returns
    z = zeros_as(x)
    assert z.shape == x.shape and z.strides == x.strides and z.dtype == x.dtype
    assert not z.any() and not z.flags.writeable
    assert np.shares_memory(z, zeros_as(np.ones((4, 5), np.float32)))
    assert zeros_as(np.ones(3)).dtype == np.float64
    monkeypatch.setattr(buffers, "SHARED_ZEROS_BYTES", x.nbytes - 1)
    assert zeros_as(x) is None


def test_dense_layers_share_one_read_only_vector_of_ones():
    a, b = ones_vector(5, np.float32), ones_vector(300, np.float32)
    assert a.shape == (5,) and (b == 1).all() and not b.flags.writeable
    assert np.shares_memory(ones_vector(5, np.float32), ones_vector(7, np.float32))
    assert ones_vector(3, np.dtype(np.float64)).dtype == np.float64
    model = mlp([5, 8, 1], replicas=2)
    model.forward(data()[0], train=True)
    model.backward(np.ones((2, 64, 1)))
    assert np.shares_memory(model.layers[0]._ones, model.layers[2]._ones)


@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("train", [True, False])
def test_relu_is_maximum_with_zero_bit_for_bit(monkeypatch, train, shared):
    """Signed zeros, NaN and infinities included, as NumPy's ``maximum(x, 0)`` gives them."""
    if not shared:  # every array too large to share: the layer's own zeros or the scalar 0
        monkeypatch.setattr(buffers, "SHARED_ZEROS_BYTES", 0)
    x = np.random.default_rng(1).standard_normal((2, 40, 9)).astype(np.float32)
    x.flat[::7], x.flat[1::11], x.flat[2::13], x.flat[3::17] = -0.0, np.nan, np.inf, -np.inf
    x = np.ascontiguousarray(x.swapaxes(1, 2)).swapaxes(1, 2)
    expected = np.maximum(x, 0)
    for arr in (x, x.copy(), x[:, :5]):  # a new shape and a new layout after the first
        expected = np.maximum(arr, 0)
        got = ActivationLayer("relu").forward(arr, train)
        assert got.tobytes() == expected.tobytes() and got.strides == expected.strides


def test_a_pass_that_keeps_nothing_gives_the_same_logits_and_lets_go_of_its_arrays():
    model = mlp([5, 6, 3], residual=True, blocks=2, output="softmax", norm="batch",
                replicas=2, alpha=0.5)
    X = data()[0]
    model.forward(X, train=True)  # BatchNorm's running statistics move off 0 and 1
    z = model.forward(X, keep=False)
    for layer in all_layers(model):
        assert all(getattr(layer, name, None) is None for name in ("_x", "_y", "_out", "_cache"))
    assert np.array_equal(model.forward(X), z)
    dense = [la for la in all_layers(model) if isinstance(la, Dense)]
    assert all(d.last_input is not None for d in dense)  # a pass that keeps feeds backward
    model.backward(np.ones_like(z))
