"""The std every layer of a PyTorch model should have at initialization, and where it has not.

:func:`predict_layers` runs the mean-field interpreter (:mod:`initlab.torchbridge.interpret`,
rules in :mod:`~initlab.torchbridge.interpret_rules` and
:mod:`~initlab.torchbridge.interpret_tokens`) over one forward of each model and pools the
predicted moments over the models (seeds), one entry per leaf-module call in call order:
the rows of ``inspect``. Operations without a rule are counted by name and everything computed
from them is unknown (None), never guessed.

A measured std differs from the mean-field one by the finite-width noise: a layer of n units
averages n nearly independent squares, so its second moment fluctuates by about sqrt(2 / n)
relative, its std by sqrt(1 / (2 n)), and the deviations of the layers below add up. A row is
called off when the measured std is further from the prediction than 3 times that noise
accumulated over the weighted rows up to it (sqrt of the sum of 1 / (2 n)), as
:meth:`LayerPrediction.disagreements` computes.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from initlab.torchbridge import interpret_rules
from initlab.torchbridge.hooks import torch
from initlab.torchbridge.interpret import interpret, pooled_std

nn = torch.nn
_SIGMAS = 3.0  # how many finite-width noises a disagreement must exceed


def activation_spec(module) -> str | None:
    """initlab's name for an elementwise torch activation module (None if it has none)."""
    if isinstance(module, nn.ReLU):
        return "relu"
    if isinstance(module, nn.LeakyReLU):
        return f"leaky_relu({module.negative_slope})"
    if isinstance(module, nn.ELU):
        return f"elu({module.alpha})"
    if isinstance(module, nn.SELU):
        return "selu"
    if isinstance(module, nn.GELU) and module.approximate == "none":
        return "gelu"
    if isinstance(module, nn.Tanh):
        return "tanh"
    if isinstance(module, nn.Sigmoid):
        return "sigmoid"
    if isinstance(module, nn.Softplus) and module.beta == 1:
        return "softplus"
    return None


@dataclass
class LayerPrediction:
    """Predicted (mean, std) of every leaf-module call (None: unknown), the weighted rows
    (a weight of 2 or more dims) and the ops without a rule, with counts."""

    names: list
    moments: list  # (mean, second moment) pooled over the models, or None
    weighted: list
    unsupported: dict = field(default_factory=dict)
    failure: str | None = None  # why the traced forward failed, if it did

    def std(self, i: int) -> float | None:
        return pooled_std(self.moments[i]) if i < len(self.moments) else None

    def mean(self, i: int) -> float | None:
        m = self.moments[i] if i < len(self.moments) else None
        return None if m is None else m[0]

    def aligned(self, names, weighted) -> LayerPrediction:
        """This prediction row by row for measured calls ``names`` (module names, one per
        call, in order; a module's k-th call is its k-th traced call) whose ``weighted`` flags
        are the measurement's: a call the trace lacks is unknown, and still counted."""
        where: dict = {}
        for j, n in enumerate(self.names):
            where.setdefault(n, []).append(j)
        seen: Counter = Counter()
        moments = []
        for n in names:
            k, js = seen[n], where.get(n, [])
            seen[n] += 1
            moments.append(self.moments[js[k]] if k < len(js) else None)
        return LayerPrediction(list(names), moments, list(weighted), self.unsupported,
                               self.failure)

    def summary(self) -> dict:
        """{covered, total, unsupported}: weighted rows predicted, weighted rows, op counts."""
        covered = sum(w and m is not None for w, m in zip(self.weighted, self.moments,
                                                          strict=True))
        return {"covered": covered, "total": sum(self.weighted),
                "unsupported": dict(sorted(self.unsupported.items()))}

    def disagreements(self, measured, widths) -> list[tuple[int, float, float]]:
        """(row index, relative difference, tolerance) of each weighted row whose measured std
        is further from the prediction than the finite-width noise allows (module docstring).
        ``measured``: std per row; ``widths``: units per row (None where unknown)."""
        out, noise2 = [], 0.0
        if len(self.weighted) != len(measured):  # nothing traced: nothing to compare
            return out
        for i, (w, m, n) in enumerate(zip(self.weighted, measured, widths, strict=True)):
            if not w or not n:
                continue
            noise2 += 1.0 / (2 * n)
            p = self.std(i)
            if p is None or m is None or p <= 0:
                continue
            tolerance = _SIGMAS * math.sqrt(noise2)
            if abs(m / p - 1) > tolerance:
                out.append((i, m / p - 1, tolerance))
        return out

    def note(self, measured, widths, labels) -> str:
        """One line: coverage, the ops without a rule, and the rows off the prediction."""
        s = self.summary()
        if self.failure:
            return f"no prediction: {self.failure}"
        parts = [f"{s['covered']} of {s['total']} weighted rows predicted"]
        if s["unsupported"]:
            ops = ", ".join(f"{k} x{v}" for k, v in s["unsupported"].items())
            parts.append(f"no rule for {ops} (downstream unknown)")
        off = self.disagreements(measured, widths)
        if off:
            shown = "; ".join(f"{labels[i]} {d:+.0%} (noise allows {t:.0%})"
                              for i, d, t in off[:5])
            more = f" and {len(off) - 5} more" if len(off) > 5 else ""
            parts.append(f"measured off the prediction beyond the finite-width noise at "
                         f"{shown}{more}")
        else:
            parts.append("every predicted weighted row within the finite-width noise")
        return "; ".join(parts)


def predict_layers(models, inputs, kwargs=None) -> LayerPrediction:
    """Interpret each model on ``model(*inputs, **kwargs)`` (tensors) and pool over the
    models; a model whose traced forward fails (the measurement worked) makes every row
    unknown, with the error named among the unsupported."""
    names, sums, weighted, unsupported, failed = None, None, None, Counter(), None
    for model in models:
        try:
            trace = interpret(model, tuple(inputs), rules=interpret_rules.RULES, kwargs=kwargs)
        except Exception as exc:  # the user's model may raise anything: report, go on
            failed = (f"the traced forward raised {type(exc).__name__}: "
                      f"{' '.join(str(exc).split())[:120]}")
            continue
        unsupported.update(trace.unsupported)
        if names is None:
            kinds = trace.modules
            names = [n for n, _ in trace.calls]
            weighted = [_weighted(kinds.get(n)) for n in names]
            sums = [(0.0, 0.0) for _ in names]
        for i, (name, m) in enumerate(trace.calls[:len(sums)]):
            if sums[i] is not None and m is not None and name == names[i]:
                sums[i] = (sums[i][0] + m[0], sums[i][1] + m[1])
            else:
                sums[i] = None
    k = max(len(models), 1)
    moments = [None if s is None or failed else (s[0] / k, s[1] / k) for s in sums or []]
    return LayerPrediction(names or [], moments, weighted or [], dict(unsupported), failed)


def _weighted(module) -> bool:
    w = getattr(module, "weight", None)
    return isinstance(w, torch.Tensor) and w.dim() >= 2


def units(module, output_shape) -> int | None:
    """The width of a weighted module's output: its output channels (a conv, whose weight has
    more than 2 dims) or its output's last dim (Linear, an embedding, transformers' Conv1D)."""
    w = getattr(module, "weight", None)
    if not isinstance(w, torch.Tensor) or w.dim() < 2 or not output_shape:
        return None
    return int(w.shape[0]) if w.dim() > 2 else int(output_shape[-1])
