"""How many of this process's cores nothing else is running on right now.

Used to size torch's thread pool: on a small CPU shared with another busy job, extra
spin-waiting threads stall instead of helping (docs/motion.md, Threads).
"""

from __future__ import annotations

import os
import time


def free_cores() -> int:
    """Cores this process may run on minus the processes running on them now (may be <= 0)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores - other_running_processes()


def other_running_processes() -> int:
    """Runnable processes besides this one, now (Linux: /proc/loadavg's running count, the least
    of a few 5 ms apart, as a process busy on a core is runnable in every sample; elsewhere the
    1-minute load average, which lags by tens of seconds)."""
    try:
        counts = []
        for _ in range(5):
            with open("/proc/loadavg") as f:
                running = int(f.read().split()[3].split("/")[0])
            counts.append(running - _own_running_threads())
            time.sleep(0.005)
        return max(0, min(counts))
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(round(os.getloadavg()[0]))
    except (OSError, AttributeError):     # AttributeError: no getloadavg on Windows
        return os.cpu_count() or 1        # nothing known: one thread, the safe choice


def _own_running_threads() -> int:
    """This process's runnable threads (the reader, and e.g. OpenMP workers still spinning)."""
    n = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                n += f.read().rpartition(")")[2].split()[0] == "R"
        except OSError:   # the thread ended meanwhile
            pass
    return max(n, 1)
