"""``initlab sweep``: run a grid of any experiment into a resumable store, then show or plot it."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from initlab.cli.common import Parser, positive_int, show_progress
from initlab.errors import InitlabError

HELP = "run a grid of any experiment (local processes or Dask) into a resumable SQLite store"
DESCRIPTION = """\
A sweep file (TOML) names one experiment, fixed options and a grid; every combination of the
grid values is one point, with exactly the keys of a file for 'initlab run' and checked by the
experiment's own parser. 'run' stores every point in a SQLite file (config, result, records,
timings, host, error); stopped at any moment (Ctrl-C, kill -9) and run again, it skips the
finished points. A failing point is stored with its error and the sweep goes on.

  plan FILE        the points, and with --probe a time and memory estimate (nothing stored)
  run FILE         run the points into --store (processes, dask-local or tcp://HOST:PORT)
  show             the store as a flat table (grid columns + metrics), or --csv / --json
  plot             a metric against a grid column (lines, mean +- 95% interval over seeds)
                   or, with --z, a heat map over two columns

sweep file:
  experiment = "compare"
  [fixed]
  dataset = "moons"
  iterations = 3000
  seeds = 10
  [grid]
  init = ["xavier", "he", "orthogonal"]
  layers = ["10,5", "32,32,32"]
  lr = [0.01, 0.1]

examples:
  initlab sweep plan examples/sweep_compare.toml --probe
  initlab sweep run examples/sweep_compare.toml --store sweep.db --workers 4
  initlab sweep run examples/sweep_compare.toml --store sweep.db --scheduler dask-local
  initlab sweep run examples/sweep_compare.toml --store sweep.db --scheduler tcp://10.0.0.5:8786
  initlab sweep show --store sweep.db --csv sweep.csv
  initlab sweep plot --store sweep.db --x lr --y test_accuracy --hue init --where layers=10,5
  initlab sweep plot --store sweep.db --x lr --y layers --z test_accuracy --where init=he

the trainability phase diagram (examples/sweep_trainability.toml: one point per
(sigma_w^2, depth) cell of 'propagate --trainability', one row per seed):
  initlab sweep run examples/sweep_trainability.toml --store phase.db
  initlab sweep plot --store phase.db --x sigma_w2 --y depth --z train_accuracy \\
      --overlay six_xi_c --out phase.png
"""


def add_arguments(parser) -> None:
    from initlab.cli.common import add_figure_options

    sub = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=Parser,
                                required=True)
    plan = sub.add_parser("plan", help="list the points and estimate time and memory")
    plan.add_argument("file", type=Path, help="the sweep file (TOML)")
    plan.add_argument("--probe", action="store_true",
                      help="run the first and the last point once (not stored) to estimate "
                      "time and memory")
    plan.add_argument("--store", type=Path, help="count what this store already holds")
    plan.add_argument("--workers", type=positive_int, help="workers to plan for (CPUs)")
    run = sub.add_parser("run", help="run the points into a store (resumes a stopped sweep)")
    run.add_argument("file", type=Path, help="the sweep file (TOML)")
    run.add_argument("--store", type=Path, required=True, help="the SQLite store (made if new)")
    run.add_argument("--scheduler", default="processes",
                     help="processes (default), dask-local, or tcp://HOST:PORT of a running "
                     "Dask scheduler")
    run.add_argument("--workers", type=positive_int,
                     help="worker processes (processes, dask-local; default: the CPUs)")
    run.add_argument("--retry-failed", action="store_true", help="run failed points again")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    show = sub.add_parser("show", help="the store as a flat table; --csv, --json")
    show.add_argument("--store", type=Path, required=True, help="the SQLite store")
    show.add_argument("--csv", type=Path, metavar="PATH", help="write the table as CSV")
    show.add_argument("--json", action="store_true", help="print the rows as JSON")
    show.add_argument("--status", choices=["done", "failed", "pending", "running", "all"],
                      default="done", help="done: the results (default); else one row per "
                      "point with its status, error, seconds and host")
    plot = sub.add_parser("plot", help="a metric against grid columns: lines or a heat map")
    plot.add_argument("--store", type=Path, required=True, help="the SQLite store")
    plot.add_argument("--x", required=True, help="column on the x axis (e.g. lr)")
    plot.add_argument("--y", required=True,
                      help="the metric (e.g. test_accuracy), or with --z a second column")
    plot.add_argument("--z", help="a metric: draw a heat map over --x and --y")
    plot.add_argument("--hue", help="one line per value of this column (e.g. init)")
    plot.add_argument("--where", action="append", metavar="COLUMN=VALUE",
                      help="keep only these rows (repeatable), e.g. --where layers=10,5")
    plot.add_argument("--overlay", choices=["six_xi_c"],
                      help="with --z: draw theory on the heat map; six_xi_c: the depth "
                      "6 xi_c(sigma_w^2) below which theory expects nets to train (Schoenholz "
                      "et al. 2017), for the rows' activation and sigma_b2 (a 'propagate "
                      "--trainability' sweep)")
    plot.add_argument("--out", dest="png", type=Path, metavar="FILE",
                      help="the figure file (default sweep.FORMAT)")
    add_figure_options(plot, default_format=None)


def _load_points(path: Path):
    """Read the sweep file and check every point with its experiment's parser."""
    from initlab.cli.point import check_point
    from initlab.sweep.grid import read_sweep, show_value

    sweep = read_sweep(path)
    for i, p in enumerate(sweep.points, 1):
        where = ", ".join(f"{k}={show_value(v)}" for k, v in p.grid.items())
        check_point(p.config, f"{path} point {i} ({where})")
    return sweep


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _plan(args) -> int:
    from initlab.results import format_table
    from initlab.sweep.grid import show_value
    from initlab.sweep.store import Store

    sweep = _load_points(args.file)
    workers = args.workers or os.cpu_count() or 1
    n = len(sweep.points)
    status = {}
    if args.store is not None:
        with Store(args.store, create=False) as store:
            status = store.status(p.key for p in sweep.points)
    header = ["#", *sweep.columns] + (["status"] if status else [])
    rows = [[i, *(show_value(v) for v in p.grid.values())]
            + ([status.get(p.key, "new")] if status else [])
            for i, p in enumerate(sweep.points, 1)]
    if len(rows) > 40:
        rows = rows[:30] + [["..."] + [""] * (len(header) - 1)] + rows[-5:]
    print(format_table(header, rows))
    shape = " x ".join(str(len(v)) for v in sweep.grid.values())
    print(f"\n{n} points ({shape}) of {sweep.experiment}")
    left = n - sum(1 for s in status.values() if s == "done")
    if status:
        print(f"in {args.store}: {n - left} done, {left} to run")
    if args.probe:
        from initlab.cli.point import probe_point
        from initlab.sweep.schedulers import ProcessPool

        probes = [sweep.points[0]] + ([sweep.points[-1]] if n > 1 else [])
        pool = ProcessPool(len(probes))
        try:
            outcomes = [f.result() for f in [pool.submit(probe_point, p.config) for p in probes]]
        finally:
            pool.close()
        bad = [o["error"] for o in outcomes if o["status"] != "done"]
        if bad:
            raise InitlabError(f"a probe point failed: {bad[0]}")
        secs = [o["seconds"] for o in outcomes]
        peak = max(o["peak_mib"] for o in outcomes)
        each = sum(secs) / len(secs)
        print(f"probe: the first and last points took {', '.join(f'{s:.2f} s' for s in secs)}"
              f", peak memory {peak:.0f} MiB per worker process")
        print(f"estimate: {left} points x {each:.2f} s / {workers} workers = about "
              f"{_duration(left * each / min(workers, max(left, 1)))} and "
              f"{peak * min(workers, max(left, 1)):.0f} MiB (if the other points cost alike)")
    elif args.store is not None and status:
        with Store(args.store, create=False) as store:
            done = [r["seconds"] for r in store.rows("done")
                    if r["key"] in status and r["seconds"]]
        if done:
            each = sum(done) / len(done)
            print(f"estimate: {left} points x {each:.2f} s (mean of {len(done)} finished) / "
                  f"{workers} workers = about {_duration(left * each / workers)}")
    else:
        print("no time or memory estimate: add --probe to time a point (nothing is stored)")
    return 0


def _run(args) -> int:
    from initlab.cli import guard
    from initlab.cli.point import run_point
    from initlab.runtime.progress import Progress
    from initlab.sweep.schedulers import check_scheduler, drive, open_pool
    from initlab.sweep.store import Store

    sweep = _load_points(args.file)
    check_scheduler(args.scheduler)
    Store.check(args.store)
    pool = open_pool(args.scheduler, args.workers)
    try:
        store = Store(args.store)
    except BaseException:
        pool.close(cancel=True)
        raise
    start = time.perf_counter()
    with store:
        store.add(sweep.points, sweep.experiment)
        store.release_stale()
        status = store.status(p.key for p in sweep.points)
        wanted = ("pending", "failed") if args.retry_failed else ("pending",)
        todo = [p for p in sweep.points if status[p.key] in wanted]
        errors = []
        with Progress(len(todo), "initlab sweep", "point",
                      enabled=show_progress(args)) as bar:
            tally = {"done": 0, "failed": 0}

            def on_outcome(point, outcome):
                if outcome is not None:
                    tally[outcome["status"]] += 1
                    if outcome["status"] == "failed":
                        errors.append(outcome["error"])
                # the postfix first: a plain line, written by update, shows it
                bar.set_postfix_str(f"done {tally['done']}, failed {tally['failed']}, "
                                    f"left {bar.total - bar.n - 1}")
                bar.update()

            try:
                counts = drive(pool, store, todo, run_point, retry_failed=args.retry_failed,
                               on_outcome=on_outcome)
            except (KeyboardInterrupt, guard.Interrupted) as exc:
                bar.close()
                print(f"initlab sweep: interrupted after {tally['done'] + tally['failed']} "
                      f"points; run the same command again to resume", file=sys.stderr)
                return getattr(exc, "code", None) or 130
        pool.close()
        final = store.status(p.key for p in sweep.points)
    n = len(sweep.points)
    done = sum(1 for s in final.values() if s == "done")
    failed = sum(1 for s in final.values() if s == "failed")
    print(f"ran {counts['done'] + counts['failed']} of {n} points in "
          f"{_duration(time.perf_counter() - start)} ({counts['done']} done, "
          f"{counts['failed']} failed" + (f", {counts['skipped']} taken by another sweep"
                                         if counts["skipped"] else "")
          + f"); {args.store} holds {done} of {n} done" + (
              f", {failed} failed (rerun with --retry-failed)" if failed else ""))
    for message in errors[:3]:
        print(f"  failed: {message}", file=sys.stderr)
    return 1 if failed else 0


def _show(args) -> int:
    from initlab.results import format_table
    from initlab.sweep.grid import show_value
    from initlab.sweep.store import Store
    from initlab.sweep.table import columns, flat_rows, to_csv

    with Store(args.store, create=False) as store:
        points, counts = store.rows(), store.counts()
    if args.status == "done":
        rows = flat_rows(points)
    else:
        rows = [{"point": p["key"], **{k: show_value(v) for k, v in p["grid"].items()},
                 **{k: p[k] for k in ("status", "seconds", "host", "error")}}
                for p in points if args.status in ("all", p["status"])]
    if args.csv is not None:
        try:
            args.csv.write_text(to_csv(rows))
        except OSError as exc:
            raise InitlabError(f"cannot write {str(args.csv)!r}: {exc}") from None
    if args.json:
        print(json.dumps(rows, indent=1, allow_nan=False))
        return 0
    names = [c for c in columns(rows) if c != "point"]
    if rows:
        print(format_table(names, [[r.get(c) for c in names] for r in rows]))
    summary = ", ".join(f"{v} {k}" for k, v in counts.items() if v)
    print(f"\n{args.store}: {len(points)} points ({summary or 'none'}); {len(rows)} rows"
          + (f", written to {args.csv}" if args.csv is not None else ""))
    return 0


def _plot(args) -> int:
    from initlab.cli.common import figure_bytes, figure_file
    from initlab.plots.sweep import heat_figure, line_figure
    from initlab.sweep.store import Store
    from initlab.sweep.summary import heat, lines, overlay, parse_where
    from initlab.sweep.table import flat_rows, grid_columns

    path, args.format = figure_file(args.png, args.format, "sweep")
    where = parse_where(args.where)
    if args.overlay is not None and args.z is None:
        raise InitlabError(f"--overlay {args.overlay} draws on a heat map: give --z METRIC too")
    with Store(args.store, create=False) as store:
        points = store.rows()
    rows, grid = flat_rows(points), grid_columns(points)
    if args.z is not None:
        data = heat(rows, grid, args.x, args.y, args.z, where)
        if args.overlay is not None:
            data.overlay = overlay(args.overlay, rows, data)
        fig = heat_figure(data)
    else:
        fig = line_figure(lines(rows, grid, args.x, args.y, args.hue, where))
    try:
        path.write_bytes(figure_bytes(fig, args))
    except OSError as exc:
        raise InitlabError(f"cannot write {str(path)!r}: {exc}") from None
    print(f"wrote {path}")
    return 0


def run(args) -> int:
    return {"plan": _plan, "run": _run, "show": _show, "plot": _plot}[args.action](args)
