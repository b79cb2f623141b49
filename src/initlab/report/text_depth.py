"""The report's section "How deep can it go?": signal propagation, the edge of chaos, Jacobian
spectra and trainability, with every conclusion computed from the run it describes."""

from __future__ import annotations

import math

import numpy as np

#: Training accuracy (digits, 10 classes) above which a grid point counts as trained.
TRAINED = 0.5


def trainability_counts(result, threshold: float = TRAINED) -> dict:
    """How many grid points below / above the 6 xi_c curve trained past ``threshold``."""
    curve = {round(p.sigma_w2, 12): p.depth for p in result.six_xi_c}
    ws = np.array(sorted(curve))
    below = {"n": 0, "trained": 0}
    above = {"n": 0, "trained": 0}
    for p in result.trainability:
        k = int(np.argmin(np.abs(ws - p.sigma_w2)))
        limit = curve[ws[k]]
        side = below if limit is None or p.depth < limit else above
        side["n"] += 1
        side["trained"] += int((p.train_accuracy.mean or 0.0) >= threshold)
    return {"below": below, "above": above}


def _share(d: dict) -> float:
    return d["trained"] / d["n"] if d["n"] else math.nan


def depth_text(result) -> str:
    """The section's explanation, its numbers taken from ``result``. Long because it is one
    text: its paragraphs share the numbers computed at its top."""
    cfg = result.config
    sb = cfg["sigma_b2"]
    crit = dict(zip(result.critical.sigma_b2, result.critical.sigma_w2, strict=True))[sb]
    runs = result.runs
    q_err = [abs(r.layers[-1].q - r.q_star) / r.q_star for r in runs
             if r.q_star and r.layers[-1].q is not None]
    c_err = [abs(r.layers[-1].c - r.c_star) for r in runs
             if r.c_star is not None and r.layers[-1].c is not None]
    chi_err = [abs(r.chi_1_measured - r.chi_1) for r in runs
               if r.chi_1 is not None and r.chi_1_measured is not None]
    ordered = [r for r in runs if r.chi_1 is not None and r.chi_1 < 1]
    chaotic = [r for r in runs if r.chi_1 is not None and r.chi_1 > 1]
    text = f"""
    Beyond "keep n Var(w) = 1": Poole et al. (2016) and Schoenholz et al. (2017) follow two
    numbers through a deep random net with weights N(0, sigma_w^2 / n) and biases
    N(0, sigma_b^2): the length q_l of a signal and the correlation c_l between two signals.
    Their maps predict a fixed length q*, and an order-to-chaos transition at chi_1 =
    sigma_w^2 E[phi'(sqrt(q*) z)^2] = 1: below it every pair of inputs ends up identical
    (c* = 1, ordered), above it nearby inputs decorrelate (c* < 1, chaotic). The correlation
    settles over a depth scale xi_c that diverges at the transition, and they find that a
    net trains only when its depth is below about 6 xi_c.

    Here {len(runs)} values of sigma_w^2 from {runs[0].sigma_w2:g} to {runs[-1].sigma_w2:g}
    at sigma_b^2 = {sb:g}, {cfg['seeds']} tanh nets each, {cfg['depth']} layers of
    {cfg['width']} units. The maps put the edge of chaos at sigma_w^2 = {crit:.3f}
    ({len(ordered)} of the runs lie on the ordered side, {len(chaotic)} on the chaotic side).
    At the last layer the measured length is within {100 * max(q_err):.1f}% of q* (median
    {100 * float(np.median(q_err)):.1f}%), the measured correlation within
    {max(c_err):.3f} of c* (median {float(np.median(c_err)):.3f}), and chi_1 measured from a
    tangent vector's growth per layer within {max(chi_err):.3f} of the theory.
    """
    if result.jacobian:
        by = {(c.activation, c.weights, c.depth): c for c in result.jacobian}
        deep = max(c.depth for c in result.jacobian)
        tg, to = by["tanh", "gaussian", deep], by["tanh", "orthogonal", deep]
        rg, ro = by["relu", "gaussian", deep], by["relu", "orthogonal", deep]
        spread = lambda c: c.singular_values.q95 / max(c.singular_values.q05, 1e-300)  # noqa: E731
        better = spread(to) < spread(tg)
        text += f"""

        The input-output Jacobian at criticality (Pennington et al. 2017), depth {deep},
        width {to.width}: for tanh at sigma_w^2 = {to.sigma_w2:.3f}, sigma_b^2 =
        {to.sigma_b2:g}, the middle 90% of its singular values span a factor
        {spread(to):.3g} with orthogonal weights against {spread(tg):.3g} with Gaussian ones
        ({"orthogonal weights keep it far better conditioned, the dynamical isometry the "
          "paper expects" if better else "in this run orthogonal weights did not help, "
          "against the paper's expectation"}). For ReLU at (2, 0) the factor is
        {spread(ro):.3g} (orthogonal) and {spread(rg):.3g} (Gaussian): about half of ReLU's
        units are off at any input, so its Jacobian loses rank whatever the weights.
        """
    if result.trainability:
        tc = cfg["trainability"]
        counts = trainability_counts(result)
        b, a = counts["below"], counts["above"]
        agree = _share(b) > _share(a) if b["n"] and a["n"] else None
        verdict = (f"as the theory expects, nets below the curve train more often "
                   f"({100 * _share(b):.0f}% against {100 * _share(a):.0f}%)" if agree
                   else "this run does not show the expected split" if agree is not None
                   else "the grid has points on one side of the curve only")
        text += f"""

        Trainability: {len(tc['sigma_w2'])} values of sigma_w^2 by depths
        {', '.join(str(d) for d in tc['depths'])}, tanh, width {tc['width']},
        {tc['steps']} SGD steps (learning rate {tc['lr']:g}, batches of {tc['batch']}) on
        {tc['n_train']} digits. Counting a net as trained when its training accuracy reaches
        {TRAINED:g}: {b['trained']} of the {b['n']} grid points below 6 xi_c trained and
        {a['trained']} of the {a['n']} above it; {verdict}. With this few steps, deep nets
        near the edge of chaos may still be on their way: the curve is where training can
        work, not a promise that a short run gets there.
        """
    return text
