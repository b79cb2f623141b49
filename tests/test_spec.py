"""Spec strings: names, positional and keyword values, top-level comma splitting."""

import re

import pytest

from initlab.errors import InitlabError
from initlab.spec import parse_spec, split_specs


@pytest.mark.parametrize(
    "text, expected",
    [("he", ("he", (), {})),
     ("normal(0.01)", ("normal", (0.01,), {})),
     ("normal(std=10)", ("normal", (), {"std": 10})),
     ("uniform(-1, 1)", ("uniform", (-1, 1), {})),
     ("constant(5)", ("constant", (5,), {})),
     ("kaiming_uniform(mode=fan_out, nonlinearity=leaky_relu, a=0.2)",
      ("kaiming_uniform", (), {"mode": "fan_out", "nonlinearity": "leaky_relu", "a": 0.2})),
     (" Adam( beta1 = 0.8 , eps=1e-7 ) ", ("adam", (), {"beta1": 0.8, "eps": 1e-7})),
     ("f(true, 'x y', none)", ("f", (True, "x y", None), {}))],
)
def test_parse_spec(text, expected):
    assert parse_spec(text) == expected


def test_split_only_at_top_level_commas():
    assert split_specs("zeros,normal(10),he") == ["zeros", "normal(10)", "he"]
    assert split_specs("uniform(-1, 1), kaiming_normal(mode=fan_out, a=0)") == [
        "uniform(-1, 1)", "kaiming_normal(mode=fan_out, a=0)"]


@pytest.mark.parametrize(
    "text, message",
    [("normal(1", "malformed spec"), ("he)", "malformed spec"), ("1abc", "malformed spec"),
     ("normal(std=1, 2)", "positional argument after keyword"),
     ("normal(a=1, a=2)", "given twice"), ("normal(1+2)", "cannot read the value '1+2'"),
     ("f(g(1))", "nested parentheses")],
)
def test_malformed_specs(text, message):
    with pytest.raises(InitlabError, match=re.escape(message)):
        parse_spec(text)


@pytest.mark.parametrize("text", ["a,,b", "a(,", "a)", ""])
def test_malformed_lists(text):
    with pytest.raises(InitlabError):
        split_specs(text)
