"""Pieces every subcommand shares: the one-line-error parser, list options, output, progress."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from initlab.errors import MAX_SEED, InitlabError, check_seed
from initlab.runtime.atomic import write_atomic
from initlab.spec import split_specs

if TYPE_CHECKING:  # results imports NumPy, which `initlab --help` does without
    from initlab.results import Result


class Parser(argparse.ArgumentParser):
    """argparse with errors as one line (``initlab CMD: error: ...``) and exit code 2, which
    keeps the list of its options (``options``: the Actions that ``add_argument`` returned,
    in groups too) so configs can be read and written without argparse's internals."""

    @property
    def options(self) -> list[argparse.Action]:
        return self.__dict__.setdefault("_initlab_options", [])

    def add_argument(self, *args, **kwargs) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self.options.append(action)  # argparse's own -h/--help comes through here too
        return action

    def add_argument_group(self, *args, **kwargs):
        return _Group(super().add_argument_group(*args, **kwargs), self.options)

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


class _Group:
    """An argument group that records its options in its parser's list."""

    def __init__(self, group, options: list):
        self._group, self._options = group, options

    def add_argument(self, *args, **kwargs) -> argparse.Action:
        action = self._group.add_argument(*args, **kwargs)
        self._options.append(action)
        return action

    def __getattr__(self, name):
        return getattr(self._group, name)


def seed_int(text: str) -> int:
    """argparse type for a seed: an integer in [0, 2**32 - 1]."""
    try:
        return check_seed(int(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            str(exc) if isinstance(exc, InitlabError)
            else f"expected an integer in [0, {MAX_SEED}], got {text!r}") from None


def int_list(text: str) -> list[int]:
    """argparse type for ``10,5`` -> [10, 5] (positive ints)."""
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}") from None
    if any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"every size must be >= 1, got {text!r}")
    return values


def positive_int(text: str) -> int:
    """argparse type for an int >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """argparse type for a finite float > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def spec_list(text: str) -> list[str]:
    """argparse type for ``zeros,normal(10),he`` -> ['zeros', 'normal(10)', 'he']."""
    try:
        return split_specs(text)
    except InitlabError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


#: The figure files the commands write (matplotlib writes each without a further package).
FIGURE_FORMATS = ("png", "svg", "pdf")
#: Pixels per inch of a figure file unless --dpi says otherwise. A one-plot figure is 6.4
#: inches wide (matplotlib's default), so 200 dpi makes it 1280 pixels wide: the full width
#: of a 1280 x 800 projector, two thirds of a 1920 x 1080 slide; at 100 dpi it is 640 pixels,
#: and a slide that shows it large blows it up two or three times, blurred.
FIGURE_DPI = 200
#: Inches: the width of initlab's one-plot figures (matplotlib's default).
ONE_PLOT = 6.4
#: Pixels per inch of the report's embedded figures: its widest figures (11 inches) are then
#: as wide as its page's column (1100 pixels).
PAGE_DPI = 100
#: The --dpi values accepted: below 10 a figure is a few dozen pixels, above 600 a wide
#: figure needs gigabytes to draw.
DPI_RANGE = (10, 600)


def dpi_int(text: str) -> int:
    """argparse type for --dpi: an integer in :data:`DPI_RANGE`."""
    low, high = DPI_RANGE
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise argparse.ArgumentTypeError(
            f"expected an integer from {low} to {high} (pixels per inch), got {text!r}")
    return value


def add_figure_options(parser, formats: tuple[str, ...] = FIGURE_FORMATS,
                       dpi: int | None = FIGURE_DPI, default_format: str | None = "png") -> None:
    """--format (one of ``formats``; none: no --format, as for the report, whose page embeds
    PNG) and --dpi, for every command that writes figures; :func:`figure_bytes` writes with
    them. ``default_format`` None: the --out file's extension (see :func:`figure_file`);
    ``dpi`` and ``default_format`` None: 'initlab run', which passes on only what it is given
    to the command it runs."""
    if formats:
        told = ("the command's own" if dpi is None
                else "the --out file's extension, else png" if default_format is None
                else f"{default_format}; svg and pdf scale to any size, for slides and print")
        parser.add_argument("--format", choices=formats, default=default_format,
                            help=f"file format of the figures (default: {told})")
    why = {FIGURE_DPI: f"{FIGURE_DPI}, for slides: a {ONE_PLOT}-inch figure is then "
                       f"{ONE_PLOT * FIGURE_DPI:.0f} pixels wide, and a projector does not "
                       "blow it up and blur it",
           PAGE_DPI: f"{PAGE_DPI}, the page's; more: sharper figures on high-resolution "
                     "screens, and a larger page",
           None: "the command's own"}
    parser.add_argument("--dpi", type=dpi_int, default=dpi, metavar="N",
                        help=f"pixels per inch of the PNG figures, {DPI_RANGE[0]} to "
                        f"{DPI_RANGE[1]} (default: {why[dpi]})")


def figure_bytes(fig, args) -> bytes:
    """``fig`` as the bytes of a file in ``args.format`` (png where the command has none) at
    ``args.dpi``: the one place where a command turns a figure into a file."""
    from initlab.plots.common import encode

    return encode(fig, _format(args), args.dpi)


def _format(args) -> str:
    return getattr(args, "format", None) or "png"


def figure_file(path: Path | None, fmt: str | None, stem: str) -> tuple[Path, str]:
    """The file and format of a command that writes one figure to ``--out FILE``: the format
    is --format, else the file's extension, else png; the file is ``--out``, else
    ``stem.FORMAT``. A file whose extension names another format is an error."""
    suffix = path.suffix.lower().lstrip(".") if path is not None else ""
    known = suffix in FIGURE_FORMATS
    fmt = fmt or (suffix if known else "png")
    if path is None:
        return Path(f"{stem}.{fmt}"), fmt
    if known and suffix != fmt:
        raise InitlabError(f"--out {path} is not a {fmt} file: give an --out ending in .{fmt}, "
                           f"or --format {suffix}")
    if not known and suffix:
        raise InitlabError(f"--out {path}: unknown figure format {suffix!r}; give --format "
                           f"{'|'.join(FIGURE_FORMATS)} or an --out ending in one of them")
    return path, fmt


def add_output_options(parser: argparse.ArgumentParser, figures: bool = True) -> None:
    """--json, --out DIR and -q/--quiet, as every experiment command has them; with
    ``figures``, --format and --dpi too (:func:`add_figure_options`)."""
    parser.add_argument("--json", action="store_true",
                        help="print the result as JSON on stdout instead of a table")
    if figures:
        parser.add_argument("--out", metavar="DIR", type=Path,
                            help="write results.json and the figures into DIR")
        add_figure_options(parser)
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def dataset_of(args) -> str:
    """The data set a digits-by-default command runs on: ``mnist`` when ``--data`` gives
    files and ``--dataset`` was left at digits, else ``--dataset``."""
    return "mnist" if args.data is not None and args.dataset == "digits" else args.dataset


def check_file_target(path: Path, option: str) -> None:
    """Raise unless ``path`` (a file an option names) can be made: its folder must exist.
    Only ``--out`` folders are created; a file's missing folder is more often a typo."""
    folder = path.parent
    if not folder.is_dir():
        why = "is not a folder" if folder.exists() else "does not exist"
        raise InitlabError(f"cannot write {option} {str(path)!r}: its folder {str(folder)!r} "
                           f"{why}")


def check_data_path(path) -> None:
    """Raise unless ``--data`` names an existing file or folder. Checked before the budget,
    which otherwise estimates the run at MNIST's size and refuses it as too long."""
    if path is not None and not Path(path).expanduser().exists():
        raise InitlabError(f"file not found: {str(Path(path).expanduser())!r}")


def check_names(*, inits=(), activations=(), optimizer=None, norms=()) -> None:
    """Look up every init spec, activation, optimizer and norm as the run will (each raises
    naming the bad one and the valid ones), before the budget is estimated from the sizes."""
    from initlab.init import get_initializer
    from initlab.nn.activations import get_activation
    from initlab.nn.norm import check_norm
    from initlab.optim import get_optimizer

    for spec in inits:
        get_initializer(spec)
    for spec in activations:
        get_activation(spec)
    if optimizer is not None:
        get_optimizer(optimizer)
    for norm in norms:
        check_norm(norm)


def show_progress(args) -> bool:
    """Progress on stderr unless -q: a bar on a terminal, else a plain line every few seconds."""
    return not getattr(args, "quiet", False)


def emit(result: Result, args, figures: dict | None = None) -> None:
    """Print ``result`` (table or JSON) and, with --out, save results.json and the figures.

    ``figures`` maps file stems to matplotlib Figures; each is saved as ``DIR/stem.FORMAT``
    (--format, at --dpi: :func:`figure_bytes`).
    Every file is written whole or not at all; files of an earlier run in DIR that this run
    does not rewrite are removed (see :mod:`initlab.cli.guard`).
    """

    out = getattr(args, "out", None)
    if out is not None:
        from initlab.cli.guard import check_output, finish_output

        out = check_output(out)
        result.save(out / "results.json")
        written = ["results.json"]
        for stem, fig in (figures or {}).items():
            name = f"{stem}.{_format(args)}"
            write_atomic(out / name, figure_bytes(fig, args))
            written.append(name)
        finish_output(out, written, args.command)
    if getattr(args, "json", False):
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result)
        if out is not None:
            names = ", ".join(["results.json"] + [f"{s}.{_format(args)}" for s in figures or {}])
            print(f"\nwrote {names} to {out}")
