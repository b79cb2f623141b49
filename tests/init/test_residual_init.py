"""The residual schemes' rules and delta-orthogonal kernels: formulas, TensorFlow's layout,
``init --list``, and a PyTorch CNN re-initialized with it by name through ``reinit``."""

import math

import numpy as np
import pytest

from initlab.errors import InitlabError
from initlab.init import catalogue, get_initializer
from initlab.init.residual import is_residual_scheme, residual_rule


@pytest.mark.parametrize(("blocks", "branch"), [(16, 2), (16, 3), (1000, 4), (1, 2)])
def test_fixup_scales_the_branch_by_l_to_the_minus_one_over_2m_minus_2(blocks, branch):
    rule = residual_rule("fixup", blocks, branch)
    expected = blocks ** (-1 / (2 * branch - 2))
    assert rule.branch_scales[:-1] == pytest.approx([expected] * (branch - 1), rel=1e-15)
    assert rule.branch_scales[-1] == 0.0 and rule.readout_scale == 0.0
    assert (rule.alpha, rule.learn_alpha, rule.fixup_biases) == (1.0, True, True)
    assert rule.base == "he"


def test_the_other_rules():
    for name in ("skipinit", "rezero"):
        rule = residual_rule(f"{name}(base=xavier)", 8, 2)
        assert (rule.base, rule.alpha, rule.learn_alpha, rule.branch_scales) == (
            "xavier", 0.0, True, (1.0, 1.0))
    assert residual_rule("scaled_residual", 50, 2).branch_scales == (1.0, 1 / math.sqrt(50))
    assert residual_rule("scaled_residual(factor=2)", 50, 3).branch_scales[-1] == 0.1
    assert residual_rule("zero_init_residual", 4, 2, norm="batch").zero_norm
    plain = residual_rule("kaiming_uniform(mode=fan_out)", 4, 3)
    assert plain.base == "kaiming_uniform(mode=fan_out)" and plain.branch_scales == (1.0,) * 3
    assert plain.alpha is None and not is_residual_scheme("he") and is_residual_scheme("rezero")


def test_drawn_on_one_tensor_a_scheme_draws_its_base():
    a = get_initializer("fixup(base=xavier_uniform)")((5, 7), np.random.default_rng(3))
    b = get_initializer("xavier_uniform")((5, 7), np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)


def test_init_list_shows_every_scheme_with_its_formula():
    rows = {row["name"]: row["formula"] for row in catalogue()}
    for name in ("fixup", "skipinit", "rezero", "scaled_residual", "zero_init_residual",
                 "delta_orthogonal"):
        assert name in rows
    assert "L^(-1/(2m-2))" in rows["fixup"]
    assert "sqrt(factor * L)" in rows["scaled_residual"]


def tf_delta_orthogonal(shape_tf, gain, rng):
    """TensorFlow's ConvolutionDeltaOrthogonal.__call__ (init_ops.py), step by step in NumPy,
    in TF's (*kernel, in, out) layout, from the same normal draw."""
    n_in, n_out = shape_tf[-2], shape_tf[-1]
    q, r = np.linalg.qr(rng.standard_normal((n_out, n_out)))
    q *= np.sign(np.diag(r))
    q = q[:n_in, :] * gain
    weight = np.zeros(shape_tf)
    weight[tuple((k - 1) // 2 for k in shape_tf[:-2])] = q
    return weight


@pytest.mark.parametrize("kernel", [(3,), (3, 3), (4, 4), (2, 3, 5)])
def test_delta_orthogonal_is_tensorflows_kernel_in_pytorchs_layout(kernel):
    n_out, n_in, gain = 6, 4, 1.7
    w = get_initializer(f"delta_orthogonal({gain})")((n_out, n_in, *kernel),
                                                      np.random.default_rng(8))
    tf = tf_delta_orthogonal((*kernel, n_in, n_out), gain, np.random.default_rng(8))
    # TF's (*kernel, in, out) -> PyTorch's (out, in, *kernel)
    np.testing.assert_allclose(w, np.moveaxis(tf, (-1, -2), (0, 1)), rtol=1e-14, atol=1e-15)
    centre = w[(slice(None), slice(None), *((k - 1) // 2 for k in kernel))]
    np.testing.assert_allclose(centre.T @ centre, gain**2 * np.eye(n_in), atol=1e-12)
    assert np.count_nonzero(w) == np.count_nonzero(centre)


@pytest.mark.parametrize(("shape", "message"), [
    ((4, 6, 3, 3), "in_channels <= out_channels"), ((4, 4), "3-, 4- or 5-D"),
    ((4, 4, 1, 1, 1, 1), "3-, 4- or 5-D")])
def test_delta_orthogonal_refuses_what_tensorflow_refuses(shape, message):
    with pytest.raises(InitlabError, match=message):
        get_initializer("delta_orthogonal")(shape, 0)


def test_reinit_of_a_pytorch_cnn_by_name():
    torch = pytest.importorskip("torch", reason="torch is not installed")
    from initlab.torchbridge import reinit

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.Conv2d(8, 8, 3, padding=1))
    reinit(net, "delta_orthogonal", seed=0)
    rng = np.random.default_rng(0)
    for conv in (net[0], net[2]):
        expected = get_initializer("delta_orthogonal")(tuple(conv.weight.shape), rng)
        # drawn in float64, stored in the conv's float32
        np.testing.assert_array_equal(conv.weight.detach().numpy(), expected.astype(np.float32))
        np.testing.assert_array_equal(conv.bias.detach().numpy(), 0.0)
    # an orthogonal centre keeps the norm of a centred one-pixel input through the first conv
    x = torch.zeros(1, 3, 5, 5)
    x[0, :, 2, 2] = torch.tensor([1.0, -2.0, 0.5])
    with torch.no_grad():
        y = torch.nn.functional.conv2d(x, net[0].weight, padding=1)
    assert float(y.norm()) == pytest.approx(float(x.norm()), rel=1e-5)


@pytest.mark.parametrize("kernel", [(3, 3), (4, 4), (2,)])
def test_delta_orthogonal_matches_tensorflows_own_initializer(kernel):
    # TensorFlow draws from its own generator: compare what the semantics fix, the tap that
    # holds the matrix (even kernels included), its Gram matrix, and zeros everywhere else
    tf = pytest.importorskip("tensorflow", reason="tensorflow is not installed")
    from tensorflow.python.ops import init_ops

    n_out, n_in, gain = 6, 4, 1.3
    theirs = init_ops.ConvolutionDeltaOrthogonal(gain=gain, seed=1)(
        (*kernel, n_in, n_out), dtype=tf.float64).numpy()
    ours = get_initializer(f"delta_orthogonal({gain})")((n_out, n_in, *kernel), 1)
    ours_tf_layout = np.moveaxis(ours, (0, 1), (-1, -2))
    np.testing.assert_array_equal(theirs != 0, ours_tf_layout != 0)
    centre = tuple((k - 1) // 2 for k in kernel)
    for w in (theirs[centre], ours_tf_layout[centre]):
        np.testing.assert_allclose(w @ w.T, gain**2 * np.eye(n_in), atol=1e-12)
