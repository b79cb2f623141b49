"""initlab.torchbridge.inspect: statistics equal torch's own, the model is left as it was,
the verdict and the prediction hold on the 20-layer default-init ReLU MLP,
and awkward models work."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is an optional extra (pip install torch)")
nn = torch.nn

from initlab.errors import InitlabError  # noqa: E402
from initlab.torchbridge import InspectResult, ReinitResult, demo_cnn, demo_mlp, inspect, reinit  # noqa: E402

KEYS = ["name", "type", "output_shape", "mean", "std", "zero_fraction", "saturated_fraction",
        "grad_std", "weight_std", "weight_grad_std", "fan_in", "fan_out", "init_match",
        "predicted_std", "grad_weight_ratio", "update_ratio", "note"]


def small():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(20, 30), nn.Tanh(), nn.Linear(30, 30), nn.ReLU(),
                         nn.Linear(30, 5), nn.Sigmoid())


def test_statistics_equal_a_direct_torch_computation():
    model, x = small(), torch.randn(64, 20) * 3
    r = inspect(model, x, loss="sumsq", optimizer="sgd", lr=0.1)
    outs, h = [], x.clone().requires_grad_(True)
    for m in model:
        h = m(h)
        h.retain_grad()
        outs.append(h)
    (h.float() ** 2).sum().div(2).backward()
    assert [row.type for row in r.layers] == ["Linear", "Tanh", "Linear", "ReLU", "Linear",
                                              "Sigmoid"]
    for row, out, m in zip(r.layers, outs, model, strict=True):
        y, g = out.detach(), out.grad
        assert row.output_shape == list(y.shape)
        assert row.mean == pytest.approx(float(y.mean()), abs=1e-6)
        assert row.std == pytest.approx(float(y.std()), rel=1e-5)
        assert row.zero_fraction == pytest.approx(float((y == 0).float().mean()))
        assert row.grad_std == pytest.approx(float(g.std()), rel=1e-5)
        if isinstance(m, nn.Linear):
            assert row.weight_std == pytest.approx(float(m.weight.detach().std()), rel=1e-5)
            assert row.weight_grad_std == pytest.approx(float(m.weight.grad.std()), rel=1e-5)
            ratio = float(m.weight.grad.norm() / m.weight.detach().norm())
            assert row.grad_weight_ratio == pytest.approx(ratio, rel=1e-5)
            assert row.update_ratio == pytest.approx(0.1 * ratio, rel=1e-5)  # SGD: lr dW
            assert (row.fan_in, row.fan_out) == tuple(m.weight.shape[::-1])
    tanh, sigm = r.layers[1], r.layers[5]
    saturated = float((outs[1].detach().abs() > 0.99).float().mean())
    assert tanh.saturated_fraction == pytest.approx(saturated)
    assert tanh.saturated_fraction > 0.1  # inputs of std 3 push tanh to its flat ends
    assert sigm.saturated_fraction is not None and r.layers[3].saturated_fraction is None


def test_the_model_is_bit_identical_afterwards():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3),
                          nn.Linear(16, 4))
    model[4].weight.requires_grad_(False)
    model[1].eval()  # a mix of modes
    model[0].weight.grad = torch.full_like(model[0].weight, 7.0)
    model[1].running_mean.fill_(0.5)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    modes = [m.training for m in model.modules()]
    flags = [p.requires_grad for p in model.parameters()]
    x = torch.randn(32, 8)
    rng = torch.get_rng_state()
    model[1].train()
    inspect(model, x)
    model[1].eval()
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k
    assert [m.training for m in model.modules()] == modes
    assert [p.requires_grad for p in model.parameters()] == flags
    assert torch.equal(model[0].weight.grad, torch.full_like(model[0].weight, 7.0))
    assert torch.equal(torch.get_rng_state(), rng)
    assert not model[0]._forward_hooks and not model[0]._backward_hooks


def test_default_init_mlp_shrinks_to_a_bias_floor_and_he_fixes_it():
    torch.manual_seed(0)
    model, x = demo_mlp(depth=20, width=512), torch.randn(128, 512)
    before = inspect(model, x)
    v = before.verdict
    linear = [r for r in before.layers if r.type == "Linear"]
    assert all(r.init_match.startswith("torch default") for r in linear)
    assert v.state == "vanishing" and v.vanishes_at is not None
    row = before.layers[v.vanishes_at - 1]
    assert row.type == "Linear" and v.vanishes_at <= 9  # within a few layers
    assert f"row {v.vanishes_at} (Linear {row.name})" in v.text
    assert "biases" in v.text  # the floor is named
    fall = linear[0].std / min(r.std for r in linear)
    assert 10 < fall < 30  # "about 15x"
    assert "kaiming_normal_(m.weight, nonlinearity=\"relu\")" in v.suggestion
    reinit(model, "he")
    after = inspect(model, x)
    assert all(r.init_match == "he" for r in after.layers if r.type == "Linear")
    for r in after.layers:
        assert 0.5 < r.std / float(x.std()) < 2, r.name
        assert r.predicted_std == pytest.approx(r.std, rel=0.15), r.name
    assert after.verdict.vanishes_at is None and after.verdict.suggestion is None


def test_default_init_prediction_follows_the_floor():
    torch.manual_seed(2)
    r = inspect(demo_mlp(depth=8, width=256), torch.randn(64, 256))
    for row in r.layers:
        assert row.predicted_std == pytest.approx(row.std, rel=0.1), row.name


def test_cnn_with_padding_pooling_flatten_is_predicted():
    torch.manual_seed(0)
    r = inspect(demo_cnn(channels=8), torch.randn(8, 3, 16, 16))
    assert r.prediction["covered"] == r.prediction["total"] and not r.prediction["unsupported"]
    types = {row.type for row in r.layers}
    assert {"Conv2d", "AvgPool2d", "AdaptiveAvgPool2d", "Flatten", "Linear"} <= types
    for row in r.layers:
        assert row.predicted_std == pytest.approx(row.std, rel=0.25), row.name
    assert r.layers[0].fan_in == 27 and r.layers[0].fan_out == 72


@pytest.mark.parametrize("act", [nn.ReLU, nn.Tanh, nn.Identity])
def test_max_pooling_after_a_monotone_activation_is_predicted(act):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), act(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.MaxPool2d(2),
                          nn.ReLU(), nn.Flatten(), nn.Linear(32 * 4 * 4, 10))
    r = inspect(model, torch.randn(64, 3, 16, 16))
    assert r.prediction["covered"] == r.prediction["total"] and not r.prediction["unsupported"]
    for row in r.layers:
        assert row.predicted_std == pytest.approx(row.std, rel=0.1), row.name


def test_max_pooling_after_gelu_is_marked():
    model = nn.Sequential(nn.Linear(8, 8), nn.GELU(), nn.Unflatten(1, (2, 4)), nn.MaxPool1d(2))
    r = inspect(model, torch.randn(16, 8))
    assert r.layers[3].predicted_std is None and r.layers[2].predicted_std is not None
    assert r.prediction["unsupported"] == {"max_pool1d": 1}
    assert "no rule for max_pool1d x1" in r.prediction_note


def test_batchnorm_layernorm_dropout_are_predicted():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(128, 128), nn.LayerNorm(128), nn.GELU(), nn.Linear(128, 8))
    r = inspect(model, torch.randn(256, 64))
    assert r.prediction["covered"] == r.prediction["total"] and not r.prediction["unsupported"]
    for row in r.layers:
        assert row.predicted_std == pytest.approx(row.std, rel=0.1), row.name


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Linear(16, 32)
        self.block = nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 32))
        self.head = nn.Linear(32, 2)

    def forward(self, x):
        h = self.stem(x)
        return self.head(h + self.block(h))


def test_residual_block_measured_and_predicted():
    torch.manual_seed(0)
    r = inspect(Residual(), torch.randn(32, 16))
    names = [row.name for row in r.layers]
    assert names == ["stem", "block.0", "block.1", "block.2", "head"]
    assert all(row.std is not None and row.grad_std is not None for row in r.layers)
    assert all(row.predicted_std is not None for row in r.layers)  # the sum included
    assert r.prediction == {"covered": 4, "total": 4, "unsupported": {}, "disagree": []}


class InplaceResidual(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.bn(self.conv(x))
        out += x  # an in-place residual sum on the last module's output
        return self.relu(out)


def test_an_in_place_residual_sum_is_predicted():
    torch.manual_seed(0)
    model, x = InplaceResidual(), torch.randn(64, 4, 6, 6)
    r = inspect(model, x)
    with torch.no_grad():
        assert r.layers[2].std == pytest.approx(float(model(x.clone()).std()), rel=1e-5)
    assert r.layers[2].predicted_std == pytest.approx(r.layers[2].std, rel=0.1)


class Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 10)
        self.act = nn.Tanh()

    def forward(self, x, y):  # two inputs, one module called twice
        return self.act(self.fc(self.act(self.fc(x)))) + y


def test_shared_modules_and_multiple_inputs():
    torch.manual_seed(0)
    r = inspect(Shared(), (torch.randn(8, 10), torch.randn(8, 10)))
    assert [row.name for row in r.layers] == ["fc", "act", "fc (call 2)", "act (call 2)"]
    assert r.input_shape == [[8, 10], [8, 10]]
    assert r.layers[2].predicted_std is not None


def test_bad_input_and_models_give_one_clear_error():
    model = nn.Sequential(nn.Linear(4, 3))
    with pytest.raises(InitlabError, match=r"fails on an input of shape \(2, 5\).*mat1"):
        inspect(model, torch.randn(2, 5))
    with pytest.raises(InitlabError, match="torch.Tensor"):
        inspect(model, [1, 2])
    with pytest.raises(InitlabError, match="function that builds the model"):
        inspect(model, torch.randn(2, 4), seeds=2)
    with pytest.raises(InitlabError, match="not a torch.nn.Module"):
        inspect(lambda: 3, torch.randn(2, 4), seeds=2)
    assert not model[0]._forward_hooks  # removed after the failure too


def test_seeds_pool_models_from_a_factory():
    x = torch.randn(16, 32)
    one = inspect(lambda: nn.Sequential(nn.Linear(32, 32), nn.ReLU()), x, seeds=1)
    three = inspect(lambda: nn.Sequential(nn.Linear(32, 32), nn.ReLU()), x, seeds=3)
    assert three.seeds == 3 and one.layers[0].std != three.layers[0].std


def test_json_contract_and_round_trip():
    torch.manual_seed(0)
    r = inspect(small(), torch.randn(16, 20))
    d = json.loads(r.to_json())
    assert list(d) == ["model", "input_shape", "layers", "verdict", "blocks", "attention",
                       "loss", "prediction"]
    assert list(d["layers"][0]) == KEYS
    assert list(d["verdict"]) == ["vanishes_at", "explodes_at", "dead_units", "suggestion",
                                  "text", "state", "problems"]
    assert d["blocks"] == d["attention"] == [] and d["loss"] == "ce"
    back = InspectResult.from_dict(r.to_dict(detail=True))
    assert back == r
    both = ReinitResult(before=r, after=r, init="he")
    assert list(json.loads(both.to_json())) == ["before", "after", "warning"]
    assert ReinitResult.from_dict(both.to_dict(detail=True)) == both
    assert np.isfinite(r.layers[0].std)


def test_saturated_tanh_net_gets_glorot_with_the_tanh_gain():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(100, 100), nn.Tanh(), nn.Linear(100, 100), nn.Tanh())
    for layer in (model[0], model[2]):
        nn.init.normal_(layer.weight, std=1.0)
    v = inspect(model, torch.randn(64, 100)).verdict
    assert "flat ends at row 2 (Tanh 1)" in v.text
    saturated = next(p for p in v.problems if p.kind == "saturated")
    assert saturated.where == "1" and "flat ends at row 2 (Tanh 1)" in saturated.text
    assert 'xavier_normal_(m.weight, gain=nn.init.calculate_gain("tanh"))' in v.suggestion
    assert "['0', '2']" in v.suggestion


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_update_ratio_equals_one_step_of_torch_optim(optimizer):
    from initlab.torchbridge.losses import update_ratio

    torch.manual_seed(0)
    w = torch.randn(30, 20) * 0.1
    g = torch.randn(30, 20) * torch.rand(30, 20) ** 4  # a spread of magnitudes
    g[0, 0] = 0.0
    p = w.clone().requires_grad_(True)
    p.grad = g.clone()
    (torch.optim.Adam if optimizer == "adam" else torch.optim.SGD)([p], lr=3e-3).step()
    expected = float((p.detach() - w).norm() / w.norm())
    assert update_ratio(w, g, optimizer, 3e-3) == pytest.approx(expected, rel=1e-5)
    assert update_ratio(torch.zeros(3, 3), g[:3, :3], optimizer, 1e-3) is None
