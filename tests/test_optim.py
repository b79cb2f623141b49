"""Optimizers: each update against its formula and PyTorch; frozen replicas; L2 decay."""

import math

import numpy as np
import pytest

from initlab import optim
from initlab.errors import InitlabError
from initlab.nn import mlp
from initlab.nn.layers import Param
from initlab.optim import OPTIMIZERS, add_l2_grad, get_optimizer, l2_penalty, l2_terms

GRADS = [np.array([[0.5, -1.0, 2.0]]), np.array([[-0.25, 3.0, 0.1]]), np.array([[1.0, 1.0, -4.0]])]
W0 = np.array([[1.0, -2.0, 0.5]])


def run(spec, lr):
    """Three steps of ``spec`` from W0 with the fixed gradients GRADS."""
    p = Param(W0.copy(), "w", decay=True)
    opt = get_optimizer(spec, lr)
    for g in GRADS:
        p.grad[...] = g
        opt.step([p])
    return p.value


def reference(name, lr, **hp):
    """The update rules written out by hand, independently of initlab.optim."""
    w, state = W0.copy(), {"a": np.zeros_like(W0), "b": np.zeros_like(W0)}
    for t, g in enumerate(GRADS, start=1):
        if name == "sgd":
            w = w - lr * g
        elif name in ("momentum", "nesterov"):
            mu = hp["momentum"]
            state["a"] = mu * state["a"] + g
            step = g + mu * state["a"] if name == "nesterov" else state["a"]
            w = w - lr * step
        elif name == "adagrad":
            state["a"] = state["a"] + g**2
            w = w - lr * g / (np.sqrt(state["a"]) + hp["eps"])
        elif name == "rmsprop":
            state["a"] = hp["rho"] * state["a"] + (1 - hp["rho"]) * g**2
            w = w - lr * g / (np.sqrt(state["a"]) + hp["eps"])
        elif name == "adam":
            b1, b2 = hp["beta1"], hp["beta2"]
            state["a"] = b1 * state["a"] + (1 - b1) * g
            state["b"] = b2 * state["b"] + (1 - b2) * g**2
            m_hat, v_hat = state["a"] / (1 - b1**t), state["b"] / (1 - b2**t)
            w = w - lr * m_hat / (np.sqrt(v_hat) + hp["eps"])
    return w


@pytest.mark.parametrize("spec, name, hp", [
    ("sgd", "sgd", {}),
    ("momentum(0.8)", "momentum", {"momentum": 0.8}),
    ("nesterov(momentum=0.7)", "nesterov", {"momentum": 0.7}),
    ("adagrad(eps=1e-3)", "adagrad", {"eps": 1e-3}),
    ("rmsprop(rho=0.9, eps=1e-4)", "rmsprop", {"rho": 0.9, "eps": 1e-4}),
    ("adam(beta1=0.8, beta2=0.99, eps=1e-6)", "adam", {"beta1": 0.8, "beta2": 0.99, "eps": 1e-6}),
])
def test_update_matches_its_formula(spec, name, hp):
    np.testing.assert_allclose(run(spec, 0.1), reference(name, 0.1, **hp), rtol=1e-13)


@pytest.mark.parametrize("spec, torch_name, kwargs", [
    ("sgd", "SGD", {}),
    ("momentum(0.9)", "SGD", {"momentum": 0.9}),
    ("nesterov(0.9)", "SGD", {"momentum": 0.9, "nesterov": True}),
    ("adagrad", "Adagrad", {"eps": 1e-10}),
    ("rmsprop", "RMSprop", {"alpha": 0.99, "eps": 1e-8}),
    ("adam", "Adam", {"betas": (0.9, 0.999), "eps": 1e-8}),
])
def test_defaults_match_pytorch(spec, torch_name, kwargs):
    torch = pytest.importorskip("torch")
    w = torch.tensor(W0, requires_grad=True)
    opt = getattr(torch.optim, torch_name)([w], lr=0.05, **kwargs)
    for g in GRADS:
        w.grad = torch.tensor(g)
        opt.step()
    np.testing.assert_allclose(run(spec, 0.05), w.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_frozen_replicas_do_not_move(name):
    p = Param(np.arange(6.0).reshape(3, 2), "w", decay=True)
    opt = get_optimizer(name, 0.1)
    active = np.array([True, False, True])
    for _ in range(3):
        p.grad[...] = 1.0
        opt.step([p], active)
    np.testing.assert_array_equal(p.value[1], [2.0, 3.0])
    assert (p.value[[0, 2]] != np.array([[0.0, 1.0], [4.0, 5.0]])).all()


@pytest.mark.parametrize("shape", [(2, 1001), (2, 7, 9), (2, 1)])
@pytest.mark.parametrize("per_replica", [False, True])
@pytest.mark.parametrize("scaled", [False, True])
def test_sgd_in_slices_steps_as_one_product_bit_for_bit(monkeypatch, shape, per_replica, scaled):
    """SGD steps a large array slice by slice (optim.SGD_SLICE): the same w - (lr g) per
    value as one product over the whole array, per-replica rates and lr_scale included."""
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal(shape).astype(np.float32)
    grads = [rng.standard_normal(shape).astype(np.float32) for _ in range(3)]
    lr = np.array([0.1, 0.3]) if per_replica else 0.1
    scale = rng.random(shape[1:]).astype(np.float32) if scaled else None
    values = []
    for size in (1 << 30, 5):
        monkeypatch.setattr(optim, "SGD_SLICE", size)
        p = Param(w0.copy(), "w", decay=True)
        p.lr_scale = None if scale is None else {"sgd": scale}
        opt = get_optimizer("sgd", lr)
        for g in grads:
            p.grad[...] = g
            opt.step([p])
        values.append(p.value)
    rate = get_optimizer("sgd", lr).rate(p)
    expected = w0.copy()
    for g in grads:
        expected -= np.multiply(g, rate).astype(np.float32)
    assert values[0].tobytes() == values[1].tobytes() == expected.tobytes()


def test_state_is_created_lazily_and_the_step_count_advances():
    opt = get_optimizer("adam", 0.1)
    assert opt.state is None and opt.t == 0
    p = Param(np.zeros((1, 2)), "w", decay=True)
    opt.step([p])
    assert opt.t == 1 and set(opt.state[0]) == {"m", "v"}


def test_float32_parameters_stay_float32():
    for name in OPTIMIZERS:
        p = Param(np.ones((2, 3), np.float32), "w", decay=True)
        p.grad[...] = 0.5
        get_optimizer(name, 0.1).step([p])
        assert p.value.dtype == np.float32


def test_repr_and_spec_parsing():
    assert repr(get_optimizer("adam(beta1=0.8)", 1e-3)) == \
        "Adam(lr=0.001, beta1=0.8, beta2=0.999, eps=1e-08)"
    assert repr(get_optimizer(" Momentum( 0.5 ) ", 0.1)) == "Momentum(lr=0.1, momentum=0.5)"
    opt = get_optimizer("sgd", 1.0)
    assert get_optimizer(opt) is opt


@pytest.mark.parametrize("spec, lr, message", [
    ("sgd", -0.1, r"learning rate must be a number in \(0.0, inf\), got -0.1"),
    ("sgd", 0, r"learning rate must be a number in \(0.0, inf\), got 0"),
    ("adam", math.nan, "learning rate must be a number"),
    ("adamw", 0.1, "unknown optimizer 'adamw'; valid: adagrad, adam, momentum, nesterov, "
                   "rmsprop, sgd"),
    ("momentum(1.5)", 0.1, r"momentum must be a number in \[0.0, 1.0\), got 1.5"),
    ("adam(beta3=0.1)", 0.1, "bad parameters in 'adam\\(beta3=0.1\\)'.*valid parameters: "
                             "beta1, beta2, eps"),
    ("adam(lr=0.1)", 0.1, "valid parameters: beta1, beta2, eps"),
    ("rmsprop(eps=0)", 0.1, "eps must be a number in"),
])
def test_bad_optimizer_arguments(spec, lr, message):
    with pytest.raises(InitlabError, match=message):
        get_optimizer(spec, lr)


def test_l2_penalty_and_gradient_cover_weights_only(numgrad):
    model = mlp([3, 4, 2], output="softmax", replicas=2, bias_init="normal(1)", seed=0)
    terms = l2_terms(model, [0.1, 0.3])
    weights = [p for p in model.parameters() if p.decay]
    expected = sum(0.5 * lam * (w.value**2).sum(axis=(1, 2))
                   for w, lam in zip(weights, [0.1, 0.3], strict=True))
    np.testing.assert_allclose(l2_penalty(terms), expected, rtol=1e-14)
    for p in model.parameters():
        p.grad[...] = 0
    add_l2_grad(terms)
    for p in model.parameters():
        def total():
            return float(np.sum(l2_penalty(terms)))
        np.testing.assert_allclose(p.grad, numgrad(total, p.value), rtol=1e-6, atol=1e-10)
    assert not any(p.grad.any() for p in model.parameters() if not p.decay)


@pytest.mark.parametrize("l2, message", [
    (-0.1, r"L2 coefficient must be a number in \[0.0, inf\)"),
    ([0.1], "got 1 L2 coefficients for 2 weight layers"),
    ("big", "L2 coefficient must be a number"),
])
def test_bad_l2(l2, message):
    with pytest.raises(InitlabError, match=message):
        l2_terms(mlp([3, 4, 1]), l2)
