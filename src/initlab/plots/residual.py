"""Figures of the residual depth study: the stream's std per block, the final loss per depth."""

from __future__ import annotations

import numpy as np

from initlab.plots.common import color, figure, fit


def _values(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def stream_figure(result):
    """One panel per depth: the stream's std entering each block (log scale), per scheme:
    each seed as a faint line, the theory dashed; a stream that overflowed ends where it did,
    marked with a cross."""
    depths = result.config["depths"]
    schemes = result.config["schemes"]
    fig = figure(3.4 * len(depths), 3.4)
    axes = fig.subplots(1, len(depths), squeeze=False)[0]
    first = {}
    for r in result.runs:  # one run per (scheme, depth, seed) is enough: init is shared
        first.setdefault((r.scheme, r.depth, r.seed), r)
    for ax, depth in zip(axes, depths, strict=True):
        for i, scheme in enumerate(schemes):
            runs = [r for (s, d, _), r in first.items() if s == scheme and d == depth]
            for k, run in enumerate(runs):
                std = _values(run.stream_std)
                ax.plot(np.arange(len(std)), std, color=color(i), alpha=0.6, lw=1,
                        label=scheme if k == 0 else None)
                bad = np.flatnonzero(~np.isfinite(std))
                if bad.size:
                    ax.plot(bad[0] - 1, std[bad[0] - 1], "x", color=color(i), ms=8)
            th = next(t for t in result.theory if t.scheme == scheme and t.depth == depth)
            ax.plot(np.arange(len(th.stream_std)), _values(th.stream_std), "--",
                    color=color(i), lw=1)
        ax.set(yscale="log", xlabel="block", title=f"{depth} blocks")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("stream std at init")
    axes[0].legend(fontsize="small")
    fig.suptitle("The residual stream at init\nmeasured (solid, one line per seed), theory "
                 "(dashed), x: float overflow", fontsize="medium")
    return fit(fig)


def loss_figure(result):
    """One panel per optimizer: the best learning rate's mean final training loss against
    depth per scheme (log scales), with 95% intervals over seeds (the lower end clipped to a
    tenth of the mean, on a log axis); a depth where every seed diverged is marked with a
    cross at the top."""
    opts = list(result.config["optimizers"])
    schemes = result.config["schemes"]
    fig = figure(4.2 * len(opts), 3.6)
    axes = fig.subplots(1, len(opts), squeeze=False, sharey=True)[0]
    top = max([b.final_loss_mean for b in result.best if b.final_loss_mean is not None]
              or [1.0]) * 1.3
    for ax, opt in zip(axes, opts, strict=True):
        for i, scheme in enumerate(schemes):
            rows = [b for b in result.best if b.scheme == scheme and b.optimizer == opt]
            depth = np.array([b.depth for b in rows], dtype=float)
            mean = _values([b.final_loss_mean for b in rows])
            err = np.nan_to_num(_values([b.final_loss_ci95 for b in rows]))
            low = np.minimum(err, 0.9 * np.nan_to_num(mean))
            ax.errorbar(depth * (1 + 0.04 * i), mean, yerr=[low, err], marker="o", ms=4,
                        color=color(i), label=scheme, capsize=2)
            lost = ~np.isfinite(mean)
            ax.plot(depth[lost] * (1 + 0.04 * i), np.full(lost.sum(), top), "x",
                    color=color(i), ms=8)
        ax.axhline(np.log(result.config["classes"]), color="grey", lw=0.8, ls=":")
        ax.set(xscale="log", yscale="log", xlabel="blocks L",
               title=f"{opt}, best learning rate")
        ax.set_xticks(result.config["depths"], [str(d) for d in result.config["depths"]])
        ax.minorticks_off()
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("final training loss")
    axes[0].legend(fontsize="small")
    fig.suptitle(f"Final training loss after {result.config['iterations']} steps\n(dotted: "
                 "the uniform guess; x at the top: every seed diverged)", fontsize="medium")
    return fit(fig)
