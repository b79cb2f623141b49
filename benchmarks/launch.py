"""Run one contender's command inside this process and report its true peak memory.

    python benchmarks/launch.py -m initlab.cli activations ...
    python benchmarks/launch.py -c "import numpy"
    python benchmarks/launch.py benchmarks/workload_mlp.py numpy '{"data": ...}'

Why: a child's ``ru_maxrss`` starts at its parent's peak (fork/vfork before exec carries the
parent's high-water mark), so the harness, which holds the mlp data, would inflate every
child's number. This launcher resets the Linux peak mark (``/proc/self/clear_refs``) first,
runs the command as ``python`` would (``runpy``), and at exit prints ``BENCHMEM <MiB>``: the
largest ``VmHWM`` seen (a workload that resets the mark itself through
``harness.start_memory`` keeps its earlier peak in ``harness.PEAKS``). It uses only the
standard library, so it costs every contender the same few milliseconds.
"""

from __future__ import annotations

import atexit
import runpy
import sys

import harness


def _report() -> None:
    print(f"{harness.MEM_PREFIX}{harness.peak_mib():.3f}", flush=True)


def main() -> None:
    harness.start_memory()
    atexit.register(_report)
    args = sys.argv[1:]
    if args[0] == "-m":
        sys.argv = [args[1], *args[2:]]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    elif args[0] == "-c":
        sys.argv = ["-c", *args[2:]]
        exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__"})
    else:
        sys.argv = args
        runpy.run_path(args[0], run_name="__main__")


if __name__ == "__main__":
    main()
