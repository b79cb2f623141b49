"""benchmarks/sweep_overhead.py keeps working (tiny size, no timing assertions)."""

import json
import subprocess
import sys
from pathlib import Path

from sweep_helpers import env

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "sweep_overhead.py"


def test_sweep_overhead_runs_end_to_end(tmp_path):
    out = tmp_path / "o.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--points", "3", "--small", "2",
                           "--runs", "1", "--no-dask", "--json", str(out)], env=env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert [r["scheduler"] for r in data["rows"]] == ["processes"]
    assert set(data["rounds"][0]) == {"loop@3", "processes@3", "processes in store@3", "loop@2",
                                      "processes@2", "processes in store@2"}
    assert "| processes |" in proc.stdout
