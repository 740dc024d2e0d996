"""How many torch CPU threads a job gets.

Small 3D U-Nets scale poorly over threads: on 2 cores, two one-thread jobs side by side train
1.4x faster than one two-thread job after the other (docs/benchmarks.md). So under the
parallel (joblib) launcher the cores are shared out, one share per concurrent job, instead of
every job starting one thread per core and oversubscribing the machine.
"""

from __future__ import annotations

import os


def available_cores() -> int:
    """Cores this process may run on (respects SLURM/cgroup CPU sets, unlike ``os.cpu_count``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def job_threads(requested: int | None, launcher_target: str | None, n_jobs: int | None, cores: int) -> int | None:
    """Threads for one job: ``requested`` if set; a 1/n_jobs share of ``cores`` under joblib; else None (torch's default).

    ``n_jobs`` follows joblib: -1 is every core, -2 all but one, and so on.
    """
    if requested:
        return int(requested)
    if not launcher_target or "joblib" not in launcher_target.lower():
        return None
    n = int(n_jobs or 1)
    if n < 0:
        n = max(1, cores + 1 + n)
    return max(1, cores // n)
