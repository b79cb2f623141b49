"""``initlab activations`` end to end: JSON keys, table and verdicts, files, presets, errors."""

import json
import subprocess
import sys

import pytest

from initlab.cli import main
from initlab.experiments.activations import ActivationsResult

SMALL = ["--depth", "3", "--width", "32", "--batch", "8"]
LAYER_KEYS = ["index", "mean", "std", "saturated", "zero", "predicted_std", "grad_std",
              "predicted_grad_std", "weight_grad_std", "dead"]


def test_json_has_exactly_the_documented_keys(capsys):
    argv = ["activations", "--activation", "tanh,relu", "--init", "normal(0.01),lecun,he",
            *SMALL, "--seed", "3", "--json"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == ["runs"]
    pairs = [(r["activation"], r["init"]) for r in data["runs"]]
    assert pairs == [(a, i) for a in ("tanh", "relu") for i in ("normal(0.01)", "lecun", "he")]
    for run in data["runs"]:
        assert list(run) == ["init", "activation", "layers", "verdict", "lsuv"]
        assert [list(layer) for layer in run["layers"]] == [LAYER_KEYS] * 3
        assert [layer["index"] for layer in run["layers"]] == [1, 2, 3]
        assert all(isinstance(layer["grad_std"], float) for layer in run["layers"])
        assert run["verdict"]["state"] in ("healthy", "vanishing", "exploding", "shrinking",
                                           "growing", "no signal")
        assert isinstance(run["verdict"]["text"], str)


def test_no_grad_gives_nulls(capsys):
    assert main(["activations", "--init", "he", "--activation", "relu", *SMALL, "--no-grad",
                 "--json"]) == 0
    layer = json.loads(capsys.readouterr().out)["runs"][0]["layers"][0]
    assert [layer[k] for k in LAYER_KEYS[6:9]] == [None, None, None]


def test_table_with_verdicts_and_output_files(tmp_path, capsys):
    out = tmp_path / "act"
    argv = ["activations", "--init", "normal(0.01),he", "--activation", "sigmoid",
            "--sizes", "40,30,30,20", "--batch", "10", "--seeds", "2", "--bias", "0.1",
            "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].split()[:5] == ["activation", "init", "layer", "mean", "std"]
    assert "sigmoid / normal(0.01): signal keeps its scale" in text
    assert "gradient vanishes: std 0.0119 at layer 2" in text  # sigmoid' <= 1/4 per layer
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert names == ["histograms_sigmoid.png", "results.json", "std_vs_depth.png"]
    saved = ActivationsResult.load(out / "results.json")
    assert saved.config["sizes"] == [40, 30, 30, 20] and saved.config["bias"] == 0.1
    assert len(saved.runs[0].layers[0].seed_std) == 2
    for run in saved.runs:  # the printed verdicts are those of the saved numbers
        assert f"{run.activation} / {run.init}: {run.verdict.text}" in text
    assert sum(saved.runs[0].layers[0].counts) + saved.runs[0].layers[0].below \
        + saved.runs[0].layers[0].above == 2 * 10 * 30


def test_preset_with_overrides(capsys):
    assert main(["activations", "--preset", "saito", "--batch", "20", "--width", "16",
                 "--no-grad", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert len(runs) == 3 * 7 and all(len(r["layers"]) == 5 for r in runs)
    assert runs[0]["activation"] == "sigmoid" and runs[6]["init"] == "constant(5)"


def test_dump_config_round_trip(tmp_path, capsys):
    argv = ["activations", "--init", "he", "--activation", "tanh", *SMALL, "--range", "0,2"]
    assert main([*argv, "--dump-config"]) == 0
    config = tmp_path / "act.toml"
    config.write_text(capsys.readouterr().out)
    assert main(["run", str(config), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["runs"]) == 1


@pytest.mark.parametrize("argv, message", [
    (["--depth", "0"], "--depth: must be >= 1, got 0"),
    (["--width", "-4"], "--width: must be >= 1, got -4"),
    (["--activation", "nope"], "unknown activation 'nope'"),
    (["--init", "he(2)"], "bad parameters in 'he(2)'"),
    (["--width", "10000000000"], "of memory, but only"),
    (["--sizes", "8,8", "--depth", "2"], "either --sizes or --depth/--width"),
    (["--range", "1"], "expected LO,HI"),
    (["--range=1,-1"], "lo < hi"),
    (["--preset", "book"], "invalid choice: 'book'"),
    (["--seed", "-1"], "--seed: must be an integer in [0, 4294967295], got -1"),
])
def test_errors_are_one_line_with_exit_2(argv, message, capsys):
    try:  # argparse errors exit from inside; InitlabError comes back as 2
        code = main(["activations", "--init", "he", "--activation", "tanh", "--batch", "4", *argv])
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_console_entry_point_exit_code():
    proc = subprocess.run([sys.executable, "-m", "initlab.cli", "activations", "--activation",
                           "swish"], capture_output=True, text=True)
    assert proc.returncode == 2 and "unknown activation 'swish'" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
