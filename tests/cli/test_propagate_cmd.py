"""``initlab propagate`` end to end: the JSON contract, figures, config files, bad input."""

import json
import subprocess
import sys

import pytest

from initlab.cli import main
from initlab.experiments.propagate import PropagateResult

SMALL = ["--sigma-w2", "1:3:3", "--depth", "12", "--width", "64", "--seeds", "2"]
RUN_KEYS = ["sigma_w2", "sigma_b2", "activation", "q_star", "c_star", "chi_1", "xi_q", "xi_c",
            "layers"]
JAC_KEYS = ["weights", "activation", "depth", "width", "sigma_w2", "sigma_b2",
            "singular_values", "condition_number"]


def test_json_contract(capsys):
    assert main(["propagate", *SMALL, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == ["critical", "runs"]
    assert list(data["critical"]) == ["sigma_b2", "sigma_w2"]
    assert 0.05 in data["critical"]["sigma_b2"]
    assert [r["sigma_w2"] for r in data["runs"]] == [1.0, 2.0, 3.0]
    for run in data["runs"]:
        assert list(run) == RUN_KEYS
        assert [list(la) for la in run["layers"]] == [["index", "q", "q_predicted", "c",
                                                         "c_predicted"]] * 12
    # measured beside theory: q within sampling error of the map at this small width
    for run in data["runs"]:
        last = run["layers"][-1]
        assert last["q"] == pytest.approx(last["q_predicted"], rel=0.25)


def test_jacobian_and_trainability_keys(capsys):
    argv = ["propagate", "--sigma-w2", "1,4", "--depth", "4", "--width", "32", "--seeds", "1",
            "--jacobian", "--jacobian-depths", "3,6", "--jacobian-width", "24",
            "--trainability", "--depths", "2:4:2", "--steps", "5", "--train-width", "16",
            "--train-size", "100", "--json"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == ["critical", "runs", "jacobian", "trainability", "six_xi_c"]
    assert len(data["jacobian"]) == 8  # 2 activations x 2 weight kinds x 2 depths
    for case in data["jacobian"]:
        assert list(case) == JAC_KEYS
        assert list(case["singular_values"]) == ["min", "q05", "q50", "q95", "max"]
    assert {c["weights"] for c in data["jacobian"]} == {"gaussian", "orthogonal"}
    assert [(p["sigma_w2"], p["depth"]) for p in data["trainability"]] == [
        (1.0, 2), (4.0, 2), (1.0, 4), (4.0, 4)]
    for p in data["trainability"]:
        assert list(p) == ["sigma_w2", "depth", "train_accuracy"]
        assert list(p["train_accuracy"]) == ["mean", "std"]
    assert all(list(p) == ["sigma_w2", "depth"] for p in data["six_xi_c"])


def test_out_writes_figures_and_roundtrips(tmp_path, capsys):
    out = tmp_path / "p"
    argv = ["propagate", "--sigma-w2", "1,4", "--depth", "4", "--width", "32", "--seeds", "1",
            "--jacobian", "--jacobian-depths", "3", "--jacobian-width", "16",
            "--trainability", "--depths", "2,3", "--steps", "3", "--train-width", "8",
            "--train-size", "60", "--out", str(out)]
    assert main(argv) == 0
    assert "sigma_w2" in capsys.readouterr().out
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert names == ["jacobian.png", "phase.png", "propagation.png", "results.json",
                     "trainability.png"]
    result = PropagateResult.load(out / "results.json")
    assert result.to_dict() == json.loads(result.to_json())
    assert result.phase is not None and len(result.jacobian[0].values) == 16
    # the optional lists come back as their dataclasses
    assert type(result.trainability[0]).__name__ == "TrainPoint"
    assert type(result.six_xi_c[0]).__name__ == "DepthPoint"


def test_config_file_runs_the_same(tmp_path, capsys):
    argv = ["propagate", "--trainability", "--sigma-w2", "1:4:2", "--depths", "2:3:2",
            "--steps", "2", "--train-width", "8", "--train-size", "50", "--depth", "3",
            "--width", "16", "--seeds", "1"]
    assert main([*argv, "--dump-config"]) == 0
    toml = capsys.readouterr().out
    assert 'experiment = "propagate"' in toml and "trainability = true" in toml
    path = tmp_path / "t.toml"
    path.write_text(toml)
    assert main(["run", str(path), "--json"]) == 0
    via_file = json.loads(capsys.readouterr().out)
    assert main([*argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == via_file


def test_quick_dumps_the_sizes_it_runs(capsys):
    """--quick's smaller sizes are the values the run uses: --dump-config writes them."""
    assert main(["propagate", "--quick", "--trainability", "--dump-config"]) == 0
    import tomllib

    doc = tomllib.loads(capsys.readouterr().out)
    assert doc["width"] == 200 and doc["steps"] == 200 and doc["depths"] == [5, 52, 100]
    assert doc["sigma_w2"] == [1.0, 2.0, 3.0, 4.0] and doc["quick"] is True
    assert main(["propagate", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: 500; --quick: 200)" in text
    assert "default: 0.5:4:36; --quick: 0.5:4:12; with --trainability default: 1:4:8" in text


@pytest.mark.parametrize("args, message", [
    (["--sigma-w2", "4:1:5"], "argument --sigma-w2: range '4:1:5' is reversed: HI must be >= LO"),
    (["--sigma-w2", "1:4:0"], "range '1:4:0' is empty: N must be >= 1"),
    (["--sigma-w2", "1:4"], "expected LO:HI:N, a comma list or a number, got '1:4'"),
    (["--sigma-w2=-1,2"], "argument --sigma-w2: must be a finite number > 0, got [-1.0, 2.0]"),
    (["--sigma-b2=-0.1"], "argument --sigma-b2: must be a finite number >= 0, got -0.1"),
    (["--depth", "0"], "argument --depth: must be >= 1, got 0"),
    (["--depths", "0:10:3"], "argument --depths: every value must be >= 1, got [0, 5, 10]"),
    (["--activation", "hard_tanh"], "hard_tanh"),
    (["--c0", "1.5"], "argument --c0: must be in [-1, 1], got 1.5"),
    (["--seed", "-1"], "argument --seed: must be an integer in [0, 4294967295], got -1"),
])
def test_bad_input_is_one_line_exit_2(args, message):
    proc = subprocess.run([sys.executable, "-m", "initlab.cli", "propagate", "--depth", "2",
                           "--width", "8", "--seeds", "1", "--trainability", "--steps", "1",
                           *args], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
