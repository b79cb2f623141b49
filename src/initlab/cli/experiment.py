"""A subcommand made from a registered experiment: its options are the Config's fields.

A command module that names an experiment (``EXPERIMENT = "compare"``) holds only its
``HELP`` and ``DESCRIPTION`` (with examples); :class:`ExperimentCommand` supplies the rest of
what :mod:`initlab.cli` and :mod:`initlab.cli.guard` call: ``add_arguments`` (generated from
the Config, plus ``-j`` where the experiment trains in processes, and the output options),
``check_inputs`` (the Config is made: every value checked, before anything is estimated),
``estimate``, ``dump`` (``--dump-config``: the Config as TOML) and ``run``.
"""

from __future__ import annotations

import argparse

from initlab.cli.common import add_output_options, emit, positive_int, show_progress

JOBS_HELP = ("train in this many processes (default: 2, or as many cores as other tasks leave "
             "free if fewer; a run of under a second stays in one process, where starting "
             "workers would cost more than it saves); the same seeds and data for any value, "
             "though splitting one model's replicas may round float32 results differently in "
             "the last digit")


class ExperimentCommand:
    """The subcommand of experiment ``module.EXPERIMENT``, with ``module``'s help texts."""

    def __init__(self, module):
        self.HELP, self.DESCRIPTION = module.HELP, module.DESCRIPTION
        self.name = module.EXPERIMENT

    @property
    def experiment(self):
        """The :class:`~initlab.experiments.registry.Experiment` (imported when first used:
        ``initlab --help`` lists the commands without importing any experiment)."""
        from initlab.experiments import registry

        return registry.get(self.name)

    def add_arguments(self, parser) -> None:
        from initlab.cli.options import add_config_arguments

        cls = self.experiment.config
        if cls.PRESETS:
            parser.description += presets_text(cls.PRESETS)
        add_config_arguments(parser, cls)
        if self.experiment.jobs:
            parser.add_argument("-j", "--jobs", type=positive_int, help=JOBS_HELP)
        add_output_options(parser)

    def check_inputs(self, args: argparse.Namespace) -> None:
        """Make the Config from the options given (each value checked as it is made)."""
        from initlab.cli.options import config_from_args

        if getattr(args, "run_config", None) is None:
            args.run_config = config_from_args(args, self.experiment.config)

    def estimate(self, args: argparse.Namespace):
        return self.experiment.estimate(args.run_config)

    def dump(self, args: argparse.Namespace) -> str:
        """``--dump-config``: the values the run would use, as a file for ``initlab run``."""
        self.check_inputs(args)
        return args.run_config.to_toml(self.name)

    def run(self, args: argparse.Namespace) -> int:
        exp = self.experiment
        result = exp.execute(args.run_config, show_progress(args), getattr(args, "jobs", None))
        emit(result, args, exp.figures(result) if getattr(args, "out", None) else None)
        return 0


def presets_text(presets: dict) -> str:
    """The presets' values as ``--help`` lists them (options given override them)."""
    import textwrap

    from initlab.experiments.config import plain_value

    lines = ["", "presets (options given override their values):"]
    for name, values in presets.items():
        shown = []
        for key, value in values.items():
            flag, value = "--" + key.replace("_", "-"), plain_value(value)
            if isinstance(value, bool):
                shown.append(flag if value else "--no-" + flag[2:])
                continue
            value = ",".join(map(str, value)) if isinstance(value, list) else value
            shown.append(f"{flag} {'none' if value is None else value}")
        lines += textwrap.wrap(f"{name}: " + ", ".join(shown), 98, initial_indent="  ",
                               subsequent_indent="      ")
    return "\n".join(lines) + "\n"


__all__ = ["ExperimentCommand", "presets_text"]
