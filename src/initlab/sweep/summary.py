"""What ``initlab sweep plot`` draws, computed from a store's rows: means and 95% intervals.

A line figure groups the rows by (hue, x) and gives per group the mean of the metric over the
rows (the seeds: a point of ``compare`` has one row per seed, and ``seed`` may also be a grid
axis) with a 95% Student-t interval, ``t(0.975, n-1) s / sqrt(n)``. A heat map gives the mean
per (x, y) cell. Any other column that varies within a group or cell (a grid axis, or a
label such as ``init``) would be mixed into one mean, so it must be pinned with ``where`` or
drawn as the hue.
:func:`overlay` computes a theory curve to draw over a heat map (``six_xi_c``: the depth
6 xi_c(sigma_w^2) below which Schoenholz et al. 2017 find deep nets trainable).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from initlab.errors import InitlabError
from initlab.nn.activations import get_activation
from initlab.results import Result
from initlab.theory import check_activation, mean_fields


@dataclass
class Series(Result):
    """One line: x positions, mean, 95% half-width (None: one run) and runs per position."""

    label: str | None
    x: list
    mean: list
    ci95: list
    n: list


@dataclass
class SweepLines(Result):
    """The line figure's data: a metric against a grid column, one series per hue value."""

    x: str
    y: str
    hue: str | None
    series: list[Series]
    where: dict
    log_x: bool
    categorical: bool


@dataclass
class Curve(Result):
    """A theory curve to draw over a figure, in the units of its x and y columns (None
    where the curve is infinite)."""

    name: str
    label: str
    x: list
    y: list


@dataclass
class SweepHeat(Result):
    """The heat map's data: mean metric per (y row, x column) cell; None where no run;
    ``overlay``: a theory curve drawn on top (see :func:`overlay`)."""

    x: str
    y: str
    z: str
    xs: list
    ys: list
    mean: list
    n: list
    where: dict
    overlay: Curve | None = None


def _seed_like(name: str) -> bool:
    return name == "seed" or name.endswith("_seed")


def _matches(value, wanted: str) -> bool:
    if isinstance(value, bool):
        return str(value).lower() == wanted.lower()
    if isinstance(value, (int, float)):
        try:
            return float(value) == float(wanted)
        except ValueError:
            return False
    return str(value) == wanted


def parse_where(items) -> dict:
    """``["init=he", "lr=0.1"]`` -> ``{"init": "he", "lr": "0.1"}``."""
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InitlabError(f"--where takes COLUMN=VALUE, got {item!r}")
        out[name] = value
    return out


def _filter(rows, where: dict, names: list[str]) -> list[dict]:
    for name in where:
        if name not in names:
            raise InitlabError(f"unknown column {name!r} in --where; columns: {', '.join(names)}")
    picked = [r for r in rows if all(_matches(r.get(k), v) for k, v in where.items())]
    if not picked:
        shown = ", ".join(f"{k}={v}" for k, v in where.items())
        raise InitlabError(f"no finished run matches --where {shown}")
    return picked


def _metric(rows, y: str, names: list[str]) -> str:
    if y in names:
        return y
    if f"{y}.mean" in names:
        return f"{y}.mean"
    metrics = [n for n in names if n != "point" and any(
        isinstance(r.get(n), (int, float)) and not isinstance(r.get(n), bool) for r in rows)]
    raise InitlabError(f"unknown metric {y!r}; columns with numbers: {', '.join(metrics)}")


def _check_mixed(rows, used: set, keys: list[str], group) -> None:
    """Refuse a column that takes several values within one group (``group(row)``, the rows
    of one mean); a column that follows the drawn ones (``depths`` beside ``depth``) is fine."""
    for name in keys:
        if name in used or _seed_like(name):
            continue
        seen = {}
        for r in rows:
            seen.setdefault(group(r), set()).add(str(r.get(name)))
        if any(len(v) > 1 for v in seen.values()):
            values = list(dict.fromkeys(str(r.get(name)) for r in rows))
            shown = ", ".join(values[:4]) + (", ..." if len(values) > 4 else "")
            raise InitlabError(f"column {name!r} takes {len(values)} values ({shown}) that one "
                               f"mean would mix; pick one with --where {name}={values[0]} or "
                               "draw it as --hue (or an axis)")


def _keys(rows, grid: list[str]) -> list[str]:
    """Columns that label runs: the grid axes and every column holding text."""
    text = [n for n in dict.fromkeys(k for r in rows for k in r)
            if n != "point" and any(isinstance(r.get(n), str) for r in rows)]
    return list(dict.fromkeys([*grid, *text]))


def _order(values) -> list:
    values = list(dict.fromkeys(values))
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return sorted(values)
    return values


def _mean_ci(values) -> tuple[float | None, float | None, int]:
    v = np.asarray([float(x) for x in values if x is not None], dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return None, None, 0
    if v.size == 1:
        return float(v[0]), None, 1
    half = stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size)
    return float(v.mean()), float(half), int(v.size)


def _selected(rows, axes, where: dict, metric: str) -> tuple[list, str]:
    """The rows ``where`` selects and the metric's column, after checking that there are rows
    and that every axis (None: unused) names a column."""
    names = list(dict.fromkeys(k for r in rows for k in r))
    if not rows:
        raise InitlabError("the store has no finished points yet")
    for name in axes:
        if name is not None and name not in names:
            raise InitlabError(f"unknown column {name!r}; columns: {', '.join(names)}")
    rows = _filter(rows, where, names)
    return rows, _metric(rows, metric, names)


def lines(rows, grid: list[str], x: str, y: str, hue: str | None = None,
          where: dict | None = None) -> SweepLines:
    """Mean and 95% interval of metric ``y`` per (``hue``, ``x``) group of ``rows``."""
    where = where or {}
    rows, metric = _selected(rows, (x, hue), where, y)
    _check_mixed(rows, {x, hue, metric, *where}, _keys(rows, grid),
                 lambda r: (str(r.get(hue)), str(r.get(x))))
    xs = _order(r[x] for r in rows)
    series = []
    for label in _order(r.get(hue) for r in rows) if hue else [None]:
        mine = [r for r in rows if hue is None or r.get(hue) == label]
        stats_ = [_mean_ci(r.get(metric) for r in mine if r[x] == v) for v in xs]
        kept = [(v, s) for v, s in zip(xs, stats_, strict=True) if s[2] > 0]
        series.append(Series(label=None if label is None else str(label),
                             x=[v for v, _ in kept], mean=[s[0] for _, s in kept],
                             ci95=[s[1] for _, s in kept], n=[s[2] for _, s in kept]))
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in xs)
    log_x = numeric and min(xs) > 0 and max(xs) / min(xs) >= 20
    return SweepLines(x=x, y=metric, hue=hue, series=series, where=where, log_x=bool(log_x),
                      categorical=not numeric)


def heat(rows, grid: list[str], x: str, y: str, z: str,
         where: dict | None = None) -> SweepHeat:
    """Mean of metric ``z`` per (``y``, ``x``) cell of ``rows``."""
    where = where or {}
    rows, metric = _selected(rows, (x, y), where, z)
    _check_mixed(rows, {x, y, metric, *where}, _keys(rows, grid),
                 lambda r: (str(r.get(x)), str(r.get(y))))
    xs, ys = _order(r[x] for r in rows), _order(r[y] for r in rows)
    means, counts = [], []
    for vy in ys:
        cells = [_mean_ci(r.get(metric) for r in rows if r[x] == vx and r[y] == vy) for vx in xs]
        means.append([c[0] for c in cells])
        counts.append([c[2] for c in cells])
    return SweepHeat(x=x, y=y, z=metric, xs=xs, ys=ys, mean=means, n=counts, where=where)


OVERLAYS = ("six_xi_c",)
DEPTH_COLUMNS = ("depth", "depths")


def _one(rows, name: str, why: str):
    values = list(dict.fromkeys(r.get(name) for r in rows))
    if None in values:
        raise InitlabError(f"{why} needs the column {name!r} in every row (a sweep of "
                           "'propagate --trainability' has it)")
    if len(values) > 1:
        raise InitlabError(f"{why}: column {name!r} takes {len(values)} values; pick one with "
                           f"--where {name}={values[0]}")
    return values[0]


def six_xi_c_curve(rows, data: SweepHeat, points: int = 120) -> Curve:
    """6 xi_c(sigma_w^2) from the mean-field maps (:func:`initlab.theory.mean_fields`) for
    the rows' activation and sigma_b^2, on ``points`` values spanning the heat map's
    sigma_w^2 axis; the axis holding sigma_w2 and the one holding the depth may be either.

    Schoenholz et al. 2017 ("Deep information propagation"): a net trains only when its depth
    is below about 6 xi_c, where xi_c = -1 / ln chi_c is the correlation depth scale.
    """
    why = "--overlay six_xi_c"
    if data.x == "sigma_w2" and data.y in DEPTH_COLUMNS:
        ws = data.xs
    elif data.y == "sigma_w2" and data.x in DEPTH_COLUMNS:
        ws = data.ys
    else:
        raise InitlabError(f"{why} needs sigma_w2 on one axis and depth on the other, got "
                           f"--x {data.x} --y {data.y}")
    for axis in (data.xs, data.ys):
        if len(axis) < 2 or not all(isinstance(v, (int, float)) for v in axis):
            raise InitlabError(f"{why} needs at least 2 numeric values on each axis, got "
                               f"{axis!r}")
    names = list(dict.fromkeys(k for r in rows for k in r))
    rows = _filter(rows, data.where, names)
    activation = _one(rows, "activation", why)
    sigma_b2 = float(_one(rows, "sigma_b2", why))
    act = check_activation(get_activation(activation))
    grid = np.linspace(min(ws), max(ws), points)
    depth = [6 * mf.xi_c if math.isfinite(mf.xi_c) else None
             for mf in mean_fields(act, grid, sigma_b2)]
    sw = [float(w) for w in grid]
    label = f"6 xi_c (theory; {activation}, sigma_b^2 = {sigma_b2:g})"
    if data.x == "sigma_w2":
        return Curve(name="six_xi_c", label=label, x=sw, y=depth)
    return Curve(name="six_xi_c", label=label, x=depth, y=sw)


def overlay(name: str, rows, data: SweepHeat) -> Curve:
    """The theory curve ``name`` (one of :data:`OVERLAYS`) for the heat map ``data`` of
    ``rows``; raises naming what is missing when the rows cannot give it."""
    if name not in OVERLAYS:
        raise InitlabError(f"unknown overlay {name!r}; valid: {', '.join(OVERLAYS)}")
    return six_xi_c_curve(rows, data)
