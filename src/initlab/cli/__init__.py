"""The ``initlab`` command: one subcommand per module ``initlab/cli/<name>_cmd.py``.

Each subcommand module defines ``HELP`` (one line), ``DESCRIPTION`` (with examples),
``add_arguments(parser)`` and ``run(args) -> int``. Bad input raises
:class:`~initlab.errors.InitlabError`, which becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from initlab import __version__
from initlab.cli import config
from initlab.cli.common import Parser
from initlab.errors import InitlabError

# Order in `initlab --help`; modules found but not listed here come after, alphabetically.
ORDER = ["report", "explore", "init", "activations", "inspect", "reproduce", "compare",
         "regularize", "normalize", "propagate", "run", "sweep"]


def command_names() -> list[str]:
    """Every subcommand, found as ``cli/<name>_cmd.py`` without importing any of them."""
    found = {m.name[:-4] for m in pkgutil.iter_modules(__path__) if m.name.endswith("_cmd")}
    return [n for n in ORDER if n in found] + sorted(found - set(ORDER))


def build_parser(only: str | None = None) -> Parser:
    """The full parser, or with ``only`` just that subcommand's (so a run imports only the
    experiment it runs: start-up time counts in every short command)."""
    parser = Parser(
        prog="initlab",
        description="initlab: initialize neural networks every known way, look inside them at "
        "initialization, train them, compare the schemes across seeds, and reproduce the "
        "classic experiments as figures and one HTML report.",
        epilog="Run 'initlab COMMAND --help' for the options and examples of each command.",
    )
    parser.add_argument("--version", action="version", version=f"initlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in [only] if only else command_names():
        module = importlib.import_module(f"initlab.cli.{name}_cmd")
        p = sub.add_parser(name, help=module.HELP.replace("%", "%%"),
                           description=module.DESCRIPTION,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        if name not in ("init", "run", "sweep"):
            p.add_argument("--dump-config", action="store_true",
                           help="print these options as a TOML file for 'initlab run' and exit")
        p.set_defaults(_run=module.run, _parser=p)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``initlab`` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    first = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(only=first if first in command_names() else None)
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        if getattr(args, "dump_config", False):
            print(config.dump(args.command, args._parser, args), end="")
            return 0
        return int(args._run(args) or 0)
    except InitlabError as exc:
        print(f"initlab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0
    except KeyboardInterrupt:
        print("initlab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
