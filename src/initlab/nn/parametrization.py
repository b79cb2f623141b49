"""Width parametrizations of an MLP: SP, NTK and muP, relative to a base width.

A parametrization says how a net's initialization, forward multipliers and per-layer learning
rates change as its width n grows from a base width n0 (width multiplier m = n / n0), so that
hyperparameters tuned at n0 keep their meaning at n. Each rule below multiplies what the
standard parametrization (SP, today's behaviour: the init as given, one learning rate) does;
at m = 1 every parametrization is SP. A dimension is a *width* dimension when it is a hidden
size; the input and output sizes are finite. For a layer (out, in), m_in and m_out are the
multipliers of its fan-in and fan-out (1 for a finite one).

``mup``, the maximal-update parametrization (Yang et al. 2022, "Tensor Programs V", Table 8,
the formulation that Microsoft's ``mup`` 1.0.0 implements and Table 3 is equivalent to):

- init: hidden biases x sqrt(m_in); the readout's weight and bias x sqrt(m_in) (its init
  variance is then constant in width, Table 8's "1"); input and hidden weights unchanged.
- multiplier: the readout computes W (h / m_in) + b (``MuReadout``), so the effective readout
  weight has variance ~ 1/width^2 (Table 3).
- Adam-like optimizers (Adam, RMSProp, AdaGrad: entrywise-normalized updates): learning rate
  / m_in for hidden weights (both dimensions width), unchanged elsewhere (``MuAdam``).
- SGD-like optimizers (SGD, momentum, Nesterov): weights with two width dimensions x
  m_out / m_in (1 for square hidden layers); with one, x the multiplier of that dimension
  (the input weight x m_out, the readout weight x m_in); biases x m_out; the readout bias,
  with no width dimension, unchanged (``MuSGD``; Table 8's "fan_out", "fan_in", "1").

``ntk``, the neural-tangent parametrization (Jacot et al. 2018; Yang & Hu 2021, "Tensor
Programs IV", abc-parametrization a_1 = 0, a_l = 1/2, b = 0, c = 0): a weight is
W = w / sqrt(fan_in) with w of variance independent of width and trained at a constant rate.
Written in SP's variables (W has SP's init) a step on w moves W by 1/fan_in of SGD's step on
W and by 1/sqrt(fan_in) of Adam's (Adam's step does not scale with the gradient); so,
relative to n0: weights whose fan-in is a width x 1/m_in (SGD) or 1/sqrt(m_in) (Adam);
biases and the input weight unchanged; no init change and no multiplier.

>>> [r.lr["adam"] for r in layer_rules("mup", [64, 256, 256, 10], base_width=64)]
[(1.0, 1.0), (0.25, 1.0), (1.0, 1.0)]
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from initlab.errors import InitlabError, choose
from initlab.nn.layers import Dense

PARAMETRIZATIONS = ("sp", "ntk", "mup")
#: optimizer kinds (:attr:`initlab.optim.Optimizer.kind`): how a step scales with the gradient
KINDS = ("sgd", "adam")


@dataclass(frozen=True)
class LayerRule:
    """What a parametrization does to one Dense layer, as multipliers of SP: of the init of its
    weight and bias, of its input (``multiplier``), and per optimizer kind of the learning rate
    of its weight and bias (``lr = {"sgd": (w, b), "adam": (w, b)}``)."""

    init_weight: float = 1.0
    init_bias: float = 1.0
    multiplier: float = 1.0
    lr: dict | None = None

    @property
    def is_sp(self) -> bool:
        return (self.init_weight == self.init_bias == self.multiplier == 1.0
                and all(v == (1.0, 1.0) for v in (self.lr or {}).values()))


def check_param(name) -> str:
    """The parametrization ``name`` (``sp``, ``ntk`` or ``mup``), else an error listing them."""
    return choose(name, PARAMETRIZATIONS, "parametrization")


def check_base_width(base_width, sizes) -> int:
    """``base_width`` as a positive int no larger than any hidden size of ``sizes``."""
    if isinstance(base_width, bool) or not isinstance(base_width, numbers.Integral) \
            or base_width < 1:
        raise InitlabError(f"the base width must be a positive integer, got {base_width!r}")
    hidden = list(sizes[1:-1])
    if not hidden:
        raise InitlabError(f"a parametrization needs at least one hidden layer, got sizes "
                           f"{list(sizes)}")
    if base_width > min(hidden):
        raise InitlabError(f"base width {base_width} is larger than width {min(hidden)}; the "
                           "base width must be at most every hidden size")
    return int(base_width)


def layer_rules(param: str, sizes, base_width: int | None) -> list[LayerRule]:
    """One :class:`LayerRule` per Dense layer of an MLP of ``sizes`` [in, h1, ..., out] under
    ``param`` with base width ``base_width`` (each hidden size h has m = h / base_width)."""
    param = check_param(param)
    sizes = [int(s) for s in sizes]
    if param == "sp":
        return [LayerRule() for _ in sizes[1:]]
    base = check_base_width(base_width, sizes)
    mult = [1.0, *(h / base for h in sizes[1:-1]), 1.0]
    finite = [True, *([False] * (len(sizes) - 2)), True]
    rules = []
    for k in range(len(sizes) - 1):
        m_in, m_out = mult[k], mult[k + 1]
        inf_in, inf_out = not finite[k], not finite[k + 1]
        rules.append(mup_rule(m_in, m_out, inf_in, inf_out) if param == "mup"
                     else ntk_rule(m_in, inf_in))
    return rules


def mup_rule(m_in: float, m_out: float, inf_in: bool, inf_out: bool) -> LayerRule:
    """The muP rule of a layer whose fan-in and fan-out have width multipliers ``m_in`` and
    ``m_out`` (``inf_*``: whether each is a width): Table 8 of Tensor Programs V, as mup's
    set_base_shapes / MuAdam / MuSGD apply it."""
    readout = inf_in and not inf_out
    if inf_in and inf_out:
        sgd_w = m_out / m_in
    else:
        sgd_w = m_in if inf_in else m_out if inf_out else 1.0
    return LayerRule(
        init_weight=math.sqrt(m_in) if readout else 1.0,
        init_bias=math.sqrt(m_in),
        multiplier=1.0 / m_in if readout else 1.0,
        lr={"sgd": (sgd_w, m_out if inf_out else 1.0),
            "adam": (1.0 / m_in if inf_in and inf_out else 1.0, 1.0)})


def ntk_rule(m_in: float, inf_in: bool) -> LayerRule:
    """The NTK rule of a layer with fan-in multiplier ``m_in`` (``inf_in``: a width):
    W = w / sqrt(fan_in), w trained at a constant rate, in SP's variables."""
    m = m_in if inf_in else 1.0
    return LayerRule(lr={"sgd": (1.0 / m, 1.0), "adam": (1.0 / math.sqrt(m), 1.0)})


def apply(layers, param: str, sizes, base_width: int | None) -> None:
    """Turn the Dense layers of an SP-initialized MLP of ``sizes`` (``layers``: every layer, in
    order) into ``param``'s, in place: rescale their initial weights and biases, set their input
    multipliers and their learning-rate multipliers. SP changes nothing."""
    dense = [la for la in layers if isinstance(la, Dense)]
    rules = layer_rules(param, sizes, base_width)
    if len(rules) != len(dense):
        raise InitlabError(f"got {len(dense)} Dense layers for sizes {list(sizes)}")
    for layer, rule in zip(dense, rules, strict=True):
        if rule.is_sp:
            continue
        if rule.init_weight != 1.0:
            layer.weight.value *= rule.init_weight
        if rule.init_bias != 1.0:
            layer.bias.value *= rule.init_bias
        layer.multiplier = rule.multiplier
        layer.weight.lr_scale = {kind: w for kind, (w, _) in rule.lr.items()}
        layer.bias.lr_scale = {kind: b for kind, (_, b) in rule.lr.items()}


__all__ = ["KINDS", "PARAMETRIZATIONS", "LayerRule", "apply", "check_base_width", "check_param",
           "layer_rules", "mup_rule", "ntk_rule"]
