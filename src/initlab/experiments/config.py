"""One description per experiment: a frozen dataclass of its options, and their checks.

Each experiment declares its options once, as the fields of a :class:`Config` subclass made
with :func:`option`: the type (from the annotation), the default, the help text, the valid
choices and the check. Everything else is generated from it: the command's argparse options
(:mod:`initlab.cli.options`), the TOML of ``initlab run`` and of sweep points
(:meth:`Config.from_dict` / :meth:`Config.to_toml`), ``--dump-config`` and the report's
"exact configuration". Values are stored immutable (lists as tuples) and checked when the
Config is made, whatever the source.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Demo(Config):
...     depth: int = option(10, "number of layers", check=at_least(1))
...     inits: tuple[str, ...] = option(("he",), "init specs")
>>> Demo.from_dict({"depth": 3, "inits": ["he", "lecun"]})
Demo(depth=3, inits=('he', 'lecun'))
>>> print(Demo(depth=3).to_toml(), end="")
depth = 3
inits = [
    "he",
]
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from pathlib import Path
from typing import ClassVar

from initlab.errors import MAX_SEED, InitlabError
from initlab.spec import split_specs

#: The key of a TOML file or sweep point that names the experiment.
EXPERIMENT_KEY = "experiment"


def option(default, help: str, *, check=None, choices=None, group: str | None = None,
           metavar: str | None = None, flag: str | None = None, short: str | None = None,
           parse=None, positional: bool = False):
    """A Config field: its default, help text, valid ``choices`` (or a callable giving them),
    a ``check(value)`` that returns an error text or None, the ``group`` of ``--help`` it is
    listed in, the ``metavar``, and the command-line ``flag`` (default ``--field-name``) with an
    optional ``short`` one. ``parse(text)``: the field's own syntax for a text value (command
    line or TOML string; e.g. ranges LO:HI:N; default: comma lists), raising ValueError;
    ``positional``: given on the command line without a flag (optional: absent, the default)."""
    meta = {"help": help, "check": check, "choices": choices, "group": group,
            "metavar": metavar, "flag": flag, "short": short, "parse": parse,
            "positional": positional}
    return dataclasses.field(default=default, metadata=meta)


# ---- checks: each returns None when the value is fine, else what is allowed ----------------

def at_least(low):
    """The value (or every value of a tuple) is >= ``low``."""
    def check(value):
        bad = [v for v in _values(value) if v < low]
        return f"every value must be >= {low}" if bad and isinstance(value, tuple) else (
            f"must be >= {low}" if bad else None)
    return check


def positive(value):
    """A finite number > 0 (or a tuple of them)."""
    if any(not (math.isfinite(v) and v > 0) for v in _values(value)):
        return "must be a finite number > 0"
    return None


def in_range(low, high, *, high_open: bool = False):
    """low <= value <= high (``< high`` with ``high_open``), for a number or every number."""
    def check(value):
        for v in _values(value):
            if not (math.isfinite(v) and low <= v and (v < high if high_open else v <= high)):
                return f"must be in [{low}, {high}{')' if high_open else ']'}"
        return None
    return check


def seed_check(value):
    """An integer seed in [0, 2**32 - 1]."""
    return None if 0 <= value <= MAX_SEED else f"must be an integer in [0, {MAX_SEED}]"


def nonempty(value):
    """A tuple with at least one value."""
    return None if len(value) else "needs at least one value"


def _values(value):
    return value if isinstance(value, tuple) else () if value is None else (value,)


# ---- the base class -------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Config:
    """Base of every experiment's options. Subclasses are frozen dataclasses whose fields are
    made with :func:`option`; they may set ``PRESETS`` (name -> values) and override
    :meth:`check` for rules that involve several fields."""

    PRESETS: ClassVar[dict[str, dict]] = {}

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = coerce(type(self), f, getattr(self, f.name), f"{f.name!r}")
            object.__setattr__(self, f.name, value)
        problem = self.check()
        if problem:
            raise InitlabError(problem)

    def check(self) -> str | None:
        """A rule across fields: None, or one sentence naming the values and what is allowed."""
        return None

    # -- from and to plain data --
    @classmethod
    def from_dict(cls, values: dict, source: str = "config", preset: str | None = None):
        """A Config from plain values (TOML, JSON, a sweep point): keys are field names
        (``-`` or ``_``), values are coerced and checked, a ``preset``'s values (the argument,
        or a ``preset`` key) sit under the given ones; an unknown key raises naming it and the
        valid keys. Errors start with ``source`` (where the values came from)."""
        names = cls.field_names()
        given = {}
        values = dict(values)
        if cls.PRESETS and "preset" in values:
            preset = values.pop("preset")
        for key, value in values.items():
            name = key.replace("-", "_")
            if name not in names:
                raise InitlabError(f"unknown key {key!r} in {source}; valid keys: "
                                   f"{', '.join(sorted(names))}")
            given[name] = value
        merged = {**cls.preset_values(preset), **given}
        try:
            return cls(**cls.adjust(given, merged))
        except InitlabError as exc:
            raise InitlabError(f"{source}: {exc}" if source else str(exc)) from None

    @classmethod
    def preset_values(cls, name: str | None) -> dict:
        """The values preset ``name`` sets (none for None); an unknown name raises."""
        if name is None:
            return {}
        if name not in cls.PRESETS:
            raise InitlabError(f"unknown preset {name!r}; valid: {', '.join(sorted(cls.PRESETS))}")
        return dict(cls.PRESETS[name])

    @classmethod
    def adjust(cls, given: dict, merged: dict) -> dict:
        """Hook: values that follow from what was given (e.g. ``--epochs`` given clears the
        preset's iterations). ``given`` holds only the explicit values."""
        return merged

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def flag(cls, name: str) -> str:
        """The command-line option of field ``name``: ``--field-name``, or the field's own
        ``flag`` (e.g. ``--range`` for ``hist_range``); an unknown name raises."""
        for f in dataclasses.fields(cls):
            if f.name == name:
                return f.metadata.get("flag") or "--" + f.name.replace("_", "-")
        raise InitlabError(f"{cls.__name__} has no option {name!r}; valid: "
                           f"{', '.join(cls.field_names())}")

    def to_dict(self) -> dict:
        """The values as plain data (tuples as lists, paths as text), None values included."""
        return {f.name: plain_value(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def to_toml(self, experiment: str | None = None) -> str:
        """The values as a TOML document (None values left out: they mean the default), with
        ``experiment = NAME`` first when given; :meth:`from_dict` reads it back."""
        import tomli_w

        doc = {EXPERIMENT_KEY: experiment} if experiment else {}
        doc.update({k: v for k, v in self.to_dict().items() if v is not None})
        return tomli_w.dumps(doc)

    def replace(self, **changes):
        """A copy with ``changes`` (checked like any new Config)."""
        return dataclasses.replace(self, **changes)


# ---- types ----------------------------------------------------------------------------------

def field_type(cls, f: dataclasses.Field) -> tuple[type, bool, type | None]:
    """(base type, optional, item type of a tuple) of Config class ``cls``'s field ``f``."""
    hint = _hints(cls)[f.name]
    optional = False
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional, hint = True, args[0]
    if typing.get_origin(hint) is tuple:
        return tuple, optional, typing.get_args(hint)[0]
    return hint, optional, None


@functools.cache
def _hints(cls) -> dict:
    return typing.get_type_hints(cls)


def parse_text(cls, f: dataclasses.Field, text: str):
    """A command-line text to the field's type (``10,5`` -> (10, 5); spec lists keep the
    commas inside parentheses); raises ValueError naming what was expected."""
    if f.metadata.get("parse"):  # the field's own syntax
        return f.metadata["parse"](text)
    base, _, item = field_type(cls, f)
    if base is tuple:
        parts = split_specs(text) if item is str else [t.strip() for t in text.split(",")]
        return tuple(_scalar(item, p) for p in parts)
    return _scalar(base, text)


def _scalar(kind: type, text):
    if kind is bool:
        if isinstance(text, bool):
            return text
        raise ValueError("expected true or false")
    if kind is int:
        if isinstance(text, bool) or (isinstance(text, float) and not text.is_integer()):
            raise ValueError(f"expected an integer, got {text!r}")
        try:
            return int(text)
        except (TypeError, ValueError):
            raise ValueError(f"expected an integer, got {text!r}") from None
    if kind is float:
        if isinstance(text, bool):
            raise ValueError(f"expected a number, got {text!r}")
        try:
            value = float(text)
        except (TypeError, ValueError):
            raise ValueError(f"expected a number, got {text!r}") from None
        if math.isnan(value):
            raise ValueError("expected a number, got NaN")
        return value
    if kind is Path:
        return Path(text)
    if kind is str:
        if not isinstance(text, str):
            raise ValueError(f"expected text, got {text!r}")
        return text
    return text


def coerce(cls, f: dataclasses.Field, value, where: str = ""):
    """``value`` in the field's type (lists to tuples, ints to floats, text to paths),
    checked against its choices and its check; raises InitlabError, prefixed with ``where``
    (e.g. the key and the file) when given."""
    base, optional, item = field_type(cls, f)
    try:
        if value is None:
            if not optional:
                raise ValueError("must be given (it has no 'none' value)")
            return None
        if base is tuple:
            if isinstance(value, str):
                value = parse_text(cls, f, value)
            elif not isinstance(value, list | tuple):
                value = (value,)
            value = tuple(_scalar(item, v) for v in value)
        else:
            value = _scalar(base, value)
        problem = _check_choices(f, value) or (f.metadata.get("check") or _fine)(value)
        if problem:
            raise ValueError(f"{problem}, got {plain_value(value)!r}")
    except InitlabError as exc:  # a validator's own sentence, naming the valid values
        raise InitlabError(f"{where}: {exc}" if where else str(exc)) from None
    except ValueError as exc:  # "must be ...": reads on from the option's name
        raise InitlabError(f"{where} {exc}".strip()) from None
    return value


def _fine(value) -> None:
    return None


def valid(validator):
    """A check from a validator that raises :class:`InitlabError` naming the valid values
    (``get_initializer``, ``get_activation``, ...), applied to every value of a tuple."""
    def check(value):
        for v in _values(value):
            validator(v)
        return None
    return check


def _check_choices(f: dataclasses.Field, value) -> str | None:
    choices = f.metadata.get("choices")
    if choices is None:
        return None
    valid = list(choices() if callable(choices) else choices)
    bad = [v for v in _values(value) if v not in valid]
    return f"must be one of {', '.join(map(str, valid))}" if bad else None


def plain_value(value):
    if isinstance(value, tuple):
        return [plain_value(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


__all__ = ["EXPERIMENT_KEY", "Config", "at_least", "coerce", "field_type", "in_range",
           "nonempty", "option", "parse_text", "plain_value", "positive", "seed_check", "valid"]
