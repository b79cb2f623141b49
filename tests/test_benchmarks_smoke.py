"""The benchmark harness (benchmarks/) keeps working: every contender of every workload runs at
a tiny size, run.py runs end to end (with the busy neighbour too), the lean loops compute what
the notebook computes, and the table arithmetic is right. No timing assertions: the numbers
themselves are for benchmarks/run.py and benchmarks/README.md.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
HAS_TORCH = importlib.util.find_spec("torch") is not None


@pytest.fixture(scope="module")
def run_module():
    """benchmarks/run.py imported as a module (with benchmarks/ on sys.path)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(BENCH))
        yield importlib.import_module("run")


@pytest.fixture(autouse=True)
def keep_global_rng():
    """The notebook-style contenders reseed NumPy's global stream; restore it afterwards."""
    state = np.random.get_state()  # noqa: NPY002 - saving the legacy stream on purpose
    yield
    np.random.set_state(state)  # noqa: NPY002


def run_in_process(argv: list[str]) -> dict | None:
    """Run a contender's child command in this process (imports are paid once, so it is fast)."""
    if argv[:2] == ["-m", "initlab.cli"]:
        from initlab.cli import main

        try:
            code = main(argv[2:])
        except SystemExit as exc:  # --help exits through argparse
            code = exc.code
        assert code == 0, argv
        return None
    if argv[0] == "-c":
        exec(compile(argv[1], "<baseline>", "exec"), {})
        return None
    module = importlib.import_module(Path(argv[0]).stem)
    result = module.CONTENDERS[argv[1]](**json.loads(argv[2]))
    assert isinstance(result, dict)
    return result


def tiny_workloads(run_module, tmp_path, torch_skip=None) -> dict:
    names = list(run_module.WORKLOADS)
    return {w.name: w for w in run_module.build(names, "tiny", torch_skip, tmp_path)}


def test_every_contender_runs_at_tiny_size(run_module, tmp_path, capsys):
    workloads = tiny_workloads(run_module, tmp_path)
    assert list(workloads) == list(run_module.WORKLOADS)
    checks = {}
    for w in workloads.values():
        assert not w.skip, w.skip
        assert w.kind(w.contenders[0]) == "initlab"
        for c in w.contenders:
            if c.name.startswith("pytorch") and not HAS_TORCH:
                continue
            checks[w.name, c.name] = run_in_process(c.argv)
            if c.baseline:
                run_in_process(c.baseline)
    capsys.readouterr()
    # The contenders do the same work: the course recipe gives the same accuracies.
    classic = [v["accuracy"] for (w, _), v in checks.items() if w == "classic"]
    assert len(classic) == 3 and classic[0] == classic[1] == classic[2]
    assert {c.name for c in workloads["startup"].contenders if c.direct} == {
        c.name for c in workloads["startup"].contenders}
    for (w, name), v in checks.items():
        if v is None:  # a command-line contender
            continue
        if w in ("mlp", "batchnorm"):  # every contender also computes the loss on the whole
            assert np.isfinite(v["seconds"]) and np.isfinite(v["loss_last"]), name
            assert np.isfinite(v["final_loss"]), name  # set after training, as fit does
        if w == "seeds":  # zeros cannot break symmetry: chance on the balanced moons
            assert v["accuracy"]["zeros"] == [0.5, 0.5], name


def test_run_py_end_to_end_beside_a_neighbour(tmp_path):
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--tiny", "--runs", "1", "--warmup", "0",
         "--only", "mlp,report,startup", "--no-torch", "--neighbour", "python",
         "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "A/x" in proc.stdout and "skipped (--no-torch)" in proc.stdout
    assert "slowdown" in proc.stdout and "goals: " in proc.stdout
    data = json.loads(out.read_text())
    assert data["machine"]["threads"] >= 1 and data["machine"]["blas"]
    assert data["neighbour"] == "python"
    mlp = next(w for w in data["workloads"] if w["name"] == "mlp")
    rows = {r["contender"]: r for r in mlp["rows"]}
    assert rows["initlab"]["median"] > 0 and rows["initlab"]["error"] is None
    numpy_row = rows["numpy (plain loop)"]
    assert numpy_row["ratio"] > 0 and numpy_row["ratio_of"] == "initlab"
    assert numpy_row["goal"] == "<= 1x"
    assert numpy_row["slowdown"] > 0 and numpy_row["busy_ratio"] > 0
    assert len(numpy_row["busy_samples"]) == len(numpy_row["samples"]) == 1
    assert rows["pytorch (nn + optim)"]["skipped"] == "skipped (--no-torch)"
    assert mlp["headline"].startswith("mlp: ")
    startup = next(w for w in data["workloads"] if w["name"] == "startup")
    help_row = startup["rows"][0]
    assert help_row["goal"] == "<= 0.25 s" and help_row["passed"] in (True, False)
    assert help_row["peak_mib"] is None and help_row["ratio"] is None  # started directly
    assert [w["name"] for w in data["workloads"]] == ["mlp", "report", "startup"]
    assert [(w["runs"], w["warmup"]) for w in data["workloads"]] == [(1, 0)] * 3
    show = subprocess.run([sys.executable, str(BENCH / "run.py"), "--show", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert show.returncode == 0 and "| startup | initlab --help |" in show.stdout


def test_neighbour_burns_a_core_while_the_block_runs(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    from neighbour import Neighbour

    with pytest.raises(ValueError, match="matmul, python"):
        Neighbour("disk")
    for kind in ("python", "matmul"):
        with Neighbour(kind).running() as n:
            pid = n.pid
            time.sleep(0.3)
            with open(f"/proc/{pid}/stat") as f:
                utime_ticks = int(f.read().rsplit(")", 1)[1].split()[11])
            assert utime_ticks > 0, kind  # busy in user space, not asleep
        assert n.pid is None
        with pytest.raises(ProcessLookupError):  # killed and reaped
            os.kill(pid, 0)


def test_lean_loop_computes_what_the_notebook_computes(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import workload_classic as wc

    X, Y, _, _ = wc.load_course_data("circles")
    with np.errstate(all="ignore"):
        for init in wc.INITS:
            full, costs = wc.model(X, Y, num_iterations=40, initialization=init)
            lean, lean_costs = wc.lean_model(X, Y, num_iterations=40, initialization=init)
            assert all(np.array_equal(full[k], lean[k]) for k in full), init
            np.testing.assert_array_equal(lean_costs, costs)  # both record step 0
        # float32 in, float32 out: the labels are cast too (int64 ones would promote the loss)
        lean32, costs32 = wc.lean_model(X.astype(np.float32), Y, num_iterations=5)
    assert {a.dtype for a in lean32.values()} == {np.dtype(np.float32)}
    assert costs32[0].dtype == np.float32


def test_torch_contenders_skip_with_a_note(run_module, tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "torch" else real(name, *a))
    reason = run_module.torch_skip(no_torch=False)
    assert "not installed" in reason
    workloads = tiny_workloads(run_module, tmp_path, reason)
    torch_rows = [c for w in workloads.values() for c in w.contenders
                  if c.name.startswith("pytorch")]
    assert len(torch_rows) == 6 and all(c.skip == reason for c in torch_rows)


def test_summary_ratios_goals_and_table(run_module):
    from harness import Contender, Workload
    from summary import format_table, summarize

    w = Workload("demo", "demo", [Contender("initlab", []), Contender("numpy", [], goal=0.5),
                                  Contender("torch", [], skip="no torch")],
                 memory_goal_mib=100.0)
    samples = {"initlab": [1.0, 2.0, 3.0], "numpy": [4.0, 2.0, 3.0]}
    peaks = {"initlab": [200.0, 210.0, 205.0], "numpy": [100.0, 100.0, 100.0]}
    above = {"initlab": [90.0, 99.0, 95.0]}
    out = summarize(w, samples, peaks, above, {"initlab": 111.0}, {}, {})
    init, numpy_row, torch_row = out["rows"]
    assert init["median"] == 2.0 and (init["min"], init["max"]) == (1.0, 3.0)
    assert init["peak_mib"] == 210.0 and init["above_start_mib"] == 99.0
    assert init["passed"] is True  # memory goal
    assert numpy_row["ratio"] == 1.0  # median of 0.25, 1.0, 1.0: pairwise, not median/median
    assert numpy_row["passed"] is False and numpy_row["goal"] == "<= 0.5x"
    assert torch_row["skipped"] == "no torch" and torch_row["passed"] is None
    table = format_table([out])
    assert "FAIL" in table and "no torch" in table and "210 (+99)" in table
    assert "slowdown" not in table  # no neighbour, no such columns


def test_ratio_between_two_later_rows_absolute_goals_and_slowdown(run_module):
    from harness import Contender, Workload
    from summary import format_table, goal_counts, summarize

    w = Workload("demo", "demo", [
        Contender("initlab", [], goal_seconds=2.5),
        Contender("numpy", [], goal=0.5),
        Contender("engine", [], kind="initlab"),
        Contender("torch", [], ratio_of="engine", goal=0.7),
        Contender("floor", [], kind="floor", ratio_of=None),
    ])
    samples = {"initlab": [2.0, 2.0, 3.0], "numpy": [8.0, 8.0, 8.0],
               "engine": [1.0, 2.0, 3.0], "torch": [2.0, 2.0, 2.0], "floor": [0.5, 0.5, 0.5]}
    busy = {"initlab": [4.0, 4.0, 6.0], "numpy": [8.0, 8.0, 8.0], "engine": [2.0, 2.0, 2.0],
            "torch": [4.0, 4.0, 4.0], "floor": [1.0, 1.0, 1.0]}
    out = summarize(w, samples, {}, {}, {}, {}, {}, busy)
    rows = {r["contender"]: r for r in out["rows"]}
    assert rows["torch"]["ratio_of"] == "engine" and rows["torch"]["ratio"] == 1.0
    assert rows["torch"]["passed"] is False and rows["torch"]["goal"] == "<= 0.7x"
    assert rows["numpy"]["ratio"] == 0.25 and rows["numpy"]["passed"] is True
    assert rows["engine"]["ratio"] == 1.0 and rows["engine"]["kind"] == "initlab"
    assert rows["floor"]["ratio"] is None and rows["floor"]["passed"] is None
    assert rows["initlab"]["goal"] == "<= 2.5 s" and rows["initlab"]["passed"] is True
    assert rows["initlab"]["slowdown"] == 2.0 and rows["torch"]["slowdown"] == 2.0
    assert rows["numpy"]["slowdown"] == 1.0 and rows["numpy"]["busy_ratio"] == 0.5
    assert rows["torch"]["busy_ratio"] == 0.5  # engine beside / torch beside, per round
    assert goal_counts([out]) == (2, 1)
    # the strongest contender is where initlab fares worst (torch, 1.0x), not the fastest
    assert out["headline"] == ("demo: 1.00x the strongest contender, torch (engine / it); "
                               "the floor, floor: 0.5 s; initlab: 2 s (goal <= 2.5 s)")
    table = format_table([out])
    assert "slowdown" in table and "engine" in table.splitlines()[5]


def test_workload_rejects_a_ratio_it_cannot_take(run_module):
    from harness import Contender, Workload

    with pytest.raises(ValueError, match="unknown 'engine'"):
        Workload("demo", "demo", [Contender("initlab", []),
                                  Contender("torch", [], ratio_of="engine")])
    with pytest.raises(ValueError, match="ratio goal but no ratio"):
        Workload("demo", "demo", [Contender("initlab", []),
                                  Contender("torch", [], ratio_of=None, goal=0.5)])
    with pytest.raises(ValueError, match="share a name"):
        Workload("demo", "demo", [Contender("initlab", []), Contender("initlab", [])])
