"""``monitor``: per-layer output statistics recorded during your own training loop.

Like fastai's ``ActivationStats`` and timm's ``ActivationStatsHook``: a forward hook on every
leaf module (or the ones named) records, at every ``every``-th training forward pass of the
model (counted by a pre-hook on the model; passes in eval mode are not counted), each output's
mean, std, fraction exactly zero and a histogram on fixed bins. Between recorded steps a hook
does one comparison and returns, so the overhead is negligible. The bins of a module are set at
its first recording: [mean - 4 std, mean + 4 std] (from 0 when no value is negative), values
outside are counted as below/above. ``mon.figure()`` draws fastai's "colorful dimension" heat
map (log of the histogram counts against the step, one panel per module) and the std over time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from initlab.errors import InitlabError, check_positive_int
from initlab.results import Result
from initlab.torchbridge.hooks import first_tensor, leaf_modules, torch


@dataclass
class MonitoredLayer(Result):
    """One module's statistics at each recorded step; counts: (steps, bins) over ``edges``."""

    name: str
    type: str
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    zero_fraction: list[float] = field(default_factory=list)
    edges: list[float] = field(default_factory=list, metadata={"detail": True})
    counts: list[list[int]] = field(default_factory=list, metadata={"detail": True})
    below: list[int] = field(default_factory=list, metadata={"detail": True})
    above: list[int] = field(default_factory=list, metadata={"detail": True})


@dataclass
class MonitorResult(Result):
    """The steps recorded (training forward passes, counted from 0) and each module's series."""

    every: int
    bins: int
    steps: list[int] = field(default_factory=list)
    layers: list[MonitoredLayer] = field(default_factory=list)

    def table(self):
        header = ["module", "type", "first std", "last std", "last zero"]
        rows = [[m.name, m.type, m.std[0] if m.std else None, m.std[-1] if m.std else None,
                 m.zero_fraction[-1] if m.zero_fraction else None] for m in self.layers]
        return header, rows


class monitor:  # noqa: N801 - used as a function: ``with monitor(model) as mon``
    """Record per-layer output statistics every ``every`` training steps.

    Args:
        model: a ``torch.nn.Module`` (its leaf modules are watched).
        every: record at training forward passes 0, every, 2 every, ...
        bins: histogram bins per recording.
        modules: names of the modules to watch (default: every leaf module).

    >>> with monitor(model, every=10) as mon:        # doctest: +SKIP
    ...     for x, y in data: step(model, x, y)
    >>> mon.result.save("stats.json"); mon.figure()  # doctest: +SKIP
    """

    def __init__(self, model, every: int = 10, bins: int = 40, modules=None):
        if not isinstance(model, torch.nn.Module):
            raise InitlabError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.model = model
        self.every = check_positive_int(every, "every")
        check_positive_int(bins, "bins")
        leaves = leaf_modules(model)
        if modules is not None:
            known = {n for n, _ in leaves}
            unknown = [n for n in modules if n not in known]
            if unknown:
                raise InitlabError(f"unknown modules {unknown}; valid: {', '.join(sorted(known))}")
            leaves = [(n, m) for n, m in leaves if n in set(modules)]
        self._watched = leaves
        self.result = MonitorResult(every=self.every, bins=bins, layers=[
            MonitoredLayer(name=n, type=type(m).__name__) for n, m in leaves])
        self._step = -1
        self._recording = False
        self._handles: list = []

    def __enter__(self):
        self._handles.append(self.model.register_forward_pre_hook(self._count))
        for (_, module), layer in zip(self._watched, self.result.layers, strict=True):
            self._handles.append(module.register_forward_hook(self._hook(layer)))
        return self

    def __exit__(self, *exc):
        for h in self._handles:
            h.remove()
        self._handles.clear()
        return False

    def _count(self, module, args):
        self._recording = False
        if module.training:
            self._step += 1
            self._recording = self._step % self.every == 0
            if self._recording:
                self.result.steps.append(self._step)

    def _hook(self, layer: MonitoredLayer):
        def record(module, args, output):
            if not self._recording:
                return
            y = first_tensor(output)
            if y is None or len(layer.std) == len(self.result.steps):
                return  # not a tensor, or a module called twice in one step: first call counts
            with torch.no_grad():
                y = y.detach().flatten()
                y = y if y.dtype in (torch.float32, torch.float64) else y.float()
                std, mean = (float(v) for v in torch.std_mean(y)) if y.numel() > 1 else \
                    (0.0, float(y.mean()))
                if not layer.edges:
                    lo = 0.0 if float(y.min()) >= 0 else mean - 4 * std
                    hi = mean + 4 * std if std > 0 else mean + 1.0
                    layer.edges = torch.linspace(lo, hi, self.result.bins + 1).tolist()
                lo, hi = layer.edges[0], layer.edges[-1]
                counts = torch.histc(y, bins=self.result.bins, min=lo, max=hi).tolist()
                below = int((y < lo).sum())
                layer.mean.append(mean)
                layer.std.append(std)
                layer.zero_fraction.append(float((y == 0).sum()) / y.numel())
                layer.counts.append([int(c) for c in counts])
                layer.below.append(below)
                layer.above.append(y.numel() - below - int(sum(counts)))
        return record

    def figure(self, layers=None):
        """The colorful-dimension heat maps and std-over-time curves (a matplotlib Figure)."""
        from initlab.plots.inspect import monitor_figure

        return monitor_figure(self.result, layers)
