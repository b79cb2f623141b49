"""Pieces every subcommand shares: the one-line-error parser, list options, output, progress."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from initlab.atomic import write_atomic
from initlab.errors import MAX_SEED, InitlabError, check_seed
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


def add_output_options(parser: argparse.ArgumentParser, figures: bool = True) -> None:
    """--json, --out DIR and -q/--quiet, as every experiment command has them."""
    parser.add_argument("--json", action="store_true",
                        help="print the result as JSON on stdout instead of a table")
    if figures:
        parser.add_argument("--out", metavar="DIR", type=Path,
                            help="write results.json and the PNG figures into DIR")
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

    ``figures`` maps file stems to matplotlib Figures; each is saved as ``DIR/stem.png``.
    Every file is written whole or not at all; files of an earlier run in DIR that this run
    does not rewrite are removed (see :mod:`initlab.cli.guard`). A callable
    ``args.result_sink`` (set by ``initlab sweep``) takes the result instead.
    """

    sink = getattr(args, "result_sink", None)
    if sink is not None:
        sink(result)
        return
    out = getattr(args, "out", None)
    if out is not None:
        from initlab.cli.guard import check_output, finish_output

        out = check_output(out)
        result.save(out / "results.json")
        written = ["results.json"]
        from initlab.report import png_bytes

        for stem, fig in (figures or {}).items():
            write_atomic(out / f"{stem}.png", png_bytes(fig, dpi=110))
            written.append(f"{stem}.png")
        finish_output(out, written, args.command)
    if getattr(args, "json", False):
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result)
        if out is not None:
            names = ", ".join(["results.json"] + [f"{s}.png" for s in (figures or {})])
            print(f"\nwrote {names} to {out}")
