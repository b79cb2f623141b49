"""``initlab inspect`` end to end: demos, a factory from a file, --json keys, --reinit, --save,
--out, and one-line errors with exit 2 (also without PyTorch)."""

import json
import sys

import pytest

from initlab.cli import main

NET = '''
import torch.nn as nn

def make(width=16, depth=3):
    layers = [nn.Linear(8, width), nn.ReLU()]
    for _ in range(depth - 1):
        layers += [nn.Linear(width, width), nn.ReLU()]
    return nn.Sequential(*layers)

def not_a_model():
    return 42

def broken():
    raise ValueError("no weights today")
'''


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One torch thread: small models, and a shared machine (no skip here: see the last test)."""
    try:
        import torch
    except ImportError:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def net_file(tmp_path):
    path = tmp_path / "mynet.py"
    path.write_text(NET)
    return path


def test_demo_mlp_json_follows_the_contract(capsys):
    pytest.importorskip("torch", reason="PyTorch is an optional extra (pip install torch)")
    assert main(["inspect", "--demo", "mlp", "--input-shape", "32,512", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert list(info) == ["model", "input_shape", "layers", "verdict", "blocks", "attention",
                          "loss", "prediction"]
    assert info["model"] == "demo mlp" and info["input_shape"] == [32, 512]
    assert len(info["layers"]) == 39
    assert list(info["verdict"]) == ["vanishes_at", "explodes_at", "dead_units", "suggestion",
                                     "text", "state", "problems"]
    assert info["verdict"]["problems"][0]["kind"] == "vanishing"
    assert info["layers"][info["verdict"]["vanishes_at"] - 1]["type"] == "Linear"
    assert info["layers"][1]["fan_in"] is None  # a ReLU has no weight


def test_factory_file_kwargs_reinit_save_and_out(net_file, tmp_path, capsys):
    torch = pytest.importorskip("torch", reason="PyTorch is an optional extra (pip install torch)")
    from safetensors.torch import load_file

    saved, out = tmp_path / "net.safetensors", tmp_path / "out"
    argv = ["inspect", f"{net_file}:make", "--input-shape", "64,8", "--kwargs",
            '{"width": 32, "depth": 4}', "--reinit", "he", "--save", str(saved), "--out",
            str(out), "--json"]
    assert main(argv) == 0
    info = json.loads(capsys.readouterr().out)
    assert list(info) == ["before", "after", "warning"] and info["warning"] is None
    assert len(info["after"]["layers"]) == 8
    assert all(r["init_match"] == "he" for r in info["after"]["layers"] if r["type"] == "Linear")
    state = load_file(saved)
    assert set(state) == {f"{i}.{k}" for i in (0, 2, 4, 6) for k in ("weight", "bias")}
    assert torch.all(state["0.bias"] == 0)
    assert (out / "results.json").exists() and (out / "inspect.png").stat().st_size > 10_000
    assert main(argv[:6]) == 0  # the table and the verdict
    text = capsys.readouterr().out
    assert "verdict:" in text and "Linear" in text


@pytest.mark.parametrize("argv, message", [
    (["inspect", "no_such_module_xyz:make", "--input-shape", "2,8"],
     "cannot import 'no_such_module_xyz': ModuleNotFoundError"),
    (["inspect", "{file}:nope", "--input-shape", "2,8"], "has no attribute 'nope'"),
    (["inspect", "{file}:not_a_model", "--input-shape", "2,8"], "returned a int, not a"),
    (["inspect", "{file}:broken", "--input-shape", "2,8"], "ValueError: no weights today"),
    (["inspect", "{file}:make", "--input-shape", "2,9"], "fails on an input of shape (2, 9)"),
    (["inspect", "{file}:make", "--input", "{dir}/missing.npy"], "cannot read --input"),
    (["inspect", "{file}:make"], "give --input-shape"),
    (["inspect", "{file}:make", "--input-shape", "2,x"], "comma-separated integers"),
    (["inspect", "{file}:make", "--input-shape", "2,8", "--kwargs", "[bad"], "not valid JSON"),
    (["inspect", "{file}:make", "--input-shape", "2,8", "--reinit", "nope"],
     "unknown initializer 'nope'"),
    (["inspect", "{file}:make", "--input-shape", "2,8", "--save", "{dir}/m.pt"],
     "safetensors"),
    (["inspect"], "give MODULE:FACTORY"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, net_file, capsys):
    pytest.importorskip("torch", reason="PyTorch is an optional extra (pip install torch)")
    argv = [a.format(file=net_file, dir=net_file.parent) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_without_torch_one_line_says_how_to_install(monkeypatch, capsys):
    for name in [m for m in sys.modules if m == "torch" or m.startswith(("torch.",
                                                                          "initlab.torchbridge"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    assert main(["inspect", "--demo", "mlp"]) == 2
    err = capsys.readouterr().err
    assert "pip install torch" in err and err.count("\n") == 1
