"""The server-side cache of all customers' scores, shared by every page and client of one server process.

Rules:
- Only the very first request waits for a build. After that, readers never wait for a rebuild or for the database:
  they get the newest snapshot there is, and derived views (summary, pages, response bodies) are memoised on it.
- A snapshot for "now" is computed from memory: every customer's daily usage (healthdash.activity), profile, recent
  tickets and invoices (healthdash.records). A snapshot older than `max_age` seconds is rebuilt in the background,
  reading profiles, tickets and invoices again (they can change without an event); on a new day the usage in
  memory moves along by a day and the new snapshot is computed from memory.
- An event recorded through this process shows in the dashboard and list at once: the service hands over the
  customer's fresh scores and the next reader writes them in (no I/O).
- Every change heard of (`mark_changed`: this process's writes, batches, other instances' writes) is patched in the
  background, at most every `patch_interval` seconds: the changed customers' data are read again and just those
  customers rescored. A row only ever replaces an older one.
- Tables for an explicit past `as_of` are kept in a small LRU (bounded by rows); customers changed since a table was
  built are rescored when it is next read (events may be back-dated).
- `invalidate_all` forgets everything: the next reader waits for a build from scratch.
- A single customer's health is never cached.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from healthdash.activity import DailyActivity, load_activity, refresh_activity
from healthdash.clock import as_of_day, earliest, utc_now
from healthdash.db.signals import split_windows
from healthdash.memory import release_free_memory
from healthdash.records import CustomerRecords
from healthdash.score_table import ScoreTable
from healthdash.service import HealthService, scores_from

T = TypeVar("T")
HISTORY_ROWS = 200_000  # rows of past tables kept: two tables of 100,000 customers
PATCH_INTERVAL = 1.0  # seconds between patches: each one costs a copy of the table and fresh orders
FRESH_KEPT = 10_000
LARGE_PATCH = 5_000  # customers
log = logging.getLogger("healthdash.scoreboard")


@dataclass
class Snapshot:
    """All customers' scores as of one moment, with views derived from it memoised."""

    scores: ScoreTable
    as_of: dt.datetime
    built_at: float
    views: dict[Any, Any] = field(default_factory=dict)
    _table: pd.DataFrame | None = None

    @property
    def day(self) -> dt.date:
        return as_of_day(self.as_of)

    @property
    def table(self) -> pd.DataFrame:
        """The scores as a frame indexed by customer id (as `HealthService.score_table` returns it)."""
        if self._table is None:
            self._table = self.scores.frame()
        return self._table

    def view(self, key: Any, build: Callable[[], T]) -> T:
        """Return a derived view (a summary, a page of the list, a response body), building it once."""
        if key not in self.views:
            if len(self.views) > 512:
                self.views.clear()
            self.views[key] = build()
        result: T = self.views[key]
        return result

    def updated(self, rows: ScoreTable, gone: Iterable[int] = ()) -> Snapshot:
        """Return the snapshot with rows written in (and customers gone); this one stays as it was."""
        scores = self.scores.update(rows, gone)
        return self if scores is self.scores else Snapshot(scores, self.as_of, self.built_at)


@dataclass
class _Past:
    snapshot: Snapshot
    changed: set[int] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class ScoreBoard:
    """Keep the score table fresh and answer from memory."""

    def __init__(
        self,
        service: HealthService,
        executor: Executor,
        max_age: float = 60.0,
        clock: Callable[[], dt.datetime] = utc_now,
        patch_interval: float = PATCH_INTERVAL,
    ) -> None:
        self.service = service
        self.executor = executor
        self.max_age = max_age
        self.clock = clock
        self.patch_interval = patch_interval
        self._current: Snapshot | None = None
        self._activity: DailyActivity | None = None
        self._memory_lock = threading.Lock()
        self._records: CustomerRecords | None = None
        self._epoch = 0  # moves on when everything is forgotten: work begun before is not installed
        self._changed: dict[int, float] = {}  # customer -> when it was last marked
        self._stale_from: dict[int, dt.date | None] = {}  # customer -> the earliest day of changed usage (None: any)
        self._records_stale: set[int] = set()  # customers whose changes were not usage only: read their records again
        self._fresh: deque[tuple[ScoreTable, dt.date]] = deque(maxlen=FRESH_KEPT)
        self._fresh_during_build: list[ScoreTable] = []
        self._building = False
        self._rebuild: asyncio.Task[None] | None = None
        self._rebuild_failed = False
        self._patching: asyncio.Task[None] | None = None
        self._last_patch = 0.0
        self._history: OrderedDict[dt.date, _Past] = OrderedDict()
        self._collecting: list[set[int]] = []  # changes heard of while past tables are computed
        service.rescored.append(self._take_fresh)

    def mark_changed(self, customer_ids: Iterable[int], since: dt.date | None = None, usage_only: bool = False) -> None:
        """Note that these customers' scores may have changed: their usage from `since` on (any day when None), and
        unless `usage_only` (activity events only), their tickets, invoices or profile too."""
        ids = {int(i) for i in customer_ids}
        if not usage_only:
            self._records_stale |= ids
        now = time.monotonic()
        for customer_id in ids:
            self._changed[customer_id] = now
            self._stale_from[customer_id] = earliest([self._stale_from.get(customer_id, since), since])
        for past in self._history.values():
            past.changed |= ids
        for pending in self._collecting:
            pending |= ids
        self._schedule_patch()

    def invalidate_all(self) -> None:
        """Forget everything: the next reader rebuilds (used when change notifications may have been missed)."""
        self._epoch += 1
        self._current = None
        self._activity = None
        self._records = None
        self._changed.clear()
        self._stale_from.clear()
        self._records_stale.clear()
        self._fresh.clear()
        self._history.clear()

    async def current(self) -> Snapshot:
        """Return the snapshot for now, with every event recorded through this process written in."""
        if self._current is None:
            if self._rebuild is None or self._rebuild.done():
                self._rebuild = asyncio.ensure_future(self._build_in_background())
            await asyncio.shield(self._rebuild)  # readers arriving together share one build
            if self._current is None:
                await self._build_now()  # it failed: try again in the open, and fail loudly
        self._apply_fresh()
        assert self._current is not None
        snapshot = self._current
        stale = time.monotonic() - snapshot.built_at > self.max_age or snapshot.day != as_of_day(self.clock())
        if stale and self._rebuild_failed:
            await self._build_now()  # the database was away: try again in the open, and fail loudly
        elif stale and (self._rebuild is None or self._rebuild.done()):
            self._rebuild = asyncio.ensure_future(self._build_in_background())
        self._schedule_patch()
        assert self._current is not None
        return self._current

    async def rebuild(self, reread: bool = True) -> Snapshot:
        """Build the snapshot for now afresh and return it; readers keep getting the previous one meanwhile.

        `reread=False` rescores from what is in memory (after a change of configuration).
        """
        await self._build_now(reread)
        assert self._current is not None
        return self._current

    async def flush(self) -> Snapshot:
        """Patch in every change heard of so far, without waiting for the next round; return the snapshot."""
        await self.current()
        while self._changed:
            await self._patch()
        assert self._current is not None
        return self._current

    async def at(self, as_of: dt.datetime) -> Snapshot:
        """Return the snapshot for an explicit moment (the live one when it falls on the current day)."""
        day = as_of_day(as_of)
        if day == as_of_day(self.clock()):
            return await self.current()
        past = self._history.get(day)
        if past is None:
            pending: set[int] = set()
            self._collecting.append(pending)
            try:
                scores = await self._run(self.service.scores, as_of)
            finally:
                self._collecting.remove(pending)
            past = _Past(Snapshot(scores, as_of, time.monotonic()), pending)
            self._remember(day, past)
        self._history.move_to_end(day)
        async with past.lock:
            if past.changed:
                ids = sorted(past.changed)
                past.changed.clear()
                try:
                    rows = await self._run(self.service.scores, past.snapshot.as_of, ids)
                except BaseException:
                    past.changed.update(ids)
                    raise
                past.snapshot = past.snapshot.updated(rows, gone=ids)
        return past.snapshot

    # --- building -----------------------------------------------------------------------------------------------

    async def _build_in_background(self) -> None:
        try:
            await self._build_now()
        except Exception:
            log.warning("the background rebuild of the score table failed", exc_info=True)
            self._rebuild_failed = True

    async def _build_now(self, reread: bool | None = None) -> None:
        while True:
            epoch, as_of = self._epoch, self.clock()
            if reread is None:  # every so often on the same day, for changes made other than by events
                reread = self._current is not None and self._current.day == as_of_day(as_of)
            self._building = True
            self._fresh_during_build = []
            pending = sorted(self._changed)  # read these customers' data again on the way
            try:
                scores = await self._run(self._compute, as_of, None, epoch, pending, reread)
            finally:
                self._building = False
            if epoch == self._epoch:
                break
        snapshot = Snapshot(scores, as_of, time.monotonic())
        if self._fresh_during_build:  # rows computed while the table was: newer than what it read, where stamped so
            snapshot = snapshot.updated(ScoreTable.latest(self._fresh_during_build))
        self._current = snapshot
        self._rebuild_failed = False

    def _compute(
        self,
        as_of: dt.datetime,
        customer_ids: Sequence[int] | None,
        epoch: int,
        changed: Sequence[int] = (),
        reread: bool = False,
        since: dt.date | None = None,
        records_for: Sequence[int] | None = None,
    ) -> ScoreTable:
        """Score all customers (or the given ones) from memory, after reading the changed ones' data again.

        With `reread`, profiles, tickets and invoices of every customer are read again (they may change without an
        event being recorded); the usage only ever changes through events, which are heard of. With `since`, only
        the usage from that day on is read again (the changes heard of were of those days). With `records_for`, only
        those customers' profiles, tickets and invoices are read again (the others' changes were usage only), and
        those of customers the records do not hold yet.
        """
        config = self.service.config
        day, window = as_of_day(as_of), config.window_days
        with self._memory_lock, self.service.engine.connect() as conn:
            started = time.monotonic()  # the rows are as new as the reading, which starts once the lock is ours
            activity = self._activity_for(conn, day, 3 * window)
            records = self._records
            if records is None or reread or not records.covers(day, window, config.invoice_window_days):
                first_ticket = day - dt.timedelta(days=2 * window - 1)
                first_due = day - dt.timedelta(days=window + config.invoice_window_days - 1)
                records = CustomerRecords.load(conn, first_ticket, first_due)
            again = np.asarray(list(changed) if customer_ids is None else list(customer_ids), dtype=np.int64)
            if len(again):
                refresh_activity(conn, activity, again, since=since)
                if records_for is not None:
                    unknown = again[records.positions(again) < 0]
                    again_records = np.union1d(np.asarray(records_for, dtype=np.int64), unknown)
                else:
                    again_records = again
                if len(again_records):
                    records.refresh(conn, again_records)
            known = records.profiles["id"]
            newcomers = known[activity.positions(known) < 0]
            if len(newcomers):  # customers added since the usage was read
                activity = activity.moved_to(activity.last_day, np.union1d(activity.ids, newcomers))
                refresh_activity(conn, activity, newcomers)
            ids = None if customer_ids is None else np.asarray(customer_ids, dtype=np.int64)
            raw = records.columns(day, window, config.invoice_window_days, config.invoice_grace_days, ids)
            raw.update(activity.usage(raw["id"], day, window))
            if epoch == self._epoch:
                self._activity, self._records = activity, records
        scores = scores_from(split_windows(day, raw, window), config, started)
        if customer_ids is None or len(again) > LARGE_PATCH:
            release_free_memory()  # what a full build (or a large patch) read on the way is garbage now
        return scores

    def _activity_for(self, conn: Connection, day: dt.date, days: int) -> DailyActivity:
        activity = self._activity
        if activity is None or activity.days != days or day < activity.last_day:
            return load_activity(conn, day, days)
        if day != activity.last_day:  # a new day: keep what overlaps, read the last day and the new ones again
            moved = activity.moved_to(day)
            refresh_activity(conn, moved, None, since=activity.last_day)
            return moved
        return activity

    # --- changes ------------------------------------------------------------------------------------------------

    def _take_fresh(self, rows: ScoreTable, day: dt.date) -> None:
        """Receive a customer's fresh scores from the service (in whichever thread recorded the event)."""
        self._fresh.append((rows, day))

    def _apply_fresh(self) -> None:
        snapshot = self._current
        if snapshot is None or not self._fresh:
            return
        tables = []
        while self._fresh:
            rows, day = self._fresh.popleft()
            if day == snapshot.day:
                tables.append(rows)
        if tables:
            fresh = ScoreTable.latest(tables)
            self._current = snapshot.updated(fresh)
            if self._building:
                self._fresh_during_build.append(fresh)

    def _schedule_patch(self) -> None:
        if self._current is None or not self._changed or (self._patching and not self._patching.done()):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._patching = loop.create_task(self._patch_soon())

    async def _patch_soon(self) -> None:
        while self._changed and self._current is not None:
            wait = self._last_patch + self.patch_interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                await self._patch()
            except Exception:
                log.warning("patching the score table failed; retrying", exc_info=True)
                self._last_patch = time.monotonic() + max(self.patch_interval, 1.0)

    async def _patch(self) -> None:
        base = self._current
        if base is None or not self._changed:
            return
        epoch = self._epoch
        marks = dict(self._changed)
        self._changed.clear()
        stale = {customer_id: self._stale_from.pop(customer_id, None) for customer_id in marks}
        records_for = sorted(self._records_stale.intersection(marks))
        self._records_stale.difference_update(records_for)
        ids = sorted(marks)
        since = earliest(stale.values())
        try:
            rows = await self._run(self._compute, base.as_of, ids, epoch, (), False, since, records_for)
        except BaseException:
            self._records_stale.update(records_for)
            for customer_id, marked in marks.items():
                self._changed[customer_id] = max(marked, self._changed.get(customer_id, 0.0))
                day = stale[customer_id]
                self._stale_from[customer_id] = earliest([self._stale_from.get(customer_id, day), day])
            raise
        finally:
            self._last_patch = time.monotonic()
        latest = self._current
        if epoch != self._epoch or latest is None:
            return
        if latest.day != base.day:
            for customer_id in ids:  # a table for a newer day is in place: patch it again
                self._changed.setdefault(customer_id, time.monotonic())
            return
        self._current = latest.updated(rows, gone=ids)
        if self._building:  # written into the table being built too, where newer than what it read
            self._fresh_during_build.append(rows)

    # --- past tables --------------------------------------------------------------------------------------------

    def _remember(self, day: dt.date, past: _Past) -> None:
        self._history[day] = past
        while len(self._history) > 1 and sum(len(p.snapshot.scores) for p in self._history.values()) > HISTORY_ROWS:
            self._history.popitem(last=False)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)
