"""Doing the work of concurrent requests together: whatever queued while a group ran forms the next group.

Each request hands in its item and awaits its own result. Only one group runs at a time, in a thread of the pool;
items that arrive meanwhile wait, without holding a thread or a database connection, and the same thread runs them
as the next group as soon as the group before it is done, without going back through the event loop (which may be
busy with the answers and the next requests). A group costs about as much as one item (one statement, one durable
commit), so the more requests arrive at once, the less each one costs: the throughput grows with the number of
writers instead of being capped by the number of threads.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

GroupRun = Callable[[Sequence[T]], Sequence[R | BaseException]]
# told, on the event loop, of each group's items and results (or its exception) before any of its requests is answered
Delivered = Callable[[Sequence[T], Sequence[R | BaseException] | Exception], None]
Waiting = list[tuple[T, asyncio.Future[R]]]


class CommitGroup(Generic[T, R]):
    """Run items of concurrent coroutines in groups with the blocking `run(items)`, in `executor`: one result or
    exception per item."""

    def __init__(
        self,
        run: GroupRun[T, R],
        executor: Executor,
        largest: int = 256,
        delivered: Delivered[T, R] | None = None,
    ) -> None:
        self._run = run
        self._delivered = delivered
        self._executor = executor
        self._largest = largest
        self._lock = threading.Lock()
        self._queue: Waiting[T, R] = []
        self._draining = False

    def submit(self, item: T) -> asyncio.Future[R]:
        """Queue one item; return the future of its result (or exception), once run in a group with whatever else is
        waiting. A future rather than a coroutine: no task per request."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        with self._lock:
            self._queue.append((item, future))
            start, self._draining = not self._draining, True
        if start:
            try:
                self._executor.submit(self._drain, loop)
            except RuntimeError:  # the pool is shut down: the server stops
                with self._lock:
                    self._queue.clear()
                    self._draining = False
                raise
        return future

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        """Run group after group in this thread while items wait; hand each group's results to the event loop."""
        while True:
            with self._lock:
                group = self._queue[: self._largest]
                del self._queue[: self._largest]
                if not group:
                    self._draining = False
                    return
            outcome: Sequence[R | BaseException] | Exception
            try:
                outcome = self._run([item for item, _ in group])
                if len(outcome) != len(group):
                    raise RuntimeError(f"a group of {len(group)} items gave {len(outcome)} results")
            except Exception as exc:  # the whole group failed: each of its requests learns why
                outcome = exc
            try:
                loop.call_soon_threadsafe(self._deliver, group, outcome)
            except RuntimeError:  # the event loop is closed: nobody waits any more
                with self._lock:
                    self._queue.clear()
                    self._draining = False
                return

    def _deliver(self, group: Waiting[T, R], outcome: Sequence[R | BaseException] | Exception) -> None:
        """Tell `delivered` of a group's outcome, then settle each of its requests (on the event loop)."""
        try:
            if self._delivered is not None:
                self._delivered([item for item, _ in group], outcome)
        finally:
            _settle(group, outcome)


def _settle(group: Waiting[T, R], outcome: Sequence[R | BaseException] | Exception) -> None:
    """Settle each request of a group with its result or exception."""
    for n, (_, future) in enumerate(group):
        if future.done():  # its request went away meanwhile
            continue
        result = outcome if isinstance(outcome, Exception) else outcome[n]
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)
