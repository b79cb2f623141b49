"""The verdict on a whole model: what each row is, the residual stream, attention, gradients.

A model with residual adds (found by :mod:`initlab.torchbridge.tracing`) is judged by its
stream, not by its rows: each row's output is one branch's, of a scale the design chooses.
A model without them is a chain, judged row by row (:func:`~initlab.torchbridge.advice.
judge_rows`). The rules (every threshold a named constant, every sentence built from the numbers):

- **Notes** (rows not judged, or judged as what they are): an embedding ("scale not judged":
  never a reference); a weight tied to an earlier module's; a layer whose output goes into a
  normalization layer (directly or through activations: "before a norm: scale not judged", the
  norm divides its scale out); a query or key projection (at init attention is near-uniform,
  so q/k weights get far smaller ||dW||/||W|| than value weights: expected); a zero weight in a
  residual model ("intended: zero-init branch", e.g. torchvision's ``zero_init_residual``) and
  the weights behind it, whose gradient is exactly 0 at step 0; a branch's output projection
  with a smaller std than the model's median weight (GPT-2's 0.02 / sqrt(2 L), Radford et al.
  2019), said as 1/sqrt(k) of the median beside the number of residual adds.
- **Stream** (``blocks``): exploding when its std rises over ``FACTOR`` x the first block's
  AND it grows geometrically, the (1 + a)^L of an unnormalized residual net (the log-growth per
  block over the second half of the blocks is at least ``GEOMETRIC`` of that over the first
  half). A pre-norm transformer adds branches of steady scale: its stream grows additively
  (per-block growth falling like 1/k) and is reported, not called an explosion. Vanishing
  when it falls under 1/``FACTOR`` of the first block's. A zero branch and a layer scale (a
  constant per-channel multiplier <= ``LAYER_SCALE``, Touvron et al. 2021 "Going deeper with
  image transformers"; Liu et al. 2022 ConvNeXt) are noted as intended.
- **Normalization regime**: a norm whose input variance is below its eps (std < sqrt(eps)):
  eps then dominates the division and the norm shrinks its output (by sqrt(var / (var + eps))),
  the regime where the scale of the layer before it matters again.
- **Attention collapse**: mean entropy below ``COLLAPSE`` of the uniform entropy.
- **Gradients** in a residual model: the median ||dW||/||W|| of the input-side third of the
  judged weights against the output-side third; off by more than ``FACTOR``^2 is a vanishing
  or exploding gradient (a chain uses the per-row rule of ``initlab.verdict``).
- **Bad gradient ratio**: one optimizer step that changes a judged weight by more than
  ``UPDATE_MAX`` of its norm (the layer would be blown away).
- **Dead units / saturated**: the thresholds of :mod:`initlab.verdict`, per activation row.
"""

from __future__ import annotations

import math

import numpy as np

from initlab.torchbridge.advice import (
    ACTIVATIONS,
    RECTIFIER_NAMES,
    InspectVerdict,
    Problem,
    judge_rows,
)
from initlab.torchbridge.hooks import torch
from initlab.verdict import DEAD, FACTOR, SATURATED

COLLAPSE = 0.1  # attention entropy below this fraction of the uniform entropy: collapse
GEOMETRIC = 0.5  # late / early mean log-growth per block at or above this: geometric growth
UPDATE_MAX = 1.0  # one step changing a weight by more than this fraction of its norm
LAYER_SCALE = 1e-2  # a constant per-channel multiplier at or below this is a layer scale
SCALED = 0.8  # a branch output projection below this fraction of the median weight std
NOT_JUDGED = ("embedding", "tied", "before a norm", "intended", "query", "key", "packed")


def _notes(rows, calls, tracer, residual: bool) -> None:
    """Set each row's ``note`` (see the module docstring)."""
    owners: dict = {}
    qk = {i: "query" for a in tracer.attention for i in a.query_rows}
    for a in tracer.attention:
        for i in a.key_rows:
            qk[i] = "packed q/k/v" if qk.get(i) == "query" else "key"
    branch_ends = {i for a in tracer.adds for i in a.branch_rows}
    stds = [r.weight_std for r in rows if r.fan_in is not None and r.type != "Embedding"
            and r.weight_std]
    median = float(np.median(stds)) if stds else None
    zero_seen = False
    for i, (r, c) in enumerate(zip(rows, calls, strict=True)):
        w = getattr(c.module, "weight", None)
        w = w if isinstance(w, torch.Tensor) else None
        owner = owners.setdefault(id(w), r.name.split(" (call")[0]) if w is not None else None
        if isinstance(c.module, (torch.nn.Embedding, torch.nn.EmbeddingBag)):
            r.note = "embedding: scale not judged"
        elif owner is not None and owner != r.name.split(" (call")[0]:
            r.note = f"tied to {owner}"
        elif residual and w is not None and w.numel() > 0 and not (r.weight_std or 0) > 0 \
                and not bool(w.detach().any()):  # a weight of std > 0 has a nonzero value
            r.note, zero_seen = "intended: zero-init branch", True
        elif residual and zero_seen and r.grad_weight_ratio == 0:
            r.note = "intended: behind a zero-init layer (exactly zero gradient at step 0)"
        elif i in qk:
            r.note = (f"{qk[i]} projection: small ||dW||/||W|| expected at init "
                      f"(near-uniform attention)")
        elif c.norm_after is not None:
            r.note = f"before a norm ({type(c.norm_after).__name__}): scale not judged"
        elif (i in branch_ends and median and r.weight_std
              and r.weight_std < SCALED * median):
            k = (median / r.weight_std) ** 2
            r.note = (f"intended: scaled residual projection, std {r.weight_std:.3g} = "
                      f"median weight std / sqrt({k:.3g}) ({len(tracer.adds)} residual adds)")
    if residual and zero_seen:  # rows before the zero layer in its branch, seen after it
        for r in rows:
            if r.note is None and r.grad_weight_ratio == 0:
                r.note = "intended: behind a zero-init layer (exactly zero gradient at step 0)"


def _block_notes(blocks, rows, tracer) -> None:
    """Zero branches and layer scales, and the rows behind them (judged as intended)."""
    for b, add in zip(blocks, tracer.adds, strict=True):
        _layer_scale(b, add)
        if b.branch_std == 0 and b.note is None:
            b.note = "intended: zero-init branch (the block starts as the identity)"
        if b.note:
            for i in add.rows:
                if rows[i].note is None and rows[i].fan_in is not None:
                    rows[i].note = f"intended: in the branch of {b.name} ({b.note[10:]})"


def _layer_scale(b, add) -> None:
    """A constant, nonzero, small 1-D parameter of the block's module: a layer scale."""
    module = add.module
    for name, p in (module.named_parameters() if module is not None else []):
        v = p.detach()
        if (p.dim() == 1 and v.numel() > 1 and "bias" not in name and bool(v.ne(0).all())
                and bool((v == v[0]).all()) and abs(float(v[0])) <= LAYER_SCALE):
            b.note = f"intended: layer scale {float(v[0]):.3g} ({name})"
            return


def _segments(blocks) -> list[list[int]]:
    """Runs of blocks on one stream: a run restarts where the skip is not the previous add's
    output (it passed a weighted layer: a projection shortcut, a downsampling, a post-norm)."""
    runs: list[list[int]] = []
    for i, b in enumerate(blocks):
        if b.continues and runs:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def _run(blocks, run) -> tuple[list[Problem], float, float, float]:
    """Problems of one run of the stream; (its growth x, early and late growth per add)."""
    stds = np.array([blocks[i].std or 0.0 for i in run])
    if stds[0] <= 0:
        return [], 1.0, 1.0, 1.0
    ratio = stds / stds[0]
    growth = np.log([g if (g := blocks[i].growth) and g > 0 else 1.0 for i in run])
    half = max(len(run) // 2, 1)
    early = float(growth[:half].mean())
    late = float(growth[half:].mean()) if len(run) > 1 else early
    first, problems = blocks[run[0]], []
    high, low = np.flatnonzero(ratio > FACTOR), np.flatnonzero(ratio < 1 / FACTOR)
    if high.size and early > 0 and late >= GEOMETRIC * early:
        k = run[int(high[0])]
        problems.append(Problem("exploding", blocks[k].name, (
            f"the residual stream grows geometrically, x{math.exp(late):.3g} per add: std "
            f"{blocks[k].std:.3g} after {blocks[k].name}, over {FACTOR:g}x the {stds[0]:.3g} "
            f"after {first.name}; its branches grow with it ((1 + a)^L, no normalization)")))
    if low.size:
        k = run[int(low[0])]
        problems.append(Problem("vanishing", blocks[k].name, (
            f"the residual stream shrinks to std {blocks[k].std:.3g} after {blocks[k].name}, "
            f"below 1/{FACTOR:g} of the {stds[0]:.3g} after {first.name}")))
    return problems, float(ratio.max()), math.exp(early), math.exp(late)


def _stream(blocks) -> tuple[list[Problem], str]:
    """Problems of the residual stream and the sentence that describes it."""
    runs = _segments(blocks)
    problems, longest = [], max(runs, key=len)
    for run in runs:
        found, top, early, late = _run(blocks, run)
        problems += found
        if run is longest:
            words = (top, early, late)
    top, early, late = words
    if len(longest) == 1:
        ratios = [b.branch_std / b.skip_std for b in blocks if b.skip_std and b.branch_std
                  is not None]
        spread = f"; branch/skip std {min(ratios):.3g} to {max(ratios):.3g}" if ratios else ""
        return problems, (f"residual stream: {len(blocks)} residual adds, each on a skip that "
                          f"passed a layer with parameters (a norm after every add, as in a "
                          f"post-norm transformer, or projections): no run of the stream to "
                          f"judge{spread}")
    a, b = blocks[longest[0]], blocks[longest[-1]]
    text = (f"residual stream: {len(blocks)} residual adds in {len(runs)} run"
            f"{'' if len(runs) == 1 else 's'}; the longest ({len(longest)} adds) goes from std "
            f"{a.std:.3g} after {a.name} to {b.std:.3g} after {b.name} (at most x{top:.3g}), "
            f"growth per add {early:.3g} over its first half, {late:.3g} over its second")
    if top > FACTOR and not problems:
        text += ": additive growth (branches of steady scale, as in a pre-norm stream), not an " \
                "explosion"
    return problems, text


def stream_growth(blocks) -> float | None:
    """The largest std growth of the stream over one run (last add / first add)."""
    runs = [r for r in _segments(blocks) if blocks[r[0]].std]
    return max((blocks[r[-1]].std or 0.0) / blocks[r[0]].std for r in runs) if runs else None


def stream_warning(before, after, init: str, limit: float = 1.5) -> str | None:
    """A sentence when the stream grows more than ``limit`` times as much after a
    re-initialization as before (None otherwise)."""
    a, b = stream_growth(before.blocks), stream_growth(after.blocks)
    if a is None or b is None or b <= limit * a:
        return None
    return (f"after --reinit {init} the residual stream grows x{b:.3g} over its longest run, "
            f"against x{a:.3g} before: the init no longer keeps the stream's scale")


def _norm_regime(rows, calls) -> list[Problem]:
    problems = []
    for r, c in zip(rows, calls, strict=True):
        eps = getattr(c.module, "eps", getattr(c.module, "variance_epsilon", None))
        m = c.norm_input
        if m is None or m.std is None or not isinstance(eps, (int, float)) or eps <= 0:
            continue
        var = m.std ** 2
        if var < eps:
            problems.append(Problem("vanishing", r.name, (
                f"the input of {r.name} has std {m.std:.3g}, below sqrt(eps) = "
                f"{math.sqrt(eps):.3g}: eps dominates the normalization and scales the output "
                f"by {math.sqrt(var / (var + eps)):.3g}")))
    return problems


def _activations(rows) -> list[Problem]:
    problems = []
    for r in rows:
        if r.type in RECTIFIER_NAMES and r.dead_fraction is not None and \
                r.dead_fraction >= DEAD:
            problems.append(Problem("dead units", r.name, (
                f"{r.dead_fraction:.0%} of {r.name}'s units output zero for the whole batch")))
        if r.type in ACTIVATIONS and r.saturated_fraction is not None and \
                r.saturated_fraction >= SATURATED:
            problems.append(Problem("saturated", r.name, (
                f"{r.saturated_fraction:.0%} of {r.name}'s outputs on the flat ends")))
    return problems


def _judged(r) -> bool:
    return r.fan_in is not None and not (r.note and r.note.startswith(NOT_JUDGED))


def _gradients(rows) -> list[Problem]:
    idx = [i for i, r in enumerate(rows) if _judged(r) and r.grad_weight_ratio]
    if len(idx) < 3:
        return []
    third = max(1, len(idx) // 3)
    first = float(np.median([rows[i].grad_weight_ratio for i in idx[:third]]))
    last = float(np.median([rows[i].grad_weight_ratio for i in idx[-third:]]))
    ratio = first / last
    if 1 / FACTOR ** 2 <= ratio <= FACTOR ** 2:
        return []
    kind = "vanishing" if ratio < 1 else "exploding"
    return [Problem(kind, rows[idx[0]].name, (
        f"||dW||/||W|| has median {first:.3g} over the first {third} judged weights "
        f"({rows[idx[0]].name} on) and {last:.3g} over the last {third}: {ratio:.3g}x, "
        f"beyond {FACTOR ** 2:g}x either way"))]


def _updates(rows, optimizer: str, lr: float) -> list[Problem]:
    return [Problem("bad gradient ratio", r.name, (
        f"one {optimizer} step (lr {lr:g}) changes {r.name}'s weight by {r.update_ratio:.3g}x "
        f"its norm, over {UPDATE_MAX:g}: the layer would be blown away"))
        for r in rows if _judged(r) and r.update_ratio is not None
        and r.update_ratio > UPDATE_MAX]


def _attention(attention) -> list[Problem]:
    return [Problem("attention collapse", a.name, (
        f"attention entropy {a.entropy:.3g} nats against {a.max_entropy:.3g} for uniform "
        f"attention: below {COLLAPSE:g} of it, near one-hot"))
        for a in attention if a.entropy is not None and a.max_entropy
        and a.entropy < COLLAPSE * a.max_entropy]


def diagnose(rows, blocks, attention, calls, tracer, step) -> InspectVerdict:
    """The verdict of an inspected model (rows' and blocks' notes are set in place);
    ``step``: (optimizer, lr) of the update ratios."""
    residual = bool(blocks)
    _notes(rows, calls, tracer, residual)
    _block_notes(blocks, rows, tracer)
    problems = _norm_regime(rows, calls) + _attention(attention) + _updates(rows, *step)
    if residual:
        stream, text = _stream(blocks)
        problems = stream + _activations(rows) + problems + _gradients(rows)
        verdict = InspectVerdict(vanishes_at=None, explodes_at=None, dead_units=None,
                                 suggestion=None, text=text)
    else:
        skip = {i for i, r in enumerate(rows) if r.fan_in is not None and not _judged(r)}
        verdict = judge_rows(rows, skip)
        problems = verdict.problems + problems
        if not verdict.judged_rows:  # every weighted row feeds a norm (or is an embedding)
            verdict.text = ("no row judged for its scale: every layer with a weight feeds a "
                            "normalization layer or is not judged (see the notes)")
            problems = _activations(rows) + problems
    verdict.problems = problems
    verdict.state = problems[0].kind if problems else "healthy"
    if problems and verdict.text.startswith("healthy: "):
        verdict.text = verdict.text.removeprefix("healthy: ")
    return verdict
