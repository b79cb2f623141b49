"""The verdict names what the numbers show: vanishing, exploding, trends, floors, saturation."""

import numpy as np
import pytest

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
    v = judge(geometric(0.63, 0.885, 10))
    assert v.state == "shrinking" and v.vanishes_at is None
    assert v.crosses_at == pytest.approx(1 + np.log(10) / -np.log(0.885))
    assert "beyond this net's 10 layers" in v.text and not v.healthy


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
