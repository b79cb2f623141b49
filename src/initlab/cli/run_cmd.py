"""``initlab run``: run any experiment from a TOML configuration file."""

from __future__ import annotations

from pathlib import Path

from initlab.cli import config
from initlab.errors import InitlabError

HELP = "run an experiment from a TOML file (write one with '<command> --dump-config')"
DESCRIPTION = """\
Run an experiment from a TOML file whose keys are the command-line options of that experiment
(with '_' or '-'), plus 'experiment' naming the command. '--out', '--json' and '-q' given here
apply to the run. Unknown keys are errors that name the key.

examples:
  initlab compare --dataset moons --seeds 10 --dump-config > moons.toml
  initlab run moons.toml --out out/moons
"""


def add_arguments(parser) -> None:
    parser.add_argument("config", type=Path, help="the TOML file")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--out", metavar="DIR", type=Path,
                        help="write results.json and the figures into DIR")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from initlab.cli import build_parser, command_names, main

    doc = config.read(args.config)
    command = doc.pop("experiment", None)
    runnable = [n for n in command_names() if n not in ("run", "init")]
    if command not in runnable:
        raise InitlabError(f"{args.config}: 'experiment' must be one of {', '.join(runnable)}, "
                           f"got {command!r}")
    parser = build_parser(only=command)._subparsers._group_actions[0].choices[command]
    argv = [command, *config.to_argv(doc, parser, str(args.config))]
    if args.out is not None:
        argv += ["--out", str(args.out)]
    argv += ["--json"] * args.json + ["--quiet"] * args.quiet
    return main(argv)
