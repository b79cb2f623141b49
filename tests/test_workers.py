"""Worker processes: results come back, and each worker's BLAS gets its share of the cores."""

import os

import pytest

from initlab.runtime.cores import usable_cores
from initlab.runtime.workers import THREAD_VARIABLES, run_tasks


def square(x):
    return x * x


def blas_threads_after_late_import():
    """BLAS thread counts in a worker, after a library that loads its own OpenBLAS (scipy's)
    was imported late, as initlab's lazy imports do."""
    import scipy.linalg  # noqa: F401 - loads scipy's OpenBLAS now
    from threadpoolctl import threadpool_info

    return ({(i["internal_api"], i["filepath"]): i["num_threads"] for i in threadpool_info()
             if i["user_api"] == "blas"},
            {name: os.environ.get(name) for name in THREAD_VARIABLES})


def test_results_come_back_for_every_task():
    got = dict(run_tasks(square, [(k,) for k in range(5)], jobs=2))
    assert got == {k: k * k for k in range(5)}


def test_each_worker_gets_its_share_of_the_cores_even_for_blas_loaded_late(monkeypatch):
    pytest.importorskip("threadpoolctl")
    monkeypatch.setenv("OMP_NUM_THREADS", "7")  # a user's export must not reach the workers
    before = dict(os.environ)
    share = max(1, usable_cores() // 2)
    outcomes = [value for _, value in run_tasks(blas_threads_after_late_import, [(), ()], 2)]
    for counts, variables in outcomes:
        assert counts and set(counts.values()) == {share}, counts
        assert set(variables.values()) == {str(share)}
    assert dict(os.environ) == before  # the parent's environment is left as it was


def exit_at_once(x):
    os._exit(3)


def test_a_worker_that_ends_without_its_result_is_an_error_not_a_busy_wait(monkeypatch):
    """Its end of the pipe and its sentinel both ready at the next look (the parent looked
    late): WorkerDied. The parent once spun for ever on it (seen as a hang of
    tests/cli/test_newcomer_fixes.py's worker that exits at once, about 1 run in 3)."""
    import signal
    import time

    import initlab.runtime.workers as workers

    real = workers.wait

    def late(objects, timeout=None):
        real(objects, timeout)
        time.sleep(0.5)  # by now the worker's exit has closed its pipe too
        return real(objects, 0)

    def give_up(signum, frame):
        raise TimeoutError("run_tasks still waiting after 20 s")

    monkeypatch.setattr(workers, "wait", late)
    old = signal.signal(signal.SIGALRM, give_up)
    signal.alarm(20)
    try:
        with pytest.raises(workers.WorkerDied, match="exit code 3"):
            list(run_tasks(exit_at_once, [(1,), (2,)], jobs=2))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
