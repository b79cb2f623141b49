"""A small explorer built once for all explorer tests (2 activations x 3 inits x 2 widths)."""

import pytest

from initlab import __version__
from initlab.explore.atinit import axes, build_atinit
from initlab.explore.training import build_training

GRID = {"activations": ["tanh", "relu"], "stds": [0.01, 1.0], "widths": [16, 32]}
DEPTH = 4


@pytest.fixture(scope="session")
def small_data():
    grid = axes(GRID["activations"], GRID["stds"], GRID["widths"])
    return {"version": __version__, "atinit": build_atinit(grid, DEPTH),
            "training": build_training(("circles",), iterations=600, every=50, points=24)}
