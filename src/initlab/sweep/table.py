"""A store as one flat table: grid columns + the records of each finished point.

Every finished point contributes its result's records (for ``compare`` one row per init and
seed, see ``Result.records``), each prefixed by the point's key and grid values. This is what
``initlab sweep show`` prints or exports, what ``initlab sweep plot`` summarizes, and what
:func:`initlab.sweep.load` returns.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from initlab.sweep.grid import show_value
from initlab.sweep.store import Store


def flat_rows(points: list[dict]) -> list[dict]:
    """Rows of the finished points: ``point`` (key), grid columns, then record columns."""
    rows = []
    for p in points:
        if p["status"] != "done":
            continue
        grid = {k: show_value(v) for k, v in p["grid"].items()}
        for record in p["records"] or [{}]:
            rows.append({"point": p["key"], **grid,
                         **{k: v for k, v in record.items() if k not in grid}})
    return rows


def columns(rows: list[dict]) -> list[str]:
    """Every column of ``rows`` in order of first appearance."""
    seen = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def grid_columns(points: list[dict]) -> list[str]:
    """The grid axes of the stored points, in order of first appearance."""
    seen = {}
    for p in points:
        seen.update(dict.fromkeys(p["grid"]))
    return list(seen)


def to_csv(rows: list[dict]) -> str:
    """The rows as CSV text (header first; missing values empty)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns(rows), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def load(path: str | Path, status: str = "done"):
    """The rows of a sweep store: a pandas DataFrame if pandas is installed, else a list.

    With ``status="all"``, one row per stored point instead (any status), with its grid
    values, status, error, seconds, host and version: the bookkeeping view.

    >>> rows = load("sweep.db")                      # doctest: +SKIP
    """
    with Store(path, create=False) as store:
        points = store.rows()
    if status == "done":
        rows = flat_rows(points)
    else:
        rows = [{"point": p["key"], **{k: show_value(v) for k, v in p["grid"].items()},
                 **{k: p[k] for k in ("status", "error", "seconds", "host", "version")}}
                for p in points if status == "all" or p["status"] == status]
    try:
        import pandas as pd
    except ImportError:
        return rows
    return pd.DataFrame(rows, columns=columns(rows) or None)
