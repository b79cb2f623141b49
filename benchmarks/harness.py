"""The benchmark machinery: contenders run as child processes, timed side by side.

Every contender runs in its own Python process (``benchmarks/workload_X.py NAME PARAMS`` or
``-m initlab.cli ...``, started through ``launch.py``), so each pays its own interpreter start
and imports. A *whole-process* contender is timed by the parent, from spawn to exit. An
*inner* contender (the mlp workload) times only its training loop itself and prints the result
as ``BENCH {json}``; the parent then takes that number instead of the wall clock. Peak memory
is the child's own peak resident set, which ``launch.py`` prints at exit.

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

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: Environment variables that fix the thread count of every BLAS / OpenMP runtime in a child.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
RESULT_PREFIX = "BENCH "
MEM_PREFIX = "BENCHMEM "  # printed by launch.py


@dataclass
class Contender:
    """One way of doing a workload's work.

    argv: the child's arguments after ``python``. goal: the largest acceptable ratio
    initlab / this contender (None: reported for information). inner: the child reports the
    timed seconds itself. baseline: argv of a child doing only this contender's imports, for
    the memory "above start". skip: why it is not run (e.g. PyTorch missing).
    """

    name: str
    argv: list[str]
    goal: float | None = None
    inner: bool = False
    baseline: list[str] | None = None
    skip: str | None = None
    note: str = ""


@dataclass
class Workload:
    """A piece of work and its contenders; ``contenders[0]`` is initlab.

    goal_seconds: an absolute limit on initlab's median (the report workload).
    memory_goal_mib: a limit on initlab's peak memory above its baseline.
    pin_threads: False runs the children without the thread variables (a workload with no
    contender to equalize with, whose command manages its own worker processes).
    """

    name: str
    title: str
    contenders: list[Contender]
    goal_seconds: float | None = None
    memory_goal_mib: float | None = None
    memory: bool = False
    pin_threads: bool = True
    skip: str | None = None
    notes: list[str] = field(default_factory=list)


class ChildFailed(RuntimeError):
    """A contender's process exited with an error."""


def script(module: str, name: str, **params) -> list[str]:
    """argv running contender ``name`` of ``benchmarks/<module>.py`` with ``params``."""
    return [str(HERE / f"{module}.py"), name, json.dumps(params)]


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
    return env


def run_child(argv: list[str], env: dict, timeout: float = 1800) -> dict:
    """Run ``python *argv``; return seconds (wall or inner), wall, peak_mib and its BENCH dict."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, str(HERE / "launch.py"), *argv], stdout=out,
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
    reported, peak = {}, usage.ru_maxrss / 1024  # ru_maxrss: only if the launcher said nothing
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


def median(values: list[float]) -> float:
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def measure(workload: Workload, runs: int, warmup: int, env: dict, log=print) -> dict:
    """Run the contenders interleaved (A B C A B C ...): ``warmup`` rounds, then ``runs``."""
    active = [c for c in workload.contenders if c.skip is None]
    samples = {c.name: [] for c in active}
    peaks = {c.name: [] for c in active}
    reported, errors, baselines, above = {}, {}, {}, {}
    for i in range(warmup + runs):
        tag = "warm-up" if i < warmup else f"run {i - warmup + 1}/{runs}"
        for c in active:
            if c.name in errors:
                continue
            try:
                m = run_child(c.argv, env)
            except ChildFailed as exc:
                errors[c.name] = str(exc)
                log(f"  {workload.name:10s} {c.name:30s} FAILED: {exc}")
                continue
            log(f"  {workload.name:10s} {c.name:30s} {tag:9s} {m['seconds']:8.3f} s "
                f"{m['peak_mib']:7.0f} MiB")
            if i >= warmup:
                samples[c.name].append(m["seconds"])
                peaks[c.name].append(m["peak_mib"])
                grow = m["reported"].pop("grow_mib", None)
                if grow is not None:  # an inner child measured its own rise above start
                    above.setdefault(c.name, []).append(grow)
                reported[c.name] = m["reported"]
    if workload.memory:
        for c in active:
            if c.baseline and c.name not in errors:
                try:  # the smaller of two: imports only, so noise can only add
                    baselines[c.name] = min(run_child(c.baseline, env)["peak_mib"]
                                            for _ in range(2))
                except ChildFailed as exc:
                    errors.setdefault(c.name, f"baseline: {exc}")
                    continue
                above[c.name] = [p - baselines[c.name] for p in peaks[c.name]]
    return summarize(workload, samples, peaks, above, baselines, reported, errors)


def summarize(workload, samples, peaks, above, baselines, reported, errors) -> dict:
    """Rows of the table: median, min, max, peak memory, pairwise ratio, goal, pass/fail."""
    first = workload.contenders[0].name
    ref = samples.get(first, [])
    rows = []
    for c in workload.contenders:
        t = samples.get(c.name, [])
        row = {"contender": c.name, "note": c.note, "skipped": c.skip,
               "error": errors.get(c.name), "samples": t, "median": None, "min": None,
               "max": None, "peak_mib": None, "above_start_mib": None, "ratio": None,
               "goal": None, "passed": None, "check": reported.get(c.name)}
        if t:
            row.update(median=median(t), min=min(t), max=max(t), peak_mib=max(peaks[c.name]))
            row["baseline_mib"] = baselines.get(c.name)
            if above.get(c.name):
                row["above_start_mib"] = max(above[c.name])
        if c.name == first:
            goals, ok = [], []
            if workload.goal_seconds is not None:
                goals.append(f"< {workload.goal_seconds:g} s")
                ok.append(bool(t) and row["median"] < workload.goal_seconds)
            if workload.memory_goal_mib is not None:
                goals.append(f"mem <= {workload.memory_goal_mib:.3g} MiB")
                rise = row["above_start_mib"]
                ok.append(rise is not None and rise <= workload.memory_goal_mib)
            if goals:
                row.update(goal="; ".join(goals), passed=all(ok))
            elif c.skip is None and not t:
                row["passed"] = False
        else:
            pairs = [a / b for a, b in zip(ref, t, strict=False)]
            if pairs:
                row["ratio"] = median(pairs)
            if c.goal is not None and c.skip is None:
                row["goal"] = f"<= {c.goal:g}x"
                row["passed"] = row["ratio"] is not None and row["ratio"] <= c.goal
        rows.append(row)
    return {"name": workload.name, "title": workload.title, "skipped": workload.skip,
            "notes": workload.notes, "rows": rows}


def _fmt(value, spec: str, none: str = "-") -> str:
    return none if value is None else format(value, spec)


def format_table(results: list[dict], markdown: bool = False) -> str:
    """One table of every workload's rows: plain text, or Markdown for the README."""
    head = ["workload", "contender", "median s", "min-max s", "peak MiB (+start)",
            "initlab/x", "goal", "result"]
    lines = []
    for w in results:
        if w["skipped"]:
            lines.append([w["name"], "(skipped)", "", "", "", "", "", w["skipped"]])
            continue
        for r in w["rows"]:
            if r["skipped"] or r["error"]:
                why = r["skipped"] or "FAILED: " + r["error"].splitlines()[-1][:60]
                lines.append([w["name"], r["contender"], "", "", "", "", "", why])
                continue
            mem = _fmt(r["peak_mib"], ".0f")
            if r["above_start_mib"] is not None:
                mem += f" ({r['above_start_mib']:+.0f})"
            spread = f"{_fmt(r['min'], '.2f')}-{_fmt(r['max'], '.2f')}"
            result = {True: "PASS", False: "FAIL", None: ""}[r["passed"]]
            lines.append([w["name"], r["contender"], _fmt(r["median"], ".2f"), spread, mem,
                          _fmt(r["ratio"], ".2f"), r["goal"] or "", result])
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return "\n".join(out + ["| " + " | ".join(str(x) for x in row) + " |" for row in lines])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines, strict=True)]
    rule = "  ".join("-" * n for n in widths)
    out = ["  ".join(str(x).ljust(n) for x, n in zip(head, widths, strict=True)), rule]
    out += ["  ".join(str(x).ljust(n) for x, n in zip(row, widths, strict=True)).rstrip()
            for row in lines]
    return "\n".join(out)
