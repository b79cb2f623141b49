"""What ``inspect`` returns: a row per leaf-module call, per residual add and per attention call,
the verdict, and the result of a re-initialization (measured by
:mod:`initlab.torchbridge.inspection`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from initlab.results import Result, detail
from initlab.torchbridge.advice import InspectVerdict


@dataclass
class LayerRow(Result):
    """One call of one leaf module (rows count from 1 in the verdict).

    Statistics pool every value of the output over the batch (and the seeds); grad_std is of
    dLoss/d(output); weight_std and weight_grad_std are of the module's ``weight``;
    grad_weight_ratio is ||dLoss/dW|| / ||W|| and update_ratio ||delta W|| / ||W|| after one
    optimizer step (both of the first model); note says why a row is not judged or what it is
    (e.g. "before a norm: scale not judged"); None where a value does not apply.
    """

    name: str
    type: str
    output_shape: list[int] | None
    mean: float | None
    std: float | None
    zero_fraction: float | None
    saturated_fraction: float | None
    grad_std: float | None
    weight_std: float | None
    weight_grad_std: float | None
    fan_in: int | None
    fan_out: int | None
    init_match: str | None
    predicted_std: float | None
    grad_weight_ratio: float | None = None
    update_ratio: float | None = None
    note: str | None = None
    dead_fraction: float | None = detail()
    units: int | None = detail()  # what dead_fraction counts: features (last dim) or channels
    predicted_mean: float | None = detail()
    bias_std: float | None = detail()
    activation: str | None = detail()  # initlab's name of an elementwise activation module


@dataclass
class BlockRow(Result):
    """One residual add, in call order: the stream after it (``std``), the branch added and
    the skip it is added to (their stds), growth = std / skip_std; grad_std of dLoss/d(stream).
    ``name`` is the module whose forward does the add ("(add k)" when it does several)."""

    name: str
    std: float | None
    branch_std: float | None
    skip_std: float | None
    growth: float | None
    grad_std: float | None = None
    note: str | None = None
    shape: list[int] | None = detail()
    continues: bool = detail(False)  # the skip is the previous add's output (same stream)
    branch_end: str | None = detail()  # the module with parameters that ends the branch


@dataclass
class AttentionRow(Result):
    """One attention call: mean entropy of its weights over batch, heads and queries (nats),
    the entropy of uniform attention over the keys each query sees, the mean per-query std of
    the scaled logits."""

    name: str
    entropy: float | None
    max_entropy: float | None
    logit_std: float | None


@dataclass
class InspectResult(Result):
    """Per-leaf-module statistics of one model at its current weights, the residual stream,
    the attention, and the verdict."""

    model: str
    input_shape: list
    layers: list[LayerRow]
    verdict: InspectVerdict
    blocks: list[BlockRow] = field(default_factory=list)
    attention: list[AttentionRow] = field(default_factory=list)
    loss: str = "auto"
    seeds: int = detail(1)
    prediction_note: str | None = detail()
    # {covered, total, unsupported, disagree}: predict.LayerPrediction's summary, and the
    # weighted rows measured off the prediction beyond the finite-width noise
    prediction: dict | None = None

    def stream_table(self):
        header = ["#", "block", "stream std", "branch std", "skip std", "growth", "grad std",
                  "note"]
        return header, [[i, b.name, b.std, b.branch_std, b.skip_std, b.growth, b.grad_std,
                         b.note] for i, b in enumerate(self.blocks, 1)]

    def __str__(self) -> str:
        """The stream first for residual models, then attention, then the layers."""
        from initlab.results import format_table

        parts = []
        if self.blocks:
            parts.append("residual stream:\n" + format_table(*self.stream_table()))
        if self.attention:
            parts.append("attention:\n" + format_table(
                ["#", "module", "entropy", "uniform", "logit std"],
                [[i, a.name, a.entropy, a.max_entropy, a.logit_std]
                 for i, a in enumerate(self.attention, 1)]))
        parts.append(("layers:\n" if parts else "") + format_table(*self.table()))
        return "\n\n".join(parts)

    def table(self):
        header = ["#", "module", "type", "output", "mean", "std", "predicted", "zero",
                  "saturated", "grad std", "weight std", "|dW|/|W|", "step", "init", "note"]
        rows = [[i, r.name, r.type, "x".join(map(str, r.output_shape or [])) or "-", r.mean,
                 r.std, r.predicted_std, r.zero_fraction, r.saturated_fraction, r.grad_std,
                 r.weight_std, r.grad_weight_ratio, r.update_ratio, r.init_match, r.note]
                for i, r in enumerate(self.layers, 1)]
        return header, rows

    def summary(self) -> str:
        """The verdict, its problems, the suggestion and where the prediction stopped."""
        lines = [f"verdict: {self.verdict.text}"]
        lines += [f"problem ({p.kind}) at {p.where}: {p.text}" for p in self.verdict.problems]
        if self.prediction_note:
            lines.append(f"prediction: {self.prediction_note}")
        if self.verdict.suggestion:
            lines += ["suggestion:", self.verdict.suggestion]
        return "\n".join(lines)


@dataclass
class ReinitResult(Result):
    """The same model inspected before and after ``reinit``; ``warning`` says when the residual
    stream grows more after it (:func:`initlab.torchbridge.diagnosis.stream_warning`)."""

    before: InspectResult
    after: InspectResult
    init: str = detail("")
    warning: str | None = None

    def table(self):
        header, before = self.before.table()
        _, after = self.after.table()
        return ["when", *header], [["before", *r] for r in before] + [["after", *r]
                                                                      for r in after]
