"""A small explorer built once for all explorer tests (2 activations x 6 inits x 2 widths x
2 norms; circles trained 600 steps with a frame every 10: 61 frames, as the full page has,
too many for uPlot to draw a line's points on its own; a 5 x 3 phase lattice for tanh and
relu, whose sigma_w^2 = 4 at sigma_b^2 = 0 gives tanh a c* the solver returns as ~1e-33
instead of 0)."""

import pytest

from initlab import __version__
from initlab.explore.atinit import axes, build_atinit
from initlab.explore.phase import build_phase
from initlab.explore.training import build_training

GRID = {"activations": ["tanh", "relu"], "stds": [0.01, 1.0], "widths": [16, 32]}
DEPTH = 4
PHASE = {"activations": ["tanh", "relu"], "depth": 12, "sw2": [0.5, 1.0, 1.5, 2.0, 4.0],
         "sb2": [0.0, 0.05, 0.1], "fine": (9, 5)}


@pytest.fixture(scope="session")
def small_data():
    grid = axes(GRID["activations"], GRID["stds"], GRID["widths"])
    return {"version": __version__, "atinit": build_atinit(grid, DEPTH),
            "training": build_training(("circles",), iterations=600, every=10, points=24),
            "phase": build_phase(**PHASE)}
