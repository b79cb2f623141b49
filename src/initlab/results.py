"""The base of every result type: JSON round-trip and an HTML table for Jupyter.

Experiments return dataclasses that inherit :class:`Result`. ``to_dict`` gives plain JSON types
(NumPy arrays and scalars become lists and floats, non-finite floats become ``null``),
``from_dict`` rebuilds the dataclass (nested result dataclasses and lists of them included),
and ``table()`` gives the rows shown by ``_repr_html_`` and the command line.

Fields declared with :func:`detail` (figure data such as histogram counts or a decision-boundary
grid) are left out of ``to_dict()`` so the printed JSON has exactly the documented keys;
``to_dict(detail=True)`` and ``save()`` keep them, so a saved result redraws every figure.
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
import types
import typing
from pathlib import Path
from typing import Any

import numpy as np

from initlab.errors import InitlabError
from initlab.runtime.atomic import write_atomic


def detail(default: Any = None) -> Any:
    """A dataclass field kept by ``save()`` but left out of the public ``to_dict()`` and of
    ``repr()`` (figure data would make a repr hundreds of thousands of characters long)."""
    return dataclasses.field(default=default, repr=False, metadata={"detail": True})


def plain(value: Any, detail: bool = False) -> Any:
    """Convert NumPy values and dataclasses to JSON types; NaN and inf become None.

    Dataclass fields declared with :func:`detail` are dropped unless ``detail`` is true.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name), detail) for f in dataclasses.fields(value)
                if detail or not f.metadata.get("detail")}
    if isinstance(value, dict):
        return {str(k): plain(v, detail) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, detail) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist(), detail)
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def _build(tp: Any, value: Any) -> Any:
    """Rebuild ``value`` as type ``tp`` where ``tp`` is (a list/dict of) a dataclass."""
    if value is None:
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (list, tuple) and args:
        return [_build(args[0], v) for v in value]
    if origin is dict and len(args) == 2:
        return {k: _build(args[1], v) for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        # ``X | None``, ``list[X] | None``, ...: the first member of the value's JSON kind
        for arg in args:
            kind = typing.get_origin(arg) or arg
            if ((kind in (list, tuple) and isinstance(value, list))
                    or ((kind is dict or dataclasses.is_dataclass(kind))
                        and isinstance(value, dict))):
                return _build(arg, value)
        return value
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        names = {f.name for f in dataclasses.fields(tp)}
        unknown = set(value) - names
        if unknown:
            raise InitlabError(f"unknown keys {sorted(unknown)} for {tp.__name__}")
        return tp(**{k: _build(hints[k], v) for k, v in value.items()})
    return value


class Result:
    """Mixin for result dataclasses: ``to_dict``/``from_dict``, ``save``/``load``, HTML repr."""

    def to_dict(self, detail: bool = False) -> dict:
        """Plain JSON types; figure-data fields only with ``detail=True``."""
        return plain(self, detail)

    @classmethod
    def from_dict(cls, data: dict):
        return _build(cls, data)

    def to_json(self, indent: int | None = 2, detail: bool = False) -> str:
        return json.dumps(self.to_dict(detail), indent=indent, allow_nan=False)

    def save(self, path: str | Path) -> Path:
        """Write the full result (figure data included) as JSON; :meth:`load` reads it back."""
        return write_atomic(path, self.to_json(indent=None, detail=True))

    @classmethod
    def load(cls, path: str | Path):
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InitlabError(f"cannot read result file {str(path)!r}: {exc}") from None
        return cls.from_dict(data)

    def records(self) -> list[dict]:
        """Flat rows of this result (one per row of its first list of results) for sweeps.

        The default flattens :meth:`to_dict`: top-level scalars go into every row; the first
        top-level list of dicts gives one row per item; nested dicts become dotted columns
        (``test_accuracy.mean``); ``config`` and other lists are left out. Result types
        override it to give tidier rows (e.g. one per seed).
        """
        data = self.to_dict()
        data.pop("config", None)
        base = {k: v for k, v in data.items() if not isinstance(v, (dict, list))}
        base.update(_flatten({k: v for k, v in data.items() if isinstance(v, dict)}))
        items = next((v for v in data.values() if isinstance(v, list) and v
                      and all(isinstance(x, dict) for x in v)), None)
        if items is None:
            return [base]
        return [{**base, **_flatten(item)} for item in items]

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """Return ``(header, rows)`` summarizing the result; subclasses override."""
        fields = [f.name for f in dataclasses.fields(self)]
        return ["field", "value"], [[name, repr(getattr(self, name))[:80]] for name in fields]

    def footnote(self) -> str | None:
        """A line printed under the table (e.g. how its intervals are computed)."""
        return None

    def __str__(self) -> str:
        """The table the command line prints (``print(result)``); the data is in ``save()``."""
        note = self.footnote()
        return format_table(*self.table()) + (f"\n{note}" if note else "")

    def _repr_html_(self) -> str:
        header, rows = self.table()
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(format_cell(c))}</td>" for c in row) + "</tr>"
            for row in rows
        )
        title = html.escape(type(self).__name__)
        note = self.footnote()
        foot = f"<p><small>{html.escape(note)}</small></p>" if note else ""
        return f"<table><caption>{title}</caption><tr>{head}</tr>{body}</table>{foot}"


def _flatten(data: dict, prefix: str = "") -> dict:
    """Scalars of a nested dict as ``{"a.b": value}``; lists are left out."""
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        elif not isinstance(value, list):
            out[f"{prefix}{key}"] = value
    return out


def format_cell(value: Any) -> str:
    """Format one table cell: floats to 4 significant digits, None as a dash."""
    if value is None:
        return "-"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return str(value)


def format_table(header: list[str], rows: list[list[Any]]) -> str:
    """Render ``(header, rows)`` as an aligned plain-text table for the terminal."""
    cells = [[str(h) for h in header]] + [[format_cell(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)
