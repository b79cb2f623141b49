"""Rendering of the report's figures: each figure's build and savefig, timed.

``initlab report --quick`` draws 23 figures in 9 sections. This script builds the same figures
from the same results and times, per figure, the plot function (``build``) and
``initlab.plots.common.png_bytes`` (``save``: layout, drawing and PNG encoding) in CPU time of this
process (steadier than wall time on a shared machine; the work is single-threaded), then
prints a table and the total, with each PNG's size and the total's wall time.

The quick sections' results are computed once (about a minute, by the report's own steps) and
kept as JSON in ``--cache`` (default: ``initlab-figures-quick.json`` in the temporary folder);
later runs only load them, so the time measured is the rendering alone. Rounds run one after
another in one process; the table gives each figure's median over the rounds, the total the
median of the rounds' totals (the first round also pays loading fonts and parsers, so use
``--rounds 3`` or more to see the steady cost).

Run from the repository root (the code measured is the one on ``PYTHONPATH``; to compare two
trees, run this script alternately with each tree's ``src``, A B A B, and compare per-round
ratios)::

    PYTHONPATH=src OMP_NUM_THREADS=1 .venv/bin/python benchmarks/figures.py --rounds 3
    PYTHONPATH=src .venv/bin/python benchmarks/figures.py --out /tmp/figs  # also write PNGs
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

#: Section id -> the figures the report draws from its result, as (name, module of
#: initlab.plots, function); "*" in a name stands for each activation of the result.
FIGURES = {
    "classic-circles": [("cost", "classic", "cost_figure"), ("boundary", "classic",
                                                             "boundary_figure")],
    "classic-moons": [("cost", "classic", "cost_figure"), ("boundary", "classic",
                                                           "boundary_figure")],
    "classic-seeds": [("loss", "compare", "loss_figure"), ("accuracy", "compare",
                                                           "accuracy_figure"),
                      ("boundary", "compare", "boundary_figure")],
    "saito": [("histograms_*", "activations", "histogram_figure"),
              ("std_vs_depth", "activations", "std_figure")],
    "deep": [("histograms_*", "activations", "histogram_figure"),
             ("std_vs_depth", "activations", "std_figure")],
    "digits": [("loss", "compare", "loss_figure"), ("accuracy", "compare", "accuracy_figure")],
    "regularize": [("curves", "regularize", "curves_figure")],
    "normalize": [("curves", "normalize", "grid_figure"), ("scales", "normalize",
                                                           "summary_figure")],
    "depth": [("propagation", "propagate", "propagation_figure"),
              ("phase", "propagate", "phase_figure"),
              ("jacobian", "propagate", "jacobian_figure"),
              ("trainability", "propagate", "trainability_figure")],
}


def compute(cache: Path) -> None:
    """Run the quick report's steps once and save each result (with its type) to ``cache``."""
    from initlab.report.sections import SECTIONS, Settings, run_section

    saved = {}
    for section in SECTIONS:
        sid, start = section.id, time.perf_counter()
        _, result = run_section(section, Settings(quick=True))
        kind = type(result)
        saved[sid] = {"type": f"{kind.__module__}:{kind.__qualname__}",
                      "result": result.to_dict(detail=True)}
        print(f"computed {sid} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    cache.write_text(json.dumps(saved, allow_nan=False))


def load(cache: Path) -> dict:
    """Section id -> result, rebuilt from the cache."""
    out = {}
    for sid, entry in json.loads(cache.read_text()).items():
        module, name = entry["type"].split(":")
        out[sid] = getattr(importlib.import_module(module), name).from_dict(entry["result"])
    return out


def jobs(results: dict) -> list:
    """(section, figure name, thunk) for every figure of the report, in the report's order."""
    out = []
    for sid, specs in FIGURES.items():
        result = results[sid]
        for name, module, function in specs:
            make = getattr(importlib.import_module(f"initlab.plots.{module}"), function)
            if "*" in name:
                acts = list(dict.fromkeys(r.activation for r in result.runs))
                out += [(sid, name.replace("*", a), lambda m=make, r=result, a=a: m(r, a))
                        for a in acts]
            else:
                out.append((sid, name, lambda m=make, r=result: m(r)))
    return out


def one_round(figures: list, out: Path | None) -> tuple[list, float]:
    """(build s, save s, PNG bytes) per figure, and the round's wall-clock seconds; writes the
    PNGs into ``out`` when given. Times per figure are this process's CPU time (the work is
    single-threaded), which other processes on a busy machine disturb less than wall time."""
    from initlab.plots.common import png_bytes

    rows = []
    start = time.perf_counter()
    for sid, name, make in figures:
        t0 = time.process_time()
        fig = make()
        t1 = time.process_time()
        png = png_bytes(fig)
        t2 = time.process_time()
        rows.append((t1 - t0, t2 - t1, len(png)))
        if out is not None:
            (out / f"{sid}-{name}.png").write_bytes(png)
    return rows, time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path,
                        default=Path(tempfile.gettempdir()) / "initlab-figures-quick.json",
                        help="results of the quick sections (computed when missing)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of all figures (default 3)")
    parser.add_argument("--out", type=Path, help="write each figure's PNG into this folder")
    args = parser.parse_args(argv)
    if not args.cache.exists():
        compute(args.cache)
    figures = jobs(load(args.cache))
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
    rounds, walls = zip(*(one_round(figures, args.out) for _ in range(args.rounds)),
                        strict=True)
    print(f"{'section':16} {'figure':24} {'build ms':>9} {'save ms':>9} {'PNG KiB':>8}")
    for k, (sid, name, _) in enumerate(figures):
        build = statistics.median(r[k][0] for r in rounds)
        save = statistics.median(r[k][1] for r in rounds)
        print(f"{sid:16} {name:24} {1e3 * build:9.0f} {1e3 * save:9.0f} "
              f"{rounds[-1][k][2] / 1024:8.1f}")
    totals = [sum(b + s for b, s, _ in r) for r in rounds]
    size = sum(n for _, _, n in rounds[-1])
    print(f"total of {len(figures)} figures: {statistics.median(totals):.2f} s CPU (median of "
          f"{len(rounds)} rounds: {', '.join(f'{t:.2f}' for t in totals)}); wall "
          f"{statistics.median(walls):.2f} s; PNGs {size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
