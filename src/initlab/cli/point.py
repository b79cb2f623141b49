"""One sweep point: a configuration for ``initlab run``, checked and run inside a worker.

A point is exactly what a TOML file for ``initlab run`` holds: ``experiment`` plus that
experiment's Config values. :func:`check_point` makes the Config (the same checks and errors
as the command line and ``initlab run``, no argparse in between); :func:`run_point` runs it
and returns an outcome dict for the store. Every registered experiment can be swept, with no
change here.
"""

from __future__ import annotations

import socket
import time

from initlab import __version__
from initlab.errors import InitlabError
from initlab.experiments import registry
from initlab.experiments.config import Config


def sweepable() -> list[str]:
    """The experiments a sweep can run: the registered ones."""
    return registry.names()


def check_point(point: dict, source: str = "sweep point") -> Config:
    """The Config of ``point`` (its experiment's, made from the point's values directly).

    Raises :class:`InitlabError` naming the point's source for an unknown experiment, an
    option the experiment does not have, or a value it rejects.
    """
    doc = dict(point)
    name = doc.pop("experiment", None)
    valid = sweepable()
    if name not in valid:
        raise InitlabError(f"{source}: unknown experiment {name!r}; valid: {', '.join(valid)}")
    doc.pop("jobs", None)  # how to run, not what: every point runs in one process
    return registry.get(name).config.from_dict(doc, source=source)


def _result(point: dict):
    """Run ``point`` and return its Result (one process, no progress)."""
    config = check_point(point)
    exp = registry.get(point["experiment"])
    return exp.execute(config)


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
