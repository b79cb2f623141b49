"""The "At initialization" grid: every (activation, init, width, depth) run of the engine.

Each cell is exactly what the registered experiment ``activations`` returns for the
:class:`~initlab.experiments.activations.ActivationsConfig` ``activation=A, init=I, width=W,
depth=d, batch=batch_for(W)`` (seed 0, one net): :func:`slice_config` makes that Config
through the registry, so every axis is one of its fields, checked as the command line checks
it, and the page writes the command from the Config's own flags (the data's ``flags``). So the
page shows the numbers ``initlab activations --json`` prints for the same setting (to float32
rounding: one run holds all activations, and BLAS may round their stacked products
differently in the last bit). All depths of a setting come from one run of
:func:`~initlab.experiments.activations.run_activations_by_depth` (one forward pass, one
backward pass per depth). The forward statistics of layers 1..d do not depend on the depth d
(same streams, same products), so they are stored once, from the deepest net; the gradients,
fed in at the top layer d, are stored for every d, in a triangle: depth d's layer l sits at
row d (d - 1) / 2 + l - 1.

The grid's axes are a list (:func:`axes`) of (field of ``ActivationsConfig``, values); each axis
after the first three (``norm``: "none" or "batch", ``bias``, ...) becomes one more control on
the page.
The arrays and the verdicts are stored deflated (see :mod:`initlab.explore.encode`).
"""

from __future__ import annotations

import math
from itertools import product

import numpy as np

from initlab.errors import InitlabError, check_positive_int
from initlab.experiments import registry
from initlab.experiments.activations import GRAD_EDGES, histogram_edges, run_activations_by_depth
from initlab.explore.encode import bar_heights, encode, encoded_bytes
from initlab.init import get_initializer
from initlab.nn.activations import get_activation

ACTIVATIONS = ["tanh", "relu", "leaky_relu", "sigmoid", "selu", "linear"]
NAMED_INITS = ["lecun", "xavier", "he", "orthogonal"]
NORMS = ["none", "batch"]  # ActivationsConfig.norm: "none" is no normalization
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


def axes(activations=None, stds=None, widths=None, norms=None) -> list[tuple[str, list]]:
    """The grid's axes in storage order: (field of ``ActivationsConfig``, values)."""
    inits = [f"normal({s:g})" for s in (slider_stds() if stds is None else stds)] + NAMED_INITS
    return [("activation", list(ACTIVATIONS if activations is None else activations)),
            ("init", inits), ("width", list(WIDTHS if widths is None else widths)),
            ("norm", list(NORMS if norms is None else norms))]


def slice_config(width: int, extra: dict, depth: int, acts, inits):
    """The ``activations`` experiment's Config of one slice of the grid (its activations and
    inits side by side, the deepest net), made and checked through the registry."""
    values = {"activation": list(acts), "init": list(inits), "width": width, "depth": depth,
              "batch": batch_for(width), **extra}
    return registry.get("activations").config.from_dict(values, source="the explorer's grid")


def command_flags(names) -> dict[str, str]:
    """The ``initlab activations`` option of each axis and of depth and batch (what the page
    writes its command with)."""
    cls = registry.get("activations").config
    return {name: cls.flag(name) for name in [*names, "depth", "batch"]}


#: deflated / raw size, measured on the default grid (2026-11): stds 0.55, histograms 0.31,
#: verdict sentences (~285 characters each) 0.2; the estimate assumes a little more.
DEFLATED = {"f8": 0.65, "u1": 0.4, "text": 0.25}


def estimate_bytes(grid_axes, depth: int) -> int:
    """Characters the encoded grid takes in the page (what the budget is checked against)."""
    cells = math.prod(len(v) for _, v in grid_axes)
    tri, bins = depth * (depth + 1) // 2, len(GRAD_EDGES) - 1
    per_cell = (DEFLATED["f8"] * encoded_bytes(depth * 2 + tri * 2, "f8")
                + DEFLATED["u1"] * encoded_bytes(depth * bins + tri * bins, "u1")
                + DEFLATED["text"] * encoded_bytes(300 * depth, "u1"))  # + the verdicts
    return int(cells * per_cell)


def run_slice(job) -> tuple:
    """Run one slice of the grid (a width, the extra axes' values, some inits): every
    activation and every depth at once. ``job``: an element of :func:`slices`.

    Returns (width, extra, inits, arrays): the slice's rows of the grid's arrays, (A, P, ...)
    for its A activations and P inits (fwd, act_hist: (A, P, depth, ...); grad, grad_hist:
    (A, P, depth (depth + 1) / 2, ...); verdict: [A][P][depth]), small to send between
    processes."""
    width, extra, depth, acts, inits = job
    results = run_activations_by_depth(config=slice_config(width, extra, depth, acts, inits),
                                       threads=1)
    a, p = len(acts), len(inits)
    tri, bins = depth * (depth + 1) // 2, len(GRAD_EDGES) - 1
    act_bins = max(len(histogram_edges(get_activation(act), None, None)) - 1 for act in acts)
    fwd, grad = np.full((a, p, depth, 2), np.nan), np.full((a, p, tri, 2), np.nan)
    act_hist, grad_hist = np.zeros((a, p, depth, act_bins)), np.zeros((a, p, tri, bins))
    verdicts = [[[""] * depth for _ in range(p)] for _ in range(a)]
    for d, result in enumerate(results, 1):
        top = d * (d - 1) // 2
        for k, i in product(range(a), range(p)):
            run = result.runs[k * p + i]
            for layer in run.layers:
                row = top + layer.index - 1
                grad[k, i, row] = layer.grad_std, layer.predicted_grad_std
                grad_hist[k, i, row] = layer.grad_counts
                if d == depth:
                    fwd[k, i, layer.index - 1] = layer.std, layer.predicted_std
                    act_hist[k, i, layer.index - 1, :len(layer.counts)] = layer.counts
            verdicts[k][i][d - 1] = run.summary()
    arrays = {"fwd": fwd, "grad": grad, "act_hist": act_hist, "grad_hist": grad_hist,
              "verdict": verdicts}
    return width, extra, inits, arrays


def _parts(inits: list) -> list[list]:
    """The inits in slices of about 4 for the workers (each costs about the same at every
    width: batch x width is the same)."""
    n = max(1, len(inits) // 4)
    return [inits[k::n] for k in range(n)]


def _values(grid_axes) -> tuple[list[str], list[list]]:
    """The axes' names and values, activations and inits as their canonical specs."""
    names = [n for n, _ in grid_axes]
    if names[:3] != ["activation", "init", "width"]:
        raise InitlabError(f"the grid's first axes must be activation, init, width; got {names}")
    values = [list(v) for _, v in grid_axes]
    values[0] = [get_activation(a).spec or a for a in values[0]]
    values[1] = [get_initializer(i).spec for i in values[1]]
    values[2] = [check_positive_int(w, "width") for w in values[2]]
    return names, values


def slices(grid_axes, depth: int = 20) -> list[tuple]:
    """The grid's work: one job for :func:`run_slice` per (width, extra axes' values, part of
    the inits), parts of about equal work, so that workers end evenly."""
    check_positive_int(depth, "depth")
    names, values = _values(grid_axes)
    acts, inits, widths = values[:3]
    extras = [dict(zip(names[3:], combo, strict=True)) for combo in product(*values[3:])]
    return [(w, e, depth, acts, part) for w in widths for e in extras for part in _parts(inits)]


def build_atinit(grid_axes, depth: int = 20, progress=None) -> dict:
    """Run the grid here and return it encoded (:func:`slices`, :func:`run_slice` and
    :func:`assemble_atinit` in turn). progress: None or a callable(done, total)."""
    work = slices(grid_axes, depth)
    outcomes = []
    for job in work:
        outcomes.append(run_slice(job))
        if progress is not None:
            progress(len(outcomes), len(work))
    return assemble_atinit(grid_axes, depth, outcomes)


def assemble_atinit(grid_axes, depth: int, outcomes) -> dict:
    """The grid encoded from the outcomes of :func:`run_slice` for every job of
    :func:`slices` (in any order): see the module docstring for the layout.

    grid_axes: from :func:`axes`; axes after the third are further fields of the slices'
    Configs. depth: the deepest net (the page offers 1..depth).
    Arrays are (cells, rows, ...), cell = the axes' indices in mixed radix, axes in order.
    """
    check_positive_int(depth, "depth")
    names, values = _values(grid_axes)
    acts, inits, widths = values[:3]
    shape = [len(v) for v in values]
    cells = math.prod(shape)
    tri, bins = depth * (depth + 1) // 2, len(GRAD_EDGES) - 1
    act_bins = max(len(histogram_edges(get_activation(a), None, None)) - 1 for a in acts)
    fwd, grad = np.full((cells, depth, 2), np.nan), np.full((cells, tri, 2), np.nan)
    act_hist, grad_hist = np.zeros((cells, depth, act_bins)), np.zeros((cells, tri, bins))
    verdicts = [""] * (cells * depth)
    for width, extra, part, rows in outcomes:
        for k, i in product(range(len(acts)), range(len(part))):
            index = [k, inits.index(part[i]), widths.index(width)] + [
                values[3 + j].index(extra[n]) for j, n in enumerate(names[3:])]
            cell = int(np.ravel_multi_index(index, shape))
            fwd[cell], grad[cell] = rows["fwd"][k, i], rows["grad"][k, i]
            act_hist[cell], grad_hist[cell] = rows["act_hist"][k, i], rows["grad_hist"][k, i]
            verdicts[cell * depth:(cell + 1) * depth] = rows["verdict"][k][i]
    edges = {a: [float(e[0]), float(e[-1]), len(e) - 1]
             for a in acts for e in [histogram_edges(get_activation(a), None, None)]}
    return {
        "axes": [[n, v] for n, v in zip(names, values, strict=True)],
        "flags": command_flags(names),
        "depth": depth, "batch": {str(w): batch_for(w) for w in widths},
        "act_edges": edges, "grad_edges": [float(GRAD_EDGES[0]), float(GRAD_EDGES[-1]), bins],
        "fwd": encode(fwd, "f8", True), "grad": encode(grad, "f8", True),
        "act_hist": encode(bar_heights(act_hist), "u1", True),
        "grad_hist": encode(bar_heights(grad_hist), "u1", True),
        "verdict": encode(verdicts, "text", True),
    }
