"""Workload "startup": how long the command line takes to answer (issue 16, goals: ``initlab
--help`` <= 0.25 s, ``initlab init he --shape 3,3`` <= 0.4 s).

Each row is one whole process, timed from spawn to exit, started straight as ``python ...``
(not through ``launch.py``, whose own imports would count here; so no peak memory), without
the harness's thread variables, as a user's shell runs it. initlab runs as ``python -m
initlab.cli``, what the ``initlab`` script does (the script only imports ``initlab.cli`` and
calls ``main``). Two reference rows, not judged: ``python -c pass`` (the interpreter alone,
the floor) and ``python -c "import numpy"`` (what any command that needs NumPy pays). The
runs are short, so this workload counts 20 rounds after 2 warm-up rounds by default.
"""

from __future__ import annotations

from harness import Contender, Workload

GOALS = {"help": 0.25, "init": 0.4}


def workload(size: str, torch_skip: str | None) -> Workload:
    """The start-up workload (the same at every size: it is already small)."""
    cli = ["-m", "initlab.cli"]
    return Workload(
        name="startup",
        title="the command line's start-up, whole process, nothing exported",
        contenders=[
            Contender("initlab --help", [*cli, "--help"], goal_seconds=GOALS["help"],
                      ratio_of=None, direct=True),
            Contender("initlab init he --shape 3,3", [*cli, "init", "he", "--shape", "3,3"],
                      goal_seconds=GOALS["init"], ratio_of=None, kind="initlab", direct=True),
            Contender("python -c pass", ["-c", "pass"], ratio_of=None, kind="floor",
                      direct=True, note="the interpreter alone"),
            Contender("python -c 'import numpy'", ["-c", "import numpy"], ratio_of=None,
                      kind="reference", direct=True, note="what a command needing NumPy pays"),
        ],
        pin_threads=False,
        runs=20,
        warmup=2,
    )
