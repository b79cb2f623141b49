"""The report's section "Does it transfer to a wider net?": the coordinate check and the
learning-rate transfer study, every comparison computed from the run it describes."""

from __future__ import annotations

import numpy as np


def growth(result, param: str, layer: str, step: int) -> float:
    """mean |x| of ``layer`` at ``step`` at the widest width over the narrowest (seed means)."""
    rows = [r for r in result.rows if (r.param, r.layer, r.step) == (param, layer, step)]
    widths = [r.width for r in rows]
    at = lambda w: np.mean([r.mean_abs for r in rows if r.width == w])  # noqa: E731
    return float(at(max(widths)) / at(min(widths)))


def _times(x: float) -> str:
    return f"{x:.3g}x" if np.isfinite(x) else "a non-finite multiple"


def coordcheck_text(result) -> str:
    """What the coordinate check shows: the output's growth after one step per
    parametrization, and each verdict."""
    c = result.config
    widths = sorted({r.width for r in result.rows})
    step = 1 if c["steps"] >= 1 else 0
    grown = {p: growth(result, p, "output", step) for p in result.verdict}
    lines = [
        f"""
        The same MLP ({c['depth']} hidden layers) at widths {widths[0]} to {widths[-1]}, from
        {c['seeds']} seeds, trained with {c['optimizer']} at learning rate {c['lr']:g} on one
        fixed batch of {c['batch']} {c['dataset']} examples, with the init and learning rates
        scaled from base width {c['base_width']} by each parametrization (the standard one,
        SP, as PyTorch's defaults do; muP as Yang et al. 2022, Tensor Programs V, Table 8, and
        Microsoft's mup implement it). The figure is mup's coordinate check: the mean |x| of
        every layer's output against width, one panel per step."""]
    said = ", ".join(f"{p}: {_times(g)}" for p, g in grown.items())
    lines.append(f"""
        After {step} step{'s' if step != 1 else ''} the output's mean |x| at width
        {widths[-1]} is, relative to width {widths[0]}: {said}.""")
    for p, v in result.verdict.items():
        lines.append(f"{p}: {v}." if v != "stable" else
                     f"{p}: every layer's slope stays within +-{c['band']:g} at every step "
                     "after the first update (stable).")
    return "\n".join(lines)


def _optimum(result, p: str, o: str, w: int):
    return next(x for x in result.optimum if (x.param, x.optimizer, x.width) == (p, o, w))


def transfer_text(result) -> str:
    """Where the best learning rate goes as the net widens, per optimizer: SP against muP,
    the argmin with its seed range and whether its move is within the noise, the steadier
    threshold rate, and whether wider is better at the optimum."""
    c = result.config
    widths = sorted(c["widths"])
    lo, hi = widths[0], widths[-1]
    parts = [f"""
        The learning-rate sweep behind "hyperparameters transfer": the same MLP at widths
        {', '.join(map(str, widths))}, every rate of the grid from {c['seeds']} seeds, trained
        {c['steps']} steps (minibatches of {c['batch']}) on {c['dataset']}; the figure is the
        final training loss against the rate, one curve per width. Two statistics per width:
        the best rate of the grid (argmin of the mean loss; the seeds' own argmins give its
        range) and the smallest rate whose loss falls below {c['threshold']:g} (interpolated
        between grid rates): the argmin is quantized by the grid and flat near the optimum,
        the threshold rate moves smoothly."""]
    for d in result.drift:
        a, b = _optimum(result, d.param, d.optimizer, lo), _optimum(result, d.param,
                                                                    d.optimizer, hi)
        moved = ("does not move" if d.factor == 1 else f"moves by a factor {d.factor:.3g}")
        noise = (" - within the noise: the seeds' ranges at the two widths overlap"
                 if d.within_noise else ", outside the seeds' ranges")
        thr = ("the threshold rate is off the grid at one of the two widths" if
               d.threshold_factor is None else
               f"the threshold rate moves by a factor {d.threshold_factor:.3g} "
               f"({a.threshold_lr:.3g} to {b.threshold_lr:.3g})")
        parts.append(f"""
        {d.param}, {d.optimizer}: from width {lo} to {hi} the best rate {moved}
        ({a.lr:.3g}, seeds {a.lr_low:.3g}..{a.lr_high:.3g}, to {b.lr:.3g}, seeds
        {b.lr_low:.3g}..{b.lr_high:.3g}){noise}; {thr}. {_wider(result, d.param, d.optimizer)}""")
    return "\n".join(parts)


def _wider(result, p: str, o: str) -> str:
    """Whether the loss at the optimum falls with width, from the optimum rows."""
    rows = sorted((x for x in result.optimum if (x.param, x.optimizer) == (p, o)),
                  key=lambda x: x.width)
    losses = [x.loss for x in rows]
    if any(v is None for v in losses):
        return "Some width has no finite loss at its optimum."
    falls = all(b < a for a, b in zip(losses, losses[1:], strict=False))
    span = f"{losses[0]:.3g} at width {rows[0].width} to {losses[-1]:.3g} at {rows[-1].width}"
    if falls:
        return f"Wider is better: the loss at the optimum falls at every width, from {span}."
    better = losses[-1] < losses[0]
    return (f"The loss at the optimum goes from {span}, "
            f"{'lower overall but not at every wider width' if better else 'not lower'}.")
