"""The course's three-layer experiment: the published circles table, exactly, and clean costs."""

import json
import math
import warnings

import pytest

from initlab.cli import main
from initlab.errors import InitlabError
from initlab.experiments import registry
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
    monkeypatch.setattr("initlab.experiments.classic.run_classic", lambda *a, **k: circles)


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


def test_cli_rejects_unknown_dataset_and_study(capsys):
    assert main(["reproduce", "coursera", "--dataset", "spiral"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "argument --dataset: must be one of circles, moons, got 'spiral'" in err
    assert main(["reproduce", "saito"]) == 2
    assert "argument EXPERIMENT: must be one of coursera, got 'saito'" in capsys.readouterr().err


def test_registered_as_the_command_its_files_name(capsys, tmp_path):
    """'reproduce' is the experiment's registered name: the command, and the 'experiment' key
    of the TOML files it dumps (and users already have)."""
    from initlab.experiments.classic import ClassicConfig

    assert registry.get("reproduce").config is ClassicConfig
    argv = ["reproduce", "coursera", "--dataset", "moons", "--iterations", "300",
            "--record-every", "100", "--boundary-points", "10"]
    assert main([*argv, "--dump-config"]) == 0
    toml = capsys.readouterr().out
    assert toml.startswith('experiment = "reproduce"\nstudy = "coursera"\ndataset = "moons"\n')
    path = tmp_path / "moons.toml"
    path.write_text(toml)
    assert main(["run", str(path), "--json"]) == 0
    via_file = json.loads(capsys.readouterr().out)
    assert main([*argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == via_file
    assert via_file["dataset"] == "moons" and len(via_file["rows"][0]["costs"]) == 4


def test_keywords_and_a_config_run_the_same():
    from initlab.experiments.classic import ClassicConfig

    small = {"iterations": 200, "record_every": 100, "boundary_points": 8}
    by_keywords = run_classic("moons", **small)
    by_config = run_classic(config=ClassicConfig(dataset="moons", **small))
    assert by_keywords.to_json(detail=True) == by_config.to_json(detail=True)
    assert by_keywords.config["iterations"] == 200 and by_keywords.config["lr"] == 0.01
    with pytest.raises(InitlabError, match="a config or keyword options, not both"):
        run_classic("moons", config=ClassicConfig())
    with pytest.raises(InitlabError, match="'iterations' must be >= 1, got 0"):
        run_classic(iterations=0)


def test_a_run_past_the_budget_is_refused_before_it_starts(capsys):
    assert main(["reproduce", "coursera", "--iterations", "1000000000"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "would take about" in err and "--force" in err
