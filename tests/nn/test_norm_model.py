"""Models with normalization: mlp(norm=...), whole-model gradients, fit's train/eval switching,
saved files under PyTorch's names, and PyTorch parity of a whole BatchNorm net."""

import numpy as np
import pytest

from initlab.errors import InitlabError
from initlab.nn import BatchNorm, LayerNorm, load, mlp, save, state_dict
from initlab.train import accuracy, evaluate, fit


def _whole_model_check(model, X, y, numgrad, train):
    t = model.loss.targets(y, X.shape[-2], model.out_features, model.dtype)

    def total():
        return float(model.loss.value(model.forward(X, train), t).sum())

    z = model.forward(X, train)
    dx = model.backward(model.loss.grad(z, t))
    grads = [p.grad.copy() for p in model.parameters()]
    for p, g in zip(model.parameters(), grads, strict=True):
        np.testing.assert_allclose(g, numgrad(total, p.value), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(dx.sum(axis=0), numgrad(total, X), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("norm, train", [("batch", True), ("batch", False), ("layer", True)])
def test_whole_model_gradients_with_norm(numgrad, norm, train):
    model = mlp([4, 5, 3, 3], activation="tanh", output="softmax", norm=norm,
                init=["he", "normal(0.3)"], seed=[1, 2])
    for layer in model.layers:
        if isinstance(layer, (BatchNorm, LayerNorm)):
            rng = np.random.default_rng(layer.num_features)
            layer.weight.value = 1 + 0.3 * rng.standard_normal(layer.weight.value.shape)
            layer.bias.value = 0.2 * rng.standard_normal(layer.bias.value.shape)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    if not train:
        model.forward(X, train=True)  # running statistics away from 0 and 1
    _whole_model_check(model, X, y, numgrad, train)


def test_mlp_places_the_norm_between_linear_and_activation():
    model = mlp([3, 4, 4, 2], norm="batch", momentum=0.2, eps=1e-3, dropout=0.1,
                output="softmax", replicas=2)
    kinds = [type(la).__name__ for la in model.layers]
    assert kinds == ["Dense", "BatchNorm", "ActivationLayer", "Dropout", "Dense", "BatchNorm",
                     "ActivationLayer", "Dropout", "Dense"]
    assert model.layers[1].momentum == 0.2 and model.layers[1].eps == 1e-3
    assert model.has_batch_norm and not mlp([3, 4, 1], norm="layer").has_batch_norm
    assert model.n_params == (3 * 4 + 4 + 2 * 4) + (4 * 4 + 4 + 2 * 4) + (4 * 2 + 2)
    assert "BatchNorm(4, momentum=0.2, eps=0.001)" in repr(model)
    # the norm's parameters are views of the flat buffer the optimizer updates
    model.flat_parameters()[0].value[...] = 3.0
    assert (model.layers[1].weight.value == 3.0).all()


@pytest.mark.parametrize("kwargs, message", [
    ({"norm": "nosuch"}, "unknown norm 'nosuch'; valid: none, batch, layer"),
    ({"norm": "batch", "momentum": 2}, "momentum must be a number in \\[0, 1\\], got 2"),
    ({"norm": "layer", "eps": 0.0}, "eps must be a finite number > 0, got 0.0")])
def test_bad_norm_arguments(kwargs, message):
    with pytest.raises(InitlabError, match=message):
        mlp([3, 4, 2], **kwargs)


def test_fit_trains_on_batch_statistics_and_evaluates_on_running_ones():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3)) * 4 + 3
    y = (X[:, 0] > 3).astype(int)
    model = mlp([3, 8, 1], norm="batch", seed=[0, 1])
    history = fit(model, X, y, lr=0.1, iterations=30, record_every=10)
    bn = model.layers[1]
    assert bn.num_batches_tracked == 30  # one update per training step, none per evaluation
    # evaluation (running statistics) and training (batch statistics) give different logits
    assert not np.allclose(model.logits(X), model.forward(X, train=True))
    np.testing.assert_allclose(accuracy(model, X, y), (model.predict(X) == y).mean(axis=1))
    assert np.isfinite(history.train_accuracy).all()
    assert evaluate(model, X, y).shape == (2,)


def test_recorded_accuracy_uses_evaluation_mode():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 2)) + 5  # far from 0: batch and running statistics differ
    y = (X[:, 1] > 5).astype(int)
    model = mlp([2, 6, 1], norm="batch", seed=3)
    history = fit(model, X, y, lr=0.05, iterations=1, record_every=1)
    # after step 0 the running statistics moved 10% towards the batch's: evaluate with them
    ref = mlp([2, 6, 1], norm="batch", seed=3)
    ref.forward(X, train=True)
    expected = (ref.predict(X) == y).mean(axis=1)
    np.testing.assert_allclose(history.train_accuracy[:, 0], expected)


@pytest.mark.parametrize("n, batch, replace, message", [
    (1, None, False, "every batch has 1"), (10, 1, False, "every batch has 1"),
    (21, 10, False, "last batch of each epoch \\(21 examples in batches of 10\\)")])
def test_fit_refuses_a_batch_of_one_with_batch_norm(n, batch, replace, message):
    model = mlp([2, 3, 1], norm="batch")
    X, y = np.ones((n, 2)), np.arange(n) % 2
    with pytest.raises(InitlabError, match=message):
        fit(model, X, y, iterations=3, batch_size=batch, replace=replace)
    fit(mlp([2, 3, 1], norm="layer"), X, y, iterations=1, batch_size=batch)  # LayerNorm: fine


@pytest.mark.parametrize("suffix", [".safetensors", ".npz"])
@pytest.mark.parametrize("norm", ["batch", "layer"])
def test_round_trip_with_norm_layers(tmp_path, suffix, norm):
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((20, 3)), rng.integers(0, 3, 20)
    model = mlp([3, 5, 4, 3], output="softmax", norm=norm, seed=[4, 5])
    fit(model, X, y, lr=0.1, iterations=5, batch_size=10)
    back = load(save(model, tmp_path / f"m{suffix}"))
    np.testing.assert_array_equal(back.logits(X), model.logits(X))
    for a, b in zip(back.layers, model.layers, strict=True):
        assert repr(a) == repr(b)
    if norm == "batch":
        np.testing.assert_array_equal(back.layers[1].running_var, model.layers[1].running_var)
        assert back.layers[1].num_batches_tracked == 5
    one = state_dict(model, 1)
    names = {"batch": ["1.weight", "1.bias", "1.running_mean", "1.running_var",
                       "1.num_batches_tracked"], "layer": ["1.weight", "1.bias"]}[norm]
    assert [k for k in one if k.startswith("1.")] == names


def test_saved_batch_norm_net_loads_into_pytorch_and_matches_it(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file
    from torch import nn

    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((24, 4)) * 2 + 1, rng.integers(0, 3, 24)
    model = mlp([4, 6, 5, 3], output="softmax", norm="batch", seed=[7, 8])
    fit(model, X, y, lr=0.1, iterations=6, batch_size=8)
    net = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 5),
                        nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 3)).double()
    net.load_state_dict(load_file(str(save(model.select([1]), tmp_path / "one.safetensors"))))
    net.eval()
    with torch.no_grad():
        np.testing.assert_allclose(net(torch.from_numpy(X)).numpy(), model.logits(X)[1],
                                   rtol=1e-12, atol=1e-12)
    assert int(net[1].num_batches_tracked) == 6


def test_training_a_batch_norm_net_matches_pytorch_step_by_step():
    torch = pytest.importorskip("torch")
    from initlab.nn import to_torch

    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((32, 5)) + 2, rng.integers(0, 4, 32)
    model = mlp([5, 7, 6, 4], output="softmax", norm="batch", momentum=0.3, seed=[9])
    net = to_torch(model)
    opt = torch.optim.SGD(net.parameters(), lr=0.2)
    loss_fn = torch.nn.CrossEntropyLoss()
    fit(model, X, y, lr=0.2, iterations=8, batch_size=8, seed=0)
    perm_rng = np.random.default_rng(0)  # fit's minibatch order: a permutation per epoch
    net.train()
    for _ in range(2):
        perm = perm_rng.permutation(32)
        for s in range(0, 32, 8):
            idx = perm[s:s + 8]
            opt.zero_grad()
            loss_fn(net(torch.from_numpy(X[idx])), torch.from_numpy(y[idx])).backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        np.testing.assert_allclose(net(torch.from_numpy(X)).numpy(), model.logits(X)[0],
                                   rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(net[1].running_var.numpy(), model.layers[1].running_var[0],
                               rtol=1e-10)
