"""Figures of ``initlab inspect`` and of the training monitor (from results only, no torch).

``inspect_figure`` draws each row's output std and gradient std on a log scale, measured as
markers and predicted by variance propagation as a line, before and after a re-initialization
when given both. ``monitor_figure`` draws fastai's "colorful dimension": per module, the
histogram of its outputs (log of 1 + count, as fastai's ``color_dim``) against the training step,
each step's bins (over that step's own range) placed on one value axis, and every module's std
against the step.
"""

from __future__ import annotations

import math
import re

import numpy as np

from initlab.plots.common import color, figure, fit


def _values(items) -> np.ndarray:
    v = np.array([np.nan if x is None else x for x in items], dtype=float)
    v[~np.isfinite(v) | (v <= 0)] = np.nan
    return v


def _panel(ax, result, key: str, label: str, i: int, predicted: bool) -> None:
    rows = np.arange(1, len(result.layers) + 1)
    measured = _values([getattr(r, key) for r in result.layers])
    ax.plot(rows, measured, "o", ms=4, color=color(i), label=f"{label} measured")
    if predicted:
        pred = _values([r.predicted_std for r in result.layers])
        if np.isfinite(pred).any():
            ax.plot(rows, pred, "-", lw=1.3, color=color(i), alpha=0.8,
                    label=f"{label} predicted")


def _stream_panel(ax, result, label: str, i: int) -> None:
    """The residual stream's std after each add, and the branch std added there."""
    adds = np.arange(1, len(result.blocks) + 1)
    ax.plot(adds, _values([b.std for b in result.blocks]), "o-", ms=3, lw=1.2, color=color(i),
            label=f"{label} stream".strip())
    ax.plot(adds, _values([b.branch_std for b in result.blocks]), "x", ms=4, color=color(i),
            alpha=0.7, label=f"{label} branch".strip())
    ax.set_yscale("log")
    ax.set(xlabel="residual add (in order)", title="residual stream std after each add")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)


def inspect_figure(result):
    """Std of each row's output and of dLoss/d(output): measured and predicted, and for a
    model with residual adds the stream after each add (one Figure).

    result: an ``InspectResult``, or a ``ReinitResult`` (before and after in two colors).
    """
    pairs = [("before", result.before), (f"after {result.init}".strip(), result.after)] \
        if hasattr(result, "before") else [("", result)]
    first = pairs[0][1]
    stream = any(res.blocks for _, res in pairs)
    fig = figure(16 if stream else 11, 4.2)
    axes = fig.subplots(1, 3 if stream else 2)
    for i, (label, res) in enumerate(pairs):
        _panel(axes[0], res, "std", label, i, predicted=True)
        _panel(axes[1], res, "grad_std", label, i, predicted=False)
        if stream:
            _stream_panel(axes[2], res, label, i)
        at = res.verdict.vanishes_at or res.verdict.explodes_at
        if at:
            word = "vanishes" if res.verdict.vanishes_at else "explodes"
            axes[0].axvline(at, color=color(i), ls=":", lw=1)
            axes[0].annotate(f"{word} (row {at})", (at, 1), xycoords=("data", "axes fraction"),
                             xytext=(3, -12), textcoords="offset points", fontsize=8,
                             color=color(i))
    n = len(first.layers)
    weighted = [k for k, r in enumerate(first.layers, 1) if r.fan_in is not None]
    for ax, title in zip(axes[:2], ["output std per row",
                                    "gradient std per row (dLoss/d output)"], strict=True):
        ax.set_yscale("log")
        ax.set(xlabel="row (leaf module call, in order)", title=title, xlim=(0.3, n + 0.7))
        if 0 < len(weighted) <= 30:
            ax.set_xticks(weighted, labels=_spaced_labels(weighted, n))
            ax.tick_params(axis="x", labelsize=7)
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=8)
    shape = "x".join(str(s) for s in np.ravel(first.input_shape))
    fig.suptitle(f"{first.model} on a {shape} input (ticks: rows with weights)", fontsize=10)
    return fit(fig)


def _spaced_labels(ticks, n: int) -> list[str]:
    """A label for each tick at least n / 30 rows after the last labeled one, '' for the
    others (rows 14 and 15 of 41 both labeled print as "1415")."""
    gap, last, labels = max(1, math.ceil(n / 30)), None, []
    for t in ticks:
        keep = last is None or t - last >= gap
        labels.append(str(t) if keep else "")
        last = t if keep else last
    return labels


def _pick(layers, count: int = 8) -> list:
    if len(layers) <= count:
        return list(layers)
    idx = np.unique(np.linspace(0, len(layers) - 1, count).round().astype(int))
    return [layers[i] for i in idx]


def _common_bins(layer, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Each step's histogram (its own range [lo, hi]) put on one grid over all steps' range,
    counts assigned by bin centre: (edges (bins + 1,), counts (steps, bins))."""
    lo, hi = min(layer.lo), max(layer.hi)
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
    out = np.zeros((len(layer.counts), bins))
    for k, (a, b, c) in enumerate(zip(layer.lo, layer.hi, layer.counts, strict=True)):
        step_edges = np.linspace(a, b, len(c) + 1)
        centres = (step_edges[:-1] + step_edges[1:]) / 2
        out[k] = np.histogram(centres, bins=edges, weights=np.asarray(c, dtype=float))[0]
    return edges, out


def _title_lines(text: str, width: int = 36) -> str:
    """A module's name on lines of at most ``width`` characters, broken after its dots (a
    transformers module path is 50-60 characters: one line overlaps the next panel's)."""
    lines = [""]
    for piece in re.findall(r"[^.]+\.?", text):
        if lines[-1] and len(lines[-1]) + len(piece) > width:
            lines.append("")
        lines[-1] += piece
    return "\n".join(lines)


def monitor_figure(result, layers=None):
    """Heat maps of each module's output histogram over training, and std over training.

    result: a ``MonitorResult``; layers: module names to draw (default: up to 8 of those with
    recordings, spread evenly, preferring activation modules).
    """
    recorded = [m for m in result.layers if m.counts]
    if layers is not None:
        chosen = [m for m in recorded if m.name in set(layers)]
    else:
        acts = [m for m in recorded if m.type in ("ReLU", "Tanh", "Sigmoid", "GELU", "LeakyReLU",
                                                  "ELU", "SELU", "SiLU")]
        chosen = _pick(acts or recorded)
    if not chosen:
        raise ValueError("nothing was recorded: no training step ran inside the monitor")
    cols = min(4, len(chosen))
    nrows = -(-len(chosen) // cols) + 1
    fig = figure(max(6.5, 3.0 * cols + 0.5), 2.3 * nrows)  # (the title's width at the least)
    grid = fig.add_gridspec(nrows, cols)
    for k, m in enumerate(chosen):
        ax = fig.add_subplot(grid[k // cols, k % cols])
        edges, counts = _common_bins(m, result.bins)
        counts = np.log1p(counts).T  # (bins, steps)
        x = np.asarray(m.steps, dtype=float)
        right = x[-1] + (x[1] - x[0] if len(x) > 1 else result.every)
        ax.imshow(counts, origin="lower", aspect="auto", cmap="viridis",
                  extent=(x[0], right, edges[0], edges[-1]))
        ax.set_title(_title_lines(f"{m.name} ({m.type})"), fontsize=9)
        ax.tick_params(labelsize=7)
        if k % cols == 0:
            ax.set_ylabel("output value", fontsize=8)
    ax = fig.add_subplot(grid[nrows - 1, :])
    for i, m in enumerate(chosen):
        ax.plot(m.steps, _values(m.std), color=color(i), lw=1.2,
                label=f"{m.name} ({m.type})")
    ax.set_yscale("log")
    ax.set(xlabel="training step", ylabel="output std")
    # below the axes: over them, eight module names hide the curves
    ax.legend(fontsize=7, ncols=min(4, len(chosen)), loc="upper center",
              bbox_to_anchor=(0.5, -0.3), frameon=False)
    ax.grid(alpha=0.3, which="both")
    fig.suptitle("output histograms over training (color: log(1 + count)) and output std",
                 fontsize=10)
    return fit(fig)
