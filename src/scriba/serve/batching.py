"""Requests read together: one worker thread runs every model call of the server, taking what has queued up.

Reading 16 word images one by one costs more than reading them as one batch (the network's fixed costs are
paid once; ``benchmarks/bench_server.py`` measures it), and one thread keeps the server from running more torch
work at once than ``--threads`` allows. Each job carries a key (model and decoding options); the jobs taken
together are split by key and each group is one call.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from scriba.errors import ScribaError

# (key, the group's items) -> one result per item: a value, or a ScribaError for that item alone.
GroupRunner = Callable[[Hashable, list[Any]], list[Any]]


class BusyError(ScribaError):
    """More jobs are waiting than the server queues: try again later."""


@dataclass
class _Job:
    key: Hashable
    item: Any
    future: Future[Any] = field(default_factory=Future)


class Batcher:
    """Run ``runner`` on jobs in batches, in one worker thread.

    Args:
        runner: called with a key and the items of that key taken together.
        max_items: the most items taken in one round.
        wait_s: after the first job of a round, how long to wait for more (0: take only what has queued).
        max_queued: jobs waiting beyond this are refused (:class:`BusyError`).
    """

    def __init__(self, runner: GroupRunner, max_items: int = 32, wait_s: float = 0.002, max_queued: int = 512):
        self.runner, self.max_items, self.wait_s, self.max_queued = runner, max_items, wait_s, max_queued
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="scriba-batcher", daemon=True)
        self._thread.start()

    def submit(self, key: Hashable, item: Any) -> Future[Any]:
        """Queue one item; its future gets the runner's result for it (or its error).

        Raises:
            BusyError: more than ``max_queued`` jobs are waiting.
        """
        if self._queue.qsize() >= self.max_queued:
            raise BusyError(f"the server is busy ({self.max_queued} readings queued): try again")
        job = _Job(key, item)
        self._queue.put(job)
        return job.future

    def close(self) -> None:
        """Finish the jobs queued so far and stop the worker."""
        self._queue.put(None)
        self._thread.join()

    def _take(self) -> tuple[list[_Job], bool]:
        """The next round's jobs (blocking for the first) and whether the batcher was closed."""
        first = self._queue.get()
        if first is None:
            return [], True
        jobs, deadline = [first], time.monotonic() + self.wait_s
        while len(jobs) < self.max_items:
            try:
                job = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if job is None:
                return jobs, True
            jobs.append(job)
        return jobs, False

    def _work(self) -> None:
        closed = False
        while not closed:
            jobs, closed = self._take()
            groups: dict[Hashable, list[_Job]] = {}
            for job in jobs:
                if job.future.set_running_or_notify_cancel():  # a cancelled job (client gone) is skipped
                    groups.setdefault(job.key, []).append(job)
            for key, group in groups.items():
                try:
                    results = self.runner(key, [job.item for job in group])
                except Exception as err:  # the error goes to each waiting request, not the thread
                    results = [err] * len(group)
                for job, result in zip(group, results, strict=True):
                    if isinstance(result, BaseException):
                        job.future.set_exception(result)
                    else:
                        job.future.set_result(result)
