"""``initlab run``: run any experiment from a TOML configuration file."""

from __future__ import annotations

from pathlib import Path

from initlab.cli.common import add_figure_options
from initlab.errors import InitlabError

HELP = "run any command from a TOML file (write one with '<command> --dump-config')"
DESCRIPTION = """\
Run a command from a TOML file whose keys are the command-line options of that command (with
'_' or '-'), plus 'experiment' naming the command. Every command's '--dump-config' output runs
unchanged. '--out', '--json', '-q' and '--force' given here apply to the run (where the command
has them); so do '--format' and '--dpi' (an error for a command without them). Unknown keys are
errors that name the key.

examples:
  initlab compare --dataset moons --seeds 10 --dump-config > moons.toml
  initlab run moons.toml --out out/moons
"""


def add_arguments(parser) -> None:
    parser.add_argument("config", type=Path, help="the TOML file")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--out", metavar="DIR", type=Path,
                        help="write results.json and the figures into DIR")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress")
    parser.add_argument("--force", action="store_true",
                        help="run even where the estimated memory or time exceeds the limits")
    add_figure_options(parser, dpi=None, default_format=None)


def run(args) -> int:
    from initlab.cli import command_names, command_parser, config, main
    from initlab.experiments import registry

    doc = config.read(args.config)
    command = doc.pop(config.COMMAND_KEY, None)
    runnable = [n for n in command_names() if n != "run"] + [
        n for n in registry.names() if "-" in n]  # actions: width-coordcheck, width-transfer
    if command not in runnable:
        raise InitlabError(f"{args.config}: {config.COMMAND_KEY!r} must be one of "
                           f"{', '.join(runnable)}, got {command!r}")
    if command in registry.names():
        return _run_experiment(command, doc, args)
    parser = command_parser(command)
    argv = [command, *config.to_argv(doc, parser, str(args.config))]
    has = {a.dest for a in parser.options}
    if args.out is not None and "out" in has:
        argv += ["--out", str(args.out)]
    for flag in ("json", "quiet", "force"):
        if getattr(args, flag) and flag in has:
            argv.append(f"--{flag}")
    # given, they go on: a command without them then says so
    argv += [f"--{k}={getattr(args, k)}" for k in ("format", "dpi") if getattr(args, k)]
    return main(argv)


def _run_experiment(name: str, doc: dict, args) -> int:
    """Run registered experiment ``name`` from the file's values: they make its Config
    directly (no command line in between), checked as on the command line."""
    import argparse

    from initlab.cli import command_module, guard
    from initlab.cli.common import FIGURE_DPI
    from initlab.errors import check_positive_int

    command = command_module(name)
    exp = command.experiment
    jobs = None
    if exp.jobs and "jobs" in doc:  # how to run, not what: the numbers are the same
        jobs = check_positive_int(doc.pop("jobs"), f"{args.config}: 'jobs'")
    run_args = argparse.Namespace(
        command=name, run_config=exp.config.from_dict(doc, source=str(args.config)),
        out=args.out, json=args.json, quiet=args.quiet, force=args.force,
        format=args.format or "png", dpi=args.dpi or FIGURE_DPI, jobs=jobs)
    guard.prepare(run_args, command)
    return command.run(run_args)
