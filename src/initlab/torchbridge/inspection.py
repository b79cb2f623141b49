"""``inspect``: one forward and one backward pass through your model, every leaf module measured.

Hooks on every leaf module record, for each call, the output's mean, std, fraction exactly zero,
fraction saturated (tanh, sigmoid) and dead units, and (through a hook on the output tensor)
the std of dLoss/d(output); then each weight's std, the std of its gradient, ||dLoss/dW|| /
||W|| and the update ratio of one optimizer step (:mod:`initlab.torchbridge.losses`), its
fans, the known init it matches and the std the mean-field interpreter predicts
(:mod:`initlab.torchbridge.predict`). A tracer (:mod:`initlab.torchbridge.tracing`) finds
the residual adds and measures attention between the modules; the verdict is
:func:`initlab.torchbridge.diagnosis.diagnose`'s. Every hook is removed afterwards and the model
is left exactly as it was: parameters and their ``.grad`` (gradients come from
``torch.autograd.grad``), buffers (BatchNorm's running statistics are restored), train/eval
mode, ``requires_grad``, and torch's global random state (dropout draws from a forked generator,
the random labels of the loss from their own). The rows and the result it returns are
:mod:`initlab.torchbridge.inspect_results`'s.
"""

from __future__ import annotations

import re

from initlab.errors import InitlabError, check_positive_int
from initlab.init import fans
from initlab.torchbridge.diagnosis import diagnose
from initlab.torchbridge.hooks import (
    RECTIFIERS,
    SATURATION,
    Moments,
    features_last,
    first_tensor,
    leaf_modules,
    torch,
    zeros_and_dead,
)
from initlab.torchbridge.inspect_results import (
    AttentionRow,
    BlockRow,
    InspectResult,
    LayerRow,
)
from initlab.torchbridge.losses import check_optimizer, compute_loss, update_ratio
from initlab.torchbridge.match import match_init
from initlab.torchbridge.predict import activation_spec, predict_layers, units
from initlab.torchbridge.tracing import Tracer

_NORMS = tuple(getattr(torch.nn, n) for n in (
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "InstanceNorm1d",
    "InstanceNorm2d", "InstanceNorm3d", "LayerNorm", "GroupNorm", "RMSNorm")
    if hasattr(torch.nn, n))


class _Call:
    """Accumulated statistics of one leaf-module call position (pooled over seeds)."""

    def __init__(self, name, module):
        self.name, self.module, self.type = name, module, type(module).__name__
        self.out, self.grad = Moments(), Moments()
        self.zero = self.saturated = 0
        self.dead: list[float] = []
        self.shape = None
        self.norm_after = None  # the norm module that takes this output (through activations)
        self.norm_input = None  # for a norm: the Moments of its input
        # the output's units on its last dim (a Linear's), not dim 1 (a conv's channels)
        self.features_last = False

    def forward(self, y) -> None:
        y = y.detach()
        self.out.add(y)
        zeros, dead = zeros_and_dead(y, isinstance(self.module, RECTIFIERS),
                                     self.features_last)
        self.zero += zeros
        test = next((f for t, f in SATURATION.items() if isinstance(self.module, t)), None)
        if test is not None:
            self.saturated += int(test(y).sum())
        if dead is not None:
            self.dead.append(dead)


def as_inputs(example_input) -> tuple[tuple, dict]:
    """(positional tensors, keyword tensors) of ``model(*args, **kwargs)``."""
    if isinstance(example_input, torch.Tensor):
        return (example_input,), {}
    if isinstance(example_input, (tuple, list)) and example_input and all(
            isinstance(t, torch.Tensor) for t in example_input):
        return tuple(example_input), {}
    if isinstance(example_input, dict) and example_input and all(
            isinstance(k, str) and isinstance(t, torch.Tensor)
            for k, t in example_input.items()):
        return (), dict(example_input)
    raise InitlabError(f"example_input must be a torch.Tensor, a tuple of tensors or a dict of "
                       f"keyword tensors, got {type(example_input).__name__}")


def is_norm(module) -> bool:
    """A normalization layer: torch's (BatchNorm, LayerNorm, GroupNorm, InstanceNorm, RMSNorm)
    or a class named like one (``LlamaRMSNorm``, ``ConvNextLayerNorm``, ``T5LayerNorm``)."""
    return isinstance(module, _NORMS) or re.search(r"Norm(\d+d)?$", type(module).__name__) \
        is not None


def _snapshot(model):
    return ({n: b.detach().clone() for n, b in model.named_buffers()},
            {m: m.training for m in model.modules()})


def _restore(model, snapshot) -> None:
    buffers, modes = snapshot
    with torch.no_grad():
        for n, b in model.named_buffers():
            b.copy_(buffers[n])
    for m, mode in modes.items():
        m.training = mode


class _Pass:
    """The hooks of one forward pass: leaf statistics into ``calls``, the rest to the tracer."""

    def __init__(self, model, calls: list, tracer: Tracer, names: dict):
        self.calls, self.tracer, self.names = calls, tracer, names
        self.i = 0
        self.pending: dict = {}
        self.last = None  # the call recorded last (its layout stands in for an untraced input's)

    def before(self, module, args, kwargs):
        self.tracer.enter(module, list(args) + list(kwargs.values()))
        if module in self.tracer.leaves:  # the hooks' own statistics are not traced
            self.tracer.untraced(self._before, module, args, kwargs)

    def _before(self, module, args, kwargs):
        x, tr = first_tensor(args), self.tracer
        x = first_tensor(kwargs) if x is None else x
        moments = Moments()  # a norm's input (is it near sqrt(eps)?)
        if x is not None and is_norm(module):
            moments.add(x)
        producer = tr.tag(x)[2] if x is not None and tr.tag(x) is not None else None
        self.pending[module] = (moments, producer)

    def after(self, module, args, kwargs, output):
        row = self.i if module in self.tracer.leaves and first_tensor(output) is not None \
            else None
        self.tracer.leave(module, list(args) + list(kwargs.values()), output, row)
        if row is not None:
            self.tracer.untraced(self._after, module, output, row)

    def _after(self, module, output, row: int) -> None:
        y = first_tensor(output)
        moments, producer = self.pending.pop(module)
        self.i += 1
        if row == len(self.calls):
            self.calls.append(_Call(self.names[module], module))
        call = self.calls[row]
        if call.module is not module and call.name.split(" (call")[0] != self.names[module]:
            raise InitlabError("the model calls its modules in a different order from one seed "
                               "to the next; inspect it with seeds=1")
        if is_norm(module):
            call.norm_input = call.norm_input or Moments()
            _merge(call.norm_input, moments)
            if producer is not None:
                self.calls[producer].norm_after = module
        call.shape = list(y.shape)
        before = self.calls[producer] if producer is not None else self.last
        call.features_last = features_last(module, before and before.features_last)
        self.last = call
        call.forward(y)
        self.tracer.rows_done = self.i
        if y.requires_grad:
            y.register_hook(lambda g, c=call: c.grad.add(g))


def _merge(into: Moments, new: Moments) -> None:
    into.merge(new)


def _one_pass(model, inputs, loss, calls: list, tracer: Tracer, seed: int, step) -> dict:
    """Run forward and backward once with hooks; add the statistics to ``calls`` and the
    tracer. Returns {id(parameter): (Moments of its gradient, ||grad||, update ratio, ||W||)};
    the update ratios only where ``step`` = (optimizer, lr) is given."""
    args, kwargs = inputs
    args = tuple(t.detach().clone().requires_grad_(t.is_floating_point()) for t in args)
    kwargs = {k: t.detach().clone() for k, t in kwargs.items()}
    names = {m: n or type(m).__name__ for n, m in model.named_modules()}
    names.update({m: n for n, m in leaf_modules(model)})
    hooks = _Pass(model, calls, tracer, names)
    tracer.start_pass()
    handles = [m.register_forward_pre_hook(hooks.before, with_kwargs=True) for m in names]
    handles += [m.register_forward_hook(hooks.after, with_kwargs=True) for m in names]
    found = {}
    snapshot = _snapshot(model)
    params = [p for p in model.parameters() if p.requires_grad]
    try:
        with torch.random.fork_rng(devices=[]), tracer:
            torch.manual_seed(seed)
            output = model(*args, **kwargs)
            value, tracer.loss = compute_loss(loss or "auto", output, seed)
            if not isinstance(value, torch.Tensor) or value.numel() != 1:
                raise InitlabError(f"the loss must be a scalar tensor, got {value!r}")
            targets = [t for t in args if t.requires_grad] + params
            grads = (torch.autograd.grad(value, targets, allow_unused=True)
                     if value.requires_grad and targets else [None] * len(targets))
    except (RuntimeError, TypeError, ValueError) as exc:
        message = " ".join(str(exc).split())
        shapes = ", ".join([str(tuple(t.shape)) for t in args]
                           + [f"{k}={tuple(t.shape)}" for k, t in kwargs.items()])
        raise InitlabError(f"the model fails on an input of shape {shapes}: {message}") from None
    finally:
        for h in handles:
            h.remove()
        _restore(model, snapshot)
    grads = grads[len(targets) - len(params):]
    owned = _owned(grads, params, args)
    for p, g, own in zip(params, grads, owned, strict=True):
        if g is not None:
            scratch = torch.empty_like(g) if own else None
            m = Moments()
            m.add(g, scratch)
            norm = float(torch.linalg.vector_norm(g.detach()))
            wnorm = float(torch.linalg.vector_norm(p.detach()))
            ratio = update_ratio(p, g, *step, scratch=scratch, norms=(wnorm, norm)) \
                if step else None
            found[id(p)] = (m, norm, ratio, wnorm)
    return found


def _owned(grads, params, args) -> list[bool]:
    """Which gradients may be overwritten once read: contiguous float32/float64 tensors whose
    memory no other gradient, parameter or input shares (autograd may hand one gradient to two
    parameters, e.g. both operands of an add, or views of one buffer, e.g. after a cat)."""
    def where(t):
        return t.untyped_storage().data_ptr()

    count: dict = {}
    for t in [g for g in grads if g is not None] + list(params) + list(args):
        if t.numel():
            count[where(t)] = count.get(where(t), 0) + 1
    return [g is not None and g.numel() > 0 and g.dtype in (torch.float32, torch.float64)
            and g.is_contiguous() and count[where(g)] == 1 for g in grads]


def _weight(module):
    w = getattr(module, "weight", None)
    return w if isinstance(w, torch.Tensor) and w.is_floating_point() else None


def _weight_facts(w, found: dict, cache: dict) -> tuple:
    """(std, ||W||, init it matches) of weight ``w`` (None: none), each read once per tensor
    (GPT-2's lm_head shares wte's 38M values) and ||W|| from the gradient pass where taken."""
    if w is None:
        return None, 0.0, None
    facts = cache.get(id(w))
    if facts is None:
        wnorm = found[id(w)][3] if id(w) in found else float(torch.linalg.vector_norm(
            w.detach()))
        facts = cache[id(w)] = (float(w.detach().float().std()) if w.numel() > 1 else None,
                                wnorm, match_init(w) if w.dim() >= 2 else None)
    return facts


def _rows(calls, wgrads, prediction) -> list[LayerRow]:
    rows, cache = [], {}
    for i, c in enumerate(calls):
        w = _weight(c.module)
        bias = getattr(c.module, "bias", None)
        fan_in = fan_out = None
        if w is not None and w.dim() >= 2:
            fan_in, fan_out = fans(tuple(w.shape))
        w_std, wnorm, init = _weight_facts(w, wgrads, cache)
        b_std = None
        if isinstance(bias, torch.Tensor) and bias.numel() > 1:
            b_std = float(bias.detach().float().std())
        wg, gnorm, step = wgrads.get(id(w), (None,) * 4)[:3] if w is not None else \
            (None, None, None)
        predicted = (prediction.mean(i), prediction.std(i))
        n = c.out.n
        rows.append(LayerRow(
            name=c.name, type=c.type, output_shape=c.shape, mean=c.out.mean, std=c.out.std,
            zero_fraction=c.zero / n if n else None,
            saturated_fraction=(c.saturated / n if any(isinstance(c.module, t)
                                                       for t in SATURATION) else None),
            grad_std=c.grad.std, weight_std=w_std, weight_grad_std=wg.std if wg else None,
            fan_in=fan_in, fan_out=fan_out, init_match=init, predicted_std=predicted[1],
            grad_weight_ratio=gnorm / wnorm if gnorm is not None and wnorm > 0 else None,
            update_ratio=step, dead_fraction=(sum(c.dead) / len(c.dead)
                                                       if c.dead else None),
            units=(c.shape[-1 if c.features_last else 1] if c.dead else None),
            predicted_mean=predicted[0], bias_std=b_std, activation=activation_spec(c.module)))
    return rows


def _models(model, seeds: int, seed: int) -> list:
    nn = torch.nn
    if isinstance(model, nn.Module):
        if seeds > 1:
            raise InitlabError("seeds > 1 needs a function that builds the model, not a built "
                               "model: pass e.g. lambda: MyNet()")
        return [model]
    if not callable(model):
        raise InitlabError(f"model must be a torch.nn.Module or a function returning one, got "
                           f"{type(model).__name__}")
    models = []
    for s in range(seeds):
        torch.manual_seed(seed + s)
        built = model()
        if not isinstance(built, nn.Module):
            raise InitlabError(f"the factory returned {type(built).__name__}, not a "
                               f"torch.nn.Module")
        models.append(built)
    return models


def inspect(model, example_input, loss=None, seeds: int = 1, seed: int = 0,
            optimizer: str = "adam", lr: float = 1e-3) -> InspectResult:
    """Measure every leaf module, residual add and attention call of ``model`` on
    ``example_input``, beside theory; judge it.

    Args:
        model: a ``torch.nn.Module`` (inspected at its current weights), or with ``seeds`` > 1 a
            callable returning a fresh one (called under ``torch.manual_seed(seed + s)``).
        example_input: a tensor (N, ...), a tuple of tensors passed as ``model(*inputs)``, or a
            dict of tensors passed as ``model(**inputs)`` (``input_ids``, ``attention_mask``).
        loss: ``"auto"`` (None), ``"ce"``, ``"projection"``, ``"sumsq"``
            (:mod:`initlab.torchbridge.losses`) or ``loss(output) -> scalar tensor``.
        seeds: models drawn and pooled (needs a callable ``model`` when > 1).
        seed: seeds dropout masks, random labels (and the models drawn).
        optimizer, lr: the optimizer step whose ||delta W|| / ||W|| is ``update_ratio``
            (``"adam"`` or ``"sgd"``).

    Returns an :class:`InspectResult`: one :class:`LayerRow` per leaf-module call, one
    :class:`BlockRow` per residual add, one :class:`AttentionRow` per attention call, and the
    verdict (:mod:`initlab.torchbridge.diagnosis`) with a torch-code suggestion.
    """
    check_positive_int(seeds, "seeds")
    check_optimizer(optimizer, lr)
    models = _models(model, seeds, seed)
    inputs = as_inputs(example_input)
    calls: list[_Call] = []
    wgrads: dict = {}
    first = models[0]
    names = {m: n or type(m).__name__ for n, m in first.named_modules()}
    tracer = Tracer(names, {m for _, m in leaf_modules(first)})
    for s, m in enumerate(models):
        before = len(calls)
        if s:
            tracer.names = {mm: n or type(mm).__name__ for n, mm in m.named_modules()}
            tracer.leaves = {mm for _, mm in leaf_modules(m)}
        found = _one_pass(m, inputs, loss, calls, tracer, seed + s,
                          (optimizer, lr) if s == 0 else None)
        if s and len(calls) != before:
            raise InitlabError("the models drawn for different seeds differ in their modules")
        if s == 0:  # weight statistics are those of the first model
            wgrads = found
    if not calls:
        raise InitlabError("no leaf module produced a floating-point tensor: nothing to inspect")
    counts: dict[str, int] = {}
    for c in calls:  # a module called more than once gets one row per call
        counts[c.name] = counts.get(c.name, 0) + 1
        if counts[c.name] > 1:
            c.name = f"{c.name} (call {counts[c.name]})"
    names = [c.name.split(" (call")[0] for c in calls]
    prediction = predict_layers(models, *inputs).aligned(
        names, [units(c.module, c.shape) is not None for c in calls])
    rows = _rows(calls, wgrads, prediction)
    measured, widths = [r.std for r in rows], [units(c.module, c.shape) for c in calls]
    note = prediction.note(measured, widths,
                           [f"row {i} ({r.name})" for i, r in enumerate(rows, 1)])
    summary = {**prediction.summary(), "disagree": [
        {"row": i + 1, "name": rows[i].name, "relative": d, "tolerance": t}
        for i, d, t in prediction.disagreements(measured, widths)]}
    blocks, attention = _stream_rows(tracer, calls), _attention_rows(tracer)
    shapes = [list(t.shape) for t in inputs[0]] + [list(t.shape) for t in inputs[1].values()]
    verdict = diagnose(rows, blocks, attention, calls, tracer, (optimizer, lr))
    return InspectResult(model=type(first).__name__,
                         input_shape=shapes[0] if len(shapes) == 1 else shapes, layers=rows,
                         verdict=verdict, blocks=blocks, attention=attention,
                         loss=tracer.loss, seeds=seeds, prediction_note=note,
                         prediction=summary)

def _stream_rows(tracer, calls) -> list[BlockRow]:
    per_module: dict = {}
    for a in tracer.adds:
        per_module[a.name] = per_module.get(a.name, 0) + 1
    seen: dict = {}
    rows = []
    for a in tracer.adds:
        seen[a.name] = seen.get(a.name, 0) + 1
        name = a.name if per_module[a.name] == 1 else f"{a.name} (add {seen[a.name]})"
        rows.append(BlockRow(name=name, std=a.out.std, branch_std=a.branch.std,
                             skip_std=a.skip.std, growth=(a.out.std / a.skip.std
                                                          if a.skip.std else None),
                             grad_std=a.grad.std, shape=a.shape, continues=a.continues,
                             branch_end=(calls[max(a.branch_rows)].name.split(" (call")[0]
                                         if a.branch_rows else None)))
    return rows


def _attention_rows(tracer) -> list[AttentionRow]:
    return [AttentionRow(name=a.name, entropy=a.entropy / a.n if a.n else None,
                         max_entropy=a.max_entropy / a.n if a.n else None,
                         logit_std=a.logit_std / a.n if a.n else None)
            for a in tracer.attention]
