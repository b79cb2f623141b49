"""``monitor``: per-layer statistics recorded during your own training loop, with alerts.

Like fastai's ``ActivationStats`` and timm's ``ActivationStatsHook``, extended to what decides
whether a layer learns. At every ``every``-th training forward pass of the model (counted by a
pre-hook on the model; passes in eval mode are not counted) it records:

- for every call of a watched leaf module (a module called twice in a step, e.g. one ReLU
  reused in a block, gets a series per call: "name (call 2)"): its output's mean, std, fraction
  exactly zero and a histogram over the range of that step's values ([mean - 4 std,
  mean + 4 std] clipped to the values' min and max), so the bins follow the data;
- for every watched module with a weight: ||dLoss/dW|| / ||W|| of that step's backward (a hook
  on the weight), and the update ratio ||W_after - W|| / ||W|| of the optimizer step that
  follows, measured at the next training forward pass from a copy of the weights;
- the residual stream (with ``stream=True``): the std after each residual add, traced as in
  ``inspect`` (:mod:`initlab.torchbridge.tracing`), and its growth over the longest run.

An **alert** (a :class:`MonitorAlert` warning and an entry in ``result.alerts``) is raised the
moment a layer's update ratio leaves ``update_band`` (Karpathy's rule of thumb is ~1e-3 per
step; far below, the layer does not learn, near 1 it is blown away), or the stream's growth
leaves ``stream_band`` times its growth at the first recording. Between recorded steps every
hook does one comparison and returns. ``mon.figure()`` draws fastai's "colorful dimension" heat
map (log of the histogram counts against the step) and the std over time.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from types import SimpleNamespace

from initlab.errors import InitlabError, check_positive_int
from initlab.results import Result
from initlab.torchbridge.diagnosis import stream_growth
from initlab.torchbridge.hooks import (
    Moments,
    first_tensor,
    leaf_modules,
    torch,
    zeros_and_dead,
)
from initlab.torchbridge.tracing import Tracer


class MonitorAlert(UserWarning):
    """A monitored quantity left its band during training."""


@dataclass
class MonitoredLayer(Result):
    """One call position of one module at each recorded step it ran (``steps``); counts:
    (steps, bins) over [lo, hi] of each step; grad_ratio ||dW||/||W|| and update_ratio
    ||delta W||/||W|| (None where the module has no weight or the step was not seen)."""

    name: str
    type: str
    steps: list[int] = field(default_factory=list)
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    zero_fraction: list[float] = field(default_factory=list)
    grad_ratio: list[float | None] = field(default_factory=list)
    update_ratio: list[float | None] = field(default_factory=list)
    lo: list[float] = field(default_factory=list, metadata={"detail": True})
    hi: list[float] = field(default_factory=list, metadata={"detail": True})
    counts: list[list[int]] = field(default_factory=list, metadata={"detail": True})


@dataclass
class Alert(Result):
    """One alert: the step, what left its band (``"update ratio"`` or ``"stream growth"``),
    where, the value and the sentence that was warned."""

    step: int
    kind: str
    where: str
    value: float
    text: str


@dataclass
class MonitorResult(Result):
    """The steps recorded (training forward passes, counted from 0), each module call's series,
    the stream's growth per recorded step (None without residual adds) and the alerts."""

    every: int
    bins: int
    steps: list[int] = field(default_factory=list)
    layers: list[MonitoredLayer] = field(default_factory=list)
    stream_growth: list[float | None] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)

    def table(self):
        header = ["module", "type", "first std", "last std", "last zero", "last |dW|/|W|",
                  "last step ratio"]

        def last(v):
            v = [x for x in v if x is not None]
            return v[-1] if v else None

        rows = [[m.name, m.type, m.std[0] if m.std else None, last(m.std),
                 last(m.zero_fraction), last(m.grad_ratio), last(m.update_ratio)]
                for m in self.layers]
        return header, rows


def _band(value, name: str) -> tuple[float, float]:
    ok = (isinstance(value, (tuple, list)) and len(value) == 2
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
          and 0 < value[0] < value[1] < float("inf"))
    if not ok:
        raise InitlabError(f"{name} must be (low, high) with 0 < low < high, got {value!r}")
    return float(value[0]), float(value[1])


class monitor:  # noqa: N801 - used as a function: ``with monitor(model) as mon``
    """Record per-layer statistics every ``every`` training steps; alert when they leave a band.

    Args:
        model: a ``torch.nn.Module`` (its leaf modules are watched).
        every: record at training forward passes 0, every, 2 every, ...
        bins: histogram bins per recording.
        modules: names of the modules to watch (default: every leaf module).
        update_band: (low, high) for ||delta W|| / ||W|| per optimizer step.
        stream_band: (low, high) for the stream's growth relative to its first recording.
        stream: trace residual adds at recorded steps (a TorchFunctionMode during those
            forward passes only).

    >>> with monitor(model, every=10) as mon:        # doctest: +SKIP
    ...     for x, y in data: step(model, x, y)
    >>> mon.result.alerts; mon.result.save("stats.json"); mon.figure()  # doctest: +SKIP
    """

    def __init__(self, model, every: int = 10, bins: int = 40, modules=None,
                 update_band=(1e-5, 1e-1), stream_band=(0.25, 4.0), stream: bool = True):
        if not isinstance(model, torch.nn.Module):
            raise InitlabError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.model = model
        self.every = check_positive_int(every, "every")
        check_positive_int(bins, "bins")
        self.update_band = _band(update_band, "update_band")
        self.stream_band = _band(stream_band, "stream_band")
        leaves = leaf_modules(model)
        if modules is not None:
            known = {n for n, _ in leaves}
            unknown = [n for n in modules if n not in known]
            if unknown:
                raise InitlabError(f"unknown modules {unknown}; valid: {', '.join(sorted(known))}")
            leaves = [(n, m) for n, m in leaves if n in set(modules)]
        self._watched = dict((m, n) for n, m in leaves)
        self._weights = {m: m.weight for m in self._watched
                         if isinstance(getattr(m, "weight", None), torch.Tensor)
                         and m.weight.is_floating_point() and m.weight.requires_grad}
        self._tied: dict = {}  # id(weight) -> (weight, the modules that share it)
        for m, w in self._weights.items():
            self._tied.setdefault(id(w), (w, []))[1].append(m)
        self._norms: dict = {}  # id(weight) -> ||W|| at the recorded step's backward
        self.result = MonitorResult(every=self.every, bins=bins)
        self._layers: dict = {}
        self._step = -1
        self._recording = False
        self._calls: dict = {}
        self._snapshot = None
        self._buffers: dict = {}  # id(weight) -> the tensor it is copied into, step by step
        self._scratches: dict = {}  # dtype -> the 1-D buffer of the statistics' scratch views
        self._handles: list = []
        names = {m: n or type(m).__name__ for n, m in model.named_modules()}
        self._tracer = Tracer(names, {m for _, m in leaf_modules(model)}) if stream else None
        self._tracing = False

    def __enter__(self):
        add = self._handles.append
        add(self.model.register_forward_pre_hook(self._start))
        add(self.model.register_forward_hook(self._end))
        if self._tracer is not None:
            for m in self._tracer.names:
                add(m.register_forward_pre_hook(self._enter))
                add(m.register_forward_hook(self._leave))
        for module in self._watched:
            add(module.register_forward_hook(self._record))
        for w, modules in self._tied.values():  # a tied weight is read once for all its modules
            add(w.register_hook(self._grad_hook(w, modules)))
        return self

    def __exit__(self, *exc):
        self._stop_tracing()
        if self._snapshot is not None:
            self._updates()
        for h in self._handles:
            h.remove()
        self._handles.clear()
        self._buffers.clear()
        self._scratches.clear()
        return False

    def _stop_tracing(self) -> None:
        if self._tracing:
            self._tracer.__exit__(None, None, None)
            self._tracing = False

    def _alert(self, step: int, kind: str, where: str, value: float, text: str) -> None:
        self.result.alerts.append(Alert(step=step, kind=kind, where=where, value=value,
                                        text=text))
        warnings.warn(text, MonitorAlert, stacklevel=3)

    def _start(self, module, args):
        self._recording = False
        if not module.training:
            return
        self._step += 1
        if self._snapshot is not None:
            self._updates()
        self._recording = self._step % self.every == 0
        if not self._recording:
            return
        self.result.steps.append(self._step)
        self.result.stream_growth.append(None)
        self._calls = {}
        self._norms.clear()
        with torch.no_grad():
            self._snapshot = (self._step, {key: self._copy(key, w.detach())
                                           for key, (w, _) in self._tied.items()})
        if self._tracer is not None:
            self._tracer.adds, self._tracer.attention = [], []
            self._tracer.start_pass()
            self._tracer.__enter__()
            self._tracing = True

    def _copy(self, key, w):
        """A copy of weight ``w`` in the buffer kept for it (a fresh clone the first time or
        when its layout changed): a GPT-2's weights are 500 MB, allocated anew every step."""
        buffer = self._buffers.get(key)
        if buffer is None or (buffer.shape, buffer.stride(), buffer.dtype, buffer.device) != (
                w.shape, w.stride(), w.dtype, w.device):
            buffer = self._buffers[key] = w.clone()
            return buffer
        return buffer.copy_(w)

    def _end(self, module, args, output):
        if self.every > 1:  # the next recording is steps away: hold no scratch until then
            self._scratches.clear()
        if not self._tracing:
            return
        self._stop_tracing()
        adds = [SimpleNamespace(std=a.out.std, continues=a.continues)
                for a in self._tracer.adds]
        growth = stream_growth(adds) if adds else None
        self.result.stream_growth[-1] = growth
        first = next((g for g in self.result.stream_growth if g is not None), None)
        low, high = self.stream_band
        if growth is not None and first and not low <= growth / first <= high:
            self._alert(self._step, "stream growth", "residual stream", growth, (
                f"step {self._step}: the residual stream grows x{growth:.3g} over its longest "
                f"run, {growth / first:.3g}x its x{first:.3g} at step "
                f"{self.result.steps[0]}, outside [{low:g}, {high:g}]x"))

    def _enter(self, module, args):
        if self._tracing:
            self._tracer.enter(module, args)

    def _leave(self, module, args, output):
        if self._tracing:
            self._tracer.leave(module, args, output, None)

    def _layer(self, module, k: int) -> MonitoredLayer:
        layer = self._layers.get((module, k))
        if layer is None:
            name = self._watched[module] + ("" if k == 1 else f" (call {k})")
            layer = self._layers[(module, k)] = MonitoredLayer(name=name,
                                                               type=type(module).__name__)
            self.result.layers.append(layer)
        return layer

    def _record(self, module, args, output):
        if not self._recording:
            return
        y = first_tensor(output)
        if y is None:
            return
        k = self._calls[module] = self._calls.get(module, 0) + 1
        layer = self._layer(module, k)
        if self._tracing:
            self._tracer.untraced(self._stats, layer, y)
        else:
            self._stats(layer, y)

    def _stats(self, layer: MonitoredLayer, y) -> None:
        with torch.no_grad():
            y = y.detach().flatten()
            zeros, _ = zeros_and_dead(y, rectifier=False)
            y = y if y.dtype in (torch.float32, torch.float64) else y.float()
            scratch = self._scratch(y.numel(), y.dtype)  # the deviations, then scaled values
            moments = Moments()  # mean, then the norm of the deviations: no std_mean pass
            moments.add(y, scratch)
            mean, std = moments.mean, moments.std or 0.0
            low, high = (float(v) for v in torch.aminmax(y))
            lo, hi = max(low, mean - 4 * std), min(high, mean + 4 * std)
            hi = hi if hi > lo else lo + 1.0
            layer.steps.append(self._step)
            layer.mean.append(mean)
            layer.std.append(std)
            layer.zero_fraction.append(1.0 - (y.numel() - zeros) / y.numel())
            layer.lo.append(lo)
            layer.hi.append(hi)
            layer.counts.append(self._histogram(y, scratch, (lo, hi), (low, high)))
            layer.grad_ratio.append(None)
            layer.update_ratio.append(None)

    def _scratch(self, n: int, dtype):
        """A writable 1-D tensor of n values, a view of one buffer kept between layers and
        steps (a fresh one per layer allocates and faults in its pages every time)."""
        buffer = self._scratches.get(dtype)
        if buffer is None or buffer.numel() < n:
            buffer = self._scratches[dtype] = torch.empty(n, dtype=dtype)
        return buffer[:n]

    def _histogram(self, y, scratch, bounds, extremes) -> list[int]:
        """Counts of y in ``bins`` equal bins over bounds (lo, hi); values beyond them in the
        end bins. The bin of a value is int((y - lo) * (bins / (hi - lo))), clamped:
        ``bincount`` does in half the time of ``histc`` on CPU. In int32 where every scaled
        value of y's extremes is far inside int32's range (then truncation to int32 and
        int64 agree: half the memory traffic), else in int64."""
        (lo, hi), (low, high) = bounds, extremes
        bins = self.result.bins
        scale = bins / (hi - lo)
        scaled = torch.sub(y, lo, out=scratch).mul_(scale)
        wide = not max(abs(high - lo), abs(low - lo)) * scale < 2 ** 30  # NaN, inf: wide
        dtype = torch.int64 if wide else torch.int32
        idx = self._scratch(y.numel(), dtype).copy_(scaled).clamp_(0, bins - 1)
        return torch.bincount(idx, minlength=bins).tolist()

    def _grad_hook(self, w, modules):
        def hook(grad):
            if not self._recording:
                return None
            layers = [layer for layer in (self._layers.get((m, 1)) for m in modules)
                      if layer is not None and layer.steps and layer.steps[-1] == self._step]
            if layers:
                with torch.no_grad():
                    norm = self._norms[id(w)] = float(torch.linalg.vector_norm(w.detach()))
                    ratio = (float(torch.linalg.vector_norm(grad.detach())) / norm
                             if norm > 0 else None)
                for layer in layers:
                    layer.grad_ratio[-1] = ratio
            return None
        return hook

    def _updates(self) -> None:
        """The update ratios of the optimizer step that followed the recorded step: per weight
        tensor (once for tied modules), ||W|| from its gradient hook where it ran (the copy
        holds the same values), alerts in module order."""
        step, saved = self._snapshot
        self._snapshot = None
        low, high = self.update_band
        ratios: dict = {}
        for module, w in self._weights.items():
            layer = self._layers.get((module, 1))
            if layer is None or step not in layer.steps:
                continue
            if id(w) not in ratios:
                ratios[id(w)] = self._ratio(saved[id(w)], w, self._norms.pop(id(w), None))
            ratio = ratios[id(w)]
            if ratio is None:
                continue
            layer.update_ratio[layer.steps.index(step)] = ratio
            if not low <= ratio <= high:
                self._alert(step, "update ratio", layer.name, ratio, (
                    f"step {step}: the optimizer step changed {layer.name}'s weight by "
                    f"{ratio:.3g} of its norm, outside [{low:g}, {high:g}]"))
        if self.every > 1:  # the next copy is steps away: hold no weight-sized buffers until
            self._buffers.clear()

    @staticmethod
    def _ratio(w0, w, norm) -> float | None:
        """||W - w0|| / ||w0|| (None where ||w0|| = 0), w0 overwritten."""
        with torch.no_grad():
            norm = float(torch.linalg.vector_norm(w0)) if norm is None else norm
            if norm == 0:
                return None
            # w0 - W in place of W - w0: IEEE subtraction is antisymmetric, the norm equal
            return float(torch.linalg.vector_norm(w0.sub_(w.detach()))) / norm

    def figure(self, layers=None):
        """The colorful-dimension heat maps and std-over-time curves (a matplotlib Figure)."""
        from initlab.plots.inspect import monitor_figure

        return monitor_figure(self.result, layers)
