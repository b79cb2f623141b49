"""``initlab residual``: the JSON contract, the best learning rates, the theory beside the
measurement, a float32 overflow reported as diverged, figures, bad input."""

import json
import math

import numpy as np
import pytest

from initlab.cli import main
from initlab.experiments.residual import (
    ResidualResult,
    best_rows,
    parse_scheme,
    run_residual,
)

SMALL = ["--depths", "2,5", "--schemes", "he,fixup,skipinit,scaled,he+batchnorm", "--seeds",
         "2", "--iterations", "4", "--train-size", "120", "--probe", "64", "--width", "16",
         "--batch", "32", "--sgd-lr", "0.01,0.05", "--adam-lr", "0.001"]
RUN_KEYS = ["scheme", "depth", "optimizer", "lr", "seed", "stream_std", "first_grad_norm",
            "final_loss", "final_accuracy", "diverged"]
BEST_KEYS = ["scheme", "depth", "optimizer", "lr", "final_loss_mean", "final_loss_ci95"]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("residual")
    assert main(["residual", *SMALL, "--out", str(out)]) == 0
    return ResidualResult.load(out / "results.json"), out


def test_json_contract(capsys):
    assert main(["residual", *SMALL[:2], "--schemes", "he,fixup", *SMALL[4:], "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data)[:2] == ["runs", "best"]
    # 2 depths x 2 schemes x (2 sgd + 1 adam learning rates) x 2 seeds
    assert len(data["runs"]) == 2 * 2 * 3 * 2
    for run in data["runs"]:
        assert list(run) == RUN_KEYS
        assert len(run["stream_std"]) == run["depth"] + 1
    assert len(data["best"]) == 2 * 2 * 2
    for row in data["best"]:
        assert list(row)[:len(BEST_KEYS)] == BEST_KEYS


def test_best_is_the_lowest_mean_loss_of_the_grid(small):
    result, _ = small
    for row in result.best:
        by_lr = {}
        for r in result.runs:
            if (r.scheme, r.depth, r.optimizer) == (row.scheme, row.depth, row.optimizer):
                by_lr.setdefault(r.lr, []).append(r)
        clean = {lr: np.mean([r.final_loss for r in rs]) for lr, rs in by_lr.items()
                 if not any(r.diverged for r in rs)}
        if clean:
            assert row.lr == min(clean, key=clean.get)
            assert row.final_loss_mean == pytest.approx(clean[row.lr], rel=1e-12)
            assert row.diverged == 0


def test_best_prefers_fewer_diverged_seeds():
    from initlab.experiments.residual import ResidualRun

    def run(lr, loss):
        return ResidualRun("he", 4, "sgd", lr, 0, [1.0], 1.0, loss, None if loss is None
                           else 0.5, loss is None)

    rows = best_rows([run(0.1, 0.01), run(0.1, None), run(0.01, 0.9), run(0.01, 1.1)])
    assert rows[0].lr == 0.01 and rows[0].final_loss_mean == pytest.approx(1.0)


def test_init_measurement_and_theory(small):
    result, _ = small
    for r in result.runs:
        std = np.array(r.stream_std, dtype=float)
        if r.scheme in ("fixup", "skipinit"):  # the identity at init
            np.testing.assert_allclose(std, std[0], rtol=1e-5)
        if r.scheme == "he":  # x3 per block in variance (sqrt 3 in std)
            assert std[-1] > 1.5 ** r.depth * std[0]
        if r.scheme == "fixup":  # a zero readout: no gradient reaches the blocks at init
            assert r.first_grad_norm == 0.0
        else:
            assert r.first_grad_norm > 0
    for t in result.theory:
        runs = [r for r in result.runs if (r.scheme, r.depth) == (t.scheme, t.depth)]
        measured = np.sqrt(np.mean([np.square(r.stream_std) for r in runs], axis=0))
        # width 16: a loose check that theory and measurement are the same curve
        np.testing.assert_allclose(measured, t.stream_std, rtol=0.5)


def test_figures_are_written(small):
    _, out = small
    assert (out / "stream.png").stat().st_size > 0 and (out / "loss.png").stat().st_size > 0


def test_float32_overflow_is_diverged_not_a_crash():
    result = run_residual(depths=[220], schemes=["he", "fixup"], seeds=1, iterations=2,
                          width=16, train_size=40, probe=16, batch=16, optimizer=["adam"],
                          adam_lr=[0.001])
    he = next(r for r in result.runs if r.scheme == "he")
    fixup = next(r for r in result.runs if r.scheme == "fixup")
    assert he.diverged and he.final_loss is None and he.stream_std[-1] is None
    assert math.isfinite(he.stream_std[100])
    assert not fixup.diverged and fixup.final_loss is not None
    assert not result.trained("he", 220)
    best = next(b for b in result.best if b.scheme == "he")
    assert best.final_loss_mean is None and best.diverged == 1


def test_schemes_parse():
    assert parse_scheme("scaled") == ("scaled_residual", None)
    assert parse_scheme("scaled2") == ("scaled_residual(factor=2)", None)
    assert parse_scheme("he+batchnorm") == ("he", "batch")
    assert parse_scheme("xavier+layernorm") == ("xavier", "layer")


@pytest.mark.parametrize(("argv", "message"), [
    (["--schemes", "he,foo"], "unknown residual scheme 'foo'"),
    (["--schemes", "fixup", "--branch", "1"], "divides by zero at m = 1"),
    (["--depths", "0"], "--depths: every value must be >= 1"),
    (["--alpha", "nan"], "--alpha"),
    (["--schemes", "zero_init"], "give the branch a norm"),
    (["--quick", "--full"], "not both"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    assert main(["residual", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
