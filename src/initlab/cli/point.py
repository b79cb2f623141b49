"""One sweep point: a configuration for ``initlab run``, checked and run inside a worker.

A point is exactly what a TOML file for ``initlab run`` holds: ``experiment`` plus that
command's options. :func:`check_point` parses it with the experiment's own parser (so a sweep
reports the same errors as the command line); :func:`run_point` runs it and returns an
outcome dict for the store. Any experiment command that prints its result with ``--json``
(through :func:`initlab.cli.common.emit`) can be swept, with no change here.
"""

from __future__ import annotations

import functools
import socket
import time

from initlab import __version__
from initlab.cli import config
from initlab.errors import InitlabError
from initlab.experiments import registry
from initlab.experiments.config import Config

NOT_SWEEPABLE = {"run", "init", "sweep", "report"}


def sweepable() -> list[str]:
    """The experiment commands a sweep can run."""
    from initlab.cli import command_names

    return [n for n in command_names() if n not in NOT_SWEEPABLE]


@functools.cache
def experiment_parser(name: str):
    """The argument parser of experiment command ``name`` (built once per process)."""
    from initlab.cli import build_parser

    top = build_parser(only=name)
    return top._subparsers._group_actions[0].choices[name]


def check_point(point: dict, source: str = "sweep point"):
    """Check ``point``: for a registered experiment, its Config (made from the point's values
    directly); for another command, the parsed options (its own parser, so a sweep reports
    the same errors as the command line).

    Raises :class:`InitlabError` naming the point's source for an unknown experiment, an
    option the experiment does not have, or a value it rejects.
    """
    doc = dict(point)
    name = doc.pop("experiment", None)
    valid = sweepable()
    if name not in valid:
        raise InitlabError(f"{source}: unknown experiment {name!r}; valid: {', '.join(valid)}")
    if name in registry.names():
        doc.pop("jobs", None)  # how to run, not what: every point runs in one process
        return registry.get(name).config.from_dict(doc, source=source)
    parser = experiment_parser(name)
    argv = config.to_argv(doc, parser, source)
    if "jobs" in {a.dest for a in parser._actions} and "jobs" not in doc:
        argv.append("--jobs=1")  # the sweep runs points side by side: one process each

    def fail(message: str):
        raise InitlabError(f"{source}: {message}")

    parser.error, saved = fail, parser.error
    try:
        args = parser.parse_args(argv)
    finally:
        parser.error = saved
    args.json, args.quiet, args.out = True, True, None
    return args


def _result(point: dict):
    """Run ``point`` and return its Result (a registered experiment: no argparse at all)."""
    checked = check_point(point)
    if isinstance(checked, Config):
        exp = registry.get(point["experiment"])
        return exp.run(checked, progress=False, **({"jobs": 1} if exp.jobs else {}))
    caught = []
    checked.result_sink = caught.append
    code = checked._module.run(checked)
    if not caught:
        raise InitlabError(f"experiment {point.get('experiment')!r} produced no result "
                           f"(exit code {code})")
    return caught[0]


def run_point(point: dict) -> dict:
    """Run one point and return its outcome (never raises: a failure is an outcome).

    Returns ``{"status": "done" | "failed", "result": JSON text, "records": [dict],
    "error": str | None, "seconds", "host", "version"}``. BLAS runs on one thread, so a point
    gives the same bits on every scheduler.
    """
    from threadpoolctl import threadpool_limits

    from initlab.results import plain

    start = time.perf_counter()
    outcome = {"status": "failed", "result": None, "records": None, "error": None,
               "host": socket.gethostname(), "version": __version__}
    try:
        with threadpool_limits(limits=1):
            result = _result(point)
        outcome.update(status="done", result=result.to_json(indent=None),
                       records=plain(result.records()))
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - a failed point is stored, not fatal
        outcome["error"] = " ".join(f"{type(exc).__name__}: {exc}".split())
    outcome["seconds"] = time.perf_counter() - start
    return outcome


def probe_point(point: dict) -> dict:
    """:func:`run_point` plus the peak resident memory (MiB) of this (fresh) process."""
    import resource
    import sys

    outcome = run_point(point)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    outcome["peak_mib"] = peak / (2**20 if sys.platform == "darwin" else 2**10)
    return outcome
