"""What the training experiments share: their data, output layer and recording length.

Their statistics over seeds are :mod:`initlab.statistics`'. The number of training steps comes
from :func:`initlab.train.schedule`, the one place that turns iterations or epochs into steps.
"""

from __future__ import annotations

from initlab.data import Dataset, classic_dataset, load_dataset
from initlab.errors import InitlabError
from initlab.train import schedule


def get_dataset(dataset: str, *, classic: bool = False, seed: int = 0, **kwargs) -> Dataset:
    """The course's exact circles/moons when ``classic``, else :func:`load_dataset`."""
    if classic:
        extra = {k: v for k, v in kwargs.items() if v is not None}
        if extra:
            raise InitlabError(f"the course's fixed data sets take no {', '.join(extra)}")
        return classic_dataset(dataset)
    return load_dataset(dataset, seed=seed, **kwargs)


def output_layer(n_classes: int) -> tuple[int, str]:
    """(units, output) of the last layer: one sigmoid unit for 2 classes, else softmax."""
    return (1, "sigmoid") if n_classes == 2 else (n_classes, "softmax")


def record_every(n_train: int, iterations: int | None, epochs: int | None,
                 batch: int | None, points: int, replace: bool = False) -> int:
    """Steps between records so that a run of ``iterations`` or ``epochs`` has about
    ``points`` of them (the step count is :func:`initlab.train.schedule`'s)."""
    steps, _ = schedule(n_train, iterations, epochs, batch, replace)
    return max(1, steps // points)
