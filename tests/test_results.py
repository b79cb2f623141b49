"""Result base: JSON round trip with nested dataclasses, detail fields, tables."""

from dataclasses import dataclass, field

import numpy as np
import pytest

from initlab.errors import InitlabError
from initlab.results import Result, detail, format_table


@dataclass
class Row(Result):
    name: str
    values: list[float]
    grid: list | None = detail()


@dataclass
class Outer(Result):
    rows: list[Row]
    best: Row | None = None
    meta: dict = field(default_factory=dict)
    extra: list[Row] | None = None
    by_name: dict[str, Row] | None = None


def make():
    rows = [Row("a", np.array([1.0, np.nan]), grid=np.eye(2)), Row("b", [np.float32(2)])]
    return Outer(rows=rows, best=Row("c", [np.inf]), meta={"seed": np.int64(3)})


def test_public_dict_drops_detail_and_non_finite():
    d = make().to_dict()
    assert d["rows"][0] == {"name": "a", "values": [1.0, None]}
    assert d["best"] == {"name": "c", "values": [None]} and d["meta"] == {"seed": 3}


def test_save_load_round_trip_keeps_detail(tmp_path):
    path = make().save(tmp_path / "r.json")
    back = Outer.load(path)
    assert isinstance(back.rows[0], Row) and isinstance(back.best, Row)
    assert back.rows[0].grid == [[1.0, 0.0], [0.0, 1.0]]
    assert back.to_dict(detail=True) == make().to_dict(detail=True)


def test_optional_lists_and_dicts_of_results_round_trip():
    full = make()
    full.extra, full.by_name = [Row("d", [4.0])], {"e": Row("e", [5.0])}
    back = Outer.from_dict(full.to_dict(detail=True))
    assert isinstance(back.extra[0], Row) and isinstance(back.by_name["e"], Row)
    assert back.to_dict(detail=True) == full.to_dict(detail=True)
    assert Outer.from_dict(make().to_dict()).extra is None


def test_load_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InitlabError, match="bad.json"):
        Outer.load(bad)
    with pytest.raises(InitlabError, match="unknown keys"):
        Outer.from_dict({"rows": [], "oops": 1})


def test_table_and_html():
    text = format_table(["x", "y"], [[1.23456, None], ["long name", 2]])
    assert text.splitlines()[0].startswith("x") and "1.235" in text and "-" in text
    assert "<table>" in make()._repr_html_()
