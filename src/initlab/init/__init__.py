"""Weight initializers with the exact semantics of ``torch.nn.init`` and Keras' initializers.

Every initializer is a pure function ``f(shape, rng, *params, dtype=float64) -> ndarray``.
``shape`` uses PyTorch's layout ``(out, in, *kernel)``; ``rng`` is a ``numpy.random.Generator``
or a legacy ``numpy.random.RandomState`` (an int seeds a new Generator). Each scheme is a
*law* (fan -> gain -> std) that one sampler draws from, so the same law also answers
:func:`describe` (fans, gain, the exact std of what is drawn, bound) without drawing.

The package: :mod:`~initlab.init.fans` (fans, gains), :mod:`~initlab.init.laws` (laws,
sampling, exact moments), :mod:`~initlab.init.schemes` (the formulas) and
:mod:`~initlab.init.registry` (names, spec strings, :func:`get`).

Naming trap: the deep-learning course and *Deep Learning from Scratch* call ``sqrt(1 / fan_in)``
"Xavier". That is LeCun's formula (``lecun`` here). Glorot & Bengio's Xavier is
``sqrt(2 / (fan_in + fan_out))`` (``xavier``/``glorot`` here, as in PyTorch and Keras).

>>> w = get_initializer("kaiming_uniform(mode=fan_out)")((64, 32, 3, 3), rng=0)
>>> w.shape
(64, 32, 3, 3)
>>> get("kaiming_uniform", mode="fan_out")((64, 32, 3, 3), rng=0).shape
(64, 32, 3, 3)
"""

from initlab.init import schemes
from initlab.init.fans import MODES, calculate_gain, check_shape, fans
from initlab.init.laws import KERAS_TRUNCATION, Law
from initlab.init.registry import (
    ALIASES,
    BIAS_LAWS,
    INITIALIZERS,
    Initializer,
    catalogue,
    describe,
    formula,
    get,
    get_initializer,
)
from initlab.init.schemes import DISTRIBUTIONS
from initlab.rng import as_rng

__all__ = ["ALIASES", "BIAS_LAWS", "DISTRIBUTIONS", "INITIALIZERS", "KERAS_TRUNCATION", "MODES",
           "Initializer", "Law", "as_rng", "calculate_gain", "catalogue", "check_shape",
           "describe", "fans", "formula", "get", "get_initializer", "schemes"]
