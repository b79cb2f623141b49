"""The SQLite store: unique points, exclusive claims, stale claims, foreign files refused."""

import socket
import sqlite3
import subprocess
import sys

import pytest

from initlab.errors import InitlabError
from initlab.sweep.grid import read_sweep
from initlab.sweep.store import Store


def test_two_stores_on_one_file_never_duplicate_points(tiny, tmp_path):
    points = read_sweep(tiny).points
    path = tmp_path / "s.db"
    with Store(path) as a, Store(path) as b:
        assert a.add(points, "compare") == 4
        assert b.add(points, "compare") == 0
        assert b.add(points[:1], "compare") == 0
        assert a.claim(points[0].key) and not b.claim(points[0].key)
        b.finish(points[0].key, {"status": "done", "records": [{"x": 1}], "seconds": 0.1})
        assert not a.claim(points[0].key)
        assert a.counts() == {"pending": 3, "running": 0, "done": 1, "failed": 0}
        assert a.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert a.integrity() == "ok"
    rows = Store(path, create=False).rows()
    assert [r["key"] for r in rows] == [p.key for p in points]
    assert rows[0]["records"] == [{"x": 1}] and rows[0]["config"] == points[0].config


def test_failed_points_are_claimed_again_only_when_asked(tiny, tmp_path):
    point = read_sweep(tiny).points[0]
    with Store(tmp_path / "s.db") as store:
        store.add([point], "compare")
        assert store.claim(point.key)
        store.finish(point.key, {"status": "failed", "error": "boom"})
        assert not store.claim(point.key)
        assert store.claim(point.key, retry_failed=True)
        assert store.rows()[0]["attempts"] == 2


def test_claims_of_a_dead_process_are_released(tiny, tmp_path):
    points = read_sweep(tiny).points
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    with Store(tmp_path / "s.db") as store:
        store.add(points, "compare")
        store.claim(points[0].key)  # held by this live process: kept
        store.db.execute("UPDATE points SET status = 'running', owner = ? WHERE key = ?",
                         (f"{socket.gethostname()}:{dead}", points[1].key))
        assert store.release_stale() == 1
        assert store.status([p.key for p in points[:2]]) == {points[0].key: "running",
                                                             points[1].key: "pending"}


def test_foreign_files_are_refused_and_left_alone(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(InitlabError, match="not an initlab sweep store .not an SQLite file"):
        Store(text)
    assert text.read_text() == "hello"
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    before = other.read_bytes()
    with pytest.raises(InitlabError, match="an SQLite file but not an initlab sweep store"):
        Store.check(other)
    assert other.read_bytes() == before
    with pytest.raises(InitlabError, match="does not exist"):
        Store(tmp_path / "missing.db", create=False)
    with pytest.raises(InitlabError, match="its folder does not exist"):
        Store.check(tmp_path / "no" / "s.db")
