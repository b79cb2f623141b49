"""Sweep files: grid expansion, stable point keys, and the checks of the file's shape."""

import pytest

from initlab.errors import InitlabError
from initlab.sweep.grid import config_key, parse_sweep, read_sweep


def test_expansion_is_the_product_in_file_order(tiny):
    sweep = read_sweep(tiny)
    assert sweep.experiment == "compare" and sweep.columns == ["init", "lr"]
    assert [p.grid for p in sweep.points] == [
        {"init": "xavier", "lr": 0.05}, {"init": "xavier", "lr": 0.5},
        {"init": "he", "lr": 0.05}, {"init": "he", "lr": 0.5}]
    first = sweep.points[0].config
    assert first == {"experiment": "compare", "dataset": "moons", "n_samples": 60,
                     "iterations": 20, "seeds": 2, "init": "xavier", "lr": 0.05}
    assert len({p.key for p in sweep.points}) == 4


def test_key_is_stable_and_ignores_order_and_dashes():
    a = parse_sweep({"experiment": "compare", "fixed": {"n-samples": 60, "seeds": 2},
                     "grid": {"lr": [0.1]}})
    b = parse_sweep({"experiment": "compare", "grid": {"lr": [0.1]},
                     "fixed": {"seeds": 2, "n_samples": 60}})
    assert a.points[0].key == b.points[0].key
    # The same text in every process and release: it names rows in stores on disk.
    assert config_key({"experiment": "compare", "lr": 0.1}) == "df7cf7d8ff9ba7f8"
    assert config_key({"experiment": "compare", "lr": 0.2}) != config_key(
        {"experiment": "compare", "lr": 0.1})


@pytest.mark.parametrize("doc, message", [
    ({"experiment": "compare", "grid": {}}, "the grid is empty"),
    ({"experiment": "compare"}, "the grid is empty"),
    ({"experiment": "compare", "grid": {"lr": []}}, "lr must be a non-empty list"),
    ({"experiment": "compare", "grid": {"lr": 0.1}}, "lr must be a non-empty list"),
    ({"experiment": "compare", "grid": {"lr": [0.1, 0.1]}}, "repeats a value"),
    ({"experiment": "compare", "fixed": {"lr": 1}, "grid": {"lr": [0.1]}},
     "both in [fixed] and in [grid]"),
    ({"experiment": "compare", "lr": 1, "grid": {"seeds": [1]}}, "unknown top-level key 'lr'"),
    ({"grid": {"lr": [0.1]}}, "'experiment' must name an experiment"),
])
def test_bad_shapes_raise_naming_the_problem(doc, message):
    with pytest.raises(InitlabError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_sweep(doc, "s.toml")


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(InitlabError, match="does not exist"):
        read_sweep(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("experiment = \n")
    with pytest.raises(InitlabError, match="cannot read sweep file"):
        read_sweep(bad)
