"""The course's three-layer experiment: the published circles table, exactly, and clean costs."""

import json
import math
import warnings

import pytest

from initlab.cli import main
from initlab.experiments.classic import ClassicResult, run_classic
from initlab.report.text_training import classic_text


@pytest.fixture(scope="module")
def circles():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_classic("circles")
    assert not caught, [str(w.message) for w in caught]
    return result


def test_circles_table_equals_the_published_one(circles):
    table = {r.init: (r.train_accuracy, r.test_accuracy) for r in circles.rows}
    assert table == {"zeros": (0.5, 0.5), "random": (0.83, 0.86),
                     "he": (0.9933333333333333, 0.96)}


def test_costs_are_finite_every_1000_iterations(circles):
    assert circles.iterations == list(range(0, 15001, 1000))
    for row in circles.rows:
        assert len(row.costs) == 16 and all(math.isfinite(c) for c in row.costs)
    zeros, random, he = circles.rows
    # zeros never breaks symmetry: the cost stays at ln 2
    assert zeros.costs == pytest.approx([math.log(2)] * 16, rel=1e-14)
    # random starts huge (the notebook printed inf here) and ends far above he
    assert random.costs[0] > 100
    assert he.costs[-1] < 0.1 < 0.3 < random.costs[-1]


def test_moons_variant_runs_and_he_wins():
    result = run_classic("moons", iterations=3000, record_every=500, boundary_points=20)
    acc = {r.init: r.test_accuracy for r in result.rows}
    assert acc["zeros"] == 0.5 and acc["he"] > 0.8
    assert len(result.rows[0].costs) == 7  # 0, 500, ..., 2500 and the trained net at 3000


def test_the_cost_curve_ends_at_the_step_the_text_quotes(circles):
    """The report says "after 15000 iterations it is ..."; the curve's last point is that."""
    steps = circles.config["iterations"]
    assert circles.iterations[-1] == steps == 15000
    for row in circles.rows:
        assert row.costs[-1] == row.final_cost
    text = " ".join(classic_text(circles, published=True).split())
    random = circles.rows[1]
    assert f"after {circles.iterations[-1]} iterations it is {random.costs[-1]:.3f}" in text


@pytest.fixture
def cached(monkeypatch, circles):
    monkeypatch.setattr("initlab.cli.reproduce_cmd.run_classic", lambda *a, **k: circles)


def test_cli_json_has_exactly_the_documented_keys(cached, capsys):
    assert main(["reproduce", "coursera", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["dataset", "rows"]
    assert [list(r) for r in out["rows"]] == [
        ["init", "train_accuracy", "test_accuracy", "costs", "final_cost"]] * 3
    assert [r["init"] for r in out["rows"]] == ["zeros", "random", "he"]


def test_cli_out_writes_figures_and_a_loadable_result(cached, tmp_path, capsys):
    assert main(["reproduce", "coursera", "--out", str(tmp_path)]) == 0
    assert "0.9933" in capsys.readouterr().out
    for name in ("results.json", "costs.png", "boundaries.png"):
        assert (tmp_path / name).stat().st_size > 1000
    back = ClassicResult.load(tmp_path / "results.json")
    assert back.rows[2].train_accuracy == 0.9933333333333333
    assert len(back.boundary.classes) == 3


def test_cli_rejects_unknown_dataset(capsys):
    assert main(["reproduce", "coursera", "--dataset", "spiral"]) == 2
    assert "invalid choice: 'spiral'" in capsys.readouterr().err
