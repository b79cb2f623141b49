"""The benchmark harness (benchmarks/) keeps working: every contender of every workload runs at
a tiny size, run.py runs end to end, and the table arithmetic is right. No timing assertions:
the numbers themselves are for benchmarks/run.py and benchmarks/README.md.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import subprocess
import sys
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
        if w.skip:  # only `report`, before its command exists
            assert w.name == "report", w.skip
            continue
        assert w.contenders[0].name == "initlab"
        for c in w.contenders:
            if c.name.startswith("pytorch") and not HAS_TORCH:
                continue
            checks[w.name, c.name] = run_in_process(c.argv)
            if c.baseline:
                run_in_process(c.baseline)
    capsys.readouterr()
    # The contenders do the same work: the course recipe gives the same accuracies.
    classic = [v["accuracy"] for (w, _), v in checks.items() if w == "classic"]
    assert len(classic) == 2 and classic[0] == classic[1]
    for (w, name), v in checks.items():
        if v is None:  # a command-line contender
            continue
        if w in ("mlp", "batchnorm"):
            assert np.isfinite(v["seconds"]) and np.isfinite(v["loss_last"]), name
        if w == "seeds":  # zeros cannot break symmetry: chance on the balanced moons
            assert v["accuracy"]["zeros"] == [0.5, 0.5], name


def test_run_py_end_to_end(tmp_path):
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--tiny", "--runs", "1", "--warmup", "0",
         "--only", "mlp,report", "--no-torch", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "initlab/x" in proc.stdout and "skipped (--no-torch)" in proc.stdout
    data = json.loads(out.read_text())
    assert data["machine"]["threads"] >= 1 and data["machine"]["blas"]
    mlp = next(w for w in data["workloads"] if w["name"] == "mlp")
    rows = {r["contender"]: r for r in mlp["rows"]}
    assert rows["initlab"]["median"] > 0 and rows["initlab"]["error"] is None
    assert rows["numpy (plain loop)"]["ratio"] > 0
    assert rows["numpy (plain loop)"]["goal"] == "<= 1.1x"
    assert rows["pytorch (nn + optim)"]["skipped"] == "skipped (--no-torch)"
    assert [w["name"] for w in data["workloads"]] == ["mlp", "report"]


def test_torch_contenders_skip_with_a_note(run_module, tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "torch" else real(name, *a))
    reason = run_module.torch_skip(no_torch=False)
    assert "not installed" in reason
    workloads = tiny_workloads(run_module, tmp_path, reason)
    torch_rows = [c for w in workloads.values() for c in w.contenders
                  if c.name.startswith("pytorch")]
    assert len(torch_rows) == 3 and all(c.skip == reason for c in torch_rows)


def test_summary_ratios_goals_and_table(run_module):
    from harness import Contender, Workload, format_table, summarize

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
