"""The propagation, Jacobian and trainability experiments, and the report's depth story."""

import math

import numpy as np
import pytest

from initlab.errors import InitlabError
from initlab.experiments.jacobian import spectra
from initlab.experiments.propagate import (
    DepthPoint,
    MeanStd,
    PropagateConfig,
    PropagateResult,
    TrainPoint,
    input_batch,
    run_propagate,
)
from initlab.report.text_depth import depth_text, trainability_counts


@pytest.fixture(scope="module")
def small():
    return run_propagate(sigma_w2=[0.8, 3.0], depth=20, width=300, seeds=2)


def test_inputs_have_the_asked_length_and_correlation():
    x = input_batch(np.random.default_rng(0), 5, 40, 2.5, 0.3)
    np.testing.assert_allclose((x * x).sum(1) / 40, 2.5)
    assert x[0] @ x[1] / (x[0] @ x[0]) == pytest.approx(0.3)


def test_measured_beside_theory(small):
    ordered, chaotic = small.runs
    assert ordered.chi_1 < 1 < chaotic.chi_1 and ordered.c_star == 1 and chaotic.c_star < 1
    for run in small.runs:
        last = run.layers[-1]
        assert last.q == pytest.approx(last.q_predicted, rel=0.15)
        assert last.c == pytest.approx(last.c_predicted, abs=0.15)
        assert run.chi_1_measured == pytest.approx(run.chi_1, rel=0.1)
    assert chaotic.layers[-1].c < 0.5 < ordered.layers[-1].c


def test_json_leaves_out_parts_not_asked_for_and_roundtrips(small, tmp_path):
    d = small.to_dict()
    assert list(d) == ["critical", "runs"]
    back = PropagateResult.load(small.save(tmp_path / "r.json"))
    assert back.to_dict() == d and back.phase == small.phase


def test_orthogonal_linear_jacobian_is_an_isometry():
    rng = np.random.default_rng(1)
    (case,) = spectra("linear", "orthogonal", 1.0, 0.0, [6], 24, 1.0, rng)
    assert case.singular_values.min == pytest.approx(1, abs=1e-10)
    assert case.singular_values.max == pytest.approx(1, abs=1e-10)
    assert case.condition_number == pytest.approx(1, abs=1e-9)
    (gauss,) = spectra("linear", "gaussian", 1.0, 0.0, [6], 24, 1.0, rng)
    assert gauss.condition_number > 10  # a product of Gaussian matrices spreads out
    assert gauss.mean_square_predicted == pytest.approx(1.0)


@pytest.mark.parametrize("kwargs, message", [
    ({"sigma_w2": []}, "'sigma_w2' needs at least one value"),
    ({"sigma_w2": [0.0]}, "'sigma_w2' must be a finite number > 0, got [0.0]"),
    ({"sigma_b2": -1.0}, "'sigma_b2' must be a finite number >= 0, got -1.0"),
    ({"depth": 0}, "'depth' must be >= 1"), ({"c0": -2.0}, "'c0' must be in [-1, 1]"),
    ({"activation": "nope"}, "nope"), ({"q0": 0.0}, "'q0' must be a finite number > 0"),
    ({"width": 1}, "'width' must be >= 2 to measure a correlation, got 1"),
    ({"depths": [3, 0]}, "'depths' every value must be >= 1"),
    ({"sigma_w2": "4:1:3"}, "'sigma_w2' range '4:1:3' is reversed: HI must be >= LO"),
    ({"activation": "hard_tanh"}, "hard_tanh"),  # no mean-field theory
    ({"train_options": {"dataset": "moons"}}, "unknown train_options key 'dataset'; valid: "),
])
def test_bad_input(kwargs, message):
    with pytest.raises(InitlabError) as info:
        run_propagate(**{"depth": 2, "width": 8, "seeds": 1, **kwargs})
    assert message in str(info.value)


def test_sizes_follow_quick_and_trainability_where_not_given():
    """--quick and --trainability choose the sizes left unset; a value given is kept."""
    full = PropagateConfig()
    assert full.sigma_w2 == tuple(np.linspace(0.5, 4, 36)) and full.width == 500
    assert full.depths == (5, 24, 43, 62, 81, 100) and full.steps == 400
    quick = PropagateConfig.from_dict({"quick": True})
    assert len(quick.sigma_w2) == 12 and quick.width == 200
    assert quick.depths == (5, 52, 100) and quick.steps == 200
    grid = PropagateConfig(trainability=True)
    assert grid.sigma_w2 == tuple(np.linspace(1, 4, 8))
    assert PropagateConfig(trainability=True, quick=True).sigma_w2 == (1.0, 2.0, 3.0, 4.0)
    given = PropagateConfig.from_dict({"quick": True, "width": 500, "steps": 7})
    assert (given.width, given.steps) == (500, 7)
    # ranges are text in TOML files as on the command line; a range's depths are whole
    assert PropagateConfig.from_dict({"sigma_w2": "1:4:4", "depths": "5:100:3"}) == \
        PropagateConfig(sigma_w2=(1.0, 2.0, 3.0, 4.0), depths=(5, 52, 100))


def test_keywords_train_options_and_a_config_run_the_same():
    small = {"sigma_w2": np.array([1.0, 3.0]), "depth": 3, "width": 8, "seeds": 1,
             "trainability": True, "depths": np.array([2.0, 3.0]), "jacobian": True,
             "jacobian_depths": [2], "jacobian_width": 6}
    by_keywords = run_propagate(**small, steps=2, train_width=4, train_size=40)
    by_options = run_propagate(**small, train_options={"steps": 2, "width": 4,
                                                       "train_size": 40, "batch": 32})
    config = PropagateConfig(sigma_w2=(1.0, 3.0), depth=3, width=8, seeds=1, trainability=True,
                             depths=(2, 3), jacobian=True, jacobian_depths=(2,),
                             jacobian_width=6, steps=2, train_width=4, train_size=40)
    by_config = run_propagate(config=config)
    assert by_keywords.to_json(detail=True) == by_options.to_json(detail=True) == \
        by_config.to_json(detail=True)
    assert by_config.config["trainability"]["width"] == 4
    with pytest.raises(InitlabError, match="a config or keyword options, not both"):
        run_propagate(config=config, depth=3)


def _with_grid(result, accs):
    """A copy of ``result`` with a made-up trainability grid (depth 10 and 200)."""
    result = PropagateResult.from_dict(result.to_dict(detail=True))
    result.six_xi_c = [DepthPoint(1.0, 50.0), DepthPoint(4.0, 50.0)]
    result.trainability = [TrainPoint(w, d, MeanStd(a, 0.0))
                           for (w, d), a in zip([(1.0, 10), (4.0, 10), (1.0, 200), (4.0, 200)],
                                                accs, strict=True)]
    result.config["trainability"] = {"sigma_w2": [1.0, 4.0], "depths": [10, 200], "width": 8,
                                     "steps": 1, "lr": 0.1, "batch": 4, "n_train": 10}
    return result


def test_depth_story_counts_and_verdict_follow_the_numbers(small):
    agree = _with_grid(small, [0.9, 0.8, 0.1, 0.1])
    assert trainability_counts(agree) == {"below": {"n": 2, "trained": 2},
                                          "above": {"n": 2, "trained": 0}}
    assert "as the theory expects" in depth_text(agree)
    against = _with_grid(small, [0.1, 0.1, 0.9, 0.9])
    assert "does not show the expected split" in depth_text(against)
    crit = dict(zip(small.critical.sigma_b2, small.critical.sigma_w2, strict=True))[0.05]
    assert f"{crit:.3f}" in depth_text(small) and math.isfinite(crit)


def test_train_accuracy_in_slices_equals_the_whole():
    from initlab.experiments.trainability import train_accuracy
    from initlab.nn.model import mlp
    from initlab.train import accuracy

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((23, 5)), rng.integers(0, 3, 23)
    model = mlp([5, 7, 3], activation="tanh", output="softmax", replicas=4, seed=1)
    np.testing.assert_allclose(train_accuracy(model, X, y, chunk=5), accuracy(model, X, y))


def test_records_one_row_per_run_or_per_trainability_seed(small):
    rows = small.records()
    assert [r["sigma_w2"] for r in rows] == [0.8, 3.0] and "layers" not in rows[0]
    grid = _with_grid(small, [0.9, 0.8, 0.1, 0.3]).records()  # no per-seed runs: the means
    assert [(r["sigma_w2"], r["depth"], r["train_accuracy"]) for r in grid] == [
        (1.0, 10, 0.9), (4.0, 10, 0.8), (1.0, 200, 0.1), (4.0, 200, 0.3)]
    assert {r["activation"] for r in grid} == {"tanh"} and {r["seed"] for r in grid} == {None}


def test_the_estimate_counts_the_sizes_that_run():
    """--quick and --trainability shrink the run; the estimate counts what runs (it counted
    36 sigma_w^2 and the full grid whatever they chose)."""
    from initlab.experiments.propagate import estimate

    quick = estimate(PropagateConfig(trainability=True, quick=True))
    assert quick.what == ("3 x 4 nets of 100 layers of 200, and 4 x 3 trainability points x "
                          "1 seed(s)")
    full = estimate(PropagateConfig(trainability=True))
    assert full.what.startswith("3 x 8 nets of 100 layers of 500, and 8 x 6")
    assert quick.seconds < full.seconds / 4
