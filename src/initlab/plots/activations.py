"""Figures of the activation study: histogram grids and std against depth, beside theory.

Both draw only what an :class:`~initlab.experiments.activations.ActivationsResult` holds (a
loaded ``results.json`` included) and return ``matplotlib.figure.Figure`` objects.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
from matplotlib.ticker import FuncFormatter

from initlab.plots.common import color, figure, fit
from initlab.plots.panels import PanelGrid

_COLUMNS = [("std", "predicted_std", "seed_std", "activations $h_l$"),
            ("grad_std", "predicted_grad_std", "seed_grad_std",
             r"gradient $\partial L/\partial h_l$"),
            ("weight_grad_std", "predicted_weight_grad_std", "seed_weight_grad_std",
             r"weight gradient $\partial L/\partial W_l$")]
_PLAIN = FuncFormatter(lambda v, _: f"{v:g}")
_PLAIN_235 = FuncFormatter(  # minor ticks: label only 2, 3 and 5 times a power of ten
    lambda v, _: f"{v:g}" if round(v / 10 ** math.floor(math.log10(v)), 6) in (2, 3, 5) else "")


def _layer_ticks(depth: int) -> list[int]:
    """Every layer up to 12; beyond, 1 and round steps (1, 5, 10, ..., depth)."""
    if depth <= 12:
        return list(range(1, depth + 1))
    step = next(s for s in (2, 5, 10, 20, 25, 50, 100, 200, 500, 10**9) if depth / s <= 8)
    ticks = [1, *range(step, depth + 1, step)]
    return ticks[:-1] + [depth] if depth - ticks[-1] <= step / 2 else ticks + [depth]


def _values(items) -> np.ndarray:
    """Floats with None, NaN, inf and non-positive values as NaN (nothing to draw on a log axis)."""
    v = np.array([np.nan if x is None else x for x in items], dtype=float)
    v[~np.isfinite(v) | (v <= 0)] = np.nan
    return v


def _activations(result) -> list[str]:
    return list(dict.fromkeys(r.activation for r in result.runs))


def _inits(result) -> list[str]:
    return list(dict.fromkeys(r.init for r in result.runs))


def _describe(result) -> str:
    cfg = result.config or {}
    sizes, seeds = cfg.get("sizes"), cfg.get("seeds", 1)
    if not sizes:
        return ""
    net = (f"{len(sizes) - 1} layers of {sizes[1]}" if len(set(sizes)) == 1
           else "sizes " + "-".join(map(str, sizes)))
    norm = {"batch": ", BatchNorm", "layer": ", LayerNorm"}.get(cfg.get("norm"), "")
    return (f"{cfg.get('batch')} x {sizes[0]} input, {net}{norm}, "
            f"{seeds} seed{'s' * (seeds > 1)}")


def histogram_figure(result, activation: str, layers=None):
    """Histogram grid of one activation: one row per init, one column per layer ("k-layer").

    ``layers``: 1-based layers to show (default: all up to 12, else 10 spread evenly). Bars are
    fractions of all values pooled over seeds; values outside the bins are counted in a note
    ("31% > 1"). Where over 20% of the values are exactly 0 (ReLU), the spike at 0 is cut at the
    top so the rest stays visible, and its share is noted.
    """
    runs = [r for r in result.runs if r.activation == activation]
    if not runs:
        raise ValueError(f"no run with activation {activation!r}")
    depth = len(runs[0].layers)
    if layers is None:
        layers = range(1, depth + 1) if depth <= 12 else np.linspace(1, depth, 10).round()
    layers = [int(k) for k in layers]
    edges = np.asarray(runs[0].edges)
    pad = 0.03 * (edges[-1] - edges[0])  # keeps bars at the edges off the frame
    grid = PanelGrid(1.35 * len(layers) + 1.1, 1.05 * len(runs) + 0.7, len(runs), len(layers),
                     (edges[0] - pad, edges[-1] + pad), row_labels=[r.init for r in runs],
                     col_titles=[f"{k}-layer" for k in layers],
                     title=f"{activation}: activation histograms ({_describe(result)})")
    for i, run in enumerate(runs):
        for j, k in enumerate(layers):
            _histogram_panel(grid, i, j, run.layers[k - 1], np.asarray(run.edges), color(i))
    return fit(grid.fig)


def _histogram_panel(grid, i: int, j: int, layer, edges: np.ndarray, c: str) -> None:
    counts = np.asarray(layer.counts, dtype=float)
    total = max(counts.sum() + (layer.below or 0) + (layer.above or 0), 1)
    frac = counts / total
    top = 1.05 * frac.max()  # as matplotlib's automatic limits leave a 5% margin
    notes = []
    if layer.zero > 0.2 and frac.size > 1:
        zero_bin = min(max(np.searchsorted(edges, 0.0, "right") - 1, 0), frac.size - 1)
        rest = np.delete(frac, zero_bin)
        if rest.max() > 0:
            top = 1.25 * rest.max()
        notes.append(f"{layer.zero:.0%} = 0")
    grid.stairs(i, j, frac, edges, top, color=c, alpha=0.85)
    for share, sign, edge in ((layer.below, "<", edges[0]), (layer.above, ">", edges[-1])):
        if share and share / total >= 0.005:
            notes.append(f"{share / total:.0%} {sign} {edge:g}")
    if notes:  # on the emptier half
        left = frac[: frac.size // 2].sum() < frac[(frac.size + 1) // 2:].sum()
        grid.note(i, j, "\n".join(notes), left, fontsize=6.5, color="0.25")


def std_figure(result):
    """Std of activations, dL/dh and dL/dW against depth on a log axis, one row per activation.

    Lines are theory, filled markers the measurement pooled over seeds, faint dots each seed.
    A ring marks the layer where the run's verdict (:func:`initlab.verdict.judge`) says the
    activations or the gradient vanish or explode: the first layer whose std is below 1/10 or
    above 10x the reference layer's (layer 1 forward, the top layer backward). Zeros are not
    drawn on a log axis (each panel's title names the inits and layers it leaves out):
    all-equal weights make every entry of a hidden dL/dW equal (theory: std 0), so the
    measured points there show float rounding only.
    """
    acts, inits = _activations(result), _inits(result)
    grad = result.runs[0].layers[0].grad_std is not None
    columns = _COLUMNS if grad else _COLUMNS[:1]
    fig = figure(4.1 * len(columns) + 1.9, 3.0 * len(acts) + 0.5)
    axes = fig.subplots(len(acts), len(columns), squeeze=False)
    for row, act in enumerate(acts):
        for col, (key, theory_key, seed_key, title) in enumerate(columns):
            ax = axes[row, col]
            for run in (r for r in result.runs if r.activation == act):
                i = inits.index(run.init)
                # each init's seeds a little to the side, so equal laws do not hide each other
                c, dodge = color(i), 0.3 * (i / max(len(inits) - 1, 1) - 0.5)
                x = np.array([s.index for s in run.layers])
                measured = _values(getattr(s, key) for s in run.layers)
                theory = _values(getattr(s, theory_key) for s in run.layers)
                ax.plot(x, theory, color=c, linewidth=1.4, alpha=0.9)
                ax.plot(x, measured, "o", color=c, markersize=4.5, markeredgecolor="white",
                        markeredgewidth=0.5)
                for s in run.layers:
                    seeds = _values(getattr(s, seed_key) or [])
                    if seeds.size > 1:
                        ax.plot(np.full(seeds.size, s.index + dodge), seeds, ".", color=c,
                                alpha=0.3, markersize=3)
                at = _crossing(run.verdict, col)
                if at is not None and np.isfinite(measured[at - 1]):
                    ax.plot(at, measured[at - 1], "o", markersize=11, markerfacecolor="none",
                            markeredgecolor=c, markeredgewidth=1.3)
            note = _not_drawn([r for r in result.runs if r.activation == act], key, theory_key)
            ax.set_yscale("log")
            lo, hi = ax.get_ylim()
            if 0 < lo and hi / lo < 3:  # all stds alike (e.g. normalized): show a labeled span
                mid = math.sqrt(lo * hi)
                lo, hi = mid / 1.8, mid * 1.8
            ax.set_ylim(lo, hi)
            if hi / lo < 100:  # under two decades: plain numbers read better than 6x10^-1
                ax.yaxis.set_major_formatter(_PLAIN)
                ax.yaxis.set_minor_formatter(_PLAIN_235)
            ax.set_xticks(_layer_ticks(x.size))
            ax.grid(alpha=0.3, which="major")
            ax.set_title(f"{act}: {title}{note}", fontsize=10 if not note else 8.5)
            ax.set_xlabel("layer")
            if col == 0:
                ax.set_ylabel("std")
    handles = [axes[0, 0].plot([], [], "o-", color=color(i), label=_label(result, init, columns))[0]
               for i, init in enumerate(inits)]
    handles.append(axes[0, 0].plot([], [], "-", color="0.3", label="theory")[0])
    handles.append(axes[0, 0].plot([], [], "o", color="0.3", label="measured (pooled)")[0])
    handles.append(axes[0, 0].plot([], [], ".", color="0.3", alpha=0.4, label="one seed")[0])
    handles.append(axes[0, 0].plot([], [], "o", markersize=9, markerfacecolor="none",
                                   markeredgecolor="0.3", label="verdict: vanishes or\n"
                                   "explodes here (1/10, 10x)")[0])
    fig.legend(handles=handles, loc="outside right upper", fontsize=8.5, frameon=False)
    fig.suptitle(f"Std against depth ({_describe(result)})", fontsize=11)
    return fit(fig)


#: Characters per line of a panel title's note (8.5 pt in a 4.1 in wide panel).
_NOTE_WIDTH = 62


def _layer_list(layers: list[int]) -> str:
    """'layer 3', 'layers 3-5', 'layers 1, 3-5' of sorted 1-based layers."""
    spans, start = [], layers[0]
    for a, b in zip(layers, [*layers[1:], None], strict=True):
        if b != a + 1:
            spans.append(str(a) if a == start else f"{start}-{a}")
            start = b
    return ("layer " if len(layers) == 1 else "layers ") + ", ".join(spans)


def _not_drawn(runs, key: str, theory_key: str) -> str:
    """A panel title's note on what its log axis cannot show, from the values: the inits and
    layers whose measured std (or theory, where only that is missing) is 0, undefined or
    infinite, inits with the same layers together; "" when everything is drawn."""
    groups, kinds = {}, set()
    for run in runs:
        for name, k in ((run.init, key), (f"{run.init}'s theory", theory_key)):
            raw = [getattr(s, k) for s in run.layers]
            missing = [s.index for s, v in zip(run.layers, _values(raw), strict=True)
                       if np.isnan(v)]
            if k == theory_key:  # a missing marker hides the layer already
                shown = _values(getattr(s, key) for s in run.layers)
                missing = [i for i in missing if not np.isnan(shown[i - 1])]
            if missing:
                groups.setdefault(_layer_list(missing), []).append(name)
                kinds.update("undefined" if v is None or np.isnan(v) else
                             "exactly 0" if v == 0 else "infinite"
                             for v in (raw[i - 1] for i in missing))
    if not groups:
        return ""
    # a log axis cannot show 0: say where it is instead of hiding it; lines break between
    # groups where they can, so "ones, constant(5) at layers 3-5" stays on one line
    pieces = [f"(not drawn, std {' or '.join(sorted(kinds))}:",
              *(f"{', '.join(names)} at {layers};" for layers, names in groups.items())]
    pieces[-1] = pieces[-1][:-1] + ")"
    lines = []
    for piece in pieces:
        if lines and len(lines[-1]) + 1 + len(piece) <= _NOTE_WIDTH:
            lines[-1] += " " + piece
        else:
            lines += textwrap.wrap(piece, _NOTE_WIDTH, break_on_hyphens=False)
    return "\n" + "\n".join(lines)


def _crossing(verdict, col: int) -> int | None:
    """The layer where the verdict has the activations (col 0) or dL/dh (col 1) vanish or
    explode; None for dL/dW and when neither happens."""
    if verdict is None or col > 1:
        return None
    pair = ((verdict.vanishes_at, verdict.explodes_at) if col == 0 else
            (verdict.grad_vanishes_at, verdict.grad_explodes_at))
    return next((at for at in pair if at is not None), None)


def _label(result, init: str, columns) -> str:
    """The legend's name of ``init``, marked when none of its points is drawn in any panel."""
    values = _values(getattr(s, key) for r in result.runs if r.init == init
                     for s in r.layers for key, *_ in columns)
    return f"{init} (std 0: not drawn)" if np.isnan(values).all() else init


def figures(result) -> dict:
    """Every figure of the study by file stem: ``histograms_<activation>`` and
    ``std_vs_depth``."""
    out = {}
    for act in _activations(result):
        stem = "".join(ch if ch.isalnum() or ch in "_-." else "_" for ch in act)
        out[f"histograms_{stem}"] = histogram_figure(result, act)
    out["std_vs_depth"] = std_figure(result)
    return out
