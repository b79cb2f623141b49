"""Build the explorer's data: the at-initialization grid and the training frames.

:func:`build_explorer` checks the size budget first (refusing, with its estimate, a grid that
would make the page larger than ``budget`` bytes), then runs everything with initlab's own
engine and returns plain JSON types ready for :func:`initlab.explore.page.render`.

The work is a list of independent tasks (:func:`tasks`: the training runs, the phase grids
and the at-initialization grid's slices), each run by :func:`run_task` here or in
:func:`initlab.runtime.workers.run_tasks`' worker processes, and put together by :func:`assemble` in
the tasks' order, whatever order they finished in: the data are the same for any ``jobs``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from initlab import __version__
from initlab.errors import InitlabError, check_positive_int
from initlab.experiments.config import Config, at_least, option
from initlab.explore.atinit import (
    assemble_atinit,
    axes,
    estimate_bytes,
    run_slice,
    slices,
    slider_stds,
)
from initlab.explore.phase import PHASE_ACTIVATIONS, phase_data, phase_grid
from initlab.explore.phase import QUICK as QUICK_PHASE
from initlab.explore.training import DATASETS, schedule, train_frames, training_data

BUDGET = 8_000_000  # bytes of page
FIXED = 1_900_000  # training frames, phase grids, uPlot, the page (measured: ~1.5 MB)
QUICK = {"widths": [16, 64], "depth": 10, "per_decade": 1}
FULL = {"widths": None, "depth": 20, "per_decade": 2}


@dataclass(frozen=True)
class ExploreConfig(Config):
    """Every option of the explorer's grid (``initlab explore``'s options, generated from it);
    None: the default of a full or a quick page (:data:`FULL`, :data:`QUICK`)."""

    quick: bool = option(False, "a smaller grid, shorter training")
    widths: tuple[int, ...] | None = option(
        None, "widths offered (default 16,64,256; quick 16,64)", check=at_least(1),
        metavar="W1,W2,...")
    depth: int | None = option(None, "deepest net offered (default 20; quick 10)",
                               check=at_least(1))
    per_decade: int | None = option(None, "std slider stops per decade (default 2; quick 1)",
                                    check=at_least(1), flag="--stops", metavar="N")


def plan(quick: bool = False, widths=None, depth=None, per_decade=None,
         budget: int = BUDGET) -> dict:
    """The grid to build (axes and depth) and its size estimate; raises when over budget.
    The arguments are :class:`ExploreConfig`'s fields, checked as the command line checks
    them."""
    c = ExploreConfig.from_dict({"quick": quick, "widths": widths, "depth": depth,
                                 "per_decade": per_decade}, source="")
    base = QUICK if c.quick else FULL
    depth = c.depth or base["depth"]
    stds = slider_stds(c.per_decade or base["per_decade"])
    grid = axes(stds=stds, widths=list(c.widths or base["widths"] or []) or None)
    size = estimate_bytes(grid, depth) + FIXED
    if size > budget:
        cells = " x ".join(f"{len(v)} {n}" for n, v in grid)
        raise InitlabError(
            f"a grid of {cells} x depth {depth} would make a page of about {size / 1e6:.1f} MB, "
            f"over the {budget / 1e6:.0f} MB budget; use fewer widths, a smaller --depth or "
            f"fewer --stops")
    return {"axes": grid, "depth": depth, "estimate": size, "quick": quick}


#: What :func:`run_task` runs for each kind of task.
KINDS = {"training": train_frames, "phase": phase_grid, "atinit": run_slice}


def tasks(p: dict) -> list[tuple]:
    """The work of plan ``p`` (from :func:`plan`) as ``(kind, args, kwargs)`` tasks for
    :func:`run_task`, the longest first: the training runs, the phase grids (one per
    activation), then the at-initialization grid's slices."""
    iterations, every = schedule(p["quick"])
    lattice = QUICK_PHASE if p["quick"] else {}
    return ([("training", (name, iterations, every), {}) for name in DATASETS]
            + [("phase", (a,), dict(lattice)) for a in PHASE_ACTIVATIONS]
            + [("atinit", (job,), {}) for job in slices(p["axes"], p["depth"])])


def run_task(kind: str, args: tuple, kwargs: dict):
    """Run one task of :func:`tasks` (a module-level function: workers get it by name)."""
    return KINDS[kind](*args, **kwargs)


def assemble(p: dict, outcomes: list, seconds: float = 0.0) -> dict:
    """Everything the page shows, from the outcomes of :func:`tasks` (in their order), as plain
    JSON types (arrays encoded compactly); ``seconds``: the build's time, kept in the data
    (:func:`build_explorer`'s wall time; the report passes its tasks' summed seconds)."""
    iterations, _ = schedule(p["quick"])
    lattice = QUICK_PHASE if p["quick"] else {}
    n_train, n_phase = len(DATASETS), len(PHASE_ACTIVATIONS)
    frames, grids = outcomes[:n_train], outcomes[n_train:n_train + n_phase]
    return {"version": __version__,
            "atinit": assemble_atinit(p["axes"], p["depth"], outcomes[n_train + n_phase:]),
            "training": training_data(dict(zip(DATASETS, frames, strict=True)), iterations),
            "phase": phase_data(grids, **lattice),
            "built": {"quick": p["quick"], "seconds": round(seconds, 1)}}


def build_explorer(quick: bool = False, widths=None, depth=None, per_decade=None,
                   jobs: int = 1, progress=None) -> dict:
    """Everything the page shows (:func:`assemble`), its tasks run in ``jobs`` worker
    processes (:func:`initlab.runtime.workers.run_tasks`; 1: here). progress: None or a
    callable(done, total) called as tasks finish."""
    from initlab.runtime.workers import run_tasks

    p = plan(quick, widths, depth, per_decade)
    check_positive_int(jobs, "jobs")
    start = time.perf_counter()
    work = tasks(p)
    outcomes = [None] * len(work)
    for done, (i, value) in enumerate(run_tasks(run_task, work, jobs), 1):
        outcomes[i] = value
        if progress is not None:
            progress(done, len(work))
    return assemble(p, outcomes, time.perf_counter() - start)
