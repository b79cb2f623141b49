"""``initlab inspect`` on a token model: --tokens, --input FILE.npz keyword inputs, --loss,
--optimizer/--lr, the stream printed first, and the one-line errors of the issue's bad inputs."""

import json

import numpy as np
import pytest
from arch_panel import transformers

torch = pytest.importorskip("torch", reason="PyTorch is an optional extra (pip install torch)")

from initlab.cli import main  # noqa: E402

GPT = '''
import transformers as T

def tiny_gpt2(layers=2):
    c = T.GPT2Config(vocab_size=64, n_positions=32, n_embd=32, n_layer=layers, n_head=2,
                     bos_token_id=0, eos_token_id=0)
    return T.GPT2LMHeadModel(c)
'''
MLP = '''
import torch.nn as nn

def mlp():
    return nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 4))
'''


@pytest.fixture
def files(tmp_path):
    transformers()
    (tmp_path / "gpt.py").write_text(GPT)
    (tmp_path / "mlp.py").write_text(MLP)
    return tmp_path


def test_tokens_json_and_the_stream_first(files, capsys):
    argv = ["inspect", f"{files}/gpt.py:tiny_gpt2", "--tokens", "64", "--input-shape", "2,12",
            "--optimizer", "sgd", "--lr", "0.5"]
    assert main([*argv, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["loss"] == "ce" and len(info["blocks"]) == 4 and len(info["attention"]) == 2
    assert info["verdict"]["state"] == "healthy" and info["verdict"]["problems"] == []
    c_fc = next(r for r in info["layers"] if r["name"].endswith("h.0.mlp.c_fc"))
    assert c_fc["update_ratio"] == pytest.approx(0.5 * c_fc["grad_weight_ratio"], rel=1e-5)
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert text.index("residual stream:") < text.index("attention:") < text.index("layers:")


def test_npz_keyword_inputs_reach_the_model(files, capsys):
    ids = np.random.default_rng(0).integers(0, 64, (2, 12))
    mask = np.ones((2, 12), dtype=np.int64)
    mask[:, 6:] = 0  # half the keys masked out
    np.savez(files / "batch.npz", input_ids=ids, attention_mask=mask)
    np.savez(files / "full.npz", input_ids=ids)
    entropy = {}
    for name in ("batch", "full"):
        assert main(["inspect", f"{files}/gpt.py:tiny_gpt2", "--input", f"{files}/{name}.npz",
                     "--json"]) == 0
        entropy[name] = json.loads(capsys.readouterr().out)["attention"][0]["max_entropy"]
    assert entropy["batch"] < entropy["full"]  # the mask was applied


@pytest.mark.parametrize("argv, message", [
    (["{d}/mlp.py:mlp", "--tokens", "10", "--input-shape", "2,8"], "has no embedding"),
    (["{d}/gpt.py:tiny_gpt2", "--input", "{d}/bad.npz"], "match no argument"),
    (["{d}/gpt.py:tiny_gpt2", "--input-shape", "2,8"], "--tokens VOCAB"),
    (["{d}/mlp.py:mlp", "--input-shape", "2,8", "--lr", "-1"], "lr must be"),
    (["{d}/mlp.py:mlp", "--input-shape", "2,8", "--loss", "nope"], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, files, capsys):
    np.savez(files / "bad.npz", input_idz=np.zeros((2, 4), dtype=np.int64))
    assert main(["inspect", *[a.format(d=files) for a in argv]]) == 2
    err = capsys.readouterr().err
    assert message in err and err.strip().count("\n") == 0 or "invalid choice" in err, err
