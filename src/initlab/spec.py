"""Spec strings: ``name`` or ``name(positional, key=value, ...)``, parsed in one place.

Initializers (``he``, ``normal(0.01)``, ``kaiming_uniform(mode=fan_out, a=0.2)``), activations
(``leaky_relu(0.2)``) and optimizers (``adam(beta1=0.8)``) are all named this way. Values are
numbers, ``true``/``false``/``none``, quoted strings, or bare words (kept as strings). A list of
specs splits only at top-level commas: ``zeros,normal(10),he``.

>>> parse_spec("kaiming_uniform(fan_out, a=0.2)")
('kaiming_uniform', ('fan_out',), {'a': 0.2})
>>> split_specs("zeros, normal(10), uniform(-1, 1)")
['zeros', 'normal(10)', 'uniform(-1, 1)']
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping

from initlab.errors import InitlabError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_WORDS = {"true": True, "false": False, "none": None, "inf": float("inf"), "-inf": float("-inf")}


def split_specs(text: str) -> list[str]:
    """Split a comma-separated list of specs at top-level commas (not inside parentheses)."""
    if not isinstance(text, str):
        raise InitlabError(f"expected a comma-separated string of specs, got {text!r}")
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise InitlabError(f"unbalanced ')' at position {i} in {text!r}")
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    if depth != 0:
        raise InitlabError(f"unbalanced '(' in {text!r}")
    parts.append(text[start:].strip())
    if any(not p for p in parts):
        raise InitlabError(f"empty entry in the list {text!r}")
    return parts


def _value(token: str, spec: str):
    token = token.strip()
    if not token:
        raise InitlabError(f"empty argument in {spec!r}")
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "'\"":
        return token[1:-1]
    low = token.lower()
    if low in _WORDS:
        return _WORDS[low]
    try:
        return int(token)
    except ValueError:
        pass
    try:
        return float(token)
    except ValueError:
        pass
    if _NAME.match(token):
        return token
    raise InitlabError(f"cannot read the value {token!r} in {spec!r}: use a number or a word")


def parse_spec(spec: str) -> tuple[str, tuple, dict]:
    """Parse ``name(args)`` into ``(name, positional args, keyword args)``."""
    if not isinstance(spec, str):
        raise InitlabError(f"a spec must be a string, got {spec!r}")
    text = spec.strip()
    m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$", text, re.S)
    if not m:
        raise InitlabError(f"malformed spec {spec!r}; expected name or name(arg, key=value)")
    name, inner = m.group(1).lower(), m.group(2)
    args, kwargs = [], {}
    if inner is not None and inner.strip():
        if "(" in inner or ")" in inner:
            raise InitlabError(f"malformed spec {spec!r}: nested parentheses are not allowed")
        for part in split_specs(inner):
            if "=" in part:
                key, _, val = part.partition("=")
                key = key.strip()
                if not _NAME.match(key):
                    raise InitlabError(f"bad parameter name {key!r} in {spec!r}")
                if key in kwargs:
                    raise InitlabError(f"parameter {key!r} given twice in {spec!r}")
                kwargs[key] = _value(val, spec)
            else:
                if kwargs:
                    raise InitlabError(f"positional argument after keyword argument in {spec!r}")
                args.append(_value(part, spec))
    return name, tuple(args), kwargs


def lookup(registry: Mapping[str, Callable], name: str, what: str) -> Callable:
    """Return ``registry[name]`` or raise an error listing the valid names."""
    try:
        return registry[name]
    except KeyError:
        valid = ", ".join(sorted(registry))
        raise InitlabError(f"unknown {what} {name!r}; valid: {valid}") from None


def bind(func: Callable, args: tuple, kwargs: dict, skip: int, spec: str) -> dict:
    """Bind spec arguments to ``func``'s parameters after its first ``skip`` ones.

    Returns the keyword arguments to call ``func`` with; raises naming the valid parameters.
    """
    params = list(inspect.signature(func).parameters.values())[skip:]
    sig = inspect.Signature(params)
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError as exc:
        valid = ", ".join(p.name for p in params if p.name != "dtype") or "(none)"
        raise InitlabError(
            f"bad parameters in {spec!r} ({exc}); valid parameters: {valid}") from None
    return dict(bound.arguments)
