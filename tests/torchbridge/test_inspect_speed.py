"""The cheaper readings inspect and monitor take give the numbers of the plain ones."""

import pytest

torch = pytest.importorskip("torch", reason="PyTorch is an optional extra (pip install torch)")

from initlab.torchbridge import inspect  # noqa: E402
from initlab.torchbridge.hooks import zeros_and_dead  # noqa: E402


@pytest.mark.parametrize("shape", [(6, 5), (3, 4, 5, 5), (2, 3, 4)])
def test_zeros_and_dead_count_as_a_plain_reading(shape):
    torch.manual_seed(0)
    y = torch.relu(torch.randn(shape))
    y[:, 1] = 0.0  # a dead unit: zero for every example (and position)
    y[0, 2] = 0.0  # zero for one example only: alive
    zeros, dead = zeros_and_dead(y, rectifier=True)
    assert zeros == int((y == 0).sum())
    alive = [bool((y[:, u] != 0).any()) for u in range(shape[1])]
    assert dead == 1.0 - sum(alive) / len(alive) and dead > 0
    assert zeros_and_dead(y, rectifier=False) == (zeros, None)
    assert zeros_and_dead(y.reshape(-1), rectifier=True)[1] is None  # fewer than 2 dims: no units


def test_inspect_counts_a_dead_channel():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 4, 3)
    with torch.no_grad():
        conv.bias[2] = -100.0  # channel 2 never fires
    model = torch.nn.Sequential(conv, torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(4 * 6 * 6, 5))
    x = torch.randn(8, 3, 8, 8)
    y = model[1](conv(x))
    row = inspect(model, x).layers[1]
    assert row.dead_fraction == 0.25
    assert row.zero_fraction == pytest.approx(float((y == 0).float().mean()))


def test_zeros_and_dead_with_features_last():
    torch.manual_seed(0)
    y = torch.relu(torch.randn(4, 6, 5))
    y[..., 3] = 0.0  # feature 3 dead at every token of every example
    y[:, 2] = 0.0  # token 2 zero everywhere: not a unit, so no dead unit of its own
    assert zeros_and_dead(y, rectifier=True, features_last=True)[1] == pytest.approx(1 / 5)
    assert zeros_and_dead(y, rectifier=True)[1] == pytest.approx(1 / 6)  # channels: token 2


def test_inspect_finds_a_dead_feature_of_a_token_mlp_and_a_dead_channel_after_batchnorm():
    """(N, tokens, features) after a Linear: a unit is a feature (the last dim), also through
    a dropout; after a conv and a BatchNorm2d: a channel (dim 1)."""
    torch.manual_seed(0)
    up = torch.nn.Linear(16, 8)
    with torch.no_grad():
        up.bias[5] = -100.0  # feature 5 never fires, at any token
    tokens = torch.nn.Sequential(up, torch.nn.Dropout(0.0), torch.nn.ReLU(),
                                 torch.nn.Linear(8, 4))
    result = inspect(tokens, torch.randn(8, 24, 16))
    assert result.verdict.dead_units == 1
    row = result.layers[2]
    assert row.type == "ReLU" and row.dead_fraction == pytest.approx(1 / 8) and row.units == 8

    conv, bn = torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4)
    with torch.no_grad():
        bn.bias[1] = -100.0
    images = torch.nn.Sequential(conv, bn, torch.nn.ReLU(), torch.nn.Flatten(),
                                 torch.nn.Linear(4 * 6 * 6, 5))
    row = inspect(images, torch.randn(8, 3, 8, 8)).layers[2]
    assert row.type == "ReLU" and row.dead_fraction == pytest.approx(1 / 4) and row.units == 4


def test_dead_features_after_an_embedding_of_token_ids():
    """Token ids are no float tensor, so the tracer knows no producer of the Linear's input:
    the layout comes from the call before."""
    torch.manual_seed(0)
    up = torch.nn.Linear(16, 8)
    with torch.no_grad():
        up.bias[:2] = -100.0
    model = torch.nn.Sequential(torch.nn.Embedding(50, 16), up, torch.nn.ReLU(),
                                torch.nn.Linear(8, 50))
    result = inspect(model, torch.randint(0, 50, (4, 24)))
    assert result.layers[2].units == 8 and result.verdict.dead_units == 2


def test_a_tied_weight_gets_the_same_facts_on_both_rows():
    torch.manual_seed(0)
    emb = torch.nn.Embedding(50, 16)
    head = torch.nn.Linear(16, 50, bias=False)
    head.weight = emb.weight
    model = torch.nn.Sequential(emb, torch.nn.Tanh(), head)
    rows = inspect(model, torch.randint(0, 50, (4, 6))).layers
    w = emb.weight.detach()
    for r in (rows[0], rows[2]):
        assert r.weight_std == float(w.std())
        assert r.init_match == rows[0].init_match
    assert rows[2].grad_weight_ratio == rows[0].grad_weight_ratio


def _counts(y, lo, hi, bins):
    """The histogram as monitor defined it: int64 bins of (y - lo) * (bins / (hi - lo))."""
    idx = torch.sub(y.flatten(), lo).mul_(bins / (hi - lo)).to(torch.int64).clamp_(0, bins - 1)
    return torch.bincount(idx, minlength=bins).tolist()


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("extreme", [None, float("inf")])
def test_monitor_histogram_and_zeros_as_a_plain_reading(extreme):
    """int32 bins where the scaled extremes fit, int64 where they cannot (inf: NaN bounds)."""
    from initlab.torchbridge import monitor

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU())
    x = torch.randn(64, 8)
    if extreme is not None:
        with torch.no_grad():
            model[0].bias[3] = extreme
    with monitor(model, every=1, bins=16) as mon:
        model(x).sum().backward()
    for layer, y in zip(mon.result.layers, (model[0](x), model(x)), strict=True):
        y = y.detach()
        assert layer.counts[0] == _counts(y, layer.lo[0], layer.hi[0], 16)
        assert sum(layer.counts[0]) == y.numel()
        assert layer.zero_fraction[0] == 1.0 - int(torch.count_nonzero(y)) / y.numel()


def test_monitor_reads_a_tied_weight_once_with_the_numbers_of_each_module():
    from initlab.torchbridge import monitor

    torch.manual_seed(0)
    emb, head = torch.nn.Embedding(40, 12), torch.nn.Linear(12, 40, bias=False)
    head.weight = emb.weight
    model = torch.nn.Sequential(emb, torch.nn.Tanh(), head)
    ids = torch.randint(0, 40, (4, 5))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    grads, updates = [], []
    with monitor(model, every=1) as mon:
        for _ in range(3):
            w = emb.weight.detach().clone()
            opt.zero_grad()
            model(ids).pow(2).mean().backward()
            grads.append(float(emb.weight.grad.norm() / w.norm()))
            opt.step()
            updates.append(float((emb.weight.detach() - w).norm() / w.norm()))
    assert len(mon._tied) == 1  # one tensor: one gradient hook, one copy per step
    rows = {m.name: m for m in mon.result.layers}
    for name in ("0", "2"):
        assert rows[name].grad_ratio == pytest.approx(grads, rel=1e-5)
        assert rows[name].update_ratio == pytest.approx(updates, rel=1e-5)


def test_untraced_runs_outside_the_tracer_mode():
    from initlab.torchbridge.tracing import Tracer

    seen = []

    class Spy(Tracer):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            if self._job is None:
                seen.append(func)
            return super().__torch_function__(func, types, args, kwargs)

    tracer, y = Spy({}, set()), torch.randn(5)
    expected = float(y.sum()) + 5
    with tracer:
        assert tracer.untraced(lambda t: float(t.sum()) + t.numel(), y) == expected
        assert seen == []  # neither sum, float nor numel went through the mode
        y.mean()
        assert len(seen) == 1
    assert tracer.untraced(lambda: 7) == 7  # the mode not entered: run directly
