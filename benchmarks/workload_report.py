"""Workload "report": ``initlab report`` end to end (issues 6 and 16, goals: ``--quick`` <= 20 s,
the full report <= 100 s).

Each row is one whole process writing the report into a temporary folder of its own (written
over at every run). There is no other contender: the goals are absolute times on this 2-core
machine. The rows run as a user's shell runs the command, without the harness's thread
variables, twice: with nothing exported, and with ``OMP_NUM_THREADS=2`` exported (a common
shell setting; the report's worker processes limit their BLAS threads to ``cpu_count //
jobs`` through threadpoolctl, initlab.runtime.workers, and the row shows whether that holds). Both
are judged. The full report runs only at the full size (minutes per run), and by default this
workload counts 3 rounds without a warm-up (``--runs``/``--warmup`` override). At the
``tiny`` size (the smoke test) the rows only run ``initlab report --help``, which checks the
command is wired without the cost of the report; the report itself is tested end to end in
tests/.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from harness import Contender, Workload

GOALS = {"quick": 20.0, "full": 100.0}
EXPORTED = {"OMP_NUM_THREADS": "2"}


def workload(size: str, torch_skip: str | None, out_dir: str | None = None) -> Workload:
    """The report workload; ``size`` tiny only checks ``--help``, quick leaves out the full
    report's rows."""
    out = Path(out_dir or tempfile.mkdtemp(prefix="initlab-bench-report-"))
    rows = []
    for which in ("quick", "full"):
        if size == "tiny" and which == "full":
            continue
        for env in (None, EXPORTED):
            name = f"report {'--quick' if which == 'quick' else '(full)'}" + (
                ", OMP_NUM_THREADS=2" if env else ", nothing exported")
            folder = out / f"{which}{'-omp2' if env else ''}"
            argv = ["-m", "initlab.cli", "report", "--out", str(folder), "-q"]
            argv += ["--quick"] if which == "quick" else []
            rows.append(Contender(
                name, ["-m", "initlab.cli", "report", "--help"] if size == "tiny" else argv,
                goal_seconds=None if size == "tiny" else GOALS[which], env=env,
                ratio_of=None, kind="initlab",
                skip="the full report runs at the full size only"
                if size == "quick" and which == "full" else None))
    return Workload(
        name="report",
        title="initlab report --help (tiny: wiring only)" if size == "tiny"
        else "initlab report --quick and full, as a user's shell runs it, whole process",
        contenders=rows,
        pin_threads=False,
        runs=3,
        warmup=0,
    )
