"""Figure of the overfitting study: train and test accuracy per variant over training."""

from __future__ import annotations

import numpy as np

from initlab.plots.common import color, figure, fit


def curves_figure(result):
    """One panel per variant: mean train (dashed) and test (solid) accuracy with a band of
    one std over seeds; the title gives the final gap."""
    n = len(result.rows)
    fig = figure(3.3 * n, 3.5)
    axes = fig.subplots(1, n, sharey=True, squeeze=False)[0]
    its = np.asarray(result.iterations)
    for i, (ax, row) in enumerate(zip(axes, result.rows, strict=True)):
        for part, style in (("train", "--"), ("test", "-")):
            curves = np.asarray(getattr(row, f"{part}_curves"), dtype=float)
            mean, std = curves.mean(axis=0), curves.std(axis=0)
            ax.plot(its, mean, style, color=color(i), label=part)
            ax.fill_between(its, mean - std, mean + std, color=color(i), alpha=0.15, lw=0)
        ax.set(title=f"{row.variant}: gap {row.gap.mean:.3f}", xlabel="iteration",
               ylim=(0, 1.02))
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
    axes[0].set_ylabel("accuracy")
    fig.suptitle(f"Overfitting on {result.config['n_train']} examples "
                 f"({result.config['dataset']})")
    return fit(fig)
