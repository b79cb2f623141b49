"""The one exception type for bad user input.

Every function that validates what a user passed raises :class:`InitlabError` with a message that
names the bad value and what is allowed. The command line turns it into one line on stderr and
exit code 2; from Python it is an ordinary ``ValueError``.
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


class InitlabError(ValueError):
    """Bad input: the message names the bad value and the valid choices."""


def check_positive_int(value, name: str) -> int:
    """Return ``value`` as an int, or raise naming ``name`` unless it is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise InitlabError(f"{name} must be a positive integer, got {value}")
    return value


def choose(value: str, choices, what: str) -> str:
    """Return ``value`` if it is one of ``choices``, else raise listing them."""
    if value not in choices:
        valid = ", ".join(sorted(choices))
        raise InitlabError(f"unknown {what} {value!r}; valid: {valid}")
    return value


def check_number(value, name: str, low: float = -math.inf, high: float = math.inf,
                 low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as a float, or raise unless it is a finite real number in the interval
    from ``low`` to ``high`` (each end closed unless ``low_open``/``high_open``)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    ok = ok and math.isfinite(value)
    ok = ok and (value > low if low_open else value >= low)
    ok = ok and (value < high if high_open else value <= high)
    if not ok:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        raise InitlabError(f"{name} must be a number in {left}{low}, {high}{right}, "
                           f"got {value!r}")
    return float(value)


def check_float_dtype(dtype) -> np.dtype:
    """Return ``dtype`` as a NumPy dtype if it is float32 or float64, else raise naming it."""
    import numpy as np  # here, not at the top: ``initlab --help`` needs no NumPy

    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise InitlabError(f"dtype must be float32 or float64, got {dtype!r}")
    return dt


#: Seeds are 32-bit: NumPy's legacy ``RandomState`` takes nothing larger.
MAX_SEED = 2**32 - 1


def check_seed(value, name: str = "seed", count: int = 1) -> int:
    """Return ``value`` if it and the ``count - 1`` seeds after it lie in [0, 2**32 - 1]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InitlabError(f"{name} must be an integer in [0, {MAX_SEED}], got {value!r}")
    if value < 0 or value + count - 1 > MAX_SEED:
        span = f" (it and the {count - 1} seeds after it)" if count > 1 else ""
        raise InitlabError(f"{name} must lie in [0, {MAX_SEED}]{span}, got {value}")
    return int(value)
