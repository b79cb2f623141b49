"""Estimates of the memory and time a run needs, checked before it starts.

An :class:`Estimate` comes from the sizes alone (nothing is allocated or trained to get it).
:func:`check` refuses, with the estimate and the limit in the message, a run that needs more
memory than the machine has available now, or more time than :data:`TIME_BUDGET`; the
command line's ``--force`` skips it. The estimates aim at the right order of magnitude (the
time model was fitted on a 2-core machine, within about a factor of 3 for the built-in
workloads), which is what "this cannot finish" needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from initlab.errors import InitlabError
from initlab.runtime.cores import available_memory

TIME_BUDGET = 3600.0  # seconds a run may be expected to take without --force
FLOPS = 2e9  # sustained floating-point operations per second assumed for small matmuls
STEP_OVERHEAD = 2e-5  # seconds of Python and NumPy call overhead per layer and step
DRAW = 1e-8  # seconds to draw one random number


@dataclass
class Estimate:
    """What a run is expected to need: ``memory`` in bytes, ``seconds``, and ``what`` runs."""

    memory: float
    seconds: float
    what: str


def _size(n: float) -> str:
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n / 2**10:,.0f} KiB"


def _time(seconds: float) -> str:
    if seconds >= 86400 * 365:
        return f"{seconds / (86400 * 365):,.0f} years"
    for unit, scale in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= scale:
            return f"{seconds / scale:,.1f} {unit}"
    return f"{seconds:.0f} s"


def check(estimate: Estimate, memory: int | None = None, budget: float = TIME_BUDGET) -> None:
    """Raise :class:`InitlabError` when ``estimate`` exceeds the memory or the time budget.

    ``memory`` defaults to :func:`available_memory` (no memory check where it is unknown).
    """
    memory = available_memory() if memory is None else memory
    if memory is not None and estimate.memory > memory:
        raise InitlabError(f"{estimate.what} needs about {_size(estimate.memory)} of memory, "
                           f"but only {_size(memory)} is available; use smaller sizes "
                           "(or --force to try anyway)")
    if estimate.seconds > budget:
        raise InitlabError(f"{estimate.what} would take about {_time(estimate.seconds)} "
                           f"(limit {_time(budget)}); use smaller sizes or --force")


def mlp_training(sizes, replicas: int, n_train: int, n_test: int, batch: int | None,
                 steps: int, records: int, itemsize: int = 4, what: str = "training") -> Estimate:
    """Training ``replicas`` MLPs of layer ``sizes`` for ``steps`` steps.

    Per step: forward 2 P B and backward 4 P B flops (P weights per replica, B the batch);
    per record: a forward pass over the train and test sets. Memory: parameters with their
    gradients and two optimizer buffers, and the activations of the largest pass.
    """
    weights = sum(o * i + o for i, o in zip(sizes[:-1], sizes[1:], strict=False))
    b = min(batch or n_train, n_train)
    flops = replicas * weights * (6 * b * steps + 2 * (n_train + n_test) * records)
    seconds = flops / FLOPS + STEP_OVERHEAD * steps * (len(sizes) - 1) * 3
    widest = replicas * max(b, n_train, n_test) * sum(sizes)
    memory = itemsize * (4 * replicas * weights + 3 * widest) + 8 * (n_train + n_test) * sizes[0]
    return Estimate(memory, seconds, what)


def tensor_draw(n_entries: int, itemsize: int, whole_matrix: tuple[int, int] | None = None,
                what: str = "drawing the tensor") -> Estimate:
    """Drawing one tensor of ``n_entries`` (float64 draws, a few temporaries); with
    ``whole_matrix`` (rows, cols) a QR decomposition of it as orthogonal init needs."""
    memory = n_entries * (2 * 8 + itemsize)
    seconds = n_entries * DRAW
    if whole_matrix is not None:
        big, small = max(whole_matrix), min(whole_matrix)
        memory += 3 * 8 * big * small
        seconds += 4 * big * small**2 / FLOPS
    return Estimate(memory, seconds, what)


def stats_at_init(sizes, batch: int, nets: int, activations: int, grad: bool,
                  memory: float, what: str) -> Estimate:
    """The activations study: every weight drawn (twice with gradients) and multiplied, the
    calls' overhead per layer, activation and pass (what tiny nets cost: 2 x 2 units, 36 us
    per layer and pass measured), and ``memory`` plus each net's per-layer statistics, kept
    for the spread between seeds (:data:`SEED_BYTES`)."""
    weights = sum(o * i for i, o in zip(sizes[:-1], sizes[1:], strict=False))
    passes, layers = (2 if grad else 1), len(sizes) - 1
    seconds = nets * passes * (weights * DRAW + 2 * activations * batch * weights / FLOPS
                               + 3 * STEP_OVERHEAD * activations * layers)
    return Estimate(memory + nets * activations * layers * SEED_BYTES, seconds, what)


#: Bytes each net keeps per layer and activation until the end of the activations study (its
#: moments per seed, for the spread between seeds; ~400 measured with tracemalloc)
SEED_BYTES = 512


def steps_of(n_train: int, iterations: int | None, epochs: int | None, batch: int | None,
             default: int = 1000) -> int:
    """Training steps: ``iterations``, or ``epochs`` passes of ceil(N / batch) steps."""
    if iterations is not None:
        return iterations
    if epochs is not None:
        return epochs * math.ceil(n_train / min(batch or n_train, n_train))
    return default


__all__ = ["Estimate", "TIME_BUDGET", "available_memory", "check", "mlp_training",
           "stats_at_init", "steps_of", "tensor_draw"]
