"""``initlab compare --residual``: residual schemes as init specs, trained as replicas, equal to
a direct ``mlp(residual=True)`` + ``fit`` run; and the bad input of the option."""

import json

import numpy as np
import pytest

from initlab.cli import main
from initlab.experiments.common import get_dataset
from initlab.experiments.compare import CompareConfig, run_compare
from initlab.nn import mlp
from initlab.train import accuracy, fit

OPTIONS = {"dataset": "moons", "layers": [16], "blocks": 3, "seeds": 2, "iterations": 30,
           "lr": 0.05, "optimizer": "adam", "batch": 32, "data_seed": 1}


def test_compare_residual_equals_a_direct_mlp_and_fit():
    result = run_compare(["fixup", "he"], residual=True, **OPTIONS)
    ds = get_dataset("moons", seed=1)
    X, Xt = ds.X_train.astype(np.float32), ds.X_test.astype(np.float32)
    for row, spec in zip(result.rows, ["fixup", "he"], strict=True):
        model = mlp([2, 16, 1], "relu", init=[spec, spec], seed=[0, 1], dtype=np.float32,
                    residual=True, blocks=3)
        history = fit(model, X, ds.y_train, optimizer="adam", lr=0.05, iterations=30,
                      batch_size=32, seed=1, record_every=result.config["record_every"],
                      record_accuracy=False)
        assert np.array_equal(row.train_per_seed, accuracy(model, X, ds.y_train))
        assert np.array_equal(row.test_per_seed, accuracy(model, Xt, ds.y_test))
        assert np.array_equal(np.asarray(row.loss_curves), history.loss)
    assert result.config["residual"] is True and result.config["blocks"] == 3
    assert result.config["sizes"] == [2, 16, 1]
    # fixup and he differ (the schemes set different nets from the same draws)
    assert not np.array_equal(result.rows[0].loss_curves, result.rows[1].loss_curves)


def test_compare_residual_cli_runs(capsys):
    argv = ["compare", "--residual", "--layers", "8", "--blocks", "2", "--init",
            "fixup,skipinit,he", "--seeds", "2", "--iterations", "10", "--json"]
    assert main(argv) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["init"] for r in rows] == ["fixup", "skipinit", "he"]


def test_residual_takes_the_first_default_width():
    assert CompareConfig.from_dict({"residual": True}).layers == (10,)
    saito = CompareConfig.from_dict({"residual": True, "preset": "saito", "init": ["he"]})
    assert saito.layers == (100,)


@pytest.mark.parametrize("argv, message", [
    (["--init", "fixup,he"], "init 'fixup' is a scheme for residual nets: add --residual"),
    (["--init", "skipinit"], "init 'skipinit' is a scheme for residual nets"),
    (["--residual", "--layers", "8,4"], "--residual takes one --layers size"),
    (["--residual", "--dropout", "0.1"], "takes no dropout"),
    (["--residual", "--init", "lsuv"], "does not take lsuv"),
    (["--residual", "--blocks", "0"], "--blocks"),
])
def test_bad_residual_input_is_one_line_exit_2(argv, message, capsys):
    assert main(["compare", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err
