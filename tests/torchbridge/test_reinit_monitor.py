"""reinit re-draws weights in place with initlab's initializers (and LSUV); monitor records
per-layer statistics during a training loop and removes its hooks."""

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is an optional extra (pip install torch)")
nn = torch.nn

from initlab.errors import InitlabError  # noqa: E402
from initlab.init import get_initializer  # noqa: E402
from initlab.torchbridge import MonitorResult, monitor, reinit  # noqa: E402
from initlab.torchbridge.monitoring import MonitorAlert  # noqa: E402
from initlab.torchbridge.reinitialize import weighted_modules  # noqa: E402


def net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.Tanh(),
                         nn.Flatten(), nn.Linear(8 * 6 * 6, 10), nn.Embedding(5, 4))


def test_reinit_draws_initlab_weights_and_zero_biases():
    model = net()
    bn = model[1].weight.clone()
    reinit(model, "kaiming_uniform(mode=fan_out, nonlinearity=relu)", seed=3)
    rng = np.random.default_rng(3)
    init = get_initializer("kaiming_uniform(mode=fan_out, nonlinearity=relu)")
    zeros = get_initializer("zeros")
    for name, m in weighted_modules(model):
        expected = init(tuple(m.weight.shape), rng)
        zeros(tuple(m.bias.shape), rng)
        np.testing.assert_allclose(m.weight.detach().numpy(), expected, rtol=1e-6)
        assert torch.all(m.bias == 0), name
    assert [n for n, _ in weighted_modules(model)] == ["0", "4"]  # not Embedding, not BN
    assert torch.equal(model[1].weight, bn)


def test_reinit_keeps_biases_when_asked_and_rejects_bad_specs():
    model = net()
    bias = model[0].bias.clone()
    reinit(model, "xavier", bias=None)
    assert torch.equal(model[0].bias, bias)
    with pytest.raises(InitlabError, match="unknown initializer 'nope'"):
        reinit(model, "nope")
    with pytest.raises(InitlabError, match="needs example_input"):
        reinit(model, "lsuv")


def test_lsuv_gives_unit_variance_outputs():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(32, 64), nn.Tanh(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 8))
    x = torch.randn(256, 32) * 5
    reinit(model, "lsuv", example_input=x)
    with torch.no_grad():
        h0 = model[0](x)
        h2 = model[2](model[1](h0))
        h4 = model[4](model[3](h2))
    for h in (h0, h2, h4):
        assert abs(float(h.var()) - 1) < 0.1


def test_monitor_records_every_kth_training_step():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x, y = torch.randn(64, 10), torch.randn(64, 1)
    with monitor(model, every=5, bins=20) as mon:
        for _ in range(23):
            loss = ((model(x) - y) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            model.eval()
            with torch.no_grad():
                model(x)  # evaluation passes are not counted
            model.train()
    assert mon.result.steps == [0, 5, 10, 15, 20]
    relu = mon.result.layers[1]
    assert relu.name == "1" and len(relu.std) == 5 and len(relu.counts) == 5
    assert relu.steps == [0, 5, 10, 15, 20]
    assert relu.lo[0] == 0  # no negative outputs: bins start at 0
    h = model[1](model[0](x)).detach()
    assert relu.zero_fraction[0] > 0 and np.isfinite(relu.mean).all()
    assert sum(relu.counts[0]) == 64 * 20  # every value in the step's own range
    assert not model[0]._forward_hooks and not model._forward_pre_hooks
    model(x)  # after the block nothing is recorded
    assert len(mon.result.steps) == 5 and h.shape == (64, 20)
    back = MonitorResult.from_dict(json.loads(mon.result.to_json(detail=True)))
    assert back == mon.result
    fig = mon.figure()
    assert len(fig.axes) >= 2


def test_monitor_rejects_unknown_module_names_and_bad_bands():
    with pytest.raises(InitlabError, match="unknown modules"):
        monitor(nn.Sequential(nn.Linear(2, 2)), modules=["nope"])
    with pytest.raises(InitlabError, match="update_band must be"):
        monitor(nn.Sequential(nn.Linear(2, 2)), update_band=(1, 0.1))


class Reused(nn.Module):
    """One ReLU called twice per forward (as torchvision's BasicBlock does) and a residual add."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.relu = nn.Linear(16, 16), nn.Linear(16, 16), nn.ReLU()
        self.head = nn.Linear(16, 1)

    def forward(self, x):
        h = self.relu(self.fc1(x))
        return self.head(self.relu(h + self.fc2(h)))


def test_monitor_sees_every_call_gradients_updates_and_the_stream():
    torch.manual_seed(0)
    model, x, y = Reused(), torch.randn(32, 16), torch.randn(32, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    grads, updates = [], []
    with monitor(model, every=2) as mon:
        for step in range(4):
            w = model.fc1.weight.detach().clone()
            if step == 2:
                with torch.no_grad():
                    h = model.relu(model.fc1(x))
                    block = float(model.relu(h + model.fc2(h)).std())
            opt.zero_grad()
            ((model(x) - y) ** 2).mean().backward()
            grads.append(float(model.fc1.weight.grad.norm() / w.norm()))
            opt.step()
            updates.append(float((model.fc1.weight.detach() - w).norm() / w.norm()))
    names = [m.name for m in mon.result.layers]
    assert "relu" in names and "relu (call 2)" in names
    fc1 = next(m for m in mon.result.layers if m.name == "fc1")
    assert fc1.grad_ratio == pytest.approx([grads[0], grads[2]], rel=1e-5)
    assert fc1.update_ratio == pytest.approx([updates[0], updates[2]], rel=1e-5)
    second = next(m for m in mon.result.layers if m.name == "relu (call 2)")
    assert second.std[-1] == pytest.approx(block, rel=1e-5)
    assert all(g is not None for g in mon.result.stream_growth)
    assert mon.result.alerts == []


def test_monitor_alerts_the_moment_an_update_leaves_its_band():
    torch.manual_seed(0)
    model, x, y = Reused(), torch.randn(32, 16), torch.randn(32, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with pytest.warns(MonitorAlert), monitor(model, every=1) as mon:  # the last: at exit
        for step in range(3):
            if step == 1:
                opt.param_groups[0]["lr"] = 100.0  # a blow-up at step 1
            opt.zero_grad()
            with pytest.warns(MonitorAlert) if step == 2 else _no_alert():
                ((model(x) - y) ** 2).mean().backward()
            opt.step()
    steps = {a.step for a in mon.result.alerts if a.kind == "update ratio"}
    assert steps == {1, 2}  # step 1's (lr 100) is warned at step 2's forward, step 2's at exit
    alert = next(a for a in mon.result.alerts if a.step == 1)
    assert alert.value > 0.1 and "outside" in alert.text


def test_monitor_warns_once_per_step_for_many_weights_and_keeps_every_alert():
    import warnings

    torch.manual_seed(0)
    model, x, y = Reused(), torch.randn(32, 16), torch.randn(32, 1)
    opt = torch.optim.SGD(model.parameters(), lr=100.0)  # every weight blown away each step
    with warnings.catch_warnings(record=True) as seen, monitor(model, every=1) as mon:
        warnings.simplefilter("always")
        for _ in range(3):
            opt.zero_grad()
            ((model(x) - y) ** 2).mean().backward()
            opt.step()
    warned = [str(w.message) for w in seen if issubclass(w.category, MonitorAlert)
              and "optimizer step" in str(w.message)]
    alerts = [a for a in mon.result.alerts if a.kind == "update ratio"]
    assert len(warned) == 3  # one per step, each naming the three weights
    # each attributed to this file's line that ran the step (not to a torch or initlab frame)
    assert {w.filename for w in seen if issubclass(w.category, MonitorAlert)} == {__file__}
    assert len(alerts) == 9 and {a.where for a in alerts} == {"fc1", "fc2", "head"}
    first = [a for a in alerts if a.step == 0]
    low, high = min(a.value for a in first), max(a.value for a in first)
    assert warned[0].startswith("step 0: the optimizer step changed 3 weights")
    assert f"from {low:.3g} to {high:.3g}" in warned[0]
    assert all(f"{a.where} ({a.value:.3g})" in warned[0] for a in first)
    last = [a.value for a in alerts if a.step == 2]
    if not all(map(math.isfinite, last)):  # lr 100 may have blown the weights to inf/nan
        assert f"{sum(not math.isfinite(v) for v in last)} not finite" in warned[2]


class _no_alert:  # noqa: N801 - a context manager used like pytest.warns
    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings(record=True)
        self._seen = self._catch.__enter__()
        warnings.simplefilter("always")

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)
        assert not [w for w in self._seen if issubclass(w.category, MonitorAlert)]
        return False


def test_overhead_benchmark_runs(monkeypatch):
    monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).parents[2] / "benchmarks"))
    out = __import__("monitor_overhead").main(["--rounds", "1", "--steps", "3", "--width", "8"])
    assert set(out) == {"plain", "every=1000", "every=10", "every=1"} and out["plain"]["ratio"] == 1


def test_reinit_uses_the_true_fans_of_every_layout():
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(64, 4)
    bil = nn.Bilinear(16, 32, 8)
    reinit(mha, "he")
    reinit(bil, "he")
    for part in mha.in_proj_weight.detach().chunk(3):  # q, k, v: each (64, 64), fan_in 64
        assert float(part.std()) == pytest.approx((2 / 64) ** 0.5, rel=0.1)
    assert float(bil.weight.detach().std()) == pytest.approx((2 / (16 * 32)) ** 0.5, rel=0.1)


def test_reinit_he_on_gpt2_conv1d_is_in_out_and_leaves_embeddings_and_norms():
    from arch_panel import gpt2

    torch.manual_seed(0)
    model, x = gpt2()
    wte, wpe = model.transformer.wte.weight.clone(), model.transformer.wpe.weight.clone()
    norms = {n: m.weight.clone() for n, m in model.named_modules() if "ln" in n}
    reinit(model, "he")
    conv1d = [m for m in model.modules() if type(m).__name__ == "Conv1D"]
    assert len(conv1d) == 16
    for m in conv1d:  # Conv1D stores (in, out): fan_in is the first dim
        assert float(m.weight.detach().std()) == pytest.approx((2 / m.weight.shape[0]) ** 0.5,
                                                               rel=0.1)
    assert torch.equal(model.transformer.wte.weight, wte)  # lm_head is tied to it
    assert torch.equal(model.lm_head.weight, wte) and torch.equal(model.transformer.wpe.weight,
                                                                  wpe)
    for n, m in model.named_modules():
        if n in norms:
            assert torch.equal(m.weight, norms[n]), n


def test_gpt2_recipe_scales_residual_projections_and_he_is_warned_about():
    from arch_panel import gpt2

    from initlab.torchbridge import inspect
    from initlab.torchbridge.diagnosis import stream_warning

    torch.manual_seed(0)
    model, x = gpt2(layers=8)
    reinit(model, "gpt2", example_input=x)
    for n, m in model.named_modules():
        if type(m).__name__ == "Conv1D":
            std = 0.02 / 16 ** 0.5 if n.endswith("c_proj") else 0.02  # 2 L = 16 adds
            assert float(m.weight.detach().std()) == pytest.approx(std, rel=0.1), n
    before = inspect(model, x)
    reinit(model, "he")
    after = inspect(model, x)
    warning = stream_warning(before, after, "he")
    assert warning is not None and "grows" in warning
    assert stream_warning(before, before, "gpt2") is None


def test_resnet_recipe_zeroes_the_last_norm_of_each_branch():
    from arch_panel import resnet

    from initlab.torchbridge import inspect

    torch.manual_seed(0)
    model, x = resnet()
    reinit(model, "resnet", example_input=x)
    r = inspect(model, x)
    assert len(r.blocks) == 6
    assert all(b.branch_std == 0 and b.note.startswith("intended: zero-init") for b in r.blocks)
    assert not {p.kind for p in r.verdict.problems}
    zeroed = [n for n, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)
              and not m.weight.any()]
    assert len(zeroed) == 6 and all(n.endswith("layer.2.normalization") for n in zeroed)
