"""What a residual scheme does to a whole net: the rule ``mlp(..., residual=True)`` applies.

The schemes ``fixup``, ``skipinit``, ``rezero``, ``scaled_residual`` and ``zero_init_residual``
(:mod:`initlab.init.schemes`, with their formulas and papers) are registered initializers like
any other, so a spec string names them everywhere; but what they set depends on the number of
blocks L and the branch depth m, so a model asks :func:`residual_rule` for a
:class:`ResidualRule`: a *base* initializer drawn for every layer (in the same order, from the
same stream, whatever the scheme: two schemes on one seed differ only by the rule's factors),
then factors for the branch's Dense layers and the readout, the initial multiplier alpha,
whether alpha and Fixup's scalar biases train, and whether the last norm starts at 0. Any other
initializer is its own base with the identity rule (plain He: every factor 1, alpha 1 fixed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from initlab.errors import InitlabError, check_positive_int
from initlab.init.registry import Initializer, get_initializer
from initlab.init.schemes import RESIDUAL_SCHEMES


@dataclass(frozen=True)
class ResidualRule:
    """One replica's residual scheme for L blocks of m Dense layers.

    base: the spec every Dense layer draws. branch_scales: m factors on the drawn weights of a
    branch's Dense layers (0 also zeroes that layer's bias). readout_scale: the same for the
    readout. alpha: the multiplier's start (None: no multiplier unless another replica or the
    caller asks for one; then 1). learn_alpha: alpha trains. fixup_biases: Fixup's scalar
    biases train (else the replica holds them at 0, when another replica has them).
    zero_norm: the branch's last norm starts with weight 0.
    """

    scheme: str
    base: str
    branch_scales: tuple[float, ...]
    readout_scale: float = 1.0
    alpha: float | None = None
    learn_alpha: bool = False
    fixup_biases: bool = False
    zero_norm: bool = False


def is_residual_scheme(spec) -> bool:
    """True when ``spec`` names a residual scheme (fixup, skipinit, ...)."""
    return get_initializer(spec).canonical in RESIDUAL_SCHEMES


def residual_rule(spec, blocks: int, branch: int, norm: str | None = None) -> ResidualRule:
    """The :class:`ResidualRule` of ``spec`` for ``blocks`` blocks of ``branch`` Dense layers
    (``norm``: the branch's normalization, which ``zero_init_residual`` needs).

    >>> residual_rule("fixup", 16, 2).branch_scales
    (0.25, 0.0)
    """
    init: Initializer = get_initializer(spec)
    blocks = check_positive_int(blocks, "residual blocks")
    branch = check_positive_int(branch, "residual branch layers")
    name = init.canonical
    if name not in RESIDUAL_SCHEMES:
        return ResidualRule(name, init.spec, (1.0,) * branch)
    base = str(init.params.get("base", "he")).lower()
    ones = (1.0,) * (branch - 1)
    if name == "fixup":
        if branch < 2:
            raise InitlabError("fixup needs a branch of at least 2 Dense layers: it scales the "
                               "branch by L^(-1/(2m-2)), which divides by zero at m = 1")
        scale = blocks ** (-1.0 / (2 * branch - 2))
        return ResidualRule(name, base, (scale,) * (branch - 1) + (0.0,), 0.0, 1.0, True, True)
    if name in ("skipinit", "rezero"):
        return ResidualRule(name, base, (*ones, 1.0), alpha=0.0, learn_alpha=True)
    if name == "scaled_residual":
        factor = float(init.params.get("factor", 1.0))
        return ResidualRule(name, base, (*ones, 1.0 / math.sqrt(factor * blocks)))
    if norm is None:
        raise InitlabError("zero_init_residual zeroes the last normalization layer of each "
                           "branch: give the branch a norm (batch or layer)")
    return ResidualRule(name, base, (*ones, 1.0), zero_norm=True)


__all__ = ["ResidualRule", "is_residual_scheme", "residual_rule"]
