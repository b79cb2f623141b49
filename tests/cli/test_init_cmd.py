"""``initlab init`` end to end: table, JSON keys, --list, and one-line errors with exit 2."""

import json
import subprocess
import sys

import pytest

from initlab.cli import main


def test_json_keys_and_values(capsys):
    assert main(["init", "kaiming_uniform(mode=fan_out)", "--shape", "64,32,3,3", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert list(info) == ["spec", "shape", "fan_in", "fan_out", "gain", "mean", "std", "bound",
                          "sample"]
    assert info["shape"] == [64, 32, 3, 3] and info["fan_out"] == 576
    assert set(info["sample"]) == {"mean", "std", "min", "max"}
    assert -info["bound"] <= info["sample"]["min"] and info["sample"]["max"] <= info["bound"]


def test_normal_scheme_has_null_bound(capsys):
    assert main(["init", "normal(0.01)", "--shape", "300,200", "--json", "--seed", "3"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["bound"] is None and info["gain"] is None
    assert abs(info["sample"]["std"] - 0.01) < 3e-4


def test_table_output_and_list(capsys):
    assert main(["init", "he", "--shape", "10,20"]) == 0
    out = capsys.readouterr().out
    assert "fan_in" in out and "sample std" in out
    assert main(["init", "--list"]) == 0
    out = capsys.readouterr().out
    for name in ("he", "lecun", "orthogonal", "variance_scaling", "sparse", "dirac"):
        assert f"\n{name} " in out


@pytest.mark.parametrize(
    "argv, message",
    [(["init", "nope", "--shape", "3,3"], "unknown initializer 'nope'"),
     (["init", "normal(q=1)", "--shape", "3,3"], "valid parameters: std, mean"),
     (["init", "kaiming_normal(mode=sideways)", "--shape", "3,3"], "unknown mode 'sideways'"),
     (["init", "he", "--shape", "7"], "at least 2 dimensions"),
     (["init", "he", "--shape=-3,3"], "every size must be >= 1"),
     (["init", "he(", "--shape", "3,3"], "malformed spec"),
     (["init", "he"], "--shape")],
)
def test_bad_input_exit_2_one_line(argv, message):
    proc = subprocess.run([sys.executable, "-m", "initlab.cli", *argv], capture_output=True,
                          text=True)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
