"""Plots return Figures without touching pyplot, and draw from saved results."""

import sys

import numpy as np

from initlab.experiments.compare import run_compare
from initlab.plots.compare import accuracy_figure, boundary_figure, loss_figure


def test_plots_do_not_import_pyplot_and_redraw_from_saved_json(tmp_path):
    result = run_compare(["zeros", "he"], dataset="xor", layers=[4], seeds=2, iterations=30)
    path = result.save(tmp_path / "r.json")
    loaded = type(result).load(path)
    for make in (loss_figure, accuracy_figure, boundary_figure):
        fig = make(loaded)
        fig.savefig(tmp_path / f"{make.__name__}.png")
        assert (tmp_path / f"{make.__name__}.png").stat().st_size > 5000
        assert fig.axes and np.isfinite(fig.get_size_inches()).all()
    assert "matplotlib.pyplot" not in sys.modules
