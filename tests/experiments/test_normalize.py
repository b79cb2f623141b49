"""The normalization study: BatchNorm trains scales that fail without it; replicas, JSON, CLI."""

import json
import sys

import numpy as np
import pytest

from initlab.cli import main
from initlab.errors import InitlabError
from initlab.experiments.normalize import SCALES, NormalizeResult, run_normalize

SMALL = {"train_size": 300, "layers": [32, 32, 32], "seeds": 2, "epochs": 15, "batch": 50,
         "lr": 0.05}
CLI_SMALL = ["--train-size", "100", "--layers", "8,8", "--scales", "0.3,0.01", "--seeds", "2",
             "--epochs", "2", "--batch", "50", "-j", "1"]


@pytest.fixture(scope="module")
def study():
    return run_normalize(scales=[1, 0.3, 0.01, 0.001], **SMALL)


def test_the_book_scales():
    assert len(SCALES) == 16 and SCALES[0] == 1.0 and SCALES[-1] == pytest.approx(1e-4)
    np.testing.assert_allclose(np.diff(np.log10(SCALES)), -4 / 15)


def test_batch_norm_trains_small_scales_that_stay_at_chance_without_it(study):
    none = {r.scale: r for r in study.rows_of("none")}
    batch = {r.scale: r for r in study.rows_of("batch")}
    chance = study.config["chance"]
    for scale in (0.01, 0.001):  # the signal dies: every seed predicts one class
        assert none[scale].train_accuracy.mean < chance + 0.05
        assert none[scale].final_loss.mean == pytest.approx(np.log(10), abs=0.01)
    assert batch[0.01].train_accuracy.mean > 0.9
    assert batch[0.001].train_accuracy.mean > none[0.001].train_accuracy.mean + 0.3
    assert set(study.training_scales("none")) < set(study.training_scales("batch"))


def test_rows_curves_and_config(study):
    assert [(r.norm, r.scale) for r in study.rows] == [
        (n, s) for n in ("none", "batch") for s in (1, 0.3, 0.01, 0.001)]
    row = study.rows[0]
    assert np.asarray(row.train_curves).shape == (2, 16) and study.epochs == list(range(16))
    assert row.train_curves[0][-1] in row.train_curves[0]  # the last point: after training
    cfg = study.config
    assert (cfg["n_train"], cfg["threshold"]) == (300, pytest.approx(0.55))
    assert cfg["sizes"] == [64, 32, 32, 32, 10] and cfg["norms"] == ["none", "batch"]


def test_a_scale_trains_the_same_alone_as_among_others(study):
    """Replicas are independent: one scale alone gives that scale's row of the grid."""
    alone = run_normalize(scales=[0.01], **SMALL)
    for norm in ("none", "batch"):
        a, b = alone.rows_of(norm)[0], study.rows_of(norm)[2]
        assert a.train_accuracy.mean == pytest.approx(b.train_accuracy.mean, abs=1e-12)
        np.testing.assert_allclose(a.train_curves, b.train_curves, atol=1e-12)


def test_json_round_trip_and_figures_from_the_saved_file(study, tmp_path):
    from initlab.plots.normalize import figures

    loaded = NormalizeResult.load(study.save(tmp_path / "r.json"))
    assert loaded.to_dict() == study.to_dict()
    for stem, fig in figures(loaded).items():
        fig.savefig(tmp_path / f"{stem}.png")
        assert (tmp_path / f"{stem}.png").stat().st_size > 10000
    assert "matplotlib.pyplot" not in sys.modules


def test_layer_norm_joins_and_processes_change_nothing(monkeypatch):
    from initlab.experiments import replicas

    monkeypatch.setattr(replicas, "PROCESS_WORK", 0)  # a run this small would stay in-process
    kw = {**SMALL, "epochs": 2, "scales": [0.3, 0.01]}
    one = run_normalize(norms="batch,layer", jobs=1, **kw)
    two = run_normalize(norms=["layer", "batch", "none"], jobs=2, **kw)
    assert one.norms == ["none", "batch", "layer"] and two.norms == ["none", "layer", "batch"]
    for norm in one.norms:
        for a, b in zip(one.rows_of(norm), two.rows_of(norm), strict=True):
            # BLAS may sum in another order in a worker process: float32 losses agree to ~1e-6
            assert a.train_accuracy == b.train_accuracy and a.test_accuracy == b.test_accuracy
            assert a.final_loss.mean == pytest.approx(b.final_loss.mean, rel=1e-5)


@pytest.mark.parametrize("kwargs, message", [
    ({"norms": "nosuch"}, "unknown norm 'nosuch'"), ({"momentum": -1}, "momentum"),
    ({"eps": 0}, "eps must be"), ({"batch": 1}, "at least 2 examples"),
    ({"scales": [0.1, 0]}, "'scales' must be a finite number > 0"), ({"threshold": 2}, "threshold"),
    ({"dtype": "float16"}, "'dtype' must be one of float32, float64, got 'float16'")])
def test_bad_input(kwargs, message):
    with pytest.raises(InitlabError, match=message):
        run_normalize(epochs=1, seeds=1, **{"scales": [0.1], **kwargs})


def test_cli_json_has_the_documented_keys(capsys):
    assert main(["normalize", *CLI_SMALL, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == ["rows", "config"]
    assert len(data["rows"]) == 4
    row = data["rows"][0]
    assert list(row) == ["scale", "norm", "seeds", "train_accuracy", "test_accuracy",
                         "final_loss", "diverged"]
    assert list(row["train_accuracy"]) == ["mean", "std", "ci95", "low", "high"]
    assert list(row["final_loss"]) == ["mean", "std"]
    assert (row["scale"], row["norm"]) == (0.3, "none")


def test_cli_table_verdicts_and_files(tmp_path, capsys):
    assert main(["normalize", *CLI_SMALL, "--norm", "batch,layer", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "final loss" in out and "layer" in out
    assert "none: " in out and " of 2 scales train (mean train accuracy >= 0.55)" in out
    names = {p.name for p in tmp_path.iterdir() if not p.name.startswith(".")}
    assert names == {"results.json", "curves.png", "scales.png"}
    loaded = NormalizeResult.load(tmp_path / "results.json")
    assert loaded.norms == ["none", "batch", "layer"]


@pytest.mark.parametrize("argv, message", [
    (["--norm", "nosuch"], "unknown norm 'nosuch'; valid: none, batch, layer"),
    (["--momentum", "1.5"], "momentum must be a number in [0, 1], got 1.5"),
    (["--eps", "0"], "eps must be a finite number > 0, got 0.0"),
    (["--batch", "1"], "needs at least 2 examples per batch"),
    (["--scales", "1,-2"], "--scales: must be a finite number > 0, got [1.0, -2.0]")])
def test_cli_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    try:
        code = main(["normalize", *CLI_SMALL, *argv])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
