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
BatchNorm) and "How deep can it go?" (correlations, the edge of chaos, Jacobian spectra and
trainability beside mean-field theory). Sections run in parallel processes (--jobs). If one
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
#: CPU seconds of each step (quick, full), as measured on a 2-core machine (2026-11); used
#: only to start the longest work first, so that the workers finish together.
COST = {"classic-circles": (2.6, 2.6), "classic-moons": (2.6, 2.6), "classic-seeds": (5, 13),
        "saito": (1.8, 1.8), "deep": (1.2, 6), "digits": (2.8, 26), "regularize": (1.9, 14),
        "normalize": (2.2, 21), "depth": (4.5, 38)}
#: CPU seconds of one explorer task of each kind (quick, full), measured likewise.
EXPLORER_COST = {"training": (0.85, 4.4), "phase": (0.6, 2.5), "atinit": (0.27, 0.8)}


def _one_line(exc: BaseException) -> str:
    """The error as the report shows it: its type and message, without the traceback."""
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def run_step(index: int, settings) -> dict:
    """Run step ``index`` of the story; return its section (figures as PNG bytes) and summary.

    Never raises: a failure becomes a section marked failed, with the error shown.
    """
    from initlab.report import Section, png_bytes
    from initlab.report.sections import STEPS, as_table

    sid, title, step = STEPS[index]
    start = time.perf_counter()
    try:
        section, result = step(settings)
        section.figures = [(caption, png_bytes(fig, dpi=settings.dpi))
                           for caption, fig in section.figures]
        entry = {"title": section.title, "status": "ok", "result": result.to_dict(),
                 "table": as_table(result)}
    except Exception as exc:  # noqa: BLE001 - a failed section is reported, not fatal
        message = _one_line(exc)
        section = Section(id=sid, title=title, error=message)
        entry = {"title": title, "status": "failed", "error": message,
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
    from initlab.atomic import write_atomic
    from initlab.explore.build import assemble
    from initlab.explore.page import render

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
    started longest first (:data:`COST`)."""
    from initlab.report.sections import STEPS
    from initlab.workers import run_tasks

    which = 0 if settings.quick else 1
    work = [(COST.get(sid, (1, 1))[which], ("step", i, None, settings))
            for i, (sid, _, _) in enumerate(STEPS)]
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


def section_argv(sid: str, settings) -> list[str] | None:
    """The command line that runs what section ``sid`` runs (its 'exact configuration')."""
    quick = settings.quick
    return {
        "classic-circles": ["reproduce", "coursera", "--dataset", "circles"],
        "classic-moons": ["reproduce", "coursera", "--dataset", "moons"],
        "classic-seeds": ["compare", "--preset", "coursera",
                          f"--seeds={settings.n_seeds(10, 3)}", "--jobs=1"],
        "saito": ["activations", "--preset", "saito"],
        "deep": ["activations", "--preset", "cs231n", "--seeds=1", *(["--width=512"] * quick)],
        "digits": ["compare", "--preset", "saito", f"--seeds={settings.n_seeds(5, 2)}",
                   "--dtype=float32", "--jobs=1",
                   f"--iterations={settings.length('digits_iterations')}"],
        "regularize": ["regularize", f"--seeds={settings.n_seeds(5, 2)}",
                       f"--epochs={settings.length('regularize_epochs')}"],
        "normalize": _normalize_argv(settings),
        "depth": _depth_argv(quick),
    }.get(sid)


def _values(values) -> str:
    """A list of numbers as the comma list the range options take (exact, repr digits)."""
    return ",".join(repr(float(v)) for v in values)


def _normalize_argv(settings) -> list[str]:
    from initlab.report.sections import normalize_scales

    scales = normalize_scales(settings)
    return ["normalize", f"--seeds={settings.n_seeds(3, 2)}", f"--scales={_values(scales)}",
            f"--epochs={settings.length('normalize_epochs')}"]


def _depth_argv(quick: bool) -> list[str]:
    from initlab.report.text_depth import study_sizes

    s = study_sizes(quick)
    train = [f"--{k.replace('_', '-')}={v}" for k, v in s["train"].items()]
    return ["propagate", "--activation=tanh", f"--sigma-w2={_values(s['sigma_w2'])}",
            "--sigma-b2=0.05", f"--depth={s['depth']}", f"--width={s['width']}",
            f"--seeds={s['seeds']}", "--jacobian", f"--jacobian-width={s['jacobian_width']}",
            "--trainability", f"--depths={_values(s['depths'])}",
            f"--train-sigma-w2={_values(s['train_sigma_w2'])}", *train]


def section_toml(argv: list[str]) -> str:
    """The runnable TOML of a command line, as ``initlab COMMAND ... --dump-config`` prints."""
    from initlab.cli import command_parser
    from initlab.cli.config import dump

    parser = command_parser(argv[0])
    args = parser.parse_args(argv[1:])
    args.command = argv[0]
    return dump(argv[0], parser, args, args._module)


def run(args) -> int:
    from initlab import __version__
    from initlab.atomic import write_atomic
    from initlab.cli.guard import check_output, finish_output
    from initlab.progress import Progress
    from initlab.report import Section, render
    from initlab.report.sections import INTRO, STEPS, Settings

    out = check_output(args.out)
    settings = Settings(quick=args.quick, seeds=args.seeds, dpi=args.dpi)
    start = time.perf_counter()
    done, explorer, stopped = {}, None, None
    explore = not args.no_explore
    with Progress(len(STEPS) + explore, "initlab report", "part", every=0,
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
    sections, summary = [], {}
    for i, (sid, title, _) in enumerate(STEPS):
        if i in done:
            section, entry = done[i]["section"], done[i]["entry"]
        else:
            section = Section(id=sid, title=title, error="not run: the report was interrupted "
                              "before this section finished")
            entry = {"title": title, "status": "not run"}
        argv = section_argv(sid, settings)
        if argv is not None:
            section.config_toml = section_toml(argv)
            entry["config_toml"] = section.config_toml
        sections.append(section)
        summary[sid] = entry
    written = []
    for s in sections:
        for k, (_, png) in enumerate(s.figures, 1):
            write_atomic(out / f"{s.id}-{k}.png", png)
            written.append(f"{s.id}-{k}.png")
    failed = [s.title for s in sections if s.error is not None]
    meta = {"quick": args.quick, "seeds": args.seeds, "jobs": args.jobs}
    note, links = None, []
    if stopped is not None:
        note = (f"This report is incomplete: it was interrupted after {len(done)} of "
                f"{len(STEPS)} sections.")
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
    if stopped is not None:
        print(f"wrote the {len(done)} finished section(s) of {len(STEPS)} to "
              f"{out / 'report.html'} (marked incomplete)", file=sys.stderr)
        raise stopped
    status = f"{len(failed)} section(s) failed: {', '.join(failed)}" if failed else "all ok"
    print(f"wrote {out / 'report.html'}, results.json and "
          f"{sum(name.endswith('.png') for name in written)} figures "
          f"({len(sections)} sections in {time.perf_counter() - start:.0f} s, {status})")
    return 1 if failed else 0
