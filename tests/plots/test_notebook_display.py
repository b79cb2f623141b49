"""In a notebook, with no ``%matplotlib inline``: initlab's figures display as PNG images and
its results as HTML tables; the user's own matplotlib figures are left as they were."""

from __future__ import annotations

import base64
import struct
import subprocess
import sys
import time

import pytest

formatters = pytest.importorskip("IPython.core.formatters", reason="IPython is not installed")


def _fig():
    from initlab.plots.common import figure, fit

    fig = figure(3.0, 2.0)
    fig.add_subplot().plot([0, 1], [1, 0])
    return fit(fig)


def _png(data: dict) -> bytes:
    """The PNG of a display bundle (bytes, or base64 text as IPython's own printer gives)."""
    png = data["image/png"]
    return png if isinstance(png, bytes) else base64.b64decode(png)


def test_a_figure_formats_as_png_at_its_dpi():
    fig = _fig()
    png = _png(formatters.DisplayFormatter().format(fig)[0])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (round(3.0 * fig.dpi), round(2.0 * fig.dpi))


def test_the_plot_functions_figures_format_as_png():
    from initlab.experiments.compare import run_compare
    from initlab.plots.compare import boundary_figure, loss_figure

    result = run_compare(["he"], dataset="moons", seeds=1, iterations=5, n_samples=40)
    for fig in (loss_figure(result), boundary_figure(result)):
        assert "image/png" in formatters.DisplayFormatter().format(fig)[0]
    data, _ = formatters.DisplayFormatter().format(result)
    assert "<table>" in data["text/html"] and "he" in data["text/html"]


def test_the_users_own_figures_are_left_alone():
    from matplotlib.figure import Figure

    _fig()  # initlab imported and used: nothing registered for other figures
    assert "image/png" not in formatters.DisplayFormatter().format(Figure())[0]


INLINE = """
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.pylabtools import select_figure_formats
from initlab.plots.common import figure, fit

shell = InteractiveShell.instance()
select_figure_formats(shell, {"png"})  # what %matplotlib inline does (it imports pyplot)
fig = figure(3.0, 2.0)
fig.add_subplot().plot([0, 1])
data, _ = shell.display_formatter.format(fit(fig))
print(sorted(k for k in data if k.startswith("image/")), type(data["image/png"]).__name__)
"""


def test_one_image_where_the_inline_backend_is_on_too():
    """``%matplotlib inline`` registers IPython's PNG printer for every Figure: it then draws
    initlab's figures, once (in a child process: it imports pyplot, which initlab never does
    and tests/test_plots.py checks)."""
    done = subprocess.run([sys.executable, "-c", INLINE], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    # IPython's own printer gives base64 text, initlab's _repr_png_ bytes: the printer won
    assert done.stdout.split() == ["['image/png']", "str"], done.stdout


NOTEBOOK = [
    "from initlab.experiments.compare import run_compare\n"
    "from initlab.plots.compare import loss_figure\n"
    "result = run_compare(['he'], dataset='moons', seeds=1, iterations=5, n_samples=40)\n"
    "result",
    "loss_figure(result)",
]


def test_nbconvert_execute_shows_the_figure_without_magic(tmp_path):
    """What the README promises, run as ``jupyter nbconvert --execute`` runs it."""
    nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed")
    nbclient = pytest.importorskip("nbclient", reason="nbclient (nbconvert) is not installed")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in NOTEBOOK])
    start = time.perf_counter()
    try:
        nbclient.NotebookClient(nb, timeout=60, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp_path)}}).execute()
    except RuntimeError as exc:  # no kernel could start here (a sandbox without sockets, ...)
        pytest.skip(f"a Jupyter kernel did not start: {exc}")
    table, figure = (cell.outputs for cell in nb.cells)
    assert "text/html" in table[0]["data"] and "<table>" in table[0]["data"]["text/html"]
    assert "image/png" in figure[0]["data"], figure
    assert time.perf_counter() - start < 60
