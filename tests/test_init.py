"""Initializers: exact formulas, statistics of large samples, published values, PyTorch."""

import math

import numpy as np
import pytest

from initlab.errors import InitlabError
from initlab.init import (
    INITIALIZERS,
    calculate_gain,
    catalogue,
    describe,
    fans,
    get_initializer,
)

SHAPES = [(30, 20), (64, 32, 3, 3)]


def draw(spec, shape, seed=0, **kw):
    return get_initializer(spec)(shape, np.random.default_rng(seed), **kw)


# ----------------------------------------------------------------------------- fans and gains
@pytest.mark.parametrize(
    "shape, expected",
    [((30, 20), (20, 30)), ((64, 32, 3, 3), (288, 576)), ((8, 4, 5), (20, 40)),
     ((2, 3, 2, 2, 2), (24, 16))],
)
def test_fans_follow_pytorch_layout(shape, expected):
    assert fans(shape) == expected


@pytest.mark.parametrize(
    "name, param, expected",
    [("linear", None, 1.0), ("conv2d", None, 1.0), ("sigmoid", None, 1.0),
     ("tanh", None, 5 / 3), ("relu", None, math.sqrt(2)),
     ("leaky_relu", None, math.sqrt(2 / (1 + 0.01**2))),
     ("leaky_relu", 0.2, math.sqrt(2 / 1.04)), ("selu", None, 0.75)],
)
def test_calculate_gain_matches_pytorch_table(name, param, expected):
    assert calculate_gain(name, param) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("name", ["elu", "gelu", "softplus"])
def test_extra_gains_preserve_the_second_moment(name):
    from initlab.nn.activations import get_activation

    z = np.random.default_rng(0).standard_normal(2_000_000)
    gain = calculate_gain(name)
    # gain^2 * E[phi(z)^2] = 1 for z ~ N(0, 1)
    assert gain**2 * np.mean(get_activation(name)(z) ** 2) == pytest.approx(1.0, rel=5e-3)


# ----------------------------------------------------------------------------- exact formulas
def expected_std_bound(spec, shape):
    """The published formulas, written out independently of initlab's code."""
    fan_in, fan_out = fans(shape)
    r3 = math.sqrt(3)
    table = {
        "xavier_uniform": (math.sqrt(2 / (fan_in + fan_out)),
                           r3 * math.sqrt(2 / (fan_in + fan_out))),
        "xavier_normal(gain=2)": (2 * math.sqrt(2 / (fan_in + fan_out)), None),
        "xavier": (math.sqrt(2 / (fan_in + fan_out)), None),
        "glorot": (math.sqrt(2 / (fan_in + fan_out)), None),
        # PyTorch's default a=0 with leaky_relu gives gain sqrt(2 / (1 + 0^2)) = sqrt(2)
        "kaiming_uniform": (math.sqrt(2) / math.sqrt(fan_in), math.sqrt(6 / fan_in)),
        "kaiming_uniform(a=2.23606797749979)": (math.sqrt(2 / 6) / math.sqrt(fan_in),
                                               1 / math.sqrt(fan_in)),
        "kaiming_normal(mode=fan_out, nonlinearity=relu)": (math.sqrt(2 / fan_out), None),
        "kaiming_normal(nonlinearity=tanh)": (5 / 3 / math.sqrt(fan_in), None),
        "he": (math.sqrt(2 / fan_in), None),
        "lecun": (math.sqrt(1 / fan_in), None),
        "lecun_uniform": (math.sqrt(1 / fan_in), math.sqrt(3 / fan_in)),
        "variance_scaling(2, fan_in, uniform)": (math.sqrt(2 / fan_in), math.sqrt(6 / fan_in)),
        "variance_scaling(1, fan_avg, untruncated_normal)": (
            math.sqrt(2 / (fan_in + fan_out)), None),
        # the truncated normal's sigma is sqrt(1 / fan_out) / 0.8796: what it draws has std
        # sqrt(1 / fan_out), and that is the std described
        "variance_scaling(scale=1, mode=fan_out)": (math.sqrt(1 / fan_out), None),
        "normal(0.01)": (0.01, None),
        "uniform(-1, 1)": (2 / math.sqrt(12), 1.0),
    }
    return table[spec]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "spec",
    ["xavier_uniform", "xavier_normal(gain=2)", "xavier", "glorot", "kaiming_uniform",
     "kaiming_uniform(a=2.23606797749979)", "kaiming_normal(mode=fan_out, nonlinearity=relu)",
     "kaiming_normal(nonlinearity=tanh)", "he", "lecun", "lecun_uniform",
     "variance_scaling(2, fan_in, uniform)", "variance_scaling(1, fan_avg, untruncated_normal)",
     "variance_scaling(scale=1, mode=fan_out)", "normal(0.01)", "uniform(-1, 1)"],
)
def test_formula_std_and_bound(spec, shape):
    info = describe(spec, shape)
    std, bound = expected_std_bound(spec, shape)
    assert info["std"] == pytest.approx(std, rel=1e-12)
    if bound is None:
        assert info["bound"] is None
    else:
        assert info["bound"] == pytest.approx(bound, rel=1e-12)
    assert (info["fan_in"], info["fan_out"]) == fans(shape)


# ----------------------------------------------------------------------------- statistics
@pytest.mark.parametrize("shape", [(400, 300), (64, 32, 5, 5)])
@pytest.mark.parametrize(
    "spec",
    ["xavier_uniform", "xavier_normal", "kaiming_uniform(nonlinearity=relu)",
     "kaiming_normal(mode=fan_out)", "he", "lecun", "lecun_uniform", "normal(0.5, mean=2)",
     "uniform(-3, 1)", "variance_scaling(2, fan_in, uniform)",
     "variance_scaling(2, fan_in, untruncated_normal)"],
)
def test_samples_have_the_formula_mean_and_std(spec, shape):
    w = draw(spec, shape)
    law = get_initializer(spec).law(shape)
    assert w.shape == shape and w.dtype == np.float64
    assert w.std() == pytest.approx(law.std, rel=0.02)
    assert w.mean() == pytest.approx(law.mean, abs=4 * law.std / math.sqrt(w.size))
    if law.bound is not None:
        assert law.low <= w.min() and w.max() <= law.high
        assert w.min() < law.low + 0.01 * law.bound and w.max() > law.high - 0.01 * law.bound


def test_keras_truncated_variance_scaling_has_the_target_std_and_cuts_at_two_std():
    w = draw("variance_scaling(2.0, fan_in)", (500, 400))
    target = math.sqrt(2 / 400)
    assert w.std() == pytest.approx(target, rel=0.01)
    assert np.abs(w).max() <= 2 * target / 0.87962566103423978


def test_trunc_normal_uses_absolute_bounds_without_variance_correction():
    w = draw("trunc_normal(std=1, mean=0.5, a=0, b=1)", (300, 300))
    assert w.min() >= 0 and w.max() <= 1
    # N(0.5, 1) cut to [0, 1] is nearly uniform: std close to 1/sqrt(12), mean 0.5
    assert w.std() == pytest.approx(0.2872, rel=0.02)
    assert w.mean() == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("shape, gain", [((50, 80), 1.0), ((80, 50), 2.0), ((16, 8, 3, 3), 0.5)])
def test_orthogonal_rows_or_columns_are_orthonormal_times_gain(shape, gain):
    w = draw(f"orthogonal(gain={gain})", shape).reshape(shape[0], -1)
    small = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    np.testing.assert_allclose(small, gain**2 * np.eye(small.shape[0]), atol=1e-12)


@pytest.mark.parametrize("shape", [(20, 20), (30, 12), (12, 30)])
def test_orthogonal_is_q_times_the_signs_of_diag_r_from_the_same_draw(shape):
    # Saxe et al. (2014) / torch.nn.init.orthogonal_: QR of the Gaussian draw (transposed when
    # wide), then Q * sign(diag R); without the sign fix Q is not Haar-distributed.
    rows, cols = shape
    g = np.random.default_rng(0).standard_normal(shape)
    q, r = np.linalg.qr(g.T if rows < cols else g)
    expected = q * np.sign(np.diag(r))
    expected = expected.T if rows < cols else expected
    np.testing.assert_allclose(draw("orthogonal(gain=1.5)", shape), 1.5 * expected, atol=1e-12)
    assert not np.allclose(np.sign(np.diag(r)), 1)  # this draw has signs to fix


def test_sparse_zeroes_the_fraction_per_column():
    w = draw("sparse(sparsity=0.3, std=0.5)", (40, 25))
    zeros_per_column = (w == 0).sum(axis=0)
    assert np.all(zeros_per_column == math.ceil(0.3 * 40))
    assert w[w != 0].std() == pytest.approx(0.5, rel=0.1)


def test_eye_dirac_constants():
    np.testing.assert_array_equal(draw("eye", (3, 5)), np.eye(3, 5))
    np.testing.assert_array_equal(draw("identity", (4, 2)), np.eye(4, 2))
    d = draw("dirac(groups=2)", (4, 2, 3, 3))
    assert d.sum() == 4 and d[0, 0, 1, 1] == d[1, 1, 1, 1] == d[2, 0, 1, 1] == d[3, 1, 1, 1] == 1
    assert np.all(draw("constant(5)", (3, 2)) == 5)
    assert np.all(draw("zeros", (3,)) == 0) and np.all(draw("ones", (2, 2)) == 1)


def test_float32_draws_and_same_seed_same_bits():
    w32 = draw("he", (100, 50), dtype=np.float32)
    assert w32.dtype == np.float32
    np.testing.assert_array_equal(draw("he", (100, 50), seed=7), draw("he", (100, 50), seed=7))
    assert not np.array_equal(draw("he", (100, 50), seed=7), draw("he", (100, 50), seed=8))


# ----------------------------------------------------------------------------- published values
def test_course_random_init_seed_3_exact():
    rs = np.random.RandomState(3)
    w1 = get_initializer("normal(10)")((2, 3), rs)
    w2 = get_initializer("normal(10)")((1, 2), rs)
    np.testing.assert_allclose(
        w1, [[17.88628473, 4.36509851, 0.96497468], [-18.63492703, -2.77388203, -3.54758979]],
        atol=5e-9)
    np.testing.assert_allclose(w2, [[-0.82741481, -6.27000677]], atol=5e-9)


def test_course_he_init_seed_3_exact_and_bitwise_randn():
    rs = np.random.RandomState(3)
    w1 = get_initializer("he")((4, 2), rs)
    w2 = get_initializer("he")((1, 4), rs)
    np.testing.assert_allclose(
        w1, [[1.78862847, 0.43650985], [0.09649747, -1.8634927], [-0.2773882, -0.35475898],
             [-0.08274148, -0.62700068]], atol=5e-9)
    np.testing.assert_allclose(w2, [[-0.03098412, -0.33744411, -0.92904268, 0.62552248]],
                               atol=5e-9)
    legacy = np.random.RandomState(3)
    np.testing.assert_array_equal(w1, legacy.randn(4, 2) * np.sqrt(2.0 / 2))
    np.testing.assert_array_equal(w2, legacy.randn(1, 4) * np.sqrt(2.0 / 4))


# ----------------------------------------------------------------------------- catalogue
def test_every_initializer_is_listed_with_a_formula():
    rows = {r["name"]: r for r in catalogue()}
    assert set(rows) == set(INITIALIZERS)
    assert rows["lecun"]["alias_of"] == "lecun_normal"
    assert rows["xavier"]["alias_of"] == "xavier_normal"
    assert "sqrt(1 / fan_in)" in rows["lecun_normal"]["formula"]
    assert all(r["formula"] for r in rows.values())


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "spec, shape, message",
    [("foo", (3, 3), "unknown initializer 'foo'; valid: constant"),
     ("normal(x=1)", (3, 3), "valid parameters: std, mean"),
     ("kaiming_normal(mode=bad)", (3, 3), "unknown mode 'bad'; valid: fan_avg, fan_in, fan_out"),
     ("kaiming_normal(nonlinearity=swish)", (3, 3), "unknown nonlinearity 'swish'"),
     ("variance_scaling(distribution=normalish)", (3, 3), "unknown distribution 'normalish'"),
     ("normal(-1)", (3, 3), "std must be a number in [0.0, inf], got -1"),
     ("normal(1", (3, 3), "malformed spec 'normal(1'"),
     ("uniform(2, 1)", (3, 3), "a <= b"),
     ("sparse(1.5)", (3, 3), "sparsity must be a number in [0.0, 1.0], got 1.5"),
     ("he", (5,), "at least 2 dimensions"),
     ("xavier_uniform", (3, -2), "every size must be an int >= 0"),
     ("eye", (2, 2, 2), "eye needs a 2-D shape"),
     ("dirac(groups=3)", (4, 2, 3), "not divisible by groups=3"),
     ("normal(std=fast)", (3, 3), "std must be a number in [0.0, inf], got 'fast'")],
)
def test_bad_input_gives_one_clear_error(spec, shape, message):
    with pytest.raises(InitlabError) as info:
        get_initializer(spec)(shape, np.random.default_rng(0))
    assert message in str(info.value)


def test_rng_must_be_explicit():
    with pytest.raises(InitlabError, match="rng must be"):
        get_initializer("he")((3, 3), None)


# ----------------------------------------------------------------------------- PyTorch
TORCH_CASES = [
    ("xavier_uniform", "xavier_uniform_", {}),
    ("xavier_normal(gain=3)", "xavier_normal_", {"gain": 3.0}),
    ("kaiming_uniform(a=2.23606797749979)", "kaiming_uniform_", {"a": math.sqrt(5)}),
    ("kaiming_normal(mode=fan_out, nonlinearity=relu)", "kaiming_normal_",
     {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_uniform(a=0.2, nonlinearity=leaky_relu)", "kaiming_uniform_",
     {"a": 0.2, "nonlinearity": "leaky_relu"}),
    ("normal(0.3, mean=1)", "normal_", {"mean": 1.0, "std": 0.3}),
    ("uniform(-2, 3)", "uniform_", {"a": -2.0, "b": 3.0}),
    ("trunc_normal(std=1, a=-0.5, b=1)", "trunc_normal_", {"std": 1.0, "a": -0.5, "b": 1.0}),
]


@pytest.mark.parametrize("shape", [(200, 150), (64, 32, 3, 3)])
@pytest.mark.parametrize("spec, torch_name, kwargs", TORCH_CASES)
def test_same_distribution_as_torch(spec, torch_name, kwargs, shape):
    torch = pytest.importorskip("torch")
    t = torch.empty(shape, dtype=torch.float64)
    torch.manual_seed(0)
    getattr(torch.nn.init, torch_name)(t, **kwargs)
    ours = draw(spec, shape)
    theirs = t.numpy()
    assert ours.std() == pytest.approx(theirs.std(), rel=0.03)
    assert ours.mean() == pytest.approx(theirs.mean(), abs=0.03 * max(theirs.std(), 1e-3))
    assert ours.min() >= theirs.min() - 0.05 * theirs.std() or torch_name in ("normal_",
                                                                              "xavier_normal_",
                                                                              "kaiming_normal_")


@pytest.mark.parametrize("shape", [(200, 150), (64, 32, 3, 3), (8, 4, 5)])
def test_fans_and_gains_equal_torch(shape):
    torch = pytest.importorskip("torch")
    t = torch.empty(shape)
    assert fans(shape) == torch.nn.init._calculate_fan_in_and_fan_out(t)
    for name, param in [("relu", None), ("tanh", None), ("leaky_relu", 0.3), ("selu", None),
                        ("sigmoid", None), ("conv2d", None)]:
        assert calculate_gain(name, param) == pytest.approx(
            torch.nn.init.calculate_gain(name, param), rel=1e-15)


def test_orthogonal_and_sparse_match_torch_structure():
    torch = pytest.importorskip("torch")
    t = torch.empty(30, 50, dtype=torch.float64)
    torch.nn.init.orthogonal_(t, gain=1.5)
    ours = draw("orthogonal(1.5)", (30, 50))
    np.testing.assert_allclose(ours @ ours.T, t.numpy() @ t.numpy().T, atol=1e-10)
    s = torch.empty(40, 25)
    torch.nn.init.sparse_(s, sparsity=0.3)
    np.testing.assert_array_equal((draw("sparse(0.3)", (40, 25)) == 0).sum(0),
                                  (s.numpy() == 0).sum(0))
