"""Losses from logits: values, gradients, no overflow, label checks."""

import math
import warnings

import numpy as np
import pytest

from initlab.errors import InitlabError
from initlab.nn.losses import (
    BinaryCrossEntropy,
    SoftmaxCrossEntropy,
    binary_cross_entropy,
    check_labels,
    softmax_cross_entropy,
)


def naive_bce(z, y):
    """The textbook formula, fine for moderate logits."""
    p = 1 / (1 + np.exp(-z[..., 0]))
    return -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(axis=-1)


def naive_softmax_ce(z, y):
    p = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
    return -np.log(p[:, np.arange(len(y)), y]).mean(axis=-1)


def test_binary_cross_entropy_value_and_gradient(numgrad):
    rng = np.random.default_rng(0)
    z, y = rng.standard_normal((3, 7, 1)) * 3, rng.integers(0, 2, 7)
    loss, grad = binary_cross_entropy(z, y)
    assert loss.shape == (3,) and grad.shape == z.shape
    np.testing.assert_allclose(loss, naive_bce(z, y), rtol=1e-12)
    np.testing.assert_allclose(grad, numgrad(lambda: binary_cross_entropy(z, y)[0].sum(), z),
                               rtol=1e-6, atol=1e-10)


def test_softmax_cross_entropy_value_and_gradient(numgrad):
    rng = np.random.default_rng(1)
    z, y = rng.standard_normal((2, 6, 4)) * 3, rng.integers(0, 4, 6)
    loss, grad = softmax_cross_entropy(z, y)
    assert loss.shape == (2,) and grad.shape == z.shape
    np.testing.assert_allclose(loss, naive_softmax_ce(z, y), rtol=1e-12)
    np.testing.assert_allclose(grad, numgrad(lambda: softmax_cross_entropy(z, y)[0].sum(), z),
                               rtol=1e-6, atol=1e-10)


def test_losses_are_overflow_free_for_huge_logits():
    z = np.array([[[1e4], [-1e4], [1e4], [-1e4]]])
    y = np.array([1, 0, 0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, grad = binary_cross_entropy(z, y)
        np.testing.assert_allclose(loss, [(1e4 + 1e4) / 4])  # two right, two wrong by 1e4
        np.testing.assert_allclose(grad[0, :, 0], [0, 0, 0.25, -0.25])
        zs = np.array([[[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0]]])
        loss, grad = softmax_cross_entropy(zs, np.array([0, 0]))
        np.testing.assert_allclose(loss, [(0 + 2e4) / 2])
        assert np.isfinite(grad).all()


def test_float32_logits_give_float32_results():
    z = np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32)
    loss, grad = softmax_cross_entropy(z, np.array([0, 1, 2, 0, 1]))
    assert loss.dtype == np.float32 and grad.dtype == np.float32


def test_zero_logits_give_ln2_and_ln_c():
    loss, _ = binary_cross_entropy(np.zeros((1, 4, 1)), np.array([0, 1, 1, 0]))
    assert loss[0] == pytest.approx(math.log(2), rel=1e-15)
    loss, _ = softmax_cross_entropy(np.zeros((1, 4, 10)), np.array([0, 1, 9, 5]))
    assert loss[0] == pytest.approx(math.log(10), rel=1e-15)


@pytest.mark.parametrize("fn, z, y, message", [
    (binary_cross_entropy, np.zeros((1, 3, 1)), [0, 2, 1], "label 2 in y is out of range: labels "
                                                           "must be 0 or 1"),
    (softmax_cross_entropy, np.zeros((1, 3, 4)), [0, 4, 1], r"label 4 in y is out of range: "
                                                            r"labels must be ints in \[0, 4\)"),
    (softmax_cross_entropy, np.zeros((1, 3, 4)), [0, -1, 1], "label -1 in y is out of range"),
    (binary_cross_entropy, np.zeros((1, 3, 1)), [0, 1], "y has 2 labels but the data has 3"),
    (binary_cross_entropy, np.zeros((1, 3, 1)), [0, np.nan, 1], "y contains NaN or inf"),
    (binary_cross_entropy, np.zeros((1, 3, 1)), [0, 0.5, 1], "must hold integer class labels"),
    (binary_cross_entropy, np.zeros((1, 3, 1)), [[0, 1, 1]], "y must be a 1-D array"),
    (binary_cross_entropy, np.zeros((1, 0, 1)), [], "y is empty"),
    (binary_cross_entropy, np.zeros((1, 3, 2)), [0, 1, 1], "a sigmoid output needs 1 unit"),
    (softmax_cross_entropy, np.zeros((1, 3, 1)), [0, 0, 0], "a softmax output needs at least 2"),
    (binary_cross_entropy, np.zeros((3, 1)), [0, 1, 1], r"logits must be a float array \(R, N"),
])
def test_bad_labels_and_shapes(fn, z, y, message):
    with pytest.raises(InitlabError, match=message):
        fn(z, np.asarray(y))


def test_check_labels_accepts_bools_and_integral_floats():
    np.testing.assert_array_equal(check_labels(np.array([True, False]), 2, 2), [1, 0])
    np.testing.assert_array_equal(check_labels(np.array([2.0, 0.0]), 2, 3), [2, 0])


@pytest.mark.parametrize("loss, out", [(BinaryCrossEntropy(), 1), (SoftmaxCrossEntropy(), 4)])
def test_value_and_grad_are_value_and_grad_bit_for_bit(loss, out):
    rng = np.random.default_rng(3)
    z = (rng.standard_normal((3, out, 9)) * 30).swapaxes(1, 2)  # huge logits, Dense's layout
    t = loss.targets(rng.integers(0, max(out, 2), 9), 9, out, np.float64)
    value, grad = loss.value_and_grad(z, t)
    np.testing.assert_array_equal(value, loss.value(z, t))
    np.testing.assert_array_equal(grad, loss.grad(z, t))


def test_float32_binary_gradient_is_the_sigmoid_within_2_ulps_without_warnings():
    from scipy.special import expit

    z = np.linspace(-200, 200, 4001, dtype=np.float32).reshape(-1, 1, 1)  # N = 1: g = sigmoid
    t = np.zeros((1, 1), np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = BinaryCrossEntropy().grad(z, t)
    assert g.dtype == np.float32
    exact = expit(z.astype(np.float64)).astype(np.float32)
    # where exp(-z) overflows (z < -88.7) it is 0 instead of a subnormal below 1.2e-38
    assert np.all(np.abs(g - exact) <= np.maximum(2 * np.spacing(exact),
                                                  np.finfo(np.float32).tiny))
    assert g[0, 0, 0] == 0 and g[-1, 0, 0] == 1


def test_expit_is_accurate_monotone_and_exact_at_the_ends_without_warnings():
    """What matters of our sigmoid, not the last bit of one scipy version's (scipy 1.17 put 68 of
    these 20001 points 2 ulps away from ours): a relative error of a few ulps against scipy,
    no warning, monotone, exactly 1/2 at 0 and exactly 0 and 1 in the tails."""
    from scipy.special import expit as scipy_expit

    from initlab.nn.activations import expit

    z = np.linspace(-800, 800, 20001)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = expit(z)
        ends = expit(np.array([-np.inf, np.inf, 0.0, -0.0]))
    exact = scipy_expit(z)
    tiny = np.finfo(np.float64).tiny  # below it exp(-z) overflows: 0 instead of a subnormal
    assert np.all(np.abs(got - exact) <= np.maximum(4 * np.finfo(np.float64).eps * exact, tiny))
    assert np.all(np.diff(got) >= 0)
    assert got[0] == 0 and got[-1] == 1 and ends.tolist() == [0.0, 1.0, 0.5, 0.5]
    assert np.isnan(expit(np.array([np.nan])))[0]
    assert expit(0.0) == 0.5 and np.ndim(expit(2)) == 0 and expit(np.float32(1)).dtype == np.float32
    assert expit(np.ones((2, 3), np.float32)).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_gradient_without_its_own_errstate_is_the_same_numbers(dtype):
    """fit silences overflow warnings once for all steps and asks grad not to again."""
    z = np.linspace(-800, 800, 1601).astype(dtype).reshape(1, -1, 1)
    t = (np.arange(1601) % 2).astype(dtype)[:, None]
    loss = BinaryCrossEntropy()
    with np.errstate(over="ignore"):
        quiet = loss.grad(z, t, errstate=False)
    np.testing.assert_array_equal(quiet, loss.grad(z, t))
    with pytest.warns(RuntimeWarning, match="overflow"):  # what the caller's errstate is for
        loss.grad(z, t, errstate=False)
