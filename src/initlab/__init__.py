"""initlab: a NumPy laboratory for neural-network weight initialization.

>>> from initlab import mlp, fit
>>> model = mlp([2, 10, 5, 1], init=["zeros", "normal(10)", "he"], seed=0)   # 3 replicas

The names below are imported on first use (PEP 562), so ``import initlab`` and the command
line's start-up load only what they use.
"""

from __future__ import annotations

import importlib

#: Public name -> the module that defines it.
_SOURCES = {
    "InitlabError": "initlab.errors",
    "accuracy": "initlab.train",
    "calculate_gain": "initlab.init",
    "describe": "initlab.init",
    "fans": "initlab.init",
    "fit": "initlab.train",
    "get_initializer": "initlab.init",
    "mlp": "initlab.nn.model",
}

__all__ = ["InitlabError", "__version__", "accuracy", "calculate_gain", "describe", "fans",
           "fit", "get_initializer", "mlp"]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # ~50 ms: only when asked

    try:
        return version("initlab")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0+unknown"


def __getattr__(name: str):
    if name == "__version__":
        value = _version()
    elif name in _SOURCES:
        value = getattr(importlib.import_module(_SOURCES[name]), name)
    else:
        raise AttributeError(f"module 'initlab' has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
