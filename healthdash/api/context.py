"""What the API handlers share: the service, the score board, the history, the thread pool, the authenticator and
the people, and the writers' queue."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy.exc

from healthdash.access import Authenticator, People, Principal
from healthdash.api import jsonio
from healthdash.api.problem import Problem
from healthdash.board import ScoreBoard, Snapshot
from healthdash.clock import as_of_day, utc_now
from healthdash.commit_group import CommitGroup
from healthdash.commit_ticket import Abandoned, CommitTicket, Stage
from healthdash.health import Recorded
from healthdash.recording import Activity, Author
from healthdash.score_history.digest import HistoryDigest, read_digest
from healthdash.score_history.reports import HistoryReports
from healthdash.service import HealthService

T = TypeVar("T")
OUTAGES = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, sqlalchemy.exc.TimeoutError)
OWNED_SECONDS = 5.0  # how long who owns which customers is kept, per person
DIGEST_SECONDS = 300.0  # age at which the recent history (movers, tier counts) is read again, in the background
log = logging.getLogger("healthdash.api")


@dataclass(frozen=True)
class BodyLimits:
    """The largest request bodies the API takes, in bytes."""

    max_body_size: int = 64 * 1024  # one event, and any other request
    max_batch_body_size: int = 8 * 1024 * 1024  # a batch of events

    @property
    def drop_budget(self) -> int:
        """Return the most a refused body is read for (and dropped), so that a client still sending it reads the answer.

        Twice the largest body: a client that overshoots a limit by a little still gets its 413 rather than a reset.
        """
        return 2 * self.max_batch_body_size


@dataclass
class ApiContext:
    """Per-process state of the API."""

    service: HealthService
    board: ScoreBoard
    executor: ThreadPoolExecutor
    tokens: tuple[str, ...]
    limits: BodyLimits = field(default_factory=BodyLimits)
    deadline: float | None = None  # seconds a read waits for the database before it is answered 503
    builder: ThreadPoolExecutor | None = None  # builds large bodies, apart from the database's threads
    people: People | None = None  # accounts, sessions, tokens and the audit log (None: bootstrap tokens only)
    access: Authenticator = field(init=False)
    activity: CommitGroup[tuple[Activity, Author | None, CommitTicket], Recorded | None] = field(init=False)
    history: HistoryReports = field(init=False)
    _digest: HistoryDigest | None = field(init=False, default=None)
    _owned: dict[str, tuple[float, tuple[int, ...]]] = field(init=False, default_factory=dict)
    _reading_digest: asyncio.Future[HistoryDigest | None] | None = field(init=False, default=None)
    _digest_version: int = field(init=False, default=0)  # counts the changes of the history heard of

    def __post_init__(self) -> None:
        self.access = Authenticator(self.people, self.run, bootstrap_tokens=self.tokens)
        self.activity = CommitGroup(self._record_activities, self.executor, delivered=self._mark_recorded)
        self.history = HistoryReports(self.service.engine, self.service.config, self.service.reader)

    def prepare_digest(self) -> None:
        """Start reading the recent history unless it is fresh or being read, without waiting for it."""
        today = as_of_day(utc_now())
        current = self._digest
        fresh = current is not None and current.today == today and time.monotonic() - current.built < DIGEST_SECONDS
        if not fresh and self._reading_digest is None:
            self._reading_digest = asyncio.ensure_future(self._read_digest(today))

    def forget_digest(self) -> None:
        """The history has changed (days written, rows restated): read it again at the next dashboard (which waits
        for it as on a new day)."""
        self._digest = None
        self._digest_version += 1

    async def digest(self, wait: float | None = None) -> HistoryDigest | None:
        """Return the recent history: read on first use and on a new day, and again in the background once older
        than DIGEST_SECONDS (readers keep the previous one meanwhile). While none of today is there, wait for it at
        most `wait` seconds (default: the database deadline), then answer None: a large history (100,000 customers'
        90 days take seconds to read) or a database that hangs leaves the answer without the history, not late."""
        self.prepare_digest()
        current = self._digest
        if current is not None and current.today == as_of_day(utc_now()):
            return current
        reading = self._reading_digest
        limit = self.deadline if wait is None else min(wait, self.deadline or wait)
        if reading is None:
            return self._digest
        try:
            return await asyncio.wait_for(asyncio.shield(reading), limit)
        except TimeoutError:
            return None

    async def _read_digest(self, today: dt.date) -> HistoryDigest | None:
        version = self._digest_version
        try:
            digest = await self.run(read_digest, self.service.engine, today)
        except sqlalchemy.exc.SQLAlchemyError as exc:
            log.warning("the recent score history cannot be read: %s", str(exc).splitlines()[0])
            return self._digest
        finally:
            self._reading_digest = None
        if version == self._digest_version:  # else the history changed while it was read: read again next time
            self._digest = digest
        return digest

    async def owned(self, principal: Principal) -> tuple[int, ...]:
        """Return the ids of the customers a person owns, looked up at most every OWNED_SECONDS per person."""
        now = time.monotonic()
        kept = self._owned.get(principal.actor)
        if kept is not None and now - kept[0] < OWNED_SECONDS:
            return kept[1]
        ids = () if self.people is None else tuple(await self.read(self.people.owned_customers, principal))
        if len(self._owned) > 10_000:
            self._owned.clear()
        self._owned[principal.actor] = (now, ids)
        return ids

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking (database) work in the thread pool, off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking database read in the thread pool; 503 once it has taken longer than the deadline.

        A database that hangs (frozen, or behind a broken network) holds the thread, not the request: the client is
        answered, and the call is dropped if it has not started yet.
        """
        return await self.within_deadline(self.run(fn, *args))

    async def within_deadline(self, work: Awaitable[T], share: int = 1) -> T:
        """Await database work for at most the deadline (`share` times over); then answer 503 with Retry-After."""
        if self.deadline is None:
            return await work
        seconds = self.deadline * share
        try:
            return await asyncio.wait_for(work, seconds)
        except TimeoutError:
            detail = f"the database did not answer within {seconds:g} s; try again shortly"
            raise Problem(503, detail, headers={"Retry-After": "5"}) from None

    async def snapshot(self, as_of: dt.datetime | None) -> Snapshot:
        """Return the score board's snapshot for a moment (now when None).

        The current one is served from memory (a reader never waits for a rebuild); a past moment's may have to be
        scored first, which is given the deadline and goes on past it (shielded), so that the next reader finds it.
        """
        if as_of is None:
            return await self.board.current()
        return await self.within_deadline(asyncio.shield(self.board.at(as_of)))

    async def view(self, snapshot: Snapshot, key: Hashable, build: Callable[..., T], *args: Any) -> T:
        """Return a view derived from a snapshot, built once, in the thread pool (a large body takes a while).

        Readers that arrive while it is built wait for the same build; a build that failed is tried again next time.
        """
        built: asyncio.Future[T] = snapshot.view(key, lambda: asyncio.ensure_future(self.build(build, *args)))
        try:
            return await asyncio.shield(built)
        finally:
            if built.done() and not built.cancelled() and built.exception() is not None:
                snapshot.views.pop(key, None)

    async def health(
        self, customer_id: int, as_of: dt.datetime | None, events_limit: int, events_offset: int
    ) -> bytes | None:
        """Return one customer's health encoded (None for an unknown customer), as of now when `as_of` is None.

        An answer as of now is kept until the customer changes (`ScoreBoard.answers`). Computed afresh, its score and
        factors come from the customer's row of the score table when that holds every change heard of for the
        customer (`ScoreBoard.explained_row`), and only the evidence is read from the database, on the event loop
        where the service has a loop reader (else in a thread). Else the score is computed in a thread while the
        evidence is read, from the board's memory of signals when it can tell, else from the database.
        """
        answers = self.board.answers
        moment = as_of or utc_now()
        key = (customer_id, as_of_day(moment), events_limit, events_offset)
        if as_of is None and (kept := answers.get(key)) is not None:
            return kept
        ticket = answers.ticket()
        self.board.warm()  # the memory is built with the first snapshot: in the meantime the database answers
        # asked here, on the event loop, where changes are marked and patched rows installed
        row = self.board.explained_row(customer_id, moment) if as_of is None else None
        if row is not None:  # the score from the table's row: only the evidence is read
            # the statement is sent first (the task's first step, at the yield), and the score worked out while
            # PostgreSQL runs it
            reading = asyncio.ensure_future(self._evidence(customer_id, moment, events_limit, events_offset))
            try:
                await asyncio.sleep(0)
                score = jsonio.dumps(self.service.explained_score(row))
            except BaseException:
                reading.cancel()
                raise
            evidence = await self.within_deadline(reading)
            body = None if evidence is None else _joined(evidence, score)
        else:
            settled = self.board.settled(customer_id)
            body = await self.within_deadline(self._health(customer_id, moment, events_limit, events_offset, settled))
        if as_of is None and body is not None:
            answers.put(key, body, ticket)
        return body

    async def _health(
        self, customer_id: int, as_of: dt.datetime, events_limit: int, events_offset: int, settled: bool
    ) -> bytes | None:
        """The evidence (encoded by PostgreSQL) and the score (encoded in its thread) at once; the answer is the two
        JSON objects joined."""
        evidence, score = await asyncio.gather(
            self._evidence(customer_id, as_of, events_limit, events_offset),
            self.run(self._encoded_score, customer_id, as_of, settled),
        )
        return None if evidence is None else _joined(evidence, score)

    def _evidence(
        self, customer_id: int, as_of: dt.datetime, events_limit: int, events_offset: int
    ) -> Awaitable[bytes | None]:
        """Read a customer's evidence on the event loop where the service can, else in the thread pool."""
        service = self.service
        if service.loop_reader is not None:
            return service.customer_evidence_json_on_loop(customer_id, as_of, events_limit, events_offset)
        return self.run(service.customer_evidence_json, customer_id, as_of, events_limit, events_offset)

    def _encoded_score(self, customer_id: int, as_of: dt.datetime, settled: bool) -> bytes:
        signals = self.board.signals_for(customer_id, as_of) if settled else None
        if signals is None:  # memory cannot tell (a change not patched in yet, being rebuilt, another day)
            signals = self.service.customer_signals(customer_id, as_of)
        return jsonio.dumps(self.service.customer_score(signals))

    async def build(self, build: Callable[..., T], *args: Any) -> T:
        """Run CPU-heavy work (a large body built, or validated) apart from the event loop and the database's threads
        (when the server has builder threads)."""
        executor = self.builder or self.executor
        return await asyncio.get_running_loop().run_in_executor(executor, build, *args)

    async def write(self, fn: Callable[..., T], *args: Any, share: int = 1, author: Author | None = None) -> T:
        """Run a blocking database write, `fn(*args, tickets)` (and `author=author` if given), in the thread pool, with
        its client's CommitTicket.

        A large write (a batch) is given the deadline `share` times over: one per thousand events, say.
        """
        ticket = CommitTicket()
        work = fn if author is None else functools.partial(fn, author=author)
        return await self.committed(self.run(work, *args, [ticket]), ticket, share)

    async def record_activity(self, event: Activity, author: Author | None = None) -> Recorded | None:
        """Store one activity event together with those of concurrent requests (see `CommitGroup`)."""
        ticket = CommitTicket()
        return await self.committed(self.activity.submit((event, author, ticket)), ticket)

    async def committed(self, work: Awaitable[T], ticket: CommitTicket, share: int = 1) -> T:
        """Await a write for at most the deadline; then answer 503 with Retry-After, saying whether it is stored.

        Past the deadline the ticket is given up, and the write rolls back when it reaches COMMIT: nothing is stored
        and the client may send it again. If COMMIT was already sent (the database froze during it), whether the write
        is stored is unknown: the answer says so, and points to the Idempotency-Key that makes a retry safe.
        """
        task = asyncio.ensure_future(work)
        if self.deadline is None:
            return await task
        seconds = self.deadline * share
        try:
            return await asyncio.wait_for(asyncio.shield(task), seconds)
        except Abandoned:  # stored together with a write whose client was answered: rolled back with it
            detail = "the database was too slow for the writes sent with this one; nothing was stored: send it again"
            raise Problem(503, detail, headers={"Retry-After": "5"}) from None
        except (TimeoutError, *OUTAGES):  # a connection lost before COMMIT rolled back; during COMMIT, who knows
            stage = ticket.give_up()
        if stage is Stage.COMMITTED:  # stored just now: the client is answered with it
            return await task
        task.add_done_callback(_quietly)
        if stage is Stage.GIVEN_UP:
            detail = f"the database did not answer (within {seconds:g} s); nothing was stored: send it again shortly"
        else:
            detail = (
                f"the database stopped answering within {seconds:g} s while the write was being committed: "
                "whether it was stored is unknown; to retry safely, send it to /api/events/batch with the same "
                "Idempotency-Key each time"
            )
        raise Problem(503, detail, headers={"Retry-After": "5"})

    def _mark_recorded(
        self,
        items: Sequence[tuple[Activity, Author | None, CommitTicket]],
        outcome: Sequence[Recorded | BaseException | None] | Exception,
    ) -> None:
        """Mark the customers of a group's stored events changed, once for the group, before any of its requests is
        answered (on the event loop)."""
        if isinstance(outcome, Exception):
            return
        stored = [event for (event, *_), result in zip(items, outcome, strict=True) if isinstance(result, Recorded)]
        if stored:
            since = min(as_of_day(occurred_at) for _, _, occurred_at, _ in stored)
            self.board.mark_changed({customer for customer, *_ in stored}, since=since, usage_only=True)

    def _record_activities(
        self, items: Sequence[tuple[Activity, Author | None, CommitTicket]]
    ) -> list[Recorded | BaseException | None]:
        """Store a group of activity events (in the thread pool); those whose clients were answered are left out."""
        waiting = [i for i, (*_, ticket) in enumerate(items) if ticket.stage is Stage.OPEN]
        results: list[Recorded | BaseException | None] = [Abandoned() for _ in items]
        if waiting:
            events = [items[i][0] for i in waiting]
            authors = [items[i][1] for i in waiting]
            tickets = [items[i][2] for i in waiting]
            recorded = self.service.record_activities(events, tickets, authors)
            for i, result in zip(waiting, recorded, strict=True):
                results[i] = result
        return results


def _joined(evidence: bytes, score: bytes) -> bytes:
    """Return the health answer: the evidence's JSON object and the score's, joined into one."""
    return evidence[:-1] + b"," + score[1:]


def _quietly(task: asyncio.Future[Any]) -> None:
    """Take the outcome of a write whose client was already answered, so that it is not reported as lost."""
    if not task.cancelled():
        task.exception()
