"""Names and arguments as torch spells them: get(), torch/Keras argument names, positionals,
case, zero-size shapes, kaiming's ``a``, torch_default's bias, the layering of init/."""

import ast
import math
import pathlib
import warnings

import numpy as np
import pytest

from initlab.errors import InitlabError
from initlab.init import calculate_gain, catalogue, describe, get, get_initializer
from initlab.nn import mlp


def draw(spec, shape, seed=0):
    return get_initializer(spec)(shape, np.random.default_rng(seed))


def test_get_is_the_spec_string_without_the_string():
    init = get("kaiming_uniform", mode="fan_out", a=0.2)
    assert init.spec == "kaiming_uniform(mode=fan_out, a=0.2)"
    assert init.params == {"a": 0.2, "mode": "fan_out"}
    np.testing.assert_array_equal(init((8, 5), np.random.default_rng(0)),
                                  draw("kaiming_uniform(mode=fan_out, a=0.2)", (8, 5)))
    assert get_initializer(init.spec).params == init.params
    assert get("normal", 0.5).spec == "normal(0.5)"
    with pytest.raises(InitlabError, match="unknown initializer 'kaiming_sideways'"):
        get("kaiming_sideways")
    with pytest.raises(InitlabError, match="valid parameters: a, mode, nonlinearity"):
        get("kaiming_uniform", slope=0.2)


@pytest.mark.parametrize("torch_spec, ours", [
    ("constant(val=0.3)", "constant(0.3)"),
    ("normal(mean=1, std=0.5)", "normal(std=0.5, mean=1)"),
    ("uniform(a=-2, b=1)", "uniform(-2, 1)"),
    ("trunc_normal(mean=0, std=1, a=-1, b=1)", "trunc_normal(1, a=-1, b=1)"),
    ("normal(stddev=0.5)", "normal(0.5)"),            # Keras' RandomNormal
    ("uniform(minval=-1, maxval=2)", "uniform(-1, 2)"),  # Keras' RandomUniform
    ("kaiming_normal(mode=FAN_OUT, nonlinearity=ReLU)", "kaiming_normal(mode=fan_out, "
                                                         "nonlinearity=relu)"),
    ("variance_scaling(mode=FAN_AVG, distribution=Uniform)", "variance_scaling(mode=fan_avg, "
                                                              "distribution=uniform)"),
])
def test_torch_and_keras_argument_names_and_case(torch_spec, ours):
    np.testing.assert_array_equal(draw(torch_spec, (6, 7)), draw(ours, (6, 7)))


def test_constant_val_as_a_function_argument_too():
    from initlab.init.schemes import constant

    assert constant((2, 2), None, val=4.0).tolist() == [[4.0, 4.0], [4.0, 4.0]]


@pytest.mark.parametrize("spec", ["normal(0, 0.02)", "trunc_normal(0.02, 0, -1, 1)"])
def test_two_positionals_are_refused_with_the_keyword_form(spec):
    with pytest.raises(InitlabError, match=r"e\.g\. (normal|trunc_normal)\(mean=0, std=0.02\)"):
        get_initializer(spec)
    from initlab.init import schemes

    with pytest.raises(InitlabError, match="at most one positional"):
        schemes.normal((3, 3), 0, 0.0, 0.02)


def test_one_positional_stays_the_std():
    assert get_initializer("normal(10)").law((3, 3)).std == 10
    assert get_initializer("trunc_normal(0.02)").law((3, 3)).std == 0.02


@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (0, 3, 3, 3)])
@pytest.mark.parametrize("spec", ["kaiming_uniform", "xavier_normal", "normal(2)", "orthogonal"])
def test_zero_element_shapes_warn_and_return_empty(spec, shape):
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        w = draw(spec, shape)
    assert w.shape == shape and w.size == 0


def test_negative_sizes_are_still_an_error():
    with pytest.raises(InitlabError, match="every size must be an int >= 0"):
        draw("he", (3, -1))


def test_zero_element_describe_has_no_std():
    info = describe("he", (0, 4))
    assert info["fan_in"] == 4 and info["std"] is None


@pytest.mark.parametrize("nonlinearity, param", [("elu", 1.0), ("gelu", None),
                                                 ("softplus", None), ("selu", None),
                                                 ("relu", None), ("tanh", None)])
def test_kaiming_passes_a_to_leaky_relu_only(nonlinearity, param):
    # torch: a is leaky_relu's negative slope; for every other nonlinearity it is ignored
    law = get_initializer(f"kaiming_normal(a=0.5, nonlinearity={nonlinearity})").law((10, 25))
    assert law.gain == pytest.approx(calculate_gain(nonlinearity, param), rel=1e-14)
    leaky = get_initializer("kaiming_normal(a=0.5, nonlinearity=leaky_relu)").law((10, 25))
    assert leaky.gain == pytest.approx(math.sqrt(2 / 1.25), rel=1e-14)


def test_elu_gain_is_not_relus():
    assert calculate_gain("elu") == pytest.approx(1.2452, abs=1e-4)
    assert calculate_gain("ELU") == calculate_gain("elu")


def test_torch_default_draws_weight_and_bias_like_nn_linear():
    model = mlp([25, 40, 1], init="torch_default", seed=0)
    w, b = model.layers[0].weight.value, model.layers[0].bias.value
    bound = 1 / math.sqrt(25)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(b).max() > 0.8 * bound  # the bias is drawn, not left at zero
    assert describe("torch_default", (40, 25))["bias_bound"] == pytest.approx(bound)
    assert describe("torch_default", (40, 25))["bound"] == pytest.approx(bound)
    # weight first, then bias, from the replica's one stream (as nn.Linear.reset_parameters)
    rng = np.random.default_rng(np.random.SeedSequence(0).spawn(1)[0])
    np.testing.assert_allclose(w[0], rng.uniform(-bound, bound, (40, 25)), rtol=1e-12)
    np.testing.assert_allclose(b[0], rng.uniform(-bound, bound, 40), rtol=1e-12)


def test_torch_default_and_lsuv_are_listed():
    rows = {r["name"]: r for r in catalogue()}
    assert "1/sqrt(fan_in)" in rows["torch_default"]["formula"]
    assert "Var" in rows["lsuv"]["formula"]


@pytest.mark.parametrize("spec, message", [
    ("lsuv(nope)", "lsuv's base must be an initializer name, got 'nope'"),
    ("lsuv(lsuv)", "lsuv's base must be an initializer name"),
    ("lsuv(tol=0)", r"lsuv tol must be a number in \(0.0"),
    ("lsuv(max_tries=0)", "lsuv max_tries must be a positive integer"),
])
def test_bad_lsuv_specs(spec, message):
    with pytest.raises(InitlabError, match=message):
        get_initializer(spec)


def test_init_imports_nothing_above_it():
    root = pathlib.Path(__file__).parents[2] / "src" / "initlab" / "init"
    allowed = {"initlab.errors", "initlab.rng", "initlab.spec"}
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module.startswith("initlab"):
                assert node.module.startswith("initlab.init") or node.module in allowed, (
                    f"{path.name} imports {node.module}")


def test_no_warning_for_ordinary_shapes():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        draw("kaiming_uniform", (3, 3))
