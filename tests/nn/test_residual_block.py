"""Residual blocks: numerical gradients (replicas, alpha, norms, Fixup's scalars), the schemes'
rules inside a model, save/load, the same outputs from an equivalent PyTorch module, bad input."""

import numpy as np
import pytest

from initlab.errors import InitlabError
from initlab.nn import load, mlp, save, state_dict
from initlab.nn.layers import ActivationLayer, Dense, replica_rngs
from initlab.nn.norm import BatchNorm, LayerNorm
from initlab.nn.residual import Residual, ScalarBias, branch_layers
from initlab.train import fit


def check_gradients(layer, x, numgrad, train=False):
    """backward() against central differences of sum(w * forward(x)), for x and parameters."""
    w = np.random.default_rng(1).standard_normal(layer.forward(x, train).shape)

    def f():
        return float(np.sum(w * layer.forward(x, train)))

    layer.forward(x, train)
    dx = layer.backward(w)
    grads = [p.grad.copy() for p in layer.parameters()]
    np.testing.assert_allclose(dx, numgrad(f, x), rtol=1e-6, atol=1e-8)
    for p, g in zip(layer.parameters(), grads, strict=True):
        np.testing.assert_allclose(g, numgrad(f, p.value), rtol=1e-6, atol=1e-8)


def block(replicas=2, order="post", norm=None, fixup=False, alpha=None, learn=True,
          activation="tanh", depth=2):
    rngs = replica_rngs(3, replicas)

    def norm_layer():
        return (BatchNorm if norm == "batch" else LayerNorm)(4, replicas)

    mask = np.ones(replicas, bool) if fixup else None
    inner = branch_layers(4, depth, "he", rngs, np.float64, activation, order,
                          norm_layer if norm else None, mask)
    rng = np.random.default_rng(5)
    for layer in inner:  # nonzero scalars and norm affines, so their gradients are tested
        for p in layer.parameters():
            if not isinstance(layer, Dense):
                p.value = p.value + 0.3 * rng.standard_normal(p.value.shape)
    return Residual(inner, alpha, learn)


@pytest.mark.parametrize("replicas", [1, 3])
@pytest.mark.parametrize("alpha", [None, [0.7, -0.4, 1.3]])
@pytest.mark.parametrize("order", ["post", "pre"])
def test_block_gradients(numgrad, replicas, alpha, order):
    layer = block(replicas, order, alpha=None if alpha is None else alpha[:replicas])
    x = np.random.default_rng(0).standard_normal((replicas, 6, 4))
    check_gradients(layer, x, numgrad)


@pytest.mark.parametrize("norm", ["batch", "layer"])
@pytest.mark.parametrize("order", ["post", "pre"])
def test_block_gradients_with_a_norm_in_the_branch(numgrad, norm, order):
    layer = block(2, order, norm=norm, alpha=[0.5, 2.0])
    x = np.random.default_rng(0).standard_normal((2, 6, 4))
    check_gradients(layer, x, numgrad, train=True)


def test_block_gradients_with_fixup_scalars_and_three_layers(numgrad):
    layer = block(2, "post", fixup=True, alpha=[1.0, 0.6], depth=3)
    x = np.random.default_rng(0).standard_normal((2, 5, 4))
    check_gradients(layer, x, numgrad)


def test_frozen_scalars_get_no_gradient_and_learned_ones_do():
    layer = block(2, fixup=True, alpha=[1.0, 0.5], learn=[True, False])
    x = np.random.default_rng(0).standard_normal((2, 5, 4))
    layer.forward(x)
    layer.backward(np.ones((2, 5, 4)))
    assert layer.alpha.grad[1, 0] == 0.0 and layer.alpha.grad[0, 0] != 0.0
    frozen = ScalarBias(2, 0.0, [False, True])
    frozen.forward(x)
    frozen.backward(np.ones((2, 5, 4)))
    np.testing.assert_array_equal(frozen.bias.grad[:, 0], [0.0, 20.0])


def test_a_shared_input_gives_each_replica_its_part_of_the_gradient():
    layer = block(2, alpha=[0.5, 1.5])
    x = np.random.default_rng(0).standard_normal((5, 4))
    y = layer.forward(x)
    dx = layer.backward(np.ones_like(y))
    for r in range(2):
        one = layer.select([r])
        one.forward(x[None])
        np.testing.assert_allclose(dx[r], one.backward(np.ones((1, 5, 4)))[0], rtol=1e-12)


def stream(model, X):
    """The input of every block and the readout's input, (blocks + 1, R, N, F)."""
    h = model.layers[0].forward(X)
    out = [h]
    for layer in model.layers[1:-1]:
        h = layer.forward(h)
        out.append(h)
    return np.stack(out)


def test_identity_schemes_leave_the_stream_as_it_enters():
    X = np.random.default_rng(0).standard_normal((7, 5))
    model = mlp([5, 16, 3], residual=True, blocks=6, output="softmax",
                init=["fixup", "skipinit", "rezero"], seed=[1, 1, 1])
    s = stream(model, X)
    for block_out in s[1:]:
        np.testing.assert_array_equal(block_out, s[0])
    np.testing.assert_array_equal(model.layers[-1].weight.value[0], 0.0)  # fixup's readout
    assert model.layers[-1].weight.value[1].std() > 0
    zeroed = mlp([5, 16, 3], residual=True, blocks=4, norm="batch", output="softmax",
                 init="zero_init_residual", seed=2)
    s = stream(zeroed, X)
    np.testing.assert_allclose(s[-1], s[0], atol=0)


def test_schemes_share_the_base_draws_and_scale_them_by_their_rule():
    kw = {"residual": True, "blocks": 16, "branch": 3, "seed": 4}
    he, fix, scaled = (mlp([3, 8, 1], init=s, **kw)
                       for s in ("he", "fixup", "scaled_residual(factor=2)"))
    b_he, b_fix, b_sc = he.layers[5], fix.layers[5], scaled.layers[5]
    d_he, d_fix, d_sc = (b.dense_layers for b in (b_he, b_fix, b_sc))
    np.testing.assert_allclose(d_fix[0].weight.value, d_he[0].weight.value * 16 ** -0.25)
    np.testing.assert_allclose(d_fix[1].weight.value, d_he[1].weight.value * 16 ** -0.25)
    np.testing.assert_array_equal(d_fix[2].weight.value, 0.0)
    np.testing.assert_allclose(d_sc[2].weight.value, d_he[2].weight.value / np.sqrt(32))
    np.testing.assert_array_equal(d_sc[0].weight.value, d_he[0].weight.value)
    np.testing.assert_array_equal(fix.layers[0].weight.value, he.layers[0].weight.value)


def test_a_replica_trains_alike_alone_and_beside_other_schemes():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 5)), rng.integers(0, 3, 40)
    kw = {"residual": True, "blocks": 3, "output": "softmax"}
    both = mlp([5, 8, 3], init=["he", "skipinit"], seed=[2, 3], **kw)
    alone = mlp([5, 8, 3], init=["skipinit"], seed=[3], **kw)
    fit(both, X, y, iterations=20, lr=0.05, optimizer="adam")
    fit(alone, X, y, iterations=20, lr=0.05, optimizer="adam")
    np.testing.assert_allclose(both.logits(X)[1], alone.logits(X)[0], rtol=1e-10, atol=1e-12)
    he = mlp([5, 8, 3], init=["he"], seed=[2], **kw)  # no multiplier at all
    fit(he, X, y, iterations=20, lr=0.05, optimizer="adam")
    np.testing.assert_allclose(both.logits(X)[0], he.logits(X)[0], rtol=1e-10, atol=1e-12)


def trained_residual(norm=None, init=("fixup", "he"), order="post"):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 4)), rng.integers(0, 3, 30)
    model = mlp([4, 6, 3], residual=True, blocks=3, output="softmax", init=list(init), seed=1,
                norm=norm, order=order, activation="tanh")
    fit(model, X, y, iterations=15, lr=0.05, optimizer="adam")
    return model, X


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
@pytest.mark.parametrize("norm", [None, "batch"])
def test_save_and_load_round_trip(tmp_path, suffix, norm):
    model, X = trained_residual(norm)
    back = load(save(model, tmp_path / f"m{suffix}"))
    assert repr(back) == repr(model)
    np.testing.assert_array_equal(back.logits(X), model.logits(X))
    assert back.layers[1].learn.tolist() == model.layers[1].learn.tolist()


def test_a_file_missing_a_block_array_is_refused(tmp_path):
    model, _ = trained_residual()
    path = save(model, tmp_path / "m.npz")
    with np.load(path) as fh:
        arrays = {k: fh[k] for k in fh.files if k != "0.2.branch.1.weight"}
    np.savez(path, **arrays)
    with pytest.raises(InitlabError, match="cannot load model file"):
        load(path)


def torch_net(model, torch):
    """The PyTorch module of one replica of a residual MLP, written here from torch's parts."""
    nn = torch.nn

    class Bias(nn.Module):
        def __init__(self):
            super().__init__()
            self.bias = nn.Parameter(torch.zeros(1, dtype=torch.float64))

        def forward(self, x):
            return x + self.bias

    class Block(nn.Module):
        def __init__(self, branch, alpha):
            super().__init__()
            self.branch = nn.Sequential(*branch)
            self.alpha = nn.Parameter(torch.ones(1, dtype=torch.float64)) if alpha else None

        def forward(self, x):
            h = self.branch(x)
            return x + (h if self.alpha is None else self.alpha * h)

    def module(layer):
        if isinstance(layer, Dense):
            return nn.Linear(layer.in_features, layer.out_features)
        if isinstance(layer, ScalarBias):
            return Bias()
        if isinstance(layer, BatchNorm):
            return nn.BatchNorm1d(layer.num_features, eps=layer.eps)
        if isinstance(layer, LayerNorm):
            return nn.LayerNorm(layer.num_features, eps=layer.eps)
        assert isinstance(layer, ActivationLayer)
        return nn.Tanh()

    mods = [Block([module(la) for la in layer.branch], layer.alpha is not None)
            if isinstance(layer, Residual) else module(layer) for layer in model.layers]
    return nn.Sequential(*mods).double()


@pytest.mark.parametrize("norm", [None, "batch", "layer"])
@pytest.mark.parametrize("order", ["post", "pre"])
def test_trained_weights_loaded_into_pytorch_give_the_same_outputs(norm, order, tmp_path):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    model, X = trained_residual(norm, order=order)
    model = load(save(model, tmp_path / "m.safetensors"))
    for r in range(model.replicas):
        net = torch_net(model, torch)
        net.load_state_dict({k: torch.from_numpy(np.array(v))
                             for k, v in state_dict(model, r).items()})
        net.eval()
        with torch.no_grad():
            out = net(torch.from_numpy(X)).numpy()
        np.testing.assert_allclose(out, model.logits(X)[r], rtol=1e-12, atol=1e-12)


def test_has_batch_norm_sees_a_norm_inside_a_block():
    assert mlp([3, 4, 2], residual=True, norm="batch", output="softmax").has_batch_norm
    assert not mlp([3, 4, 2], residual=True, norm="layer", output="softmax").has_batch_norm


@pytest.mark.parametrize(("kw", "message"), [
    ({"init": "fixup", "branch": 1}, "divides by zero at m = 1"),
    ({"blocks": 0}, "residual blocks"),
    ({"alpha": float("nan")}, "alpha must be a finite number, got nan"),
    ({"init": "zero_init_residual"}, "give the branch a norm"),
    ({"order": "middle"}, "residual order"),
    ({"init": "fixup(base=fixup)"}, "base must be an initializer name"),
    ({"dropout": 0.5}, "no dropout"),
    ({"sizes": [3, 4, 4, 2]}, r"sizes \[in, width, out\]"),
])
def test_bad_residual_options_name_the_value(kw, message):
    sizes = kw.pop("sizes", [3, 4, 2])
    with pytest.raises(InitlabError, match=message):
        mlp(sizes, residual=True, **kw)


def test_a_residual_scheme_on_a_plain_net_says_to_build_a_residual_one():
    with pytest.raises(InitlabError, match="residual=True"):
        mlp([3, 4, 2], init="skipinit")
