"""The server-side cache of all customers' scores, shared by every page and client of one server process.

Rules:
- Scores for "now" come from a snapshot of the whole table. A snapshot older than `max_age` seconds (or from an
  earlier day) is rebuilt in the background while readers keep getting the previous one; only the very first
  request waits for a build.
- Recording an event marks its customer as changed. The next reader rescores just the changed customers (one
  set-based query for all of them) and patches the snapshot, so dashboard and list reflect the write at once.
- Tables for an explicit past `as_of` are kept in a small LRU and dropped whenever any event is recorded (events
  may be back-dated).
- A single customer's health is never cached.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pandas as pd

from healthdash.clock import as_of_day, utc_now
from healthdash.service import HealthService

T = TypeVar("T")
HISTORY_SLOTS = 16


@dataclass
class Snapshot:
    """All customers' scores as of one moment, with views derived from it memoised."""

    table: pd.DataFrame
    as_of: dt.datetime
    built_at: float
    views: dict[Any, Any] = field(default_factory=dict)

    @property
    def day(self) -> dt.date:
        return as_of_day(self.as_of)

    def view(self, key: Any, build: Callable[[], T]) -> T:
        """Return a derived view (a summary, a page of the list, a response body), building it once."""
        if key not in self.views:
            if len(self.views) > 512:
                self.views.clear()
            self.views[key] = build()
        result: T = self.views[key]
        return result


class ScoreBoard:
    """Keep the score table fresh and answer from memory."""

    def __init__(
        self,
        service: HealthService,
        executor: Executor,
        max_age: float = 60.0,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.service = service
        self.executor = executor
        self.max_age = max_age
        self.clock = clock
        self._current: Snapshot | None = None
        self._changed: set[int] = set()
        self._generation = 0
        self._patching = asyncio.Lock()
        self._rebuild: asyncio.Task[None] | None = None
        self._history: OrderedDict[dt.date, tuple[int, Snapshot]] = OrderedDict()
        self._rebuild_failed = False

    def mark_changed(self, customer_ids: Iterable[int]) -> None:
        """Note that these customers' scores may have changed."""
        self._changed.update(customer_ids)
        self._generation += 1
        self._history.clear()

    def invalidate_all(self) -> None:
        """Forget everything: the next reader rebuilds (used when change notifications may have been missed)."""
        self._current = None
        self._changed.clear()
        self._generation += 1
        self._history.clear()

    async def current(self) -> Snapshot:
        """Return the snapshot for now, patched with every change recorded so far."""
        snapshot = self._current
        if snapshot is None:
            await self._build_now()
        else:
            stale = time.monotonic() - snapshot.built_at > self.max_age or snapshot.day != as_of_day(self.clock())
            if stale and self._rebuild_failed:
                await self._build_now()  # the database was away: try again in the open, and fail loudly
            elif stale and (self._rebuild is None or self._rebuild.done()):
                self._rebuild = asyncio.ensure_future(self._build_in_background())
        if self._changed:
            await self._patch()
        assert self._current is not None
        return self._current

    async def at(self, as_of: dt.datetime) -> Snapshot:
        """Return the snapshot for an explicit moment (the live one when it falls on the current day)."""
        day = as_of_day(as_of)
        if day == as_of_day(self.clock()):
            return await self.current()
        cached = self._history.get(day)
        if cached is not None and cached[0] == self._generation:
            self._history.move_to_end(day)
            return cached[1]
        generation = self._generation
        table = await self._run(self.service.score_table, as_of)
        snapshot = Snapshot(table, as_of, time.monotonic())
        if generation == self._generation:
            self._history[day] = (generation, snapshot)
            while len(self._history) > HISTORY_SLOTS:
                self._history.popitem(last=False)
        return snapshot

    async def _build_in_background(self) -> None:
        try:
            await self._build_now()
        except Exception:
            self._rebuild_failed = True

    async def _build_now(self) -> None:
        as_of = self.clock()
        pending = set(self._changed)
        self._changed.clear()
        try:
            table = await self._run(self.service.score_table, as_of)
        except BaseException:
            self._changed |= pending
            raise
        self._current = Snapshot(table, as_of, time.monotonic())
        self._rebuild_failed = False

    async def _patch(self) -> None:
        async with self._patching:
            if not self._changed or self._current is None:
                return
            ids = sorted(self._changed)
            self._changed.clear()
            base = self._current
            try:
                rows = await self._run(self.service.score_table, base.as_of, ids)
            except BaseException:
                self._changed.update(ids)
                raise
            table = pd.concat([base.table.drop(index=ids, errors="ignore"), rows]).sort_index()
            # a concurrent full rebuild may have replaced the snapshot meanwhile: patch the newest one
            latest = self._current if self._current is not base else base
            if latest is not base:
                table = pd.concat([latest.table.drop(index=ids, errors="ignore"), rows]).sort_index()
            self._current = Snapshot(table, latest.as_of, latest.built_at)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)
