"""Build the explorer's data: the at-initialization grid and the training frames.

:func:`build_explorer` checks the size budget first (refusing, with its estimate, a grid that
would make the page larger than ``budget`` bytes), then runs everything with initlab's own
engine and returns plain JSON types ready for :func:`initlab.explore.page.render`.
"""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor

from initlab import __version__
from initlab.errors import InitlabError, check_positive_int
from initlab.explore.atinit import axes, build_atinit, estimate_bytes, slider_stds
from initlab.explore.phase import PHASE_ACTIVATIONS, build_phase, phase_data, phase_grid
from initlab.explore.phase import QUICK as QUICK_PHASE
from initlab.explore.training import DATASETS, schedule, train_frames, training_data

BUDGET = 8_000_000  # bytes of page
FIXED = 1_900_000  # training frames, phase grids, uPlot, the page (measured: ~1.5 MB)
QUICK = {"widths": [16, 64], "depth": 10, "per_decade": 1}
FULL = {"widths": None, "depth": 20, "per_decade": 2}


def plan(quick: bool = False, widths=None, depth=None, per_decade=None,
         budget: int = BUDGET) -> dict:
    """The grid to build (axes and depth) and its size estimate; raises when over budget."""
    base = QUICK if quick else FULL
    depth = check_positive_int(depth or base["depth"], "depth")
    stds = slider_stds(per_decade or base["per_decade"])
    grid = axes(stds=stds, widths=widths or base["widths"])
    size = estimate_bytes(grid, depth) + FIXED
    if size > budget:
        cells = " x ".join(f"{len(v)} {n}" for n, v in grid)
        raise InitlabError(
            f"a grid of {cells} x depth {depth} would make a page of about {size / 1e6:.1f} MB, "
            f"over the {budget / 1e6:.0f} MB budget; use fewer widths, a smaller --depth or "
            f"fewer --stops")
    return {"axes": grid, "depth": depth, "estimate": size, "quick": quick}


def build_explorer(quick: bool = False, widths=None, depth=None, per_decade=None,
                   jobs: int = 1, progress=None) -> dict:
    """Everything the page shows, as plain JSON types (arrays encoded compactly)."""
    p = plan(quick, widths, depth, per_decade)
    start = time.perf_counter()
    iterations, every = schedule(quick)
    args = [(name, iterations, every) for name in DATASETS]
    lattice = QUICK_PHASE if quick else {}
    check_positive_int(jobs, "jobs")
    if jobs == 1:
        atinit = build_atinit(p["axes"], p["depth"], progress=progress)
        frames = [train_frames(*a) for a in args]
        phase = build_phase(**lattice)
    else:  # the three training runs first: they are the longest single jobs
        with ProcessPoolExecutor(jobs) as pool:
            pending = [pool.submit(train_frames, *a) for a in args]
            phases = [pool.submit(phase_grid, a, **lattice) for a in PHASE_ACTIVATIONS]
            atinit = build_atinit(p["axes"], p["depth"], pool=pool, progress=progress)
            frames = [f.result() for f in pending]
            phase = phase_data([f.result() for f in phases], **lattice)
    training = training_data(dict(zip(DATASETS, frames, strict=True)), iterations)
    return {"version": __version__, "atinit": atinit, "training": training, "phase": phase,
            "built": {"quick": quick, "seconds": round(time.perf_counter() - start, 1)}}
