"""The verdict on an inspected model and the torch code that fixes its init.

The judged layers are the rows of modules with a weight of 2 or more dims (Linear, Conv): their
outputs are what the init sets the scale of. Each is judged by :func:`initlab.verdict.judge`
(the same rules as ``initlab activations``) with the saturation and dead units of the
activations that follow it (up to the next weighted module); the verdict's layer numbers are
turned back into row numbers. The suggested init for a weighted module depends on the
activation after it, as He et al. 2015 and Glorot & Bengio 2010 derive: ReLU -> He
(``kaiming_normal_(nonlinearity="relu")``), LeakyReLU(a) -> He with that slope, tanh ->
Glorot with gain 5/3, SELU or no activation -> LeCun (``nonlinearity="linear"``, Klambauer et
al. 2017 for SELU), sigmoid -> Glorot, and biases zero. Other activations (GELU, ELU, SiLU,
softplus) get std = gain / sqrt(fan_in) with initlab's second-moment gain
1 / sqrt(E[phi(z)^2]), z ~ N(0, 1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from initlab.init import calculate_gain
from initlab.results import Result, detail
from initlab.spec import parse_spec
from initlab.torchbridge.hooks import RECTIFIERS
from initlab.verdict import judge

ACTIVATIONS = {"ReLU": "relu", "ReLU6": "relu", "LeakyReLU": "leaky_relu", "Tanh": "tanh",
                "Sigmoid": "sigmoid", "SELU": "selu", "GELU": "gelu", "ELU": "elu",
                "Softplus": "softplus", "SiLU": "silu", "Mish": "mish"}
RECTIFIER_NAMES = {t.__name__ for t in RECTIFIERS}


#: The kinds of problem a verdict may list (the stable interface of ``--json``).
KINDS = ("vanishing", "exploding", "attention collapse", "dead units", "saturated",
         "bad gradient ratio")


@dataclass
class Problem(Result):
    """One thing wrong: its kind (one of :data:`KINDS`), where (a row's or block's name) and a
    sentence built from the numbers."""

    kind: str
    where: str
    text: str


@dataclass
class InspectVerdict(Result):
    """What the rows say: ``state`` ("healthy" or the first problem's kind), the problems, the
    first row (1-based) where a plain chain's signal vanishes or explodes, the number of dead
    units, and torch code that fixes the init (None when nothing needs fixing)."""

    vanishes_at: int | None
    explodes_at: int | None
    dead_units: int | None
    suggestion: str | None
    text: str = ""
    state: str = ""
    problems: list[Problem] = field(default_factory=list)
    judged_rows: list[int] = field(default_factory=list, metadata={"detail": True})
    grad_ratio: float | None = detail()


def _blocks(rows, skip=frozenset()) -> list[tuple[int, list[int]]]:
    """(index of a weighted row, indices of the rows after it up to the next weighted row);
    rows in ``skip`` (indices) are not judged (e.g. a layer whose output goes into a norm)."""
    weighted = [i for i, r in enumerate(rows) if r.fan_in is not None and i not in skip]
    if not weighted:  # every row judged where none has a weight; none where all are skipped
        return [] if skip else [(i, []) for i in range(len(rows))]
    ends = weighted[1:] + [len(rows)]
    return [(w, list(range(w + 1, e))) for w, e in zip(weighted, ends, strict=True)]


def _max(values) -> float | None:
    values = [v for v in values if v is not None]
    return max(values) if values else None


def _fix(activation: str | None, slope: float | None) -> tuple[str, str]:
    """(torch call for ``m.weight``, initlab name of the same law) after ``activation``."""
    if activation == "relu":
        return 'nn.init.kaiming_normal_(m.weight, nonlinearity="relu")', "he"
    if activation == "leaky_relu":
        return (f'nn.init.kaiming_normal_(m.weight, a={slope:g}, nonlinearity="leaky_relu")',
                f"kaiming_normal(a={slope:g})")
    if activation == "tanh":
        return ('nn.init.xavier_normal_(m.weight, gain=nn.init.calculate_gain("tanh"))',
                "xavier_normal(gain=5/3)")
    if activation == "sigmoid":
        return "nn.init.xavier_normal_(m.weight)", "xavier_normal"
    if activation in (None, "selu"):
        return 'nn.init.kaiming_normal_(m.weight, nonlinearity="linear")', "lecun_normal"
    if activation in ("gelu", "elu", "softplus"):
        gain = calculate_gain(activation)
        return (f"nn.init.normal_(m.weight, std={gain:.4g} / m.weight[0].numel() ** 0.5)",
                f"normal gain {gain:.4g}")
    return 'nn.init.kaiming_normal_(m.weight, nonlinearity="relu")', "he"


def suggestion(rows, blocks) -> str | None:
    """Torch code that re-initializes each weighted module whose weights do not already match
    the init for the activation after it (None when all match)."""
    groups: dict[str, list[str]] = {}
    labels: dict[str, str] = {}
    todo = False
    for w, after in blocks:
        if rows[w].fan_in is None:
            continue
        act_row = next((rows[i] for i in after if rows[i].type in ACTIVATIONS), None)
        act = ACTIVATIONS[act_row.type] if act_row else None
        slope = None
        if act == "leaky_relu" and act_row.activation:
            args = parse_spec(act_row.activation)[1]
            slope = float(args[0]) if args else 0.01
        code, name = _fix(act, slope)
        if rows[w].init_match == name:
            continue
        todo = True
        groups.setdefault(code, [])
        module = rows[w].name.split(" (call")[0]
        if module not in groups[code]:
            groups[code].append(module)
        labels[code] = f"{rows[w].type} followed by {act_row.type if act_row else 'no activation'}"
    if not todo or not groups:
        return None
    lines = ["import torch.nn as nn", "modules = dict(model.named_modules())"]
    for code, names in groups.items():
        lines += [f"for name in {names!r}:  # {labels[code]}", "    m = modules[name]",
                  f"    {code}", "    if m.bias is not None:", "        nn.init.zeros_(m.bias)"]
    return "\n".join(lines)


def judge_rows(rows, skip=frozenset()):
    """The :class:`InspectVerdict` of a chain of layer rows (a model without residual adds);
    ``skip``: indices of weighted rows not judged. Gradients are judged by ||dW||/||W||, which
    does not depend on a layer's spatial size as a per-element gradient std does. (Long: the
    verdict's layer numbers are turned into rows in its text and in its problems at once.)"""
    blocks = _blocks(rows, skip)
    judged = [w for w, _ in blocks]
    saturated = [_max([rows[w].saturated_fraction] + [rows[i].saturated_fraction for i in after])
                 for w, after in blocks]
    dead = [_max([rows[i].dead_fraction for i in [w, *after]
                  if rows[i].type in RECTIFIER_NAMES]) for w, after in blocks]
    grads = [rows[w].grad_weight_ratio for w in judged]
    v = judge([rows[w].std for w in judged],
              saturated=saturated if any(s is not None for s in saturated) else None,
              dead=dead if any(d is not None for d in dead) else None,
              grad_stds=grads if any(g is not None for g in grads) else None)

    scale_problem = v.state != "healthy" or v.saturated_from is not None

    def row(k: int | None) -> int | None:
        return None if k is None else judged[k - 1] + 1

    def name(m) -> str:
        r = rows[judged[int(m.group(1)) - 1]]
        return f"row {row(int(m.group(1)))} ({r.type} {r.name})"

    def act_index(k: int, key: str, types) -> int:
        """The activation row of judged layer k's block with the largest ``key``."""
        w, after = blocks[k - 1]
        return max((i for i in [w, *after] if rows[i].type in types
                    and getattr(rows[i], key) is not None), key=lambda i: getattr(rows[i], key))

    def act_row(k: int, key: str, types) -> str:
        i = act_index(k, key, types)
        return f"row {i + 1} ({rows[i].type} {rows[i].name})"

    text = v.text
    if v.dead_from is not None:
        text = text.replace(f"of layer {v.dead_from}'s units",
                            f"of {act_row(v.dead_from, 'dead_fraction', RECTIFIER_NAMES)}'s units")
    if v.saturated_from is not None:
        text = text.replace(f"flat ends at layer {v.saturated_from}", "flat ends at "
                            + act_row(v.saturated_from, "saturated_fraction", set(ACTIVATIONS)))
    text = re.sub(r"\blayer (\d+)", name, text)
    rect = [r for r in rows if r.type in RECTIFIER_NAMES and r.dead_fraction is not None]
    dead_units = sum(round(r.dead_fraction * (r.units or 0)) for r in rect) if rect else None
    text = re.sub(r"gradient ([^:]+): std", r"||dW||/||W|| \1:", text)
    text = text.replace("gradient", "||dW||/||W||")
    said = text.removeprefix("healthy: ").split("; ")
    problems = []
    acts = {"saturated": ("saturated_fraction", set(ACTIVATIONS)),
            "dead units": ("dead_fraction", RECTIFIER_NAMES)}
    for at, kind, start in ((v.vanishes_at, "vanishing", "signal"),
                            (v.explodes_at, "exploding", "signal"),
                            (v.saturated_from, "saturated", "saturated:"),
                            (v.dead_from, "dead units", "dead units:"),
                            *(((v.grad_vanishes_at, "vanishing", "||dW||"),
                               (v.grad_explodes_at, "exploding", "||dW||"))
                              # dW = delta x^T: a vanished or exploded forward signal
                              # explains the gradient's, one problem, not two
                              if v.vanishes_at is None and v.explodes_at is None else ())):
        if at is not None:
            where = rows[judged[at - 1]].name
            if kind in acts:  # the activation row the sentence names
                where = rows[act_index(at, *acts[kind])].name
            problems.append(Problem(kind, where, next(p for p in said if p.startswith(start))))
    return InspectVerdict(vanishes_at=row(v.vanishes_at), explodes_at=row(v.explodes_at),
                          dead_units=dead_units,
                          suggestion=suggestion(rows, blocks) if scale_problem else None,
                          text=text, state=v.state,
                          problems=problems, judged_rows=[j + 1 for j in judged],
                          grad_ratio=v.grad_ratio)
