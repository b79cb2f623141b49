"""What this machine has free now: memory, and cores no other task is using.

Used by the budget (:mod:`initlab.runtime.budget`: is there memory for this run?) and by the
code that decides how many worker processes to start (:mod:`initlab.experiments.replicas`).
"""

from __future__ import annotations

import contextlib
import os


def available_memory() -> int | None:
    """Bytes of memory available now (Linux ``MemAvailable``); None where unknown."""
    with contextlib.suppress(OSError, ValueError, StopIteration), open("/proc/meminfo") as f:
        return next(int(line.split()[1]) * 1024 for line in f
                    if line.startswith("MemAvailable:"))
    return None


def usable_cores() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def free_cores() -> int:
    """Usable cores no other process is using right now: :func:`usable_cores` less the tasks
    of other processes that are runnable (Linux: /proc/loadavg's count less this process's own
    running threads, such as BLAS threads still spinning after a product; elsewhere the
    1-minute load average), at least 1."""
    cores = usable_cores()
    try:
        with open("/proc/loadavg") as f:  # "0.52 0.58 0.59 2/301 12345": 2 runnable now
            others = int(f.read().split()[3].split("/")[0]) - _own_running_threads()
    except (OSError, ValueError, IndexError):  # not Linux
        try:
            others = int(os.getloadavg()[0])
        except OSError:  # pragma: no cover - no load average on this platform
            others = 0
    return max(1, cores - max(0, others))


def _own_running_threads() -> int:
    """Threads of this process in state R (running or runnable), this one included."""
    running = 0
    for task in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError, IndexError), open(f"/proc/self/task/{task}/stat") as f:
            running += f.read().rsplit(")", 1)[1].split()[0] == "R"
    return max(1, running)
