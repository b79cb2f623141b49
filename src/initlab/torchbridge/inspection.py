"""``inspect``: one forward and one backward pass through your model, every leaf module measured.

Hooks on every leaf module record, for each call, the output's mean, std, fraction exactly zero,
fraction saturated (tanh, sigmoid) and dead units, and (through a hook on the output tensor)
the std of dLoss/d(output); then each weight's std, the std of its gradient, its fans, the
known init it matches and the std the mean-field interpreter predicts
(:mod:`initlab.torchbridge.predict`). Every hook is removed afterwards and the model is left exactly
as it was: parameters and their ``.grad`` (gradients come from ``torch.autograd.grad``),
buffers (BatchNorm's running statistics are restored), train/eval mode, ``requires_grad``, and
torch's global random state (dropout draws from a forked generator).
"""

from __future__ import annotations

from dataclasses import dataclass

from initlab.errors import InitlabError, check_positive_int
from initlab.init import fans
from initlab.results import Result, detail
from initlab.torchbridge.advice import InspectVerdict, judge_rows
from initlab.torchbridge.hooks import (
    SATURATION,
    Moments,
    dead_fraction,
    first_tensor,
    floating_tensors,
    leaf_modules,
    torch,
)
from initlab.torchbridge.match import match_init
from initlab.torchbridge.predict import activation_spec, predict_layers, units


@dataclass
class LayerRow(Result):
    """One call of one leaf module (rows count from 1 in the verdict).

    Statistics pool every value of the output over the batch (and the seeds); grad_std is of
    dLoss/d(output); weight_std and weight_grad_std are of the module's ``weight``; None where
    a value does not apply.
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
    dead_fraction: float | None = detail()
    predicted_mean: float | None = detail()
    bias_std: float | None = detail()
    activation: str | None = detail()  # initlab's name of an elementwise activation module


@dataclass
class InspectResult(Result):
    """Per-leaf-module statistics of one model at its current weights, and the verdict."""

    model: str
    input_shape: list
    layers: list[LayerRow]
    verdict: InspectVerdict
    seeds: int = detail(1)
    prediction_note: str | None = detail()
    prediction: dict | None = None  # {covered, total, unsupported}: predict.LayerPrediction

    def table(self):
        header = ["#", "module", "type", "output", "mean", "std", "predicted", "zero",
                  "saturated", "grad std", "weight std", "init"]
        rows = [[i, r.name, r.type, "x".join(map(str, r.output_shape or [])) or "-", r.mean,
                 r.std, r.predicted_std, r.zero_fraction, r.saturated_fraction, r.grad_std,
                 r.weight_std, r.init_match] for i, r in enumerate(self.layers, 1)]
        return header, rows

    def summary(self) -> str:
        """The verdict, the suggestion and where the prediction stopped, as printed lines."""
        lines = [f"verdict: {self.verdict.text}"]
        if self.prediction_note:
            lines.append(f"prediction: {self.prediction_note}")
        if self.verdict.suggestion:
            lines += ["suggestion:", self.verdict.suggestion]
        return "\n".join(lines)


@dataclass
class ReinitResult(Result):
    """The same model inspected before and after ``reinit``."""

    before: InspectResult
    after: InspectResult
    init: str = detail("")

    def table(self):
        header, before = self.before.table()
        _, after = self.after.table()
        return ["when", *header], [["before", *r] for r in before] + [["after", *r]
                                                                      for r in after]


class _Call:
    """Accumulated statistics of one leaf-module call position (pooled over seeds)."""

    def __init__(self, name, module):
        self.name, self.module, self.type = name, module, type(module).__name__
        self.out, self.grad, self.input_moments = Moments(), Moments(), Moments()
        self.zero = self.saturated = 0
        self.dead: list[float] = []
        self.shape = self.in_shape = None
        self.chained = False

    def forward(self, y) -> None:
        y = y.detach()
        self.out.add(y)
        self.zero += int((y == 0).sum())
        test = next((f for t, f in SATURATION.items() if isinstance(self.module, t)), None)
        if test is not None:
            self.saturated += int(test(y).sum())
        dead = dead_fraction(y)
        if dead is not None:
            self.dead.append(dead)


def _as_inputs(example_input) -> tuple:
    if isinstance(example_input, torch.Tensor):
        return (example_input,)
    if isinstance(example_input, (tuple, list)) and example_input and all(
            isinstance(t, torch.Tensor) for t in example_input):
        return tuple(example_input)
    raise InitlabError(f"example_input must be a torch.Tensor or a tuple of tensors, got "
                       f"{type(example_input).__name__}")


def _default_loss(output):
    ts = floating_tensors(output)
    if not ts:
        raise InitlabError("the model's output holds no floating-point tensor to take a loss of; "
                           "pass loss=callable(output) -> scalar")
    return sum((t.float() ** 2).sum() / 2 for t in ts)


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


def _one_pass(model, inputs, loss, calls: list, seed: int) -> dict:
    """Run forward and backward once with hooks; add the statistics to ``calls``. (Long:
    the hooks close over the state of the pass.)

    Returns {id(parameter): Moments of its gradient}.
    """
    position = {"i": 0, "last": None, "version": 0}
    pending: dict = {}
    inputs = tuple(t.detach().clone().requires_grad_(t.is_floating_point()) for t in inputs)

    def before(module, args):
        """Whether the input is the previous leaf's output, unchanged since (checked before an
        in-place module changes it; an in-place residual sum changes its version)."""
        x, prev = first_tensor(args), position["last"]
        chained = x is not None and (position["i"] == 0 or (prev is not None and (
            x is prev or (x.data_ptr() == prev.data_ptr() and x.numel() == prev.numel()))
            and x._version == position["version"]))
        moments = Moments()
        if x is not None and position["i"] == 0:
            moments.add(x)
        pending[module] = (chained, None if x is None else tuple(x.shape), moments)

    def hook(module, args, output):
        y = first_tensor(output)
        if y is None:
            return
        chained, in_shape, moments = pending.pop(module)
        i = position["i"]
        position["i"] += 1
        if i == len(calls):
            calls.append(_Call(names[module], module))
        call = calls[i]
        if call.module is not module and call.name.split(" (call")[0] != names[module]:
            raise InitlabError("the model calls its modules in a different order from one seed "
                               "to the next; inspect it with seeds=1")
        call.chained, call.in_shape = chained, in_shape
        if i == 0:
            call.input_moments.n += moments.n
            call.input_moments.s += moments.s
            call.input_moments.s2 += moments.s2
        call.shape = list(y.shape)
        call.forward(y)
        position["last"], position["version"] = y, y._version
        if y.requires_grad:
            y.register_hook(lambda g, c=call: c.grad.add(g))

    names = {module: name for name, module in leaf_modules(model)}
    handles = [module.register_forward_pre_hook(before) for module in names]
    handles += [module.register_forward_hook(hook) for module in names]
    wgrads = {}
    snapshot = _snapshot(model)
    params = [p for p in model.parameters() if p.requires_grad]
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            output = model(*inputs)
            value = (loss or _default_loss)(output)
            if not isinstance(value, torch.Tensor) or value.numel() != 1:
                raise InitlabError(f"the loss must be a scalar tensor, got {value!r}")
            targets = [t for t in inputs if t.requires_grad] + params
            if value.requires_grad and targets:
                grads = torch.autograd.grad(value, targets, allow_unused=True)
                for p, g in zip(params, grads[len(targets) - len(params):], strict=True):
                    if g is not None:
                        wgrads.setdefault(id(p), Moments()).add(g)
    except RuntimeError as exc:
        message = " ".join(str(exc).split())
        raise InitlabError(f"the model fails on an input of shape "
                           f"{', '.join(str(tuple(t.shape)) for t in inputs)}: {message}") from None
    finally:
        for h in handles:
            h.remove()
        _restore(model, snapshot)
    return wgrads


def _weight(module):
    w = getattr(module, "weight", None)
    return w if isinstance(w, torch.Tensor) and w.is_floating_point() else None


def _rows(calls, wgrads, prediction) -> list[LayerRow]:
    rows = []
    for i, c in enumerate(calls):
        w = _weight(c.module)
        bias = getattr(c.module, "bias", None)
        fan_in = fan_out = None
        if w is not None and w.dim() >= 2:
            fan_in, fan_out = fans(tuple(w.shape))
        w_std = b_std = None
        if w is not None and w.numel() > 1:
            w_std = float(w.detach().double().std())
        if isinstance(bias, torch.Tensor) and bias.numel() > 1:
            b_std = float(bias.detach().double().std())
        wg = wgrads.get(id(w)) if w is not None else None
        predicted = (prediction.mean(i), prediction.std(i))
        n = c.out.n
        rows.append(LayerRow(
            name=c.name, type=c.type, output_shape=c.shape, mean=c.out.mean, std=c.out.std,
            zero_fraction=c.zero / n if n else None,
            saturated_fraction=(c.saturated / n if any(isinstance(c.module, t)
                                                       for t in SATURATION) else None),
            grad_std=c.grad.std, weight_std=w_std, weight_grad_std=wg.std if wg else None,
            fan_in=fan_in, fan_out=fan_out,
            init_match=match_init(w) if w is not None and w.dim() >= 2 else None,
            predicted_std=predicted[1], dead_fraction=(sum(c.dead) / len(c.dead)
                                                       if c.dead else None),
            predicted_mean=predicted[0], bias_std=b_std, activation=activation_spec(c.module)))
    return rows


def inspect(model, example_input, loss=None, seeds: int = 1, seed: int = 0) -> InspectResult:
    """Measure every leaf module of ``model`` on ``example_input``, beside theory; judge it.

    Args:
        model: a ``torch.nn.Module`` (inspected at its current weights), or with ``seeds`` > 1 a
            callable returning a fresh one (called under ``torch.manual_seed(seed + s)``).
        example_input: a tensor (N, ...) or a tuple of tensors passed as ``model(*inputs)``.
        loss: ``loss(output) -> scalar tensor``; default the sum of squares of the output / 2
            (so dLoss/d(output) = output).
        seeds: models drawn and pooled (needs a callable ``model`` when > 1).
        seed: seeds dropout masks (and the models drawn).

    Returns an :class:`InspectResult`: one :class:`LayerRow` per leaf-module call and the
    verdict of :func:`initlab.verdict.judge` with a torch-code suggestion.
    """
    check_positive_int(seeds, "seeds")
    nn = torch.nn
    if isinstance(model, nn.Module):
        if seeds > 1:
            raise InitlabError("seeds > 1 needs a function that builds the model, not a built "
                               "model: pass e.g. lambda: MyNet()")
        models = [model]
    elif callable(model):
        models = []
        for s in range(seeds):
            torch.manual_seed(seed + s)
            built = model()
            if not isinstance(built, nn.Module):
                raise InitlabError(f"the factory returned {type(built).__name__}, not a "
                                   f"torch.nn.Module")
            models.append(built)
    else:
        raise InitlabError(f"model must be a torch.nn.Module or a function returning one, got "
                           f"{type(model).__name__}")
    inputs = _as_inputs(example_input)
    calls: list[_Call] = []
    wgrads: dict = {}
    for s, m in enumerate(models):
        before = len(calls)
        found = _one_pass(m, inputs, loss, calls, seed + s)
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
    prediction = predict_layers(models, inputs)
    rows = _rows(calls, wgrads, prediction)
    note = prediction.note([r.std for r in rows], [units(c.module, c.shape) for c in calls],
                           [f"row {i} ({r.name})" for i, r in enumerate(rows, 1)])
    shapes = [list(t.shape) for t in inputs]
    return InspectResult(model=type(models[0]).__name__,
                         input_shape=shapes[0] if len(shapes) == 1 else shapes, layers=rows,
                         verdict=judge_rows(rows), seeds=seeds, prediction_note=note,
                         prediction=prediction.summary())
