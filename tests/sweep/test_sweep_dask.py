"""The Dask schedulers for real: a LocalCluster of 2 workers, and ``dask scheduler`` /
``dask worker`` started as separate processes on 127.0.0.1, driven through the CLI."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sweep_helpers import TINY, env, initlab

from initlab.cli import main
from initlab.sweep.store import Store

pytest.importorskip("dask.distributed")


def stored(path) -> dict:
    with Store(path, create=False) as store:
        return {r["key"]: (r["status"], r["result"], r["records"]) for r in store.rows()}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    """The tiny sweep run on local processes: what every scheduler must store."""
    folder = tmp_path_factory.mktemp("reference")
    (folder / "tiny.toml").write_text(TINY)
    assert main(["sweep", "run", str(folder / "tiny.toml"), "--store", str(folder / "p.db"),
                 "--workers", "2", "-q"]) == 0
    rows = stored(folder / "p.db")
    assert len(rows) == 4 and all(v[0] == "done" for v in rows.values())
    return rows


def test_local_processes_and_a_local_cluster_store_the_same_bits(tiny, tmp_path, reference):
    store = tmp_path / "dask.db"
    assert main(["sweep", "run", str(tiny), "--store", str(store), "--workers", "2", "-q",
                 "--scheduler", "dask-local"]) == 0
    assert stored(store) == reference


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the Dask scheduler did not listen on port {port} in {seconds} s")


def test_scheduler_and_worker_processes_through_the_cli(tiny, tmp_path, reference):
    dask = Path(sys.executable).with_name("dask")
    if not dask.exists():
        pytest.skip("the 'dask' command is not installed next to this Python")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = []
    try:
        procs.append(subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait_for_port(port, 60)
        procs.append(subprocess.Popen(
            [dask, "worker", address, "--host", "127.0.0.1", "--nworkers", "1", "--nthreads",
             "1", "--no-dashboard"], env=env(), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL))
        store = tmp_path / "remote.db"
        result = initlab("sweep", "run", tiny, "--store", store, "--scheduler", address, "-q",
                         timeout=180)
        assert result.returncode == 0, result.stderr
        assert "ran 4 of 4 points" in result.stdout
        assert stored(store) == reference
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def test_an_unreachable_scheduler_is_one_line_within_10_s(tiny, tmp_path):
    store = tmp_path / "s.db"
    start = time.monotonic()
    result = initlab("sweep", "run", tiny, "--store", store, "--scheduler",
                     f"tcp://127.0.0.1:{_free_port()}", "-q", timeout=60)
    assert time.monotonic() - start < 10
    assert result.returncode == 2
    assert result.stderr.startswith("initlab sweep run: error: cannot reach the Dask scheduler at "
                                    "tcp://127.0.0.1:")
    assert result.stderr.count("\n") == 1
    assert not store.exists()


def test_without_dask_the_line_says_how_to_install_it(tiny, tmp_path):
    code = ("import sys; sys.modules['dask'] = sys.modules['dask.distributed'] = None; "
            "from initlab.cli import main; sys.exit(main(sys.argv[1:]))")
    result = subprocess.run([sys.executable, "-c", code, "sweep", "run", str(tiny), "--store",
                             str(tmp_path / "s.db"), "--scheduler", "dask-local"], env=env(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "pip install 'dask[distributed]'" in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "s.db").exists()
