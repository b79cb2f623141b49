"""``initlab sweep`` end to end on local processes: run, resume, kill -9, failures, bad input."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from sweep_helpers import env, initlab

from initlab.cli import main
from initlab.sweep import load
from initlab.sweep.store import Store


def test_run_show_plot_resume_and_plot_errors(tiny, tmp_path, capsys):
    store = tmp_path / "s.db"
    assert main(["sweep", "run", str(tiny), "--store", str(store), "--workers", "2", "-q"]) == 0
    out = capsys.readouterr().out
    assert "ran 4 of 4 points" in out and "holds 4 of 4 done" in out
    first = {r["key"]: (r["finished"], r["result"]) for r in Store(store).rows()}
    assert main(["sweep", "run", str(tiny), "--store", str(store), "-q"]) == 0
    assert "ran 0 of 4 points" in capsys.readouterr().out
    assert {r["key"]: (r["finished"], r["result"]) for r in Store(store).rows()} == first

    rows = load(store)
    rows = rows.to_dict("records") if hasattr(rows, "to_dict") else rows
    assert len(rows) == 4 * 2  # a compare point gives one row per seed
    assert set(rows[0]) == {"point", "init", "lr", "seed", "train_accuracy", "test_accuracy",
                            "final_loss", "diverged"}
    assert sorted({(r["init"], r["lr"], r["seed"]) for r in rows}) == sorted(
        (i, lr, s) for i in ("xavier", "he") for lr in (0.05, 0.5) for s in (0, 1))

    points = load(store, status="all")
    points = points.to_dict("records") if hasattr(points, "to_dict") else points
    assert [p["status"] for p in points] == ["done"] * 4 and all(p["seconds"] > 0 for p in points)

    assert main(["sweep", "show", "--store", str(store), "--csv", str(tmp_path / "s.csv")]) == 0
    text = capsys.readouterr().out
    assert text.split()[:3] == ["init", "lr", "seed"] and "4 points (4 done); 8 rows" in text
    assert (tmp_path / "s.csv").read_text().splitlines()[0].startswith("point,init,lr,seed,")
    assert main(["sweep", "show", "--store", str(store), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 8

    png = tmp_path / "lines.png"
    assert main(["sweep", "plot", "--store", str(store), "--x", "lr", "--y", "test_accuracy",
                 "--hue", "init", "--out", str(png)]) == 0
    assert png.stat().st_size > 5000
    assert main(["sweep", "plot", "--store", str(store), "--x", "lr", "--y", "init",
                 "--z", "train_accuracy", "--out", str(tmp_path / "heat.png")]) == 0
    assert main(["sweep", "plan", str(tiny), "--store", str(store)]) == 0
    assert "in " + str(store) + ": 4 done, 0 to run" in capsys.readouterr().out
    out = ["--out", str(tmp_path / "p.png")]
    assert main(["sweep", "plot", "--store", str(store), "--x", "lr", "--y", "test_accuracy",
                 *out]) == 2
    assert "column 'init' takes 2 values (xavier, he)" in capsys.readouterr().err
    assert main(["sweep", "plot", "--store", str(store), "--x", "lr", "--y", "speed", *out]) == 2
    assert "unknown metric 'speed'; columns with numbers: lr, seed, train_accuracy" in \
        capsys.readouterr().err
    assert main(["sweep", "plot", "--store", str(store), "--x", "lr", "--y", "test_accuracy",
                 "--where", "init=he", *out]) == 0


def test_a_bad_name_in_a_point_is_refused_before_any_point_runs(tmp_path, capsys):
    sweep = tmp_path / "n.toml"
    sweep.write_text('experiment = "compare"\n[fixed]\nn_samples = 60\niterations = 10\n'
                     'seeds = 1\n[grid]\nactivation = ["relu", "nonsense", "tanh"]\n')
    store = tmp_path / "n.db"
    assert main(["sweep", "run", str(sweep), "--store", str(store), "--workers", "1", "-q"]) == 2
    err = capsys.readouterr().err
    assert "point 2 (activation=nonsense): 'activation': unknown activation 'nonsense'" in err
    assert err.count("\n") == 1 and not store.exists()


def test_a_failing_point_is_stored_and_the_others_finish(tmp_path, capsys):
    sweep = tmp_path / "f.toml"
    # a subset larger than the data is found only when the data are made, in the worker
    sweep.write_text('experiment = "compare"\n[fixed]\nn_samples = 60\niterations = 10\n'
                     'seeds = 1\n[grid]\ntrain_size = [20, 1000, 30]\n')
    store = tmp_path / "f.db"
    assert main(["sweep", "run", str(sweep), "--store", str(store), "--workers", "1", "-q"]) == 1
    captured = capsys.readouterr()
    assert "(2 done, 1 failed)" in captured.out and "--retry-failed" in captured.out
    message = "train_size=1000 is larger than the 45 training examples of moons"
    assert message in captured.err
    rows = {r["grid"]["train_size"]: r for r in Store(store).rows()}
    assert rows[1000]["status"] == "failed"
    assert rows[1000]["error"] == f"InitlabError: {message}"
    assert rows[20]["status"] == rows[30]["status"] == "done"
    assert main(["sweep", "run", str(sweep), "--store", str(store), "-q", "--workers", "1"]) == 1
    assert "ran 0 of 3" in capsys.readouterr().out
    assert main(["sweep", "run", str(sweep), "--store", str(store), "-q", "--workers", "1",
                 "--retry-failed"]) == 1
    assert "ran 1 of 3" in capsys.readouterr().out
    assert Store(store).rows()[1]["attempts"] == 2


def _count(store, status: str) -> int:
    """Points of ``status`` in a store being written by another process (0 before it exists)."""
    if not store.exists():
        return 0
    db = sqlite3.connect(store, timeout=5)
    try:
        return db.execute("SELECT count(*) FROM points WHERE status = ?", (status,)).fetchone()[0]
    except sqlite3.OperationalError:  # the tables are being made
        return 0
    finally:
        db.close()


def test_kill_9_mid_run_then_resume(tmp_path):
    sweep = tmp_path / "k.toml"
    # points of about 0.3 s: at 150 iterations (20 ms a point) all 8 could finish between two
    # looks at the store, and the kill would find nothing left to interrupt
    sweep.write_text('experiment = "compare"\n[fixed]\nn_samples = 60\niterations = 3000\n'
                     'seeds = 1\n[grid]\nseed = [0, 1, 2, 3, 4, 5, 6, 7]\n')
    store = tmp_path / "k.db"
    proc = subprocess.Popen([sys.executable, "-m", "initlab.cli", "sweep", "run", str(sweep),
                             "--store", str(store), "--workers", "1", "-q"], env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and _count(store, "done") < 2:
            time.sleep(0.2)
        assert _count(store, "done") >= 2, "the sweep did not finish two points in 90 s"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its worker, at once
        proc.wait(timeout=10)
    with Store(store, create=False) as s:
        assert s.integrity() == "ok"
        before = {r["key"]: r["finished"] for r in s.rows("done")}
        assert 2 <= len(before) < 8
    result = initlab("sweep", "run", sweep, "--store", store, "--workers", "2", "-q")
    assert result.returncode == 0, result.stderr
    assert f"ran {8 - len(before)} of 8 points" in result.stdout
    with Store(store, create=False) as s:
        rows = s.rows()
        assert s.integrity() == "ok"
    assert len(rows) == 8 and len({r["key"] for r in rows}) == 8
    assert all(r["status"] == "done" for r in rows)
    assert {r["key"]: r["finished"] for r in rows if r["key"] in before} == before


def test_ctrl_c_gives_the_points_in_flight_back(tmp_path):
    sweep = tmp_path / "c.toml"
    # points long enough (about 1 s each) that the sweep cannot finish between the first point
    # done and the signal: a signal after main() returns kills Python the default way (-2)
    sweep.write_text('experiment = "compare"\n[fixed]\nn_samples = 60\niterations = 3000\n'
                     'seeds = 1\n[grid]\nseed = [0, 1, 2, 3, 4, 5]\n')
    store = tmp_path / "c.db"
    proc = subprocess.Popen([sys.executable, "-m", "initlab.cli", "sweep", "run", str(sweep),
                             "--store", str(store), "--workers", "1", "-q"], env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not _count(store, "done"):
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal sends Ctrl-C to the whole group
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1].endswith("run the same command again to resume")
    with Store(store, create=False) as s:
        counts = s.counts()
        assert s.integrity() == "ok"
    assert counts["running"] == 0 and counts["done"] >= 1
    assert counts["done"] + counts["pending"] == 6


@pytest.mark.parametrize("sweep_text, message", [
    ('experiment = "bogus"\n[grid]\nlr = [0.1]\n', "unknown experiment 'bogus'; valid: "),
    ('experiment = "compare"\n[grid]\nwidth = [1, 2]\n', "unknown key 'width'"),
    ('experiment = "compare"\n[grid]\nlr = [0.1, -1]\n',
     "point 2 (lr=-1): 'lr' must be a finite number > 0, got -1.0"),
    ('experiment = "compare"\n[grid]\n', "the grid is empty"),
    ('experiment = "regularize"\n[fixed]\ndropout_mode = "x"\n[grid]\nseeds = [1]\n',
     "point 1 (seeds=1): 'dropout_mode' must be one of inverted, scaled_at_test, got 'x'"),
])
def test_bad_sweep_files_write_nothing(tmp_path, capsys, sweep_text, message):
    sweep = tmp_path / "bad.toml"
    sweep.write_text(sweep_text)
    store = tmp_path / "s.db"
    assert main(["sweep", "run", str(sweep), "--store", str(store), "-q"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("initlab sweep run: error:")
    assert not store.exists()


def test_bad_stores_and_schedulers(tiny, tmp_path, capsys):
    text = tmp_path / "notes.db"
    text.write_text("not a database")
    assert main(["sweep", "run", str(tiny), "--store", str(text), "-q"]) == 2
    assert "is not an initlab sweep store" in capsys.readouterr().err
    assert text.read_text() == "not a database"
    store = tmp_path / "s.db"
    assert main(["sweep", "run", str(tiny), "--store", str(store), "--scheduler", "slurm"]) == 2
    assert "unknown scheduler 'slurm'; valid: processes, dask-local, tcp://HOST:PORT" in \
        capsys.readouterr().err
    assert main(["sweep", "show", "--store", str(store)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not store.exists()


def test_plan_probes_two_points_and_stores_nothing(tiny, tmp_path, capsys):
    assert main(["sweep", "plan", str(tiny), "--probe", "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert out.split()[:3] == ["#", "init", "lr"] and "4 points (2 x 2) of compare" in out
    assert "probe: the first and last points took" in out and "MiB per worker process" in out
    assert "estimate: 4 points x" in out and "/ 2 workers = about" in out
    assert list(tmp_path.iterdir()) == [tiny]
    assert main(["sweep", "plan", str(tiny)]) == 0
    assert "no time or memory estimate: add --probe" in capsys.readouterr().out
