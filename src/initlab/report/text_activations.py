"""The report's sentences about the activation studies (Deep Learning from Scratch's 5 x 100
histograms, the 10-layer tanh/ReLU study): the sources' expectations, checked against the run.

Each expectation is stated as what the source expects and then judged from the run's
verdicts (:mod:`initlab.report.wording`); nothing is claimed that the numbers do not show.
"""

from __future__ import annotations

from initlab.report.wording import (
    FADES,
    Expectation,
    check,
    ends,
    gradient,
    saturation,
    spread_at_last,
)

SAITO_EXPECTS = [
    Expectation("sigmoid", "normal(1)", "pile the outputs at 0 and 1, where sigmoid is flat",
                lambda r: r.verdict.saturated_from is not None, saturation),
    Expectation("sigmoid", "normal(1)", "make the gradient vanish",
                lambda r: r.verdict.grad_state in FADES, gradient),
    Expectation("sigmoid", "normal(0.01)", "pile every output at 0.5, all units alike",
                lambda r: r.verdict.alike_from is not None, spread_at_last),
    Expectation("sigmoid", "lecun", "keep the outputs spread out",
                lambda r: r.verdict.state not in FADES and r.verdict.alike_from is None
                and r.verdict.saturated_from is None, spread_at_last),
    Expectation("relu", "normal(0.01)", "collapse the outputs towards 0",
                lambda r: r.verdict.state in FADES, ends),
    Expectation("relu", "lecun", "shrink the signal layer by layer",
                lambda r: r.verdict.state in FADES, ends),
    Expectation("relu", "he", "keep every layer alike (ReLU zeroes half its inputs, so it "
                "needs twice the variance)", lambda r: r.verdict.state == "healthy", ends),
]


def saito_text(result) -> str:
    """The 5-layer section: the book's expectations checked one by one against the run."""
    cfg = result.config or {}
    sizes = cfg.get("sizes", [100] * 6)
    checks = check(SAITO_EXPECTS, result, "The book")
    return f"""
    A batch of {cfg.get('batch', 1000)} standard-normal inputs goes through {len(sizes) - 1}
    layers of {sizes[1]} units without bias, for each weight scale of Deep Learning from
    Scratch (Saito, 2016, ch. 6.2): std 1, std 0.01, sqrt(1/n) (lecun; the book calls it
    "Xavier"), sqrt(2/n) (he), and the constants 0, 1 and 5. Each row of histograms is one
    init, each column one layer.

    {" ".join(checks)}

    Constant weights give every unit of a layer the same weighted sum, so every unit of a
    layer is identical whatever the constant (an exact consequence of the formula). The
    std-versus-depth plot puts the measured stds (markers) beside what variance-propagation
    theory predicts (lines); the table's verdict is computed from each run's numbers.
    """


#: The Stanford CS231n lecture on weight initialization: its 10-layer tanh/ReLU pictures.
def _at_width(width: int):
    """``applies`` for a fixed-std expectation drawn at ``width``: n Var(w) must be the same."""
    def applies(result):
        sizes = (result.config or {}).get("sizes") or [width]
        return None if sizes[0] == width else (
            f"the lecture draws it at width {width}; at width {sizes[0]} a fixed std gives "
            f"{sizes[0] / width:.3g} times the lecture's n Var(w)")
    return applies


CS231N_EXPECTS = [
    Expectation("tanh", "normal(0.01)", "shrink the activations toward 0 layer after layer",
                lambda r: r.verdict.state in FADES, ends, _at_width(4096)),
    Expectation("tanh", "normal(0.05)", "saturate at -1 and 1",
                lambda r: r.verdict.saturated_from is not None, saturation, _at_width(4096)),
    Expectation("tanh", "lecun", "keep a healthy spread at every layer",
                lambda r: r.verdict.state == "healthy" and r.verdict.saturated_from is None,
                ends),
    Expectation("relu", "lecun", "shrink with depth", lambda r: r.verdict.state in FADES, ends),
    Expectation("relu", "he", "keep its spread (half the values exactly 0)",
                lambda r: r.verdict.state == "healthy", ends),
]


def deep_text(result) -> str:
    """The 10-layer section: the lecture's pictures checked, then every run's verdict."""
    cfg = result.config or {}
    sizes = cfg.get("sizes", [4096] * 11)
    seeds = cfg.get("seeds", 1)
    relu = [r for r in result.runs if r.activation == "relu" and r.verdict.dead_max]
    same_dead = len(relu) > 1 and all(
        [s.dead for s in r.layers] == [s.dead for s in relu[0].layers] for r in relu)
    dead = ("" if not same_dead else
            f" Every ReLU net here has the same dead units (up to "
            f"{relu[0].verdict.dead_max:.0%} of a layer zero for the whole batch of "
            f"{cfg.get('batch')}): without biases, scaling the weights does not change which "
            f"units are zero, and the inits share their random draws.")
    return f"""
    {len(sizes) - 1} layers of {sizes[1]} units without bias, an input batch of
    {cfg.get('batch')} standard-normal vectors, and {seeds} independently drawn net(s) per
    init, after the Stanford CS231n lecture on weight initialization. The forward pass shows
    the activations; the backward pass sends a unit-variance random gradient down from the
    top and shows what reaches each layer. The reason behind every picture: for zero-mean
    independent weights and inputs, Var(sum_i w_i x_i) = n Var(w) Var(x) (LeCun et al., 1998;
    Glorot and Bengio, 2010), so n Var(w) = 1 (tanh, lecun) or 2 (ReLU, he; He et al., 2015)
    is expected to keep the signal's scale.

    {" ".join(check(CS231N_EXPECTS, result, "The lecture"))}{dead}

    The table gives each run's verdict, computed from its numbers: vanishing or exploding
    where a layer's std falls below 1/10 or rises above 10x the first layer's, shrinking or
    growing where a per-layer trend (significant at 95%) would cross later, saturated where a
    quarter or more of a layer's outputs sit on the flat ends, healthy only when none holds.
    """


