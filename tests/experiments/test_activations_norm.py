"""``activations --norm``: the scale restored at every layer whatever the init, beside theory."""

import math

import numpy as np
import pytest

from initlab.cli import main
from initlab.errors import InitlabError
from initlab.experiments.activations import (
    draw_input,
    draw_top_gradient,
    draw_weight,
    run_activations,
)
from initlab.nn.activations import get_activation
from initlab.nn.layers import ActivationLayer, Dense
from initlab.nn.norm import BatchNorm, LayerNorm
from initlab.theory import gaussian_moments, predict_normalized


@pytest.fixture(scope="module")
def normalized():
    return run_activations(["normal(0.01)", "normal(1)", "he"], ["tanh", "relu"], depth=6,
                           width=128, batch=64, seeds=2, norm="batch")


def test_every_init_gives_the_same_scale_and_theory_says_so(normalized):
    for run in normalized.runs:
        act = get_activation(run.activation)
        expected = math.sqrt(gaussian_moments(act.fn, 1.0)[1])
        for layer in run.layers:
            # 1, or a little below where the raw variance is not far above eps (std 0.01)
            assert layer.predicted_pre_std == pytest.approx(1.0, abs=2e-3)
            assert layer.pre_std == pytest.approx(layer.predicted_pre_std, rel=1e-4)
            assert layer.predicted_std == pytest.approx(expected, rel=3e-3)
            assert layer.std == pytest.approx(layer.predicted_std, rel=0.03)
        assert run.verdict.vanishes_at is None and run.verdict.explodes_at is None


def test_without_norm_the_small_init_dies(normalized):
    plain = run_activations(["normal(0.01)"], ["tanh"], depth=6, width=128, batch=64)
    assert plain.runs[0].verdict.state == "vanishing"
    assert normalized.run("normal(0.01)", "tanh").verdict.vanishes_at is None


def test_gradient_theory_is_close_and_grows_by_pi_over_pi_minus_1_for_relu(normalized):
    run = normalized.run("he", "relu")
    grads = [s.grad_std for s in run.layers]
    theory = [s.predicted_grad_std for s in run.layers]
    np.testing.assert_allclose(grads, theory, rtol=0.12)
    ratios = np.array(theory[:-1]) / np.array(theory[1:])
    np.testing.assert_allclose(ratios**2, math.pi / (math.pi - 1), rtol=1e-3)


def test_tiny_variances_are_not_blown_up_past_what_eps_allows():
    act = get_activation("tanh")
    p = predict_normalized(act, [(0.0, 1e-12)] * 2, [10, 10, 10], "batch")
    s = 10 * 1e-12
    assert p.pre_std[0] == pytest.approx(math.sqrt(s / (s + 1e-5)))


@pytest.mark.parametrize("norm, layer_cls", [("batch", BatchNorm), ("layer", LayerNorm)])
def test_streaming_engine_matches_the_model_layers(norm, layer_cls):
    """The engine's normalization and its backward equal BatchNorm/LayerNorm layers'."""
    sizes, n, seed = [12, 10, 8], 6, 4
    result = run_activations(["he"], ["tanh"], sizes=sizes, batch=n, seed=seed, norm=norm,
                             dtype="float64", threads=1)
    x = draw_input("normal", (n, sizes[0]), seed, np.float64)
    layers = []
    for i in (1, 2):
        w = draw_weight("he", (sizes[i], sizes[i - 1]), seed, i, np.float64)
        layers += [Dense.from_arrays(w[None], np.zeros((1, sizes[i]))),
                   layer_cls(sizes[i], 1), ActivationLayer("tanh")]
    hs = [x]
    for layer in layers:
        hs.append(layer.forward(hs[-1], train=True))
    g = draw_top_gradient((n, sizes[-1]), seed, np.float64)[None]
    grads = [g]
    for k, layer in enumerate(reversed(layers)):
        g = layer.backward(g)
        if k == 2:  # below the top Dense layer: dL/dh_1
            grads.append(g)
    stats = result.runs[0].layers
    assert stats[0].std == pytest.approx(hs[3].std(), rel=1e-10)
    assert stats[1].std == pytest.approx(hs[6].std(), rel=1e-10)
    assert stats[0].grad_std == pytest.approx(grads[1].std(), rel=1e-10)


def test_bad_norm_and_batch_of_one():
    with pytest.raises(InitlabError, match="unknown norm 'nosuch'"):
        run_activations(["he"], ["relu"], depth=2, width=4, batch=4, norm="nosuch")
    with pytest.raises(InitlabError, match="batch of at least 2"):
        run_activations(["he"], ["relu"], depth=2, width=4, batch=1, norm="batch")
    run_activations(["he"], ["relu"], depth=2, width=4, batch=1, norm="layer")


def test_cli_norm(tmp_path, capsys):
    argv = ["activations", "--init", "normal(0.01)", "--activation", "relu", "--depth", "4",
            "--width", "32", "--batch", "16", "--norm", "batch", "--out", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "relu / normal(0.01): healthy: signal keeps its scale" in out
    assert (tmp_path / "std_vs_depth.png").exists()
    assert main([*argv[:-2], "--norm", "nosuch"]) == 2
    assert "unknown norm 'nosuch'; valid: none, batch, layer" in capsys.readouterr().err
