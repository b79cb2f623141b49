"""The overfitting study: regularization narrows the train/test gap on a small subset."""

import json

import numpy as np
import pytest

from initlab.cli import main
from initlab.errors import InitlabError
from initlab.experiments.regularize import run_regularize


@pytest.fixture(scope="module")
def study():
    return run_regularize(dataset="digits", train_size=300, layers=[100, 100, 100], l2=0.05,
                          dropout=0.3, seeds=2, lr=0.05, epochs=100)


def test_unregularized_net_overfits_and_regularization_narrows_the_gap(study):
    none, l2, dropout, both = study.rows
    assert none.train_accuracy.mean > 0.97
    assert none.gap.mean > 0.05
    assert both.gap.mean < none.gap.mean
    assert min(l2.gap.mean, dropout.gap.mean) < none.gap.mean


def test_curves_and_variants(study):
    assert [r.variant for r in study.rows] == ["none", "l2(0.05)", "dropout(0.3)", "both"]
    assert len(study.rows[0].train_curves) == 2
    assert len(study.rows[0].test_curves[0]) == len(study.iterations)


def test_bad_rates():
    with pytest.raises(InitlabError, match=r"'dropout' must lie in \(0, 1\), got 1.5"):
        run_regularize(dropout=1.5, epochs=1)


def test_cli(tmp_path, capsys):
    argv = ["regularize", "--train-size", "100", "--layers", "20", "--seeds", "1",
            "--epochs", "3", "--json", "--out", str(tmp_path)]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["variant"] for r in out["rows"]] == ["none", "l2(0.01)", "dropout(0.2)", "both"]
    assert (tmp_path / "curves.png").exists()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_trains_in_the_dtype_asked_for(dtype, monkeypatch):
    import initlab.experiments.replicas as replicas

    seen = []

    def spy(model, X, y, **kw):
        seen.append((model.dtype, X.dtype, kw["X_test"].dtype))
        return fit(model, X, y, **kw)

    fit = replicas.fit
    monkeypatch.setattr(replicas, "fit", spy)
    result = run_regularize(train_size=60, layers=[8], seeds=1, epochs=2, dtype=dtype)
    assert seen == [(np.dtype(dtype),) * 3] * 4
    assert result.config["dtype"] == dtype


def test_bad_dtype():
    with pytest.raises(InitlabError, match="'dtype' must be one of float32, float64, got "
                       "'float16'"):
        run_regularize(dtype="float16", epochs=1)


def test_cli_dtype(capsys):
    argv = ["regularize", "--train-size", "60", "--layers", "8", "--seeds", "1", "--epochs",
            "2", "--json"]
    assert main([*argv, "--dtype", "float64"]) == 0
    assert json.loads(capsys.readouterr().out)["config"]["dtype"] == "float64"
    assert main(argv) == 0  # float32 by default
    assert json.loads(capsys.readouterr().out)["config"]["dtype"] == "float32"
    assert main([*argv, "--dtype", "float16"]) == 2
    assert "--dtype: must be one of float32, float64, got 'float16'" in capsys.readouterr().err


def test_the_variants_train_in_processes_with_the_same_bits(monkeypatch):
    from initlab.experiments import replicas

    monkeypatch.setattr(replicas, "PROCESS_WORK", 0)  # a run this small would stay in-process
    kw = {"train_size": 60, "layers": [8], "seeds": 3, "epochs": 2, "init": "lsuv"}
    one, two = run_regularize(jobs=1, **kw), run_regularize(jobs=3, **kw)
    assert one.to_dict(detail=True) == two.to_dict(detail=True)
    assert one.rows[1].lsuv.replicas == [0, 1, 2]  # LSUV's columns named by seed


def test_a_config_or_keywords_not_both():
    from initlab.experiments.regularize import RegularizeConfig

    config = RegularizeConfig(train_size=40, layers=(4,), seeds=1, epochs=1)
    assert run_regularize(config=config).to_dict() == run_regularize(
        train_size=40, layers=[4], seeds=1, epochs=1).to_dict()
    with pytest.raises(InitlabError, match="give run_regularize a config or keyword options, "
                       "not both"):
        run_regularize(config=config, seeds=2)
    with pytest.raises(InitlabError, match="give iterations or epochs, one of them"):
        run_regularize(iterations=10, epochs=2)
    assert RegularizeConfig.from_dict({"iterations": 10}).epochs is None  # they replace epochs
