"""What a newcomer tripped over (issue 27): file modes, progress in logs, the order of checks,
--save's folder, workers that cannot start, what propagate prints, the verdict's wording."""

import concurrent.futures as cf
import io
import json
import math
import multiprocessing.context
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from initlab.cli import main
from initlab.experiments import replicas
from initlab.runtime import progress
from initlab.runtime.atomic import write_atomic
from initlab.runtime.progress import Progress
from initlab.verdict import judge

SRC = str(Path(__file__).resolve().parents[2] / "src")


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask():
    """``umask(value)`` sets the process umask for the test; the old one comes back after."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


# --------------------------------------------------------------- 1. files readable by others
@pytest.mark.parametrize("mask, want", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_get_the_umask_mode(mask, want, tmp_path, umask):
    from initlab.nn.model import mlp

    umask(mask)
    assert mode(write_atomic(tmp_path / "a.json", "{}")) == want
    net = mlp([2, 3, 1], init="he", seed=0)
    for name in ("net.safetensors", "net.npz"):
        assert mode(net.save(tmp_path / name)) == want, name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "net.npz",
                                                          "net.safetensors"]  # no temp files


def test_a_new_store_gets_the_umask_mode(tmp_path, umask):
    from initlab.sweep.store import Store

    umask(0o002)
    with Store(tmp_path / "s.db"):
        pass
    assert mode(tmp_path / "s.db") == 0o664


def test_command_output_gets_the_umask_mode(tmp_path, umask, capsys):
    umask(0o022)
    out = tmp_path / "o"
    assert main(["activations", "--depth", "2", "--width", "4", "--batch", "2", "--init", "he",
                 "-q", "--out", str(out)]) == 0
    files = [p for p in out.iterdir()]
    assert any(p.suffix == ".png" for p in files) and (out / "results.json").is_file()
    assert {p.name: mode(p) for p in files} == {p.name: 0o644 for p in files}


# ------------------------------------------------------------------- 2. progress in logs
class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_a_long_title_is_kept_whole_or_cut_at_a_word():
    from initlab.runtime.progress import fit_words

    title = "done: Activations at initialization: 5 layers of 100 units"
    assert fit_words(title, 200) == title
    for width in range(len("done:") + 3, len(title)):
        short = fit_words(title, width)
        assert len(short) <= width and short.endswith("...")
        assert title.startswith(short[:-3]) and title[len(short) - 3] == " ", (width, short)
    assert fit_words(title, 3) == ""


@pytest.mark.parametrize("columns", [80, 100, 140, 400])
def test_a_terminal_bar_never_cuts_a_number(columns, monkeypatch):
    monkeypatch.setenv("COLUMNS", str(columns))
    title = "done: Activations at initialization: 5 layers of 100 units"
    term = FakeTerminal()
    bar = Progress(9, "initlab report", "part", every=0, file=term)
    bar.set_postfix_str(title)
    bar.update()
    bar.close()
    shown = term.getvalue().replace("\n", "\r").split("\r")
    assert not any("of 10" in part.replace("of 100", "") for part in shown)
    assert any(title in part for part in shown) == (columns >= 140)
    assert max(len(part) for part in shown) <= columns


def test_plain_lines_keep_the_whole_title():
    log = io.StringIO()
    bar = Progress(2, "initlab report", "part", every=0, file=log)
    bar.set_postfix_str("done: Activations at initialization: 5 layers of 100 units")
    bar.update()
    assert log.getvalue().endswith("done: Activations at initialization: 5 layers of 100 units\n")


class InlinePool:
    """A sweep pool that runs each point at once in this process (no worker processes)."""

    workers = 1

    def submit(self, fn, arg):
        future = cf.Future()
        future.set_result(fn(arg))
        return future

    def wait(self, futures):
        return futures

    def outcome(self, future):
        return future.result()

    def close(self, cancel=False):
        pass


TINY_SWEEP = """\
experiment = "compare"
[fixed]
dataset = "moons"
n_samples = 40
iterations = 5
seeds = 1
[grid]
init = ["xavier", "he", "zeros"]
"""


def test_sweep_run_writes_plain_lines_to_a_log(tmp_path, capsys, monkeypatch):
    from initlab.sweep import schedulers

    monkeypatch.setattr(schedulers, "open_pool", lambda scheduler, workers: InlinePool())
    monkeypatch.setattr(progress, "EVERY", 0.0)
    sweep = tmp_path / "s.toml"
    sweep.write_text(TINY_SWEEP)
    assert main(["sweep", "run", str(sweep), "--store", str(tmp_path / "s.db")]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err and err.endswith("\n")
    lines = err.splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        f"initlab sweep: {k}/3 points" for k in (1, 2, 3)]
    assert lines[-1].endswith("done 3, failed 0, left 0")


def test_explore_writes_plain_lines_to_a_log(tmp_path, capsys, monkeypatch):
    import initlab.explore
    from initlab.explore.build import plan, tasks

    total = len(tasks(plan(True)))

    def fake_write(out, quick, progress=None, **options):
        for done in range(1, total + 1):
            progress(done, total)
        path = Path(out) / "explore.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("<html></html>")
        return path

    monkeypatch.setattr(initlab.explore, "write_explorer", fake_write)
    monkeypatch.setattr(progress, "EVERY", 0.0)
    assert main(["explore", "--quick", "--out", str(tmp_path / "e")]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err and err.endswith("\n")
    lines = err.splitlines()
    assert len(lines) == total and lines[-1].startswith(f"initlab explore: {total}/{total} runs")


# --------------------------------------------------------------------- 3. order of checks
@pytest.mark.parametrize("argv, message", [
    (["compare", "--data", "nosuchfile.csv"], "file not found: 'nosuchfile.csv'"),
    (["regularize", "--data", "nosuchfile.csv"], "file not found: 'nosuchfile.csv'"),
    (["normalize", "--data", "nosuchfile.csv"], "file not found: 'nosuchfile.csv'"),
    (["compare", "--init", "nosuch", "--seeds", "100000000"], "nosuch"),
    (["compare", "--activation", "nosuch", "--seeds", "100000000"], "nosuch"),
    (["compare", "--optimizer", "nosuch", "--seeds", "100000000"], "nosuch"),
    (["regularize", "--init", "nosuch", "--seeds", "100000000"], "nosuch"),
    (["normalize", "--norm", "nosuch", "--seeds", "100000000"], "nosuch"),
    (["activations", "--activation", "nosuch", "--seeds", "100000000"], "nosuch"),
    (["init", "nosuch", "--shape", "100000,100000"], "nosuch"),
    (["propagate", "--activation", "nosuch", "--seeds", "100000000"], "nosuch"),
])
def test_inputs_are_checked_before_the_estimate(argv, message, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([*argv, *(["--out", str(out)] if argv[0] != "init" else [])]) == 2
    line = one_line(capsys.readouterr().err)
    assert message in line and "would take" not in line and "needs about" not in line, line
    assert not out.exists()  # nothing made for a run that cannot start


# ----------------------------------------------------------------- 4. inspect --save folder
def test_save_into_a_missing_folder_is_refused(tmp_path, capsys):
    target = tmp_path / "nonexistent" / "dir" / "x.safetensors"
    assert main(["inspect", "--demo", "mlp", "--save", str(target)]) == 2
    line = one_line(capsys.readouterr().err)
    assert str(target.parent) in line and "does not exist" in line
    assert not target.parent.parent.exists()


def test_sweep_files_refuse_a_missing_folder_alike(tmp_path, capsys):
    """The other file outputs already do: --store, and the same words."""
    sweep = tmp_path / "s.toml"
    sweep.write_text(TINY_SWEEP)
    assert main(["sweep", "run", str(sweep), "--store", str(tmp_path / "no" / "s.db")]) == 2
    assert "does not exist" in one_line(capsys.readouterr().err)


def test_inspect_save_writes_a_readable_file(tmp_path, capsys, umask):
    pytest.importorskip("torch")
    pytest.importorskip("safetensors.torch")
    umask(0o022)
    target = tmp_path / "x.safetensors"
    assert main(["inspect", "--demo", "mlp", "--input-shape", "4,512", "--save",
                 str(target), "-q"]) == 0
    assert mode(target) == 0o644


# ------------------------------------------------------------ 5. workers that cannot start
@pytest.mark.parametrize("error", [BrokenPipeError(32, "Broken pipe"),
                                   PermissionError(13, "Permission denied")])
def test_workers_that_cannot_start_are_an_error(error, tmp_path, capsys, monkeypatch):
    def fail(self):
        raise error

    monkeypatch.setattr(multiprocessing.context.SpawnProcess, "start", fail)
    monkeypatch.setattr(replicas, "PROCESS_WORK", 0)  # so small a run stays in one process
    argv = ["normalize", "--train-size", "40", "--layers", "3", "--epochs", "1", "--seeds", "1",
            "--scales", "1,0.1", "--jobs", "2", "-q"]
    assert main(argv) == 1
    captured = capsys.readouterr()
    line = one_line(captured.err)
    assert "cannot start worker processes" in line and error.strerror in line
    assert captured.out == ""

    sweep = tmp_path / "s.toml"
    sweep.write_text(TINY_SWEEP)
    store = tmp_path / "s.db"
    assert main(["sweep", "run", str(sweep), "--store", str(store), "--workers", "2"]) == 1
    line = one_line(capsys.readouterr().err)
    assert "cannot start worker processes" in line and error.strerror in line
    assert not store.exists()  # the workers are started before anything is stored


def test_an_interpreter_that_cannot_run_is_named(tmp_path, capsys, monkeypatch):
    import multiprocessing.spawn

    exe = tmp_path / "python"
    exe.write_text("")
    exe.chmod(0o644)
    monkeypatch.setattr(multiprocessing.spawn, "get_executable", lambda: str(exe))
    monkeypatch.setattr(replicas, "PROCESS_WORK", 0)  # so small a run stays in one process
    assert main(["normalize", "--train-size", "40", "--layers", "3", "--epochs", "1",
                 "--seeds", "1", "--scales", "1,0.1", "--jobs", "2", "-q"]) == 1
    line = one_line(capsys.readouterr().err)
    assert f"cannot start worker processes ({exe})" in line and "not executable" in line


def test_a_worker_that_exits_at_once_is_an_error(tmp_path):
    """A real start: the interpreter is a script that exits at once (multiprocessing's own
    helper fails too and may warn; initlab's line is the last)."""
    exe = tmp_path / "python"
    exe.write_text("#!/bin/sh\nexit 1\n")
    exe.chmod(0o755)
    code = ("import multiprocessing, sys; multiprocessing.set_executable(sys.argv[1]); "
            "from initlab.experiments import replicas; replicas.PROCESS_WORK = 0; "
            "from initlab.cli import main; sys.exit(main(sys.argv[2:]))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [SRC, *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run([sys.executable, "-c", code, str(exe), "normalize", "--train-size",
                           "40", "--layers", "3", "--epochs", "1", "--seeds", "1", "--scales",
                           "1,0.1", "--jobs", "2", "-q"], capture_output=True, text=True,
                          env=env, timeout=120)
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 1 and proc.stdout == ""
    assert last.startswith("initlab normalize: error: ") and (
        "cannot start worker processes" in last or "ended with exit code 1" in last), last


def test_a_broken_pipe_that_is_not_stdout_is_an_error(capsys, monkeypatch):
    import initlab.cli.init_cmd as init_cmd

    def broken(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(init_cmd, "run", broken)
    assert main(["init", "--list"]) == 1
    assert "Broken pipe" in one_line(capsys.readouterr().err)


def test_output_piped_into_head_stays_silent():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [SRC, *filter(None, [os.environ.get("PYTHONPATH")])])}
    argv = [sys.executable, "-m", "initlab.cli", "propagate", "--depth", "400", "--width", "4",
            "--seeds", "1", "--batch", "2", "--json", "-q"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout.read(100)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0 and err == ""


# ------------------------------------------------------------- 6. what propagate prints
def test_propagate_prints_and_returns_the_jacobian_and_trainability(capsys):
    argv = ["propagate", "--sigma-w2", "1,2", "--depth", "3", "--width", "6", "--seeds", "1",
            "--batch", "2", "-q", "--jacobian", "--jacobian-depths", "2,3",
            "--jacobian-width", "5", "--trainability", "--depths", "2,3", "--steps", "2",
            "--train-width", "4", "--train-size", "40"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["jacobian"]) == 8 and len(data["trainability"]) == 4 and data["six_xi_c"]
    blocks = text.split("\n\n")
    jac = next(b for b in blocks if b.startswith("Jacobian"))
    rows = jac.splitlines()[3:]
    assert len(rows) == 8
    for case, row in zip(data["jacobian"], rows, strict=True):
        cells = row.split()
        assert cells[:3] == [case["activation"], case["weights"], str(case["depth"])]
        assert float(cells[5]) == pytest.approx(case["singular_values"]["min"], rel=1e-3)
        cond = case["condition_number"]
        assert cells[-1] == "-" if cond is None else float(cells[-1]) == pytest.approx(cond,
                                                                                     rel=1e-3)
    grid = next(b for b in blocks if b.startswith("trainability"))
    lines = grid.splitlines()
    assert lines[1].split() == ["sigma_w2", "6", "xi_c", "depth", "2", "depth", "3"]
    for run, line in zip(data["runs"], lines[3:], strict=True):  # same sigma_w2 as the runs
        assert float(line.split()[1]) == pytest.approx(6 * run["xi_c"], rel=1e-3)
    for point in data["trainability"]:
        row = lines[3 + [1.0, 2.0].index(point["sigma_w2"])].split()
        col = 2 + [2, 3].index(point["depth"])
        assert float(row[col]) == pytest.approx(point["train_accuracy"]["mean"], abs=1e-4)


def test_propagate_without_the_parts_prints_one_table(capsys):
    assert main(["propagate", "--sigma-w2", "1,2", "--depth", "3", "--width", "6", "--seeds",
                 "1", "--batch", "2", "-q"]) == 0
    text = capsys.readouterr().out
    assert "Jacobian" not in text and "trainability" not in text


# ------------------------------------------------------------------- 7. the verdict's words
def test_a_crossing_right_after_the_net_is_the_next_layer():
    v = judge([1, .5, .25, .125])
    assert "about 0 layers" not in v.text
    assert v.text.endswith("at that rate, 1 layer beyond this net's 4 layers, it would be about "
                           "0.0625, below 1/10 of layer 1's 1")
    assert v.crosses_at == pytest.approx(4 + math.log(0.1 / 0.125) / math.log(0.5))


@pytest.mark.parametrize("stds", [
    [1, 2, 4, 8],  # grows: the same crossing, upward
    [1, .5],  # two layers: crosses 1.32 layers after the last
    [1, .5, .3, .2],  # crosses 2.3 layers after the last
    list(0.8 ** np.arange(6)),  # crosses 4.3 layers after the last
    list(0.9 ** np.arange(8)),  # a slow one: crosses 14.8 layers after the last
])
def test_the_crossing_is_the_first_layer_past_the_limit(stds):
    v = judge(stds)
    assert v.state in ("shrinking", "growing"), v.text
    tail = v.text.split("beyond this net's")[0]
    k = int(tail.split()[-2])
    rate, last = v.factor, stds[-1]
    limit = stds[0] / 10 if rate < 1 else stds[0] * 10
    beyond = (lambda s: s < limit) if rate < 1 else (lambda s: s > limit)
    assert k >= 1 and beyond(last * rate**k) and not beyond(last * rate ** (k - 1))
    assert f"it would be about {last * rate**k:.3g}, " in v.text
    assert ("1 layer beyond" in v.text) == (k == 1)


def test_a_malformed_data_file_is_reported_before_the_estimate(tmp_path, capsys):
    """A file that exists but holds no data is read before anything is estimated from it
    (the estimate assumed MNIST's 70000 images and said the run 'would take about 10.7 h')."""
    bad = tmp_path / "bad.csv"
    bad.write_text("garbage\n")
    assert main(["compare", "--data", str(bad), "--seeds", "30"]) == 2
    line = one_line(capsys.readouterr().err)
    assert "has a header but no data rows" in line and "would take" not in line, line
