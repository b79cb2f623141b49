"""Figures of the many-seed comparison: loss bands, accuracy with intervals, boundaries."""

from __future__ import annotations

import numpy as np

from initlab.plots.common import boundary_height, boundary_panel, color, figure, fit


def _curves(rows_curves) -> np.ndarray:
    return np.array([[np.nan if v is None else v for v in c] for c in rows_curves], dtype=float)


def loss_figure(result):
    """Training loss against iterations: per init the median over seeds and a band from the
    10th to the 90th percentile (diverged runs drop out where their loss is undefined)."""
    fig = figure(6.6, 4.0)
    ax = fig.add_subplot()
    its = np.asarray(result.iterations)
    for i, row in enumerate(result.rows):
        curves = _curves(row.loss_curves)
        finite = np.isfinite(curves).any(axis=0)
        lo, mid, hi = (np.full(curves.shape[1], np.nan) for _ in range(3))
        if finite.any():
            lo[finite], mid[finite], hi[finite] = np.nanpercentile(curves[:, finite],
                                                                   [10, 50, 90], axis=0)
        label = f"{row.init} ({row.seeds} seeds" + (f", {row.diverged} diverged)"
                                                    if row.diverged else ")")
        ax.plot(its, mid, color=color(i), label=label)
        ax.fill_between(its, lo, hi, color=color(i), alpha=0.2, linewidth=0)
    ax.set(yscale="log", xlabel="iteration", ylabel="training loss",
           title=f"Training loss over seeds ({result.config['dataset']}): median, 10-90%")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return fit(fig)


def accuracy_figure(result):
    """Mean train and test accuracy per init with 95% intervals, seeds as dots."""
    fig = figure(max(4.8, 1.6 + 1.5 * len(result.rows)), 3.8)
    ax = fig.add_subplot()
    x = np.arange(len(result.rows))
    for part, offset, alpha in (("train", -0.18, 0.45), ("test", 0.18, 0.9)):
        for i, row in enumerate(result.rows):
            stat = getattr(row, f"{part}_accuracy")
            per_seed = np.asarray(getattr(row, f"{part}_per_seed"), dtype=float)
            low = stat.mean if stat.low is None else stat.low
            high = stat.mean if stat.high is None else stat.high
            ax.bar(x[i] + offset, stat.mean, width=0.34, color=color(i), alpha=alpha,
                   yerr=[[stat.mean - low], [high - stat.mean]], capsize=3,
                   label=part if i == 0 else None)
            jitter = np.linspace(-0.08, 0.08, per_seed.size)
            ax.scatter(x[i] + offset + jitter, per_seed, s=6, color="black", zorder=3)
    ax.set_xticks(x, [r.init for r in result.rows])
    ax.set(ylim=(0, 1.02), ylabel="accuracy",
           title="Accuracy by init: train (left), test (right)\nwith 95% intervals (Wilson)")
    ax.grid(axis="y", alpha=0.3)
    return fit(fig)


def boundary_figure(result):
    """Decision boundary of each init's median seed (by test accuracy), titled with that seed's
    test accuracy and the mean over seeds."""
    n = len(result.rows)
    fig = figure(3.4 * n, boundary_height(result.boundary, 3.4, 1.2))
    axes = fig.subplots(1, n, squeeze=False)[0]
    for i, (ax, row) in enumerate(zip(axes, result.rows, strict=True)):
        own = row.test_per_seed[row.median_seed - result.config["seed"]]
        boundary_panel(ax, result.boundary, i,
                       f"{row.init}: median seed {row.median_seed}\n"
                       f"test {own:.3f} (mean over seeds {row.test_accuracy.mean:.3f})")
    return fit(fig)
