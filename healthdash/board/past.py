"""Score tables for explicit past days: a small LRU bounded by rows, each table rescored where customers changed.

Events may be back-dated, so a customer changed since a table was computed is rescored when the table is next
read; changes heard of while a table is being computed count for it too. This module never reads the database
itself: it is given how to score a day (all customers, or some).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from healthdash.board.snapshot import Snapshot
from healthdash.clock import as_of_day
from healthdash.score_table import ScoreTable

HISTORY_ROWS = 200_000  # rows of past tables kept: two tables of 100,000 customers
Score = Callable[[dt.datetime, Sequence[int] | None], Awaitable[ScoreTable]]


@dataclass
class _Past:
    snapshot: Snapshot
    changed: set[int] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class PastTables:
    """The tables of past days last asked for, at most HISTORY_ROWS rows in all (the last one always kept)."""

    def __init__(self, score: Score) -> None:
        self._score = score
        self._tables: OrderedDict[dt.date, _Past] = OrderedDict()
        self._collecting: list[set[int]] = []  # changes heard of while tables are computed

    def __len__(self) -> int:
        return len(self._tables)

    def mark(self, customer_ids: set[int]) -> None:
        """Note that these customers' scores may have changed, on any day."""
        for past in self._tables.values():
            past.changed |= customer_ids
        for pending in self._collecting:
            pending |= customer_ids

    def clear(self) -> None:
        """Forget every table."""
        self._tables.clear()

    async def at(self, as_of: dt.datetime) -> Snapshot:
        """Return the table for the day of `as_of` (computed as of the first moment asked for on that day)."""
        day = as_of_day(as_of)
        past = self._tables.get(day)
        if past is None:
            pending: set[int] = set()
            self._collecting.append(pending)
            try:
                scores = await self._score(as_of, None)
            finally:
                self._collecting.remove(pending)
            past = _Past(Snapshot(scores, as_of, time.monotonic()), pending)
            self._remember(day, past)
        self._tables.move_to_end(day)
        async with past.lock:
            if past.changed:
                ids = sorted(past.changed)
                past.changed.clear()
                try:
                    rows = await self._score(past.snapshot.as_of, ids)
                except BaseException:
                    past.changed.update(ids)
                    raise
                past.snapshot = past.snapshot.updated(rows, gone=ids)
        return past.snapshot

    def _remember(self, day: dt.date, past: _Past) -> None:
        self._tables[day] = past
        while len(self._tables) > 1 and sum(len(p.snapshot.scores) for p in self._tables.values()) > HISTORY_ROWS:
            self._tables.popitem(last=False)
