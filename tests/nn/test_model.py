"""Sequential / mlp: published initial weights, replicas, whole-model gradients, PyTorch."""

import numpy as np
import pytest

from initlab.errors import InitlabError
from initlab.nn import Dense, Dropout, Sequential, mlp, state_dict


def test_course_random_init_draws_the_published_weights():
    model = mlp([3, 2, 1], init="normal(10)", seed=[np.random.RandomState(3)])
    np.testing.assert_allclose(model.layers[0].weight.value[0],
                               [[17.88628473, 4.36509851, 0.96497468],
                                [-18.63492703, -2.77388203, -3.54758979]], rtol=0, atol=5e-9)
    np.testing.assert_allclose(model.layers[2].weight.value[0], [[-0.82741481, -6.27000677]],
                               rtol=0, atol=5e-9)
    assert not model.layers[0].bias.value.any()


def test_course_he_init_in_a_three_replica_model():
    model = mlp([2, 4, 1], init=["zeros", "normal(10)", "he"],
                seed=[np.random.RandomState(3)] * 3)
    he_w1 = [[1.78862847, 0.43650985], [0.09649747, -1.8634927], [-0.2773882, -0.35475898],
             [-0.08274148, -0.62700068]]
    # the published values are printed to 8 decimals
    np.testing.assert_allclose(model.layers[0].weight.value[2], he_w1, rtol=0, atol=5e-9)
    np.testing.assert_allclose(model.layers[2].weight.value[2],
                               [[-0.03098412, -0.33744411, -0.92904268, 0.62552248]],
                               rtol=0, atol=5e-9)
    assert not model.layers[0].weight.value[0].any()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_replica_is_bit_identical_to_a_one_replica_model(dtype):
    kw = dict(activation="tanh", dtype=dtype, output="softmax")
    many = mlp([5, 8, 3], init=["he", "xavier_uniform", "orthogonal"], seed=[10, 11, 12], **kw)
    one = mlp([5, 8, 3], init="xavier_uniform", seed=[11], **kw)
    for a, b in zip(many.parameters(), one.parameters(), strict=True):
        assert a.value.dtype == dtype
        np.testing.assert_array_equal(a.value[1], b.value[0])
    spawned = mlp([5, 8, 3], seed=4, replicas=3, **kw)
    child = mlp([5, 8, 3], seed=[np.random.SeedSequence(4).spawn(3)[2]], **kw)
    np.testing.assert_array_equal(spawned.parameters()[0].value[2], child.parameters()[0].value[0])


def test_parameters_are_views_of_one_flat_buffer():
    model = mlp([3, 4, 2], output="softmax", replicas=2)
    (flat,) = model.flat_parameters()
    assert flat.value.shape == (2, model.n_params) == (2, 3 * 4 + 4 + 4 * 2 + 2)
    flat.value[...] = 0.5
    assert all((p.value == 0.5).all() for p in model.parameters())


def whole_model_check(model, X, y, numgrad):
    t = model.loss.targets(y, X.shape[-2], model.out_features, model.dtype)

    def total():
        return float(model.loss.value(model.forward(X), t).sum())

    z = model.forward(X)
    dx = model.backward(model.loss.grad(z, t))
    grads = [p.grad.copy() for p in model.parameters()]
    for p, g in zip(model.parameters(), grads, strict=True):
        np.testing.assert_allclose(g, numgrad(total, p.value), rtol=1e-6, atol=1e-9)
    if X.ndim == 2:
        dx = dx.sum(axis=0)
    np.testing.assert_allclose(dx, numgrad(total, X), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("output, out, act", [("sigmoid", 1, "tanh"), ("softmax", 3, "gelu"),
                                              ("softmax", 3, "elu")])
@pytest.mark.parametrize("shared", [True, False])
def test_whole_model_gradients_with_three_replicas(numgrad, output, out, act, shared):
    model = mlp([4, 5, 3, out], activation=act, output=output, init=["he", "lecun", "normal(1)"],
                bias_init="normal(0.1)", seed=[1, 2, 3])
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 4) if shared else (3, 6, 4))
    y = rng.integers(0, max(out, 2), 6)
    whole_model_check(model, X, y, numgrad)


def test_repr_lists_layers_replicas_and_parameter_count():
    model = mlp([2, 10, 5, 1], init=["zeros", "he"], dropout=0.2)
    text = repr(model)
    assert "replicas=2" in text and "params=91 per replica" in text
    assert "(0): Dense(2 -> 10, init=['zeros', 'he'])" in text
    assert "(1): ActivationLayer(relu)" in text and "(2): Dropout(0.2)" in text
    assert "binary cross-entropy" in text


def test_select_copies_replicas_and_streams():
    model = mlp([3, 4, 1], init=["he", "normal(2)", "xavier"], seed=[1, 2, 3], dropout=0.5)
    part = model.select([2, 0])
    assert part.replicas == 2
    np.testing.assert_array_equal(part.layers[0].weight.value[0], model.layers[0].weight.value[2])
    part.layers[0].weight.value[...] = 0
    assert model.layers[0].weight.value.any()  # a copy, not a view
    x = np.ones((4, 3))
    a = model.forward(x, train=True)  # draws masks from the model's own streams ...
    b = part.forward(x, train=True)  # ... and the selection from its copies of them
    np.testing.assert_array_equal(model.layers[2]._mask[2], part.layers[2]._mask[0])
    assert a.shape == (3, 4, 1) and b.shape == (2, 4, 1)
    with pytest.raises(InitlabError, match=r"replica indices must be ints in \[0, 3\)"):
        model.select([3])


def test_predict_and_predict_proba():
    model = mlp([2, 6, 3], output="softmax", replicas=2, seed=0)
    X = np.random.default_rng(0).standard_normal((5, 2))
    proba = model.predict_proba(X)
    assert proba.shape == (2, 5, 3)
    np.testing.assert_allclose(proba.sum(axis=-1), 1.0)
    np.testing.assert_array_equal(model.predict(X), proba.argmax(axis=-1))
    binary = mlp([2, 3, 1], replicas=2)
    p = binary.predict_proba(X)
    assert p.shape == (2, 5)
    np.testing.assert_array_equal(binary.predict(X), (p > 0.5).astype(int))


@pytest.mark.parametrize("X, message", [
    (np.zeros((4, 3)), "X has 3 features per example but the model takes 2"),
    (np.zeros((0, 2)), "X is empty"),
    (np.array([[0.0, np.nan]]), "X contains NaN or inf"),
    (np.array([[0.0, np.inf]]), "X contains NaN or inf"),
    (np.zeros((3, 4, 2)), r"X must be \(N, 2\) or \(2, N, 2\), got shape \(3, 4, 2\)"),
    (np.zeros(2), r"got shape \(2,\)"),
    (np.array([["a", "b"]]), "X must be numeric"),
])
def test_bad_inputs_are_named(X, message):
    with pytest.raises(InitlabError, match=message):
        mlp([2, 3, 1], replicas=2).predict(X)


@pytest.mark.parametrize("kwargs, message", [
    (dict(sizes=[2]), "sizes must be a list"),
    (dict(sizes=[2, 0, 1]), "every layer size must be a positive integer, got 0"),
    (dict(sizes=[2, 3, 1], activation="swish"), "unknown activation 'swish'; valid:"),
    (dict(sizes=[2, 3, 1], init="kaiming_magic"), "unknown initializer 'kaiming_magic'"),
    (dict(sizes=[2, 3, 1], init=["he", "he"], replicas=3), "got 2 init specs for 3 replicas"),
    (dict(sizes=[2, 3, 2]), "a sigmoid output needs 1 unit"),
    (dict(sizes=[2, 3, 1], output="softmax"), "a softmax output needs at least 2 units"),
    (dict(sizes=[2, 3, 1], output="linear"), "unknown output 'linear'; valid: sigmoid, softmax"),
    (dict(sizes=[2, 3, 1], dtype=np.int32), "dtype must be float32 or float64"),
    (dict(sizes=[2, 3, 4, 1], dropout=[0.1]), "got 1 dropout rates for 2 hidden layers"),
])
def test_bad_model_arguments(kwargs, message):
    with pytest.raises(InitlabError, match=message):
        mlp(**kwargs)


def test_sequential_checks_that_layers_chain():
    with pytest.raises(InitlabError, match="layer sizes do not chain"):
        Sequential([Dense(2, 3), Dense(4, 1)])
    with pytest.raises(InitlabError, match="share replicas and dtype"):
        Sequential([Dense(2, 3, dtype=np.float32), Dense(3, 1)])
    model = Sequential([Dense(2, 3), Dropout(0.1), Dense(3, 1)])
    assert model.layers[1].rngs is model.rngs


TORCH_ACTS = ["relu", "tanh", "sigmoid", "leaky_relu(0.2)", "elu(0.5)", "selu", "gelu",
              "softplus", "identity"]


@pytest.mark.parametrize("act", TORCH_ACTS)
@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
def test_forward_and_backward_equal_pytorch(act, output):
    torch = pytest.importorskip("torch")
    from initlab.nn import to_torch

    out = 1 if output == "sigmoid" else 4
    model = mlp([5, 7, 6, out], activation=act, output=output, init=["he", "xavier"], seed=3,
                bias_init="uniform(-0.1, 0.1)")
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((9, 5)), rng.integers(0, max(out, 2), 9)
    t = model.loss.targets(y, 9, out, model.dtype)
    z = model.forward(X)
    loss = model.loss.value(z, t)
    model.backward(model.loss.grad(z, t), input_grad=False)
    for r in range(2):
        net = to_torch(model, r)
        logits = net(torch.from_numpy(X))
        if output == "sigmoid":
            tl = torch.nn.functional.binary_cross_entropy_with_logits(
                logits[:, 0], torch.from_numpy(y.astype(np.float64)))
        else:
            tl = torch.nn.functional.cross_entropy(logits, torch.from_numpy(y))
        tl.backward()
        np.testing.assert_allclose(z[r], logits.detach().numpy(), rtol=1e-12, atol=1e-14)
        assert loss[r] == pytest.approx(tl.item(), rel=1e-12)
        grads = dict(net.named_parameters())
        for i, layer in enumerate(model.layers):
            if isinstance(layer, Dense):
                np.testing.assert_allclose(layer.weight.grad[r], grads[f"{i}.weight"].grad.numpy(),
                                           rtol=1e-10, atol=1e-14)
                np.testing.assert_allclose(layer.bias.grad[r], grads[f"{i}.bias"].grad.numpy(),
                                           rtol=1e-10, atol=1e-14)


def test_state_dict_uses_pytorch_names_and_shapes():
    model = mlp([3, 4, 2], output="softmax", dropout=0.1, replicas=2)
    sd = state_dict(model, replica=1)
    assert {k: v.shape for k, v in sd.items()} == {
        "0.weight": (4, 3), "0.bias": (4,), "3.weight": (2, 4), "3.bias": (2,)}
    assert set(state_dict(model)) == {f"{r}.{k}" for r in range(2) for k in sd}
