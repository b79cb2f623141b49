"""Pieces every subcommand shares: the one-line-error parser, list options, output, progress."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from initlab.errors import InitlabError
from initlab.results import Result, format_table
from initlab.spec import split_specs


class Parser(argparse.ArgumentParser):
    """argparse with errors as one line (``initlab CMD: error: ...``) and exit code 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


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


def show_progress(args) -> bool:
    """A progress bar only on a terminal (stderr) and without -q/--json."""
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def emit(result: Result, args, figures: dict | None = None) -> None:
    """Print ``result`` (table or JSON) and, with --out, save results.json and the figures.

    ``figures`` maps file stems to matplotlib Figures; each is saved as ``DIR/stem.png``.
    A callable ``args.result_sink`` (set by ``initlab sweep``) takes the result instead.
    """
    sink = getattr(args, "result_sink", None)
    if sink is not None:
        sink(result)
        return
    out = getattr(args, "out", None)
    if out is not None:
        out = Path(out)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InitlabError(f"cannot create the output folder {str(out)!r}: {exc}") from None
        result.save(out / "results.json")
        for stem, fig in (figures or {}).items():
            fig.savefig(out / f"{stem}.png", dpi=110)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(format_table(*result.table()))
        if out is not None:
            names = ", ".join(["results.json"] + [f"{s}.png" for s in (figures or {})])
            print(f"\nwrote {names} to {out}")
