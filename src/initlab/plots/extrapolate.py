"""The figure of ``initlab inspect --depth-scale/--width-scale``: the predicted stream std after
every block, for the model as built and as extrapolated (from the result only, no torch)."""

from __future__ import annotations

import numpy as np

from initlab.plots.common import color, figure, fit


def extrapolate_figure(result):
    """Predicted stream std against the block, built and extrapolated (one Figure, log y)."""
    fig = figure(6.5, 4.0)
    ax = fig.subplots()
    curves = [(f"as built ({result.built_blocks} blocks)", result.built_stream, 0),
              (f"x{result.depth_scale:g} deeper, x{result.width_scale:g} wider "
               f"({result.blocks} blocks)", result.stream, 1)]
    for label, rows, i in curves:
        if not rows:
            continue
        blocks = np.array([r.block for r in rows])
        stds = np.array([np.nan if r.stream_std is None else r.stream_std for r in rows])
        ax.plot(blocks, stds, "o-" if len(rows) <= 40 else "-", ms=3, lw=1.4, color=color(i),
                label=label)
    ax.set_yscale("log")
    ax.set(xlabel="block", ylabel="stream std after the block (predicted)",
           title=f"{result.model}: the stream at initialization, predicted")
    ax.legend(fontsize=8)
    return fit(fig)
