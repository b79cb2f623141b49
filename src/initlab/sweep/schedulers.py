"""Where the points of a sweep run: local processes, a Dask LocalCluster, or a Dask scheduler.

``processes`` (the default) needs no service: a pool of worker processes on this machine.
``dask-local`` starts a ``dask.distributed.LocalCluster`` (one thread per worker process);
``tcp://HOST:PORT`` connects to a Dask scheduler that the user started with ``dask scheduler``
and ``dask worker``, so the same sweep file runs on a laptop or a cluster. Every result comes
back to the machine that runs the sweep, which alone writes the store; workers need only
initlab installed.

:func:`drive` hands points to a pool a few at a time, claiming each in the store just before
it goes, and writes each outcome as soon as it arrives.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import socket

from initlab.errors import InitlabError

SCHEDULERS = ("processes", "dask-local", "tcp://HOST:PORT")
CONNECT_TIMEOUT = 2  # seconds to reach a Dask scheduler before giving up


def failed(message: str) -> dict:
    """The outcome of a point whose worker crashed (the task itself never raises)."""
    return {"status": "failed", "error": message, "result": None, "records": None}


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the sweep, which gives their points back and stops them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class ProcessPool:
    """Worker processes on this machine (spawned fresh: no state inherited from the sweep)."""

    def __init__(self, workers: int):
        from concurrent.futures.process import BrokenProcessPool

        from initlab.runtime.workers import check_can_start, start_failed

        check_can_start()
        self.workers = workers
        self.pool = cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                           initializer=_ignore_sigint)
        try:  # one worker started now: one that cannot start fails here, not as failed points
            self.pool.submit(os.getpid).result()
        except (OSError, BrokenProcessPool) as exc:
            self.pool.shutdown(wait=False, cancel_futures=True)
            raise start_failed(exc) from exc

    def submit(self, fn, arg):
        return self.pool.submit(fn, arg)

    def wait(self, futures):
        return cf.wait(futures, return_when=cf.FIRST_COMPLETED).done

    def outcome(self, future) -> dict:
        try:
            return future.result()
        except Exception as exc:  # noqa: BLE001 - e.g. a worker killed by the OS
            return failed(f"worker process failed: {type(exc).__name__}: {exc}")

    def close(self, cancel: bool = False) -> None:
        if cancel:  # stop the points in flight too: they go back to pending anyway
            # the pool's workers are this process's children (Python 3.11's pool has no
            # public way to end them; this process starts no other children meanwhile)
            for process in multiprocessing.active_children():
                process.terminate()
        self.pool.shutdown(wait=not cancel, cancel_futures=True)


class DaskPool:
    """A Dask client: on a new LocalCluster (``address=None``) or on a running scheduler."""

    def __init__(self, address: str | None, workers: int):
        if address is not None:
            _reachable(address)
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise InitlabError("the Dask schedulers need Dask, which is not installed: "
                               "pip install 'dask[distributed]' (or use --scheduler processes)"
                               ) from None
        import dask

        self.cluster = None
        with dask.config.set({"distributed.comm.timeouts.connect": f"{CONNECT_TIMEOUT}s"}):
            if address is None:
                self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                            processes=True, dashboard_address=None,
                                            host="127.0.0.1")
                self.client = Client(self.cluster)
            else:
                try:
                    self.client = Client(address, timeout=CONNECT_TIMEOUT)
                except (OSError, TimeoutError) as exc:
                    raise InitlabError(f"cannot reach the Dask scheduler at {address} within "
                                       f"{CONNECT_TIMEOUT} s ({type(exc).__name__}); is "
                                       "'dask scheduler' running there?") from None
        threads = sum(self.client.nthreads().values())
        self.workers = threads or workers

    def submit(self, fn, arg):
        return self.client.submit(fn, arg, pure=False)

    def wait(self, futures):
        from dask.distributed import wait

        return wait(futures, return_when="FIRST_COMPLETED").done

    def outcome(self, future) -> dict:
        try:
            return future.result()
        except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker
            return failed(f"Dask worker failed: {type(exc).__name__}: {exc}")

    def close(self, cancel: bool = False) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _reachable(address: str) -> None:
    """Raise at once when nothing listens at ``tcp://HOST:PORT`` (before Dask is imported)."""
    host, _, port = address[6:].rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise InitlabError(f"cannot reach the Dask scheduler at {address} "
                           f"({exc.strerror or type(exc).__name__}); is 'dask scheduler' "
                           "running there?") from None


def check_scheduler(scheduler: str) -> str:
    """Return ``scheduler`` if it is one of :data:`SCHEDULERS`, else raise listing them."""
    if scheduler in ("processes", "dask-local"):
        return scheduler
    if scheduler.startswith("tcp://"):
        host, _, port = scheduler[6:].rpartition(":")
        if host and port.isdigit():
            return scheduler
    raise InitlabError(f"unknown scheduler {scheduler!r}; valid: {', '.join(SCHEDULERS)}")


def open_pool(scheduler: str, workers: int | None):
    """A pool for ``scheduler``; ``workers`` defaults to the number of CPUs."""
    workers = workers or os.cpu_count() or 1
    scheduler = check_scheduler(scheduler)
    if scheduler == "processes":
        return ProcessPool(workers)
    return DaskPool(None if scheduler == "dask-local" else scheduler, workers)


def drive(pool, store, points, fn, *, retry_failed: bool = False, on_outcome=None) -> dict:
    """Run ``fn(point.config)`` for every point on ``pool``, writing outcomes to ``store``.

    At most two points per worker are claimed at a time, so a killed sweep loses at most
    those. A point that another sweep has claimed or finished meanwhile is skipped. On any
    interruption the claimed points go back to pending before the exception propagates.
    Returns counts: ``{"done", "failed", "skipped"}``.
    """
    queue = list(reversed(points))
    inflight = {}
    counts = {"done": 0, "failed": 0, "skipped": 0}
    window = 2 * pool.workers
    try:
        while queue or inflight:
            while queue and len(inflight) < window:
                point = queue.pop()
                if store.claim(point.key, retry_failed):
                    inflight[pool.submit(fn, point.config)] = point
                else:
                    counts["skipped"] += 1
                    if on_outcome is not None:
                        on_outcome(point, None)
            if not inflight:
                break
            for future in pool.wait(list(inflight)):
                point = inflight.pop(future)
                outcome = pool.outcome(future)
                store.finish(point.key, outcome)
                counts[outcome["status"]] += 1
                if on_outcome is not None:
                    on_outcome(point, outcome)
    except BaseException:
        store.release([p.key for p in inflight.values()])
        pool.close(cancel=True)
        raise
    return counts
