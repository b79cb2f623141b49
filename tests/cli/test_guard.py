"""What every command goes through: output place first, budgets, replaced output, progress."""

import io
import time

import numpy as np
import pytest

from initlab.cli import main
from initlab.errors import InitlabError
from initlab.runtime.budget import TIME_BUDGET, Estimate, check
from initlab.runtime.progress import Progress

TINY = {
    "compare": ["--n-samples", "24", "--iterations", "2", "--seeds", "1", "--init", "he"],
    "activations": ["--depth", "2", "--width", "4", "--batch", "2", "--init", "he"],
    "regularize": ["--train-size", "20", "--layers", "3", "--epochs", "1", "--seeds", "1"],
    "reproduce": ["coursera"],
    "report": ["--quick"],
}


def one_line_exit_2(argv, capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


@pytest.mark.parametrize("command", sorted(TINY))
def test_unusable_out_is_refused_before_any_work(command, tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    start = time.perf_counter()
    err = one_line_exit_2([command, *TINY[command], "--out", str(notes / "sub")], capsys)
    assert "is a file, not a folder" in err and time.perf_counter() - start < 30  # imports only
    assert notes.read_text() == "mine"


def test_budget_refuses_with_the_estimate_and_force_skips_it(capsys):
    err = one_line_exit_2(["compare", "--iterations", "100000000"], capsys)
    assert "would take about" in err and "limit 1.0 h" in err and "--force" in err
    err = one_line_exit_2(["init", "he", "--shape", "100000,100000"], capsys)
    assert "GiB of memory" in err
    assert main(["init", "he", "--shape", "300,300", "--force"]) == 0
    with pytest.raises(InitlabError, match="needs about 2.0 GiB"):
        check(Estimate(2 * 2**30, 1, "x"), memory=2**30)
    check(Estimate(2**20, 10, "x"), memory=2**30)  # within both limits: no error


def test_many_seeds_of_tiny_nets_are_refused_before_any_work(capsys):
    """2-unit nets cost almost no arithmetic: the estimate counts each net's calls and kept
    statistics, so 2**32 seeds (a property test's draw, which filled 24 GB before) are
    refused at once, while 2000 seeds (about 2 s) are not."""
    from initlab.experiments.activations import ActivationsConfig, estimate

    def config(seeds):
        return ActivationsConfig(depth=2, batch=3, width=2, activation=["tanh", "relu"],
                                 seeds=seeds)
    huge = estimate(config(2**32))
    assert huge.seconds > TIME_BUDGET and huge.memory > 2**40
    err = one_line_exit_2(["activations", "--depth", "2", "--batch", "3", "--width", "2",
                           "--activation", "tanh,relu", "--seeds", "4294967296"], capsys)
    assert "--force" in err
    small = estimate(config(2000))  # ~2 s measured on the 2-core machine
    assert 0.5 < small.seconds < 10 and small.memory < 2**30


def test_seeds_out_of_range_are_one_line(capsys):
    for argv in (["init", "he", "--shape", "3,3", "--seed", "-1"],
                 ["compare", "--seed", "4294967295", "--seeds", "2"]):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
        err = capsys.readouterr().err
        assert code == 2 and "4294967295" in err and len(err.strip().splitlines()) == 1


def test_rerun_replaces_earlier_output_without_mixing(tmp_path, capsys):
    out = tmp_path / "act"
    base = ["activations", "--depth", "2", "--width", "4", "--batch", "2", "--init", "he"]
    assert main([*base, "--activation", "tanh", "--out", str(out)]) == 0
    assert (out / "histograms_tanh.png").exists()
    capsys.readouterr()
    assert main([*base, "--activation", "relu", "--out", str(out)]) == 0
    assert "replacing the earlier output" in capsys.readouterr().err
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert names == ["histograms_relu.png", "results.json", "std_vs_depth.png"]


def test_progress_lines_when_not_a_terminal():
    stream = io.StringIO()
    bar = Progress(4, "fit", "step", every=0, file=stream)
    for _ in range(4):
        bar.update()
    bar.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4 and lines[-1].startswith("fit: 4/4 steps (100%)")
    quiet = io.StringIO()
    bar = Progress(4, "fit", "step", every=0, enabled=False, file=quiet)
    bar.update(4)
    assert quiet.getvalue() == ""


def test_init_list_marks_he_and_refuses_spec_with_list(capsys):
    from initlab.init import get_initializer

    assert main(["init", "--list"]) == 0
    he = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("he "))
    assert "kaiming_normal(nonlinearity=relu)" in he
    a = get_initializer("he")((20, 30), np.random.default_rng(5))
    b = get_initializer("kaiming_normal(nonlinearity=relu)")((20, 30), np.random.default_rng(5))
    assert np.allclose(a, b, rtol=1e-12, atol=0)  # the same law; std computed two ways
    assert "not both" in one_line_exit_2(["init", "he", "--list"], capsys)


def test_print_result_is_the_table():
    from initlab.experiments.compare import run_compare

    result = run_compare(["he"], n_samples=24, seeds=2, iterations=3)
    text = str(result)
    assert text.splitlines()[0].split()[:3] == ["init", "seeds", "train"]
    assert "Wilson" in text and len(text) < 2000 and len(repr(result)) < 5000


def test_normalize_and_propagate_refuse_what_cannot_finish(capsys):
    """Billions of seeds are refused up front with the estimate (they once filled memory)."""
    for argv in (["normalize", "--seeds", "4294967296"],
                 ["propagate", "--seeds", "4294967296"],
                 ["propagate", "--trainability", "--train-seeds", "100000"]):
        err = one_line_exit_2(argv, capsys)
        assert ("would take about" in err or "needs about" in err) and "--force" in err, argv
