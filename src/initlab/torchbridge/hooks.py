"""What inspect and monitor share: the torch import, leaf modules, output tensors, statistics.

Statistics are reduced in the tensor's own dtype (half precision in float32) with torch's
cascade summation and pooled in Python floats (:class:`Moments`), so they equal ``t.mean()``,
``t.std()`` (Bessel-corrected, as torch's default) of the same tensor to float32 precision.
Saturated outputs use the same thresholds as ``initlab activations``: |tanh| > 0.99,
sigmoid < 0.01 or > 0.99 (where the derivative is below about 0.02).
"""

from __future__ import annotations

import math

INSTALL = "PyTorch is not installed; install it with: pip install torch"


def require_torch():
    """Import and return torch, or raise an ImportError saying how to install it."""
    try:
        import torch
    except ImportError:
        raise ImportError(INSTALL) from None
    return torch


torch = require_torch()
nn = torch.nn

#: Bounded activations and the test for an output on their flat ends.
SATURATION = {
    nn.Tanh: lambda y: y.abs() > 0.99,
    nn.Sigmoid: lambda y: (y < 0.01) | (y > 0.99),
}
#: Activations whose zero output means a dead unit (zero gradient through it).
RECTIFIERS = (nn.ReLU, nn.ReLU6)


def leaf_modules(model) -> list[tuple[str, object]]:
    """(qualified name, module) of every module without children (the model itself if it has
    none), in registration order; a module registered twice appears once."""
    seen, leaves = set(), []
    for name, module in model.named_modules():
        if next(module.children(), None) is None and id(module) not in seen:
            seen.add(id(module))
            leaves.append((name or type(module).__name__, module))
    return leaves


def first_tensor(value):
    """The first floating-point tensor in a module's output (a tensor, tuple, list or dict)."""
    if isinstance(value, torch.Tensor):
        return value if value.is_floating_point() else None
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        for v in value:
            t = first_tensor(v)
            if t is not None:
                return t
    return None


def floating_tensors(value) -> list:
    """Every floating-point tensor in a (nested) output."""
    if isinstance(value, torch.Tensor):
        return [value] if value.is_floating_point() else []
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in floating_tensors(v)]
    return []


class Moments:
    """Running count, mean and sum of squared deviations, pooled over calls or seeds.

    Each tensor is reduced in its own dtype with torch's cascade summation (no float64 copy:
    a float64 copy of a 38M-entry embedding gradient alone is 300 MB and 30x slower): its mean,
    then the squared norm of its deviations from it (no cancellation when the mean is far
    larger than the std); tensors are combined in Python floats by Chan, Golub & LeVeque's
    pairwise update (1979, "Updating formulae and a pairwise algorithm for computing sample
    variances").
    """

    def __init__(self):
        self.n, self._mean, self.m2 = 0, 0.0, 0.0

    def add(self, t, scratch=None) -> None:
        """Pool the values of tensor ``t``; ``scratch``: a writable tensor of t's shape, dtype
        and layout to hold the deviations (a float16/bfloat16 ``t`` ignores it)."""
        t = t.detach()
        if not t.is_floating_point() or t.dtype in (torch.float16, torch.bfloat16):
            t = t.float()
        n = t.numel()
        if n == 0:
            return
        mean = float(t.mean())
        deviations = t - mean if scratch is None or scratch.dtype != t.dtype else \
            torch.sub(t, mean, out=scratch)
        m2 = float(torch.linalg.vector_norm(deviations)) ** 2
        self.merge_values(n, mean, m2)

    def merge_values(self, n: int, mean: float, m2: float) -> None:
        total = self.n + n
        delta = mean - self._mean
        self.m2 += m2 + delta * delta * self.n * n / total
        self._mean += delta * n / total
        self.n = total

    def merge(self, other: Moments) -> None:
        """Pool ``other``'s values into these."""
        if other.n:
            self.merge_values(other.n, other._mean, other.m2)

    @property
    def mean(self) -> float | None:
        return self._mean if self.n else None

    @property
    def std(self) -> float | None:
        """Bessel-corrected, like ``torch.Tensor.std()``; None for fewer than 2 values."""
        if self.n < 2:
            return None
        return math.sqrt(max(self.m2 / (self.n - 1), 0.0))


def features_last(module, after: bool | None) -> bool:
    """Whether ``module``'s output has its units on the last dim: a weight of 2 dims (Linear,
    an embedding, transformers' Conv1D) says yes, one of more (a conv) no; a module without
    one (an activation, a BatchNorm, dropout) keeps ``after``, the layout of the call that
    produced its input, or of the call before it where the tracer does not know the producer
    (an input that is no float tensor's descendant: token ids); None: channels first."""
    w = getattr(module, "weight", None)
    if isinstance(w, torch.Tensor) and w.dim() >= 2:
        return w.dim() == 2
    return bool(after)


def zeros_and_dead(y, rectifier: bool, features_last: bool = False
                   ) -> tuple[int, float | None]:
    """(entries exactly zero, fraction of dead units) of output ``y``; the second None unless
    ``rectifier`` (only a rectifier's zero output means a dead unit, zero gradient through it)
    and y has 2 or more dims.

    A unit is dead when it outputs exactly zero for the whole batch. y : (N, features) - a unit
    is a feature; (N, C, *spatial) - a unit is a channel; with ``features_last`` (a
    transformer's (N, tokens, features), after a Linear) a unit is a feature of the last dim.
    Dead: zero at every position of every example, when the largest |value| of the unit is
    zero (NaN, being nonzero,
    propagates through abs and max). Zeros are counted on ``y.bool()``: ``count_nonzero`` of a
    float tensor branches on each value on CPU and runs 5-20x slower on a half-zero tensor (a
    ReLU's output), and a per-unit count (a sum of bools) slower still; the per-unit max runs
    over the contiguous positions first, then the examples (a reduction over dims (0, 2, 3)
    at once is 2-5x slower where the positions are few, as in ResNet's last stages).
    """
    y = y.detach()
    zeros = y.numel() - int(torch.count_nonzero(y.bool()))
    if not rectifier or y.dim() < 2:
        return zeros, None
    if y.numel() == 0:
        alive = (y != 0).any(dim=0).reshape(y.shape[1], -1).any(dim=1)
    elif y.dim() == 2:
        alive = (y.amax(dim=0) != 0) | (y.amin(dim=0) != 0)
    elif features_last:
        alive = y.abs().reshape(-1, y.shape[-1]).amax(dim=0) != 0
    else:
        alive = y.abs().reshape(y.shape[0], y.shape[1], -1).amax(dim=2).amax(dim=0) != 0
    return zeros, 1.0 - float(alive.double().mean())
