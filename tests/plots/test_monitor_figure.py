"""The monitor's figure (histograms over training, std over training) laid out for the module
names of real models: a transformers module path is 40-60 characters."""

import numpy as np
import pytest
from plot_checks import check_layout

from initlab.plots.inspect import monitor_figure

# the figure needs no torch, but its result classes live beside the monitor, which does
pytest.importorskip("torch", reason="PyTorch is an optional extra (pip install torch)")
from initlab.torchbridge.monitoring import MonitoredLayer, MonitorResult  # noqa: E402


def _result(names) -> MonitorResult:
    rng = np.random.default_rng(0)
    result = MonitorResult(every=2, bins=10, steps=[0, 2, 4])
    for name in names:
        layer = MonitoredLayer(name=name, type="ReLU", steps=[0, 2, 4])
        for _ in layer.steps:
            layer.mean.append(0.5)
            layer.std.append(float(rng.uniform(0.5, 1.0)))
            layer.zero_fraction.append(0.5)
            layer.lo.append(0.0)
            layer.hi.append(3.0)
            layer.counts.append(rng.integers(0, 50, 10).tolist())
            layer.grad_ratio.append(None)
            layer.update_ratio.append(None)
        result.layers.append(layer)
    return result


@pytest.mark.parametrize("count", [1, 2, 4, 8])
def test_monitor_figure_with_long_module_names_keeps_every_text_apart(count):
    names = [f"encoder.stages.{i}.layers.0.layer.1.activation" for i in range(count)]
    check_layout(monitor_figure(_result(names)))
