"""Writing the score history: closed days, all customers at once, and the days an event changed afterwards."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, Engine

from healthdash.db import history as db
from healthdash.db.history import HistoryRows
from healthdash.db.signals import window_signals
from healthdash.memory import LARGE_WORK
from healthdash.scoring import FACTOR_KEYS, ScoringConfig
from healthdash.scoring.model import score_columns

DayWritten = Callable[[dt.date, int], None]  # told of each day written, with how many customers it holds
WRITTEN_ELSEWHERE = -1  # what write_day answers for a day another instance wrote meanwhile
MONTH_AHEAD = dt.timedelta(days=31)  # the month after a day's is added with it: the first of a month finds its table


@dataclass(frozen=True)
class Progress:
    """How far writing the missing days got."""

    written: int  # days written by this call
    complete: bool  # every day of the period is written (False: days left, or another instance is writing them)
    missing: int = 0  # days of the period still missing after this call


class HistoryRecorder:
    """Write every customer's score for closed days, one whole day per transaction, by one instance at a time."""

    def __init__(self, engine: Engine, config: ScoringConfig, days: int) -> None:
        self.engine = engine
        self.config = config
        self.days = days
        self.config_id: int | None = None
        self._configs: dict[int, ScoringConfig] = {}

    def record_config(self) -> int:
        """Store this server's scoring configuration unless it is known; return its id."""
        with self.engine.begin() as conn:
            self.config_id = db.record_config(conn, self.config.fingerprint(), self.config.canonical())
        self._configs[self.config_id] = self.config
        return self.config_id

    def missing_days(self, today: dt.date, days: int | None = None) -> list[dt.date]:
        """Return the closed days of the kept period (`days` back from yesterday) not written yet, newest first."""
        count = self.days if days is None else days
        first, last = today - dt.timedelta(days=count), today - dt.timedelta(days=1)
        with self.engine.connect() as conn:
            written = db.written_days(conn, first, last)
        return [day for day in _days_back(last, count) if day not in written]

    def write_missing(
        self,
        today: dt.date,
        days: int | None = None,
        wait: bool = False,
        told: DayWritten | None = None,
        limit: int | None = None,
    ) -> Progress:
        """Write the missing closed days (at most `limit`), newest first, each in a transaction of its own.

        Without `wait`, stop at the first day for which another instance holds the writer's lock.
        """
        missing = self.missing_days(today, days)
        done = written = 0
        for day in missing[:limit]:
            customers = self.write_day(day, wait)
            if customers is None:
                return Progress(written, complete=False, missing=len(missing) - done)
            done += 1
            if customers != WRITTEN_ELSEWHERE:
                written += 1
                if told is not None:
                    told(day, customers)
        return Progress(written, complete=done == len(missing), missing=len(missing) - done)

    def write_day(self, day: dt.date, wait: bool = False) -> int | None:
        """Write one closed day for every customer that existed on it; return how many (None: another is writing;
        WRITTEN_ELSEWHERE: another wrote it meanwhile)."""
        config_id = self.config_id if self.config_id is not None else self.record_config()
        with self.engine.connect() as conn, conn.begin():  # apart: the new month's table is not locked for the write
            if not db.claim_writer(conn, wait):
                return None
            db.add_months(conn, day, day + MONTH_AHEAD)
        with self.engine.connect() as conn, conn.begin():
            if not db.claim_writer(conn, wait):
                return None
            if db.written_days(conn, day, day):
                return WRITTEN_ELSEWHERE
            rows = self._score(conn, day, self.config, config_id)
            db.write_day_rows(conn, rows)
            db.mark_written(conn, day, config_id)
        return len(rows.ids)

    def restate(self, today: dt.date) -> int:
        """Score again the written days of customers whose events changed them, each under its day's configuration.

        Return how many rows were written (0 also when another instance holds the writer's lock: it will).
        """
        with self.engine.connect() as conn:
            if not db.any_stale(conn):
                return 0
        with self.engine.connect() as conn, conn.begin():
            if not db.claim_writer(conn, wait=False):
                return 0
            stale = db.take_stale(conn)
            if not stale:
                return 0
            days = db.written_days(conn, min(stale.values()), today - dt.timedelta(days=1))
            with LARGE_WORK:  # not beside a full build of the score table: their memory would add up
                batches = [
                    self._score(conn, day, self._config(conn, config_id), config_id, _since(stale, day))
                    for day, config_id in sorted(days.items())
                ]
            return db.write_rows(conn, batches)

    def _config(self, conn: Connection, config_id: int) -> ScoringConfig:
        if config_id not in self._configs:
            settings = db.config_settings(conn, [config_id])[config_id]
            self._configs[config_id] = ScoringConfig.from_mapping(settings)
        return self._configs[config_id]

    def _score(
        self,
        conn: Connection,
        day: dt.date,
        config: ScoringConfig,
        config_id: int,
        customer_ids: Sequence[int] | None = None,
    ) -> HistoryRows:
        """Score all customers (or the given ones) as of the end of `day` with one signal query (no trend: the
        history keeps none, so the customers are scored once, as of the day)."""
        signals = window_signals(conn, day, config, customer_ids, trend=False)
        columns = score_columns(signals.current, len(signals.ids), config)
        return HistoryRows(
            day=day,
            config_id=config_id,
            ids=signals.ids,
            score=columns["score"].astype(float),
            coverage=columns["coverage"].astype(float),
            tier=columns["tier"],
            factors={key: columns[key].astype(float) for key in FACTOR_KEYS},
        )


def _days_back(last: dt.date, count: int) -> list[dt.date]:
    return [last - dt.timedelta(days=n) for n in range(count)]


def _since(stale: dict[int, dt.date], day: dt.date) -> list[int]:
    """Return the customers whose history is stale on `day`."""
    ids = np.array(list(stale), dtype=np.int64)
    since = np.array(list(stale.values()), dtype="datetime64[D]")
    return [int(i) for i in ids[since <= np.datetime64(day)]]
