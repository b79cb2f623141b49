"""LSUV: unit output variance per layer and replica, orthonormal start, bad arguments."""

import numpy as np
import pytest

from initlab.errors import InitlabError
from initlab.lsuv import lsuv
from initlab.nn import mlp


def layer_output_variances(model, X):
    """Variance of each Dense layer's output, per replica, by a plain forward pass."""
    out, h = [], X
    for layer in model.layers:
        h = layer.forward(h)
        if hasattr(layer, "weight"):
            out.append(h.var(axis=(1, 2)))
    return np.array(out)


@pytest.mark.parametrize("activation", ["relu", "tanh", "selu"])
def test_every_layer_reaches_unit_variance(activation):
    X = np.random.default_rng(0).standard_normal((256, 20)) * 3
    model = mlp([20, 64, 64, 32, 4], activation=activation, output="softmax",
                init=["normal(0.01)", "normal(5)"], seed=[1, 2])
    reached = lsuv(model, X, tol=0.05)
    assert reached.shape == (4, 2)
    assert (np.abs(reached - 1) < 0.05).all()
    np.testing.assert_allclose(layer_output_variances(model, X), reached, rtol=1e-12)


def test_starts_from_orthonormal_weights_and_only_rescales_them():
    X = np.random.default_rng(0).standard_normal((100, 8))
    model = mlp([8, 6, 5, 1], replicas=2, seed=3)
    lsuv(model, X, tol=0.01, max_tries=20)
    for d in model.dense_layers:
        for w in d.weight.value:
            gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
            scale = gram[0, 0]
            np.testing.assert_allclose(gram, scale * np.eye(len(gram)), atol=1e-10 * scale)


def test_max_tries_limits_the_rescaling():
    X = np.random.default_rng(0).standard_normal((50, 5))
    model = mlp([5, 30, 30, 1], activation="relu", seed=0)
    once = lsuv(model.copy(), X, tol=1e-9, max_tries=1)
    many = lsuv(model.copy(), X, tol=1e-9, max_tries=30)
    assert np.abs(many - 1).max() <= np.abs(once - 1).max()
    assert np.abs(many[0] - 1).max() < 1e-9  # the first layer is linear in W: one step suffices


def test_without_orthonormal_keeps_the_directions():
    X = np.random.default_rng(0).standard_normal((50, 5))
    model = mlp([5, 7, 1], init="normal(3)", seed=0)
    w0 = model.layers[0].weight.value.copy()
    lsuv(model, X, orthonormal=False)
    ratio = model.layers[0].weight.value / w0
    np.testing.assert_allclose(ratio, ratio.flat[0])


@pytest.mark.parametrize("kwargs, message", [
    (dict(tol=0), "tol must be a finite number > 0, got 0"),
    (dict(max_tries=0), "max_tries must be a positive integer, got 0"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(InitlabError, match=message):
        lsuv(mlp([2, 3, 1]), np.ones((4, 2)), **kwargs)
    with pytest.raises(InitlabError, match="X has 3 features"):
        lsuv(mlp([2, 3, 1]), np.ones((4, 3)))


# ----------------------------------------------------------------------------- lsuv as an init
def test_lsuv_specs_rescale_only_their_replicas():
    from initlab.lsuv import lsuv_from_inits

    X = np.random.default_rng(0).standard_normal((128, 10)) * 2
    model = mlp([10, 40, 40, 1], activation="tanh",
                init=["he", "lsuv", "lsuv(he, tol=0.01, max_tries=3)"], seed=0)
    before = [d.weight.value.copy() for d in model.dense_layers]
    done = lsuv_from_inits(model, X)
    assert done.replicas == [1, 2]
    for d, w0 in zip(model.dense_layers, before, strict=True):
        np.testing.assert_array_equal(d.weight.value[0], w0[0])  # he replica untouched
    var = layer_output_variances(model, X)
    np.testing.assert_allclose(var[:, 1:], done.variance, rtol=1e-12)
    assert (np.abs(done.variance[:, 0] - 1) < 0.1).all()
    assert (np.abs(done.variance[:, 1] - 1) < 0.01).all()
    assert done.iterations.shape == (3, 2) and done.iterations.sum() >= 3
    assert (done.iterations[:, 1] <= 3).all()
    assert lsuv_from_inits(mlp([10, 4, 1]), X) is None


def test_lsuv_base_is_orthogonal_by_default_and_drawn_by_the_layer():
    model = mlp([6, 9, 1], init="lsuv", seed=3)
    w = model.layers[0].weight.value[0]
    np.testing.assert_allclose(w.T @ w, np.eye(6), atol=1e-12)  # tall: columns orthonormal


def test_lsuv_scale_matches_rescaling_the_weights():
    from initlab.lsuv import lsuv_scale

    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((64, 20)), rng.standard_normal((15, 20))
    b = rng.standard_normal(15) / 3
    s, var, tries = lsuv_scale((x @ w.T)[None], b, tol=1e-6, max_tries=50)
    assert (x @ (s[0] * w).T + b).var() == pytest.approx(var[0], rel=1e-12)
    assert abs(var[0] - 1) < 1e-6 and tries[0] >= 2  # the bias makes it take several steps


def test_lsuv_in_compare_regularize_and_activations():
    from initlab.experiments.activations import run_activations
    from initlab.experiments.compare import CompareResult, run_compare
    from initlab.experiments.regularize import run_regularize

    r = run_compare(["he", "lsuv(he)"], dataset="xor", layers=(8,), seeds=3, iterations=20,
                    seed=5)
    assert r.rows[0].lsuv is None and r.rows[1].lsuv.replicas == [5, 6, 7]
    assert (np.abs(np.asarray(r.rows[1].lsuv.variance) - 1) < 0.1).all()
    again = CompareResult.from_dict(r.to_dict())
    assert again.rows[1].lsuv.replicas == [5, 6, 7]
    g = run_regularize(init="lsuv", layers=(8, 8), seeds=2, epochs=1, train_size=60)
    assert all(row.lsuv.replicas == [0, 1] for row in g.rows)
    a = run_activations("lsuv", "relu", depth=3, width=32, batch=16, seeds=2)
    run = a.runs[0]
    assert run.lsuv.replicas == [0, 1] and np.asarray(run.lsuv.variance).shape == (3, 2)
    pre = [s.pre_std**2 for s in run.layers]  # pooled over both seeds
    np.testing.assert_allclose(pre, np.asarray(run.lsuv.variance).mean(1), rtol=0.1)
    assert run.layers[0].predicted_std is None  # theory has no law for a data-dependent init


def test_lsuv_from_the_command_line_and_a_config(tmp_path, capsys):
    import json

    from initlab.cli import main

    argv = ["compare", "--dataset", "xor", "--layers", "6", "--init", "he,lsuv(he, tol=0.05)",
            "--seeds", "2", "--iterations", "5"]
    assert main([*argv, "--dump-config"]) == 0
    (tmp_path / "c.toml").write_text(capsys.readouterr().out)
    assert main(["run", str(tmp_path / "c.toml"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert rows[0]["lsuv"] is None
    assert np.abs(np.array(rows[1]["lsuv"]["variance"]) - 1).max() < 0.05
    assert main(["init", "--list"]) == 0
    listed = capsys.readouterr().out
    assert "\nlsuv " in listed and "\ntorch_default " in listed
    assert main([*argv[:6], "lsuv(nope)"]) == 2
    assert "lsuv's base must be an initializer name, got 'nope'" in capsys.readouterr().err
