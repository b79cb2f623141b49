"""The activation study: the sources' findings, theory agreement, exact statistics, bad input."""

import io
import json
import re

import numpy as np
import pytest

from initlab.errors import InitlabError
from initlab.experiments.activations import (
    ActivationsResult,
    draw_bias,
    draw_input,
    draw_top_gradient,
    draw_weight,
    estimate_memory,
    layer_product,
    preset,
    run_activations,
    weight_grad_moments,
)
from initlab.init import get_initializer
from initlab.nn.activations import get_activation

LAYER_KEYS = ["index", "mean", "std", "saturated", "zero", "predicted_std", "grad_std",
              "predicted_grad_std", "weight_grad_std", "dead"]


def column(run, key):
    return np.array([getattr(s, key) for s in run.layers], dtype=float)


@pytest.fixture(scope="module")
def cs231n():
    """The CS231n 10-layer study at a quarter of the width (1024) and batch 16."""
    return run_activations(preset("cs231n")["init"] + ["normal(0.1)"], ["tanh", "relu"],
                           depth=10, width=1024, batch=16, seeds=2)


@pytest.fixture(scope="module")
def saito():
    return run_activations(**{**preset("saito"), "batch": 300})


# ----------------------------------------------------------------------------- the findings
def test_tanh_small_weights_shrink_layer_after_layer(cs231n):
    std = column(cs231n.run("normal(0.01)", "tanh"), "std")
    assert np.all(np.diff(std) < 0) and std[-1] < 0.01 * std[0]
    grad = column(cs231n.run("normal(0.01)", "tanh"), "grad_std")
    assert np.all(np.diff(grad) > 0)  # and the gradient vanishes going down


def test_tanh_large_weights_saturate_and_lecun_stays_spread(cs231n):
    big = cs231n.run("normal(0.1)", "tanh")  # n Var(w) = 10: "scale up" piles values at +-1
    assert min(s.saturated for s in big.layers) > 0.3 and big.layers[-1].std > 0.8
    lecun = cs231n.run("lecun", "tanh")
    assert max(s.saturated for s in lecun.layers) < 0.01 and lecun.verdict.saturated_from is None
    assert 0.15 < lecun.layers[-1].std < 0.35


def test_relu_he_keeps_its_spread_and_lecun_shrinks(cs231n):
    he, lecun = (column(cs231n.run(i, "relu"), "std") for i in ("he", "lecun"))
    assert he.max() / he.min() < 1.3
    assert lecun[-1] < 0.1 * lecun[0]
    zero = column(cs231n.run("he", "relu"), "zero")
    assert np.all(np.abs(zero - 0.5) < 0.05)  # half the values are exactly 0
    explode = cs231n.run("normal(0.05)", "relu")  # n Var(w) = 2.56 > 2: grows 1.13x a layer
    assert np.all(np.diff(column(explode, "std")) > 0)


def test_saito_findings(saito):
    sig1 = saito.run("normal(1)", "sigmoid")
    assert all(s.saturated > 0.45 for s in sig1.layers)  # piled at 0 and 1
    for s in saito.run("normal(0.01)", "sigmoid").layers:  # piled at 0.5: units all alike
        assert abs(s.mean - 0.5) < 0.01 and s.std < 0.05 and s.saturated == 0
    relu = saito.run("normal(0.01)", "relu")
    assert relu.layers[-1].std < 1e-5 and relu.verdict.vanishes_at == 2
    for act in ("sigmoid", "relu", "tanh"):
        zeros = saito.run("zeros", act)
        assert zeros.verdict.state == "no signal" and all(s.std == 0 for s in zeros.layers)
        # zero weights pass no gradient down either: only the top layer sees one
        assert zeros.layers[-1].grad_std == pytest.approx(1, rel=0.02)
        assert all(s.grad_std == 0 for s in zeros.layers[:-1])
        assert zeros.verdict.grad_state == "no signal" and zeros.verdict.grad_vanishes_at == 4
    assert saito.run("zeros", "relu").verdict.dead_from == 1  # relu(0) = 0 everywhere
    assert saito.run("ones", "relu").verdict.explodes_at == 2  # x100 per layer
    assert saito.run("ones", "tanh").verdict.saturated_from == 1
    alike = saito.run("normal(0.01)", "sigmoid").verdict  # all at 1/2: units alike
    assert alike.alike_from is not None and "nearly identical" in alike.text


def test_verdicts_name_what_the_pictures_show(cs231n):
    """Each published case gets the word its numbers call for. At width 1024 normal(0.1) has
    the n Var(w) that normal(0.05) has at the study's 4096."""
    def v(init, act):
        return cs231n.run(init, act).verdict

    assert v("normal(0.01)", "tanh").state == "vanishing"  # shrinks ~x0.64 a layer
    assert v("normal(0.01)", "tanh").grad_state == "vanishing"
    assert v("normal(0.1)", "relu").state == "exploding"  # n Var(w) = 10.24: x2.26 a layer
    grows = v("normal(0.05)", "relu")  # n Var(w) = 2.56: x1.13 a layer, crosses 10x later
    assert grows.state == "growing" and grows.crosses_at > 10
    big = v("normal(0.1)", "tanh")  # piles at +-1 but keeps its scale
    assert big.state == "healthy" and big.saturated_from == 1 and not big.healthy
    assert v("lecun", "tanh").state in ("shrinking", "healthy")
    assert v("lecun", "relu").state in ("vanishing", "shrinking")  # halved variance a layer
    he = v("he", "relu")
    assert he.state == "healthy" and he.grad_state == "healthy"
    for run in cs231n.runs:
        assert run.summary() == f"{run.activation} / {run.init}: {run.verdict.text}"


def test_constant_weights_match_their_exact_theory(saito):
    for init in ("ones", "constant(5)"):
        run = saito.run(init, "relu")
        assert column(run, "std") == pytest.approx(column(run, "predicted_std"), rel=0.1)


# ----------------------------------------------------------------------------- theory
def test_theory_agrees_for_tanh_and_sigmoid_at_width_1000():
    result = run_activations(["lecun", "he"], ["tanh", "sigmoid"], depth=10, width=1000,
                             batch=64, seeds=2)
    for run in result.runs:
        for measured, predicted, tol in (("std", "predicted_std", 0.04),
                                         ("pre_std", "predicted_pre_std", 0.04),
                                         ("grad_std", "predicted_grad_std", 0.04),
                                         ("weight_grad_std", "predicted_weight_grad_std", 0.06)):
            ratio = column(run, measured) / column(run, predicted)
            assert np.all(np.abs(ratio - 1) < tol), (run.init, run.activation, measured, ratio)
        mean = column(run, "mean")
        expected = 0.5 if run.activation == "sigmoid" else 0.0
        assert np.all(np.abs(mean - expected) < 0.02)


def test_relu_theory_at_shallow_depth_and_drift_with_depth():
    shallow = run_activations(["he", "kaiming_uniform(nonlinearity=relu)"], "relu", depth=3,
                              width=1000, batch=64, seeds=2)
    for run in shallow.runs:
        assert column(run, "std") == pytest.approx(column(run, "predicted_std"), rel=0.03)
        assert column(run, "grad_std") == pytest.approx(column(run, "predicted_grad_std"),
                                                        rel=0.03)
    deep = run_activations("he", "relu", depth=10, width=128, batch=16, seeds=12, grad=False)
    layers = deep.runs[0].layers
    spread = [np.std(s.seed_std) / s.std for s in layers]
    assert spread[-1] > 3 * spread[0]  # each seed drifts further from the others with depth
    ratio = column(deep.runs[0], "std") / column(deep.runs[0], "predicted_std")
    assert np.all(np.abs(ratio - 1) < 0.2)  # the pooled seeds stay near theory


# ----------------------------------------------------------------------------- exact numbers
@pytest.mark.parametrize("batch, width", [(8, 64), (300, 24)])  # Gram path; direct dW path
def test_statistics_equal_a_direct_numpy_computation(batch, width):
    specs, acts = ["xavier_uniform", "orthogonal"], ["tanh", "relu", "sigmoid"]
    result = run_activations(specs, acts, depth=3, width=width, batch=batch, seed=5,
                             dtype="float64", bias=0.1, bins=7, hist_range=(-0.5, 0.9))
    shape = (width, width)
    for spec in specs:
        init = get_initializer(spec)
        for name in acts:
            act, run = get_activation(name), result.run(spec, name)
            h = draw_input("normal", (batch, width), 5, np.float64)
            hs, ds = [h], []
            for layer, s in enumerate(run.layers, start=1):
                w = draw_weight(init, shape, 5, layer, np.float64)
                a = h @ w.T + draw_bias(0.1, width, 5, layer, np.float64)
                h = act.fn(a)
                hs.append(h)
                ds.append(act.grad(a, h))
                assert (s.mean, s.std, s.pre_std) == pytest.approx((h.mean(), h.std(), a.std()),
                                                                   rel=1e-10, abs=1e-14)
                counts, _ = np.histogram(h, 7, (-0.5, 0.9))
                assert list(s.counts) == list(counts) and s.zero == np.mean(h == 0)
                assert s.dead == np.mean(np.all(h == 0, axis=0))
                assert sum(s.counts) + s.below + s.above == h.size
                if name == "tanh":
                    assert s.saturated == np.mean(np.abs(h) > 0.99)
            g = draw_top_gradient((batch, width), 5, np.float64)
            for layer in range(3, 0, -1):
                s = run.layers[layer - 1]
                delta = g * ds[layer - 1]
                dw = delta.T @ hs[layer - 1]
                assert s.grad_std == pytest.approx(g.std(), rel=1e-10)
                assert s.weight_grad_std == pytest.approx(dw.std(), rel=1e-9)
                g = delta @ draw_weight(init, shape, 5, layer, np.float64)


def test_histogram_counts_sum_over_seeds_and_pooled_moments():
    result = run_activations("he", "relu", depth=2, width=50, batch=40, seeds=3, grad=False)
    for s in result.runs[0].layers:
        assert sum(s.counts) + s.below + s.above == 3 * 40 * 50
        assert len(s.seed_std) == 3 and min(s.seed_std) <= s.std * 1.05
    single = [run_activations("he", "relu", depth=2, width=50, batch=40, seed=k, grad=False)
              for k in range(3)]
    assert [x.runs[0].layers[1].std for x in single] == result.runs[0].layers[1].seed_std


def test_weight_gradient_moments_both_ways():
    rng = np.random.default_rng(0)
    delta, h = rng.standard_normal((6, 40)), rng.standard_normal((6, 30)) + 0.3
    n, mean, m2 = weight_grad_moments(delta, h)  # Gram path (6 * 70 < 1200)
    dw = delta.T @ h
    assert (n, mean, m2 / n) == pytest.approx((dw.size, dw.mean(), dw.var()), rel=1e-10)
    n, mean, m2 = weight_grad_moments(np.tile(delta, (50, 1)), np.tile(h, (50, 1)))  # direct
    assert (mean, m2 / n) == pytest.approx((50 * dw.mean(), 2500 * dw.var()), rel=1e-10)


def test_blocks_threads_and_streams():
    init = get_initializer("normal(0.5)")
    shape = (2100, 1000)  # three row blocks of 1048 rows
    w = draw_weight(init, shape, 7, 2)
    assert w.dtype == np.float32 and w.std() == pytest.approx(0.5, rel=0.01)
    assert not np.array_equal(w, draw_weight(init, shape, 7, 3))
    assert not np.array_equal(w[:1048], w[1048:2096])
    x = np.random.default_rng(1).standard_normal((4, 1000)).astype(np.float32)
    g = np.random.default_rng(2).standard_normal((4, 2100)).astype(np.float32)
    fwd = [layer_product(init, shape, 7, 2, x, threads=t) for t in (1, 2, 3)]
    bwd = [layer_product(init, shape, 7, 2, g, threads=t, backward=True) for t in (1, 2, 3)]
    assert all(np.array_equal(fwd[0], f) for f in fwd) and np.allclose(fwd[0], x @ w.T, atol=1e-3)
    assert all(np.array_equal(bwd[0], b) for b in bwd) and np.allclose(bwd[0], g @ w, atol=1e-3)
    # a normal law's block is init's own sampler on that block's stream: same bits
    from initlab.experiments.activations import stream
    assert np.array_equal(w[:1048], init((1048, 1000), stream(7, 2, 2, 0), dtype=np.float32))


# ----------------------------------------------------------------------------- output
def test_json_keys_exact_and_round_trip(tmp_path):
    result = run_activations(["he", "normal(0.01)"], ["tanh"], depth=2, width=20, batch=5)
    d = result.to_dict()
    assert list(d) == ["runs"] and len(d["runs"]) == 2
    for run in d["runs"]:
        assert list(run) == ["init", "activation", "layers", "verdict", "lsuv"]
        assert run["lsuv"] is None  # only an lsuv init fills it
        assert [list(layer) for layer in run["layers"]] == [LAYER_KEYS] * 2
        assert [layer["index"] for layer in run["layers"]] == [1, 2]
    json.dumps(d, allow_nan=False)
    back = ActivationsResult.load(result.save(tmp_path / "r.json"))
    assert back.to_dict(detail=True) == result.to_dict(detail=True)
    assert back.runs[0].layers[0].counts == list(result.runs[0].layers[0].counts)
    no_grad = run_activations("he", "tanh", depth=2, width=20, batch=5, grad=False).to_dict()
    layer = no_grad["runs"][0]["layers"][0]
    assert [layer[k] for k in LAYER_KEYS[6:9]] == [None, None, None]


def test_figures_draw_from_a_loaded_result(tmp_path):
    from initlab.plots.activations import figures

    result = run_activations(["he", "zeros"], ["relu", "sigmoid"], depth=3, width=30, batch=20,
                             seeds=2)
    figs = figures(ActivationsResult.load(result.save(tmp_path / "r.json")))
    assert list(figs) == ["histograms_relu", "histograms_sigmoid", "std_vs_depth"]
    grid = figs["histograms_relu"].axes  # 2 inits x 3 layers of panels, drawn in one Axes
    texts = [t.get_text() for t in grid[0].texts]
    assert len(grid) == 1
    assert [t for t in texts if t.endswith("-layer")] == ["1-layer", "2-layer", "3-layer"]
    assert [t for t in texts if t in ("he", "zeros")] == ["he", "zeros"]
    assert len(figs["std_vs_depth"].axes) == 2 * 3
    figs["std_vs_depth"].savefig(io.BytesIO(), format="png", dpi=40)
    no_grad = run_activations("he", "tanh", depth=2, width=10, batch=4, grad=False)
    assert len(figures(no_grad)["std_vs_depth"].axes) == 1


def test_presets():
    assert preset("saito")["init"][-1] == "constant(5)" and preset("cs231n")["width"] == 4096
    p = preset("saito")
    p["init"].append("he")
    assert "he" not in preset("saito")["init"][4:]  # a fresh copy every time
    with pytest.raises(InitlabError, match="unknown preset 'nope'; valid: cs231n, saito"):
        preset("nope")


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, message", [
    ({"depth": 0}, "'depth' must be >= 1, got 0"),
    ({"width": -3}, "'width' must be >= 1, got -3"),
    ({"activations": "tanh,nope"}, "unknown activation 'nope'"),
    ({"inits": "he,bogus(1)"}, "unknown initializer 'bogus'"),
    ({"inits": []}, "'init' needs at least one value"),
    ({"sizes": [10], "depth": None, "width": None}, "at least one layer"),
    ({"sizes": [10, 4]}, "give either --sizes or --depth/--width, not both"),
    ({"batch": 0}, "'batch' must be >= 1, got 0"),
    ({"seeds": 0}, "'seeds' must be >= 1, got 0"),
    ({"seed": -1}, "'seed' must be an integer in [0, 4294967295], got -1"),
    ({"seed": 2**32 - 1, "seeds": 2}, "pass the largest seed"),
    ({"dtype": "float16"}, "'dtype' must be one of float32, float64"),
    ({"bias": -0.1}, "'bias' must be in [0, inf), got -0.1"),
    ({"bins": 0}, "'bins' must be >= 1, got 0"),
    ({"hist_range": (1, -1)}, "lo < hi"),
    ({"hist_range": (1,)}, "expected LO,HI (two numbers)"),
    ({"grad": "no"}, "grad must be true or false, got 'no'"),
    ({"no_such": 1}, "unknown key 'no_such' in run_activations; valid keys: activation, batch"),
])
def test_bad_input(kwargs, message):
    args = {"inits": "he", "activations": "tanh", "depth": 2, "width": 8, "batch": 4, **kwargs}
    with pytest.raises(InitlabError, match=re.escape(message)):
        run_activations(**args)


def test_a_width_too_large_is_refused_up_front_with_an_estimate():
    estimate = r"need about [\d,.]+ GiB of memory, but only [\d,.]+ GiB is available"
    with pytest.raises(InitlabError, match=estimate):
        run_activations("he", "relu", depth=2, width=10**10, batch=16)
    with pytest.raises(InitlabError, match="of memory"):  # orthogonal is drawn whole
        run_activations("orthogonal", "relu", depth=2, width=400_000, batch=1)
    assert estimate_memory([4096] * 11, 16, grad=False) < 3 * 4096 * 4096 * 4


def test_gradient_histograms_count_every_gradient_in_range():
    from initlab.experiments.activations import GRAD_EDGES

    r = run_activations(["he", "normal(0.01)"], "relu", depth=4, width=32, batch=8, seeds=2)
    he, small = r.run("he", "relu"), r.run("normal(0.01)", "relu")
    top = np.concatenate([draw_top_gradient((8, 32), s) for s in (0, 1)])
    expected = np.histogram(top, len(GRAD_EDGES) - 1, (GRAD_EDGES[0], GRAD_EDGES[-1]))[0]
    np.testing.assert_array_equal(he.layers[-1].grad_counts, expected)
    # std 0.01 shrinks the gradient 100x per layer going down: layer 1 sits in the middle bins
    counts = np.asarray(small.layers[0].grad_counts)
    assert counts.sum() == 2 * 8 * 32 and counts[19:21].sum() == counts.sum()
    no_grad = run_activations("he", "relu", depth=2, width=8, batch=4, grad=False)
    assert no_grad.runs[0].layers[0].grad_counts is None
def test_constant_weights_give_an_exact_zero_weight_gradient_spread():
    """With constant weights every entry of dL/dW_l (0 < l < L) is one number; rounding noise
    must not be reported as a spread (it once showed as stds of 1 to 1400)."""
    r = run_activations("constant(5)", "relu", depth=4, width=16, batch=8)
    spread = [s.weight_grad_std for s in r.runs[0].layers]
    assert spread[1] == spread[2] == 0.0
    assert spread[0] > 0 and spread[3] > 0  # the input and the top gradient vary


def test_a_config_or_keywords_and_the_defaults_live_in_the_config():
    from initlab.experiments.activations import ActivationsConfig

    c = ActivationsConfig.from_dict({"init": "he", "activation": ["relu"], "depth": 2,
                                     "width": 8, "batch": 4, "no_grad": True})
    by_keywords = run_activations("he", "relu", depth=2, width=8, batch=4, grad=False)
    assert run_activations(config=c).to_dict(detail=True) == by_keywords.to_dict(detail=True)
    with pytest.raises(InitlabError, match="a config or keyword options, not both"):
        run_activations("he", config=c)
    default = ActivationsConfig()
    assert (default.init, default.activation) == (("normal(0.01)", "lecun", "he"),
                                                  ("tanh", "relu"))
    assert default.layer_sizes == [4096] * 11 and default.batch == 16
    sized = ActivationsConfig.from_dict({"sizes": [30, 20]}, preset="saito")
    assert (sized.depth, sized.width, sized.layer_sizes) == (None, None, [30, 20])
