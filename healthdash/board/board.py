"""The score board: when to build, what to patch and when, and which snapshot readers get.

Rules:
- Only the very first request waits for a build. After that, readers never wait for a rebuild or for the database:
  they get the newest snapshot there is, and derived views (summary, pages, response bodies) are memoised on it.
- A snapshot for "now" is computed from the signals in memory (healthdash.board.signals). A snapshot older than
  `max_age` seconds is rebuilt in the background, reading profiles, tickets and invoices again (they can change
  without an event); on a new day the usage in memory moves along by a day and the snapshot is computed from memory.
- Every change heard of is patched in the background, at most every `patch_interval` seconds: the changed
  customers' data are read again and just those customers rescored. A row only ever replaces an older one.
- Tables for an explicit past `as_of` are kept apart (healthdash.board.past) and told of every change.
- `invalidate_all` forgets everything: the next reader waits for a build from scratch.
- A customer's health as of now is kept encoded (`answers`, healthdash.board.answers) until that customer is marked
  changed, everything is forgotten, the configuration changes or `max_age` passes. Computed afresh as of now, its
  score and factors come from the customer's row of the current table, which keeps the signals it is explained from,
  when every change heard of for that customer is in it (`explained_row`): only its evidence is then read from the
  database. Else (an explicit moment, a change not patched in yet, a table of yesterday) the score is computed from
  its signals, taken from memory when that can tell (`signals_for`).
- A group of activity events is rescored in its writing transaction from memory and the rollup rows of the days
  written (`scores_after_write`, the service's `written_scores` hook) when none of its customers has a change not
  patched in other than usage from a known day on (a customer written a moment ago, by this process or another):
  the rollup rows from that day on are read too. Else the service runs the signals query.

A write made through this process reaches the board by three routes, and each is needed:
1. Fresh rows: the service rescored the customer just before the commit and hands the rows over
   (`HealthService.rescored`); the next reader writes them in, without I/O, or the next patch does when no reader
   comes first. Only this makes a write show at once in the dashboard and the list, since patches wait their turn.
   Batches hand over no rows and show with the next patch.
2. `mark_changed` from the API (the handler; for a group of activity events, once for the group as its outcome
   reaches the event loop, before any of its requests is answered): fresh rows mend the current table, not the
   memory that the next rebuild computes from (usage is read again only for customers marked) nor the past tables
   (events may be back-dated). This mark does not depend on the listener: it holds while the listening connection is
   down (until it is back and everything is dropped) and where the events trigger is missing.
3. The database's notification (healthdash.db.listener), which also brings other instances' writes and writes
   made outside healthdash. It cannot tell this process's statements from others', so it marks them again: the
   change set merges a customer's marks, so this costs nothing when it arrives before the patch takes the mark, and
   one more patch of the same customers when it arrives after.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from typing import Any, TypeVar

from sqlalchemy import Connection

from healthdash.board.answers import Answers
from healthdash.board.changes import ChangeSet
from healthdash.board.fresh import FreshRows
from healthdash.board.past import PastTables
from healthdash.board.signals import Signals
from healthdash.board.snapshot import Snapshot
from healthdash.clock import as_of_day, utc_now
from healthdash.db.signals import WindowSignals
from healthdash.score_table import ScoreTable
from healthdash.scoring import ScoringConfig
from healthdash.service import HealthService, scores_from

T = TypeVar("T")
PATCH_INTERVAL = 1.0  # seconds between patches: each one costs a copy of the table and fresh orders
log = logging.getLogger("healthdash.board")


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
        self.signals = Signals(service.engine)
        self._current: Snapshot | None = None
        self._changes = ChangeSet()
        self._fresh = FreshRows()
        self._building: list[list[ScoreTable]] = []  # for each build under way, the rows written in meanwhile
        self._rebuild: asyncio.Task[None] | None = None
        self._rebuild_failed = False
        self._patching: asyncio.Task[None] | None = None
        self._in_flight = ChangeSet()  # the marks the patch under way took
        self._last_patch = 0.0
        self._history = PastTables(self._score_past)
        self.answers = Answers(max_age=max_age)
        service.rescored.append(self._fresh.push)
        service.written_scores = self.scores_after_write

    def mark_changed(self, customer_ids: Iterable[int], since: dt.date | None = None, usage_only: bool = False) -> None:
        """Note that these customers' scores may have changed: their usage from `since` on (any day when None), and
        unless `usage_only` (activity events only), their tickets, invoices or profile too."""
        ids = set(map(int, customer_ids))
        self._changes.mark(ids, since, records=not usage_only)
        self._history.mark(ids)
        self.answers.forget(ids)
        self._schedule_patch()

    def settled(self, customer_id: int) -> bool:
        """Whether every change heard of for this customer is in memory: no mark waiting, none being patched in."""
        return customer_id not in self._changes and customer_id not in self._in_flight

    def scores_after_write(
        self, conn: Connection, as_of: dt.datetime, customer_ids: Sequence[int], first: dt.date
    ) -> ScoreTable | None:
        """Return the scores of customers whose activity was just stored through `conn`, from memory and the rows of
        the days written (see `Signals.after_write`); None when memory cannot tell.

        Runs in the writing thread: the marks are read, not changed (a patch puts what it takes in flight before it
        leaves the marks, so a customer is always in one or the other until patched).
        """
        started = time.monotonic()
        marks = [m for c in customer_ids for m in (self._changes.get(c), self._in_flight.get(c)) if m is not None]
        # usage changed from a known day on is read again with the days written; other changes need the query
        since = [m.since for m in marks if not m.records and m.since is not None]
        settled = len(since) == len(marks)
        config = self.service.config
        signals = self.signals.after_write(conn, as_of, config, customer_ids, first, settled, min(since, default=None))
        return None if signals is None else scores_from(signals, config, started)

    def warm(self) -> None:
        """Start a build in the background when there is nothing built yet; the caller does not wait for it.

        After a build that failed it does nothing: the next reader of the table tries again, in the open.
        """
        if self._current is None and not self._rebuild_failed and (self._rebuild is None or self._rebuild.done()):
            self._rebuild = asyncio.ensure_future(self._build_in_background())

    def signals_for(self, customer_id: int, as_of: dt.datetime) -> WindowSignals | None:
        """Return one customer's signals as of a moment of today from memory, or None (then read them).

        Call `settled` first, on the event loop: the memory is only as new as the last patch. This part runs in
        the thread pool; it never waits for a build or a patch (None while one holds the memory).
        """
        return self.signals.remembered(customer_id, as_of_day(as_of), self.service.config)

    def explained_row(self, customer_id: int, as_of: dt.datetime) -> dict[str, Any] | None:
        """Return a customer's row of the current table with the signals it is explained from, as of a moment of
        today, or None when the table cannot tell (then score the customer's signals).

        On the event loop, without I/O: the table holds every change heard of for the customer when no mark of it
        waits or is being patched in (patched rows are installed on the event loop as the patch leaves its marks).
        """
        snapshot = self._current
        if snapshot is None or snapshot.day != as_of_day(as_of) or not self.settled(customer_id):
            return None
        scores = snapshot.scores
        position = int(scores.positions((customer_id,))[0])
        return scores.record(position) if position >= 0 and scores.explains else None

    def invalidate_all(self) -> None:
        """Forget everything: the next reader rebuilds (used when change notifications may have been missed)."""
        self.signals.forget()  # work begun before is not installed either
        self._current = None
        self._changes.clear()
        self._fresh.clear()
        self._history.clear()
        self.answers.clear()

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
        self.answers.clear()
        await self._build_now(reread)
        assert self._current is not None
        return self._current

    async def flush(self) -> Snapshot:
        """Patch in every change heard of so far, without waiting for the next round; return the snapshot."""
        await self.current()
        while self._changes:
            await self._patch()
        assert self._current is not None
        return self._current

    async def at(self, as_of: dt.datetime) -> Snapshot:
        """Return the snapshot for an explicit moment (the live one when it falls on the current day)."""
        if as_of_day(as_of) == as_of_day(self.clock()):
            return await self.current()
        return await self._history.at(as_of)

    # --- building -----------------------------------------------------------------------------------------------

    async def _build_in_background(self) -> None:
        try:
            await self._build_now()
        except Exception:
            log.warning("the background rebuild of the score table failed", exc_info=True)
            self._rebuild_failed = True

    async def _build_now(self, reread: bool | None = None) -> None:
        while True:
            generation, as_of = self.signals.generation, self.clock()
            if reread is None:  # every so often on the same day, for changes made other than by events
                reread = self._current is not None and self._current.day == as_of_day(as_of)
            during: list[ScoreTable] = []
            self._building.append(during)
            pending = self._changes.customers()  # read these customers' data again on the way
            before = self._current
            try:
                scores = await self._run(
                    self._score_all, as_of, generation, pending, reread, before.scores if before else None
                )
            finally:
                self._building.remove(during)
            if generation == self.signals.generation:
                break
        snapshot = Snapshot(scores, as_of, time.monotonic())
        if during:  # rows computed while the table was: newer than what it read, where stamped so
            snapshot = snapshot.updated(ScoreTable.latest(during))
        self._current = snapshot
        self._rebuild_failed = False

    def _score_all(
        self, as_of: dt.datetime, generation: int, pending: list[int], reread: bool, before: ScoreTable | None
    ) -> ScoreTable:
        """Score every customer (in the thread pool); what was derived from the names and profiles of the table
        before is taken over where they did not change (`ScoreTable.inherit`)."""
        scores = self.signals.score_all(as_of, self.service.config, generation, pending, reread)
        if before is not None:
            scores.inherit(before)
        return scores

    async def _score_past(self, as_of: dt.datetime, customer_ids: Sequence[int] | None) -> ScoreTable:
        return await self._run(self.service.scores, as_of, customer_ids)

    # --- changes ------------------------------------------------------------------------------------------------

    def _apply_fresh(self) -> None:
        if self._current is not None and (rows := self._fresh.take(self._current.day)) is not None:
            self._write_in(rows)

    def _write_in(self, rows: ScoreTable, gone: Sequence[int] = ()) -> None:
        """Write rows into the current snapshot, and into the one being built, where newer than what it read."""
        assert self._current is not None
        self._install(self._current.updated(rows, gone), rows)

    def _install(self, snapshot: Snapshot, rows: ScoreTable) -> None:
        """Make a snapshot with rows written in the current one; the builds under way write the rows in too."""
        self._current = snapshot
        for during in self._building:
            during.append(rows)

    def _schedule_patch(self) -> None:
        if self._current is None or not self._changes or (self._patching and not self._patching.done()):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._patching = loop.create_task(self._patch_soon())

    async def _patch_soon(self) -> None:
        while self._changes and self._current is not None:
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
        if base is None or not self._changes:
            return
        generation = self.signals.generation
        # in flight before they leave the marks: a writing thread never sees a customer in neither (see
        # scores_after_write)
        taken = self._in_flight = self._changes
        self._changes = ChangeSet()
        ids = taken.customers()
        config = self.service.config
        try:
            rows, patched = await self._run(self._rescore, base, config, generation, taken, ids)
        except BaseException:
            self._changes.merge(taken)
            raise
        finally:
            self._last_patch = time.monotonic()
            self._in_flight = ChangeSet()
        if generation != self.signals.generation or self._current is None:
            return
        if self._current.day != base.day:  # a table for a newer day is in place: these changes are pending again
            self._changes.merge(taken)
            return
        if self._current is base:
            self._install(patched, rows)
        else:  # fresh rows or a build were written in meanwhile: write the rows into that table, here
            self._write_in(rows, gone=ids)
        # the fresh rows of the writes marked since: taken at every patch, not left to pile up until a reader comes
        # (at 100,000 customers, ten seconds of single events without one held 60 MB of one-row tables)
        self._apply_fresh()

    def _rescore(
        self, base: Snapshot, config: ScoringConfig, generation: int, taken: ChangeSet, ids: list[int]
    ) -> tuple[ScoreTable, Snapshot]:
        """Rescore the marked customers (`ids`, those of `taken`), and write their rows into the snapshot they were
        marked against (in the thread pool: a copy of every column, 10-20 ms at 100,000 customers, which would hold
        up the event loop)."""
        rows = self.signals.score_some(base.as_of, config, generation, ids, taken.since(), taken.records_for())
        return rows, base.updated(rows, gone=ids)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)
