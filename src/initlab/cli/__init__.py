"""The ``initlab`` command: one subcommand per module ``initlab/cli/<name>_cmd.py``.

Each subcommand module defines ``HELP`` (one line) and ``DESCRIPTION`` (with examples). One
that runs a registered experiment names it (``EXPERIMENT = "compare"``) and gets everything
else from the experiment's Config (:mod:`initlab.cli.experiment`); any other defines
``add_arguments(parser)`` and ``run(args) -> int``; optionally ``check_inputs(args)`` (cheap
checks of its files and names), ``estimate(args)`` (an :class:`~initlab.runtime.budget.Estimate` of
its memory and time: the command gets ``--force``) and ``settings(args)`` (the values it will
run with, for ``--dump-config``). Every command goes through :func:`main` and
:mod:`initlab.cli.guard`: the inputs are checked, then the output folder, then the budget
estimated, before any work; bad input (:class:`~initlab.errors.InitlabError`) becomes one line
on stderr and exit code 2; SIGINT/SIGTERM end the run with "interrupted" and exit 130/143.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from initlab.cli import guard
from initlab.cli.common import Parser
from initlab.errors import InitlabError

# Order in `initlab --help`; modules found but not listed here come after, alphabetically.
ORDER = ["report", "explore", "init", "activations", "inspect", "reproduce", "compare",
         "regularize", "normalize", "propagate", "run", "sweep"]


def command_names() -> list[str]:
    """Every subcommand, found as ``cli/<name>_cmd.py`` without importing any of them."""
    found = {m.name[:-4] for m in pkgutil.iter_modules(__path__) if m.name.endswith("_cmd")}
    return [n for n in ORDER if n in found] + sorted(found - set(ORDER))


class _Version(argparse.Action):
    """``--version``: the installed version, looked up (importlib.metadata: tens of ms) only when
    asked for."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest, default=argparse.SUPPRESS, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from initlab import __version__

        print(f"initlab {__version__}")
        parser.exit()


def build_parser(only: str | None = None) -> Parser:
    """With ``only``, the parser of that subcommand alone (so a run imports only the
    experiment it runs: start-up time counts in every short command); without, the overview
    for ``initlab --help``: every subcommand with its HELP line but without its options (the
    command modules import their experiments only in ``add_arguments`` and ``run``).
    ``parser.commands`` maps each subcommand's name to its own parser."""
    parser = Parser(
        prog="initlab",
        description="initlab: initialize neural networks every known way, look inside them at "
        "initialization, train them, compare the schemes across seeds, and reproduce the "
        "classic experiments as figures and one HTML report.",
        epilog="Run 'initlab COMMAND --help' for the options and examples of each command.",
    )
    parser.add_argument("--version", action=_Version, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    parser.commands = {}
    for name in [only] if only else command_names():
        module = command_module(name)
        p = sub.add_parser(name, help=module.HELP.replace("%", "%%"),
                           description=module.DESCRIPTION,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(command_module=module, command_parser=p)
        parser.commands[name] = p
        if not only:
            continue
        module.add_arguments(p)
        if hasattr(module, "estimate"):
            p.add_argument("--force", action="store_true",
                           help="run even where the estimated memory or time exceeds what the "
                           "machine has or the budget (1 h)")
        if name not in ("run", "sweep"):
            p.add_argument("--dump-config", action="store_true",
                           help="print these options as a TOML file for 'initlab run' and exit")
    return parser


def command_module(name: str):
    """The module of subcommand ``name``, or for one that names a registered experiment
    (``EXPERIMENT``) the :class:`~initlab.cli.experiment.ExperimentCommand` made from it; an
    experiment named ``COMMAND-ACTION`` is the action of a command with actions
    (``width-transfer``: ``initlab width transfer``, from its module's ``action_command``)."""
    command, _, action = name.partition("-")
    module = importlib.import_module(f"initlab.cli.{command}_cmd")
    if action:
        return module.action_command(action)
    if not hasattr(module, "EXPERIMENT"):
        return module
    from initlab.cli.experiment import ExperimentCommand

    return ExperimentCommand(module)


def command_parser(name: str) -> Parser:
    """The parser of the subcommand ``name`` alone."""
    return build_parser(only=name).commands[name]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``initlab`` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    command = "initlab"
    with guard.signals():  # first: an interruption while importing is one too
        try:
            first = next((a for a in argv if not a.startswith("-")), None)
            parser = build_parser(only=first if first in command_names() else None)
            try:
                args = parser.parse_args(argv)
            except SystemExit as exc:  # --help, --version, or a bad option's one line
                return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 2
            if not getattr(args, "command", None):
                parser.print_help()
                return 2
            command, module = f"initlab {args.command}", args.command_module
            if getattr(args, "action", None):  # a command with actions: width, sweep
                command += f" {args.action}"
            if getattr(args, "dump_config", False):
                from initlab.cli import config

                print(module.dump(args) if hasattr(module, "dump") else
                      config.dump(args.command, args.command_parser, args, module), end="")
                return 0
            guard.prepare(args, module)
            return int(module.run(args) or 0)
        except InitlabError as exc:
            print(f"{command}: error: {exc}", file=sys.stderr)
            return 2
        except MemoryError:
            print(f"{command}: error: not enough memory for this run; use smaller sizes",
                  file=sys.stderr)
            return 2
        except BrokenPipeError as exc:
            if guard.stdout_closed():  # output piped into `head` and closed early: no error
                sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
                return 0
            print(f"{command}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        except RuntimeError as exc:
            if not guard.worker_failure(exc):
                raise
            print(f"{command}: error: {exc}", file=sys.stderr)
            return 1
        except (guard.Interrupted, KeyboardInterrupt) as exc:
            code = getattr(exc, "code", None) or guard.interrupted_code() or 130
            print(f"{command}: interrupted", file=sys.stderr)
            return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
