"""Keeping the history written: a thread that writes each closed day after the day rolls over, and restates days
that back-dated events changed. Every instance runs one; the writer's lock lets one of them do each piece of work.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

import sqlalchemy.exc

from healthdash.clock import as_of_day, utc_now
from healthdash.score_history.recorder import HistoryRecorder

CLOSE_DELAY = dt.timedelta(minutes=1)  # a day is closed this long after midnight UTC: its last writes committed
INTERVAL = 1.0  # seconds between looks at the clock and at the customers to restate
LONGEST_PAUSE = 60.0  # seconds between tries while the database fails, after doubling from INTERVAL
log = logging.getLogger("healthdash")


def closed_until() -> dt.date:
    """Return the first day that is not closed yet (today in UTC, until CLOSE_DELAY after midnight: yesterday)."""
    return as_of_day(utc_now() - CLOSE_DELAY)


class HistoryKeeper:
    """Write missing closed days and restate changed ones, in a thread of its own, off the event loop."""

    def __init__(
        self,
        recorder: HistoryRecorder,
        interval: float = INTERVAL,
        today: Callable[[], dt.date] = closed_until,
        written: Callable[[], object] | None = None,
    ) -> None:
        self.recorder = recorder
        self.interval = interval
        self.today = today
        self.written = written  # told (in this thread) once a run of days has been written or rows restated
        self._filling = Filling()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="healthdash-history", daemon=True)

    def start(self) -> None:
        """Start keeping the history."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the work under way."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def tick(self) -> bool:
        """Write a missing closed day, then restate what events changed.

        Return whether a day was written: then more may be missing. One day per tick keeps restatements within
        seconds while a long backfill runs.
        """
        today = self.today()
        # Looked for every tick (one indexed read of at most HISTORY_DAYS rows): a day that is missing for any reason
        # (the rollover, a failed write, rows taken away) is written within a second.
        progress = self.recorder.write_missing(today, told=self._filling.wrote, limit=1)
        self._filling.said(progress.missing)
        changed = False
        if progress.complete:
            changed = bool(self._filling.days)
            self._filling.finish()
        changed = self.recorder.restate(today) > 0 or changed
        if changed and self.written is not None:
            self.written()
        return progress.written > 0

    def _run(self) -> None:
        failing: str | None = None  # what the last failure said, while the database keeps failing
        pause = self.interval
        while not self._stop.is_set():
            busy = False
            try:
                busy = self.tick()
            except sqlalchemy.exc.SQLAlchemyError as exc:  # the database is away or lacks the tables: try again later
                said = str(exc).splitlines()[0]
                if said != failing:  # said once, not every second for as long as it lasts
                    log.warning("score history: %s (trying again, at most every %.0f s)", said, LONGEST_PAUSE)
                failing = said
                pause = min(pause * 2, LONGEST_PAUSE)
            else:
                if failing is not None:
                    log.warning("score history: the database answers again")
                failing, pause = None, self.interval
            if not busy:
                self._stop.wait(pause)


class Filling:
    """What the server's log says of the days this instance writes: a line when a run of missing days begins, one
    when it ends (how many, which, how long), rather than a line per day."""

    def __init__(self) -> None:
        self.days: list[dt.date] = []
        self.customers = 0
        self.began = 0.0
        self.announced = False

    def wrote(self, day: dt.date, customers: int) -> None:
        if not self.days:
            self.began = time.monotonic()
        self.days.append(day)
        self.customers = max(self.customers, customers)

    def said(self, missing: int) -> None:
        """Announce a run of more than a few days once, while it is under way."""
        if missing > 2 and not self.announced:
            self.announced = True
            print(
                f"score history: writing {missing + len(self.days)} closed days in the background "
                "(pages and the API answer meanwhile)",
                flush=True,
            )

    def finish(self) -> None:
        if self.days:
            first, last = min(self.days), max(self.days)
            span = first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"
            count = f"{len(self.days)} closed day{'s' if len(self.days) > 1 else ''}"
            took = time.monotonic() - self.began
            print(f"score history: wrote {count} ({span}, {self.customers} customers) in {took:.1f} s", flush=True)
        self.days, self.customers, self.announced = [], 0, False
