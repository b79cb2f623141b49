"""Figures of the normalization study: the book's grid of training curves, and accuracy
against the weight scale with and without normalization.

Both draw only what a :class:`~initlab.experiments.normalize.NormalizeResult` holds (a loaded
``results.json`` included) and return ``matplotlib.figure.Figure`` objects.
"""

from __future__ import annotations

import math

import numpy as np

from initlab.plots.common import color, figure, fit

LABELS = {"none": "no normalization", "batch": "BatchNorm", "layer": "LayerNorm"}
STYLES = {"none": "--", "batch": "-", "layer": "-."}


def _color(result, norm: str) -> str:
    return color(result.norms.index(norm))


def _curves(row) -> np.ndarray:
    return np.array([[np.nan if v is None else v for v in c] for c in row.train_curves],
                    dtype=float)


def _finite_mean(curves: np.ndarray) -> np.ndarray:
    """Mean over seeds of the finite values per epoch (NaN where none is finite)."""
    finite = np.isfinite(curves)
    count = finite.sum(axis=0)
    total = np.where(finite, curves, 0.0).sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def grid_figure(result):
    """One small panel per weight scale: train accuracy after every epoch, mean over seeds
    (a line per variant; dashed without normalization) with each seed as a faint line, as
    Deep Learning from Scratch draws its BatchNorm experiment."""
    scales = result.config["scales"]
    cols = min(4, len(scales))
    rows = math.ceil(len(scales) / cols)
    fig = figure(2.2 * cols + 0.4, 1.75 * rows + 0.8)
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True)
    epochs = np.asarray(result.epochs)
    for k, ax in enumerate(axes.flat):
        if k >= len(scales):
            ax.set_visible(False)
            continue
        for norm in result.norms:
            row = result.rows_of(norm)[k]
            curves = _curves(row)
            c = _color(result, norm)
            for seed_curve in curves:
                ax.plot(epochs, seed_curve, color=c, alpha=0.25, lw=0.6)
            ax.plot(epochs, _finite_mean(curves), STYLES.get(norm, "-"), color=c, lw=1.6,
                    label=LABELS.get(norm, norm) if k == 0 else None)
        gone = [f"{LABELS.get(n, n)}: {r.diverged}/{r.seeds} diverged"
                for n in result.norms for r in [result.rows_of(n)[k]] if r.diverged]
        if gone:
            ax.text(0.04, 0.5, "\n".join(gone), transform=ax.transAxes, fontsize=7.5,
                    color="#c0392b")
        ax.set_title(f"std = {scales[k]:.3g}", fontsize=9)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("epoch", fontsize=9)
    for ax in axes[:, 0]:
        ax.set_ylabel("train accuracy", fontsize=9)
    fig.legend(loc="outside lower center", ncol=len(result.norms), fontsize=9)
    cfg = result.config
    fig.suptitle(f"Training with weights N(0, std$^2$): {cfg['dataset']}, {cfg['n_train']} "
                 f"examples, {cfg['seeds']} seeds (faint: each seed)", fontsize=11)
    return fit(fig)


def summary_figure(result):
    """Final train and test accuracy against the weight scale (log axis), one line per
    variant, with a band of the 95% confidence interval over seeds, chance as a line, and a
    red x where some seeds diverged (their frozen weights' accuracy is in the mean)."""
    fig = figure(10.0, 4.2)
    axes = fig.subplots(1, 2, sharey=True)
    cfg = result.config
    for ax, part in zip(axes, ("train", "test"), strict=True):
        for norm in result.norms:
            rows = result.rows_of(norm)
            x = np.array([r.scale for r in rows])
            stats = [getattr(r, f"{part}_accuracy") for r in rows]
            mean = np.array([np.nan if s.mean is None else s.mean for s in stats])
            bounds = [s.interval() or (s.mean, s.mean) for s in stats]
            low = np.array([np.nan if b[0] is None else b[0] for b in bounds])
            high = np.array([np.nan if b[1] is None else b[1] for b in bounds])
            c = _color(result, norm)
            ax.plot(x, mean, STYLES.get(norm, "-"), marker="o", ms=3.5, color=c,
                    label=LABELS.get(norm, norm))
            ax.fill_between(x, low, high,
                            color=c, alpha=0.2, lw=0)
            gone = np.array([r.diverged > 0 for r in rows])
            if gone.any():
                ax.plot(x[gone], mean[gone], "x", color="#c0392b", ms=7, mew=1.5,
                        label="some seeds diverged" if norm == result.norms[0] else None)
        ax.axhline(cfg["chance"], color="gray", lw=0.8, ls=":", label="chance")
        ax.set(xscale="log", xlabel="weight std (log scale)", ylim=(0, 1.02),
               title=f"{part} accuracy after {cfg['epochs']} epochs")
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("accuracy (mean, 95% band)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=9)
    fig.suptitle(f"Which weight scales train? {len(cfg['sizes']) - 2} hidden layers of "
                 f"{cfg['sizes'][1]} {cfg['activation']}, {cfg['dataset']}, {cfg['seeds']} "
                 f"seeds", fontsize=11)
    return fit(fig)


def figures(result) -> dict:
    """Every figure of the study by file stem: ``curves`` (the grid) and ``scales``."""
    return {"curves": grid_figure(result), "scales": summary_figure(result)}
