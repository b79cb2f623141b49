"""Figures of the propagation study: q and c against depth, the chi_1 phase diagram, the
Jacobian spectra and the trainability phase diagram (all drawn from a PropagateResult)."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import TwoSlopeNorm

from initlab.plots.common import color, figure, fit


def _pick(runs, k: int = 6) -> list:
    """At most k runs spread over the sigma_w^2 list."""
    idx = np.unique(np.linspace(0, len(runs) - 1, min(k, len(runs))).round().astype(int))
    return [runs[i] for i in idx]


def _column(run, name: str) -> np.ndarray:
    """One per-layer field of a run as floats (None -> NaN)."""
    return np.array([np.nan if getattr(la, name) is None else getattr(la, name)
                     for la in run.layers], dtype=float)


def propagation_figure(result):
    """q_l and c_l against depth: measured (markers) beside the maps' iterates (lines); for
    residual nets, the stream after each block beside :mod:`initlab.theory.residual`."""
    cfg = result.config or {}
    residual = bool(cfg.get("residual"))
    fig = figure(11, 4)
    ax_q, ax_c = fig.subplots(1, 2)
    for i, run in enumerate(_pick(result.runs)):
        idx = np.array([la.index for la in run.layers])
        label = f"$\\sigma_w^2$ = {run.sigma_w2:.2f}" + (
            "" if run.chi_1 is None else f" ($\\chi_1$ = {run.chi_1:.2f})")
        step = max(1, len(idx) // 25)
        for ax, name in ((ax_q, "q"), (ax_c, "c")):
            ax.plot(idx, _column(run, f"{name}_predicted"), color=color(i), lw=1.5,
                    label=label if ax is ax_q else None)
            ax.plot(idx[::step], _column(run, name)[::step], "o", color=color(i), ms=3.5,
                    mfc="none")
    where, what = (("block l", "the stream after the block") if residual
                   else ("layer l", "the pre-activations"))
    ax_q.set(xlabel=where, ylabel=f"$q_l$ (length of {what})", yscale="log",
             title="Length: theory (lines), measured (circles)")
    ax_c.set(xlabel=where, ylabel="$c_l$ (correlation of the pair)", ylim=(-0.05, 1.05),
             title="Correlation: theory (lines), measured (circles)")
    for ax in (ax_q, ax_c):
        ax.grid(alpha=0.3)
    ax_q.legend(fontsize=8)
    net = (f"residual nets x + W2 {cfg.get('activation', '')}(W1 x), no biases" if residual
           else f"{cfg.get('activation', '')}, $\\sigma_b^2$ = {cfg.get('sigma_b2', '')}")
    fig.suptitle(f"{net}, width {cfg.get('width', '')}, {cfg.get('seeds', '')} nets per "
                 f"$\\sigma_w^2$")
    return fit(fig)


def phase_figure(result):
    """chi_1 over (sigma_w^2, sigma_b^2) (log scale, white at 1), the critical line, and the
    run's points coloured by the measured last-layer correlation (ordered: c_L near 1)."""
    ph = result.phase
    ws, bs = np.asarray(ph["sigma_w2"]), np.asarray(ph["sigma_b2"])
    chi = np.log(np.clip(np.asarray(ph["chi_1"], dtype=float), 1e-3, None))
    span = max(abs(chi.min()), abs(chi.max()), 1e-3)
    fig = figure(6.5, 4.6, layout=None)  # colorbars share the map's cell: see plots.layout
    ax = fig.subplots()
    mesh = ax.pcolormesh(ws, bs, chi, cmap="RdBu_r", shading="nearest",
                         norm=TwoSlopeNorm(0.0, -span, span))
    fig.colorbar(mesh, ax=ax, label="ln $\\chi_1$  (< 0 ordered, > 0 chaotic)")
    crit = np.array([np.nan if v is None else v for v in ph["critical"]], dtype=float)
    ax.plot(crit, bs, "k-", lw=2, label="critical line $\\chi_1$ = 1")
    sw = [r.sigma_w2 for r in result.runs]
    sb = [r.sigma_b2 for r in result.runs]
    c_last = [np.nan if r.layers[-1].c is None else r.layers[-1].c for r in result.runs]
    pts = ax.scatter(sw, sb, c=c_last, cmap="viridis", vmin=0, vmax=1, s=22, edgecolors="k",
                     linewidths=0.5, zorder=3, label="runs (colour: measured $c_L$)")
    fig.colorbar(pts, ax=ax, label="measured $c_L$")
    ax.set(xlabel="$\\sigma_w^2$", ylabel="$\\sigma_b^2$", xlim=(ws[0], ws[-1]),
           ylim=(bs[0], bs[-1]), title="Order to chaos: $\\chi_1 = \\sigma_w^2 E[\\phi'^2]$")
    ax.legend(loc="upper left", fontsize=8)
    return fit(fig)


def jacobian_figure(result):
    """Histograms of log10 singular values, one panel per activation, one line per
    (weights, depth)."""
    cases = result.jacobian
    acts = list(dict.fromkeys(c.activation for c in cases))
    fig = figure(5.2 * len(acts), 3.8)
    axes = np.atleast_1d(fig.subplots(1, len(acts), sharey=True))
    depths = sorted({c.depth for c in cases})
    for ax, act in zip(axes, acts, strict=True):
        for c in (c for c in cases if c.activation == act):
            sv = np.log10(np.clip(np.asarray(c.values, dtype=float), 1e-30, None))
            style = "-" if c.weights == "orthogonal" else "--"
            k = depths.index(c.depth)
            counts, edges = np.histogram(sv, bins=60, range=(-20, 2))
            ax.stairs(counts / counts.sum(), edges, color=color(k + 2 * (c.weights == "gaussian")),
                      linestyle=style, label=f"{c.weights}, L = {c.depth}")
        first = next(c for c in cases if c.activation == act)
        ax.set(title=f"{act} at $\\sigma_w^2$ = {first.sigma_w2:.3g}, $\\sigma_b^2$ = "
               f"{first.sigma_b2:.3g}", xlabel="log$_{10}$ singular value of J")
        ax.axvline(0, color="gray", lw=0.8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    axes[0].set_ylabel("fraction of singular values")
    fig.suptitle("Input-output Jacobian at criticality (values below 1e-20 piled at -20)")
    return fit(fig)


def trainability_figure(result):
    """Training accuracy over (sigma_w^2, depth) with the 6 xi_c curve on top."""
    pts = result.trainability
    ws = sorted({p.sigma_w2 for p in pts})
    ds = sorted({p.depth for p in pts})
    grid = np.full((len(ds), len(ws)), np.nan)
    for p in pts:
        grid[ds.index(p.depth), ws.index(p.sigma_w2)] = (np.nan if p.train_accuracy.mean is None
                                                       else p.train_accuracy.mean)
    fig = figure(6.5, 4.6, layout=None)  # colorbars share the map's cell: see plots.layout
    ax = fig.subplots()
    mesh = ax.pcolormesh(ws, ds, grid, cmap="magma", vmin=0, vmax=1, shading="nearest")
    fig.colorbar(mesh, ax=ax, label="training accuracy after training")
    curve = result.six_xi_c or []
    cw = np.array([c.sigma_w2 for c in curve])
    cd = np.array([np.nan if c.depth is None else c.depth for c in curve], dtype=float)
    ax.plot(cw, cd, color="#4fc3f7", lw=2.2, label="6 $\\xi_c$ (theory)")
    pad_w = (ws[1] - ws[0]) / 2 if len(ws) > 1 else 0.5
    pad_d = (ds[1] - ds[0]) / 2 if len(ds) > 1 else 2
    ax.set(xlabel="$\\sigma_w^2$", ylabel="depth L", xlim=(ws[0] - pad_w, ws[-1] + pad_w),
           ylim=(max(0, ds[0] - pad_d), ds[-1] + pad_d),
           title="Trainability (tanh, digits); theory expects training below ~6 $\\xi_c$")
    ax.legend(loc="upper right", fontsize=8)
    return fit(fig)


def figures(result) -> dict:
    """Every figure the result has data for, by file stem."""
    out = {"propagation": propagation_figure(result)}
    if result.phase:  # plain nets only
        out["phase"] = phase_figure(result)
    if result.jacobian:
        out["jacobian"] = jacobian_figure(result)
    if result.trainability:
        out["trainability"] = trainability_figure(result)
    return out
