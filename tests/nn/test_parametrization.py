"""Width parametrizations (SP, NTK, muP): the rules of Tensor Programs V's Table 8, SP left
bit for bit as it was, NTK equal to its explicit form, per-replica learning rates."""

import math

import numpy as np
import pytest

from initlab.errors import InitlabError
from initlab.nn import mlp
from initlab.nn.layers import Dense
from initlab.nn.parametrization import layer_rules
from initlab.optim import get_optimizer
from initlab.train import fit

X = np.random.default_rng(0).normal(size=(40, 5))
Y = np.arange(40) % 3


def train(model, spec, lr, steps=4):
    fit(model, X, Y, optimizer=spec, lr=lr, iterations=steps)
    return model.flat_parameters()[0].value.copy()


def test_mup_rules_are_table_8_of_tensor_programs_v():
    # in -> n -> n -> out with n = 4 n0: m = 4 on every hidden dimension
    first, hidden, readout = layer_rules("mup", [5, 256, 256, 3], base_width=64)
    # init: input weight/bias unchanged; hidden bias x sqrt(m); readout weight and bias x sqrt(m)
    assert (first.init_weight, first.init_bias) == (1.0, 1.0)
    assert (hidden.init_weight, hidden.init_bias) == (1.0, 2.0)
    assert (readout.init_weight, readout.init_bias) == (2.0, 2.0)
    # multiplier 1/fan_in on the output weights only
    assert (first.multiplier, hidden.multiplier, readout.multiplier) == (1.0, 1.0, 0.25)
    # Adam: hidden weights 1/fan_in, everything else 1
    assert [r.lr["adam"] for r in (first, hidden, readout)] == [(1, 1), (0.25, 1), (1, 1)]
    # SGD: input weights and biases fan_out; output weights fan_in; hidden weights 1;
    # the readout bias (no width dimension) 1
    assert [r.lr["sgd"] for r in (first, hidden, readout)] == [(4, 4), (1, 4), (4, 1)]


def test_ntk_rules_scale_the_rate_of_width_fan_in_weights():
    first, hidden, readout = layer_rules("ntk", [5, 256, 256, 3], base_width=64)
    assert [r.lr["sgd"] for r in (first, hidden, readout)] == [(1, 1), (0.25, 1), (0.25, 1)]
    assert [r.lr["adam"] for r in (first, hidden, readout)] == [(1, 1), (0.5, 1), (0.5, 1)]
    assert all(r.init_weight == r.init_bias == r.multiplier == 1 for r in (first, readout))


@pytest.mark.parametrize("param", ["sp", "ntk", "mup"])
def test_at_the_base_width_every_parametrization_is_sp_bit_for_bit(param):
    for spec in ("sgd", "adam", "momentum(0.9)"):
        sp = train(mlp([5, 16, 16, 3], output="softmax", replicas=2), spec, 0.05)
        other = train(mlp([5, 16, 16, 3], output="softmax", replicas=2, param=param,
                          base_width=16), spec, 0.05)
        assert np.array_equal(sp, other)


def test_sp_steps_at_the_very_float_it_was_given():
    model = mlp([5, 16, 3], output="softmax", param="sp")
    assert all(d.multiplier == 1.0 for d in model.dense_layers)
    assert all(p.lr_scale is None for p in [*model.parameters(), *model.flat_parameters()])
    opt = get_optimizer("adam", 0.1)
    assert opt.rate(model.flat_parameters()[0]) is opt.lr


def test_one_learning_rate_per_replica_trains_as_separate_models():
    lrs = [0.01, 0.1, 0.3]
    together = mlp([5, 8, 8, 3], output="softmax", seed=[1, 1, 1], param="mup", base_width=4)
    fit(together, X, Y, optimizer=get_optimizer("adam", lrs), iterations=3)
    for r, lr in enumerate(lrs):
        alone = mlp([5, 8, 8, 3], output="softmax", seed=[1], param="mup", base_width=4)
        fit(alone, X, Y, optimizer="adam", lr=lr, iterations=3)
        np.testing.assert_allclose(together.flat_parameters()[0].value[r],
                                   alone.flat_parameters()[0].value[0], rtol=1e-12, atol=1e-15)
    # equal rates per replica are the scalar rate, bit for bit
    a = train(mlp([5, 8, 3], output="softmax", replicas=2), get_optimizer("adam", [0.1, 0.1]), 0)
    b = train(mlp([5, 8, 3], output="softmax", replicas=2), "adam", 0.1)
    assert np.array_equal(a, b)


def explicit_ntk(sizes, base, seed):
    """The NTK parametrization written as its definition: W = c w with c = sqrt(n0 / fan_in)
    on layers whose fan-in is a width (a Dense input multiplier), w = W_SP / c trained at a
    plain learning rate."""
    model = mlp(sizes, output="softmax", seed=seed)
    for d in model.dense_layers[1:]:
        c = math.sqrt(base / d.in_features)
        d.multiplier = c
        d.weight.value = d.weight.value / c
    return model


@pytest.mark.parametrize("spec, rtol", [("sgd", 1e-10), ("adam(eps=1e-30)", 1e-8)])
def test_ntk_multipliers_equal_the_explicit_ntk_parametrization(spec, rtol):
    sizes, base = [5, 64, 64, 3], 16
    ours = mlp(sizes, output="softmax", seed=2, param="ntk", base_width=base)
    theirs = explicit_ntk(sizes, base, seed=2)
    fit(ours, X, Y, optimizer=spec, lr=0.05, iterations=5)
    fit(theirs, X, Y, optimizer=spec, lr=0.05, iterations=5)
    for a, b in zip(ours.dense_layers, theirs.dense_layers, strict=True):
        np.testing.assert_allclose(a.weight.value, b.weight.value * b.multiplier, rtol=rtol,
                                   atol=1e-12)
        np.testing.assert_allclose(a.bias.value, b.bias.value, rtol=rtol, atol=1e-12)


def test_the_readout_multiplier_survives_select_and_save(tmp_path):
    model = mlp([5, 32, 32, 3], output="softmax", replicas=2, param="mup", base_width=8)
    assert model.dense_layers[-1].multiplier == 0.25
    picked = model.select([1])
    assert picked.dense_layers[-1].multiplier == 0.25
    np.testing.assert_array_equal(picked.flat_parameters()[0].lr_scale["adam"],
                                  model.flat_parameters()[0].lr_scale["adam"])
    from initlab.nn.model import load

    model.save(tmp_path / "m.npz")
    again = load(tmp_path / "m.npz")
    np.testing.assert_array_equal(again.logits(X), model.logits(X))


def test_the_multiplier_gradient_is_the_derivative():
    layer = Dense(4, 3, rngs=[np.random.default_rng(0)])
    layer.multiplier = 0.3
    x = np.random.default_rng(1).normal(size=(1, 6, 4))
    g = np.random.default_rng(2).normal(size=(1, 6, 3))
    layer.forward(x)
    dx = layer.backward(g)
    eps = 1e-6
    num = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[idx] = eps
        num[idx] = ((layer.forward(x + d) - layer.forward(x - d)) * g).sum() / (2 * eps)
    np.testing.assert_allclose(dx, num, rtol=1e-6, atol=1e-8)
    layer.forward(x)
    layer.backward(g)
    np.testing.assert_allclose(layer.weight.grad[0], 0.3 * g[0].T @ x[0], rtol=1e-12)


@pytest.mark.parametrize("kwargs, message", [
    ({"param": "mupp", "base_width": 4}, "unknown parametrization 'mupp'; valid: mup, ntk, sp"),
    ({"param": "mup", "base_width": 64}, "base width 64 is larger than width 16"),
    ({"param": "mup", "base_width": None}, "the base width must be a positive integer"),
    ({"param": "ntk", "base_width": 0}, "the base width must be a positive integer, got 0"),
])
def test_bad_parametrizations_say_what_is_allowed(kwargs, message):
    with pytest.raises(InitlabError, match=message.replace("(", r"\(")):
        mlp([5, 16, 32, 3], **kwargs)


def test_bad_per_replica_rates():
    with pytest.raises(InitlabError, match=r"must be a number in \(0.0, inf\), got -0.1"):
        get_optimizer("sgd", [0.1, -0.1])
    model = mlp([5, 4, 3], output="softmax", replicas=2)
    with pytest.raises(InitlabError, match="got 3 learning rates for 2 replicas"):
        fit(model, X, Y, optimizer=get_optimizer("sgd", [0.1, 0.1, 0.1]), iterations=1)



def test_a_saved_mup_model_trains_on_at_its_rates(tmp_path):
    """The learning-rate multipliers are saved with the model: a reloaded muP net takes the
    same Adam steps as the net it was saved from (SP rates would differ)."""
    from initlab.nn.model import load

    net = mlp([5, 32, 32, 3], output="softmax", seed=2, param="mup", base_width=8)
    net.save(tmp_path / "net.npz")
    again = load(tmp_path / "net.npz")
    for p, q in zip(net.parameters(), again.parameters(), strict=True):
        assert p.lr_scale is not None and p.lr_scale.keys() == q.lr_scale.keys()
        for kind in p.lr_scale:
            np.testing.assert_array_equal(p.lr_scale[kind], q.lr_scale[kind])
    for model in (net, again):
        fit(model, X, Y, optimizer="adam", lr=0.01, iterations=3)
    for p, q in zip(net.flat_parameters(), again.flat_parameters(), strict=True):
        np.testing.assert_array_equal(p.value, q.value)
