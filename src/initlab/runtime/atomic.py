"""Files written whole or not at all: a temporary file beside the target, then a rename.

Every file initlab writes goes through here (or, for a store SQLite creates, is made with
:func:`new_file_mode` first), so that it gets the mode the user's umask gives a new file
(0o644 under the usual umask 022): the temporary file is made private (0o600) by
``tempfile``, and a page left at that mode could not be served to anyone else.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def new_file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file: 0o666 less the process's umask."""
    return 0o666 & ~_umask()


def _umask() -> int:
    # Linux reports it without changing it; elsewhere it can only be read by setting it, for
    # the instant between two calls (another thread creating a file then would get 0o077).
    with contextlib.suppress(OSError, ValueError, StopIteration), \
            open("/proc/self/status") as f:
        return int(next(line for line in f if line.startswith("Umask:")).split()[1], 8)
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path) -> Iterator[Path]:
    """A temporary path beside ``path`` for a writer that wants a file name (safetensors,
    matplotlib); when the block ends without an exception the file gets :func:`new_file_mode`
    and replaces ``path``; otherwise it is removed. Its name ends in ``path``'s suffix."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                               suffix=f".tmp{path.suffix}")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, new_file_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_atomic(path, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` through a temporary file and ``os.replace``:
    an interruption leaves the old file or the new one, never half a file. The file gets the
    mode a new file gets under the user's umask."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)


__all__ = ["atomic_path", "new_file_mode", "write_atomic"]
