"""``initlab report``: run the classic experiments on built-in data and write one HTML report."""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path

from initlab.cli import guard
from initlab.cli.common import PAGE_DPI, add_figure_options, positive_int, show_progress

HELP = "run the classic experiments on built-in data and write one self-contained HTML report"
DESCRIPTION = """\
The main job of initlab: run the classic initialization experiments on built-in data and write
DIR/report.html, one self-contained file (figures embedded, no network, no scripts) that reads
top to bottom, with a plain-language explanation above each figure, the tables, and the exact
configuration of every run. Also writes DIR/results.json, every figure as a PNG, and
DIR/explore.html, the interactive explorer ('initlab explore'), linked from the report's top.

Sections: the course's three-layer experiment on circles and moons (exact reproduction), the
same over many seeds with error bars, Deep Learning from Scratch's activation histograms (5 x
100), the 10-layer tanh/ReLU study with gradients and theory, the init comparison on digits,
the regularization study, the normalization study (weight scales with and without
BatchNorm), "How deep can it go?" (correlations, the edge of chaos, Jacobian spectra and
trainability beside mean-field theory) and residual nets without normalization (He, Fixup,
SkipInit, scaled residuals and BatchNorm in the branch, by depth: the stream at init beside
theory, the final loss). Sections run in parallel processes (--jobs). If one
section fails, the report still comes out with that section marked failed, and the exit code
is 1.

examples:
  initlab report                      # full report into ./report
  initlab report --quick --out /tmp/r # smaller runs
  initlab report --seeds 20           # more seeds for the error bars
"""


def add_arguments(parser) -> None:
    parser.add_argument("--out", metavar="DIR", type=Path, default=Path("report"),
                        help="output folder (default: ./report)")
    parser.add_argument("--quick", action="store_true",
                        help="smaller runs (the exact reproductions stay exact)")
    parser.add_argument("--seeds", type=positive_int,
                        help="seeds per init in the many-seed sections (default 10/5, quick 3/2)")
    parser.add_argument("-j", "--jobs", type=positive_int, default=min(2, os.cpu_count() or 1),
                        help="sections run at once in separate processes (default: 2 or the "
                        "number of CPUs if fewer)")
    parser.add_argument("--no-explore", action="store_true",
                        help="do not write explore.html (the interactive explorer) beside it")
    add_figure_options(parser, formats=(), dpi=PAGE_DPI)
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress")


#: The explorer's index among the report's parts (the story's steps are 0, 1, ...).
EXPLORER = -1
#: CPU seconds of one explorer task of each kind (quick, full), measured likewise.
EXPLORER_COST = {"training": (0.85, 4.4), "phase": (0.6, 2.5), "atinit": (0.27, 0.8)}


def _one_line(exc: BaseException) -> str:
    """The error as the report shows it: its type and message, without the traceback."""
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def run_step(index: int, settings) -> dict:
    """Run section ``index`` of :data:`~initlab.report.sections.SECTIONS`; return it (figures
    as PNG bytes) and its summary. Never raises: a failure becomes a section marked failed,
    with the error shown.
    """
    from threadpoolctl import threadpool_limits

    from initlab.report import Section, png_bytes
    from initlab.report.sections import SECTIONS, as_table, run_section

    spec = SECTIONS[index]
    start = time.perf_counter()
    try:
        # BLAS on one thread: the numbers do not depend on how busy the machine is (a float32
        # sum over 2 threads rounds differently), and the sections already run side by side
        with threadpool_limits(limits=1, user_api="blas"):
            section, result = run_section(spec, settings)
        section.figures = [(caption, png_bytes(fig, dpi=settings.dpi))
                           for caption, fig in section.figures]
        entry = {"title": section.title, "status": "ok", "result": result.to_dict(),
                 "table": as_table(result), "config_toml": section.config_toml}
    except Exception as exc:  # noqa: BLE001 - a failed section is reported, not fatal
        message = _one_line(exc)
        section = Section(id=spec.id, title=spec.heading(settings), error=message)
        entry = {"title": section.title, "status": "failed", "error": message,
                 "traceback": traceback.format_exc()}
    section.seconds = entry["seconds"] = round(time.perf_counter() - start, 2)
    return {"index": index, "section": section, "entry": entry}


def run_explorer_task(part: int, task: tuple) -> dict:
    """Run task ``part`` of the explorer (:func:`initlab.explore.build.tasks`); never raises:
    a failure becomes the error's one line, and the explorer a failed part of the report."""
    from initlab.explore.build import run_task

    start = time.perf_counter()
    try:
        value, error = run_task(*task), None
    except Exception as exc:  # noqa: BLE001 - the report still comes out, marked
        value, error = None, _one_line(exc)
    return {"index": EXPLORER, "part": part, "value": value, "error": error,
            "seconds": time.perf_counter() - start}


def _task(kind: str, index: int, payload, settings):
    """One unit of the report's work: a story step, or a task of the explorer page."""
    return run_step(index, settings) if kind == "step" else run_explorer_task(index, payload)


def _explorer_plan(quick: bool):
    """The explorer's plan, its tasks and None; or None, [] and the error's one line when
    planning fails."""
    from initlab.explore.build import plan, tasks

    try:
        p = plan(quick)
        return p, tasks(p), None
    except Exception as exc:  # noqa: BLE001 - the report still comes out, marked
        return None, [], _one_line(exc)


def _write_explorer(out: Path, p: dict, parts: list, seconds: float) -> dict:
    """Put the explorer's finished tasks together and write ``out/explore.html``."""
    from initlab.explore.build import assemble
    from initlab.explore.page import render
    from initlab.runtime.atomic import write_atomic

    try:
        path = out / "explore.html"
        write_atomic(path, render(assemble(p, parts, seconds)))
        return {"index": EXPLORER, "path": path, "error": None}
    except Exception as exc:  # noqa: BLE001 - the report still comes out, marked
        return {"index": EXPLORER, "path": None,
                "error": _one_line(exc)}


def _results(settings, jobs: int, out: Path, explore: bool):
    """Yield each step's outcome as it finishes (in worker processes when jobs > 1), and,
    when ``explore``, the explorer's once its last task has finished: the explorer's tasks
    run in the same pool, small ones that keep both workers busy to the end. The work is
    started longest first (each section's ``cost``)."""
    from initlab.report.sections import SECTIONS
    from initlab.runtime.workers import run_tasks

    which = 0 if settings.quick else 1
    work = [(spec.cost[which], ("step", i, None, settings)) for i, spec in enumerate(SECTIONS)]
    p, parts, error = _explorer_plan(settings.quick) if explore else (None, [], None)
    if error is not None:
        yield {"index": EXPLORER, "path": None, "error": error}
    work += [(EXPLORER_COST[task[0]][which], ("explore", k, task, None))
             for k, task in enumerate(parts)]
    work.sort(key=lambda w: -w[0])  # stable: ties keep the story's order
    done, finished, seconds, failed = [None] * len(parts), 0, 0.0, None
    for _, outcome in run_tasks(_task, [w[1] for w in work], jobs):
        if outcome["index"] != EXPLORER:
            yield outcome
            continue
        done[outcome["part"]], finished = outcome["value"], finished + 1
        seconds += outcome["seconds"]
        failed = failed or outcome["error"]
        if finished == len(parts):
            yield (_write_explorer(out, p, done, seconds) if failed is None else
                   {"index": EXPLORER, "path": None, "error": failed})


def run(args) -> int:
    from initlab.cli.guard import check_output
    from initlab.report.sections import SECTIONS, Settings

    out = check_output(args.out)
    settings = Settings(quick=args.quick, seeds=args.seeds, dpi=args.dpi)
    start = time.perf_counter()
    done, explorer, stopped = _collect(settings, args, out)
    sections, summary = _sections(done, settings)
    failed, written = _write(out, args, sections, summary, explorer, stopped, len(done))
    if stopped is not None:
        print(f"wrote the {len(done)} finished section(s) of {len(SECTIONS)} to "
              f"{out / 'report.html'} (marked incomplete)", file=sys.stderr)
        raise stopped
    status = f"{len(failed)} section(s) failed: {', '.join(failed)}" if failed else "all ok"
    print(f"wrote {out / 'report.html'}, results.json and "
          f"{sum(name.endswith('.png') for name in written)} figures "
          f"({len(sections)} sections in {time.perf_counter() - start:.0f} s, {status})")
    return 1 if failed else 0


def _collect(settings, args, out: Path):
    """Run the sections and the explorer with progress: (finished sections by index, the
    explorer's outcome or None, the interruption or None; what finished is kept)."""
    from initlab.report.sections import SECTIONS
    from initlab.runtime.progress import Progress

    done, explorer, stopped = {}, None, None
    explore = not args.no_explore
    with Progress(len(SECTIONS) + explore, "initlab report", "part", every=0,
                  enabled=show_progress(args)) as bar:
        try:
            for outcome in _results(settings, args.jobs, out, explore):
                if outcome["index"] == EXPLORER:
                    explorer, title = outcome, "the interactive explorer"
                else:
                    done[outcome["index"]] = outcome
                    title = outcome["section"].title
                bar.set_postfix_str(f"done: {title}")
                bar.update()
        except (KeyboardInterrupt, guard.Interrupted) as exc:
            stopped = exc  # keep what finished, write it, then end as interrupted
    return done, explorer, stopped


def _sections(done: dict, settings) -> tuple[list, dict]:
    """Every section in reading order (one that did not finish marked so) and the summary
    of each for results.json."""
    from initlab.report import Section
    from initlab.report.sections import SECTIONS

    sections, summary = [], {}
    for i, spec in enumerate(SECTIONS):
        if i in done:
            section, entry = done[i]["section"], done[i]["entry"]
        else:
            section = Section(id=spec.id, title=spec.heading(settings),
                              error="not run: the report was interrupted before this section "
                              "finished", config_toml=spec.toml(settings))
            entry = {"title": section.title, "status": "not run",
                     "config_toml": section.config_toml}
        sections.append(section)
        summary[spec.id] = entry
    return sections, summary


def _write(out: Path, args, sections, summary, explorer, stopped, finished: int):
    """Write the figures, report.html and results.json; return the failed parts' titles
    and the files written."""
    from initlab import __version__
    from initlab.cli.guard import finish_output
    from initlab.report import render
    from initlab.report.sections import INTRO
    from initlab.runtime.atomic import write_atomic

    written = []
    for s in sections:
        for k, (_, png) in enumerate(s.figures, 1):
            write_atomic(out / f"{s.id}-{k}.png", png)
            written.append(f"{s.id}-{k}.png")
    failed = [s.title for s in sections if s.error is not None]
    meta = {"quick": args.quick, "seeds": args.seeds, "jobs": args.jobs}
    note = None if stopped is None else (
        f"This report is incomplete: it was interrupted after {finished} of {len(sections)} "
        "sections.")
    links = []
    if explorer is not None and explorer["error"] is not None:
        print(f"initlab report: the explorer failed: {explorer['error']}", file=sys.stderr)
        failed.append("the interactive explorer")
    elif explorer is not None:
        written.append(explorer["path"].name)
        links.append((explorer["path"].name, "Open the interactive explorer (explore.html): "
                      "drag the init's std, the depth and the width; watch the nets train."))
    page = render(sections, title="initlab report: why initialization matters", intro=INTRO,
                  version=__version__, settings=meta, note=note, links=links)
    write_atomic(out / "report.html", page)
    write_atomic(out / "results.json", json.dumps(
        {"initlab": __version__, "settings": meta, "complete": stopped is None,
         "sections": summary}, indent=1, allow_nan=False))
    finish_output(out, ["report.html", "results.json", *written], "report")
    return failed, written
