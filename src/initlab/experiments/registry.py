"""The experiments by name, and the protocol every experiment follows.

An experiment is described once: :class:`Experiment` holds its Config class (every option),
``run(config, progress) -> Result``, ``figures(result) -> {stem: Figure}`` and
``estimate(config) -> Estimate`` (memory and time from the sizes, checked before any work).
The command line, ``initlab run``, sweeps and the report all find experiments here and go
through these four; none of them describes an option again.

Each experiment's module defines ``EXPERIMENT``; :data:`MODULES` names the modules, which
are imported only when their experiment is asked for (``initlab --help`` stays fast).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from initlab.errors import InitlabError

#: experiment name -> the module that defines its ``EXPERIMENT``
MODULES = {
    "compare": "initlab.experiments.compare",
    "activations": "initlab.experiments.activations",
    "propagate": "initlab.experiments.propagate",
    "regularize": "initlab.experiments.regularize",
    "normalize": "initlab.experiments.normalize",
    "reproduce": "initlab.experiments.classic",
    "residual": "initlab.experiments.residual",
    "width-coordcheck": "initlab.experiments.width_coordcheck",
    "width-transfer": "initlab.experiments.width_transfer",
}


@dataclass(frozen=True)
class Experiment:
    """One experiment: its name, its options and the four steps every front end calls.

    ``run(config=, progress=)`` computes (``progress``: show progress on stderr; front ends
    call it through :meth:`execute`), ``figures`` draws a result (no computing), ``estimate``
    gives the :class:`~initlab.runtime.budget.Estimate` of a Config's run (None: too small to
    matter). ``jobs`` says whether ``run`` accepts ``jobs=N`` (processes; the same numbers
    whatever N).
    """

    name: str
    config: type
    run: Callable
    figures: Callable
    estimate: Callable
    jobs: bool = False

    def execute(self, config, progress: bool = False, jobs: int | None = 1):
        """Run ``config``; ``jobs`` processes where the experiment uses them (None: as many
        as the machine's cores allow), else ignored."""
        extra = {"jobs": jobs} if self.jobs else {}
        return self.run(config=config, progress=progress, **extra)


def names() -> list[str]:
    """The registered experiments' names."""
    return list(MODULES)


def get(name: str) -> Experiment:
    """The experiment called ``name``; an unknown name raises listing the valid ones."""
    if name not in MODULES:
        raise InitlabError(f"unknown experiment {name!r}; valid: {', '.join(MODULES)}")
    return importlib.import_module(MODULES[name]).EXPERIMENT


__all__ = ["MODULES", "Experiment", "get", "names"]
