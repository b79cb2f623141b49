"""``--format png|svg|pdf`` and ``--dpi N``: the same two options, from one place, on every
command that writes figures; the report takes ``--dpi`` only (its page embeds PNG)."""

from __future__ import annotations

import struct
import tomllib

import pytest

from initlab.cli import command_parser, main

#: The commands that write figures, and how to reach their parser.
FIGURE_COMMANDS = ["activations", "compare", "inspect", "normalize", "propagate", "regularize",
                   "reproduce", "sweep plot"]
MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF"}
#: A compare run of a few milliseconds that writes loss, accuracy and boundaries.
TINY = ["compare", "--dataset", "moons", "--n-samples", "40", "--layers", "3", "--init", "he",
        "--seeds", "1", "--iterations", "5"]


def _options(command: str) -> set[str]:
    name, *action = command.split()
    parser = command_parser(name)
    if action:  # a subcommand's own parser (sweep plot)
        sub = next(a for a in parser._actions if a.choices and action[0] in a.choices)
        parser = sub.choices[action[0]]
    return {s for a in parser._actions for s in a.option_strings}


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == MAGIC["png"]
    return struct.unpack(">II", data[16:24])  # IHDR: width, height


@pytest.mark.parametrize("command", FIGURE_COMMANDS)
def test_every_figure_command_has_format_and_dpi(command):
    assert {"--format", "--dpi"} <= _options(command), command


def test_report_has_dpi_but_no_format():
    options = _options("report")
    assert "--dpi" in options and "--format" not in options


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_files_have_the_formats_magic_bytes(fmt, tmp_path, capsys):
    assert main([*TINY, "--out", str(tmp_path), "--format", fmt, "-q"]) == 0
    assert f"loss.{fmt}, accuracy.{fmt}, boundaries.{fmt}" in capsys.readouterr().out
    for stem in ("loss", "accuracy", "boundaries"):
        head = (tmp_path / f"{stem}.{fmt}").read_bytes()[:400]
        assert head.startswith(MAGIC[fmt]) if fmt in MAGIC else b"<svg" in head, (stem, head)
    assert not list(tmp_path.glob("*.png")) or fmt == "png"


def test_png_pixels_follow_dpi(tmp_path, capsys):
    sizes = {}
    for dpi in (40, 80, None):
        out = tmp_path / str(dpi)
        assert main([*TINY, "--out", str(out), "-q",
                     *(["--dpi", str(dpi)] if dpi else [])]) == 0
        sizes[dpi] = _png_size((out / "loss.png").read_bytes())
    (w40, h40), (w80, h80) = sizes[40], sizes[80]
    assert abs(w80 - 2 * w40) <= 1 and abs(h80 - 2 * h40) <= 1
    default = command_parser("compare").get_default("dpi")
    assert default >= 150  # a projector's figure, not the screen's 100
    assert abs(sizes[None][0] - w40 * default / 40) <= default / 40


@pytest.mark.parametrize("command", [*FIGURE_COMMANDS, "report"])
@pytest.mark.parametrize("bad", [["--format", "gif"], ["--dpi", "0"], ["--dpi", "-5"],
                                 ["--dpi", "abc"], ["--dpi", "100000"]])
def test_bad_values_exit_2_with_one_line(command, bad, capsys):
    if command == "report" and bad[0] == "--format":
        bad = ["--format", "png"]  # not an option of the report at all
    assert main([*command.split(), *bad]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and bad[1] in err, err


def test_dump_config_leaves_them_to_run_which_passes_them_on(tmp_path, capsys):
    """Like --out, they say how files are written, not what runs: not in a config file,
    given to 'initlab run' instead (which errors for a command without them)."""
    assert main([*TINY, "--format", "svg", "--dpi", "72", "--dump-config"]) == 0
    toml = capsys.readouterr().out
    assert not {"format", "dpi"} & set(tomllib.loads(toml))
    path = tmp_path / "c.toml"
    path.write_text(toml)
    assert main(["run", str(path), "--out", str(tmp_path / "a"), "-q"]) == 0
    assert (tmp_path / "a" / "loss.png").exists()
    assert main(["run", str(path), "--out", str(tmp_path / "b"), "-q", "--format", "svg"]) == 0
    assert b"<svg" in (tmp_path / "b" / "loss.svg").read_bytes()[:400]
    path.write_text(toml + 'format = "svg"\n')
    assert main(["run", str(path)]) == 2
    assert "unknown key 'format'" in capsys.readouterr().err
    path.write_text('experiment = "init"\nspec = "he"\nshape = [2, 2]\n')
    assert main(["run", str(path), "--dpi", "300"]) == 2
    assert "--dpi=300" in capsys.readouterr().err


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A 2-point compare sweep, run in this process's workers."""
    tmp = tmp_path_factory.mktemp("sweep")
    (tmp / "s.toml").write_text('experiment = "compare"\n[fixed]\nn_samples = 40\n'
                                'iterations = 5\nseeds = 1\nlayers = [3]\ninit = "he"\n'
                                '[grid]\nlr = [0.05, 0.5]\n')
    assert main(["sweep", "run", str(tmp / "s.toml"), "--store", str(tmp / "s.db"),
                 "--workers", "1", "-q"]) == 0
    return tmp / "s.db"


@pytest.mark.parametrize("argv, name, fmt", [
    (["--format", "pdf"], "sweep.pdf", "pdf"),            # default name follows the format
    (["--out", "{tmp}/a.svg"], "a.svg", "svg"),           # the format follows the name
    (["--out", "{tmp}/b.png", "--dpi", "40"], "b.png", "png"),
])
def test_sweep_plot_writes_the_format(store, argv, name, fmt, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(["sweep", "plot", "--store", str(store), "--x", "lr", "--y", "test_accuracy",
                 *argv]) == 0
    data = (tmp_path / name).read_bytes()
    assert data.startswith(MAGIC[fmt]) if fmt in MAGIC else b"<svg" in data[:400]
    if "--dpi" in argv:
        assert _png_size(data)[0] < 400  # 40 dpi: a 6.4-inch figure is 256 pixels wide


def test_sweep_plot_refuses_a_name_that_contradicts_the_format(store, tmp_path, capsys):
    assert main(["sweep", "plot", "--store", str(store), "--x", "lr", "--y", "test_accuracy",
                 "--out", str(tmp_path / "x.png"), "--format", "svg"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "x.png" in err and "svg" in err
    assert not (tmp_path / "x.png").exists()
