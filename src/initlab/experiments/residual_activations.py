"""``initlab activations --residual``: the stream of a residual MLP at init, block by block,
beside :mod:`initlab.theory.residual`.

The net is ``mlp([width, width, 1], residual=True, blocks=depth, branch=2)`` (Dense-act-Dense
branches, the options' norm inside the branch), drawn per init and seed from the seed's
stream; every init may be a residual scheme (``fixup``, ``skipinit``, ``scaled_residual``,
...). "Layer" l of the result is the stream after block l: its values are the activations
(histogram, mean, std, zero and dead fractions) and the branch's output alpha B(x) the
pre-activations; the predicted std is the theory's, from the measured second moment of the
stream entering block 1 (pooled over seeds). No backward pass: a residual net's gradients
are the study's (``initlab residual``: the first block's gradient norm).
"""

from __future__ import annotations

import numpy as np

from initlab.experiments.layer_stats import (
    ActivationRun,
    ActivationsResult,
    LayerAccumulator,
    add_forwards,
    histogram_edges,
    judge_layers,
)
from initlab.experiments.weight_draws import draw_input
from initlab.init import get_initializer
from initlab.nn.activations import get_activation
from initlab.nn.norm import check_norm
from initlab.theory.residual import scheme_stream_variance
from initlab.theory.variance import Prediction


def residual_problem(c) -> str | None:
    """What ``--residual`` cannot go with (None: nothing)."""
    if not c.residual:
        return None
    if c.sizes is not None:
        return "--residual takes --depth (the blocks) and --width, not --sizes"
    if c.bias is not None:
        return "--residual nets have zero biases: leave out --bias"
    if any(get_initializer(s).lsuv for s in c.init):
        return "--residual does not take lsuv (it rescales plain chains of layers)"
    return None


def run_residual_activations(c, tops: list[int]) -> list[ActivationsResult]:
    """The results for every top d in ``tops`` (the first d blocks of the deepest net)."""
    from initlab.nn.model import mlp

    acts = [get_activation(s) for s in c.activation]
    dt = np.dtype(c.dtype).type
    seeds = [c.seed + s for s in range(c.seeds)]
    norm = check_norm(c.norm)
    edges = [histogram_edges(act, c.bins, c.hist_range) for act in acts]
    runs = []
    for k, act in enumerate(acts):
        for spec in c.init:
            # no activation: the stream is not an activation output, nothing saturates
            accs = [LayerAccumulator(edges[k], None) for _ in range(c.depth)]
            entering = []
            for seed in seeds:
                x = draw_input(c.input, (c.batch, c.width), seed, dt)
                model = mlp([c.width, c.width, 1], act.spec or act.name, init=spec, seed=seed,
                            dtype=dt, norm=norm, residual=True, blocks=c.depth)
                with np.errstate(all="ignore"):
                    h = model.layers[0].forward(x, train=True)
                    entering.append(np.mean(np.square(h, dtype=np.float64)))
                    for block, acc in zip(model.layers[1:-1], accs, strict=True):
                        y = block.forward(h, train=True)
                        add_forwards([acc], (y - h)[0][None], y[0][None])
                        h = y
            q = scheme_stream_variance(spec, act, c.depth, 2, c.width,
                                       float(np.mean(entering)), norm=norm)
            runs.append((k, spec, accs, np.sqrt(q[1:])))
    return [_result(c, acts, edges, runs, d) for d in tops]


def _result(c, acts, edges, runs, depth: int) -> ActivationsResult:
    """The result of the first ``depth`` blocks."""
    out = []
    for k, spec, accs, predicted in runs:
        theory = Prediction(None, None, predicted, None, None)
        layers = [acc.stats(j + 1, theory, False) for j, acc in enumerate(accs[:depth])]
        out.append(ActivationRun(spec, acts[k].spec or acts[k].name, layers,
                                 judge_layers(layers),
                                 input_std=None, edges=edges[k]))
    config = {"sizes": [c.width] * (depth + 1), "batch": c.batch, "input": c.input,
              "bias": None, "seeds": c.seeds, "seed": c.seed, "dtype": np.dtype(c.dtype).name,
              "grad": False, "norm": check_norm(c.norm), "residual": True}
    return ActivationsResult(out, config)


__all__ = ["residual_problem", "run_residual_activations"]
