"""Mean-field maps against closed forms and the known critical points."""

import math

import numpy as np
import pytest

from initlab.errors import InitlabError
from initlab.nn.activations import get_activation
from initlab.theory import (
    bivariate_expectation,
    c_star,
    check_activation,
    chi_1,
    correlation_map,
    critical_sigma_w2,
    iterate,
    length_map,
    mean_field,
    q_star,
)
from initlab.theory.jacobian import jacobian_mean_square

RELU, ERF, TANH, LIN = (get_activation(n) for n in ("relu", "erf", "tanh", "linear"))
QS = [0.01, 0.3, 1.0, 5.0, 50.0]
CS = [-1.0, -0.9999, -0.5, 0.0, 0.3, 0.9, 0.999, 0.99999, 1.0]


def arccos_kernel(q, c):
    """E[relu(u1) relu(u2)] for equal variances q (Cho & Saul 2009)."""
    t = math.acos(c)
    return q / (2 * math.pi) * (math.sin(t) + (math.pi - t) * c)


def arcsin_kernel(q, c):
    """E[erf(u1) erf(u2)] for equal variances q (Williams 1997)."""
    return 2 / math.pi * math.asin(2 * c * q / (1 + 2 * q))


@pytest.mark.parametrize("q", QS)
def test_pair_expectations_match_closed_forms(q):
    step = lambda x: RELU.grad(x, x)  # noqa: E731
    for c in CS:
        assert bivariate_expectation(RELU.fn, RELU.fn, q, q, c) == pytest.approx(
            arccos_kernel(q, c), abs=1e-8 * q)
        assert bivariate_expectation(ERF.fn, ERF.fn, q, q, c) == pytest.approx(
            arcsin_kernel(q, c), abs=1e-8)
        assert bivariate_expectation(step, step, q, q, c) == pytest.approx(
            (math.pi - math.acos(c)) / (2 * math.pi), abs=1e-8)
        assert bivariate_expectation(LIN.fn, LIN.fn, q, q, c) == pytest.approx(q * c, abs=1e-8)


def test_pair_expectation_vectorized_and_unequal_variances():
    q1, q2, c = np.array([0.5, 2.0]), np.array([1.5, 0.3]), np.array([0.2, -0.7])
    got = bivariate_expectation(LIN.fn, LIN.fn, q1, q2, c)
    np.testing.assert_allclose(got, c * np.sqrt(q1 * q2), atol=1e-10)


def test_length_map_and_fixed_points_closed_forms():
    # ReLU: q' = sigma_w^2 q / 2 + sigma_b^2 -> q* = sigma_b^2 / (1 - sigma_w^2 / 2)
    assert float(length_map(RELU, 3.0, 1.5, 0.2)) == pytest.approx(1.5 * 1.5 + 0.2, rel=1e-12)
    sw, sb = np.array([0.5, 1.0, 1.5]), np.array([0.1, 0.5, 0.02])
    np.testing.assert_allclose(q_star(RELU, sw, sb), sb / (1 - sw / 2), rtol=1e-10)
    assert float(q_star(RELU, 2.5, 0.1)) == math.inf  # the length explodes
    assert float(q_star(TANH, 0.5, 0.0)) == 0.0  # the signal dies
    # erf: q* solves q = sigma_w^2 (2/pi) arcsin(2q / (1 + 2q)) + sigma_b^2
    q = float(q_star(ERF, 2.0, 0.1))
    assert q == pytest.approx(2.0 * arcsin_kernel(q, 1.0) + 0.1, rel=1e-10)


def test_chi_1_closed_forms():
    # erf: E[phi'(sqrt(q) z)^2] = (4 / pi) / sqrt(1 + 4 q)
    for sw, sb in [(1.0, 0.0), (2.0, 0.1), (3.0, 0.5)]:
        q = float(q_star(ERF, sw, sb))
        assert float(chi_1(ERF, sw, sb)) == pytest.approx(
            sw * 4 / math.pi / math.sqrt(1 + 4 * q), rel=1e-10)
    assert float(chi_1(RELU, 1.3, 0.0)) == pytest.approx(0.65, rel=1e-12)  # q* = 0: phi'(0+)


def test_known_critical_points():
    assert float(critical_sigma_w2(TANH, 0.0)) == pytest.approx(1.0, abs=2e-5)
    assert float(critical_sigma_w2(RELU, 0.0)) == pytest.approx(2.0, abs=1e-9)
    mf = mean_field(RELU, 2.0, 0.0)
    assert mf.chi_1 == pytest.approx(1.0, abs=1e-12) and mf.xi_c == math.inf
    # erf: critical where sigma_w^2 (4 / pi) / sqrt(1 + 4 q*) = 1
    for sb in (0.0, 0.05, 0.3):
        sw = float(critical_sigma_w2(ERF, sb))
        q = float(q_star(ERF, sw, sb))
        assert sw * 4 / math.pi / math.sqrt(1 + 4 * q) == pytest.approx(1.0, abs=1e-9)
    # the line rises with sigma_b^2
    line = critical_sigma_w2(TANH, np.array([0.01, 0.05, 0.2]))
    assert np.all(np.diff(line) > 0)


def test_phases_and_depth_scales():
    ordered, chaotic = mean_field(TANH, 1.0, 0.05), mean_field(TANH, 4.0, 0.05)
    assert ordered.chi_1 < 1 and ordered.c_star == 1.0
    assert chaotic.chi_1 > 1 and 0 < chaotic.c_star < 1
    # c* is a fixed point and chi_c its slope; xi_c = -1 / ln chi_c
    c = chaotic.c_star
    assert float(correlation_map(TANH, c, chaotic.q_star, 4.0, 0.05)) == pytest.approx(c, abs=1e-8)
    h = 1e-5
    slope = (float(correlation_map(TANH, c + h, chaotic.q_star, 4.0, 0.05))
             - float(correlation_map(TANH, c - h, chaotic.q_star, 4.0, 0.05))) / (2 * h)
    assert chaotic.chi_c == pytest.approx(slope, rel=1e-5)
    assert chaotic.xi_c == pytest.approx(-1 / math.log(chaotic.chi_c), rel=1e-12)
    # xi_q is the decay of q_l - q*: check against the iterates
    q, _ = iterate(TANH, 1.0, 0.05, 1.5, None, 60)
    dev = np.abs(q - ordered.q_star)
    rate = np.log(dev[40] / dev[50]) / 10
    assert 1 / rate == pytest.approx(ordered.xi_q, rel=1e-3)
    # xi_c peaks at the critical line
    scales = [mean_field(TANH, s, 0.05).xi_c for s in (1.0, 1.6, 1.9, 4.0)]
    assert scales[1] > scales[0] and scales[2] > scales[3]
    # odd phi without bias in the chaotic phase: c* = 0
    assert float(c_star(TANH, 2.0, 0.0)) == pytest.approx(0.0, abs=1e-9)


def test_iterate_linear_closed_form():
    q, c = iterate(LIN, 1.0, 0.5, 2.0, 0.2, 4)
    np.testing.assert_allclose(q, [2.5, 3.0, 3.5, 4.0])
    # cross-covariance grows like q: k_l = k_{l-1} + sigma_b^2
    np.testing.assert_allclose(c * q, [0.9, 1.4, 1.9, 2.4], atol=1e-9)


def test_jacobian_mean_square():
    assert jacobian_mean_square(RELU, 2.0, 0.0, 1.0, 30) == pytest.approx(1.0, rel=1e-12)
    assert jacobian_mean_square(LIN, 0.8, 0.0, 1.0, 5) == pytest.approx(0.8**5, rel=1e-12)


def test_unsupported_activation():
    act = get_activation("relu")
    fake = type(act)("hard_tanh", act.fn, act.grad)
    with pytest.raises(InitlabError, match="hard_tanh.*choose from"):
        check_activation(fake)
