"""A mean-field interpreter over a PyTorch model's own forward: every tensor's predicted moments.

One forward of the real model runs under a :class:`torch.overrides.TorchFunctionMode`; every
torch function it calls (``F.linear``, ``Tensor.view``, ``x + y``, ``F.scaled_dot_product_
attention``, ...) runs as usual and, beside its output, a rule of
:mod:`initlab.torchbridge.interpret_rules` computes the output's :class:`Stat`: for every entry
of the tensor, the mean and variance it has over random inputs, from the statistics of the
inputs and the model's actual weights. The state is the one of the mean-field analyses
(LeCun et al. 1998; Glorot & Bengio 2010; He et al. 2015; Poole et al. 2016): at
initialization the fluctuating parts of distinct entries are independent and sums of many of
them Gaussian. What is shared between tokens or positions (a bias, a position embedding, the
mean of a GELU) is in the per-entry mean, which is how attention's averaging over tokens sees
their correlation.

Why a function mode and not ``torch.fx``: ``torch.fx.symbolic_trace`` fails on every
``transformers`` model of the panel (GPT-2, BERT, ViT, ResNet, ConvNeXt, Llama of transformers
5.25: item assignment on a proxy, control flow on shapes, iteration over a proxy), while the
mode sees all six, because it follows the real forward with real tensors, control flow and
all (``benchmarks/predict_panel.py`` prints both counts).

Tensors the data does not flow into (parameters, buffers, masks, ``arange``) are constants:
mean = their value, variance 0. The model's floating inputs are data with the pooled mean and
variance of the batch in every entry (independent entries, as inspect's standard-normal
batches are); an integer input is a batch of token ids, and an embedding looked up with it
draws a row at random from the rows the batch looks up. An operation on a tracked tensor
without a rule makes its outputs unknown, and so everything computed from them: its name is
counted in :attr:`Trace.unsupported`, nothing is guessed.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from initlab.torchbridge.hooks import leaf_modules, torch

STAT_ATTR = "_initlab_stat"  # the Stat a traced tensor carries
IDS_ATTR = "_initlab_ids"  # an integer tensor of the data's token ids
UNKNOWN = "unknown"
#: How many examples the measured batch has per example traced (BatchNorm's batch statistics
#: average over the whole batch, as they do in the measured forward)
BATCH = {"ratio": 1.0}
#: id(weight) -> the factor a constant weight is counted with (width extrapolation)
WEIGHT_SCALE: dict = {}


class Unsupported(Exception):
    """A rule cannot follow this call (its arguments are outside what it models)."""


@dataclass
class Stat:
    """Per-entry mean ``mu`` and variance ``var`` (float64, the tensor's shape; ``var`` None for
    a constant). ``gauss``: entries are Gaussian (a sum of many independent terms: the output
    of a linear map or a norm, or the data). ``pre``: (mu, var, fn, monotone, tok, smooth) when
    entries are fn(Gaussian(mu, var)) elementwise (max pooling needs fn non-decreasing; a
    further elementwise function composes with fn)."""

    mu: object
    var: object = None
    gauss: bool = False
    pre: tuple | None = None
    tok: tuple | None = None  # (axis, R): see initlab.torchbridge.interpret_tokens

    @property
    def const(self) -> bool:
        return self.var is None

    def variance(self):
        return torch.zeros_like(self.mu) if self.var is None else self.var

    def pooled(self) -> tuple[float, float]:
        """(mean, second moment) over all entries: what a measured batch estimates."""
        second = self.mu * self.mu
        if self.var is not None and self.var.shape == second.shape:
            second += self.var  # in place: the same sum as var + mu^2, one array less
        elif self.var is not None:
            second = self.var + second
        return float(self.mu.mean()), float(second.mean())


def stat_of(x):
    """The Stat of a tensor (a constant's from its value), UNKNOWN, or None for non-floats."""
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return Stat(torch.tensor(float(x), dtype=torch.float64))
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        return None
    s = getattr(x, STAT_ATTR, None)
    if s is not None:
        return s
    value = x.detach().to(torch.float64)
    return Stat(value * WEIGHT_SCALE[id(x)] if id(x) in WEIGHT_SCALE else value)


def tracked(x) -> bool:
    return isinstance(x, torch.Tensor) and getattr(x, STAT_ATTR, None) is not None


def tensors_in(tree, into=None) -> list:
    """The tensors of a nest of lists, tuples and dicts, in order (a list: every torch call
    of the forward walks its arguments, and a generator costs more per step)."""
    into = [] if into is None else into
    if isinstance(tree, torch.Tensor):
        into.append(tree)
    elif isinstance(tree, (list, tuple)):
        for v in tree:
            if isinstance(v, torch.Tensor):
                into.append(v)
            elif isinstance(v, (list, tuple, dict)):
                tensors_in(v, into)
    elif isinstance(tree, dict):
        tensors_in(tuple(tree.values()), into)
    return into


def op_name(func) -> str:
    """A readable name of a torch function: ``linear``, ``Tensor.view``, ``Tensor.T``."""
    name = getattr(func, "__name__", None) or repr(func)
    if name == "__get__":
        owner = getattr(func, "__self__", None)
        name = getattr(owner, "__name__", name)
    return name


class _Mode(torch.overrides.TorchFunctionMode):
    """Runs each torch function and attaches its output's Stat through the rules."""

    def __init__(self, rules, trace):
        super().__init__()
        self.rules, self.trace, self.paused = rules, trace, 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if not self.paused and _names(func)[1] in MEAN_IS_OUTPUT:
            out = self._mean_as_output(func, args, kwargs)
            if out is not None:
                return out
        try:
            out = func(*args, **kwargs)
        except ValueError as exc:
            out = _batch_norm_of_twins(func, args, kwargs, exc)
        if self.paused or out is not None and (
                type(out) is torch.Size or not isinstance(out, (torch.Tensor, list, tuple))):
            return out  # a shape, a dtype, a number (setitem's None goes on): nothing to carry
        inputs = tensors_in((args, kwargs))
        live = [t for t in inputs if getattr(t, STAT_ATTR, None) is not None]
        name, base = _names(func)
        if not live:
            whole = next((w for t in inputs if (w := getattr(t, IDS_ATTR, None)) is not None), None)
            if whole is None:
                return out
            if base not in _ID_RULES:
                _tag_ids(func, out, whole)
                return out
        if base != "setitem" and not tensors_in(out):
            return out  # a size, a dtype, a Python number: nothing to carry
        if any(getattr(t, STAT_ATTR) is UNKNOWN for t in live):
            result = UNKNOWN
            if base == "setitem":
                setattr(args[0], STAT_ATTR, UNKNOWN)
        else:
            rule = self.rules.get(base)
            if rule is None:
                self.trace.unsupported[name] += 1
                result = UNKNOWN
            else:
                try:
                    # (no grad to switch off: the traced forward runs under no_grad, _run)
                    result = rule(func, base, out, args, kwargs)
                except (Unsupported, RuntimeError, ValueError, TypeError, IndexError) as exc:
                    # a rule meeting arguments it does not model (a shape, a dtype) gives up
                    # on this op, named with the reason; the forward itself goes on
                    reason = exc if isinstance(exc, Unsupported) else type(exc).__name__
                    self.trace.unsupported[f"{name} ({reason})"] += 1
                    result = UNKNOWN
                    if base == "setitem":
                        setattr(args[0], STAT_ATTR, UNKNOWN)
        _attach(out, result)
        return out

    def _mean_as_output(self, func, args, kwargs):
        """A linear map's (or attention's, a norm's, dropout's) predicted mean as its output,
        a copy, without running it (None where the rule cannot give it or the call writes in
        place: the call then runs as any other).
        Nothing the rules compute reads a tracked tensor's value, only its Stat, so the
        prediction is what it would be on the real output; the real op, a matmul or a conv
        as costly as the rule's mean map, is saved (benchmarks/README.md, issue 32)."""
        name, base = _names(func)
        if "out" in kwargs or name.endswith("_") or kwargs.get("inplace") or (
                base == "dropout" and len(args) > 3 and args[3]):
            return None  # in place: the real op must write its input
        inputs = tensors_in((args, kwargs))
        floats = [t for t in inputs if t.is_floating_point()]
        if not any(getattr(t, STAT_ATTR, None) is not None for t in floats) or any(
                getattr(t, STAT_ATTR, None) is UNKNOWN for t in floats):
            return None
        try:
            result = self.rules[base](func, base, None, args, kwargs)
        except (Unsupported, RuntimeError, ValueError, TypeError, IndexError, KeyError):
            return None  # the usual path runs the op and names why the rule gives up
        if not isinstance(result, Stat):
            return None
        dtype = floats[0].dtype
        for t in floats[1:]:
            dtype = torch.promote_types(dtype, t.dtype)
        out = result.mu.to(device=floats[0].device, dtype=dtype, copy=True)
        setattr(out, STAT_ATTR, result)
        return out


#: The ops whose output is their predicted mean (:meth:`_Mode._mean_as_output`): their rules
#: read neither the real output nor the values of tracked inputs
MEAN_IS_OUTPUT = frozenset((
    "linear", "addmm", "baddbmm", "matmul", "mm", "bmm", "conv1d", "conv2d", "conv3d",
    "scaled_dot_product_attention", "layer_norm", "rms_norm", "group_norm", "batch_norm",
    "dropout"))


def _batch_norm_of_twins(func, args, kwargs, exc):
    """A training BatchNorm that has one value per channel on the traced examples (a 1 x 1
    feature map of one example) raises; every traced example stands for the whole batch, so
    its output is the one two equal examples give (what a trace of two would compute). Any
    other ValueError is the model's own, raised again."""
    x = args[0] if args else kwargs.get("input")
    if func is not torch.nn.functional.batch_norm or not isinstance(x, torch.Tensor):
        raise exc
    more = {k: v for k, v in kwargs.items() if k != "input"}
    return func(torch.cat([x, x]), *args[1:], **more)[:x.shape[0]]


_NAMES: dict = {}  # func -> (op_name, _base_name): asked for at every call of the forward


def _names(func) -> tuple[str, str]:
    try:
        return _NAMES[func]
    except KeyError:
        names = _NAMES[func] = op_name(func), _base_name(op_name(func))
        return names
    except TypeError:  # an unhashable callable
        return op_name(func), _base_name(op_name(func))


def _base_name(name: str) -> str:
    """``__radd__`` -> ``radd``, ``add_`` -> ``add``, ``__iadd__`` -> ``add``."""
    n = name.strip("_")
    if name.startswith("__i") and name.endswith("__") and n[1:] in (
            "add", "sub", "mul", "truediv", "div", "matmul"):
        return n[1:]
    return n


def _attach(out, result) -> None:
    """Put each output tensor's Stat on it (UNKNOWN on all when the rule gave up)."""
    if result is UNKNOWN or result is None:
        for t in tensors_in(out):
            setattr(t, STAT_ATTR, UNKNOWN)
        return
    if isinstance(out, torch.Tensor):
        out, result = [out], [result]
    for t, s in zip(tensors_in(out), result, strict=False):
        if isinstance(s, Stat) and t.is_floating_point():
            setattr(t, STAT_ATTR, s)
        elif not t.is_floating_point():
            setattr(t, STAT_ATTR, None if s is None else UNKNOWN)


_ID_RULES = ("embedding",)  # the rules that read token ids
_SHAPE_OF_IDS = {"view", "reshape", "flatten", "unsqueeze", "squeeze", "expand", "contiguous",
                 "clone", "to", "long", "int", "__getitem__", "narrow", "select", "repeat",
                 "permute", "transpose", "detach"}


def _tag_ids(func, out, whole) -> None:
    """Token ids stay token ids through reshapes and indexing (not through arithmetic); the
    tag is the whole batch's ids."""
    if op_name(func) in _SHAPE_OF_IDS:
        for t in tensors_in(out):
            if not t.is_floating_point():
                setattr(t, IDS_ATTR, whole)


@dataclass
class Trace:
    """What one interpreted forward predicts.

    calls: for each call of a leaf module (in call order, as inspect's rows), its name and
    (mean, second moment) predicted for its output, or None where unknown.
    unsupported: op name -> how often an op without a rule met a tracked tensor.
    modules: name -> leaf module (``leaf_modules``' names).
    """

    calls: list = field(default_factory=list)
    unsupported: Counter = field(default_factory=Counter)
    modules: dict = field(default_factory=dict)


def interpret(model, inputs, rules=None, batch: int | None = None,
              weight_scale: dict | None = None, kwargs: dict | None = None) -> Trace:
    """Run ``model(*inputs, **kwargs)`` once under the interpreter; return the :class:`Trace`.

    The first axis of the inputs is the batch: every example has the same statistics (those
    of the whole batch), so the forward runs on the first ``batch`` examples only (default
    1; the whole batch where the model raises on so few), which makes the prediction cheap
    beside a measurement of the whole batch. A BatchNorm's batch statistics count the whole
    batch's examples however many are traced (:data:`BATCH`), and where it has one value per
    channel on them its real output is that of two equal examples. The model is left as it
    was (buffers restored: BatchNorm updates its running statistics in training mode), and
    torch's random state too (dropout draws from a forked generator). ``weight_scale``:
    id(weight) -> factor it is counted with (:mod:`initlab.torchbridge.interpret_extrapolate`'s
    width).
    """
    from initlab.torchbridge import interpret_rules, interpret_tokens
    from initlab.torchbridge.interpret_hooks import install

    rules = interpret_rules.RULES if rules is None else rules
    trace = Trace()
    mode = _Mode(rules, trace)
    trace.modules = dict(leaf_modules(model))
    handles = install(mode, trace)
    buffers = {n: b.detach().clone() for n, b in model.named_buffers()}
    full = tuple(inputs) + tuple((kwargs or {}).values())
    keys = tuple(kwargs or {})
    sizes = {x.shape[0] if x.dim() else None for x in full}
    n = next(iter(sizes)) if len(sizes) == 1 and None not in sizes else None
    plan = [b for b in [batch or 1] if n is not None and n > b] + [None]  # None: all
    WEIGHT_SCALE.clear()
    WEIGHT_SCALE.update(weight_scale or {})
    interpret_tokens.forget_lines()
    try:
        for i, size in enumerate(plan):
            try:
                _run(model, full, keys, size, mode)
                break
            except Exception:  # the model's own error on so few examples: trace more
                if i == len(plan) - 1:
                    raise
                trace.calls.clear()
                trace.unsupported.clear()
                _restore(model, buffers)
    finally:
        WEIGHT_SCALE.clear()
        for h in handles:
            h.remove()
        _restore(model, buffers)
    return trace


def _run(model, full, keys, batch, mode) -> None:
    """One forward under ``mode`` on the first ``batch`` examples (None: all of them); the
    last ``len(keys)`` of ``full`` are passed as those keywords."""
    inputs = tuple((x[:batch] if batch else x).clone() for x in full)
    BATCH["ratio"] = full[0].shape[0] / batch if batch else 1.0
    with torch.random.fork_rng(devices=[]), torch.no_grad(), mode:
        for x, whole in zip(inputs, full, strict=True):
            _mark_data(x, whole)
        n = len(inputs) - len(keys)
        model(*inputs[:n], **dict(zip(keys, inputs[n:], strict=True)))


def _restore(model, buffers) -> None:
    with torch.no_grad():
        for n, b in model.named_buffers():
            b.copy_(buffers[n])


def _mark_data(x, whole) -> None:
    """The data's Stat (the whole batch's pooled mean and variance in every entry), or for
    token ids the whole batch's ids (an embedding draws its rows from them)."""
    if x.is_floating_point():
        w = whole.detach().to(torch.float64)
        m, v = float(w.mean()), float(w.var(unbiased=False)) if w.numel() > 1 else 0.0
        mu = torch.empty(x.shape, dtype=torch.float64)
        setattr(x, STAT_ATTR, Stat(mu.fill_(m), torch.full_like(mu, v), gauss=True))
    else:
        setattr(x, IDS_ATTR, whole)


def pooled_std(moments) -> float | None:
    """The std from (mean, second moment); None passes through."""
    if moments is None:
        return None
    m, second = moments
    return math.sqrt(max(second - m * m, 0.0))
