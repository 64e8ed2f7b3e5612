"""The one place where database reads and writes meet the scoring model."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

import numpy as np
import pandas as pd
import sqlalchemy.exc
from sqlalchemy import Connection, Engine

from healthdash.backtest_figures import Churner, Figures, ScoreCounts, figures
from healthdash.clock import as_of_day, utc_now
from healthdash.commit_ticket import CommitTicket, committed, start_commit
from healthdash.db import backtest, batches, customers, history, reads, writes
from healthdash.db.loop_reader import LoopReader
from healthdash.db.reads import EventRow, Evidence
from healthdash.db.signals import WindowSignals, window_signals
from healthdash.health import HealthReport, HealthScore, Recorded, ScoreAndTier
from healthdash.kept_reports import KeptReports
from healthdash.recording import Activity, Answer, Author, EventRejected, NewEvent
from healthdash.score_table import EXPLAINED, ScoreTable
from healthdash.scoring import ScoringConfig, explain_customer
from healthdash.scoring.trend import columns_with_trend, trend_columns
from healthdash.vocabulary import ACTIVITY_TYPES, FACTOR_KEYS
from healthdash.weights_fit import Observations, Suggestion, suggest_weights

ACTIVITY_DAYS = 90
BACKTEST_DAYS = 180  # days a backtest judges by default
FIT_ROWS = 200_000  # customer-days the suggested weights are fitted and judged on, at most
BACKTESTS_KEPT = 16  # backtest reports kept (each range, horizon and lead asked for), until their inputs change
RETRIES = 3
RETRIED = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure: safe to run again
T = TypeVar("T")
Rescored = Callable[[ScoreTable, dt.date], None]  # a customer's fresh scores (stamped) and the day they are for
# Scores of customers just written, from memory: (the writing connection, as of, customers, the earliest day written)
# -> their rows, or None when memory cannot tell (see ScoreBoard.scores_after_write).
WrittenScores = Callable[[Connection, dt.datetime, Sequence[int], dt.date], ScoreTable | None]


class HealthService:
    """Compute health scores and gather the evidence behind them."""

    def __init__(
        self, engine: Engine, config: ScoringConfig, reader: Engine | None = None, loop_reader: LoopReader | None = None
    ) -> None:
        self.engine = engine
        self.config = config
        self.reader = reader  # an engine of autocommit connections for reads (make_engine(autocommit=True)), if any
        self.loop_reader = loop_reader  # reads a customer's evidence on the event loop, if set (the server's)
        self.rescored: list[Rescored] = []  # told of the customer's fresh scores after each recorded event
        self.written_scores: WrittenScores | None = None  # activity just stored, rescored from memory (if set)
        self.reports: KeptReports[dict[str, Any]] = KeptReports(BACKTESTS_KEPT)  # backtests, until their inputs change

    def score_frame(self, as_of: dt.datetime, customer_ids: Sequence[int] | None = None) -> pd.DataFrame:
        """Return every customer's (or the given ones') score, tier, factors and trend, indexed by customer id."""
        return self.scores(as_of, customer_ids).frame()

    def scores(self, as_of: dt.datetime, customer_ids: Sequence[int] | None = None) -> ScoreTable:
        """Return every customer's (or the given ones') scores as columns (rows stamped with when reading began)."""
        with self._reading() as conn:
            return self._scores_on(conn, as_of, customer_ids, explained=False)

    def _reading(self) -> Connection:
        """Return a connection whose statements each run on their own (no BEGIN, COMMIT or ROLLBACK round trips).

        Under READ COMMITTED every statement sees what was committed when it began, in a transaction or not; a
        single INSERT is atomic and durable on its own.
        """
        if self.reader is not None:
            return self.reader.connect()
        return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def _scores_on(
        self, conn: Connection, as_of: dt.datetime, customer_ids: Sequence[int] | None, explained: bool = True
    ) -> ScoreTable:
        """Score customers as of a moment; `explained`: their rows keep the signals they are explained from (rows
        for the score board's current table; not the past tables, which explain no health)."""
        started = time.monotonic()
        day = as_of_day(as_of)
        if customer_ids is None:
            # Every customer's score a window earlier is kept in the score history when that day was written under
            # this configuration: read there, the signals query aggregates two windows of the rollup instead of three.
            earlier = day - dt.timedelta(days=self.config.window_days)
            kept = history.day_scores(conn, earlier, self.config.fingerprint())
            if kept is not None:
                signals = window_signals(conn, day, self.config, trend=False)
                columns = columns_with_trend(signals.current, signals.ids, len(signals.ids), self.config, *kept)
                return explained_table(signals, columns, started, explained)
        signals = window_signals(conn, day, self.config, customer_ids)
        return scores_from(signals, self.config, started, explained)

    def record_event(
        self,
        customer_id: int,
        event_type: str,
        occurred_at: dt.datetime,
        data: dict[str, Any],
        tickets: Sequence[CommitTicket] = (),
        author: Author | None = None,
    ) -> Recorded | None:
        """Store an event; return it with the customer's updated score and tier, or None for an unknown customer.

        Just before COMMIT the tickets are claimed (see `commit_ticket`): a write whose client was already answered
        rolls back (Abandoned).
        """
        if event_type in ACTIVITY_TYPES:
            (outcome,) = self.record_activities([(customer_id, event_type, occurred_at, data)], tickets, [author])
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome
        with self.engine.connect() as conn:
            with conn.begin():
                if not writes.customer_exists(conn, customer_id):
                    return None
                stored = writes.record_event(conn, customer_id, event_type, occurred_at, data, author)
                event = cast(EventRow, stored)
                now = utc_now()
                rows = self._scores_on(conn, now, [customer_id])  # before COMMIT: nothing is left to do after it
                start_commit(tickets)
            committed(tickets)
        self._tell(rows, now)
        return Recorded(event, _health(rows, customer_id))

    def record_activities(
        self,
        events: Sequence[Activity],
        tickets: Sequence[CommitTicket] = (),
        authors: Sequence[Author | None] = (),
    ) -> list[Recorded | BaseException | None]:
        """Store the activity of several requests with one statement and one durable commit; rescore them at once.

        Each event gets what it would get alone: the stored event with its customer's score and tier after it, None
        for an unknown customer, or the exception that rejected it (the others are stored all the same). The scores
        are read in the same transaction, before COMMIT, when the tickets are claimed: if the client of any of them
        was already answered, the whole group rolls back (Abandoned).
        """

        def attempt() -> tuple[list[dict[str, Any] | EventRejected | None], ScoreTable | None, dt.datetime]:
            with self.engine.connect() as conn, conn.begin():
                stored = writes.record_activities(conn, events, authors)
                kept = [s for s in stored if isinstance(s, dict)]
                now = utc_now()
                rows = self._written_scores(conn, now, kept) if kept else None
                start_commit(tickets)
            committed(tickets)
            return stored, rows, now

        stored, rows, now = _retrying(attempt)
        if rows is not None:
            self._tell(rows, now)
        results: list[Recorded | BaseException | None] = []
        for event, outcome in zip(events, stored, strict=True):
            if isinstance(outcome, dict) and rows is not None:
                results.append(Recorded(cast(EventRow, outcome), _health(rows, event[0])))
            else:
                results.append(None if isinstance(outcome, dict) else outcome)
        return results

    def _written_scores(self, conn: Connection, as_of: dt.datetime, stored: Sequence[dict[str, Any]]) -> ScoreTable:
        """Score the customers of events just stored, in the writing transaction: from memory when it can tell (only
        the rollup rows of the days written are read), else by the signals query."""
        customers = sorted({int(event["customer_id"]) for event in stored})
        if self.written_scores is not None:
            first = min(as_of_day(event["occurred_at"]) for event in stored)
            rows = self.written_scores(conn, as_of, customers, first)
            if rows is not None:
                return rows
        return self._scores_on(conn, as_of, customers)

    def create_customer(self, fields: dict[str, Any], tickets: Sequence[CommitTicket] = ()) -> dict[str, Any]:
        """Store a new customer; return its profile (raises EventRejected for a duplicate external_id)."""
        profile, _ = self._write_profile(lambda conn: (customers.create_customer(conn, fields), True), tickets)
        assert profile is not None
        return profile

    def update_customer(
        self, customer_id: int, fields: dict[str, Any], tickets: Sequence[CommitTicket] = ()
    ) -> dict[str, Any] | None:
        """Change a customer's profile; return it, or None for an unknown customer."""
        profile, _ = self._write_profile(lambda conn: customers.update_customer(conn, customer_id, fields), tickets)
        return profile

    def put_customer(
        self, external_id: str, fields: dict[str, Any], tickets: Sequence[CommitTicket] = ()
    ) -> tuple[dict[str, Any], bool, bool]:
        """Create or update the customer with a CRM id; return its profile, whether created, whether changed."""
        created: list[bool] = []

        def write(conn: Connection) -> tuple[dict[str, Any] | None, bool]:
            profile, new, changed = customers.upsert_by_external_id(conn, external_id, fields)
            created.append(new)
            return profile, changed

        profile, changed = self._write_profile(write, tickets)
        assert profile is not None
        return profile, created[-1], changed

    def _write_profile(
        self,
        write: Callable[[Connection], tuple[dict[str, Any] | None, bool]],
        tickets: Sequence[CommitTicket],
    ) -> tuple[dict[str, Any] | None, bool]:
        """Write a profile in one transaction and rescore its customer before COMMIT, as an event does."""

        def attempt() -> tuple[dict[str, Any] | None, bool, ScoreTable | None, dt.datetime]:
            with self.engine.connect() as conn:
                with conn.begin():
                    profile, changed = write(conn)
                    now = utc_now()
                    rows = self._scores_on(conn, now, [profile["id"]]) if profile and changed else None
                    start_commit(tickets)
                committed(tickets)
            return profile, changed, rows, now

        profile, changed, rows, now = _retrying(attempt)
        if rows is not None:
            self._tell(rows, now)
        return profile, changed

    def _tell(self, rows: ScoreTable, now: dt.datetime) -> None:
        for listener in self.rescored:
            listener(rows, as_of_day(now))

    def record_batch(
        self,
        events: Sequence[NewEvent],
        respond: Callable[[list[int]], Answer],
        idempotency_key: str | None = None,
        request_hash: str = "",
        tickets: Sequence[CommitTicket] = (),
        author: Author | None = None,
    ) -> tuple[Answer, list[int]]:
        """Store a batch of events all or nothing; return the answer and the customers concerned.

        `respond` makes the answer from the stored events' ids. With an idempotency key, a batch seen before gets
        the answer it got then and no customer is concerned (raises KeyReused if the key came with another batch).
        Just before COMMIT the tickets are claimed: a batch whose client was already answered rolls back (Abandoned).
        """

        def attempt() -> tuple[Answer, list[int]]:
            with self.engine.begin() as conn:
                if idempotency_key is not None:
                    earlier = batches.claim_key(conn, idempotency_key, request_hash)
                    if earlier is not None:
                        return earlier, []
                ids = batches.record_batch(conn, events, author)
                answer = respond(ids)
                if idempotency_key is not None:
                    batches.remember_answer(conn, idempotency_key, answer)
                start_commit(tickets)
            committed(tickets)
            return answer, sorted({e.customer_id for e in events})

        return _retrying(attempt)

    def event(self, customer_id: int, event_id: int) -> EventRow | None:
        """Return one stored event of a customer, or None."""
        with self.engine.connect() as conn:
            return reads.customer_event(conn, customer_id, event_id)

    def customer_profile(self, customer_id: int) -> dict[str, Any] | None:
        """Return one customer's profile, or None."""
        with self._reading() as conn:
            return customers.profile(conn, customer_id)

    def customer_by_external_id(self, external_id: str) -> dict[str, Any] | None:
        """Return the profile of the customer with this CRM id, or None."""
        with self._reading() as conn:
            return customers.profile_by_external_id(conn, external_id)

    def backtest_report(self, first: dt.date | None, last: dt.date | None, horizon: int, lead: int) -> dict[str, Any]:
        """Return the backtest of a range of days, by default the last BACKTEST_DAYS days of the score history whose
        horizon has passed entirely (a range without its end given ends there; without its start, spans
        BACKTEST_DAYS days or starts on the first day of history whose window holds recorded activity throughout),
        with its figures and the suggested weights."""
        with self._reading() as conn:
            inputs = backtest.inputs(conn)
        oldest, newest, activity = inputs[:3]
        if last is None:
            last = (newest or as_of_day(utc_now()) - dt.timedelta(days=1)) - dt.timedelta(days=horizon)
            if first is not None and first > last:
                last = first
        if first is None:
            # Days scored over a window that reaches before the first recorded activity (a history written back
            # further than the events imported) flag every customer: they would say nothing of churn.
            start = max(oldest or last, last - dt.timedelta(days=BACKTEST_DAYS - 1))
            if activity is not None:
                start = max(start, activity + dt.timedelta(days=self.config.window_days - 1))
            first = min(last, start)
        key = (first, last, horizon, lead, self.config.fingerprint())
        if (kept := self.reports.get(key, inputs)) is not None:
            return kept
        result = self.backtest(first, last, horizon, lead)
        suggestion = self.suggest_weights(first, last, horizon, result.observations)
        report = {
            "from": first,
            "to": last,
            "horizon": horizon,
            "lead": lead,
            "figures": result.as_dict(),
            "current_weights": dict(self.config.weights),
            "suggested": None if suggestion is None else suggestion.as_dict(),
        }
        self.reports.keep(key, inputs, report)
        return report

    def suggest_weights(self, first: dt.date, last: dt.date, horizon: int, observations: int) -> Suggestion | None:
        """Fit weights to the churns of the first two thirds of the range and judge them on the last third (None
        with too few churns); an even sample of at most FIT_ROWS customer-days of the days the factors' figures read."""
        step = backtest.day_step(observations)  # the days the factors' counts read, and no others
        every = max(1, -(-(observations // step) // FIT_ROWS))
        with self._reading() as conn:
            rows = backtest.factor_rows(conn, first, backtest.sampled_days(first, last, step), horizon, every)
        days = rows["day"]
        cut = int(days.min()) + (int(days.max()) - int(days.min())) * 2 // 3 if len(days) else 0
        parts = [rows["day"] <= cut, rows["day"] > cut]
        train, test = (
            Observations({k: rows[k][part] for k in FACTOR_KEYS}, rows["churned"][part], rows["arr"][part])
            for part in parts
        )
        return suggest_weights(train, test, self.config.weights, self.config.healthy_min)

    def backtest(self, first: dt.date, last: dt.date, horizon: int, lead: int) -> Figures:
        """Judge the score history of the days from `first` to `last` against the churns that followed."""
        with self._reading() as conn:
            counts = backtest.backtest_counts(conn, first, last, horizon, lead)
        scores = ScoreCounts(*(list(column) for column in zip(*counts.scores, strict=True))) if counts.scores else None
        factors: dict[str, tuple[list[int], list[bool], list[int]]] = {}
        for factor, score_bin, churned, count in counts.factors:
            bins, churns, counted = factors.setdefault(factor, ([], [], []))
            bins.append(score_bin)
            churns.append(churned)
            counted.append(count)
        churners = [Churner(float(r.arr), r.lead_days, bool(r.flagged_ahead)) for r in counts.churners]
        return figures(scores or ScoreCounts([], [], [], [], []), churners, factors, counts.factor_step)

    def feature_keys(self) -> list[str]:
        """Return the keys of the feature catalogue, in catalogue order."""
        with self.engine.connect() as conn:
            return reads.feature_keys(conn)

    def ping(self) -> None:
        """Raise unless the database answers."""
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def customer_health(
        self,
        customer_id: int,
        as_of: dt.datetime,
        events_limit: int = 50,
        events_offset: int = 0,
        signals: WindowSignals | None = None,
    ) -> HealthReport | None:
        """Return one customer's score with its breakdown and evidence, or None for an unknown customer.

        The evidence takes one statement; the signals one more, unless they are given (the score board holds them).
        """
        with self._reading() as conn:
            evidence = self._evidence(conn, customer_id, as_of, events_limit, events_offset)
            if evidence is None:
                return None
            if signals is None:
                signals = window_signals(conn, as_of_day(as_of), self.config, [customer_id])
        return {**evidence, **self.customer_score(signals)}

    def customer_evidence_json(
        self, customer_id: int, as_of: dt.datetime, events_limit: int = 50, events_offset: int = 0
    ) -> bytes | None:
        """Return one customer's profile and evidence as of a moment, encoded as JSON by PostgreSQL in one statement
        (the shape of `Evidence`), or None for an unknown customer."""
        with self._reading() as conn:
            return self._evidence_json(conn, customer_id, as_of, events_limit, events_offset)

    async def customer_evidence_json_on_loop(
        self, customer_id: int, as_of: dt.datetime, events_limit: int = 50, events_offset: int = 0
    ) -> bytes | None:
        """Return what `customer_evidence_json` returns, read on the event loop (`loop_reader`, which must be set)."""
        assert self.loop_reader is not None
        limits = (events_limit, events_offset)
        params = reads.evidence_parameters(customer_id, as_of, self.config.invoice_grace_days, limits, ACTIVITY_DAYS)
        return reads.evidence_document(await self.loop_reader.rows(reads.EVIDENCE, params))

    def _evidence_json(
        self, conn: Connection, customer_id: int, as_of: dt.datetime, events_limit: int, events_offset: int
    ) -> bytes | None:
        limits = (events_limit, events_offset)
        grace = self.config.invoice_grace_days
        return reads.customer_evidence_json(conn, customer_id, as_of, grace, limits, ACTIVITY_DAYS)

    def _evidence(
        self, conn: Connection, customer_id: int, as_of: dt.datetime, events_limit: int, events_offset: int
    ) -> Evidence | None:
        document = self._evidence_json(conn, customer_id, as_of, events_limit, events_offset)
        return None if document is None else reads.evidence_values(document, as_of)

    def customer_signals(self, customer_id: int, as_of: dt.datetime) -> WindowSignals:
        """Return one customer's signals as of a moment, read from the database (none for an unknown customer)."""
        with self._reading() as conn:
            return window_signals(conn, as_of_day(as_of), self.config, [customer_id])

    def customer_score(self, signals: WindowSignals) -> HealthScore:
        """Return one customer's score, tier, trend and factors from its signals (insufficient data when the signals
        hold no customer: it was created after their day)."""
        if not len(signals.ids):
            return {
                "score": None,
                "tier": "insufficient_data",
                "coverage": 0.0,
                "main_reason": None,
                "factors": [],
                "trend": {"previous_score": None, "delta": None},
            }
        return self.explained_score(scores_from(signals, self.config).record(0))

    def explained_score(self, row: Mapping[str, Any]) -> HealthScore:
        """Return a customer's score, tier, trend and factors from its row of a score table that explains its rows
        (`ScoreTable.explains`: the row holds the signals the factors explain it from)."""
        return {
            "score": _number(row["score"]),
            "tier": row["tier"],
            "coverage": round(float(row["coverage"]), 4),
            "main_reason": row["main_reason"],
            "trend": {"previous_score": _number(row["previous_score"]), "delta": _number(row["trend"])},
            "factors": [f.as_dict() for f in explain_customer(row, row, self.config)],
        }


def scores_from(
    signals: WindowSignals, config: ScoringConfig, stamp: float = 0.0, explained: bool = True
) -> ScoreTable:
    """Score customers from their signals now and a window earlier (rows stamped with when their reading began);
    `explained`: the rows keep the signals they are explained from (`ScoreTable.explains`)."""
    columns = trend_columns(
        signals.current,
        signals.ids,
        signals.previous,
        signals.previous_ids,
        len(signals.ids),
        len(signals.previous_ids),
        config,
    )
    return explained_table(signals, columns, stamp, explained)


def explained_table(
    signals: WindowSignals, columns: dict[str, np.ndarray], stamp: float, explained: bool = True
) -> ScoreTable:
    """Return the score table of scored columns, holding beside each row the signals its score is explained from
    (unless not `explained`)."""
    if explained:
        columns = {**columns, **{name: signals.current[name] for name in EXPLAINED}}
    return ScoreTable(signals.ids, columns, stamp)


def _retrying(work: Callable[[], T]) -> T:
    """Run database work again when PostgreSQL chose it to break a deadlock (or a serialization conflict)."""
    attempt = 1
    while True:
        try:
            return work()
        except sqlalchemy.exc.DBAPIError as exc:
            if getattr(exc.orig, "pgcode", None) not in RETRIED or attempt >= RETRIES:
                raise
            attempt += 1


def _health(rows: ScoreTable, customer_id: int) -> ScoreAndTier:
    """Return a customer's score and tier from fresh rows (insufficient data when it did not exist yet)."""
    (row,) = rows.positions([customer_id])
    if row < 0:
        return {"score": None, "tier": "insufficient_data"}
    return {"score": _number(rows.columns["score"][row]), "tier": rows.columns["tier"][row]}


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
