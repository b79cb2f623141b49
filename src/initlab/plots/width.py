"""Figures of the width studies: the coordinate check (as mup plots it) and the
learning-rate transfer curves."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from matplotlib import colormaps
from matplotlib.ticker import NullFormatter

from initlab.plots.common import color, figure, fit


def _mean_by(rows, keys, value):
    """{key tuple: mean of ``value`` over the rows that share it} (seeds averaged)."""
    acc = defaultdict(list)
    for r in rows:
        acc[tuple(getattr(r, k) for k in keys)].append(getattr(r, value))
    return {k: float(np.mean(v)) for k, v in acc.items()}


def coordcheck_figure(result, max_steps: int = 6):
    """One row per parametrization, one panel per step (at most ``max_steps``, the first and
    the last kept): mean |x| of each layer's output (mean over seeds) against width, log-log,
    layers as lines, as ``mup.coord_check.plot_coord_data`` draws it; the row's verdict in
    its first panel's title."""
    params = list(result.verdict)
    steps = sorted({r.step for r in result.rows})
    if len(steps) > max_steps:
        picked = np.unique(np.linspace(0, len(steps) - 1, max_steps).round().astype(int))
        steps = [steps[i] for i in picked]
    layers = list(dict.fromkeys(r.layer for r in result.rows))
    widths = sorted({r.width for r in result.rows})
    mean = _mean_by(result.rows, ("param", "width", "step", "layer"), "mean_abs")
    fig = figure(2.3 * len(steps) + 1.4, 2.3 * len(params) + 0.4)
    axes = fig.subplots(len(params), len(steps), sharey="row", squeeze=False)
    for i, p in enumerate(params):
        for j, s in enumerate(steps):
            ax = axes[i, j]
            for k, la in enumerate(layers):
                ys = [mean.get((p, w, s, la), np.nan) for w in widths]
                ax.plot(widths, ys, "-o", ms=3, color=color(k), label=la)
            ax.set_xscale("log", base=2)
            # the widths themselves as ticks (log2's own minor labels overprint each other)
            ax.set_xticks(widths, [str(w) for w in widths], fontsize=7, rotation=45)
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_yscale("log")
            ax.set_title(f"{p}: step {s}", fontsize=9)
            ax.grid(alpha=0.3)
            if i == len(params) - 1:
                ax.set_xlabel("width")
        axes[i, 0].set_ylabel("mean |x|")
    axes[0, -1].legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8, title="layer")
    c = result.config
    fig.suptitle(f"Coordinate check: {c['optimizer']} lr {c['lr']:g}, {c['seeds']} seeds, "
                 f"base width {c['base_width']}")
    return fit(fig)


def transfer_figure(result):
    """One panel per (parametrization, optimizer): final training loss (mean over seeds)
    against learning rate, one curve per width (darker = wider), the optimum of each marked,
    the threshold loss dotted; diverged runs left out."""
    combos = list(dict.fromkeys((d.param, d.optimizer) for d in result.drift))
    widths = sorted({r.width for r in result.runs})
    fig = figure(3.4 * len(combos) + 1.2, 3.4)
    axes = fig.subplots(1, len(combos), squeeze=False)[0]
    opt = {(o.param, o.optimizer, o.width): o for o in result.optimum}
    for ax, (p, o) in zip(axes, combos, strict=True):
        for k, w in enumerate(widths):
            runs = [r for r in result.runs if (r.param, r.optimizer, r.width) == (p, o, w)]
            lrs = sorted({r.lr for r in runs})
            loss = [np.mean([np.nan if r.diverged or r.final_loss is None else r.final_loss
                             for r in runs if r.lr == lr]) for lr in lrs]
            shade = 0.85 - 0.8 * k / max(1, len(widths) - 1)  # viridis: wider is darker
            line = ax.plot(lrs, loss, "-", color=colormaps["viridis"](shade), label=str(w))[0]
            best = opt.get((p, o, w))
            if best is not None and best.loss is not None:
                ax.plot([best.lr], [best.loss], "*", ms=9, color=line.get_color())
        ax.axhline(result.config["threshold"], ls=":", lw=1, color="0.4")
        drift = next(d for d in result.drift if (d.param, d.optimizer) == (p, o))
        ax.set(xscale="log", yscale="log", xlabel="learning rate",
               title=f"{p}, {o}: optimum x{drift.factor:.3g}")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("final training loss")
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8, title="width")
    c = result.config
    fig.suptitle(f"Learning-rate transfer on {c['dataset']}: {c['steps']} steps, "
                 f"{c['seeds']} seeds")
    return fit(fig)
