"""The "At initialization" grid: every (activation, init, width, depth) run of the engine.

Each cell is exactly what :func:`initlab.experiments.activations.run_activations` returns for
``--activation A --init I --width W --depth d --batch batch_for(W)`` (seed 0, one net), so the
page shows the numbers ``initlab activations --json`` prints for the same setting. The
forward statistics of layers 1..d do not depend on the depth d (same streams, same products),
so they are stored once, from the deepest run; the gradients, fed in at the top layer d, are
stored for every d, in a triangle: depth d's layer l sits at row d (d - 1) / 2 + l - 1.

The grid's axes are a list (:data:`AXES`); each axis names a keyword of ``run_activations``.
A new axis (say ``norm``) is one more entry there and one more control on the page.
"""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor
from itertools import product

import numpy as np

from initlab.errors import InitlabError, check_positive_int
from initlab.experiments.activations import GRAD_EDGES, _edges, run_activations
from initlab.explore.encode import bar_heights, encode, encoded_bytes
from initlab.init import get_initializer
from initlab.nn.activations import get_activation

ACTIVATIONS = ["tanh", "relu", "leaky_relu", "sigmoid", "selu", "linear"]
NAMED_INITS = ["lecun", "xavier", "he", "orthogonal"]
WIDTHS = [16, 64, 256]  # 1024 on request (--widths): each depth redraws ~1M weights a layer
VALUES_PER_LAYER = 4096  # batch x width: every histogram pools at least this many values


def slider_stds(per_decade: int = 2, low: float = 1e-3, high: float = 10.0) -> list[float]:
    """The std slider's stops: ``per_decade`` log-spaced values from ``low`` to ``high``, each
    rounded to 3 significant digits (so ``normal(0.00316)`` on the page is that spec exactly).

    >>> slider_stds(2)[:4]
    [0.001, 0.00316, 0.01, 0.0316]
    """
    n = round(math.log10(high / low) * check_positive_int(per_decade, "stops per decade")) + 1
    return [float(f"{v:.3g}") for v in np.logspace(math.log10(low), math.log10(high), n)]


def batch_for(width: int) -> int:
    """Examples in the input batch at ``width``: max(16, 4096 / width) (16 at width >= 256)."""
    return max(16, VALUES_PER_LAYER // width)


def axes(activations=None, stds=None, widths=None) -> list[tuple[str, list]]:
    """The grid's axes in storage order: (``run_activations`` keyword, values)."""
    inits = [f"normal({s:g})" for s in (slider_stds() if stds is None else stds)] + NAMED_INITS
    return [("activations", list(ACTIVATIONS if activations is None else activations)),
            ("inits", inits), ("width", list(WIDTHS if widths is None else widths))]


def estimate_bytes(grid_axes, depth: int) -> int:
    """Characters the encoded grid takes in the page (what the budget is checked against)."""
    cells = math.prod(len(v) for _, v in grid_axes)
    tri, bins = depth * (depth + 1) // 2, len(GRAD_EDGES) - 1
    per_cell = (encoded_bytes(depth * 2) + encoded_bytes(tri * 2)
                + encoded_bytes(depth * bins, "u1") + encoded_bytes(tri * bins, "u1"))
    return cells * (per_cell + 90 * depth)  # + the verdict sentences


def _one(job):
    """Run one (width, depth) slice of the grid: every activation and init at once."""
    width, depth, acts, inits = job
    result = run_activations(inits, acts, depth=depth, width=width, batch=batch_for(width),
                             threads=1)
    return width, depth, result


def build_atinit(grid_axes, depth: int = 20, jobs: int = 1, progress=None) -> dict:
    """Run the grid and return it encoded: see the module docstring for the layout.

    grid_axes: from :func:`axes`. depth: the deepest net (the page offers 1..depth).
    jobs: worker processes. progress: None or a callable(done, total).
    """
    check_positive_int(depth, "depth")
    names = [n for n, _ in grid_axes]
    if names[:3] != ["activations", "inits", "width"]:
        raise InitlabError(f"the grid's first axes must be activations, inits, width; got {names}")
    values = dict(grid_axes)
    acts = [get_activation(a).spec or a for a in values["activations"]]
    inits = [get_initializer(i).spec for i in values["inits"]]
    widths = [check_positive_int(w, "width") for w in values["width"]]
    shape = [len(v) for _, v in grid_axes]
    A, I, W = shape[:3]  # noqa: E741 - activations, inits, widths
    tri, bins = depth * (depth + 1) // 2, len(GRAD_EDGES) - 1
    act_bins = max(len(_edges(get_activation(a), None, None)) - 1 for a in acts)
    fwd = np.full((A, I, W, depth, 2), np.nan)
    grad = np.full((A, I, W, tri, 2), np.nan)
    act_hist = np.zeros((A, I, W, depth, act_bins))
    grad_hist = np.zeros((A, I, W, tri, bins))
    verdicts = [""] * (A * I * W * depth)
    jobs_list = sorted(product(widths, range(1, depth + 1)), key=lambda wd: -wd[0] * wd[1])
    work = [(w, d, acts, inits) for w, d in jobs_list]
    pool = ProcessPoolExecutor(jobs) if jobs > 1 else None
    try:
        outcomes = pool.map(_one, work) if pool else map(_one, work)
        for done, (width, d, result) in enumerate(outcomes, 1):
            w = widths.index(width)
            for k, i in product(range(A), range(I)):
                run = result.runs[k * I + i]
                top = d * (d - 1) // 2
                for layer in run.layers:
                    grad[k, i, w, top + layer.index - 1] = (layer.grad_std,
                                                            layer.predicted_grad_std)
                    grad_hist[k, i, w, top + layer.index - 1] = layer.grad_counts
                if d == depth:
                    for layer in run.layers:
                        fwd[k, i, w, layer.index - 1] = layer.std, layer.predicted_std
                        n = len(layer.counts)
                        act_hist[k, i, w, layer.index - 1, :n] = layer.counts
                verdicts[((k * I + i) * W + w) * depth + d - 1] = run.verdict()
            if progress is not None:
                progress(done, len(work))
    finally:
        if pool is not None:
            pool.shutdown()
    edges = {a: [float(e[0]), float(e[-1]), len(e) - 1]
             for a in acts for e in [_edges(get_activation(a), None, None)]}
    return {
        "axes": [[n, v] for n, v in zip(names, [acts, inits, widths], strict=False)],
        "depth": depth, "batch": {str(w): batch_for(w) for w in widths},
        "act_edges": edges, "grad_edges": [float(GRAD_EDGES[0]), float(GRAD_EDGES[-1]), bins],
        "fwd": encode(fwd),
        "grad": encode(grad), "act_hist": encode(bar_heights(act_hist), "u1"),
        "grad_hist": encode(bar_heights(grad_hist), "u1"), "verdict": verdicts,
    }
