"""TOML files for the commands that are not registered experiments (init, inspect, explore,
report): the same names as their command-line options, parsed by their own parser.

``initlab init he --shape 3,3 --dump-config`` prints the options as TOML with ``experiment =
"init"``; ``initlab run config.toml`` turns the file back into that command's arguments and
runs it, so every value is checked by the same parser as on the command line. Keys may be
written with ``_`` or ``-``; an unknown key is an error naming it. (A registered experiment's
file is its Config, read by :meth:`initlab.experiments.config.Config.from_dict` instead.)
"""
from __future__ import annotations

import argparse
from pathlib import Path

import tomli_w

from initlab.errors import InitlabError
from initlab.experiments.config import EXPERIMENT_KEY
from initlab.runtime.tomlfile import read_toml

#: The key that names the command: the same as an experiment's Config files have.
COMMAND_KEY = EXPERIMENT_KEY
#: Options that say how to run, not what to run: never written to a config file ('initlab
#: run' takes them; a figure's --format and --dpi say how its files are written).
RUN_OPTIONS = {"help", "json", "out", "quiet", "dump_config", "version", "force", "format",
               "dpi"}


def options(parser) -> dict[str, argparse.Action]:
    """The parser's config-file options by dest (``parser.options`` of :class:`Parser`)."""
    return {a.dest: a for a in parser.options if a.dest not in RUN_OPTIONS
            and a.dest != argparse.SUPPRESS}


def _is_flag(action: argparse.Action) -> bool:
    return action.nargs == 0 and isinstance(action.const, bool)


def _toml_value(value):
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def dump(command: str, parser, args: argparse.Namespace, module=None) -> str:
    """The options of ``command`` as a TOML document: the values the run will use (from
    ``module.settings(args)`` where the command has it), None values left out."""
    values = vars(args).copy()
    if module is not None and hasattr(module, "settings"):
        values.update(module.settings(args))
    doc = {COMMAND_KEY: command}
    for dest in options(parser):
        value = values.get(dest)
        if value is not None:
            doc[dest] = _toml_value(value)
    return tomli_w.dumps(doc)


def to_argv(doc: dict, parser, source: str) -> list[str]:
    """Turn a config's keys into an argv for ``parser``; unknown keys raise naming the key."""
    actions = options(parser)
    argv_pos, argv_opt = [], []
    for key, value in doc.items():
        dest = key.replace("-", "_")
        if dest not in actions:
            valid = ", ".join(sorted(actions))
            raise InitlabError(f"unknown key {key!r} in {source}; valid keys: {valid}")
        action = actions[dest]
        if _is_flag(action) or isinstance(action, argparse.BooleanOptionalAction):
            if not isinstance(value, bool):
                raise InitlabError(f"key {key!r} in {source} must be true or false, got {value!r}")
            if isinstance(action, argparse.BooleanOptionalAction):
                argv_opt.append(action.option_strings[0] if value else action.option_strings[1])
            elif value == action.const:
                argv_opt.append(action.option_strings[-1])
            continue
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = str(value).lower()
        elif isinstance(value, dict):
            raise InitlabError(f"key {key!r} in {source} must be a value, not a table")
        if not action.option_strings:
            argv_pos.append(str(value))
        else:  # --opt=value, so a value such as -2,2 is not read as an option
            argv_opt.append(f"{action.option_strings[-1]}={value}")
    return argv_pos + argv_opt


def read(path: str | Path) -> dict:
    """Read a TOML config; a missing or malformed file raises naming it."""
    return read_toml(path, "config file")
