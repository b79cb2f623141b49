"""The bridge to your own PyTorch model: inspect it at initialization, re-initialize it, monitor it.

PyTorch is an optional extra (``pip install torch``); importing this package without
it raises an ImportError that says how to install it. Nothing else in initlab imports torch.

>>> import torch.nn as nn
>>> import initlab.torchbridge as it
>>> model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64))
>>> report = it.inspect(model, torch.randn(32, 64))        # doctest: +SKIP
>>> it.reinit(model, "he")                                  # doctest: +SKIP
>>> with it.monitor(model, every=10) as mon:               # doctest: +SKIP
...     train(model)
"""

from initlab.torchbridge.hooks import require_torch

torch = require_torch()

from initlab.torchbridge.demo import demo_cnn, demo_mlp  # noqa: E402
from initlab.torchbridge.inspect_results import InspectResult, LayerRow, ReinitResult  # noqa: E402
from initlab.torchbridge.inspection import inspect  # noqa: E402
from initlab.torchbridge.interpret_extrapolate import ExtrapolationResult, extrapolate  # noqa: E402
from initlab.torchbridge.match import match_init  # noqa: E402
from initlab.torchbridge.monitoring import MonitorAlert, MonitorResult, monitor  # noqa: E402
from initlab.torchbridge.reinitialize import reinit  # noqa: E402

__all__ = ["ExtrapolationResult", "InspectResult", "LayerRow", "MonitorAlert", "MonitorResult",
           "ReinitResult", "demo_cnn", "demo_mlp", "extrapolate", "inspect", "match_init",
           "monitor", "reinit"]
