"""monitor's one-pass weight sweep: ||W||, ||W - W_before|| and the copy, checked against float64
torch; and the monitor's gradient and update ratios where the step is not plain: a weighted
module called twice, every=3 with a weight large enough to be chunked, a weight changed outside
the optimizer, evaluation passes in between."""

import pytest

torch = pytest.importorskip("torch", reason="PyTorch is an optional extra (pip install torch)")
nn = torch.nn

from initlab.torchbridge import monitor, monitor_weights  # noqa: E402
from initlab.torchbridge.monitor_weights import Snapshots, norm  # noqa: E402


def _norm64(t) -> float:
    return float(torch.linalg.vector_norm(t.detach().double()))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_sweep_gives_norms_differences_and_copies_of_every_layout(monkeypatch, dtype):
    monkeypatch.setattr(monitor_weights, "CHUNK", 64)  # chunks of 2 rows, a tail of part of one
    monkeypatch.setattr(monitor_weights, "ROW", 32)
    monkeypatch.setattr(monitor_weights, "SMALL", 40)
    torch.manual_seed(0)
    shapes = [(7, 30), (4, 50), (3, 5), (64, 2)]  # chunked with a tail, rows, small, 2 rows
    weights = {i: torch.randn(s).to(dtype) for i, s in enumerate(shapes)}
    weights[4] = torch.randn(40, 9).t()  # not contiguous: reshape copies it
    snaps = Snapshots(weights)
    first = snaps.sweep(diff=True, keep=True)  # no copy yet: no difference
    before = {k: w.clone() for k, w in weights.items()}
    for k, w in weights.items():
        assert first[k][1] is None
        assert first[k][0] == pytest.approx(_norm64(w), rel=1e-6)
        w.add_(torch.full_like(w, 1e-3))  # one size everywhere, as an Adam step
    second = snaps.sweep(diff=True, keep=True)
    for k, w in weights.items():
        assert second[k][0] == pytest.approx(_norm64(w), rel=1e-6)
        assert second[k][1] == pytest.approx(_norm64(w.double() - before[k].double()), rel=1e-6)
        assert torch.equal(snaps.copies[k], w.reshape(-1))
    last = snaps.sweep(diff=True, keep=False)
    assert all(d == 0.0 for _, d in last.values()) and not snaps.copies


def test_sweep_drops_a_copy_whose_weight_changed_size():
    w = {0: torch.ones(6)}
    snaps = Snapshots(w)
    snaps.sweep(diff=False, keep=True)
    w[0] = torch.ones(8)
    assert snaps.sweep(diff=True, keep=True)[0] == (pytest.approx(8 ** 0.5), None)


def test_norm_sums_rows_and_the_tail_in_float64(monkeypatch):
    monkeypatch.setattr(monitor_weights, "ROW", 16)
    t = torch.randn(5, 11)  # 55 values: 3 rows of 16 and a tail of 7
    assert norm(t) == pytest.approx(_norm64(t), rel=1e-6)
    assert norm(torch.zeros(0)) == 0.0


def test_norm_of_millions_of_values_of_one_size_stays_within_float64s():
    """An Adam step moves every weight by about lr: a float32 sum of their squares in one
    reduction drifts (torch's vector_norm of these: 3e-4 relative); per row it does not."""
    t = torch.full((1 << 21,), 1e-3) * (1 + 1e-3 * torch.randn(1 << 21))
    assert norm(t) == pytest.approx(_norm64(t), rel=1e-6)


class Twice(nn.Module):
    """One Linear called twice per forward, and a weight large enough to be swept in chunks."""

    def __init__(self):
        super().__init__()
        self.inner = nn.Linear(24, 24)
        self.big = nn.Linear(24, 12000)  # 288,000 values: more than one chunk of 2^18
        self.head = nn.Linear(12000, 1)

    def forward(self, x):
        return self.head(torch.tanh(self.big(self.inner(torch.tanh(self.inner(x))))))


def _train(model, steps, every, between=None):
    """Plain-torch ratios of each step beside the monitor's: (mon, grads, updates) with
    grads/updates: step -> {name: ratio} from float64 copies of the weights."""
    torch.manual_seed(1)
    x, y = torch.randn(16, 24), torch.randn(16, 1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    grads, updates = [], []
    named = {n: m for n, m in model.named_modules() if isinstance(m, nn.Linear)}
    with monitor(model, every=every) as mon:
        for step in range(steps):
            w = {n: m.weight.detach().double().clone() for n, m in named.items()}
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            if step % every == 1:  # the update of the step before is read: no copy is held
                assert not mon._snapshots.copies
            loss.backward()
            grads.append({n: _norm64(m.weight.grad) / _norm64(w[n]) for n, m in named.items()})
            opt.step()
            if between is not None:
                between(model, x)
            updates.append({n: _norm64(m.weight.detach().double() - w[n]) / _norm64(w[n])
                            for n, m in named.items()})
    return mon, grads, updates


@pytest.mark.filterwarnings("ignore::initlab.torchbridge.monitoring.MonitorAlert")
def test_monitor_ratios_of_a_module_called_twice_and_a_chunked_weight_every_3():
    mon, grads, updates = _train(Twice(), 7, every=3)
    assert mon.result.steps == [0, 3, 6]
    rows = {m.name: m for m in mon.result.layers}
    assert "inner (call 2)" in rows  # the second call's output, no second series of ratios
    for name in ("inner", "big", "head"):
        assert rows[name].grad_ratio == pytest.approx([grads[s][name] for s in (0, 3, 6)],
                                                      rel=1e-5)
        assert rows[name].update_ratio == pytest.approx([updates[s][name] for s in (0, 3, 6)],
                                                        rel=1e-5)
    assert rows["inner (call 2)"].update_ratio == [None] * 3


@pytest.mark.filterwarnings("ignore::initlab.torchbridge.monitoring.MonitorAlert")
def test_monitor_update_ratio_includes_changes_outside_the_optimizer_and_skips_eval():
    def between(model, x):
        with torch.no_grad():
            model.big.weight.mul_(0.5)  # e.g. a weight decay or projection of the user's own
        model.eval()
        with torch.no_grad():
            model(x)  # not a training step: no sweep, no count
        model.train()

    mon, grads, updates = _train(Twice(), 3, every=1, between=between)
    assert mon.result.steps == [0, 1, 2]
    big = next(m for m in mon.result.layers if m.name == "big")
    assert big.update_ratio == pytest.approx([u["big"] for u in updates], rel=1e-5)
    assert big.update_ratio[0] == pytest.approx(0.5, rel=1e-2)  # the halving, not the step
    assert big.grad_ratio == pytest.approx([g["big"] for g in grads], rel=1e-5)


def test_floor_benchmark_times_each_group_of_kernels(monkeypatch):
    monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).parents[2] / "benchmarks"))
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))

    def loss(m, inputs):
        return m(**inputs).pow(2).mean()

    out = __import__("monitor_floor").floor(model, {"input": torch.randn(4, 8)}, loss, repeats=2)
    assert set(out) == {"weights", "gradients", "outputs", "step", "monitor"}
    assert all(v >= 0 for k, v in out.items() if k != "monitor")


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.head = nn.Linear(16, 16), nn.Linear(16, 16), nn.Linear(16, 1)

    def forward(self, x):
        h = x + self.fc1(torch.relu(x))
        return self.head(h + self.fc2(torch.relu(h)))


@pytest.mark.filterwarnings("ignore::initlab.torchbridge.monitoring.MonitorAlert")
def test_monitor_traces_the_stream_only_with_the_full_tracers_growth():
    """monitor's tracer takes no branch, skip or gradient statistics of the adds; the stream's
    std and growth are those of the full tracer inspect runs."""
    growth = {}
    for stream_only in (True, False):
        torch.manual_seed(0)
        model, x = Residual(), torch.randn(32, 16)
        mon = monitor(model, every=1)
        mon._tracer.stream_only = stream_only
        with mon:
            model(x).pow(2).mean().backward()
        adds = mon._tracer.adds
        assert len(adds) == 2
        assert all((a.branch.n == 0 and a.grad.n == 0) == stream_only for a in adds)
        growth[stream_only] = (mon.result.stream_growth, [a.out.std for a in adds])
    assert growth[True] == growth[False] and growth[True][0][0] is not None
