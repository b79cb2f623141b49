"""The coordinate check against mup's own (``mup.coord_check.get_coord_data``; skipped without
mup): the same muP nets (weights copied across) on the same batch give the same mean |x| of
every layer at every step, with Adam and SGD."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed")
mup = pytest.importorskip("mup", reason="mup is not installed")
coord_check = pytest.importorskip("mup.coord_check", reason="mup's coord check needs pandas")

from initlab.experiments.width_coordcheck import coord_stats  # noqa: E402
from initlab.nn import mlp  # noqa: E402
from initlab.optim import get_optimizer  # noqa: E402

D_IN, D_OUT, BASE = 6, 4, 16


def torch_mlp(width):
    nn = torch.nn
    return nn.Sequential(nn.Linear(D_IN, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                         mup.MuReadout(width, D_OUT)).double()


@pytest.mark.parametrize("width", [16, 64, 256])
@pytest.mark.parametrize("optimizer, lr", [("adam", 0.01), ("sgd", 0.5)])
def test_mean_abs_per_layer_and_step_equals_get_coord_data(width, optimizer, lr):
    torch.manual_seed(width)
    model = mup.set_base_shapes(torch_mlp(width), torch_mlp(BASE), delta=torch_mlp(2 * BASE))
    ours = mlp([D_IN, width, width, D_OUT], output="softmax", param="mup", base_width=BASE)
    for layer, (w, b) in zip(ours.dense_layers, [(model[i].weight, model[i].bias)
                                                 for i in (0, 2, 4)], strict=True):
        layer.weight.value = w.detach().numpy()[None]
        layer.bias.value = b.detach().numpy()[None]
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(24, D_IN)), rng.integers(0, D_OUT, 24)
    steps = 3
    ours_stats = coord_stats(ours, X, y, get_optimizer(optimizer, lr), steps)  # (4, 5, 1)
    df = coord_check.get_coord_data({width: lambda: model}, [(torch.tensor(X), torch.tensor(y))],
                                    optimizer=optimizer, lr=lr, nsteps=steps + 1, cuda=False,
                                    show_progress=False)
    for s in range(steps + 1):
        for i in range(5):
            theirs = df[(df.module == str(i)) & (df.t == s + 1)].l1.item()
            assert ours_stats[s, i, 0] == pytest.approx(theirs, rel=1e-9), (s, i)
