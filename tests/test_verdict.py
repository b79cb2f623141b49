"""The verdict names what the numbers show: vanishing, exploding, trends, floors, saturation."""

import numpy as np
import pytest

from initlab import statistics
from initlab.errors import InitlabError
from initlab.results import Result
from initlab.verdict import judge, per_layer_factor


def geometric(first, factor, n):
    return [first * factor**i for i in range(n)]


def test_vanishing_names_the_first_layer_below_a_tenth():
    v = judge(geometric(0.5, 0.64, 10))  # the 10-layer tanh net with std 0.01 weights
    assert v.state == "vanishing"
    assert v.vanishes_at == 7  # 0.64^5 = 0.107, 0.64^6 = 0.069
    assert v.factor == pytest.approx(0.64)
    assert "layer 7" in v.text and not v.healthy


def test_exploding_names_the_first_layer_over_ten_times():
    v = judge(geometric(1.85, 2.26, 10))  # ReLU with std 0.05 weights at width 4096
    assert v.state == "exploding" and v.explodes_at == 4
    assert "explodes" in v.text


def test_slow_shrinking_is_extrapolated_beyond_the_net():
    v = judge(geometric(0.63, 0.885, 10))  # tanh / lecun, 10 layers
    assert v.state == "shrinking" and v.vanishes_at is None
    assert v.crosses_at == pytest.approx(1 + np.log(10) / -np.log(0.885))
    assert "beyond this net's 10 layers" in v.text and not v.healthy


def test_noise_is_not_a_trend_but_a_clean_slope_is():
    """relu / he at width 100 (one seed): a wobble that a least-squares line would extrapolate
    to "exceeds 10x by layer 23" is inside its 95% interval, so it is no trend."""
    noisy = judge([0.823, 0.784, 0.796, 0.908, 1.09])
    assert noisy.state == "healthy" and "within 0.95x-1.32x" in noisy.text
    clean = judge([0.582, 0.392, 0.282, 0.227, 0.194])  # relu / lecun, same net
    assert clean.state == "shrinking" and clean.crosses_at == pytest.approx(10.2, abs=0.2)


def test_the_first_layer_does_not_set_the_trend():
    """sigmoid / lecun: the first layer sees the zero-mean input, later ones sigmoid's 1/2;
    after the drop from layer 1 to 2 the std is level, so nothing is extrapolated."""
    v = judge([0.207, 0.117, 0.124, 0.128, 0.127])
    assert v.state == "healthy" and v.crosses_at is None


def test_outputs_all_alike_are_named():
    v = judge([0.0260, 0.0113, 0.0127, 0.0128, 0.0131], means=[0.5] * 5)
    assert v.alike_from == 2 and "nearly identical" in v.text and not v.healthy
    assert judge([0.0248, 0.0113], means=[0.0, 0.0]).alike_from is None  # no common value
    assert judge([0.2, 0.2], means=[0.5, 0.5]).alike_from is None


def test_level_stds_are_healthy():
    v = judge([0.83, 0.84, 0.82, 0.83, 0.85])
    assert v.state == "healthy" and v.healthy and v.text.startswith("healthy")


def test_a_floor_after_vanishing_is_named():
    stds = [1.0, 0.4, 0.16, 0.07, 0.05, 0.045, 0.044, 0.044, 0.044]
    v = judge(stds)
    assert v.state == "vanishing" and v.vanishes_at == 4
    assert v.floor_from == 5 and v.floor_std == pytest.approx(0.044)
    assert "level" in v.text


def test_zero_std_is_no_signal():
    v = judge([0.0, 0.0, 0.0])
    assert v.state == "no signal" and v.vanishes_at == 1


def test_saturation_and_dead_units_are_reported_even_at_a_kept_scale():
    v = judge([0.9, 0.91, 0.9], saturated=[0.41, 0.42, 0.4])
    assert v.state == "healthy" and not v.healthy
    assert v.saturated_from == 1 and "41%" in v.text
    v = judge([0.8, 0.8, 0.8], dead=[0.0, 0.05, 0.3])
    assert v.dead_from == 3 and not v.healthy


def test_gradients_are_judged_from_the_top_down():
    v = judge([1, 1, 1, 1], grad_stds=[0.001, 0.01, 0.1, 1.0])
    assert v.grad_state == "vanishing" and v.grad_vanishes_at == 2
    assert v.grad_ratio == pytest.approx(0.001)
    assert not v.healthy


def test_textbook_wording_follows_the_numbers():
    """The same call gives opposite sentences for opposite numbers: nothing is hard-coded."""
    assert "vanishes" in judge(geometric(1, 0.5, 6)).text
    assert "explodes" in judge(geometric(1, 2.0, 6)).text


def test_factor_and_round_trip():
    assert per_layer_factor([2.0]) is None
    assert per_layer_factor([1, 2, 4, 8]) == pytest.approx(2.0)
    v = judge(geometric(1, 0.5, 6), grad_stds=[1, 1, 1, 1, 1, 1])
    assert isinstance(v, Result)
    assert type(v).from_dict(v.to_dict()) == v


# Per-layer numbers measured by `initlab activations --preset cs231n` (width 4096, batch 16,
# seed 0) and `--preset saito`: the cases whose old one-line verdicts contradicted the pictures.
CS231N = {
    ("relu", "normal(0.05)"): [1.85, 4.18, 9.43, 21.4, 48.2, 109, 244, 552, 1220, 2760],
    ("tanh", "normal(0.01)"): [0.491, 0.289, 0.18, 0.114, 0.0723, 0.0461, 0.0294, 0.0188,
                               0.0121, 0.0077],
    ("tanh", "normal(0.05)"): [0.872, 0.853, 0.851, 0.849, 0.849, 0.849, 0.849, 0.848, 0.849,
                               0.85],
}


def test_the_published_cases_at_width_4096():
    v = judge(CS231N["relu", "normal(0.05)"])  # was "signal dies at layer 9"
    assert v.state == "exploding" and v.explodes_at == 4
    v = judge(CS231N["tanh", "normal(0.01)"])  # was "healthy"
    assert v.state == "vanishing" and v.vanishes_at == 6
    v = judge(CS231N["tanh", "normal(0.05)"],  # was "healthy": piles at +-1
              saturated=[0.41, 0.35, 0.33, 0.33, 0.33, 0.33, 0.33, 0.33, 0.33, 0.33],
              grad_stds=[20.6, 14.9, 10.6, 7.54, 5.38, 3.82, 2.73, 1.95, 1.39, 1])
    assert v.saturated_from == 1 and "41%" in v.text and not v.healthy
    assert v.grad_state == "exploding" and v.grad_explodes_at == 3


def test_saito_sigmoid_std_1_saturates_but_its_gradient_keeps_its_scale():
    """The book expects a vanishing gradient here; dL/dh measures x0.986 at layer 1 (std-1
    weights make up for sigmoid's flat ends), and the verdict says what was measured."""
    v = judge([0.459, 0.435, 0.439, 0.44, 0.434], means=[0.5] * 5,
              saturated=[0.64, 0.47, 0.49, 0.51, 0.47],
              grad_stds=[0.986, 0.976, 1.0, 1.01, 1.0])
    assert v.saturated_from == 1 and v.grad_state == "healthy"
    assert v.grad_ratio == pytest.approx(0.986)


@pytest.mark.parametrize("dof", [*range(1, 60), 99, 100, 101, 1000, 4999])
def test_t975_is_scipys_t_quantile(dof):
    from scipy.stats import t

    assert statistics.t975.__wrapped__(dof) == pytest.approx(t.ppf(0.975, dof), rel=1e-12, abs=0)


def test_t975_rejects_no_degrees_of_freedom():
    with pytest.raises(InitlabError, match="degrees of freedom must be >= 1, got 0"):
        statistics.t975(0)
