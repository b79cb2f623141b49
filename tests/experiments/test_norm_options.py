"""``--norm`` on compare and regularize: the option reaches the model, its config and the CLI."""

import json

import pytest

from initlab.cli import main
from initlab.errors import InitlabError
from initlab.experiments.compare import run_compare
from initlab.experiments.regularize import run_regularize


def test_compare_with_batch_norm_rescues_a_tiny_init():
    kw = {"dataset": "digits", "layers": [32, 32, 32], "seeds": 2, "iterations": 150,
          "batch": 64, "lr": 0.05, "train_size": 400}
    plain = run_compare(["normal(0.01)"], **kw)
    normed = run_compare(["normal(0.01)"], norm="batch", **kw)
    assert plain.config["norm"] is None and normed.config["norm"] == "batch"
    assert plain.rows[0].train_accuracy.mean < 0.2  # the signal dies: chance
    assert normed.rows[0].train_accuracy.mean > 0.8


def test_compare_refuses_bad_norms_before_training():
    with pytest.raises(InitlabError, match="unknown norm 'nosuch'"):
        run_compare(["he"], dataset="xor", layers=[4], seeds=1, iterations=2, norm="nosuch")
    with pytest.raises(InitlabError, match="at least 2 examples per batch"):
        run_compare(["he"], dataset="xor", layers=[4], seeds=1, iterations=2, norm="batch",
                    batch=1, jobs=2)


def test_regularize_with_layer_norm_and_cli(capsys):
    result = run_regularize(train_size=100, layers=[16], seeds=1, epochs=2, norm="layer")
    assert result.config["norm"] == "layer"
    argv = ["compare", "--dataset", "xor", "--layers", "4", "--seeds", "1", "--iterations",
            "3", "--norm", "batch", "-j", "1", "--json"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["config"]["norm"] == "batch"
    assert main(["regularize", "--train-size", "50", "--layers", "4", "--seeds", "1",
                 "--epochs", "1", "--norm", "nosuch"]) == 2
    assert "unknown norm 'nosuch'; valid: none, batch, layer" in capsys.readouterr().err
