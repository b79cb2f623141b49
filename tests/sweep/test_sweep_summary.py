"""What ``sweep plot`` draws: means and 95% t-intervals per group, the mixing guard, records."""

import math

import numpy as np
import pytest
from scipy import stats

from initlab.errors import InitlabError
from initlab.experiments.regularize import RegularizeResult
from initlab.plots.sweep import heat_figure, line_figure
from initlab.sweep.summary import SweepLines, heat, lines, parse_where
from initlab.sweep.table import flat_rows, to_csv


def points():
    """Stored points of a grid lr x layers, each with records for two inits x three seeds."""
    rng = np.random.default_rng(0)
    out = []
    for lr in (0.01, 0.1, 1.0):
        for layers in ("10,5", "32,32"):
            records = [{"init": init, "seed": s, "acc": float(rng.uniform()), "diverged": s == 2}
                       for init in ("he", "xavier") for s in range(3)]
            out.append({"key": f"{lr}-{layers}", "status": "done", "records": records,
                        "grid": {"lr": lr, "layers": [int(v) for v in layers.split(",")]}})
    out.append({"key": "x", "status": "failed", "records": None, "grid": {"lr": 5.0,
                                                                           "layers": [1]}})
    return out


def test_lines_are_means_and_t_intervals_over_seeds():
    rows = flat_rows(points())
    assert len(rows) == 6 * 6 and rows[0]["layers"] == "10,5"  # the failed point has no rows
    data = lines(rows, ["lr", "layers"], "lr", "acc", hue="init", where={"layers": "32,32"})
    assert [s.label for s in data.series] == ["he", "xavier"]
    assert data.series[0].x == [0.01, 0.1, 1.0] and data.log_x and not data.categorical
    values = [r["acc"] for r in rows if r["init"] == "xavier" and r["lr"] == 0.1
              and r["layers"] == "32,32"]
    half = stats.t.ppf(0.975, 2) * np.std(values, ddof=1) / math.sqrt(3)
    assert data.series[1].mean[1] == pytest.approx(np.mean(values))
    assert data.series[1].ci95[1] == pytest.approx(half)
    assert data.series[1].n == [3, 3, 3]
    frac = lines(rows, [], "lr", "diverged", hue="init", where={"layers": "10,5"})
    assert frac.series[0].mean == pytest.approx([1 / 3] * 3)
    assert SweepLines.from_dict(data.to_dict()) == data  # round-trips through JSON
    assert line_figure(data).axes[0].get_xscale() == "log"


def test_varying_columns_must_be_drawn_or_pinned():
    rows = flat_rows(points())
    with pytest.raises(InitlabError, match="column 'layers' takes 2 values .10,5, 32,32. "
                                           "that one mean would mix; pick one with --where"):
        lines(rows, ["lr", "layers"], "lr", "acc", hue="init")
    with pytest.raises(InitlabError, match="column 'init' takes 2 values"):
        lines(rows, ["lr", "layers"], "lr", "acc", where={"layers": "10,5"})
    with pytest.raises(InitlabError, match="no finished run matches --where layers=7"):
        lines(rows, ["lr", "layers"], "lr", "acc", where={"layers": "7"})
    with pytest.raises(InitlabError, match="unknown column 'depth' in --where"):
        lines(rows, ["lr", "layers"], "lr", "acc", where={"depth": "7"})
    with pytest.raises(InitlabError, match="--where takes COLUMN=VALUE, got 'lr'"):
        parse_where(["lr"])


def test_heat_cells_are_means():
    rows = flat_rows(points())
    data = heat(rows, ["lr", "layers"], "lr", "layers", "acc", where={"init": "he"})
    assert data.xs == [0.01, 0.1, 1.0] and data.ys == ["10,5", "32,32"]
    cell = [r["acc"] for r in rows if r["init"] == "he" and r["lr"] == 1.0
            and r["layers"] == "32,32"]
    assert data.mean[1][2] == pytest.approx(np.mean(cell)) and data.n[1][2] == 3
    assert len(heat_figure(data).axes) == 2  # the map and its colorbar


def test_csv_and_generic_records_of_a_result_without_its_own():
    rows = flat_rows(points())
    assert to_csv(rows).splitlines()[0] == "point,lr,layers,init,seed,acc,diverged"
    stat = {"mean": 0.5, "std": 0.1, "ci95": 0.2}
    result = RegularizeResult.from_dict({"rows": [
        {"variant": v, "l2": 0.0, "dropout": 0.0, "seeds": 2, "train_accuracy": stat,
         "test_accuracy": stat, "gap": stat} for v in ("none", "both")], "config": {"x": 1}})
    records = result.records()
    assert [r["variant"] for r in records] == ["none", "both"]
    assert records[0]["test_accuracy.ci95"] == 0.2 and "config" not in records[0]


def test_compare_and_activations_records_match_their_results():
    from initlab.experiments.activations import run_activations
    from initlab.experiments.compare import run_compare

    result = run_compare(["he", "zeros"], dataset="moons", n_samples=60, seeds=3, seed=5,
                         iterations=20, lr=0.1)
    records = result.records()
    assert [(r["init"], r["seed"]) for r in records] == [
        (i, s) for i in ("he", "zeros") for s in (5, 6, 7)]
    for row in result.rows:
        mine = [r["test_accuracy"] for r in records if r["init"] == row.init]
        assert np.mean(mine) == pytest.approx(row.test_accuracy.mean)
        assert sum(r["diverged"] for r in records if r["init"] == row.init) == row.diverged
    act = run_activations(inits=["he"], activations=["relu"], depth=3, width=8, batch=4)
    rows = act.records()
    assert [r["layer"] for r in rows] == [1, 2, 3] and [r["last"] for r in rows] == [
        False, False, True]
    assert rows[2]["std"] == act.runs[0].layers[2].std
    assert {r["verdict"] for r in rows} == {act.runs[0].verdict.state}
    assert rows[0]["vanishes_at"] == act.runs[0].verdict.vanishes_at
