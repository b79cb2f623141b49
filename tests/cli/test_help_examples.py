"""Every example in a command's ``--help`` is a command line that command's parser accepts.

The examples are text in each command module's DESCRIPTION; a stray line continuation or a
renamed option would make ``--help`` show a command that fails, and nothing else would notice.
"""

import re
import shlex

import pytest

from initlab.cli import build_parser, command_module, command_names


def examples(name: str) -> list[list[str]]:
    """The example command lines of ``initlab NAME --help`` (continuations joined), as argv."""
    text = command_module(name).DESCRIPTION
    if "examples:" not in text:
        return []
    lines = text.split("examples:", 1)[1].replace("\\\n", " ").splitlines()
    # a command line starts with "initlab"; other lines are prose; "> FILE" is the shell's
    return [shlex.split(line.split(" > ")[0], comments=True) for line in lines
            if line.strip().startswith("initlab ")]


@pytest.mark.parametrize("name", command_names())
def test_help_examples_parse(name, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "mnist").mkdir()  # the examples' --data ~/mnist must exist to parse
    for argv in examples(name):
        assert argv[0] == "initlab" and argv[1] in command_names(), argv
        # an example that shows two commands on one line would be a broken join
        assert argv.count("initlab") == 1, argv
        build_parser(only=argv[1]).parse_args(argv[1:])


def test_examples_are_found():
    # the reader above must see the examples it is meant to check
    assert len(examples("inspect")) >= 8
    assert ["--lr", "6e-4"] == examples("inspect")[5][-4:-2]


@pytest.mark.parametrize("name", command_names())
def test_help_examples_have_no_swallowed_newline(name):
    # a single backslash at a line's end in the module's string joins two lines of --help
    # into one with a run of spaces in it; only a trailing "# comment" is set off that way
    for line in command_module(name).DESCRIPTION.splitlines():
        text = line.strip()
        if not text.startswith("initlab "):
            continue  # tables of options align their columns with spaces
        gap = re.search(r"\S {3,}(?=\S)", text)
        assert gap is None or text[gap.end():].startswith("#"), line
