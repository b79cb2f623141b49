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
