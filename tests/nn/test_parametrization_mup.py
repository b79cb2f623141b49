"""muP against Microsoft's ``mup`` 1.0.0 (skipped without it): on the same MLPs and widths,
initlab's init rescaling, learning-rate multipliers and first steps of Adam and SGD equal
mup's (``MuReadout``, ``set_base_shapes``, ``MuAdam``, ``MuSGD``)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed")
mup = pytest.importorskip("mup", reason="mup is not installed")

from initlab.nn import mlp  # noqa: E402
from initlab.nn.parametrization import layer_rules  # noqa: E402
from initlab.train import fit  # noqa: E402

D_IN, D_OUT, BASE = 5, 3, 16
WIDTHS = [16, 64, 256]


def torch_mlp(width, seed=0):
    torch.manual_seed(seed)
    nn = torch.nn
    return nn.Sequential(nn.Linear(D_IN, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                         mup.MuReadout(width, D_OUT)).double()


def mup_model(width, seed=0, ones=False):
    """mup's muP net of ``width`` (base BASE); with ``ones`` every parameter is 1 before
    set_base_shapes rescales it, so what it holds afterwards is mup's init multiplier."""
    model = torch_mlp(width, seed)
    if ones:
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(1.0)
    return mup.set_base_shapes(model, torch_mlp(BASE), delta=torch_mlp(2 * BASE))


def sizes(width):
    return [D_IN, width, width, D_OUT]


@pytest.mark.parametrize("width", WIDTHS)
def test_init_multipliers_equal_set_base_shapes(width):
    params = list(mup_model(width, ones=True).parameters())
    rules = layer_rules("mup", sizes(width), BASE)
    for k, rule in enumerate(rules):
        np.testing.assert_array_equal(params[2 * k].detach().numpy(), rule.init_weight)
        np.testing.assert_array_equal(params[2 * k + 1].detach().numpy(), rule.init_bias)
    assert mup_model(width)[-1].width_mult() == 1 / rules[-1].multiplier


def test_init_stds_equal_mups_from_pytorchs_default_init():
    width = 512
    ours = mlp(sizes(width), init="torch_default", output="softmax", param="mup",
               base_width=BASE, seed=1)
    theirs = list(mup_model(width, seed=1).parameters())
    for k, layer in enumerate(ours.dense_layers):
        for ours_p, theirs_p in ((layer.weight, theirs[2 * k]), (layer.bias, theirs[2 * k + 1])):
            a, b = ours_p.value.std(), theirs_p.detach().numpy().std()
            tol = 4 / np.sqrt(2 * theirs_p.numel())  # a few standard errors of an std
            assert abs(a / b - 1) < tol + 0.05 * (theirs_p.numel() < 100)


def lr_multipliers(opt, model):
    rates = {id(p): g["lr"] for g in opt.param_groups for p in g["params"]}
    return [rates[id(p)] for p in model.parameters()]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("kind, cls", [("adam", "MuAdam"), ("sgd", "MuSGD")])
def test_learning_rate_multipliers_equal_muadam_and_musgd(width, kind, cls):
    model = mup_model(width)
    theirs = lr_multipliers(getattr(mup, cls)(model.parameters(), lr=1.0), model)
    ours = mlp(sizes(width), output="softmax", param="mup", base_width=BASE)
    assert [1.0 if p.lr_scale is None else p.lr_scale[kind] for p in ours.parameters()] == \
        pytest.approx(theirs, rel=1e-15)


def copied(model, width):
    """initlab's muP net holding the weights of mup's ``model``."""
    ours = mlp(sizes(width), output="softmax", param="mup", base_width=BASE)
    params = list(model.parameters())
    for k, layer in enumerate(ours.dense_layers):
        layer.weight.value = params[2 * k].detach().numpy()[None]
        layer.bias.value = params[2 * k + 1].detach().numpy()[None]
    return ours


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("spec, cls, lr", [("adam", "MuAdam", 0.01), ("sgd", "MuSGD", 0.1)])
def test_first_steps_equal_mups(width, spec, cls, lr):
    rng = np.random.default_rng(width)
    X, y = rng.normal(size=(32, D_IN)), rng.integers(0, D_OUT, 32)
    model = mup_model(width, seed=width)
    ours = copied(model, width)
    np.testing.assert_allclose(ours.logits(X)[0], model(torch.tensor(X)).detach().numpy(),
                               rtol=1e-12, atol=1e-14)
    before = [p.detach().numpy().copy() for p in model.parameters()]
    opt = getattr(mup, cls)(model.parameters(), lr=lr)
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(torch.tensor(X)), torch.tensor(y)).backward()
        opt.step()
    fit(ours, X, y, optimizer=spec, lr=lr, iterations=3)
    for k, p in enumerate(ours.parameters()):
        step_theirs = model[2 * (k // 2)].weight if k % 2 == 0 else model[2 * (k // 2)].bias
        step_theirs = step_theirs.detach().numpy() - before[k]
        np.testing.assert_allclose(p.value[0] - before[k], step_theirs, rtol=1e-9,
                                   atol=1e-12 * np.abs(step_theirs).max())
