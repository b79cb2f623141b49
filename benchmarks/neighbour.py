"""A busy neighbour: one CPU-burning process beside a timed contender (``run.py --neighbour``).

The neighbour is one process with one thread (every BLAS / OpenMP thread variable set to 1),
so on the 2-core machine it takes one core and leaves the other: what a second job on a
shared machine does. Two kinds:

- ``matmul`` (the default): a NumPy loop multiplying a 256 x 256 float64 matrix by itself,
  over and over. Besides the core it uses the caches and memory bandwidth, as the other
  NumPy jobs that share the machine do.
- ``python``: a pure Python loop (``while True: x += 1``); it only takes the core.

``Neighbour.running()`` starts it, waits until it is busy (it prints ``ready`` once its
imports are done), and kills it when the block ends, so it burns only while a contender runs.
Standard library only, like the harness.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys

from harness import THREAD_VARS

#: The code each kind of neighbour runs (``python -c``).
KINDS = {
    "matmul": ("import numpy as np\n"
               "a = np.random.default_rng(0).random((256, 256))\n"
               "c = np.empty_like(a)\n"
               "print('ready', flush=True)\n"
               "while True:\n"
               "    np.matmul(a, a, out=c)\n"),
    "python": ("print('ready', flush=True)\n"
               "x = 0\n"
               "while True:\n"
               "    x += 1\n"),
}


class Neighbour:
    """One busy process of kind ``matmul`` or ``python``, started around each timed run."""

    def __init__(self, kind: str = "matmul"):
        if kind not in KINDS:
            raise ValueError(f"unknown neighbour {kind!r}; choose from {', '.join(KINDS)}")
        self.kind = kind
        self.pid: int | None = None  # the running neighbour's process id, for tests

    def __repr__(self) -> str:
        return f"Neighbour({self.kind!r})"

    @contextlib.contextmanager
    def running(self):
        """Keep the neighbour busy for the duration of the ``with`` block."""
        env = {**os.environ, **{v: "1" for v in THREAD_VARS}}
        proc = subprocess.Popen([sys.executable, "-c", KINDS[self.kind]], env=env,
                                stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        try:
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError(f"the {self.kind} neighbour did not start "
                                   f"(exit code {proc.poll()})")
            self.pid = proc.pid
            yield self
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()
            self.pid = None
