"""The interactive explorer: one self-contained HTML page (``initlab explore``).

:func:`build_explorer` runs initlab's engine over a grid of settings (with and without
BatchNorm) and training runs, and the mean-field theory over a (sigma_w^2, sigma_b^2) lattice
(:mod:`initlab.explore.phase`), and returns the data; :func:`render` turns it into the page;
:func:`write_explorer` does both.
"""

from __future__ import annotations

from pathlib import Path

from initlab.errors import InitlabError
from initlab.explore.build import build_explorer, plan
from initlab.explore.page import render
from initlab.runtime.atomic import write_atomic


def write_explorer(out, quick: bool = False, **options) -> Path:
    """Build the data and write ``out/explore.html``; return its path.

    ``options``: widths, depth, per_decade, jobs, progress (see :func:`build_explorer`).
    The size budget is checked and ``out`` made writable before any computing starts.
    """
    out = Path(out)
    plan(quick, options.get("widths"), options.get("depth"), options.get("per_decade"))
    try:
        out.mkdir(parents=True, exist_ok=True)
        path = out / "explore.html"
        path.touch()
    except OSError as exc:
        raise InitlabError(f"cannot write to the output folder {str(out)!r}: {exc}") from None
    write_atomic(path, render(build_explorer(quick, **options)))
    return path


__all__ = ["build_explorer", "plan", "render", "write_explorer"]
