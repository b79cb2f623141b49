"""What every command goes through before and around its run: the one place for safety.

- :func:`signals`: SIGINT and SIGTERM become :class:`Interrupted` (exit 130 / 143) in the main
  thread; a second signal while the run cleans up is ignored, so cleanup always finishes.
- :func:`prepare`: the command's ``check_inputs(args)`` hook (files exist, names are known),
  then :func:`check_output` (the ``--out`` folder is created and proved writable), then the
  command's ``estimate(args)`` hook (memory and time from the sizes) unless ``--force``, all
  before any work.
- :func:`previous_output` / :func:`finish_output`: a folder that holds an earlier run's
  output is announced as replaced, and the earlier files the new run did not rewrite are
  removed, from the list kept in ``DIR/.initlab-files``, so old and new never mix.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import tempfile
from pathlib import Path

from initlab.errors import InitlabError
from initlab.runtime.atomic import write_atomic
from initlab.runtime.budget import check

MANIFEST = ".initlab-files"
CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


class Interrupted(BaseException):  # noqa: N818 - not an error: the user asked to stop
    """The run was stopped by a signal; ``code`` is the exit status (128 + signal)."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


_state = {"installed": False, "fired": None}


@contextlib.contextmanager
def signals():
    """Turn the first SIGINT/SIGTERM into :class:`Interrupted`; ignore those after it.

    Re-entrant (``initlab run`` calls the command inside it); outside the main thread it does
    nothing.
    """
    import threading

    if _state["installed"] or threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        if _state["fired"] is None:
            _state["fired"] = signum
            raise Interrupted(CODES[signum])

    old = {s: signal.signal(s, handler) for s in CODES}
    _state.update(installed=True, fired=None)
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        _state.update(installed=False, fired=None)


def interrupted_code() -> int | None:
    """The exit code of the signal received so far in :func:`signals`, or None."""
    fired = _state["fired"]
    return None if fired is None else CODES[fired]


def check_output(out) -> Path:
    """Create the folder ``out`` and prove it writable now; raise naming what is wrong."""
    out = Path(out)
    for parent in [out, *out.parents]:
        if parent.exists() and not parent.is_dir():
            what = "is" if parent == out else f"lies inside {str(parent)!r}, which is"
            raise InitlabError(f"the output folder {str(out)!r} {what} a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".initlab-check-"):
            pass
    except OSError as exc:
        raise InitlabError(f"cannot write into the output folder {str(out)!r}: "
                           f"{exc.strerror or exc}") from None
    return out


def previous_output(out: Path) -> list[str]:
    """Files an earlier initlab run wrote into ``out`` (from its manifest)."""
    try:
        files = json.loads((out / MANIFEST).read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        files = [n for n in ("results.json", "report.html") if (out / n).is_file()]
    return [f for f in files if isinstance(f, str) and "/" not in f and (out / f).is_file()]


def finish_output(out: Path, written: list[str], command: str) -> None:
    """Record ``written`` as ``out``'s manifest and remove the earlier run's other files."""
    for name in set(previous_output(out)) - set(written):
        with contextlib.suppress(OSError):
            (out / name).unlink()
    write_atomic(out / MANIFEST, json.dumps({"command": command, "files": sorted(written)}))


def prepare(args, module) -> None:
    """Before the run, in this order: the inputs (the command's ``check_inputs(args)``: files
    exist, names are known), the output place (every command with ``out``), then the budget.
    So a wrong name or a missing file is reported as such, never as a run that "would take
    2 h" estimated from it, and no folder is made for a run that cannot start."""
    check_inputs = getattr(module, "check_inputs", None)
    if check_inputs is not None:
        check_inputs(args)
    out = getattr(args, "out", None)
    if out is not None:
        out = check_output(out)
        old = previous_output(out)
        if old and not getattr(args, "quiet", False):
            print(f"initlab {args.command}: replacing the earlier output in {out} "
                  f"({len(old)} file(s))", file=sys.stderr)
    estimate = getattr(module, "estimate", None)
    if estimate is not None and not getattr(args, "force", False):
        found = estimate(args)
        if found is not None:
            check(found)


def stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader has gone (``initlab ... | head`` read enough):
    then a BrokenPipeError is no error. One from anything else (a worker's pipe, a socket) is.
    Where poll() is missing (Windows) every BrokenPipeError is taken for stdout's."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a file: it cannot be a closed pipe
        return False
    import select

    if not hasattr(select, "poll"):
        return True
    poll = select.poll()
    poll.register(fd, select.POLLOUT)
    return any(events & select.POLLERR for _, events in poll.poll(0))


def worker_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is :class:`initlab.runtime.workers.WorkerError` (workers that could not start
    or died), looked up without importing that module: it is loaded if it raised one."""
    workers = sys.modules.get("initlab.runtime.workers")
    return workers is not None and isinstance(exc, workers.WorkerError)


__all__ = ["Interrupted", "check_output", "finish_output", "interrupted_code", "prepare",
           "previous_output", "signals", "stdout_closed", "worker_failure"]
