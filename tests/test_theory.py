"""Variance-propagation theory: quadrature, one-step maps, weight moments, whole-net predictions."""

import doctest
import math

import numpy as np
import pytest
from scipy import integrate, stats

from initlab.init import get_initializer
from initlab.nn.activations import get_activation
from initlab.theory import (
    NONE,
    chi,
    gaussian,
    gaussian_expectation,
    gaussian_moments,
    jacobian,
    law_moments,
    meanfield,
    predict,
    variance,
    variance_map,
)


def quad(fn, q):
    """E[fn(sqrt(q) z)] by adaptive quadrature, split at the kink at 0."""
    def f(z):
        return fn(np.array(math.sqrt(q) * z)) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    return sum(integrate.quad(f, a, b, limit=200)[0] for a, b in ((-14, 0), (0, 14)))


def test_doctests():
    for module in (gaussian, meanfield, variance, jacobian):
        assert doctest.testmod(module).failed == 0


@pytest.mark.parametrize("q", [1e-4, 0.3, 1.0, 7.5, 400.0])
def test_gaussian_expectation_exact_moments(q):
    assert gaussian_expectation(lambda x: np.ones_like(x), q) == pytest.approx(1, abs=1e-13)
    assert gaussian_expectation(lambda x: x**2, q) == pytest.approx(q, rel=1e-12)
    assert gaussian_expectation(lambda x: x**4, q) == pytest.approx(3 * q * q, rel=1e-12)
    # ReLU and its derivative: a kink and a step at 0, exact thanks to the split at 0
    assert gaussian_expectation(lambda x: np.maximum(x, 0) ** 2, q) == pytest.approx(q / 2)
    assert gaussian_expectation(lambda x: (x > 0).astype(float), q) == pytest.approx(0.5)


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "elu", "gelu", "softplus", "selu",
                                  "leaky_relu(0.2)"])
@pytest.mark.parametrize("q", [0.05, 1.0, 30.0])
def test_moments_match_adaptive_quadrature(name, q):
    act = get_activation(name)
    mean, var = gaussian_moments(act.fn, q)
    assert mean == pytest.approx(quad(act.fn, q), rel=1e-8, abs=1e-12)
    assert var == pytest.approx(quad(lambda x: act.fn(x) ** 2, q) - mean**2, rel=1e-7)
    d2 = quad(lambda x: act.grad(x, act.fn(x)) ** 2, q)
    assert chi(act, q, 1.7) == pytest.approx(1.7 * d2, rel=1e-8)


def test_one_step_maps():
    relu, tanh, linear = (get_activation(n) for n in ("relu", "tanh", "identity"))
    assert variance_map(relu, 3.0, 2.0) == pytest.approx(3.0)  # He keeps q
    assert chi(relu, 3.0, 2.0) == pytest.approx(1.0)  # and the gradient's scale
    assert variance_map(linear, 2.0, 0.5, 0.1) == pytest.approx(1.1)
    assert chi(tanh, 1e-10, 1.3) == pytest.approx(1.3)  # tanh is linear near 0
    assert variance_map(tanh, 1e-10, 1.0) == pytest.approx(1e-10, rel=1e-6)
    # constant output: variance exactly zero, not rounding noise
    assert gaussian_moments(lambda x: np.full_like(x, 0.5), 2.0) == (0.5, 0.0)


@pytest.mark.parametrize("spec, shape", [
    ("normal(0.3, mean=0.1)", (50, 40)), ("xavier_uniform", (60, 30)),
    ("trunc_normal(1.0, a=-0.5, b=2.0)", (300, 200)), ("variance_scaling(2.0)", (300, 200)),
    ("orthogonal(gain=1.5)", (80, 200)), ("orthogonal", (200, 80)),
    ("sparse(0.3, std=0.5)", (100, 60)), ("constant(2.5)", (5, 5)), ("zeros", (3, 3)),
])
def test_law_moments_match_samples(spec, shape):
    init = get_initializer(spec)
    mean, var = law_moments(init.law(shape), shape)
    w = np.concatenate([init(shape, s).ravel() for s in range(12)])
    assert w.mean() == pytest.approx(mean, abs=4 * math.sqrt(var / w.size) + 1e-12)
    assert w.var() == pytest.approx(var, rel=0.03, abs=1e-12)


def test_law_moments_truncated_and_identity():
    law = get_initializer("trunc_normal(2.0, mean=0.5, a=-1.0, b=3.0)").law((4, 4))
    ref = stats.truncnorm((-1.0 - 0.5) / 2, (3.0 - 0.5) / 2, loc=0.5, scale=2.0)
    assert law_moments(law, (4, 4)) == pytest.approx((ref.mean(), ref.var()), rel=1e-12)
    # Keras' truncated He: the truncation constant makes the true std exactly sqrt(2 / n)
    law = get_initializer("variance_scaling(2.0)").law((10, 50))
    assert law_moments(law, (10, 50))[1] == pytest.approx(2 / 50, rel=1e-7)
    assert law_moments(get_initializer("eye").law((4, 4)), (4, 4)) is None


def test_linear_net_prediction_is_exact():
    """For phi(x) = x every recursion is an identity of variances, layer sizes differing."""
    sizes, v = [30, 20, 50, 10], [0.2, 0.05, 0.3]
    p = predict(get_activation("identity"), [(0.0, x) for x in v], sizes, (0.0, 2.0),
                bias_var=0.1, batch=7, grad_var=3.0)
    q = [30 * 0.2 * 2.0 + 0.1]
    q += [20 * 0.05 * q[0] + 0.1]
    q += [50 * 0.3 * q[1] + 0.1]
    assert p.pre_std == pytest.approx(np.sqrt(q)) and p.std == pytest.approx(np.sqrt(q))
    g = [3.0]
    g.insert(0, 10 * 0.3 * g[0])
    g.insert(0, 50 * 0.05 * g[0])
    assert p.grad_std == pytest.approx(np.sqrt(g))
    below = [2.0, q[0], q[1]]
    assert p.weight_grad_std == pytest.approx(np.sqrt([7 * g[i] * below[i] for i in range(3)]))
    assert p.mean == pytest.approx(0, abs=1e-12)


def test_relu_he_is_a_fixed_point_and_lecun_halves():
    relu = get_activation("relu")
    he = predict(relu, [(0.0, 2 / 100)] * 8, [100] * 9)
    lecun = predict(relu, [(0.0, 1 / 100)] * 8, [100] * 9)
    assert he.pre_std == pytest.approx(np.full(8, 2**0.5))  # q_1 = 2 E[x^2], then kept
    assert he.grad_std == pytest.approx(np.ones(8))
    assert lecun.pre_std[1:] / lecun.pre_std[:-1] == pytest.approx(np.full(7, 0.5**0.5))
    # std of relu(N(0, 2)): sqrt(2) sqrt(1/2 - 1/(2 pi))
    assert he.std == pytest.approx(np.full(8, math.sqrt(1 - 1 / math.pi)))


def test_constant_weights_follow_the_exact_map():
    """ones with ReLU: every unit equals n^(l-1) relu(S), S ~ N(0, n0) the input's sum."""
    n = 100
    p = predict(get_activation("relu"), [(1.0, 0.0)] * 4, [n] * 5, batch=10)
    relu_std = math.sqrt(0.5 - 0.5 / math.pi)
    assert p.std == pytest.approx([math.sqrt(n) * relu_std * n**k for k in range(4)], rel=1e-9)
    # the top gradient's units are independent (variance n per unit below), then all equal
    assert p.grad_std[-1] == pytest.approx(1.0)
    assert p.grad_std[-2] == pytest.approx(math.sqrt(n * 0.5))
    # every a_l has the sign of the input's sum, so the ReLU gates open together: no 1/2 more
    assert p.grad_std[-3] == pytest.approx(math.sqrt(n * 0.5) * n)
    assert p.weight_grad_std[1] == 0.0 and p.weight_grad_std[2] == 0.0
    zeros = predict(get_activation("sigmoid"), [(0.0, 0.0)] * 3, [10] * 4)
    assert list(zeros.std) == [0.0, 0.0, 0.0] and list(zeros.mean) == [0.5, 0.5, 0.5]


def test_uncovered_cases_give_none():
    relu = get_activation("relu")
    assert predict(relu, [(0.1, 0.01)] * 2, [5, 5, 5]) is NONE  # both a mean and a spread
    assert predict(relu, [(1.0, 0.0)] * 2, [5, 5, 5], bias_var=0.1) is NONE
    assert predict(relu, [None, (0.0, 0.1)], [5, 5, 5]) is NONE
    assert predict(relu, [(0.0, 0.1)], [5, 5, 5]) is NONE  # sizes do not match


@pytest.mark.parametrize("norm", [None, "batch", "layer"])
def test_predictions_for_every_top_equal_one_net_at_a_time(norm):
    """predict_tops / predict_normalized_tops run the forward recursion once for the deepest
    net: each top's prediction is bit for bit what the net of that depth alone gets."""
    from initlab.nn.activations import get_activation
    from initlab.theory import predict, predict_normalized, predict_normalized_tops, predict_tops

    act, sizes = get_activation("tanh"), [8, 16, 12, 20, 9, 14]
    for weights in ([(0.0, 1 / n) for n in sizes[:-1]], [(0.05, 0.0)] * 5,
                    [(0.0, 0.1)] * 2 + [None] * 3):
        tops = [5, 1, 3, 2]
        if norm is None:
            got = predict_tops(act, weights, sizes, tops, (0.0, 1.0), 0.1, 4, 2.0)
            want = [predict(act, weights[:d], sizes[:d + 1], (0.0, 1.0), 0.1, 4, 2.0)
                    for d in tops]
        else:
            got = predict_normalized_tops(act, weights, sizes, norm, tops, (0.0, 1.0), 0.1, 4)
            want = [predict_normalized(act, weights[:d], sizes[:d + 1], norm, (0.0, 1.0), 0.1,
                                       4) for d in tops]
        for g, w in zip(got, want, strict=True):
            for field in ("pre_std", "mean", "std", "grad_std", "weight_grad_std"):
                a, b = getattr(g, field), getattr(w, field)
                assert (a is None) == (b is None)
                if a is not None:
                    np.testing.assert_array_equal(a, b)
