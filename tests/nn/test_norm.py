"""BatchNorm and LayerNorm: numerical gradients, PyTorch parity, running statistics, bad input."""

import importlib.util

import numpy as np
import pytest

from initlab.errors import InitlabError
from initlab.nn.norm import BatchNorm, LayerNorm, check_norm, normalize, normalize_backward

HAS_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="PyTorch not installed")


def _set_affine(layer, seed=0):
    rng = np.random.default_rng(seed)
    layer.weight.value = rng.standard_normal(layer.weight.value.shape) + 1
    layer.bias.value = rng.standard_normal(layer.bias.value.shape)


def _check(layer, x, numgrad, train):
    w = np.random.default_rng(1).standard_normal(layer.forward(x, train).shape)

    def f():
        return float(np.sum(w * layer.forward(x, train)))

    layer.forward(x, train)
    dx = layer.backward(w)
    grads = [p.grad.copy() for p in layer.parameters()]
    if dx.ndim > x.ndim:
        dx = dx.sum(axis=0)
    np.testing.assert_allclose(dx, numgrad(f, x), rtol=1e-6, atol=1e-8)
    for p, g in zip(layer.parameters(), grads, strict=True):
        np.testing.assert_allclose(g, numgrad(f, p.value), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("shared", [True, False])
def test_batch_norm_gradients(numgrad, train, shared):
    layer = BatchNorm(3, replicas=2)
    _set_affine(layer)
    layer.running_mean[...] = [[0.1, -0.2, 0.3], [0.0, 0.5, -0.5]]
    layer.running_var[...] = [[0.5, 2.0, 1.5], [1.0, 0.7, 3.0]]
    x = np.random.default_rng(2).standard_normal((5, 3) if shared else (2, 5, 3)) * 2 + 1
    _check(layer, x, numgrad, train)


@pytest.mark.parametrize("shared", [True, False])
def test_layer_norm_gradients(numgrad, shared):
    layer = LayerNorm(4, replicas=2)
    _set_affine(layer)
    x = np.random.default_rng(3).standard_normal((3, 4) if shared else (2, 3, 4)) * 3 - 1
    _check(layer, x, numgrad, train=True)


def test_normalize_backward_on_either_axis(numgrad):
    x = np.random.default_rng(4).standard_normal((2, 6, 5))
    w = np.random.default_rng(5).standard_normal(x.shape)
    for axis in (-1, -2):
        x_hat, _, var = normalize(x, axis, 1e-5)
        dx = normalize_backward(w, x_hat, var, axis, 1e-5)
        np.testing.assert_allclose(
            dx, numgrad(lambda a=axis: float(np.sum(w * normalize(x, a, 1e-5)[0])), x),
            rtol=1e-6, atol=1e-8)


def test_batch_norm_train_and_eval_formulas_and_running_statistics():
    layer = BatchNorm(4, replicas=3, momentum=0.3)
    x = np.random.default_rng(6).standard_normal((3, 10, 4)) * 5 + 2
    y = layer.forward(x, train=True)
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=1), x.var(axis=1) / (x.var(axis=1) + 1e-5))
    np.testing.assert_allclose(layer.running_mean, 0.3 * x.mean(axis=1))
    np.testing.assert_allclose(layer.running_var, 0.7 + 0.3 * x.var(axis=1, ddof=1))
    assert layer.num_batches_tracked == 1
    before = layer.running_mean.copy()
    y_eval = layer.forward(x, train=False)
    np.testing.assert_array_equal(layer.running_mean, before)  # evaluation changes nothing
    expected = (x - before[:, None]) / np.sqrt(layer.running_var[:, None] + 1e-5)
    np.testing.assert_allclose(y_eval, expected)
    assert layer.num_batches_tracked == 1


def test_layer_norm_normalizes_each_example_the_same_in_both_modes():
    layer = LayerNorm(6, replicas=2)
    x = np.random.default_rng(7).standard_normal((2, 4, 6)) * 3 + 1
    y = layer.forward(x, train=True)
    np.testing.assert_allclose(y.mean(axis=-1), 0, atol=1e-12)
    np.testing.assert_array_equal(y, layer.forward(x, train=False))


def test_incoming_arrays_are_not_modified():
    x = np.random.default_rng(8).standard_normal((2, 5, 3))
    g = np.random.default_rng(9).standard_normal((2, 5, 3))
    keep_x, keep_g = x.copy(), g.copy()
    for layer in (BatchNorm(3, 2), LayerNorm(3, 2)):
        for train in (True, False):
            layer.forward(x, train)
            layer.backward(g)
    np.testing.assert_array_equal(x, keep_x)
    np.testing.assert_array_equal(g, keep_g)


def test_select_copies_replicas_and_statistics():
    layer = BatchNorm(3, replicas=3)
    layer.forward(np.random.default_rng(0).standard_normal((3, 8, 3)), train=True)
    one = layer.select([2])
    np.testing.assert_array_equal(one.running_var, layer.running_var[[2]])
    assert one.num_batches_tracked == 1 and one.weight.value.shape == (1, 3)
    one.running_var[...] = 7
    assert not np.any(layer.running_var == 7)


@pytest.mark.parametrize("bad, match", [
    ({"momentum": 1.5}, "momentum must be a number in \\[0, 1\\], got 1.5"),
    ({"momentum": -0.1}, "momentum"), ({"eps": 0}, "eps must be a finite number > 0, got 0"),
    ({"eps": -1e-5}, "eps"), ({"eps": float("nan")}, "eps")])
def test_bad_momentum_and_eps(bad, match):
    with pytest.raises(InitlabError, match=match):
        BatchNorm(3, **bad)


def test_bad_norm_name_and_batch_of_one():
    with pytest.raises(InitlabError, match="unknown norm 'nosuch'.*batch, layer"):
        check_norm("nosuch")
    assert check_norm("none") is None and check_norm("batch") == "batch"
    with pytest.raises(InitlabError, match="at least 2 examples per batch.*batch of 1"):
        BatchNorm(3).forward(np.ones((1, 3)), train=True)
    BatchNorm(3).forward(np.ones((1, 3)), train=False)  # evaluation is fine, as in PyTorch


# ----------------------------------------------------------------------------- PyTorch parity
def _torch_pair(kind, features, seed):
    import torch

    torch.manual_seed(seed)
    if kind == "batch":
        ref = torch.nn.BatchNorm1d(features, momentum=0.2, eps=1e-4).double()
        ours = BatchNorm(features, 1, momentum=0.2, eps=1e-4)
    else:
        ref = torch.nn.LayerNorm(features, eps=1e-4).double()
        ours = LayerNorm(features, 1, eps=1e-4)
    _set_affine(ours, seed)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(ours.weight.value[0]))
        ref.bias.copy_(torch.from_numpy(ours.bias.value[0]))
    return ref, ours


@needs_torch
@pytest.mark.parametrize("kind", ["batch", "layer"])
def test_parity_with_torch_over_several_steps(kind):
    import torch

    ref, ours = _torch_pair(kind, 5, 0)
    rng = np.random.default_rng(10)
    for step in range(4):
        train = step != 2  # train, train, eval, train
        ref.train(train)
        x = rng.standard_normal((7, 5)) * (step + 1) + step
        g = rng.standard_normal((7, 5))
        xt = torch.from_numpy(x).requires_grad_(True)
        ref.zero_grad()
        out = ref(xt)
        out.backward(torch.from_numpy(g))
        y = ours.forward(x, train)
        dx = ours.backward(g[None])
        np.testing.assert_allclose(y[0], out.detach().numpy(), rtol=0, atol=1e-10)
        np.testing.assert_allclose(dx[0], xt.grad.numpy(), rtol=0, atol=1e-10)
        np.testing.assert_allclose(ours.weight.grad[0], ref.weight.grad.numpy(), atol=1e-10)
        np.testing.assert_allclose(ours.bias.grad[0], ref.bias.grad.numpy(), atol=1e-10)
        if kind == "batch":
            np.testing.assert_allclose(ours.running_mean[0], ref.running_mean.numpy(),
                                       rtol=0, atol=1e-10)
            np.testing.assert_allclose(ours.running_var[0], ref.running_var.numpy(),
                                       rtol=0, atol=1e-10)
            assert ours.num_batches_tracked == int(ref.num_batches_tracked)


@needs_torch
def test_torch_refuses_a_batch_of_one_too():
    import torch

    with pytest.raises(ValueError, match="more than 1 value"):
        torch.nn.BatchNorm1d(3)(torch.ones(1, 3))
