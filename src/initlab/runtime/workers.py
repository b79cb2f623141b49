"""Worker processes that never outlive an interruption and never print a traceback for one.

:class:`Workers` runs ``fn(*task)`` for a list of tasks in a few fresh processes (the
``spawn`` start method: safe with BLAS threads, the same on every platform) and yields each
result as it finishes. What it guarantees:

- Ctrl-C reaches only the parent: workers start with SIGINT ignored, so
  a terminal's Ctrl-C (sent to the whole process group) interrupts the parent once, never a
  worker mid-computation with a traceback of its own.
- Leaving the ``with`` block for any reason (an exception, an interruption, a generator
  closed early) terminates every worker (SIGTERM, then SIGKILL after a grace period) and
  waits for it; on Linux a worker also dies when its parent dies (``PR_SET_PDEATHSIG``).
- A worker that dies without answering (killed, out of memory) raises :class:`WorkerDied`
  in the parent instead of hanging it; one killed by SIGINT/SIGTERM raises
  :class:`KeyboardInterrupt` (the run was interrupted, not broken).
- Workers that cannot start (an interpreter this user may not run, a start that fails: it
  surfaces as a BrokenPipeError from the pipe to the child, which the command line would take
  for ``| head``) raise :class:`WorkerStartFailed` naming what failed. Both are
  :class:`WorkerError`: the command line reports them in one line, exit code 1.
- An exception inside ``fn`` is raised again in the parent, with the worker's traceback
  attached as a note.

Each worker limits BLAS and OpenMP to ``usable_cores() // jobs`` threads (through the thread
variables it starts with, and threadpoolctl for what is already loaded), so the workers do not
oversubscribe the cores: two threads per worker on two cores collapse under load, each thread
spinning while it waits for its descheduled partner.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import wait
from typing import Any

from initlab.runtime.cores import usable_cores

GRACE = 2.0  # seconds a terminated worker gets before it is killed
#: Read by BLAS and OpenMP runtimes when they load: a worker gets them set to its share of the
#: cores, so libraries loaded late (scipy's own OpenBLAS, imported lazily) are limited too.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def _pickler():
    """cloudpickle (results may hold closures, e.g. a model's activations), else pickle."""
    try:
        import cloudpickle
    except ImportError:
        try:  # joblib, which scikit-learn brings, ships it
            from joblib.externals import cloudpickle
        except ImportError:  # pragma: no cover
            import pickle as cloudpickle
    return cloudpickle


class WorkerError(RuntimeError):
    """Worker processes failed: one line for the command line to print (exit code 1)."""


class WorkerDied(WorkerError):
    """A worker process ended without sending its result."""


class WorkerStartFailed(WorkerError):
    """Worker processes could not be started."""


def start_failed(why: BaseException | str) -> WorkerStartFailed:
    """The error for workers that did not start (``why``: the exception, or what happened),
    naming the interpreter they run (``sys.executable`` unless multiprocessing was told
    another)."""
    from multiprocessing import spawn

    if isinstance(why, BaseException):
        why = f"{type(why).__name__}: {getattr(why, 'strerror', None) or why}"
    exe = os.fsdecode(spawn.get_executable())
    return WorkerStartFailed(f"cannot start worker processes ({exe}): {why}")


def check_can_start() -> None:
    """Raise :class:`WorkerStartFailed` when the interpreter workers run cannot be executed by
    this user, before anything is started (multiprocessing's own helper process would print
    tracebacks of its own on the way)."""
    from multiprocessing import spawn

    exe = spawn.get_executable()
    if not os.access(exe, os.X_OK):
        raise start_failed(PermissionError(13, "it is not executable by this user"))


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this process when its parent dies; exit now if it already has."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)


def _serve(conn, fn: Callable, parent: int, blas_threads: int) -> None:
    """Worker loop: receive (index, args), send back ("ok" | "error", index, value, text)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # it was already: Ctrl-C is the parent's
    _die_with_parent(parent)
    limit = contextlib.nullcontext()
    with contextlib.suppress(ImportError):
        import numpy  # noqa: F401 - its BLAS must be loaded for the limit to reach it
        from threadpoolctl import threadpool_limits

        limit = threadpool_limits(blas_threads, "blas")
    with limit:
        while True:
            try:
                task = conn.recv()
            except (EOFError, OSError):
                return
            if task is None:
                return
            index, args = task
            try:
                reply = ("ok", index, fn(*args), "")
            except BaseException as exc:  # noqa: BLE001 - every failure goes to the parent
                import traceback

                reply = ("error", index, exc, traceback.format_exc())
            try:
                data = _pickler().dumps(reply)
            except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result
                data = _pickler().dumps(
                    ("error", index, RuntimeError(f"cannot send the result: {exc}"), ""))
            conn.send_bytes(data)


class Workers:
    """``with Workers(fn, jobs) as pool: for index, value in pool.run(tasks): ...``

    Args:
        fn: a module-level function (it is sent to the workers by name).
        jobs: worker processes (at most one per task is started).
    """

    def __init__(self, fn: Callable, jobs: int):
        self.fn, self.jobs = fn, max(1, int(jobs))
        self.procs: list = []
        self.conns: list = []

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self, n: int) -> None:
        check_can_start()
        ctx = mp.get_context("spawn")
        blas = max(1, usable_cores() // n)
        # Started with SIGINT ignored, a worker's Python never installs its KeyboardInterrupt
        # handler (a blocked mask is not reliably inherited through spawn's exec). The window
        # is a fork and exec per worker, milliseconds.
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
        os.environ.update(dict.fromkeys(THREAD_VARIABLES, str(blas)))  # read by exec'd child
        try:
            for _ in range(n):
                mine, theirs = ctx.Pipe()
                proc = ctx.Process(target=_serve, args=(theirs, self.fn, os.getpid(), blas),
                                   daemon=True)
                try:
                    proc.start()
                except (OSError, mp.ProcessError) as exc:  # BrokenPipeError: it exited
                    theirs.close()
                    mine.close()
                    raise start_failed(exc) from exc
                theirs.close()
                self.procs.append(proc)
                self.conns.append(mine)
        finally:
            signal.signal(signal.SIGINT, old)
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def run(self, tasks: Sequence[tuple]) -> Iterator[tuple[int, Any]]:
        """Yield ``(index, fn(*tasks[index]))`` in the order the tasks finish."""
        tasks = list(tasks)
        if not tasks:
            return
        self._start(min(self.jobs, len(tasks)))
        queue = list(enumerate(tasks))
        busy = {}
        for conn in self.conns:
            if queue:
                self._give(conn, queue.pop(0), first=True)
                busy[conn] = True
        while busy:
            sentinels = {p.sentinel: (p, c) for p, c in zip(self.procs, self.conns, strict=True)
                         if c in busy}
            ready = wait(list(busy) + list(sentinels))
            for item in ready:
                if item in sentinels:
                    proc, conn = sentinels[item]
                    if conn.poll():
                        continue  # an answer, or the end of its pipe: read it first
                    _ended(proc)
            for conn in [c for c in ready if c in busy]:
                try:
                    status, index, value, text = _pickler().loads(conn.recv_bytes())
                except (EOFError, OSError):  # it ended without answering
                    _ended(self.procs[self.conns.index(conn)])
                del busy[conn]
                if status == "error":
                    if text and isinstance(value, Exception) and hasattr(value, "add_note"):
                        value.add_note(f"in a worker process:\n{text}")
                    raise value
                if queue:
                    self._give(conn, queue.pop(0))
                    busy[conn] = True
                yield index, value

    def _give(self, conn, task: tuple, first: bool = False) -> None:
        """Send ``task`` to a worker. One that is gone raises :class:`WorkerStartFailed` when
        it was to get its first task (it never ran: e.g. its interpreter exited at once),
        else :class:`WorkerDied`; one killed by SIGINT/SIGTERM raises KeyboardInterrupt."""
        try:
            conn.send(task)
        except OSError as exc:
            proc = self.procs[self.conns.index(conn)]
            proc.join(GRACE)
            if proc.exitcode in (-signal.SIGINT, -signal.SIGTERM):
                raise KeyboardInterrupt from None
            why = f"a worker ended with exit code {proc.exitcode} before it took its "
            if first:
                raise start_failed(f"{why}first task ({type(exc).__name__})") from exc
            raise WorkerDied(f"{why}next task ({type(exc).__name__})") from exc

    def close(self) -> None:
        """Stop every worker: ask politely, then terminate, then kill; reap them all."""
        for conn in self.conns:
            with contextlib.suppress(OSError, ValueError):
                conn.send(None)
        deadline = time.monotonic() + 0.5  # an idle worker leaves at once
        for proc in self.procs:
            proc.join(max(0.0, deadline - time.monotonic()))
        for proc in self.procs:
            if proc.is_alive():
                proc.terminate()
        deadline = time.monotonic() + GRACE
        for proc in self.procs:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join()
        for conn in self.conns:
            conn.close()
        self.procs, self.conns = [], []


def _ended(proc) -> None:
    """Raise for a worker that ended before it sent its result: KeyboardInterrupt where a
    signal interrupted it, else :class:`WorkerDied`."""
    proc.join()
    if proc.exitcode in (-signal.SIGINT, -signal.SIGTERM):
        raise KeyboardInterrupt
    raise WorkerDied(f"a worker process ended with exit code {proc.exitcode} before it sent "
                     "its result")


def run_tasks(fn: Callable, tasks: Sequence[tuple], jobs: int) -> Iterator[tuple[int, Any]]:
    """Yield ``(index, fn(*task))`` as tasks finish: in this process when ``jobs`` is 1 or
    there is one task, else in :class:`Workers` (closed when the generator is)."""
    if jobs <= 1 or len(tasks) <= 1:
        for i, task in enumerate(tasks):
            yield i, fn(*task)
        return
    with Workers(fn, jobs) as pool:
        yield from pool.run(tasks)


__all__ = ["WorkerDied", "WorkerError", "WorkerStartFailed", "Workers", "check_can_start",
           "run_tasks", "start_failed"]
