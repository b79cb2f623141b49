"""Progress on stderr: a tqdm bar on a terminal, a plain line every few seconds elsewhere.

A log file or a pipe gets lines such as ``fit: 4200/15000 steps (28%), 12 s, about 31 s
left`` instead of a bar's carriage returns, and nothing at all for work that ends within the
first interval.
"""

from __future__ import annotations

import sys
import time


class Progress:
    """``update``/``set_postfix_str``/``close`` as tqdm has them, for both kinds of stderr.

    Args:
        total: units of work; desc: what is counted ("fit"); unit: its name ("step").
        every: seconds between plain lines (0: a line on every update, e.g. per section).
        leave: keep the terminal bar when done. enabled: False shows nothing.
    """

    def __init__(self, total: int, desc: str, unit: str, *, every: float = 5.0,
                 leave: bool = True, enabled: bool = True, file=None):
        self.total, self.desc, self.unit, self.every = total, desc, unit, every
        self.file = file or sys.stderr
        self.n, self.postfix = 0, ""
        self.start = self.last = time.monotonic()
        self.bar, self.enabled = None, enabled
        isatty = getattr(self.file, "isatty", None)
        if enabled and isatty is not None and isatty():
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=desc, unit=unit, leave=leave, file=self.file)

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
            self.bar.set_postfix_str(text)

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


__all__ = ["Progress"]
