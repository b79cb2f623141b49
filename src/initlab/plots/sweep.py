"""Figures of a sweep: a metric against a grid axis (lines with 95% bars) or a heat map."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import Normalize
from matplotlib.transforms import ScaledTranslation

from initlab.plots.common import color, figure, fit


def _where(data) -> str:
    return ", ".join(f"{k}={v}" for k, v in data.where.items())


def _runs(counts) -> str:
    counts = [c for c in counts if c]
    if not counts:
        return "no runs"
    lo, hi = min(counts), max(counts)
    return f"{lo} run{'s' * (lo != 1)}" if lo == hi else f"{lo}-{hi} runs"


def line_figure(data):
    """Metric against a grid column, one line per hue value: the mean over the runs (seeds)
    at each x with a 95% Student-t interval as error bars (none where one run)."""
    fig = figure(6.4, 4.0)
    ax = fig.add_subplot()
    positions = {}
    if data.categorical:
        for s in data.series:
            for v in s.x:
                positions.setdefault(v, len(positions))
    for i, s in enumerate(data.series):
        xs = [positions[v] for v in s.x] if data.categorical else s.x
        mean = np.array([np.nan if m is None else m for m in s.mean], dtype=float)
        err = np.array([0.0 if c is None else c for c in s.ci95], dtype=float)
        label = None if s.label is None else f"{data.hue} = {s.label}"
        # Side by side by a few points, so that the bars of equal x do not hide each other.
        shift = ScaledTranslation((i - (len(data.series) - 1) / 2) * 0.05, 0,
                                  fig.dpi_scale_trans)
        bars = ax.errorbar(xs, mean, yerr=err, color=color(i), marker="o", markersize=4,
                           capsize=3, linewidth=1.4, label=label)
        for artist in bars.get_children():
            artist.set_transform(artist.get_transform() + shift)
    if data.categorical:
        ax.set_xticks(list(positions.values()), [str(v) for v in positions])
    if data.log_x:
        ax.set_xscale("log")
    counts = [c for s in data.series for c in s.n]
    title = f"{data.y} against {data.x}: mean of {_runs(counts)} per point, bars 95% interval"
    if data.where:
        title += f"\n({_where(data)})"
    ax.set(xlabel=data.x, ylabel=data.y)
    ax.set_title(title, fontsize=9.5)
    ax.grid(alpha=0.3)
    if any(s.label is not None for s in data.series):
        ax.legend(fontsize=8, frameon=False)
    return fit(fig)


def _cells(values, centers) -> np.ndarray:
    """Place values given in a numeric axis's units on the heat map's cell positions 0..n-1:
    linear between neighbouring cells, extended past the ends by the end cells' spacing."""
    v = np.array([np.nan if x is None else x for x in values], dtype=float)
    c = np.asarray(centers, dtype=float)
    idx = np.arange(c.size, dtype=float)
    out = np.interp(v, c, idx)
    low, high = v < c[0], v > c[-1]
    out[low] = (v[low] - c[0]) / (c[1] - c[0])
    out[high] = c.size - 1 + (v[high] - c[-1]) / (c[-1] - c[-2])
    return out


def heat_figure(data):
    """Mean metric per (x, y) cell as a heat map, the value written in each cell when the grid
    is small enough to read it; empty cells are left blank; ``data.overlay`` (a theory
    curve, computed beforehand) is drawn on top."""
    values = np.array([[np.nan if v is None else v for v in row] for row in data.mean],
                      dtype=float)
    nx, ny = len(data.xs), len(data.ys)
    legend = 0.3 if data.overlay is not None else 0.0
    fig = figure(min(2.2 + 0.55 * nx, 11), min(1.8 + 0.4 * ny, 9) + legend)
    ax = fig.add_subplot()
    finite = values[np.isfinite(values)]
    norm = Normalize(*(finite.min(), finite.max()) if finite.size else (0, 1))
    image = ax.imshow(values, origin="lower", aspect="auto", cmap="viridis", norm=norm,
                      interpolation="nearest")
    fig.colorbar(image, ax=ax, label=data.z)
    step_x, step_y = max(1, nx // 12), max(1, ny // 12)
    ax.set_xticks(range(0, nx, step_x), [f"{v:g}" if isinstance(v, float) else str(v)
                                         for v in data.xs[::step_x]])
    ax.set_yticks(range(0, ny, step_y), [f"{v:g}" if isinstance(v, float) else str(v)
                                         for v in data.ys[::step_y]])
    if nx * ny <= 150:
        middle = (norm.vmin + norm.vmax) / 2
        for r in range(ny):
            for c in range(nx):
                if np.isfinite(values[r, c]):
                    ax.text(c, r, f"{values[r, c]:.3g}", ha="center", va="center", fontsize=7,
                            color="black" if values[r, c] > middle else "white")
    if data.overlay is not None:
        curve = data.overlay
        ax.plot(_cells(curve.x, data.xs), _cells(curve.y, data.ys), color="#4fc3f7", lw=2.2,
                label=curve.label)
        ax.set(xlim=(-0.5, nx - 0.5), ylim=(-0.5, ny - 0.5))
        # below the axes: inside, it would hide the numbers of the top cells
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=8, frameon=False)
    counts = [c for row in data.n for c in row]
    title = f"{data.z}: mean of {_runs(counts)} per cell"
    if data.where:
        title += f"\n({_where(data)})"
    ax.set(xlabel=data.x, ylabel=data.y)
    ax.set_title(title, fontsize=9.5)
    return fit(fig)
