"""Reading a TOML file (a config for ``initlab run``, a sweep file) with one clear error."""

from __future__ import annotations

import tomllib
from pathlib import Path

from initlab.errors import InitlabError


def read_toml(path: str | Path, what: str) -> dict:
    """The parsed TOML document at ``path``; a missing, unreadable or malformed file raises
    one :class:`InitlabError` naming it as ``what`` (e.g. "config file")."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise InitlabError(f"{what} {str(path)!r} does not exist") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InitlabError(f"cannot read {what} {str(path)!r}: {exc}") from None


__all__ = ["read_toml"]
