"""The coordinate check of a user's PyTorch model: muP applied to a plain nn.Sequential from
its shapes equals mup's MuReadout / set_base_shapes / MuAdam / MuSGD (mup installed); the
command runs a factory and reports a width it rejects in one line."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed")

from initlab.cli import main  # noqa: E402
from initlab.torchbridge.width import parametrize, width_mults  # noqa: E402

D_IN, D_OUT, BASE = 5, 3, 16


def plain(width, readout=torch.nn.Linear):
    nn = torch.nn
    return nn.Sequential(nn.Linear(D_IN, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                         readout(width, D_OUT)).double()


@pytest.mark.parametrize("width", [16, 64])
@pytest.mark.parametrize("kind, cls, lr", [("adam", "MuAdam", 0.01), ("sgd", "MuSGD", 0.3)])
def test_parametrize_equals_mup_on_a_plain_model(width, kind, cls, lr):
    mup = pytest.importorskip("mup", reason="mup is not installed")
    torch.manual_seed(width)
    ours = plain(width)
    torch.manual_seed(width)
    theirs = plain(width, mup.MuReadout)
    theirs = mup.set_base_shapes(theirs, plain(BASE), delta=plain(2 * BASE))
    groups = parametrize(ours, width_mults(ours, plain(BASE), plain(2 * BASE)), "mup", kind)
    for g in groups:
        g["lr"] = lr * g.pop("lr_scale")
    opt_ours = (torch.optim.Adam if kind == "adam" else torch.optim.SGD)(groups, lr=lr)
    opt_theirs = getattr(mup, cls)(theirs.parameters(), lr=lr)
    X = torch.randn(20, D_IN, dtype=torch.float64)
    y = torch.randint(0, D_OUT, (20,))
    for _ in range(3):
        for model, opt in ((ours, opt_ours), (theirs, opt_theirs)):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(X), y).backward()
            opt.step()
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)


FACTORY = """
import torch


def make(d_model):
    if d_model > 32:
        raise ValueError(f"d_model={d_model} does not fit")
    return torch.nn.Sequential(torch.nn.Linear(64, d_model), torch.nn.ReLU(),
                               torch.nn.Linear(d_model, d_model), torch.nn.ReLU(),
                               torch.nn.Linear(d_model, 10))
"""


def test_a_factory_runs_and_a_width_it_rejects_is_one_line(tmp_path, capsys):
    path = tmp_path / "mynet.py"
    path.write_text(FACTORY)
    argv = ["width", "coordcheck", f"{path}:make", "--width-arg", "d_model", "--steps", "1",
            "--seeds", "1", "--batch", "8"]
    assert main([*argv, "--widths", "8,16,32", "--json", "-q"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {r["layer"] for r in doc["rows"]} == {"0", "1", "2", "3", "4"}
    assert set(doc["verdict"]) == {"sp", "ntk", "mup"}
    assert main([*argv, "--widths", "16,64"]) == 2
    err = capsys.readouterr().err
    assert "the factory rejected d_model=64: ValueError: d_model=64 does not fit" in err
    assert len(err.strip().splitlines()) == 1
