"""Helpers of the sweep tests: a tiny sweep file and the ``initlab`` command in a subprocess."""

import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")

TINY = """\
experiment = "compare"
[fixed]
dataset = "moons"
n_samples = 60
iterations = 20
seeds = 2
[grid]
init = ["xavier", "he"]
lr = [0.05, 0.5]
"""


def env() -> dict:
    """The environment of a child process: this tree's initlab first on the path."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [SRC, *filter(None, [os.environ.get("PYTHONPATH")])])}


def initlab(*args, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    """Run ``python -m initlab.cli ARGS`` and capture its output."""
    return subprocess.run([sys.executable, "-m", "initlab.cli", *map(str, args)], env=env(),
                          capture_output=True, text=True, timeout=timeout, **kw)

