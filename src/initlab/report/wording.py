"""Sentences picked by the numbers they describe: differences, spreads and textbook checks.

Nothing here states a conclusion on its own. :func:`compare_means` calls two means different
only when their 95% Student-t intervals do not overlap (a conservative test);
:func:`compare_spreads` calls two spreads different only when a two-sided F-test of their
variances rejects equality at the 5% level (Snedecor's F; valid for roughly normal values);
:func:`check` states a textbook expectation as an expectation, then what the run measured,
then whether the run agrees with it or contradicts it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from initlab.statistics import Stat, format_stat, separated, spreads_differ

#: Verdict states in which a signal (or a gradient) loses its scale going through the net.
FADES = ("vanishing", "shrinking", "no signal")
#: Verdict states in which it gains scale.
GROWS = ("exploding", "growing")


def differs(a: Stat, b: Stat) -> str | None:
    """How A's mean stands to B's: 'higher' or 'lower' when their 95% intervals do not
    overlap, 'no' when they overlap; None when either has no interval (one seed, no mean)."""
    if a.interval() is None or b.interval() is None:
        return None
    if separated(a, b):
        return "higher" if a.mean > b.mean else "lower"
    return "no"


def compare_means(name_a: str, a: Stat, name_b: str, b: Stat, what: str,
                  digits: int = 3) -> str:
    """'A's mean WHAT is higher/lower than B's' when the 95% intervals separate, else
    'cannot be told apart'; both means with their 95% intervals in brackets."""
    nums = f"{format_stat(a, digits)} vs {format_stat(b, digits)}"
    if a.mean is None or b.mean is None:
        return f"{name_a}'s and {name_b}'s mean {what} cannot be compared ({nums})"
    word = differs(a, b)
    if word is None:
        return (f"{name_a}'s and {name_b}'s mean {what} cannot be told apart from one seed each "
                f"({nums})")
    if word != "no":
        return (f"{name_a}'s mean {what} is {word} than {name_b}'s ({nums}; the 95% intervals "
                f"do not overlap)")
    return (f"{name_a}'s and {name_b}'s mean {what} cannot be told apart ({nums}; the 95% "
            f"intervals overlap)")


def compare_spreads(name_a: str, a, name_b: str, b, what: str, digits: int = 3) -> str:
    """'A varies more/less than B' only when the F-test says so, with both stds."""
    differ = spreads_differ(a, b)
    if differ is None:
        return f"{name_a}'s and {name_b}'s spread of {what} cannot be compared (too few seeds)"
    sa, sb = (float(np.std(np.asarray(v, dtype=float), ddof=1)) for v in (a, b))
    nums = f"std {sa:.{digits}f} vs {sb:.{digits}f} over seeds"
    if differ:
        word = "more" if sa > sb else "less"
        return (f"{name_a}'s {what} varies {word} from seed to seed than {name_b}'s ({nums}; "
                f"an F-test at 5% says the spreads differ)")
    return (f"{name_a}'s and {name_b}'s {what} vary alike from seed to seed as far as this run "
            f"can tell ({nums}; an F-test at 5% finds no difference)")


@dataclass(frozen=True)
class Expectation:
    """What a source expects of one (activation, init) run, and how to check it.

    claim: the expectation, worded to follow "<init> with <activation> is expected to";
    holds: run -> bool, whether the measured run agrees; measure: run -> str, the measured
    numbers that decide it; applies: result -> str | None, None when the expectation applies
    to this result's setting, else the reason it is not checked.
    """

    activation: str
    init: str
    claim: str
    holds: Callable
    measure: Callable
    applies: Callable | None = None


def check(expectations: list[Expectation], result, source: str) -> list[str]:
    """One sentence per expectation whose run is in ``result``: the expectation, the measured
    numbers, and whether this run agrees or contradicts it."""
    runs = {(r.activation, r.init): r for r in result.runs}
    out = []
    for e in expectations:
        run = runs.get((e.activation, e.init))
        if run is None:
            continue
        reason = e.applies(result) if e.applies is not None else None
        if reason is not None:
            out.append(f"{source} expects {e.init} with {e.activation} to {e.claim}; not "
                       f"checked here: {reason}.")
            continue
        verdict = ("as expected" if e.holds(run) else
                   "this run contradicts the expectation")
        out.append(f"{source} expects {e.init} with {e.activation} to {e.claim}; measured: "
                   f"{e.measure(run)}: {verdict}.")
    return out


# ----------------------------------------------------------------------------- measures
def ends(run) -> str:
    """'std A at layer 1, B at layer L' of a run's activations."""
    first, last = run.layers[0], run.layers[-1]
    return f"std {first.std:.3g} at layer 1, {last.std:.3g} at layer {last.index}"


def saturation(run) -> str:
    worst = max(run.layers, key=lambda s: s.saturated)
    return (f"{run.layers[0].saturated:.0%} of layer 1's outputs on the flat ends (at most "
            f"{worst.saturated:.0%}, at layer {worst.index})")


def gradient(run) -> str:
    v = run.verdict
    if v.grad_ratio is None:
        return "no gradient measured"
    return (f"the gradient dL/dh at layer 1 is {v.grad_ratio:.3g}x the top layer's "
            f"({v.grad_state})")


def spread_at_last(run) -> str:
    last = run.layers[-1]
    return f"layer {last.index}'s outputs have mean {last.mean:.3g} and std {last.std:.3g}"
