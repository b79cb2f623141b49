"""The explorer's data: complete grid, equal to run_activations, encodings round-trip, budget."""

import math

import numpy as np
import pytest

from initlab.cli import main
from initlab.errors import InitlabError
from initlab.experiments.activations import run_activations
from initlab.explore import plan, render
from initlab.explore.atinit import axes, batch_for, build_atinit, slice_config, slider_stds
from initlab.explore.encode import bar_heights, decode, encode, encoded_bytes


def test_encodings_round_trip():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5, 2)).astype(np.float32)
    x[0, 0, 0], x[0, 0, 1] = np.nan, np.inf
    np.testing.assert_array_equal(decode(encode(x)), x)
    big = np.array([1e40, -2.5e-300, 1.0])
    np.testing.assert_array_equal(decode(encode(big, "f8")), big)
    assert decode(encode(big))[0] == np.inf
    heights = bar_heights(rng.integers(0, 1000, (4, 40)))
    assert heights.max(axis=1).tolist() == [255] * 4
    np.testing.assert_array_equal(decode(encode(heights, "u1")), heights)
    bits = rng.random((2, 7, 9)) > 0.5
    np.testing.assert_array_equal(decode(encode(bits, "bits")), bits)
    for kind, a in [("f8", big), ("u1", heights), ("bits", bits)]:
        z = encode(a, kind, deflate=True)
        assert z["z"] and decode(z).tolist() == decode(encode(a, kind)).tolist()
    lines = ["tanh / he: healthy", "relu / normal(0.01): signal vanishes; x0.5 ", "é"]
    assert decode(encode(lines, "text", True)) == lines and decode(encode([], "text")) == []
    with pytest.raises(InitlabError, match="one-line"):
        encode(["a\nb"], "text")
    assert len(encode(x)["b64"]) == encoded_bytes(x.size)
    assert bar_heights(np.zeros((2, 3))).tolist() == [[0, 0, 0]] * 2
    with pytest.raises(InitlabError, match="0..255"):
        encode(np.array([300]), "u1")


def test_slider_stops_are_exact_specs():
    assert slider_stds(2) == [0.001, 0.00316, 0.01, 0.0316, 0.1, 0.316, 1.0, 3.16, 10.0]
    assert slider_stds(1) == [0.001, 0.01, 0.1, 1.0, 10.0]


def test_grid_is_complete_and_equals_run_activations(small_data):
    g = small_data["atinit"]
    DEPTH = g["depth"]
    fwd, grad, verdicts = decode(g["fwd"]), decode(g["grad"]), decode(g["verdict"])
    names = [n for n, _ in g["axes"]]
    assert names == ["activation", "init", "width", "norm"]
    acts, inits, widths, norms = (v for _, v in g["axes"])
    assert norms == ["none", "batch"]
    tri = DEPTH * (DEPTH + 1) // 2
    assert inits == ["normal(0.01)", "normal(1)", "lecun", "xavier", "he", "orthogonal"]
    assert fwd.shape == (48, DEPTH, 2) and grad.shape == (48, tri, 2)
    assert np.isfinite(fwd).all() and np.isfinite(grad).all()
    assert all(verdicts) and len(verdicts) == 48 * DEPTH
    hist = decode(g["act_hist"])
    assert (hist.max(axis=-1) == 255).all()  # every layer of every cell has a histogram
    # each cell equals the engine's own run at that depth, forward and backward, to float32
    # rounding: the grid runs all activations at once, and BLAS may round stacked products
    # differently in the last bit
    for k, i, w, n, d in [(0, 0, 0, 0, DEPTH), (1, 4, 1, 1, 2), (0, 2, 1, 0, 1),
                          (0, 0, 1, 1, DEPTH)]:
        r = run_activations(inits[i], acts[k], depth=d, width=widths[w],
                            batch=batch_for(widths[w]), norm=norms[n]).runs[0]
        top, cell = d * (d - 1) // 2, ((k * len(inits) + i) * 2 + w) * 2 + n
        for layer in r.layers:
            np.testing.assert_allclose(fwd[cell, layer.index - 1],
                                       [layer.std, layer.predicted_std], rtol=1e-6)
            np.testing.assert_allclose(grad[cell, top + layer.index - 1],
                                       [layer.grad_std, layer.predicted_grad_std], rtol=1e-6)
        assert verdicts[cell * DEPTH + d - 1] == r.summary()
    # batch normalization restores the scale std 0.01 loses (tanh, width 32)
    small, bn = ((0 * len(inits) + 0) * 2 + 1) * 2, ((0 * len(inits) + 0) * 2 + 1) * 2 + 1
    assert fwd[bn, -1, 0] > 10 * fwd[small, -1, 0]


def test_the_pages_command_is_the_activations_experiments_own(small_data):
    """The page writes its command from the data's flags (the activations Config's own
    options): that command, parsed by ``initlab activations``' parser, is the Config the
    cell's slice ran (its activation and init alone, at the shown depth)."""
    import shlex

    from initlab.cli import build_parser
    from initlab.cli.options import config_from_args
    from initlab.experiments import registry

    g = small_data["atinit"]
    flags = g["flags"]
    setting = {"activation": "relu", "init": "normal(0.01)", "width": 32, "norm": "batch"}
    depth = 3
    words = [flags["activation"], setting["activation"], flags["init"],
             shlex.quote(setting["init"]), flags["depth"], str(depth), flags["width"],
             str(setting["width"]), flags["batch"], str(g["batch"]["32"]), flags["norm"],
             setting["norm"], "--json"]  # as page.js joins them
    args = build_parser("activations").parse_args(["activations", *shlex.split(" ".join(words))])
    shown = config_from_args(args, registry.get("activations").config)
    ran = slice_config(32, {"norm": "batch"}, g["depth"], ["relu"], ["normal(0.01)"])
    assert shown == ran.replace(depth=depth)


def test_explore_options_are_its_configs_fields():
    from initlab.cli import command_parser
    from initlab.explore.build import ExploreConfig

    dests = {a.dest for a in command_parser("explore").options}
    run_options = {"help", "out", "jobs", "quiet", "dump_config"}
    assert dests - run_options == set(ExploreConfig.field_names())
    with pytest.raises(InitlabError, match="widths"):
        plan(widths=[16, -1])


def test_a_further_axis_is_a_run_activations_keyword():
    grid = axes(["relu"], [0.1], [8], norms=["none"]) + [("bias", [0.0, 0.5])]
    g = build_atinit(grid, depth=2)
    assert g["axes"][4] == ["bias", [0.0, 0.5]] and g["flags"]["bias"] == "--bias"
    fwd = decode(g["fwd"])  # cells: (init, bias) for normal(0.1), lecun, ... x bias 0, 0.5
    assert fwd.shape == (5 * 2, 2, 2)
    for b, bias in enumerate([0.0, 0.5]):
        r = run_activations("he", "relu", depth=2, width=8, batch=batch_for(8), bias=bias)
        cell = (3 * 2) + b  # he is the 4th init
        np.testing.assert_allclose(fwd[cell, :, 0], [s.std for s in r.runs[0].layers],
                                   rtol=1e-6)


def test_training_frames(small_data):
    t = small_data["training"]["datasets"]["circles"]
    cost, img = decode(t["cost"]), decode(t["boundary"])
    assert t["steps"] == list(range(0, 601, 10))
    assert cost.shape == (6, 61) and img.shape == (6, 61, 24, 24)
    zeros, he = 0, 5
    assert np.allclose(cost[zeros], math.log(2))  # zeros never leave ln 2
    assert cost[he, -1] < cost[he, 0]
    assert not (img[he, 0] == img[he, -1]).all()  # he's boundary moves
    assert (decode(t["act_std"])[zeros, :, :2] == 0).all()  # hidden units all stay 0


def test_the_last_frame_is_the_trained_net(small_data):
    """The last frame is step ``iterations`` (the slider's end), and its cost and accuracy are
    those of the net after all ``iterations`` updates: the course's own run agrees."""
    from initlab.experiments.classic import INITS as COURSE
    from initlab.experiments.classic import run_classic

    training = small_data["training"]
    t = training["datasets"]["circles"]
    assert t["steps"][-1] == training["iterations"] == 600
    cost, acc = decode(t["cost"]), decode(t["accuracy"])
    course = run_classic("circles", iterations=600, record_every=600, boundary_points=2)
    for row in course.rows:
        r = training["inits"].index(COURSE[row.init])
        np.testing.assert_allclose(cost[r, -1], row.final_cost, rtol=1e-6)
        np.testing.assert_allclose(acc[r, -1], row.train_accuracy, rtol=1e-6)


def test_frame_interval_must_end_on_the_last_step():
    from initlab.explore.training import train_frames

    with pytest.raises(InitlabError, match="frame interval 7 does not divide the 20 steps"):
        train_frames("circles", iterations=20, every=7)


@pytest.mark.parametrize("name", ["circles", "moons", "spiral"])
def test_boundary_view_covers_every_point_with_a_margin(name):
    """Each dataset's panel draws the plane [x0, x1] x [y0, y1] of its ``extent``: every
    training point (the ones drawn) and every test point lie inside it, 0.2 from its edges."""
    from initlab.explore.training import DATASETS, dataset, train_frames

    assert name in DATASETS
    t = train_frames(name, iterations=1, every=1, points=4)
    x0, x1, y0, y1 = t["extent"]
    data = dataset(name)
    X = np.concatenate([data.X_train, data.X_test])
    np.testing.assert_array_equal(np.asarray(t["X"]), np.round(data.X_train, 4))
    assert x0 + 0.2 < X[:, 0].min() and X[:, 0].max() < x1 - 0.2, (name, t["extent"])
    assert y0 + 0.2 < X[:, 1].min() and X[:, 1].max() < y1 - 0.2, (name, t["extent"])


def test_class_colours_are_the_reports(small_data):
    """The explorer's boundary panels colour the classes as the report's figures do
    (plots.common's constants, passed in the page data: they cannot drift apart)."""
    from initlab.plots.common import CLASS_POINTS, CLASS_REGIONS

    colours = small_data["training"]["class_colours"]
    assert colours == {"regions": list(CLASS_REGIONS), "points": list(CLASS_POINTS)}


def test_page_is_self_contained(small_data):
    page = render(small_data)
    assert "http://" not in page.replace("http://www.w3.org", "")
    assert "https://" not in page.split("/*! https://github.com/leeoniya/uPlot")[0]
    assert "uPlot 1.6.32" in page and "MIT" in page
    assert page.count("<script") == 3 and "</script>" not in page.split('"atinit"')[1][:10]


def test_budget_refusal_names_the_estimate():
    with pytest.raises(InitlabError, match=r"about \d+\.\d MB, over the 8 MB budget"):
        plan(widths=[16, 32, 64, 128, 256, 512], depth=20, per_decade=4)
    assert plan(quick=True)["estimate"] < 8e6


def test_cli_bad_input_is_one_line(tmp_path, capsys):
    assert main(["explore", "--widths", "16,32,64,128,256,512", "--stops", "4", "--out",
                 str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "over the 8 MB budget" in err
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["explore", "--quick", "--out", str(blocker / "sub"), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "output folder" in err and "sub" in err


def test_cli_writes_the_page(tmp_path, capsys):
    assert main(["explore", "--quick", "--widths", "16", "--depth", "2", "--stops", "1",
                 "--jobs", "1", "-q", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"wrote {tmp_path / 'explore.html'} (")
    page = (tmp_path / "explore.html").read_text()
    assert '"width",[16]' in page and '"depth":2' in page


def test_phase_grid_equals_the_theory_api(small_data):
    from initlab.nn.activations import get_activation
    from initlab.theory import chi_1, critical_sigma_w2, iterate, mean_field

    p = small_data["phase"]
    sw, sb, depth = p["sw2"], p["sb2"], p["depth"]
    assert p["activations"] == ["tanh", "relu"] and p["numbers_order"][2] == "chi_1"
    for name in p["activations"]:
        act, g = get_activation(name), p["grids"][name]
        nums, q, c = decode(g["numbers"]), decode(g["q"]), decode(g["c"])
        assert nums.shape == (len(sb), len(sw), 5) and q.shape == (len(sb), len(sw), depth)
        for ib, iw in [(0, 0), (1, 2), (2, 4), (0, 3)]:
            mf = mean_field(act, sw[iw], sb[ib])
            want = [mf.q_star, mf.c_star, mf.chi_1, mf.xi_q, mf.xi_c]
            np.testing.assert_allclose(nums[ib, iw], want, rtol=1e-9)
            q1, c1 = iterate(act, sw[iw], sb[ib], q0=p["q0"], c0=p["c0"], depth=depth)
            np.testing.assert_allclose(q[ib, iw], q1, rtol=1e-9)
            np.testing.assert_allclose(c[ib, iw], c1, rtol=1e-6)  # stored as float32
        fine_w = np.linspace(sw[0], sw[-1], p["fine"][0])
        fine_b = np.linspace(sb[0], sb[-1], p["fine"][1])
        np.testing.assert_allclose(decode(g["chi"]), chi_1(act, fine_w[None, :], fine_b[:, None]),
                                   rtol=1e-6)
        np.testing.assert_allclose(decode(g["critical"]), critical_sigma_w2(act, fine_b))
    assert np.allclose(decode(p["grids"]["relu"]["critical"]), 2.0)  # chi_1 = sigma_w^2 / 2


def test_data_with_two_workers_equal_the_data_built_here(monkeypatch):
    """jobs=2 runs the same tasks in initlab's worker processes and puts them together in the
    tasks' order: the page data are the same bytes as jobs=1 (all but the build time)."""
    from initlab.explore import build

    # a small build: the tasks' arguments are made here, so the workers run these sizes too
    monkeypatch.setattr(build, "schedule", lambda quick: (300, 100))
    monkeypatch.setattr(build, "QUICK_PHASE", {"sw2": [0.5, 1.0, 2.0], "sb2": [0.0, 0.05],
                                               "fine": (4, 3), "depth": 5})
    seen = []
    data = [build.build_explorer(True, widths=[16, 32], depth=3, per_decade=1, jobs=jobs,
                                 progress=lambda done, total: seen.append((done, total)))
            for jobs in (1, 2)]
    for d in data:
        assert d["built"].pop("seconds") >= 0
    assert render(data[0]) == render(data[1])
    n = len(build.tasks(build.plan(True, [16, 32], 3, 1)))
    assert seen == [(k, n) for k in range(1, n + 1)] * 2
