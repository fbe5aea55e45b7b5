"""How many CPU threads torch uses: ``--threads N``, else ``$SCRIBA_THREADS``, else the cores other work leaves.

torch takes every core by default, and its threads wait for each other: with another CPU-bound process on a
2-core machine, one word took 12 ms with 2 threads against 7 ms with one (and 16 lines 42 lines/s against 84),
where on an idle machine 2 threads are 1.4-1.6x faster than one (benchmarks/bench_inference.py; issue 34).
So the default counts the cores other work leaves idle: the CLI samples the machine's CPU times
(``/proc/stat``) when it starts and again once torch is imported (about a second later, while this process
keeps one core busy importing), and takes the idle cores plus its own; where that cannot be read, the cores
minus the 1-minute load average.
"""

from __future__ import annotations

import os

from scriba.errors import ConfigError

ENV = "SCRIBA_THREADS"


def available_cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def cpu_times() -> tuple[int, int] | None:
    """(idle, total) CPU time of the whole machine so far, in clock ticks (None where /proc/stat is absent)."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    if len(fields) < 5:
        return None
    return fields[3] + fields[4], sum(fields[:8])  # idle + iowait; user .. steal


def default_threads(since: tuple[int, int] | None = None) -> int:
    """The cores not busy with other work, at least 1.

    Args:
        since: :func:`cpu_times` taken a while ago, while this process was busy on one core (e.g. importing
            torch): the cores idle since then, plus this one. Without it, the cores minus the 1-minute load
            average (which lags a minute behind the machine).
    """
    cores = available_cores()
    now = cpu_times()
    if since is not None and now is not None and now[1] - since[1] > 0:
        idle = (now[0] - since[0]) / (now[1] - since[1]) * (os.cpu_count() or cores)
        return max(1, min(cores, round(idle) + 1))
    try:
        busy = os.getloadavg()[0]
    except (OSError, AttributeError):  # no load average on this platform
        busy = 0.0
    return max(1, min(cores, cores - int(busy + 0.5)))


def resolve_threads(threads: int | None = None, since: tuple[int, int] | None = None) -> int:
    """``threads`` if given, else ``$SCRIBA_THREADS``, else :func:`default_threads` (``since``: see there).

    Raises:
        ConfigError: a number below 1, or ``$SCRIBA_THREADS`` not a whole number.
    """
    if threads is None:
        value = os.environ.get(ENV, "").strip()
        if value:
            try:
                threads = int(value)
            except ValueError as err:
                raise ConfigError(f"{ENV} must be a whole number of threads, got {value!r}") from err
    if threads is None:
        return default_threads(since)
    if threads < 1:
        raise ConfigError(f"threads must be 1 or more, got {threads}")
    return threads


def configure_threads(threads: int | None = None, since: tuple[int, int] | None = None) -> int:
    """Set torch's intra-op threads to :func:`resolve_threads` and return the number (torch is imported here,
    after ``since`` was taken, so that its import is the sampling window).

    Raises:
        ConfigError: see :func:`resolve_threads`.
    """
    import torch

    n = resolve_threads(threads, since)
    torch.set_num_threads(n)
    return n


__all__ = ["ENV", "available_cores", "configure_threads", "cpu_times", "default_threads", "resolve_threads"]
