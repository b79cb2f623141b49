"""``initlab report``: run the classic experiments on built-in data and write one HTML report."""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path

from initlab.cli.common import positive_int, show_progress
from initlab.errors import InitlabError

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
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run_step(index: int, settings) -> dict:
    """Run step ``index`` of the story; return its section (figures as PNG bytes) and summary.

    Never raises: a failure becomes a section marked failed, with the error shown.
    """
    from initlab.report import Section, png_bytes
    from initlab.story import STEPS, as_table

    sid, title, step = STEPS[index]
    start = time.perf_counter()
    try:
        section, result = step(settings)
        section.figures = [(caption, png_bytes(fig)) for caption, fig in section.figures]
        entry = {"title": section.title, "status": "ok", "result": result.to_dict(),
                 "table": as_table(result)}
    except Exception as exc:  # noqa: BLE001 - a failed section is reported, not fatal
        message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        section = Section(id=sid, title=title, error=message)
        entry = {"title": title, "status": "failed", "error": message,
                 "traceback": traceback.format_exc()}
    section.seconds = entry["seconds"] = round(time.perf_counter() - start, 2)
    return {"index": index, "section": section, "entry": entry}


def _results(settings, jobs: int):
    """Yield each step's outcome as it finishes (in worker processes when jobs > 1)."""
    from initlab.story import STEPS

    if jobs == 1:
        for i in range(len(STEPS)):
            yield run_step(i, settings)
        return
    from joblib import Parallel, delayed

    # The longest steps first, so two workers finish together.
    order = sorted(range(len(STEPS)), key=lambda i: STEPS[i][0] not in (
        "normalize", "classic-seeds", "digits", "deep", "depth"))
    yield from Parallel(n_jobs=jobs, return_as="generator_unordered")(
        delayed(run_step)(i, settings) for i in order)


def _explorer(out: Path, args) -> Path | None:
    """Write out/explore.html (quick with --quick); None, with the error shown, if it fails."""
    from initlab.explore import write_explorer

    try:
        return write_explorer(out, args.quick, jobs=args.jobs)
    except Exception as exc:  # noqa: BLE001 - the report still comes out, marked
        print(f"initlab report: the explorer failed: {exc}", file=sys.stderr)
        return None


def run(args) -> int:
    from tqdm.auto import tqdm

    from initlab import __version__
    from initlab.report import render
    from initlab.story import INTRO, STEPS, Settings

    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InitlabError(f"cannot create the output folder {str(out)!r}: {exc}") from None
    settings = Settings(quick=args.quick, seeds=args.seeds)
    start = time.perf_counter()
    done = {}
    with tqdm(total=len(STEPS), desc="initlab report", unit="section", file=sys.stderr,
              disable=not show_progress(args)) as bar:
        for outcome in _results(settings, args.jobs):
            done[outcome["index"]] = outcome
            bar.set_postfix_str(f"done: {outcome['section'].title[:45]}")
            bar.update()
    sections = [done[i]["section"] for i in range(len(STEPS))]
    summary = {STEPS[i][0]: done[i]["entry"] for i in range(len(STEPS))}
    n_figures = 0
    for s in sections:
        for k, (_, png) in enumerate(s.figures, 1):
            (out / f"{s.id}-{k}.png").write_bytes(png)
            n_figures += 1
    failed = [s.title for s in sections if s.error is not None]
    meta = {"quick": args.quick, "seeds": args.seeds, "jobs": args.jobs}
    links = []
    if not args.no_explore:
        explore = _explorer(out, args)
        if explore is None:
            failed.append("the interactive explorer")
        else:
            links.append((explore.name, "Open the interactive explorer (explore.html): drag "
                          "the init's std, the depth and the width; watch the nets train."))
    page = render(sections, title="initlab report: why initialization matters", intro=INTRO,
                  version=__version__, settings=meta, links=links)
    (out / "report.html").write_text(page, encoding="utf-8")
    (out / "results.json").write_text(json.dumps(
        {"initlab": __version__, "settings": meta, "sections": summary}, indent=1,
        allow_nan=False))
    status = f"{len(failed)} section(s) failed: {', '.join(failed)}" if failed else "all ok"
    print(f"wrote {out / 'report.html'}, results.json and {n_figures} figures "
          f"({len(sections)} sections in {time.perf_counter() - start:.0f} s, {status})")
    return 1 if failed else 0
