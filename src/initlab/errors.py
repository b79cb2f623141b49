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
