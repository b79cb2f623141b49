"""Start-up: the short paths import no heavy library (which modules load, not how long it takes).

Each path runs in a fresh interpreter, which reports the modules it ended up with.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import initlab
from initlab.cli import command_names

#: Libraries that take a large part of a second to import: only the commands that use them may.
HEAVY = {"scipy", "matplotlib", "sklearn", "torch"}
SRC = Path(initlab.__file__).resolve().parents[1]

#: Runs ``main(argv)`` (or nothing, without argv) and prints what it wrote and the modules.
PROBE = """
import contextlib, io, json, sys
if sys.argv[1:] != ["--no-cli"]:
    from initlab.cli import main
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            code = main(sys.argv[1:])
        except SystemExit as exc:  # --help and --version exit from argparse
            code = exc.code
else:
    import initlab
    code, out = 0, io.StringIO()
print(json.dumps({"code": code, "out": out.getvalue(), "modules": sorted(sys.modules)}))
"""


def probe(*argv: str) -> tuple[str, set[str], list[str]]:
    """(stdout, top-level packages, initlab modules) of ``initlab ARGV`` in a new interpreter;
    ``--no-cli`` runs ``import initlab`` alone."""
    proc = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(SRC)}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["code"] in (0, None), (argv, report["code"])
    modules = report["modules"]
    return (report["out"], {m.split(".")[0] for m in modules},
            [m for m in modules if m.startswith("initlab")])


def test_import_initlab_loads_nothing_else():
    _, packages, own = probe("--no-cli")
    assert not packages & (HEAVY | {"numpy"})
    assert own == ["initlab"]


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["init", "he", "--shape", "3,3"],
                                  ["init", "--help"], ["init", "--list"],
                                  # the deep-stats benchmark's command, at a tiny size
                                  ["activations", "--activation", "tanh", "--init",
                                   "normal(0.01)", "--depth", "2", "--width", "8", "--batch",
                                   "2", "--no-grad", "--json"]])
def test_short_commands_import_no_heavy_library(argv):
    out, packages, _ = probe(*argv)
    assert out.strip()  # it printed its help, version or table
    assert not packages & HEAVY


def test_verdicts_with_a_t_test_do_not_import_scipy():
    """Depth 4 gives the verdict a trend to test: its t quantile is computed by initlab, not
    imported from scipy.stats (whose import parses every distribution's docstring: half a
    second) or scipy.special (a quarter of a second)."""
    argv = ["activations", "--activation", "tanh", "--init", "normal(0.01)", "--depth", "4",
            "--width", "8", "--batch", "2", "--no-grad", "--json"]
    proc = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(SRC)}, timeout=120)
    report = json.loads(proc.stdout)
    assert report["code"] in (0, None) and report["out"].strip()
    assert not [m for m in report["modules"] if m.startswith("scipy")]


def test_overview_help_lists_every_command_without_numpy_or_experiments():
    out, packages, own = probe("--help")
    assert "numpy" not in packages
    assert not [m for m in own if m.startswith(("initlab.experiments", "initlab.nn"))]
    for name in command_names():
        assert f"\n    {name}" in out, name


def test_version_is_printed_when_asked():
    out, _, _ = probe("--version")
    assert out == f"initlab {initlab.__version__}\n"


def test_public_names_are_the_ones_they_stand_for():
    from initlab.errors import InitlabError
    from initlab.init import calculate_gain, describe, fans, get_initializer
    from initlab.nn.model import mlp
    from initlab.train import accuracy, fit

    expected = {"InitlabError": InitlabError, "accuracy": accuracy,
                "calculate_gain": calculate_gain, "describe": describe, "fans": fans,
                "fit": fit, "get_initializer": get_initializer, "mlp": mlp}
    assert {n: getattr(initlab, n) for n in expected} == expected
    assert set(initlab.__all__) == {*expected, "__version__"}
    assert set(initlab.__all__) <= set(dir(initlab))
    assert isinstance(initlab.__version__, str) and initlab.__version__
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        initlab.nope  # noqa: B018
