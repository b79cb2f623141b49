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
  follows, measured at the next training forward pass from a copy of the weights (||W||, the
  copy and the difference to the last one in one pass over the weights:
  :mod:`initlab.torchbridge.monitor_weights`);
- the residual stream (with ``stream=True``): the std after each residual add, traced as in
  ``inspect`` (:mod:`initlab.torchbridge.tracing`), and its growth over the longest run.

An **alert** (a :class:`MonitorAlert` warning and an entry in ``result.alerts``) is raised the
moment a layer's update ratio leaves ``update_band`` (Karpathy's rule of thumb is ~1e-3 per
step; far below, the layer does not learn, near 1 it is blown away), or the stream's growth
leaves ``stream_band`` times its growth at the first recording. The update ratios of one step
that leave the band are one warning (how many, the first three, the extremes) and one alert
each. Between recorded steps every hook does one comparison and returns. ``mon.figure()`` draws
fastai's "colorful dimension" heat map (log of the histogram counts against the step) and the
std over time.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from dataclasses import dataclass, field
from types import SimpleNamespace

import initlab
from initlab.errors import InitlabError, check_positive_int
from initlab.results import Result
from initlab.torchbridge.diagnosis import stream_growth
from initlab.torchbridge.hooks import first_tensor, leaf_modules, torch
from initlab.torchbridge.monitor_stats import Scratch, output_stats
from initlab.torchbridge.monitor_weights import Snapshots, norm, ratio
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


def _warn(text: str) -> None:
    """Warn a MonitorAlert attributed to the user's line that ran the step (the first frame
    outside initlab and torch: the alerts come from hooks several torch frames deep, at a
    forward pass or at the monitor's exit)."""
    frame, level = sys._getframe(0), 1
    while frame is not None and frame.f_code.co_filename.startswith(_INTERNAL):
        frame, level = frame.f_back, level + 1
    warnings.warn(text, MonitorAlert, stacklevel=level)


_INTERNAL = tuple(os.path.dirname(m.__file__) + os.sep for m in (torch, initlab))


def _one_warning(alerts: list, band: tuple[float, float], named: int = 3) -> str:
    """The one warning of a step's update-ratio alerts: the alert's own text where there is
    one, else how many weights left the band, the first ``named`` of them and the extremes (a
    ResNet-50's 53 BatchNorm weights below the band at a small Adam rate would be 53 warnings
    a step)."""
    if len(alerts) == 1:
        return alerts[0].text
    values = [a.value for a in alerts if math.isfinite(a.value)]
    span = [f"from {min(values):.3g} to {max(values):.3g}"] if values else []
    if len(values) < len(alerts):
        span.append(f"{len(alerts) - len(values)} not finite")
    shown = ", ".join(f"{a.where} ({a.value:.3g})" for a in alerts[:named])
    more = f" and {len(alerts) - named} more" if len(alerts) > named else ""
    return (f"step {alerts[0].step}: the optimizer step changed {len(alerts)} weights by a "
            f"fraction of their norm outside [{band[0]:g}, {band[1]:g}] ({', '.join(span)}): "
            f"{shown}{more}; each is in result.alerts")


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
        self._snapshots = Snapshots({key: w for key, (w, _) in self._tied.items()})
        self._norms: dict = {}  # id(weight) -> ||W|| at the last recorded step
        self.result = MonitorResult(every=self.every, bins=bins)
        self._layers: dict = {}
        self._step = -1
        self._recording = False
        self._calls: dict = {}
        self._pending = None  # the recorded step whose update ratios are still to be read
        self._scratch = Scratch()  # the statistics' scratch buffers
        self._handles: list = []
        names = {m: n or type(m).__name__ for n, m in model.named_modules()}
        self._tracer = Tracer(names, {m for _, m in leaf_modules(model)}) if stream else None
        if self._tracer is not None:
            self._tracer.stream_only = True
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
        if self._pending is not None:
            self._updates(self._snapshots.sweep(diff=True, keep=False))
        for h in self._handles:
            h.remove()
        self._handles.clear()
        self._snapshots.clear()
        self._scratch.clear()
        return False

    def _stop_tracing(self) -> None:
        if self._tracing:
            self._tracer.__exit__(None, None, None)
            self._tracing = False

    def _alert(self, step: int, kind: str, where: str, value: float, text: str,
               warn: bool = True) -> Alert:
        alert = Alert(step=step, kind=kind, where=where, value=value, text=text)
        self.result.alerts.append(alert)
        if warn:
            _warn(text)
        return alert

    def _start(self, module, args):
        self._recording = False
        if not module.training:
            return
        self._step += 1
        self._recording = self._step % self.every == 0
        if self._pending is None and not self._recording:
            return
        # one pass: the update of the step before (if it was recorded), ||W|| and W's copy
        norms = self._snapshots.sweep(diff=self._pending is not None, keep=self._recording)
        if self._pending is not None:
            self._updates(norms)
        if not self._recording:
            return
        self._pending = self._step
        self._norms = {key: norm for key, (norm, _) in norms.items()}
        self.result.steps.append(self._step)
        self.result.stream_growth.append(None)
        self._calls = {}
        if self._tracer is not None:
            self._tracer.adds, self._tracer.attention = [], []
            self._tracer.start_pass()
            self._tracer.__enter__()
            self._tracing = True

    def _end(self, module, args, output):
        if self.every > 1:  # the next recording is steps away: hold no scratch until then
            self._scratch.clear()
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
        stats = output_stats(y, self.result.bins, self._scratch)
        if stats is None:
            return
        for series, value in zip((layer.mean, layer.std, layer.zero_fraction, layer.lo,
                                  layer.hi, layer.counts), stats, strict=True):
            series.append(value)
        layer.steps.append(self._step)
        layer.grad_ratio.append(None)
        layer.update_ratio.append(None)

    def _grad_hook(self, w, modules):
        def hook(grad):
            if not self._recording:
                return None
            layers = [layer for layer in (self._layers.get((m, 1)) for m in modules)
                      if layer is not None and layer.steps and layer.steps[-1] == self._step]
            if layers:  # ||W|| as the forward pass read it, from the step's sweep
                with torch.no_grad():
                    value = ratio(norm(grad), self._norms.get(id(w)))
                for layer in layers:
                    layer.grad_ratio[-1] = value
            return None
        return hook

    def _updates(self, norms: dict) -> None:
        """The update ratios ||W - W_before|| / ||W_before|| of the optimizer step that followed
        the recorded step, from this step's sweep (``norms``: id -> (||W||, ||W_before - W||);
        IEEE subtraction is antisymmetric, so the norm is that of W - W_before): per weight
        tensor (once for tied modules), alerts in module order."""
        step, self._pending = self._pending, None
        low, high = self.update_band
        alerts = []
        for module, w in self._weights.items():
            layer = self._layers.get((module, 1))
            if layer is None or step not in layer.steps:
                continue
            value = ratio(norms[id(w)][1], self._norms.get(id(w)))
            if value is None:
                continue
            layer.update_ratio[layer.steps.index(step)] = value
            if not low <= value <= high:
                alerts.append(self._alert(step, "update ratio", layer.name, value, (
                    f"step {step}: the optimizer step changed {layer.name}'s weight by "
                    f"{value:.3g} of its norm, outside [{low:g}, {high:g}]"), warn=False))
        if alerts:
            _warn(_one_warning(alerts, (low, high)))

    def figure(self, layers=None):
        """The colorful-dimension heat maps and std-over-time curves (a matplotlib Figure)."""
        from initlab.plots.inspect import monitor_figure

        return monitor_figure(self.result, layers)
