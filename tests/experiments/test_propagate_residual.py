"""``initlab propagate --residual``: the stream of random residual nets block by block beside
:mod:`initlab.theory.residual`, its table, JSON and figure, and its bad input."""

import json

import numpy as np
import pytest

from initlab.cli import main
from initlab.experiments.propagate import PropagateResult, run_propagate
from initlab.experiments.propagate_residual import predict_residual
from initlab.nn.activations import get_activation


@pytest.fixture(scope="module")
def stream():
    return run_propagate(residual=True, activation="relu", sigma_w2=[0.5, 2.0], depth=8,
                         width=512, seeds=6, batch=16)


def test_the_measured_stream_follows_the_theory_per_block(stream):
    # each block multiplies the length by a factor that fluctuates by ~1/sqrt(width): a few
    # blocks and several seeds keep the mean within 10%
    for run in stream.runs:
        q = np.array([la.q for la in run.layers])
        q_theory = np.array([la.q_predicted for la in run.layers])
        np.testing.assert_allclose(q, q_theory, rtol=0.1)
        c = np.array([la.c for la in run.layers])
        np.testing.assert_allclose(c, [la.c_predicted for la in run.layers], atol=0.1)
    # He (sigma_w^2 = 2) through Dense-ReLU-Dense: x3 per block; no biases, no fixed points
    he = stream.runs[1]
    assert he.layers[-1].q_predicted == pytest.approx(3.0**8)
    assert he.sigma_b2 == 0 and he.chi_1 is None and stream.phase is None


def test_predicted_correlation_of_a_linear_branch_stays_c0_and_1_stays_1():
    linear = get_activation("linear")
    q, c = predict_residual(linear, 1.5, 5, 2.0, 0.3)
    np.testing.assert_allclose(q, 2.0 * 3.25 ** np.arange(1, 6))  # b(q) = 1.5^2 q
    np.testing.assert_allclose(c, 0.3)
    _, c = predict_residual(get_activation("tanh"), 1.5, 5, 1.0, 1.0)
    np.testing.assert_allclose(c, 1.0)


def test_overflowing_streams_are_none_not_errors():
    result = run_propagate(residual=True, activation="relu", sigma_w2=[4.0], depth=400,
                           width=8, seeds=1, batch=2)
    last = result.runs[0].layers[-1]
    assert last.q is None and last.q_predicted is None and last.c_predicted is None


def test_cli_table_json_and_figure(tmp_path, capsys):
    argv = ["propagate", "--residual", "--activation", "tanh", "--sigma-w2", "1,3", "--depth",
            "6", "--width", "64", "--seeds", "1"]
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [len(r["layers"]) for r in data["runs"]] == [6, 6]
    assert {"q", "q_predicted", "c", "c_predicted"} <= set(data["runs"][0]["layers"][0])
    assert main([*argv, "--out", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    assert "q_L theory" in table and "chi_1" not in table
    assert (tmp_path / "propagation.png").exists() and not (tmp_path / "phase.png").exists()
    back = PropagateResult.load(tmp_path / "results.json")
    assert back.config["residual"] is True and back.table() is not None


@pytest.mark.parametrize("extra, message", [
    (["--sigma-b2", "0.1"], "--residual nets have no biases: leave out --sigma-b2 (got 0.1)"),
    (["--jacobian"], "run --jacobian and --trainability (plain nets) without it"),
    (["--trainability"], "run --jacobian and --trainability (plain nets) without it"),
])
def test_bad_residual_input_is_one_line_exit_2(extra, message, capsys):
    assert main(["propagate", "--residual", "--depth", "3", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
