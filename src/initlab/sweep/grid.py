"""Sweep files: one experiment, fixed options and a grid, expanded into points.

A sweep file is TOML::

    experiment = "compare"
    [fixed]
    dataset = "moons"
    seeds = 10
    [grid]
    init = ["xavier", "he"]
    lr = [0.01, 0.1]

Every combination of the grid values (the Cartesian product, in the file's key order, the
last key varying fastest) is one *point*: a configuration with the same keys as a file for
``initlab run`` (``experiment`` plus the command's options). Each point has a stable key: the
SHA-256 of its canonical JSON (sorted keys, ``-`` written as ``_``), so the same point in two
sweeps, or in two runs of one sweep, is the same row of a store.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

from initlab.errors import InitlabError
from initlab.runtime.tomlfile import read_toml

TOP_KEYS = ("experiment", "fixed", "grid")


@dataclass
class Point:
    """One grid point: its grid values, its full configuration and the hash of the latter."""

    grid: dict
    config: dict
    key: str


@dataclass
class Sweep:
    """A parsed sweep file: the experiment, fixed options, grid axes and expanded points."""

    experiment: str
    fixed: dict
    grid: dict
    points: list[Point]
    source: str

    @property
    def columns(self) -> list[str]:
        """The grid axes, in file order."""
        return list(self.grid)


def config_key(config: dict) -> str:
    """Stable hash of a configuration: SHA-256 (first 16 hex digits) of its canonical JSON."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def show_value(value) -> str | int | float | bool:
    """A grid value as a table cell: lists as ``10,5``, scalars unchanged."""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return value


def _normalize(table: dict, what: str, source: str) -> dict:
    out = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name in out:
            raise InitlabError(f"{source}: key {key!r} appears twice in [{what}]")
        if isinstance(value, dict):
            raise InitlabError(f"{source}: [{what}] {key} must be a value, not a table")
        out[name] = value
    return out


def parse_sweep(doc: dict, source: str = "sweep file") -> Sweep:
    """Check a sweep document's shape and expand its grid (options are checked elsewhere)."""
    unknown = [k for k in doc if k not in TOP_KEYS]
    if unknown:
        raise InitlabError(f"{source}: unknown top-level key {unknown[0]!r}; valid: "
                           f"{', '.join(TOP_KEYS)} (options go under [fixed] or [grid])")
    experiment = doc.get("experiment")
    if not isinstance(experiment, str):
        raise InitlabError(f"{source}: 'experiment' must name an experiment, got {experiment!r}")
    for table in ("fixed", "grid"):
        if not isinstance(doc.get(table, {}), dict):
            raise InitlabError(f"{source}: [{table}] must be a table of options")
    fixed = _normalize(doc.get("fixed", {}), "fixed", source)
    grid = _normalize(doc.get("grid", {}), "grid", source)
    if not grid:
        raise InitlabError(f"{source}: the grid is empty; give at least one option under [grid] "
                           "with a list of values")
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise InitlabError(f"{source}: [grid] {name} must be a non-empty list of values, "
                               f"got {values!r}")
        if name in fixed:
            raise InitlabError(f"{source}: {name!r} is both in [fixed] and in [grid]")
        shown = [json.dumps(v, sort_keys=True) for v in values]
        if len(set(shown)) < len(shown):
            raise InitlabError(f"{source}: [grid] {name} repeats a value: {values!r}")
    points = []
    for combo in itertools.product(*grid.values()):
        values = dict(zip(grid, combo, strict=True))
        config = {"experiment": experiment, **fixed, **values}
        points.append(Point(grid=values, config=config, key=config_key(config)))
    return Sweep(experiment=experiment, fixed=fixed, grid=grid, points=points, source=source)


def read_sweep(path: str | Path) -> Sweep:
    """Read and expand a sweep file; a missing or malformed file raises naming it."""
    return parse_sweep(read_toml(path, "sweep file"), str(path))
