"""Time initlab against the plain NumPy way and PyTorch, side by side, in one command.

    python benchmarks/run.py [--quick | --tiny] [--only NAME[,NAME]] [--runs N] [--warmup N]
                             [--threads N] [--neighbour [KIND]] [--json PATH] [--no-torch]
                             [--show]

Workloads (goals from issues 3-6, 11, 13 and 16): classic, seeds, deep-stats, mlp, batchnorm,
report, propagate, startup. Each contender runs in its own process, interleaved (A B C A B C
...): warm-up rounds that are not counted, then counted rounds (5 and 1 by default; a workload
may set its own, ``--runs``/``--warmup`` override). The table gives each row's median and
min-max seconds, peak memory, and its ratio A/x, the median of the per-round ratios of row A's
time (initlab's) over the row's, beside the goal and PASS/FAIL. The same goes to
``benchmarks/results.json``. Every BLAS / OpenMP runtime and ``torch.set_num_threads`` get the
same thread count (default: NumPy's BLAS thread count). ``--neighbour`` also runs every
contender beside a busy process and reports its slowdown. ``--quick`` shrinks every workload
for a fast look; ``--tiny`` is the smoke test's size. Issue 30 adds the workload residual.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload_batchnorm  # noqa: E402 - needs the path above
import workload_classic  # noqa: E402
import workload_deep_stats  # noqa: E402
import workload_mlp  # noqa: E402
import workload_propagate  # noqa: E402
import workload_report  # noqa: E402
import workload_residual  # noqa: E402
import workload_seeds  # noqa: E402
import workload_startup  # noqa: E402
import workload_width  # noqa: E402
from harness import HERE, ROOT, child_env, compile_sources, measure  # noqa: E402
from neighbour import KINDS as NEIGHBOURS  # noqa: E402
from neighbour import Neighbour  # noqa: E402
from summary import format_table, goal_counts  # noqa: E402

WORKLOADS = ("classic", "seeds", "deep-stats", "mlp", "batchnorm", "report", "propagate",
             "startup", "residual", "width-coordcheck", "width-transfer")
MIN_RUNS = 5


def blas_threads() -> int:
    """NumPy's BLAS thread count, as threadpoolctl reports it (1 when it cannot tell)."""
    try:
        import numpy  # noqa: F401 - loads the BLAS threadpoolctl inspects
        from threadpoolctl import threadpool_info
    except ImportError:
        return 1
    counts = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    return counts[0] if counts else 1


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "src"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return rev + (" + uncommitted changes in src/" if dirty else "")


def machine(threads: int) -> dict:
    """What the numbers were measured on: CPU, cores, BLAS, versions, load."""
    import numpy

    info = {"cpu": _cpu_model(), "cores": os.cpu_count(), "threads": threads,
            "python": platform.python_version(), "numpy": numpy.__version__,
            "platform": platform.platform(), "initlab_commit": _git()}
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [f"{i['internal_api']} {i['version']} ({i.get('architecture')}, "
                        f"{i['num_threads']} threads by default)"
                        for i in threadpool_info() if i["user_api"] == "blas"]
    except ImportError:
        info["blas"] = ["unknown (threadpoolctl missing)"]
    for pkg in ("initlab", "torch", "scikit-learn"):
        try:
            info[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            info[pkg] = None
    return info


def torch_skip(no_torch: bool) -> str | None:
    """Why the PyTorch contenders are skipped, or None when they run."""
    if no_torch:
        return "skipped (--no-torch)"
    if importlib.util.find_spec("torch") is None:
        return "skipped: PyTorch not installed (pip install torch==2.13.0)"
    return None


def build(names, size: str, skip: str | None, tmp: Path) -> list:
    """The selected workloads at ``size``."""
    made = []
    for name in names:
        if name == "classic":
            made.append(workload_classic.workload(size, skip))
        elif name == "seeds":
            made.append(workload_seeds.workload(size, skip))
        elif name == "deep-stats":
            made.append(workload_deep_stats.workload(size, skip))
        elif name == "mlp":
            made.append(workload_mlp.workload(size, skip, tmp))
        elif name == "batchnorm":
            made.append(workload_batchnorm.workload(size, skip, tmp))
        elif name == "report":
            made.append(workload_report.workload(size, skip, str(tmp / "report")))
        elif name == "propagate":
            made.append(workload_propagate.workload(size, skip))
        elif name == "startup":
            made.append(workload_startup.workload(size, skip))
        elif name == "residual":
            made.append(workload_residual.workload(size, skip, tmp))
        elif name.startswith("width-"):
            made += [w for w in workload_width.workloads(size, skip) if w.name == name]
    return made


def rounds(args, w) -> tuple[int, int]:
    """Counted and warm-up rounds of workload ``w``: the options, else its own, else 5 and 1."""
    runs = args.runs or w.runs or MIN_RUNS
    warmup = args.warmup if args.warmup is not None else (1 if w.warmup is None else w.warmup)
    return runs, warmup


def save(args, info: dict, results: list, started: float, load_before, complete: bool) -> None:
    """Write the results so far to ``--json`` (after every workload, so a stopped run keeps
    what it measured; ``complete`` says whether every selected workload ran)."""
    info.update(load_before=load_before, load_after=os.getloadavg())
    out = {"machine": info, "size": args.size, "runs": args.runs, "warmup": args.warmup,
           "neighbour": args.neighbour, "date": time.strftime("%Y-%m-%d %H:%M:%S"),
           "seconds": time.time() - started, "complete": complete, "workloads": results}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2) + "\n")


def show(path: Path) -> int:
    """Print a saved run: its machine, the table, the headlines and the Markdown table."""
    data = json.loads(path.read_text())
    m = data["machine"]
    counted = ", ".join(f"{w['name']} {w.get('runs')} after {w.get('warmup')}"
                        for w in data["workloads"] if not w["skipped"])
    print(f"{data['date']}, size {data['size']}, runs after warm-up: {counted}; "
          f"{m['threads']} thread(s); {m['cpu']}, {m['cores']} cores; "
          f"{'; '.join(m['blas'])}; load {m['load_before'][0]:.2f} -> {m['load_after'][0]:.2f}"
          + (f"; neighbour: {data['neighbour']}" if data.get("neighbour") else ""))
    print(format_table(data["workloads"]) + "\n")
    print_headlines(data["workloads"])
    print("\n" + format_table(data["workloads"], markdown=True))
    return 0


def print_headlines(results: list[dict]) -> None:
    """Each workload's headline, then how many goals were met."""
    for w in results:
        if w.get("headline"):
            print(w["headline"])
    met, missed = goal_counts(results)
    print(f"goals: {met} met, {missed} missed")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="benchmarks/run.py", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes for a fast look")
    size.add_argument("--tiny", action="store_true", help="the smoke test's sizes (seconds)")
    parser.add_argument("--only", metavar="NAME[,NAME]",
                        help=f"run only these workloads ({', '.join(WORKLOADS)})")
    parser.add_argument("--runs", type=int, default=None,
                        help=f"counted rounds per workload (default {MIN_RUNS}; mlp 9, report 3, "
                        "startup 20)")
    parser.add_argument("--warmup", type=int, default=None,
                        help="uncounted rounds first (default 1; report 0, startup 2)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for every BLAS/OpenMP runtime and torch "
                        "(default: NumPy's BLAS thread count)")
    parser.add_argument("--json", type=Path, default=HERE / "results.json", metavar="PATH",
                        help="where to write the results (default benchmarks/results.json)")
    parser.add_argument("--neighbour", nargs="?", const="matmul", choices=list(NEIGHBOURS),
                        metavar="KIND",
                        help="also run every counted round beside one busy process and report "
                        "each row's slowdown (KIND: matmul, a one-thread NumPy matmul loop, "
                        "the default; python, a pure Python loop)")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch contenders")
    parser.add_argument("--show", action="store_true",
                        help="run nothing: print the tables (text and Markdown) of --json")
    args = parser.parse_args(argv)
    names = WORKLOADS if not args.only else [n.strip() for n in args.only.split(",")]
    bad = [n for n in names if n not in WORKLOADS]
    if bad:
        parser.error(f"unknown workload {bad[0]!r}; choose from {', '.join(WORKLOADS)}")
    if (args.runs is not None and args.runs < 1) or (args.warmup is not None
                                                      and args.warmup < 0):
        parser.error("--runs must be >= 1 and --warmup >= 0")
    args.names = list(names)
    args.size = "quick" if args.quick else "tiny" if args.tiny else "full"
    return args


def main(argv=None) -> int:
    """Run the benchmark; return 1 if a contender crashed (missed goals are not errors)."""
    args = parse_args(argv)
    if args.show:
        return show(args.json)
    # A terminated run raises SystemExit in the wait, which takes the running child down too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    threads = args.threads or blas_threads()
    info = machine(threads)
    skip = torch_skip(args.no_torch)
    print(f"initlab benchmarks, size {args.size}, {threads} thread(s) everywhere"
          + (f", beside a busy {args.neighbour} neighbour too" if args.neighbour else ""))
    print(f"machine: {info['cpu']}, {info['cores']} cores; BLAS: {'; '.join(info['blas'])}; "
          f"torch {info['torch'] or 'not installed'}; load {os.getloadavg()[0]:.2f}")
    if os.getloadavg()[0] > 0.5:
        print(f"warning: load average {os.getloadavg()[0]:.2f} - other processes are running; "
              "numbers will be noisy (threaded runs most; --threads 1 is steadier)")
    if args.runs is not None and args.runs < MIN_RUNS:
        print(f"note: fewer than {MIN_RUNS} counted runs - a check, not a measurement")
    compile_sources()
    print("initlab's modules byte-compiled first, as pip does when it installs a package")
    neighbour = Neighbour(args.neighbour) if args.neighbour else None
    results, started = [], time.time()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="initlab-bench-") as tmp:
        for w in build(args.names, args.size, skip, Path(tmp)):
            print(f"\n[{w.name}] {w.title}")
            if w.skip:
                print(f"  skipped: {w.skip}")
                results.append({"name": w.name, "title": w.title, "skipped": w.skip,
                                "notes": w.notes, "rows": [], "headline": None})
                continue
            for c in w.contenders:
                if c.skip:
                    print(f"  {c.name}: {c.skip}")
            if not w.pin_threads:
                print("  run without thread variables, as a user's shell runs it")
            runs, warmup = rounds(args, w)
            print(f"  {runs} counted rounds after {warmup} warm-up")
            env = child_env(threads if w.pin_threads else None)
            results.append({**measure(w, runs, warmup, env, neighbour=neighbour),
                            "runs": runs, "warmup": warmup})
            save(args, info, results, started, load_before, complete=False)
    print("\n" + format_table(results) + "\n")
    print_headlines(results)
    for w in results:
        for note in w["notes"]:
            print(f"note ({w['name']}): {note}")
    if skip:
        print(f"note: PyTorch contenders {skip}")
    save(args, info, results, started, load_before, complete=True)
    print(f"\nwrote {args.json}")
    crashed = [(w["name"], r["contender"]) for w in results for r in w["rows"] if r["error"]]
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
