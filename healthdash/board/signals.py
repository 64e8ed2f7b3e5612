"""Every customer's signals held in memory, and scores computed from them instead of by the signal query.

The usage (healthdash.board.usage) and the profiles, tickets and invoices (healthdash.board.records) of every
customer are read once; after that only what changed is read again, and on a new day the usage moves along by a day.
Scores computed from memory equal those of the signal query (healthdash.db.signals) over the same data.

The work runs in the thread pool, one computation at a time (it holds the memory meanwhile). `forget` drops the
memory from the event loop: what a computation begun before it read is not kept.

Activity just stored is rescored from memory too (`after_write`), in the writing transaction: the rows of the days
written are read again (they are in PostgreSQL's buffers, just updated), the others come from memory. The days this
process wrote for each customer are remembered (`_written`), and read again at every later write of that customer:
memory may miss a write whose customer's mark has not reached the board yet.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Sequence

import numpy as np
from sqlalchemy import Connection, Engine

from healthdash.board.records import CustomerRecords
from healthdash.board.usage import UsageArrays, load_usage, refresh_usage
from healthdash.clock import as_of_day
from healthdash.db.rollup import read_customer_days
from healthdash.db.signals import WindowSignals, split_windows
from healthdash.memory import LARGE_WORK, release_free_memory
from healthdash.score_table import ScoreTable
from healthdash.scoring import ScoringConfig
from healthdash.service import scores_from

LARGE_PATCH = 5_000  # customers


class Signals:
    """Every customer's usage, profile, recent tickets and invoices, held in memory."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.generation = 0  # moves on when the memory is forgotten
        self._lock = threading.Lock()
        self._usage: UsageArrays | None = None
        self._records: CustomerRecords | None = None
        self._written: dict[int, dt.date] = {}  # the earliest day this process wrote activity of each customer

    def forget(self) -> None:
        """Drop the memory: the next computation reads everything again."""
        self.generation += 1
        self._usage = None
        self._records = None

    def remembered(self, customer_id: int, day: dt.date, config: ScoringConfig) -> WindowSignals | None:
        """Return one customer's signals as of `day` from memory, without waiting and without I/O.

        None when memory cannot tell: nothing or another day is held, the customer is not held, or a computation
        holds the memory right now (it may be changing it).
        """
        if not self._lock.acquire(blocking=False):
            return None
        try:
            ids = np.asarray([customer_id], dtype=np.int64)
            if (held := self._holding(ids, day, config)) is None:
                return None
            usage, records = held
            raw = records.columns(day, config.window_days, config.invoice_window_days, config.invoice_grace_days, ids)
            raw.update(usage.columns(raw["id"], day, config.window_days))
        finally:
            self._lock.release()
        return split_windows(day, raw, config.window_days)

    def _holding(
        self, ids: np.ndarray, day: dt.date, config: ScoringConfig
    ) -> tuple[UsageArrays, CustomerRecords] | None:
        """Return the memory if it holds these customers' windows as of `day` (call with the lock held), else None."""
        usage, records, window = self._usage, self._records, config.window_days
        if (
            usage is None
            or records is None
            or usage.last_day != day
            or usage.days != 3 * window
            or not records.covers(day, window, config.invoice_window_days)
            or (usage.positions(ids) < 0).any()
            or (records.positions(ids) < 0).any()
        ):
            return None
        return usage, records

    def after_write(
        self,
        conn: Connection,
        as_of: dt.datetime,
        config: ScoringConfig,
        customer_ids: Sequence[int],
        first: dt.date,
        settled: bool = True,
        stale_since: dt.date | None = None,
    ) -> WindowSignals | None:
        """Return the signals of customers whose activity (from day `first` on) was just stored through `conn`, as of
        `as_of`; None when memory cannot tell (not `settled`: a change of theirs is not in memory yet, other than
        usage from `stale_since` on).

        Their rollup rows from the earliest day this process ever wrote for any of them, or from `stale_since` if that
        is earlier, are read through `conn` (in the writing transaction, so they include what it stored), the older
        days come from memory. Called by the one thread that stores activity; it never waits for the memory (None
        while a computation holds it).
        """
        written = self._written
        for customer_id in customer_ids:  # before anything else: remembered even when memory cannot tell now
            earlier = written.get(customer_id)
            if earlier is None or first < earlier:
                written[customer_id] = first
        if not settled or self._usage is None:
            return None
        day, window = as_of_day(as_of), config.window_days
        earliest = min(written[c] for c in customer_ids)
        if stale_since is not None:
            earliest = min(earliest, stale_since)
        since = max(earliest, day - dt.timedelta(days=3 * window - 1))
        fresh = read_customer_days(conn, since, day, customer_ids) if since <= day else None
        if not self._lock.acquire(blocking=False):
            return None
        try:
            ids = np.asarray(customer_ids, dtype=np.int64)
            if (held := self._holding(ids, day, config)) is None:
                return None
            usage, records = held
            theirs = usage.moved_to(day, ids)  # a copy of their columns, with the days read again written in
            if fresh is not None:
                theirs.clear(ids, since)
                theirs.fill(fresh, since)
            raw = records.columns(day, window, config.invoice_window_days, config.invoice_grace_days, ids)
            raw.update(theirs.columns(raw["id"], day, window))
        finally:
            self._lock.release()
        return split_windows(day, raw, window)

    def score_all(
        self,
        as_of: dt.datetime,
        config: ScoringConfig,
        generation: int,
        changed: Sequence[int] = (),
        reread: bool = False,
    ) -> ScoreTable:
        """Score every customer after reading again the data of the `changed` ones.

        With `reread`, every customer's profile, tickets and invoices are read again (they may change without an
        event); the usage only ever changes through events, which are heard of.
        """
        with LARGE_WORK:  # from its reading to its table: not beside another computation over many customers
            return self._score(as_of, config, generation, None, changed, reread)

    def score_some(
        self,
        as_of: dt.datetime,
        config: ScoringConfig,
        generation: int,
        customer_ids: Sequence[int],
        since: dt.date | None,
        records_for: Sequence[int],
    ) -> ScoreTable:
        """Score the given customers after reading again their usage from `since` on (any day when None), and the
        profiles, tickets and invoices of `records_for` and of customers the records do not hold yet."""
        with LARGE_WORK if len(customer_ids) > LARGE_PATCH else contextlib.nullcontext():
            return self._score(as_of, config, generation, customer_ids, (), False, since, records_for)

    def _score(
        self,
        as_of: dt.datetime,
        config: ScoringConfig,
        generation: int,
        customer_ids: Sequence[int] | None,
        changed: Sequence[int],
        reread: bool,
        since: dt.date | None = None,
        records_for: Sequence[int] | None = None,
    ) -> ScoreTable:
        day, window = as_of_day(as_of), config.window_days
        with self._lock, self.engine.connect() as conn:
            started = time.monotonic()  # the rows are as new as the reading, which starts once the lock is ours
            usage = self._usage_for(conn, day, 3 * window)
            records = self._records
            if records is None or reread or not records.covers(day, window, config.invoice_window_days):
                first_ticket = day - dt.timedelta(days=2 * window - 1)
                first_due = day - dt.timedelta(days=window + config.invoice_window_days - 1)
                records = CustomerRecords.load(conn, first_ticket, first_due)
            again = np.asarray(list(changed) if customer_ids is None else list(customer_ids), dtype=np.int64)
            if len(again):
                refresh_usage(conn, usage, again, since=since)
                if records_for is not None:
                    unknown = again[records.positions(again) < 0]
                    again_records = np.union1d(np.asarray(records_for, dtype=np.int64), unknown)
                else:
                    again_records = again
                if len(again_records):
                    records.refresh(conn, again_records)
            known = records.profiles["id"]
            newcomers = known[usage.positions(known) < 0]
            if len(newcomers):  # customers added since the usage was read
                usage = usage.moved_to(usage.last_day, np.union1d(usage.ids, newcomers))
                refresh_usage(conn, usage, newcomers)
            ids = None if customer_ids is None else np.asarray(customer_ids, dtype=np.int64)
            raw = records.columns(day, window, config.invoice_window_days, config.invoice_grace_days, ids)
            raw.update(usage.columns(raw["id"], day, window))
            if generation == self.generation:
                self._usage, self._records = usage, records
        signals = split_windows(day, raw, window)
        del raw  # copied into the signals: freed before the scoring makes its arrays (at L, 24 MB less at the peak)
        scores = scores_from(signals, config, started)
        if customer_ids is None or len(again) > LARGE_PATCH:
            release_free_memory()  # what a full build (or a large patch) read on the way is garbage now
        return scores

    def _usage_for(self, conn: Connection, day: dt.date, days: int) -> UsageArrays:
        usage = self._usage
        if usage is None or usage.days != days or day < usage.last_day:
            return load_usage(conn, day, days)
        if day != usage.last_day:  # a new day: keep what overlaps, read the last day and the new ones again
            moved = usage.moved_to(day)
            refresh_usage(conn, moved, None, since=usage.last_day)
            return moved
        return usage
