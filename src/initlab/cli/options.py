"""A command's argparse options, generated from its experiment's Config.

Every field of the Config becomes ``--field-name`` (or the field's ``flag``; a ``positional``
field: an optional positional argument), typed, checked and documented by the field itself;
booleans become ``--name/--no-name`` (``--no-name`` alone for a field ``no_name``, as argparse
would read ``--no-name`` as false). Options the user
did not give are absent from the parsed namespace (argparse's SUPPRESS), so
:func:`config_from_args` knows exactly what was given: given values over the preset's over
the defaults.
"""

from __future__ import annotations

import argparse
import dataclasses

from initlab.errors import InitlabError
from initlab.experiments.config import Config, coerce, field_type, parse_text, plain_value


def add_config_arguments(parser, cls: type[Config]) -> None:
    """Add one option per field of ``cls`` to ``parser`` (in the fields' ``--help`` groups),
    and ``--preset`` where ``cls`` has presets."""
    if cls.PRESETS:
        parser.add_argument("--preset", choices=sorted(cls.PRESETS), default=argparse.SUPPRESS,
                            help="start from a preset; options given override its values")
    groups = {}
    for f in dataclasses.fields(cls):
        name = f.metadata.get("group")
        if name and name not in groups:
            groups[name] = parser.add_argument_group(name)
        target = groups.get(name, parser)
        target.add_argument(*_flags(cls, f), **_argument(cls, f))


def _flags(cls, f: dataclasses.Field) -> list[str]:
    if f.metadata.get("positional"):
        return [f.name]
    flag = cls.flag(f.name)
    return [f.metadata["short"], flag] if f.metadata.get("short") else [flag]


def _argument(cls, f: dataclasses.Field) -> dict:
    base, _, _ = field_type(cls, f)
    kwargs = {"dest": f.name, "default": argparse.SUPPRESS, "help": _help(f)}
    if f.metadata.get("positional"):  # its name is its dest; absent, the default applies
        kwargs.pop("dest")
        kwargs["nargs"] = argparse.OPTIONAL
    if base is bool:  # --name/--no-name; a switch named --no-x (default off) only turns on
        kwargs["action"] = ("store_true" if _flags(cls, f)[-1].startswith("--no-")
                            else argparse.BooleanOptionalAction)
        return kwargs
    kwargs["type"] = _parser_of(cls, f)
    if f.metadata.get("metavar"):
        kwargs["metavar"] = f.metadata["metavar"]
    choices = f.metadata.get("choices")
    if choices is not None and base is not tuple and not callable(choices):
        kwargs["metavar"] = kwargs.get("metavar") or "{" + ",".join(map(str, choices)) + "}"
    return kwargs


def _parser_of(cls, f: dataclasses.Field):
    """The argparse ``type`` of field ``f``: parse the text and check it as the field does."""
    def parse(text: str):
        if text is argparse.SUPPRESS:  # an absent positional: Python < 3.12 types its default
            return text
        try:
            return coerce(cls, f, parse_text(cls, f, text))
        except (ValueError, InitlabError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    parse.__name__ = f.name  # argparse names the type in some of its messages
    return parse


def _help(f: dataclasses.Field) -> str:
    default = f.default
    if default is None or default is dataclasses.MISSING:
        return f.metadata["help"]
    shown = plain_value(default)
    if isinstance(shown, list):
        shown = ",".join(map(str, shown))
    elif isinstance(shown, bool):
        shown = "yes" if shown else "no"
    return f"{f.metadata['help']} (default: {shown})"


def given(args: argparse.Namespace, cls: type[Config]) -> dict:
    """The fields of ``cls`` that the command line gave explicitly."""
    names = set(cls.field_names())
    return {k: v for k, v in vars(args).items() if k in names}


def config_from_args(args: argparse.Namespace, cls: type[Config]) -> Config:
    """The Config the command runs: the options given over the preset over the defaults."""
    return cls.from_dict(given(args, cls), source="",
                         preset=getattr(args, "preset", None))


__all__ = ["add_config_arguments", "config_from_args", "given"]
