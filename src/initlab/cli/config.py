"""TOML configuration files: the same names as the command-line options, parsed the same way.

``initlab compare ... --dump-config`` prints the options as TOML with ``experiment =
"compare"``; ``initlab run config.toml`` turns the file back into that command's arguments and
runs it, so every value is checked by the same parser as on the command line. Keys may be
written with ``_`` or ``-``; an unknown key is an error naming it.
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import tomli_w

from initlab.errors import InitlabError

#: Options that say how to run, not what to run: never written to a config file.
RUN_OPTIONS = {"help", "json", "out", "quiet", "dump_config", "version"}


def _actions(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {a.dest: a for a in parser._actions if a.dest not in RUN_OPTIONS
            and a.dest != argparse.SUPPRESS}


def dump(command: str, parser: argparse.ArgumentParser, args: argparse.Namespace) -> str:
    """The parsed options of ``command`` as a TOML document (None values left out)."""
    doc = {"experiment": command}
    for dest in _actions(parser):
        value = getattr(args, dest, None)
        if value is None:
            continue
        doc[dest] = str(value) if isinstance(value, Path) else value
    return tomli_w.dumps(doc)


def to_argv(doc: dict, parser: argparse.ArgumentParser, source: str) -> list[str]:
    """Turn a config's keys into an argv for ``parser``; unknown keys raise naming the key."""
    actions = _actions(parser)
    argv_pos, argv_opt = [], []
    for key, value in doc.items():
        dest = key.replace("-", "_")
        if dest not in actions:
            valid = ", ".join(sorted(actions))
            raise InitlabError(f"unknown key {key!r} in {source}; valid keys: {valid}")
        action = actions[dest]
        if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
            if not isinstance(value, bool):
                raise InitlabError(f"key {key!r} in {source} must be true or false, got {value!r}")
            if value == isinstance(action, argparse._StoreTrueAction):
                argv_opt.append(action.option_strings[-1])
            continue
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = str(value).lower()
        if not action.option_strings:
            argv_pos.append(str(value))
        else:  # --opt=value, so a value such as -2,2 is not read as an option
            argv_opt.append(f"{action.option_strings[-1]}={value}")
    return argv_pos + argv_opt


def read(path: str | Path) -> dict:
    """Read a TOML config; a missing or malformed file raises naming it."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            doc = tomllib.load(f)
    except FileNotFoundError:
        raise InitlabError(f"config file {str(path)!r} does not exist") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InitlabError(f"cannot read config file {str(path)!r}: {exc}") from None
    return doc
