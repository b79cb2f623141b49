"""Progress on stderr: a tqdm bar on a terminal, a plain line every few seconds elsewhere.

A log file or a pipe gets lines such as ``fit: 4200/15000 steps (28%), 12 s, about 31 s
left`` instead of a bar's carriage returns, and nothing at all for work that ends within the
first interval.
"""

from __future__ import annotations

import os
import shutil
import sys
import time

EVERY = 5.0  # seconds between plain lines (a test sets 0 to see one line per update)
#: Columns a terminal bar needs beside its description and postfix: percent, counts, times,
#: rate and at least a few of the bar's own cells (the count and the unit are added).
METER = 45


def fit_words(text: str, width: int) -> str:
    """``text`` if it fits in ``width`` characters, else cut at a space and ended with "...":
    never inside a word or a number ("5 layers of 10" for "of 100"); "" when not even the
    first word fits."""
    if len(text) <= width:
        return text
    cut = text.rfind(" ", 0, width - 2)
    return text[:cut] + "..." if cut > 0 else ""


class Progress:
    """``update``/``set_postfix_str``/``close`` as tqdm has them, for both kinds of stderr.

    Every command's progress goes through it, so a log file never gets a bar's carriage
    returns. A postfix (e.g. the title of what just finished) is written whole in plain lines;
    on a terminal it is cut at a word (:func:`fit_words`) to fit the bar in the terminal's
    width, which tqdm would otherwise cut at any character.

    Args:
        total: units of work; desc: what is counted ("fit"); unit: its name ("step").
        every: seconds between plain lines (0: a line on every update, e.g. per section;
            default :data:`EVERY`).
        leave: keep the terminal bar when done. enabled: False shows nothing.
    """

    def __init__(self, total: int, desc: str, unit: str, *, every: float | None = None,
                 leave: bool = True, enabled: bool = True, file=None):
        self.total, self.desc, self.unit = total, desc, unit
        self.every = EVERY if every is None else every
        self.file = file or sys.stderr
        self.n, self.postfix = 0, ""
        self.start = self.last = time.monotonic()
        self.bar, self.enabled = None, enabled
        isatty = getattr(self.file, "isatty", None)
        if enabled and isatty is not None and isatty():
            from tqdm.auto import tqdm

            self.columns = _columns(self.file)
            self.bar = tqdm(total=total, desc=desc, unit=unit, leave=leave, file=self.file,
                            ncols=self.columns)

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.monotonic()
        if self.enabled and now - self.last >= self.every:
            self.last = now
            self._line(now)

    def set_postfix_str(self, text: str) -> None:
        self.postfix = text
        if self.bar is not None:
            room = (self.columns - len(self.desc) - len(self.unit) - 2 * len(str(self.total))
                    - METER)
            # shown by the next update (callers set it just before), not with the old count
            self.bar.set_postfix_str(fit_words(text, room), refresh=False)

    def _line(self, now: float) -> None:
        took = now - self.start
        share = self.n / self.total if self.total else 1.0
        left = f", about {took / share - took:.0f} s left" if 0 < share < 1 else ""
        extra = f", {self.postfix}" if self.postfix else ""
        print(f"{self.desc}: {self.n}/{self.total} {self.unit}s ({100 * share:.0f}%), "
              f"{took:.0f} s{left}{extra}", file=self.file, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _columns(file) -> int:
    """The width of the terminal ``file`` writes to ($COLUMNS first, as shutil has it)."""
    if "COLUMNS" not in os.environ:
        try:
            return os.get_terminal_size(file.fileno()).columns
        except (AttributeError, OSError, ValueError):
            pass
    return shutil.get_terminal_size().columns


__all__ = ["EVERY", "Progress", "fit_words"]
