"""Rows that the service computed right after a write in this process, waiting for the next reader of the board."""

from __future__ import annotations

import datetime as dt
from collections import deque

from healthdash.score_table import ScoreTable

FRESH_KEPT = 10_000


class FreshRows:
    """Fresh rows handed over from any thread (a deque takes them without a lock), taken on the event loop."""

    def __init__(self) -> None:
        self._waiting: deque[tuple[ScoreTable, dt.date]] = deque(maxlen=FRESH_KEPT)

    def push(self, rows: ScoreTable, day: dt.date) -> None:
        """Hand over customers' fresh rows for a day (`HealthService.rescored` calls this)."""
        self._waiting.append((rows, day))

    def take(self, day: dt.date) -> ScoreTable | None:
        """Return the rows waiting for the day, each customer's newest (None when there are none); drop the rest."""
        if not self._waiting:  # what nearly every reader finds
            return None
        tables = []
        while self._waiting:
            rows, for_day = self._waiting.popleft()
            if for_day == day:
                tables.append(rows)
        return ScoreTable.latest(tables) if tables else None

    def __len__(self) -> int:
        return len(self._waiting)

    def clear(self) -> None:
        """Drop every row waiting."""
        self._waiting.clear()
