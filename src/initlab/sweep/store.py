"""The results store of a sweep: one SQLite file, one row per point.

Each row holds the point's configuration (JSON), its stable key (unique: a point is stored
once however many sweeps add it), status (``pending``, ``running``, ``done``, ``failed``),
the result (JSON), its flat records (JSON), timings, the host and process that ran it, the
error message of a failed point and the initlab version. Every change is one transaction
and the file is in write-ahead-log mode, so a sweep killed at any moment leaves a valid
store; a point is claimed (``running``) just before it is handed to a worker, so a killed
sweep loses at most the points in flight, which the next run takes up again.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from contextlib import contextmanager, suppress
from pathlib import Path

from initlab.errors import InitlabError

FORMAT = "initlab-sweep"
SCHEMA_VERSION = "1"
STATUSES = ("pending", "running", "done", "failed")

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE points (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    experiment TEXT NOT NULL,
    config TEXT NOT NULL,
    grid TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    result TEXT,
    records TEXT,
    error TEXT,
    owner TEXT,
    added REAL NOT NULL,
    started REAL,
    finished REAL,
    seconds REAL,
    host TEXT,
    version TEXT,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX points_status ON points (status);
"""


def owner_id() -> str:
    """``host:pid`` of this process: who claimed a running point."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class Store:
    """An open sweep store; ``Store(path, create=True)`` makes a new one if there is none."""

    def __init__(self, path: str | Path, create: bool = True):
        self.path = Path(path)
        exists = self.path.exists() and self.path.stat().st_size > 0
        if not exists and not create:
            raise InitlabError(f"store {str(self.path)!r} does not exist")
        if exists and self.path.is_dir():
            raise InitlabError(f"store {str(self.path)!r} is a folder; give a file name")
        if not exists and not self.path.parent.is_dir():
            raise InitlabError(f"cannot create store {str(self.path)!r}: its folder does not "
                               "exist")
        try:
            if not exists:  # made here, with the umask's mode (SQLite would give 0o644)
                with suppress(FileExistsError):  # another sweep made it first
                    os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            if exists:
                self._check_format()
            else:
                self._create()
        except (sqlite3.Error, OSError) as exc:
            raise InitlabError(f"cannot open store {str(self.path)!r}: {exc}") from None
        self.db.execute("PRAGMA synchronous=NORMAL")

    @staticmethod
    def check(path: str | Path) -> None:
        """Raise unless ``path`` is absent, empty, or an initlab store (writes nothing)."""
        path = Path(path)
        if path.exists() and path.stat().st_size > 0:
            Store(path, create=False).close()
        elif not path.parent.is_dir():
            raise InitlabError(f"cannot create store {str(path)!r}: its folder does not exist")

    def _check_format(self) -> None:
        # Never read the file with open(): closing such a descriptor would drop the POSIX
        # locks of every SQLite connection of this process to it (and corrupt its view).
        try:
            self.db.execute("PRAGMA schema_version").fetchone()
        except sqlite3.DatabaseError:
            self.db.close()
            raise InitlabError(f"{str(self.path)!r} is not an initlab sweep store (not an SQLite "
                               "file); give a new file name or an existing store") from None
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        except sqlite3.DatabaseError:
            row = None
        if row is None or row[0] != FORMAT:
            self.db.close()
            raise InitlabError(f"{str(self.path)!r} is an SQLite file but not an initlab sweep "
                               "store; give a new file name or an existing store")

    def _create(self) -> None:
        self.db.execute("PRAGMA journal_mode=WAL")
        with self.transaction():
            if self.db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'meta'"
                               ).fetchone()[0]:
                return  # another sweep created it a moment ago
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            self.db.executemany("INSERT INTO meta VALUES (?, ?)",
                                [("format", FORMAT), ("schema", SCHEMA_VERSION),
                                 ("created", str(time.time()))])

    @contextmanager
    def transaction(self):
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on any exception)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---------------------------------------------------------------- writing
    def add(self, points, experiment: str) -> int:
        """Insert the points not stored yet (as ``pending``); return how many were new."""
        now = time.time()
        with self.transaction() as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO points (key, experiment, config, grid, status, added) "
                "VALUES (?, ?, ?, ?, 'pending', ?)",
                [(p.key, experiment, json.dumps(p.config), json.dumps(p.grid), now)
                 for p in points])
            return db.total_changes - before

    def release_stale(self) -> int:
        """Put back to ``pending`` the running points whose process on this host is gone."""
        host = socket.gethostname()
        rows = self.db.execute("SELECT key, owner FROM points WHERE status = 'running'")
        stale = [key for key, owner in rows.fetchall()
                 if owner and owner.rsplit(":", 1)[0] == host
                 and not _alive(int(owner.rsplit(":", 1)[1]))]
        with self.transaction() as db:
            db.executemany("UPDATE points SET status = 'pending', owner = NULL "
                           "WHERE key = ? AND status = 'running'", [(k,) for k in stale])
        return len(stale)

    def claim(self, key: str, retry_failed: bool = False) -> bool:
        """Mark a pending (or, with ``retry_failed``, failed) point running; True if it was."""
        states = "('pending', 'failed')" if retry_failed else "('pending')"
        with self.transaction() as db:
            cur = db.execute(f"UPDATE points SET status = 'running', owner = ?, started = ?, "
                             f"attempts = attempts + 1 WHERE key = ? AND status IN {states}",
                             (owner_id(), time.time(), key))
            return cur.rowcount == 1

    def finish(self, key: str, outcome: dict) -> None:
        """Store a worker's outcome: status, result, records, error, timings, host, version."""
        with self.transaction() as db:
            db.execute(
                "UPDATE points SET status = ?, result = ?, records = ?, error = ?, owner = NULL, "
                "finished = ?, seconds = ?, host = ?, version = ? WHERE key = ?",
                (outcome["status"], outcome.get("result"),
                 json.dumps(outcome.get("records"), allow_nan=False)
                 if outcome.get("records") is not None else None,
                 outcome.get("error"), time.time(), outcome.get("seconds"),
                 outcome.get("host"), outcome.get("version"), key))

    def release(self, keys) -> None:
        """Put claimed points back to ``pending`` (a stopped sweep gives back its work)."""
        with self.transaction() as db:
            db.executemany("UPDATE points SET status = 'pending', owner = NULL "
                           "WHERE key = ? AND status = 'running' AND owner = ?",
                           [(k, owner_id()) for k in keys])

    # ---------------------------------------------------------------- reading
    def status(self, keys) -> dict[str, str]:
        """``{key: status}`` of the given keys (those stored)."""
        keys = list(keys)
        out = {}
        for i in range(0, len(keys), 500):
            part = keys[i:i + 500]
            marks = ",".join("?" * len(part))
            out.update(self.db.execute(
                f"SELECT key, status FROM points WHERE key IN ({marks})", part).fetchall())
        return out

    def counts(self) -> dict[str, int]:
        """Points per status, every status listed."""
        found = dict(self.db.execute("SELECT status, count(*) FROM points GROUP BY status"))
        return {s: found.get(s, 0) for s in STATUSES}

    def rows(self, status: str | None = None) -> list[dict]:
        """Every stored point as a dict (JSON columns decoded), in insertion order."""
        sql = ("SELECT key, experiment, config, grid, status, result, records, error, started, "
               "finished, seconds, host, version, attempts FROM points")
        args = ()
        if status is not None:
            sql, args = sql + " WHERE status = ?", (status,)
        names = ["key", "experiment", "config", "grid", "status", "result", "records", "error",
                 "started", "finished", "seconds", "host", "version", "attempts"]
        out = []
        for values in self.db.execute(sql + " ORDER BY id", args):
            row = dict(zip(names, values, strict=True))
            for name in ("config", "grid", "result", "records"):
                if row[name] is not None:
                    row[name] = json.loads(row[name])
            out.append(row)
        return out

    def integrity(self) -> str:
        """``PRAGMA integrity_check``: ``"ok"`` for a sound file."""
        return self.db.execute("PRAGMA integrity_check").fetchone()[0]
