"""The width studies: the coordinate check's slopes and verdicts, the transfer study's optima,
threshold rates and drift, computed again here from the rows they summarize; bad input."""

import json
import math

import numpy as np
import pytest

from initlab.cli import main
from initlab.errors import InitlabError
from initlab.experiments.width_coordcheck import SlopeRow, run_coordcheck, verdict_of
from initlab.experiments.width_transfer import run_transfer, threshold_rate


@pytest.fixture(scope="module")
def coord():
    return run_coordcheck(widths=(64, 256, 1024), depth=2, steps=2, seeds=2, batch=32,
                          params=("sp", "mup"))


def test_slopes_are_the_fit_of_the_seed_means_against_width(coord):
    for s in coord.slopes:
        widths = sorted({r.width for r in coord.rows})
        means = [np.mean([r.mean_abs for r in coord.rows if (r.param, r.step, r.layer, r.width)
                          == (s.param, s.step, s.layer, w)]) for w in widths]
        assert s.slope == pytest.approx(np.polyfit(np.log2(widths), np.log2(means), 1)[0],
                                        rel=1e-9, abs=1e-12)
    layers = {r.layer for r in coord.rows}
    assert layers == {"input", "activation1", "hidden2", "activation2", "output"}
    assert len(coord.rows) == 2 * 3 * 3 * 5 * 2  # params x widths x steps x layers x seeds


def test_at_init_every_parametrization_draws_the_same_hidden_layers(coord):
    at0 = {(r.param, r.width, r.layer, r.seed): r.mean_abs for r in coord.rows if r.step == 0}
    for (p, w, la, seed), v in at0.items():
        if p == "mup" and la != "output":  # muP rescales the readout only (zero biases)
            assert v == at0["sp", w, la, seed]


def test_sp_output_blows_up_after_one_adam_step_and_mup_stays(coord):
    slope = {(s.param, s.step, s.layer): s.slope for s in coord.slopes}
    assert slope["sp", 1, "output"] > 0.7
    assert abs(slope["mup", 1, "output"]) < 0.2
    assert coord.verdict["sp"].startswith("not stable")
    assert "output blows up" in coord.verdict["sp"]
    assert coord.verdict["mup"] == "stable"
    assert "output vanishes" in coord.at_init["mup"]  # muP's readout: 1/sqrt(width) at init


def test_verdicts_name_the_layer_the_direction_and_the_first_step():
    rows = [SlopeRow("sp", 1, "a", 0.1), SlopeRow("sp", 2, "a", 0.5),
            SlopeRow("sp", 1, "b", -0.3), SlopeRow("sp", 2, "b", -0.1)]
    text = verdict_of(rows, 0.2)
    assert text == ("not stable (band +-0.2): a blows up as width^+0.50 from step 2; "
                    "b vanishes as width^-0.30 from step 1")
    assert verdict_of(rows, 0.6) == "stable"
    assert "is not finite" in verdict_of([SlopeRow("sp", 1, "a", float("nan"))], 0.2)


def test_coordcheck_json_has_the_documented_keys(capsys):
    code = main(["width", "coordcheck", "--widths", "8,16", "--depth", "1", "--steps", "1",
                 "--seeds", "1", "--batch", "8", "--json", "-q"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["rows"][0]) == {"param", "width", "step", "layer", "mean_abs", "seed"}
    assert set(doc["slopes"][0]) == {"param", "step", "layer", "slope"}
    assert set(doc["verdict"]) == {"sp", "ntk", "mup"}


def test_threshold_rate_interpolates_in_log_lr_and_log_loss():
    lrs = np.array([1e-3, 1e-2, 1e-1])
    # loss 4 at 1e-2, 1 at 1e-1: threshold 2 is halfway in log loss, so halfway in log lr
    assert threshold_rate(lrs, np.array([8.0, 4.0, 1.0]), 2.0) == pytest.approx(10**-1.5)
    assert threshold_rate(lrs, np.array([8.0, 4.0, 3.0]), 2.0) is None  # never reached
    assert threshold_rate(lrs, np.array([1.0, 0.5, 0.2]), 2.0) is None  # below the grid
    assert threshold_rate(lrs, np.array([np.nan, 1.0, 0.5]), 2.0) == 1e-2


@pytest.fixture(scope="module")
def transfer():
    return run_transfer(widths=(16, 64), depth=2, steps=30, seeds=2, batch=32, train_size=300,
                        adam_lrs=(1e-3, 4e-3, 1.6e-2, 6.4e-2), sgd_lrs=(0.05, 0.2, 0.8))


def test_optimum_and_drift_follow_from_the_runs(transfer):
    for o in transfer.optimum:
        runs = [r for r in transfer.runs if (r.param, r.optimizer, r.width) ==
                (o.param, o.optimizer, o.width)]
        lrs = sorted({r.lr for r in runs})
        mean = [np.mean([r.final_loss if not r.diverged else np.inf for r in runs
                         if r.lr == lr]) for lr in lrs]
        assert o.lr == lrs[int(np.argmin(mean))]
        own = [min((r for r in runs if r.seed == s), key=lambda r: r.final_loss).lr
               for s in {r.seed for r in runs}]
        assert (o.lr_low, o.lr_high) == (min(own), max(own))
    for d in transfer.drift:
        a, b = (next(o for o in transfer.optimum if (o.param, o.optimizer, o.width) ==
                     (d.param, d.optimizer, w)) for w in (16, 64))
        assert d.factor == pytest.approx(b.lr / a.lr)
        assert d.within_noise == (a.lr_low <= b.lr_high and b.lr_low <= a.lr_high)


def test_transfer_json_has_the_documented_keys(transfer):
    doc = transfer.to_dict()
    assert {"param", "optimizer", "width", "lr", "seed", "final_loss", "diverged"} <= \
        set(doc["runs"][0])
    assert {"param", "optimizer", "width", "lr", "lr_low", "lr_high"} <= set(doc["optimum"][0])
    assert {"param", "optimizer", "factor"} <= set(doc["drift"][0])
    assert len(doc["runs"]) == 2 * (2 * 4 * 2 + 2 * 3 * 2)  # params x widths x (lrs x seeds)
    assert all(math.isfinite(r["final_loss"]) for r in doc["runs"] if not r["diverged"])


@pytest.mark.parametrize("argv, message", [
    (["coordcheck", "--widths", "32,64", "--base-width", "128"],
     "base width 128 is larger than width 32"),
    (["transfer", "--sgd-lrs", "0.1,0"], "argument --sgd-lrs: must be a finite number > 0"),
    (["transfer", "--params", "sp,xyz"], "argument --params: must be one of sp, ntk, mup"),
    (["coordcheck", "--widths", "64"], "widths must be at least two distinct values"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    assert main(["width", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert err.startswith(f"initlab width {argv[0]}: error: ")  # the action is named


def test_the_example_sweep_plans_and_a_tiny_width_sweep_runs(tmp_path, capsys):
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "examples" / "sweep_width.toml"
    assert main(["sweep", "plan", str(example)]) == 0
    assert "4 points (2 x 2) of width-transfer" in capsys.readouterr().out
    tiny = tmp_path / "w.toml"
    tiny.write_text('experiment = "width-coordcheck"\n[fixed]\nwidths = [8, 16]\ndepth = 1\n'
                    'steps = 1\nbatch = 8\nseeds = 1\n[grid]\noptimizer = ["adam", "sgd"]\n')
    store = tmp_path / "w.db"
    assert main(["sweep", "run", str(tiny), "--store", str(store), "--workers", "1", "-q"]) == 0
    capsys.readouterr()
    assert main(["sweep", "show", "--store", str(store), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["optimizer"] for r in rows} == {"adam", "sgd"}
    assert all(r["verdict.mup"] for r in rows)


@pytest.mark.parametrize("name", ["compare", "regularize", "normalize"])
def test_training_commands_take_param_and_base_width(name):
    from initlab.experiments import registry

    exp = registry.get(name)
    small = {"compare": {"dataset": "moons", "layers": (16, 16), "iterations": 20, "seeds": 1,
                         "init": ("he",),
                         "optimizer": "adam"},
             "regularize": {"layers": (16, 16), "epochs": 1, "seeds": 1, "train_size": 60},
             "normalize": {"layers": (16, 16), "epochs": 1, "seeds": 1, "train_size": 60,
                           "scales": (0.1,)}}[name]
    key = {"compare": lambda r: r.rows[0].final_loss.mean,
           "regularize": lambda r: r.rows[0].train_accuracy.mean,
           "normalize": lambda r: [row.final_loss.mean for row in r.rows]}[name]
    sp = key(exp.execute(exp.config.from_dict(small)))
    at_base = key(exp.execute(exp.config.from_dict({**small, "param": "mup", "base_width": 16})))
    narrower = key(exp.execute(exp.config.from_dict({**small, "param": "mup", "base_width": 4})))
    assert at_base == sp and narrower != sp  # muP at its base width is SP, bit for bit
    with pytest.raises(InitlabError, match="--param mup needs --base-width"):
        exp.config.from_dict({**small, "param": "mup"})
