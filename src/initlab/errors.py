"""The one exception type for bad user input.

Every function that validates what a user passed raises :class:`InitlabError` with a message that
names the bad value and what is allowed. The command line turns it into one line on stderr and
exit code 2; from Python it is an ordinary ``ValueError``.
"""

import numbers


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
