"""The trainability phase diagram as a sweep: one (sigma_w^2, depth) cell per point, one row
per seed, the heat map over seeds and the 6 xi_c overlay from theory; the shipped example."""

import json
from pathlib import Path

import numpy as np
import pytest

from initlab.cli import main
from initlab.errors import InitlabError
from initlab.nn.activations import get_activation
from initlab.plots.sweep import heat_figure
from initlab.sweep import load, read_sweep
from initlab.sweep.summary import SweepHeat, heat, overlay
from initlab.theory import depth_scales

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sweep_trainability.toml"

TINY = """\
experiment = "propagate"
[fixed]
trainability = true
activation = "tanh"
sigma_b2 = 0.05
depth = 3
width = 16
seeds = 1
train_width = 8
train_seeds = 2
train_size = 60
steps = 3
[grid]
sigma_w2 = [1.0, 4.0]
depths = [2, 3]
"""


def _records(rows):
    return rows.to_dict("records") if hasattr(rows, "to_dict") else rows


@pytest.fixture(scope="module")
def phase(tmp_path_factory):
    """A 2 x 2 trainability sweep run through the CLI on 2 local processes."""
    tmp = tmp_path_factory.mktemp("phase")
    (tmp / "phase.toml").write_text(TINY)
    store = tmp / "phase.db"
    code = main(["sweep", "run", str(tmp / "phase.toml"), "--store", str(store),
                 "--workers", "2", "-q"])
    assert code == 0
    return store


def test_one_row_per_seed_and_the_heat_map_averages_them(phase, tmp_path, capsys):
    rows = _records(load(phase))
    assert len(rows) == 2 * 2 * 2
    assert sorted((r["sigma_w2"], r["depth"], r["seed"]) for r in rows) == [
        (w, d, s) for w in (1.0, 4.0) for d in (2, 3) for s in (0, 1)]
    assert {r["activation"] for r in rows} == {"tanh"} and {r["sigma_b2"] for r in rows} == {0.05}
    # each point's stored result holds the mean over its seeds: the rows give it back
    from initlab.sweep.store import Store

    with Store(phase, create=False) as store:
        for point in store.rows():
            (cell,) = point["result"]["trainability"]
            mine = [r["train_accuracy"] for r in rows if r["point"] == point["key"]]
            assert np.mean(mine) == pytest.approx(cell["train_accuracy"]["mean"])
    png = tmp_path / "phase.png"
    argv = ["sweep", "plot", "--store", str(phase), "--x", "sigma_w2", "--y", "depth",
            "--z", "train_accuracy", "--overlay", "six_xi_c", "--out", str(png)]
    assert main(argv) == 0  # the grid axis 'depths' follows 'depth': nothing is mixed
    assert png.stat().st_size > 5000
    data = heat(rows, ["sigma_w2", "depths"], "sigma_w2", "depth", "train_accuracy")
    assert data.xs == [1.0, 4.0] and data.ys == [2, 3] and data.n == [[2, 2], [2, 2]]
    top_right = [r["train_accuracy"] for r in rows if r["sigma_w2"] == 4.0 and r["depth"] == 3]
    assert data.mean[1][1] == pytest.approx(np.mean(top_right))


def test_overlay_is_six_xi_c_from_theory(phase):
    rows = _records(load(phase))
    data = heat(rows, ["sigma_w2", "depths"], "sigma_w2", "depth", "train_accuracy")
    curve = overlay("six_xi_c", rows, data)
    tanh = get_activation("tanh")
    assert curve.x[0] == 1.0 and curve.x[-1] == 4.0
    for w, d in list(zip(curve.x, curve.y, strict=True))[::17]:
        xi_c = depth_scales(tanh, w, 0.05)[1]
        assert d == pytest.approx(6 * xi_c, rel=1e-9)
    assert all(d is not None and d > 0 for d in curve.y)
    # transposed axes give the same curve, swapped
    flipped = overlay("six_xi_c", rows, heat(rows, ["sigma_w2", "depths"], "depth", "sigma_w2",
                                             "train_accuracy"))
    assert flipped.x == curve.y and flipped.y == curve.x
    data.overlay = curve
    assert SweepHeat.from_dict(json.loads(data.to_json())) == data  # round-trips
    ax = heat_figure(data).axes[0]
    (line,) = ax.get_lines()
    # drawn on the cells: sigma_w2 1 and 4 are the first and the last column
    assert line.get_xdata()[0] == pytest.approx(0.0) and line.get_xdata()[-1] == pytest.approx(1)
    k = 60
    assert line.get_ydata()[k] == pytest.approx(curve.y[k] - 2)  # depths 2, 3 -> rows 0, 1


def test_overlay_bad_input(phase, tmp_path, capsys):
    rows = _records(load(phase))
    base = ["sweep", "plot", "--store", str(phase), "--out", str(tmp_path / "x.png")]
    assert main([*base, "--x", "sigma_w2", "--y", "train_accuracy", "--overlay",
                 "six_xi_c"]) == 2
    assert "--overlay six_xi_c draws on a heat map: give --z METRIC" in capsys.readouterr().err
    assert main([*base, "--x", "sigma_w2", "--y", "seed", "--z", "train_accuracy",
                 "--overlay", "six_xi_c", "--where", "depth=2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs sigma_w2 on one axis and depth on the other" in err
    assert main([*base, "--x", "sigma_w2", "--y", "depth", "--z", "train_accuracy",
                 "--overlay", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice" in err and "nosuch" in err
    data = heat(rows, ["sigma_w2", "depths"], "sigma_w2", "depth", "train_accuracy")
    no_act = [{k: v for k, v in r.items() if k != "activation"} for r in rows]
    with pytest.raises(InitlabError, match="needs the column 'activation' in every row"):
        overlay("six_xi_c", no_act, data)
    mixed = [{**r, "sigma_b2": 0.05 * (1 + r["seed"])} for r in rows]
    with pytest.raises(InitlabError, match="column 'sigma_b2' takes 2 values; pick one"):
        overlay("six_xi_c", mixed, data)
    one_row = heat(rows, ["sigma_w2", "depths"], "sigma_w2", "depth", "train_accuracy",
                   where={"depth": "2"})
    with pytest.raises(InitlabError, match="at least 2 numeric values on each axis"):
        overlay("six_xi_c", rows, one_row)


def test_the_shipped_example_is_the_papers_grid_and_every_point_parses():
    sweep = read_sweep(EXAMPLE)
    assert sweep.experiment == "propagate" and sweep.fixed["trainability"] is True
    assert sweep.fixed["activation"] == "tanh" and sweep.fixed["sigma_b2"] == 0.05
    assert sweep.fixed["train_width"] == 100 and sweep.fixed["train_seeds"] == 3
    ws, ds = sweep.grid["sigma_w2"], sweep.grid["depths"]
    assert len(ws) == 30 and len(ds) == 30 and max(ds) == 300 and len(sweep.points) == 900
    # both sides of the edge of chaos (tanh, sigma_b^2 = 0.05: sigma_w^2 = 1.76)
    assert min(ws) < 1.76 < max(ws)
    from initlab.cli.point import check_point

    for p in (sweep.points[0], sweep.points[-1]):
        config = check_point(p.config)
        assert config.trainability and len(config.sigma_w2) == 1 and len(config.depths) == 1
        assert (config.steps, config.lr, config.train_width) == (1000, 0.002, 100)


def test_the_shipped_example_plans(capsys):
    assert main(["sweep", "plan", str(EXAMPLE)]) == 0
    assert "900 points (30 x 30) of propagate" in capsys.readouterr().out
