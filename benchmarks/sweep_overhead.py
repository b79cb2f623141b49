"""What ``initlab sweep run`` costs per point beyond the experiment itself (issue 14).

    python benchmarks/sweep_overhead.py [--points 200] [--small 20] [--runs 3] [--no-dask]

The goal's measure ("per point beyond the experiment"): from the store of each run, the
seconds from the first point's result to the last one's minus the own seconds (timed inside
the worker around the experiment) of the points finished in between, per point. It is what the
scheduler, the store and the transport add while the sweep runs, and is immune to the
interpreter's start, which on a shared machine varies by seconds between runs.

Workload: a sweep of tiny ``compare`` points (moons, 40 examples, [2, 4, 1], 1 seed, 2
iterations; the grid is ``seed`` = 0, 1, ...), so nearly all of a point's time is overhead.
Contenders, interleaved round after round (each a fresh process, same thread variables):

- ``loop``: the same points one after another in one process through ``run_point`` (the
  experiment with its own parser, no store, no pool): the experiment itself;
- ``processes``: ``initlab sweep run --workers 1`` into a fresh store;
- ``dask-local``: the same with ``--scheduler dask-local --workers 1``.

One worker, so every contender computes on one core alike. Per round and contender:
overhead per point = (sweep seconds - loop seconds) / points, with everything (interpreter,
imports, pool or cluster start, the store) counted; and the marginal cost of one more point,
(T(points) - T(small)) / (points - small) for the sweep minus the same for the loop, which
leaves the fixed start out. The medians over rounds go to benchmarks/sweep_overhead.json.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ROOT, child_env, median  # noqa: E402

GOALS = {"processes": 0.050, "dask-local": 0.100}  # seconds per point (issue 14)
LOOP = ("import sys; from initlab.cli.point import run_point; from initlab.sweep import "
        "read_sweep\nfor p in read_sweep(sys.argv[1]).points:\n"
        "    assert run_point(p.config)['status'] == 'done'")


def sweep_file(folder: Path, points: int) -> Path:
    path = folder / f"sweep{points}.toml"
    path.write_text('experiment = "compare"\n[fixed]\ndataset = "moons"\nn_samples = 40\n'
                    'layers = [4]\ninit = "he"\nseeds = 1\niterations = 2\n'
                    f"[grid]\nseed = {list(range(points))}\n")
    return path


def timed(argv: list[str], env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *argv], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=1800)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{argv}: exit {proc.returncode}: {proc.stderr.strip()[-400:]}")
    return seconds


def one_round(folder: Path, sizes: list[int], contenders: list[str], env: dict) -> dict:
    times = {}
    for n in sizes:
        path = sweep_file(folder, n)
        for name in contenders:
            if name == "loop":
                times[name, n] = timed(["-c", LOOP, str(path)], env)
            else:
                store = folder / f"{name}-{n}-{time.monotonic_ns()}.db"
                times[name, n] = timed(["-m", "initlab.cli", "sweep", "run", str(path),
                                        "--store", str(store), "--workers", "1", "-q",
                                        "--scheduler", name], env)
                times[f"{name} in store", n] = in_store(store)
    return times


def in_store(path: Path) -> float:
    """Per point: seconds from the first result to the last, minus the own seconds of the
    points finished in between (the first point, which waits for the worker to start and
    import, is left out: that start is a fixed cost, not a per-point one)."""
    with closing(sqlite3.connect(path)) as db:
        times = db.execute("SELECT finished, seconds FROM points WHERE status = 'done' "
                           "ORDER BY finished").fetchall()
    own = sum(seconds for _, seconds in times[1:])
    return (times[-1][0] - times[0][0] - own) / (len(times) - 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--small", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--json", type=Path, default=Path(__file__).with_name(
        "sweep_overhead.json"))
    args = parser.parse_args()
    contenders = ["loop", "processes"] + ([] if args.no_dask else ["dask-local"])
    sizes = [args.points, args.small]
    env = child_env(1)
    rounds = []
    with tempfile.TemporaryDirectory(prefix="initlab-bench-sweep-") as tmp:
        for r in range(args.runs):
            times = one_round(Path(tmp), sizes, contenders, env)
            rounds.append({f"{k[0]}@{k[1]}": v for k, v in times.items()})
            print(f"round {r + 1}: " + ", ".join(f"{k[0]}@{k[1]} {v:.2f} s"
                                                 for k, v in times.items()), flush=True)
    n, s = args.points, args.small
    rows = []
    for name in contenders[1:]:
        total = [(t[f"{name}@{n}"] - t[f"loop@{n}"]) / n for t in rounds]
        marginal = [(t[f"{name}@{n}"] - t[f"{name}@{s}"] - t[f"loop@{n}"] + t[f"loop@{s}"])
                    / (n - s) for t in rounds]
        rows.append({"scheduler": name, "loop_s": median([t[f"loop@{n}"] for t in rounds]),
                     "in_store_per_point_ms": 1000 * median(
                         [t[f"{name} in store@{n}"] for t in rounds]),
                     "sweep_s": median([t[f"{name}@{n}"] for t in rounds]),
                     "overhead_per_point_ms": 1000 * median(total),
                     "marginal_per_point_ms": 1000 * median(marginal),
                     "goal_ms": 1000 * GOALS[name]})
    print(f"\n{n} points, 1 worker, medians of {args.runs} interleaved rounds")
    print("| scheduler | per point beyond the experiment (store) | goal | result | loop s | "
          "sweep s | all in per point | marginal per point |\n|---|---|---|---|---|---|---|---|")
    for row in rows:
        ok = row["in_store_per_point_ms"] <= row["goal_ms"]
        print(f"| {row['scheduler']} | {row['in_store_per_point_ms']:.1f} ms | "
              f"< {row['goal_ms']:.0f} ms | {'PASS' if ok else 'FAIL'} | {row['loop_s']:.2f} | "
              f"{row['sweep_s']:.2f} | {row['overhead_per_point_ms']:.1f} ms | "
              f"{row['marginal_per_point_ms']:.1f} ms |")
    args.json.write_text(json.dumps({"points": n, "small": s, "runs": args.runs,
                                     "rounds": rounds, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
