"""A Config field given without its flag (``option(..., positional=True)``), and a field's own
text syntax (``option(..., parse=...)``): the command line, TOML values and sweep points read
them the same way."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import pytest

from initlab.cli.common import Parser
from initlab.cli.options import add_config_arguments, config_from_args
from initlab.errors import InitlabError
from initlab.experiments.config import Config, at_least, option


def _halves(text: str) -> list[float]:
    """``N/2``: N values 0, 0.5, 1, ... (a syntax of this test's own)."""
    if not (text.endswith("/2") and text[:-2].isdigit()):
        raise ValueError(f"expected N/2, got {text!r}")
    n = int(text[:-2])
    return [k / 2 for k in range(n)]


@dataclass(frozen=True)
class Study(Config):
    study: str = option("first", "which study", choices=("first", "second"), metavar="STUDY",
                        positional=True)
    depth: int = option(3, "layers", check=at_least(1))
    steps: tuple[float, ...] = option((1.0,), "values, or N/2", parse=_halves)


def _parse(argv):
    parser = Parser(prog="demo")
    add_config_arguments(parser, Study)
    return config_from_args(parser.parse_args(argv), Study)


def test_a_positional_field_is_given_without_a_flag_or_left_to_its_default():
    assert _parse(["second", "--depth", "4"]) == Study(study="second", depth=4)
    assert _parse(["--depth", "4", "second"]) == Study(study="second", depth=4)
    assert _parse([]) == Study()  # absent: the field's default, as for any option
    assert Study.from_dict({"study": "second"}).study == "second"  # its TOML key is its name


def test_a_bad_positional_value_is_one_line_naming_the_allowed_ones(capsys):
    with pytest.raises(SystemExit) as info:
        _parse(["third"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "argument STUDY: must be one of first, second, got 'third'" in err


def test_a_fields_own_syntax_reads_command_lines_and_toml_text():
    assert _parse(["--steps", "3/2"]).steps == (0.0, 0.5, 1.0)
    assert Study.from_dict({"steps": "2/2"}).steps == (0.0, 0.5)
    assert Study.from_dict({"steps": [4, 5]}).steps == (4.0, 5.0)  # lists need no parsing
    with pytest.raises(InitlabError, match="'steps' expected"):
        Study.from_dict({"steps": "x/2"})


def test_the_positional_shows_in_the_usage():
    parser = Parser(prog="demo")
    add_config_arguments(parser, Study)
    assert "[STUDY]" in parser.format_usage()
    (study,) = [a for a in parser.options if a.dest == "study"]
    assert study.option_strings == [] and study.nargs == argparse.OPTIONAL
