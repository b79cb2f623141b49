"""The benchmark machinery: contenders run as child processes, timed side by side.

Every contender runs in its own Python process (``benchmarks/workload_X.py NAME PARAMS`` or
``-m initlab.cli ...``, started through ``launch.py``), so each pays its own interpreter start
and imports. A *whole-process* contender is timed by the parent, from spawn to exit. An
*inner* contender (the mlp workload) times only its training loop itself and prints the result
as ``BENCH {json}``; the parent then takes that number instead of the wall clock. Peak memory
is the child's own peak resident set, which ``launch.py`` prints at exit. A *direct* contender
(the start-up rows) is started as ``python *argv`` without the launcher. Rows and goals are
computed in ``summary.py``; ``neighbour.py`` is the busy process of ``run.py --neighbour``.

This module only uses the standard library, so importing it costs every contender the same.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from summary import median, summarize  # noqa: F401 - median: sweep_overhead.py takes it here

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: Environment variables that fix the thread count of every BLAS / OpenMP runtime in a child.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
RESULT_PREFIX = "BENCH "
MEM_PREFIX = "BENCHMEM "  # printed by launch.py


#: ``Contender.ratio_of``'s default: the workload's first contender (initlab).
FIRST = "<first>"
#: What a row is, for the headline (``Contender.kind``).
KINDS = ("initlab", "contender", "floor", "reference")


@dataclass
class Contender:
    """One way of doing a workload's work.

    argv: the child's arguments after ``python``. ratio_of: the name of the row whose time is
    divided by this one's, round by round (default: the workload's first row; None: no
    ratio, e.g. where the dtypes differ). goal: the largest acceptable ratio. goal_seconds: the
    largest acceptable median, an absolute goal. kind: initlab, contender, floor or reference
    (default: initlab for the first row, contender for the others). inner: the child reports
    the timed seconds itself. baseline: argv of a child doing only this contender's imports,
    for the memory "above start". env: variables set for this contender's children on top of
    the workload's. direct: run ``python *argv`` without ``launch.py`` (whose own imports
    would count in a start-up time; no peak memory then). skip: why it is not run.
    """

    name: str
    argv: list[str]
    goal: float | None = None
    inner: bool = False
    baseline: list[str] | None = None
    skip: str | None = None
    note: str = ""
    ratio_of: str | None = FIRST
    goal_seconds: float | None = None
    kind: str | None = None
    env: dict[str, str] | None = None
    direct: bool = False


@dataclass
class Workload:
    """A piece of work and its contenders; ``contenders[0]`` is initlab.

    memory_goal_mib: a limit on the first row's peak memory above its baseline.
    pin_threads: False runs the children without the thread variables, as a user's shell
    runs a command (a contender's ``env`` may still export some).
    runs, warmup: this workload's default numbers of counted and uncounted rounds (None: the
    harness's); ``run.py --runs/--warmup`` override them.
    """

    name: str
    title: str
    contenders: list[Contender]
    memory_goal_mib: float | None = None
    memory: bool = False
    pin_threads: bool = True
    skip: str | None = None
    notes: list[str] = field(default_factory=list)
    runs: int | None = None
    warmup: int | None = None

    def __post_init__(self):
        names = [c.name for c in self.contenders]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: two contenders share a name: {names}")
        for c in self.contenders:
            if c.ratio_of not in (None, FIRST) and c.ratio_of not in names:
                raise ValueError(f"{self.name}: {c.name!r} takes its ratio from unknown "
                                 f"{c.ratio_of!r}; the rows are {names}")
            if c.goal is not None and c.ratio_of is None:
                raise ValueError(f"{self.name}: {c.name!r} has a ratio goal but no ratio")
            if c.kind not in (None, *KINDS):
                raise ValueError(f"{self.name}: kind {c.kind!r}; choose from {KINDS}")

    def numerator(self, c: Contender) -> str | None:
        """The name of the row whose time is divided by ``c``'s (None: no ratio)."""
        name = self.contenders[0].name if c.ratio_of == FIRST else c.ratio_of
        return None if name == c.name else name

    def kind(self, c: Contender) -> str:
        """``c.kind``, or initlab for the first row and contender for the others."""
        return c.kind or ("initlab" if c is self.contenders[0] else "contender")


class ChildFailed(RuntimeError):
    """A contender's process exited with an error."""


def script(module: str, name: str, **params) -> list[str]:
    """argv running contender ``name`` of ``benchmarks/<module>.py`` with ``params``."""
    return [str(HERE / f"{module}.py"), name, json.dumps(params)]


def compile_sources() -> None:
    """Byte-compile this checkout's initlab modules, as ``pip install`` does for every package it
    installs.

    Every contender's libraries (NumPy, scikit-learn, PyTorch) come byte-compiled from their
    installation, and so does initlab after the README's ``pip install .``; the benchmark runs
    the checkout's sources instead. Where ``PYTHONDONTWRITEBYTECODE`` is set (this machine sets
    it), Python would compile those sources again in every child process: 0.1 s of each
    initlab process's start (0.30 -> 0.20 s to import the classic experiment), a cost no user
    pays. Python reads the compiled files only while they are newer than their sources.
    """
    import compileall

    compileall.compile_dir(str(ROOT / "src" / "initlab"), quiet=1)


def child_env(threads: int | None) -> dict:
    """The environment of every child: same thread count everywhere, no GUI backend.

    threads None: no thread variables at all, as a user's shell runs a command (the libraries
    and joblib then pick their own defaults).
    """
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    if threads is not None:
        env.update({v: str(threads) for v in THREAD_VARS})
        env["BENCH_THREADS"] = str(threads)
    env["MPLBACKEND"] = "Agg"
    env["PYTHONWARNINGS"] = "ignore"
    # this checkout's initlab, whatever the environment's install points at
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), *filter(None, [
        os.environ.get("PYTHONPATH")])])
    return env


def run_child(argv: list[str], env: dict, timeout: float = 1800, direct: bool = False) -> dict:
    """Run ``python *argv``; return seconds (wall or inner), wall, peak_mib and its BENCH dict.

    direct: without ``launch.py``; peak_mib is then None (the child's ``ru_maxrss`` would
    start at this process's peak, see launch.py).
    """
    launcher = [] if direct else [str(HERE / "launch.py")]
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, *launcher, *argv], stdout=out,
                                stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        # wait4 gives this child's own rusage (RUSAGE_CHILDREN would be cumulative).
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # interrupted: take the child down too
            proc.kill()
            raise
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    if proc.returncode != 0:
        tail = "\n".join(text.strip().splitlines()[-6:])
        raise ChildFailed(f"exit code {proc.returncode}: {tail}")
    # ru_maxrss: only if the launcher said nothing
    reported, peak = {}, None if direct else usage.ru_maxrss / 1024
    for line in text.splitlines():
        if line.startswith(RESULT_PREFIX):
            reported = json.loads(line[len(RESULT_PREFIX):])
        elif line.startswith(MEM_PREFIX):
            peak = float(line[len(MEM_PREFIX):])
    return {"seconds": reported.pop("seconds", wall), "wall": wall, "peak_mib": peak,
            "reported": reported}


def child_main(contenders: dict) -> None:
    """Entry point of a workload module run as a child: ``NAME PARAMS_JSON``.

    Calls ``contenders[NAME](**params)``; a dict it returns is printed as the BENCH line
    (``seconds`` in it replaces the wall clock; the rest is kept as a correctness check).
    """
    name, params = sys.argv[1], json.loads(sys.argv[2])
    result = contenders[name](**params) or {}
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def maxrss_mib() -> float:
    """This process's peak resident memory so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _status_mib(key: str) -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


#: Peak marks seen before each reset of this process's peak (see ``start_memory``).
PEAKS: list[float] = []


def start_memory() -> float:
    """Reset the peak-memory mark (Linux clear_refs) and return the resident MiB now."""
    hwm = _status_mib("VmHWM")
    if hwm is not None:
        PEAKS.append(hwm)
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    return _status_mib("VmRSS") or maxrss_mib()


def peak_since_start(start_mib: float) -> float:
    """How far the peak resident memory rose above ``start_memory()``'s value, MiB."""
    return (_status_mib("VmHWM") or maxrss_mib()) - start_mib


def peak_mib() -> float:
    """This process's peak resident memory, MiB, across any resets of the mark."""
    hwm = _status_mib("VmHWM")
    return max([*PEAKS, hwm]) if hwm is not None else maxrss_mib()


def threads_from_env() -> int:
    """The thread count the harness chose (for ``torch.set_num_threads``)."""
    return int(os.environ.get("BENCH_THREADS", "1"))


def _conditions(neighbour, counted: bool, round_: int) -> list:
    """The runs of one contender in one round: quiet only, or quiet and beside the
    neighbour, the order alternating from round to round."""
    if neighbour is None or not counted:
        return [None]
    return [None, neighbour] if round_ % 2 == 0 else [neighbour, None]


def measure(workload: Workload, runs: int, warmup: int, env: dict, log=print,
            neighbour=None) -> dict:
    """Run the contenders interleaved (A B C A B C ...): ``warmup`` rounds, then ``runs``.

    neighbour: a ``neighbour.Neighbour``; every counted round then runs each contender twice,
    alone and beside the neighbour (A A' B B' ..., then A' A B' B ...). The goals are judged
    on the runs alone; the others give each row's slowdown factor.
    """
    active = [c for c in workload.contenders if c.skip is None]
    samples = {c.name: [] for c in active}
    busy = {c.name: [] for c in active} if neighbour is not None else None
    peaks = {c.name: [] for c in active}
    reported, errors, baselines, above = {}, {}, {}, {}
    envs = {c.name: {**env, **(c.env or {})} for c in active}
    for i in range(warmup + runs):
        tag = "warm-up" if i < warmup else f"run {i - warmup + 1}/{runs}"
        for c in active:
            for beside in _conditions(neighbour, i >= warmup, i):
                if c.name in errors:
                    continue
                try:
                    if beside is None:
                        m = run_child(c.argv, envs[c.name], direct=c.direct)
                    else:
                        with beside.running():
                            m = run_child(c.argv, envs[c.name], direct=c.direct)
                except ChildFailed as exc:
                    errors[c.name] = str(exc)
                    log(f"  {workload.name:10s} {c.name:30s} FAILED: {exc}")
                    continue
                where = "" if beside is None else f" beside {beside.kind}"
                mem = "" if m["peak_mib"] is None else f" {m['peak_mib']:7.0f} MiB"
                log(f"  {workload.name:10s} {c.name:30s} {tag:9s} {m['seconds']:8.3f} s"
                    f"{mem}{where}")
                if i < warmup:
                    continue
                if beside is not None:
                    busy[c.name].append(m["seconds"])
                    continue
                samples[c.name].append(m["seconds"])
                if m["peak_mib"] is not None:
                    peaks[c.name].append(m["peak_mib"])
                grow = m["reported"].pop("grow_mib", None)
                if grow is not None:  # an inner child measured its own rise above start
                    above.setdefault(c.name, []).append(grow)
                reported[c.name] = m["reported"]
    if workload.memory:
        for c in active:
            if c.baseline and c.name not in errors:
                try:  # the smaller of two: imports only, so noise can only add
                    baselines[c.name] = min(run_child(c.baseline, envs[c.name])["peak_mib"]
                                            for _ in range(2))
                except ChildFailed as exc:
                    errors.setdefault(c.name, f"baseline: {exc}")
                    continue
                above[c.name] = [p - baselines[c.name] for p in peaks[c.name]]
    return summarize(workload, samples, peaks, above, baselines, reported, errors, busy)
