"""Doing the work of concurrent requests together: whatever queued while a group ran forms the next group.

Each request hands in its item and awaits its own result. Only one group runs at a time; items that arrive meanwhile
wait, without holding a thread or a database connection, and run as the next group. A group costs about as much as
one item (one statement, one durable commit), so the more requests arrive at once, the less each one costs: the
throughput grows with the number of writers instead of being capped by the number of threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

GroupRun = Callable[[Sequence[T]], Awaitable[Sequence[R | BaseException]]]


class CommitGroup(Generic[T, R]):
    """Run items of concurrent coroutines in groups with `run(items)`: one result or exception per item."""

    def __init__(self, run: GroupRun[T, R], largest: int = 256) -> None:
        self._run = run
        self._largest = largest
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._draining: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """Return the result of one item, run in a group with whatever else is waiting (raise its exception)."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._draining is None:
            self._draining = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                group, self._queue = self._queue[: self._largest], self._queue[self._largest :]
                await self._run_group(group)
        finally:
            self._draining = None

    async def _run_group(self, group: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._run([item for item, _ in group])
            if len(results) != len(group):
                raise RuntimeError(f"a group of {len(group)} items gave {len(results)} results")
        except Exception as exc:  # the whole group failed: each of its requests learns why
            for _, future in group:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(group, results, strict=True):
            if future.done():  # its request went away meanwhile
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
