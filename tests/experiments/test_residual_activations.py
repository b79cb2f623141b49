"""``initlab activations --residual``: the stream per block beside theory, and bad input."""

import json

import numpy as np
import pytest

from initlab.cli import main
from initlab.experiments.activations import run_activations, run_activations_by_depth


def test_stream_per_block_beside_theory():
    result = run_activations(["he", "fixup", "scaled_residual"], ["relu", "tanh"], depth=8,
                             width=256, batch=128, seeds=3, residual=True)
    assert len(result.runs) == 6
    for run in result.runs:
        assert len(run.layers) == 8
        std = np.array([la.std for la in run.layers])
        predicted = np.array([la.predicted_std for la in run.layers])
        np.testing.assert_allclose(std, predicted, rtol=0.1)
        if run.init == "fixup":  # the identity: every block leaves the stream as it is
            np.testing.assert_allclose(std, std[0], rtol=1e-6)
        assert all(la.grad_std is None for la in run.layers)
    he = next(r for r in result.runs if (r.init, r.activation) == ("he", "relu"))
    assert he.layers[-1].std > 20 * he.layers[0].std  # sqrt(3) per block: x46 over 7 blocks


def test_by_depth_gives_the_first_blocks_of_the_deepest_net():
    results = run_activations_by_depth("he", "relu", depth=4, width=32, batch=16,
                                       residual=True)
    assert [len(r.runs[0].layers) for r in results] == [1, 2, 3, 4]
    assert results[1].runs[0].layers[1].std == results[3].runs[0].layers[1].std


def test_json_from_the_command_line(capsys):
    argv = ["activations", "--residual", "--depth", "3", "--width", "16", "--batch", "8",
            "--init", "skipinit,he", "--activation", "relu", "--norm", "batch", "--json"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert [len(r["layers"]) for r in data["runs"]] == [3, 3]


@pytest.mark.parametrize(("extra", "message"), [
    (["--sizes", "8,8,8"], "not --sizes"), (["--bias", "0.1"], "leave out --bias"),
    (["--init", "lsuv"], "does not take lsuv"),
    (["--init", "zero_init_residual"], "give the branch a norm")])
def test_bad_input(capsys, extra, message):
    argv = ["activations", "--residual", "--batch", "8", *extra]
    if "--sizes" not in extra:
        argv += ["--depth", "2", "--width", "8"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
