"""Workload "report": ``initlab report --quick`` end to end (issue 6, goal under 30 s).

One whole process writing the quick report into a fresh temporary folder each run. There is
no other contender: the goal is an absolute time on this 2-core machine. It runs without the
harness's thread variables, as a user's shell runs it: the report runs its sections in
worker processes (initlab.workers), each limited to cpu_count // jobs BLAS threads (two
workers x two threads oversubscribe the two cores: 34-39 s instead of 24-28 s, measured
when the workers were joblib's). Skipped with a note
while the ``report`` subcommand does not exist. At the ``tiny`` size (the smoke test) it only
runs ``initlab report --help``, which checks the command is wired without the cost of the
report; the report itself is tested end to end in tests/.
"""

from __future__ import annotations

import importlib.util
import tempfile

from harness import Contender, Workload

GOAL_SECONDS = 30.0


def has_report_command() -> bool:
    """Whether ``initlab report`` exists (its module ``initlab/cli/report_cmd.py``)."""
    try:
        return importlib.util.find_spec("initlab.cli.report_cmd") is not None
    except ModuleNotFoundError:
        return False


def workload(size: str, torch_skip: str | None, out_dir: str | None = None) -> Workload:
    """The report workload; ``size`` tiny only checks ``--help``."""
    out_dir = out_dir or tempfile.mkdtemp(prefix="initlab-bench-report-")
    if size == "tiny":
        argv = ["-m", "initlab.cli", "report", "--help"]
    else:
        argv = ["-m", "initlab.cli", "report", "--quick", "--out", out_dir, "-q"]
    skip = None if has_report_command() else "no 'initlab report' command yet (issue 6)"
    return Workload(
        name="report",
        title="initlab report --quick, whole process" if size != "tiny"
        else "initlab report --help (tiny: wiring only)",
        contenders=[Contender("initlab", argv)],
        goal_seconds=GOAL_SECONDS if size != "tiny" else None,
        pin_threads=False,
        skip=skip,
    )
